import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vitest/config';
import { launchOptions } from './scripts/chromium.ts';

export default defineConfig({
  server: { host: 'localhost', port: 5173, strictPort: true },
  worker: { format: 'es' },
  // Two pages: the volunteer page and the researcher dashboard.
  build: { rollupOptions: { input: { index: 'index.html', dashboard: 'dashboard.html' } } },
  // Pre-bundled up front so the dev server and browser tests never reload mid-run to add them.
  optimizeDeps: { include: ['comlink', 'lit', 'peerjs', 'hash-wasm', 'idb', '@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-webgpu'] },
  test: {
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], environment: 'node' },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          testTimeout: 60_000,
          browser: {
            enabled: true,
            headless: true,
            provider: playwright({ launchOptions: launchOptions() }),
            instances: [{ browser: 'chromium' }],
            screenshotFailures: false,
            // Overridable so two test runs on one machine do not fight over the port.
            api: { port: Number(process.env.TABGRID_BROWSER_TEST_PORT ?? 63315) },
          },
        },
      },
    ],
  },
});
