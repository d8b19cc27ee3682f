import { defineConfig } from '@playwright/test';
import { launchOptions } from '../../scripts/chromium.ts';

/**
 * The specs that must take minutes, mostly waiting on Chrome's background clocks: a page hidden
 * past the 5-minute mark (about 7 min) and a page frozen 90 s (about 2 min). Each has a project
 * of its own, run beside the rest, so their waits overlap the other specs instead of adding to them.
 */
const HIDDEN = 'background-hidden.spec.ts';
const FROZEN = 'background-frozen.spec.ts';

export default defineConfig({
  testDir: '.',
  testMatch: '*.spec.ts',
  // Each spec starts its own signaling server, web server and host on free loopback ports.
  // Three workers: one for each long spec (mostly waiting), one for every other spec in turn.
  workers: 3,
  timeout: 180_000,
  reporter: [['list']],
  outputDir: '../../test-results/e2e',
  use: {
    launchOptions: launchOptions(),
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
  },
  projects: [
    { name: 'e2e', testIgnore: [HIDDEN, FROZEN], workers: 1 },
    { name: 'background', testMatch: HIDDEN, workers: 1 },
    { name: 'frozen', testMatch: FROZEN, workers: 1 },
  ],
});
