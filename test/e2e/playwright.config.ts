import { defineConfig } from '@playwright/test';
import { launchOptions } from '../../scripts/chromium.ts';

export default defineConfig({
  testDir: '.',
  testMatch: '*.spec.ts',
  // Each spec starts its own signaling server, web server and host on free loopback ports.
  workers: 1,
  timeout: 180_000,
  reporter: [['list']],
  outputDir: '../../test-results/e2e',
  use: {
    launchOptions: launchOptions(),
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
  },
});
