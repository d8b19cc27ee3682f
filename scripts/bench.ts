/**
 * `npm run bench [-- --sizes 256,512,1024] [--only kernels|transfer] [--transfer-mib 32] [--out bench-results/bench.json]`:
 * serves the bench pages and runs them in headless Chromium: the kernel benchmarks with WebGPU
 * (SwiftShader without a GPU), then chunk delivery from a Node peer to the page over loopback
 * WebRTC as binary data messages next to the same bytes as hex in JSON texts. Writes the
 * results as JSON and a Markdown table. Ratios from one run are meaningful; absolute times on a
 * shared machine are noise. `npm run bench -- --ingest [--size 8192] [--units 3]` runs the
 * tiling benchmark instead (bench-ingest.ts: .npy ingestion stage by stage, the unit grid, unit times);
 * `npm run bench -- --store [--units 16000] [--volunteers 32]` the host-store benchmark (store-bench.ts:
 * one host process on SQLite, units/s and host CPU ms/unit with group commit off and on);
 * `npm run bench -- --dawn [--sizes 256,512] …` the same kernels in Node through Dawn (bench/dawn.ts:
 * wall and kernel time, TF.js, the unit stream, cuBLAS when torch is here).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { chromium } from 'playwright';
import { createServer } from 'vite';
import { benchTransfer, type TransferBench } from './bench-transfer';
import { INSTALL_HINT, launchOptions } from './chromium';
import { parseCommand, portFrom } from './args';
import { BENCH_COMMAND } from './commands';

// `npm run bench -- --ingest …`: the tiling benchmark (bench-ingest.ts) instead of the page's.
if (process.argv.includes('--ingest')) {
  const { ingestBenchMain } = await import('./bench-ingest');
  await ingestBenchMain(process.argv.slice(2));
  process.exit(0);
}
// `npm run bench -- --dawn …`: the kernels in Node through Dawn (bench/dawn.ts), no browser.
if (process.argv.includes('--dawn')) {
  await import('./vite-imports');
  const { dawnBenchMain } = await import('./bench/dawn');
  process.exit(await dawnBenchMain(process.argv.slice(2)));
}
// `npm run bench -- --store …`: one host process on SQLite, group commit off and on (store-bench.ts).
if (process.argv.includes('--store')) {
  const { storeBenchMain } = await import('./store-bench');
  await storeBenchMain(process.argv.slice(2));
  process.exit(0);
}

const cli = parseCommand(BENCH_COMMAND);
const { values } = cli;
const outFile = values.out;
const only = values.only;
if (only !== undefined && only !== 'kernels' && only !== 'transfer') cli.fail(`--only takes kernels or transfer, not ${only}`);
const transferMib = Number(values['transfer-mib']);
if (!Number.isInteger(transferMib) || transferMib < 1 || transferMib > 1024)
  cli.fail(`--transfer-mib takes a whole number of MiB in 1..1024, not ${values['transfer-mib']}`);
const port = cli.check(() => portFrom(values.port, '--port', undefined, 5199));
const options = launchOptions();
if (!options.executablePath) {
  console.error(INSTALL_HINT);
  process.exit(1);
}

const server = await createServer({
  configFile: new URL('../vite.config.ts', import.meta.url).pathname,
  server: { port, strictPort: true, host: 'localhost' },
  logLevel: 'warn',
});
await server.listen();
const browser = await chromium.launch(options);
try {
  const base = `http://localhost:${server.config.server.port}`;
  const record: Record<string, unknown> = { date: new Date().toISOString() };
  const tables: string[] = [];
  if (only !== 'transfer') {
    const page = await browser.newPage();
    page.on('console', (m) => console.log(`[page] ${m.text()}`));
    const query = values.sizes ? `?sizes=${encodeURIComponent(values.sizes)}` : '';
    await page.goto(`${base}/test/bench/bench.html${query}`);
    await page.waitForFunction(() => window.benchResults !== undefined, undefined, { timeout: 20 * 60_000, polling: 1000 });
    const results = await page.evaluate(() => window.benchResults!);
    if (results.error) throw new Error(results.error);
    Object.assign(record, { userAgent: await page.evaluate(() => navigator.userAgent), ...results });
    tables.push(results.table);
    await page.close();
  }
  if (only !== 'kernels') {
    const transfer: TransferBench = await benchTransfer(browser, base, transferMib);
    record.transfer = { setup: transfer.setup, runs: transfer.runs };
    tables.push(transfer.table);
  }
  const table = tables.join('\n\n');
  record.table = table;
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, JSON.stringify(record, null, 2));
  writeFileSync(outFile.replace(/\.json$/, '.md'), table + '\n');
  console.log(`\n${table}\n\nwrote ${outFile}`);
} finally {
  await browser.close();
  await server.close();
}
// node-datachannel's threads outlive the peers it served: end here, as the farm does.
process.exit(0);
