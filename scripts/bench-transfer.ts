/**
 * The Node end of the chunk transfer benchmark (test/bench/transfer.ts is the page's): a PeerJS
 * peer on node-datachannel, as the Node host is, that serves one random dataset's chunks to
 * the page over loopback WebRTC: as `chunk` data messages (sendHostMessage, the protocol's
 * way) for get-chunks, and as hex inside JSON texts (the old way) for the bench's own
 * get-chunks-hex.
 */
import './node-webrtc';
import { randomFillSync } from 'node:crypto';
import type { Browser } from 'playwright';
import { buildDataset, chunkCount, serveChunk, type Dataset } from '../src/data/dataset';
import { createCpuSha256 } from '../src/hash/sha256-cpu';
import { toHex } from '../src/hex';
import { linkFromConnection, type Link } from '../src/net/link';
import { Peer } from '../src/net/peerjs';
import { sendHostMessage } from '../src/net/send-host-message';
import { peerOptions } from '../src/net/signal';
import { parseVolunteerMessage } from '../src/validate';
import { transferTable, type TransferRun } from '../test/bench/transfer-result';
import { freePort } from './free-port';
import { startSignaling } from './stack';

export interface TransferBench {
  readonly setup: string;
  readonly runs: TransferRun[];
  readonly table: string;
}

/** Serves `mib` MiB to a page of `browser` loaded from `webUrl` (the bench's Vite server); resolves to both ways' numbers. */
export async function benchTransfer(browser: Browser, webUrl: string, mib: number): Promise<TransferBench> {
  const hash = await createCpuSha256();
  const dataset = buildDataset(randomFillSync(new Uint8Array(mib * 2 ** 20)), hash);
  const signaling = await startSignaling(await freePort());
  const hostId = `tabgrid-transfer-bench-${process.pid}`;
  const peer = new Peer(hostId, peerOptions(signaling.url));
  try {
    await new Promise<void>((resolve, reject) => {
      peer.once('open', () => resolve());
      peer.once('error', reject);
    });
    peer.on('connection', (conn) => {
      const link: Link = linkFromConnection(conn, { onText: (text) => serve(link, dataset, text), onClose: () => undefined });
    });
    const page = await browser.newPage();
    page.on('console', (m) => console.log(`[transfer page] ${m.text()}`));
    const query = new URLSearchParams({ signal: signaling.url, host: hostId, root: dataset.root, bytes: String(dataset.data.length) });
    await page.goto(`${webUrl}/test/bench/transfer.html?${query}`);
    await page.waitForFunction(() => window.transferResults !== undefined, undefined, { timeout: 5 * 60_000, polling: 250 });
    const results = (await page.evaluate(() => window.transferResults))!;
    await page.close();
    if (results.error) throw new Error(`transfer bench: ${results.error}`);
    const setup = `${mib} MiB in ${chunkCount(dataset.data.length)} chunks, Node (node-datachannel) → Chromium over loopback WebRTC, each chunk checked against the root on the page`;
    return { setup, runs: results.runs, table: transferTable(results.runs, setup) };
  } finally {
    peer.destroy();
    await signaling.close();
  }
}

function serve(link: Link, dataset: Dataset, text: unknown): void {
  if (typeof text === 'string' && text.startsWith('{"type":"get-chunks-hex"')) {
    const m = JSON.parse(text) as { id: number; first: number; count: number };
    for (let i = m.first; i < m.first + m.count; i++) {
      const c = serveChunk(dataset, i);
      link.send(JSON.stringify({ type: 'chunk-hex', id: m.id, index: i, path: c.path, hex: toHex(c.data) }));
    }
    return;
  }
  const m = parseVolunteerMessage(text);
  if (m.type !== 'get-chunks') return;
  for (let i = m.first; i < m.first + m.count; i++) sendHostMessage(link, { type: 'chunk', id: m.id, root: dataset.root, ...serveChunk(dataset, i) });
}
