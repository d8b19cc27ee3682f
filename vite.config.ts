import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vitest/config';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { launchOptions } from './scripts/chromium.ts';

/**
 * Dawn in Node needs lavapipe's variables in a process's environment when it starts (the loader
 * reads LD_LIBRARY_PATH only then), so the `dawn` project's forks get them from here when
 * scripts/lavapipe.sh has unpacked it (.ci/run does); otherwise its tests skip and say why.
 * Only that project: the others keep the machine's own Vulkan (Chromium stays on SwiftShader).
 */
function lavapipeEnv(): Record<string, string> {
  const dir = process.env.LAVAPIPE_DIR ?? join(import.meta.dirname, '.cache/lavapipe');
  const libdir = join(dir, 'root/usr/lib/x86_64-linux-gnu');
  const icd = join(dir, 'lvp.json');
  if (!existsSync(icd) || !existsSync(join(libdir, 'libvulkan_lvp.so'))) return {};
  return { LD_LIBRARY_PATH: [libdir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'), VK_ICD_FILENAMES: icd };
}

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
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], exclude: ['test/unit/**/*-dawn.test.ts'], environment: 'node' },
      },
      {
        extends: true,
        // Kernels on Dawn in Node over lavapipe (files named *-dawn.test.ts).
        test: { name: 'dawn', include: ['test/unit/**/*-dawn.test.ts'], environment: 'node', env: lavapipeEnv() },
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
