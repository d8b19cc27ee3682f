import { defineConfig } from 'vite';

/**
 * The embeddable library: dist/tabgrid.js, one ES module defining <tabgrid-volunteer>, with its
 * workers in dist/assets/. `base: './'` makes every worker URL relative to the bundle's own
 * import.meta.url, so the bundle works from any origin (a CDN, the host's server). Runs after
 * the site build (npm run build) into the same dist/, so it must not empty it.
 */
export default defineConfig({
  base: './',
  publicDir: false,
  worker: { format: 'es' },
  build: {
    outDir: 'dist',
    emptyOutDir: false,
    // Lib mode keeps whitespace in ES output (for re-bundlers' tree-shaking); this file is
    // loaded as is by a script tag, so minify it fully.
    rolldownOptions: { output: { minify: true } },
    lib: { entry: 'src/index.ts', formats: ['es'], fileName: () => 'tabgrid.js' },
  },
});
