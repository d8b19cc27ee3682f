/**
 * `npm run bench [-- --sizes 256,512,1024] [--out bench-results/bench.json]`: serves the bench
 * page, runs it in headless Chromium with WebGPU (SwiftShader without a GPU), and writes the
 * results as JSON and a Markdown table. Ratios from one run are meaningful; absolute times on a
 * shared machine are noise. `npm run bench -- --ingest [--size 8192] [--units 3]` runs the
 * tiling benchmark instead (bench-ingest.ts: .npy ingestion stage by stage, the unit grid, unit times).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright';
import { createServer } from 'vite';
import { INSTALL_HINT, launchOptions } from './chromium';

// `npm run bench -- --ingest …`: the tiling benchmark (bench-ingest.ts) instead of the page's.
if (process.argv.includes('--ingest')) {
  const { ingestBenchMain } = await import('./bench-ingest');
  await ingestBenchMain(process.argv.slice(2));
  process.exit(0);
}

const { values } = parseArgs({ options: { sizes: { type: 'string' }, out: { type: 'string' }, port: { type: 'string' } } });
const outFile = values.out ?? 'bench-results/bench.json';
const options = launchOptions();
if (!options.executablePath) {
  console.error(INSTALL_HINT);
  process.exit(1);
}

const server = await createServer({
  configFile: new URL('../vite.config.ts', import.meta.url).pathname,
  server: { port: Number(values.port ?? 5199), strictPort: true, host: 'localhost' },
  logLevel: 'warn',
});
await server.listen();
const browser = await chromium.launch(options);
try {
  const page = await browser.newPage();
  page.on('console', (m) => console.log(`[page] ${m.text()}`));
  const query = values.sizes ? `?sizes=${encodeURIComponent(values.sizes)}` : '';
  await page.goto(`http://localhost:${server.config.server.port}/test/bench/bench.html${query}`);
  await page.waitForFunction(() => window.benchResults !== undefined, undefined, { timeout: 20 * 60_000, polling: 1000 });
  const results = await page.evaluate(() => window.benchResults!);
  if (results.error) throw new Error(results.error);
  mkdirSync(dirname(outFile), { recursive: true });
  const record = { date: new Date().toISOString(), userAgent: await page.evaluate(() => navigator.userAgent), ...results };
  writeFileSync(outFile, JSON.stringify(record, null, 2));
  writeFileSync(outFile.replace(/\.json$/, '.md'), results.table + '\n');
  console.log(`\n${results.table}\n\nwrote ${outFile}`);
} finally {
  await browser.close();
  await server.close();
}
