import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { build } from 'vite';
import { startHost, startSignaling, type Signaling } from '../../scripts/stack';
import type { HostCore } from '../../src/host/host-core';
import type { PeerHost } from '../../src/host/peer-host';
import type { JobSpec } from '../../src/host/job';
import type { TabgridVolunteer } from '../../src/ui/tabgrid-volunteer';
import { serveStatic, type StaticServer } from './static-server';

/**
 * The library bundle embedded by a page of another origin: tabgrid.js and its workers come
 * from http://127.0.0.1:A (with CORS, as a CDN would serve them), the page from
 * http://localhost:B. The compute worker, and the CPU pool's workers it starts, must load
 * through same-origin blobs that import the bundle's own URLs.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
const hashing: JobSpec = { id: 'embed-sha256', kernel: 'sha256-batch', units: 2, messagesPerUnit: 2048, messageLength: 64, seed: 5, samples: 8 };
// A small f32 product: on SwiftShader the CPU pool usually wins, so its nested workers run too.
const products: JobSpec = { id: 'embed-matmul', kernel: 'matmul-f32', units: 2, m: 96, n: 64, k: 128, seed: 6, samples: 4 };

let outDir: string;
let cdn: StaticServer;
let site: StaticServer;
let signaling: Signaling;
let host: { core: HostCore; host: PeerHost };
const hostId = `e2e-embed-${process.pid}`;

test.beforeAll(async () => {
  outDir = await mkdtemp(join(tmpdir(), 'tabgrid-lib-'));
  await build({ root, configFile: join(root, 'vite.lib.config.ts'), logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  const example = await readFile(join(root, 'public/embed-example.html'), 'utf8');
  cdn = await serveStatic({ host: '127.0.0.1', dir: outDir, cors: true, pages: { '/embed-example.html': example } });
  signaling = await startSignaling(0);
  host = await startHost({ jobs: [hashing, products], signalUrl: signaling.url, hostId });
  const page = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>embed</title>
    <script type="module" src="${cdn.url}/tabgrid.js"></script></head>
    <body><h1>A researcher's page</h1>
    <tabgrid-volunteer host="${hostId}" signal="${signaling.url}"></tabgrid-volunteer></body></html>`;
  site = await serveStatic({ host: 'localhost', pages: { '/': page } });
});

test.afterAll(async () => {
  await host?.host.close();
  await signaling?.close();
  await cdn?.close();
  await site?.close();
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

test('the bundle, served from another origin, starts its workers and completes units against a host', async ({ page }, testInfo) => {
  page.on('pageerror', (err) => console.error(`[page error] ${err.message}`));
  expect((await stat(join(outDir, 'tabgrid.js'))).size).toBeGreaterThan(10_000);
  await page.goto(site.url);
  await page.waitForFunction(() => customElements.get('tabgrid-volunteer') !== undefined);
  expect(new URL(site.url).origin).not.toBe(new URL(cdn.url).origin);

  // Nothing before the click: no worker script was fetched.
  expect(cdn.requests.map((r) => r.path).filter((p) => p.includes('worker'))).toEqual([]);
  await page.getByRole('button', { name: 'Start' }).click();
  await expect.poll(() => host.core.done, { timeout: 120_000 }).toBe(true);

  const widget = await page.evaluate(() => {
    const el = document.querySelector('tabgrid-volunteer') as TabgridVolunteer;
    return { unitsDone: el.unitsDone, adapter: el.shadowRoot!.querySelector('[data-field="adapter"]')!.textContent };
  });
  await expect.poll(async () => await page.evaluate(() => (document.querySelector('tabgrid-volunteer') as TabgridVolunteer).unitsDone)).toBe(4);
  expect(widget.adapter).toMatch(/WebGPU|CPU/);
  expect(host.core.results()).toHaveLength(4);

  // The compute worker came from the bundle's origin, fetched by the page's origin (CORS).
  const worker = cdn.requests.find((r) => /\/assets\/compute-worker-.*\.js$/.test(r.path));
  expect(worker, 'compute worker fetched from the bundle origin').toBeDefined();
  expect(worker!.headers.origin).toBe(new URL(site.url).origin);
  // Without a hardware GPU the CPU pool is timed (or used): its workers, started inside the
  // compute worker, come from the bundle's origin too.
  if (/software fallback|CPU/.test(widget.adapter ?? '')) expect(cdn.requests.some((r) => /\/assets\/cpu-matmul-worker-.*\.js$/.test(r.path))).toBe(true);
  if (process.env.TABGRID_E2E_CONSOLE) console.log(cdn.requests.map((r) => `${r.path} ${r.headers.origin}`));
  await testInfo.attach('bundle requests', {
    body: cdn.requests.map((r) => `${r.path} (origin ${r.headers.origin ?? '-'})`).join('\n'),
    contentType: 'text/plain',
  });
  await page.screenshot({ path: testInfo.outputPath('embedded.png') });
});

test('the embed example page works next to the bundle, themed, pointed at a host by its query', async ({ page }, testInfo) => {
  await page.goto(`${cdn.url}/embed-example.html?${new URLSearchParams({ host: hostId, signal: signaling.url })}`);
  await page.waitForFunction(() => customElements.get('tabgrid-volunteer') !== undefined);
  await expect(page.getByText(`for the job host ${hostId}`)).toBeVisible();
  const accent = await page.evaluate(
    () => getComputedStyle(document.querySelector('tabgrid-volunteer')!.shadowRoot!.querySelector('button.primary')!).backgroundColor,
  );
  expect(accent).toBe('rgb(15, 118, 110)');
  await page.getByRole('button', { name: 'Start' }).click();
  await expect(page.locator('tabgrid-volunteer [data-field="connection"]')).toHaveText(/^connected/, { timeout: 30_000 });
  await page.screenshot({ path: testInfo.outputPath('embed-example.png') });
});
