/**
 * The page end of the chunk transfer benchmark (scripts/bench-transfer.ts is the Node end):
 * fetches every chunk of the Node peer's dataset over loopback WebRTC, first as binary data
 * messages, then as hex inside JSON texts (the old way), and checks each chunk against the
 * dataset's root with its audit path, as a volunteer does before it keeps one. Each way keeps
 * MAX_CHUNK_FETCHES requests of MAX_CHUNKS_PER_REQUEST chunks in flight, as a volunteer may;
 * each way runs RUNS times and its median run is reported.
 */
import { chunkCount, chunkProblem, MAX_CHUNKS_PER_REQUEST, type ServedChunk } from '../../src/data/dataset';
import { createCpuSha256, type Hasher } from '../../src/hash/sha256-cpu';
import { fromHex } from '../../src/hex';
import { connectToHost } from '../../src/net/connect';
import type { Link } from '../../src/net/link';
import { encodeMessage } from '../../src/protocol';
import { parseHostMessage } from '../../src/validate';
import { ChunkRequest } from '../../src/volunteer/chunk-request';
import { MAX_CHUNK_FETCHES } from '../../src/volunteer/host-link';
import { TransferWay, type TransferResults, type TransferRun } from './transfer-result';

/** Runs of each way; the median is reported. */
const RUNS = 3;

declare global {
  interface Window {
    transferResults?: TransferResults;
  }
}

const out = document.getElementById('out')!;
const log = (line: string) => {
  out.textContent = out.textContent === 'running…' ? line : `${out.textContent}\n${line}`;
  console.log(line);
};

/** The old way's chunk: the same meta with the bytes as hex in the JSON (never a protocol message; the bench's baseline only). */
interface HexChunk {
  readonly type: 'chunk-hex';
  readonly id: number;
  readonly index: number;
  readonly path: string[];
  readonly hex: string;
}

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const root = params.get('root')!;
  const bytes = Number(params.get('bytes'));
  const hash = await createCpuSha256();
  const requests = new Map<number, ChunkRequest>();
  const link = await connectToHost(
    { signalUrl: params.get('signal')!, hostId: params.get('host')! },
    {
      onText: (text, body) => {
        if (typeof text === 'string' && text.startsWith('{"type":"chunk-hex"')) {
          const m = JSON.parse(text) as HexChunk;
          const data = fromHex(m.hex);
          if (!data) throw new Error(`chunk ${m.index} is not hex`);
          return requests.get(m.id)?.take({ type: 'chunk', id: m.id, root, index: m.index, path: m.path, data });
        }
        const m = parseHostMessage(text, body);
        if (m.type === 'chunk') requests.get(m.id)?.take(m);
        else if (m.type === 'error' && m.id !== undefined) requests.get(m.id)?.fail(new Error(m.message));
      },
      onClose: () => log('the Node peer closed the connection'),
    },
  );
  let nextId = 1;
  const fetchAll = async (way: TransferWay, upTo = chunkCount(bytes)): Promise<TransferRun> => {
    const started = performance.now();
    let next = 0;
    let got = 0;
    const worker = async () => {
      while (next < upTo) {
        const first = next;
        const count = Math.min(MAX_CHUNKS_PER_REQUEST, upTo - first);
        next += count;
        const chunks = await fetchChunks(link, requests, way, nextId++, root, first, count);
        got += verified(chunks, root, bytes, hash);
      }
    };
    await Promise.all(Array.from({ length: MAX_CHUNK_FETCHES }, worker));
    const ms = performance.now() - started;
    return { way, bytes: got, chunks: upTo, ms, mbPerS: got / 1e6 / (ms / 1000) };
  };
  // Warm up both ways (JIT, SCTP's congestion window), then measure each RUNS times, taking
  // turns so neither gets a systematically quieter machine, and keep each way's median.
  await fetchAll(TransferWay.Data, 16);
  await fetchAll(TransferWay.Hex, 16);
  const all: TransferRun[] = [];
  for (let i = 0; i < RUNS; i++) {
    for (const way of [TransferWay.Data, TransferWay.Hex]) {
      const run = await fetchAll(way);
      log(`${way}: ${(run.bytes / 2 ** 20).toFixed(0)} MiB in ${run.ms.toFixed(0)} ms = ${run.mbPerS.toFixed(1)} MB/s`);
      all.push(run);
    }
  }
  link.close();
  const median = (way: TransferWay) => all.filter((r) => r.way === way).sort((a, b) => a.ms - b.ms)[Math.floor(RUNS / 2)]!;
  window.transferResults = { runs: [median(TransferWay.Data), median(TransferWay.Hex)] };
}

function fetchChunks(link: Link, requests: Map<number, ChunkRequest>, way: TransferWay, id: number, root: string, first: number, count: number) {
  const request = new ChunkRequest(root, first, count, 30_000);
  requests.set(id, request);
  const ask = { type: 'get-chunks', id, root, first, count } as const;
  link.send(way === TransferWay.Data ? encodeMessage(ask) : JSON.stringify({ ...ask, type: 'get-chunks-hex' }));
  return request.done.finally(() => requests.delete(id));
}

/** The bytes of `chunks`, each checked against the root: a chunk that fails stops the bench. */
function verified(chunks: readonly ServedChunk[], root: string, bytes: number, hash: Hasher): number {
  let total = 0;
  for (const c of chunks) {
    const problem = chunkProblem({ root, bytes }, c.index, c, hash);
    if (problem) throw new Error(problem);
    total += c.data.length;
  }
  return total;
}

main().catch((err: unknown) => {
  log(`failed: ${String(err)}`);
  window.transferResults = { runs: [], error: String(err) };
});
