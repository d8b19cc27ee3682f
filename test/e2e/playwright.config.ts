import { defineConfig } from '@playwright/test';
import { launchOptions } from '../../scripts/chromium.ts';

/**
 * The specs that must take minutes, mostly waiting on Chrome's background clocks (a page hidden
 * past the 5-minute mark; a page frozen 90 s): a project of their own, run beside the rest.
 */
const LONG = ['background-hidden.spec.ts', 'background-frozen.spec.ts'];

export default defineConfig({
  testDir: '.',
  testMatch: '*.spec.ts',
  // Each spec starts its own signaling server, web server and host on free loopback ports.
  // Two workers: one for the long specs (mostly waiting), one for every other spec in turn.
  // (`npm test` starts the long specs first, beside the other phases: scripts/test.ts.)
  workers: 2,
  timeout: 180_000,
  reporter: [['list']],
  outputDir: '../../test-results/e2e',
  use: {
    launchOptions: launchOptions(),
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
  },
  projects: [
    { name: 'e2e', testIgnore: LONG, workers: 1 },
    { name: 'background', testMatch: LONG, workers: 1 },
  ],
});
