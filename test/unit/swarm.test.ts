import { describe, expect, it } from 'vitest';
import { buildDataset, chunkCount, DATASET_CHUNK_BYTES, serveChunk, type Dataset } from '../../src/data/dataset';
import { createCpuSha256 } from '../../src/hash/sha256-cpu';
import { HostCore } from '../../src/host/host-core';
import { productJob } from '../../src/host/ingest/build';
import { MemoryHostStore } from '../../src/host/store/memory-store';
import { MAX_ROOTS_PER_HOLDER, MAX_STRIKES, SwarmTracker } from '../../src/host/swarm-tracker';
import type { Link, LinkHandlers } from '../../src/net/link';
import { PeerFault } from '../../src/protocol/swarm';
import { ChunkFlights } from '../../src/volunteer/chunk-fetcher';
import { ChunkServer } from '../../src/volunteer/chunk-server';
import { connectionSaysSpare } from '../../src/volunteer/metered';
import { PathBook } from '../../src/volunteer/path-book';
import { PeerFetcher } from '../../src/volunteer/peer-fetcher';
import { cachedHoldings } from '../../src/volunteer/swarm';
import { MemoryDatasetCache } from '../../src/volunteer/store/memory-dataset-cache';
import { UploadShare } from '../../src/volunteer/upload-share';
import { seededRandom } from '../../src/work/seeded';
import { greetAs, newIdentity, sayTo } from '../helpers/signing';
import { until } from '../helpers/until';

const hash = await createCpuSha256();

function bytes(length: number, seed: number): Uint8Array {
  const random = seededRandom(seed);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256);
  return out;
}

const R1 = 'a'.repeat(64);
const R2 = 'b'.repeat(64);

describe('SwarmTracker: the host names peers that hold and serve the chunks asked for', () => {
  const tracker = () => new SwarmTracker(() => 0);

  it('names serving holders of the whole range, never the asker, a non-server or a partial holder', () => {
    const t = tracker();
    t.held('a', R1, 0, 4);
    t.serving('a', 'key-a', 'peer-a', true);
    t.held('b', R1, 0, 2);
    t.serving('b', 'key-b', 'peer-b', true);
    t.held('c', R1, 0, 4);
    t.serving('c', 'key-c', 'peer-c', false);
    t.held('d', R1, 0, 4);
    expect(t.recommend('x', R1, 0, 4, 1)).toEqual(['peer-a']);
    expect(t.recommend('a', R1, 0, 4, 2)).toEqual([]);
    expect(new Set(t.recommend('x', R1, 0, 2, 3))).toEqual(new Set(['peer-a', 'peer-b']));
    expect(t.recommend('x', R2, 0, 1, 4)).toEqual([]);
    // The least recently named first: the first named takes turns.
    const firsts = [5, 6, 7, 8].map((now) => t.recommend('y', R1, 1, 1, now)[0]);
    expect(firsts[0]).not.toBe(firsts[1]);
    expect(firsts[2]).toBe(firsts[0]);
    expect(firsts[3]).toBe(firsts[1]);
    // A peer id is one connection's.
    expect(t.serving('z', 'key-z', 'peer-a', true)).toBe(false);
  });

  it('counts whoever asks as a holder soon, named after those that surely hold the chunks', () => {
    const t = tracker();
    t.serving('first', 'key-1', 'peer-1', true);
    t.serving('second', 'key-2', 'peer-2', true);
    t.serving('third', 'key-3', 'peer-3', true);
    // Nobody holds it: the first asker fetches from the host, and is named to the next at once.
    expect(t.recommend('first', R1, 0, 2, 1)).toEqual([]);
    expect(t.recommend('second', R1, 0, 2, 2)).toEqual(['peer-1']);
    // The host sent the second its chunks (sure); the first is still fetching: the second goes first, however often named.
    t.held('second', R1, 0, 2);
    for (let now = 3; now < 6; now++) expect(t.recommend('third', R1, 0, 2, now)).toEqual(['peer-2', 'peer-1']);
    t.held('first', R1, 0, 2);
    expect(t.recommend('third', R1, 0, 2, 7)[0]).toBe('peer-1');
  });

  it('a bad chunk, reported by a connection it was named to, excludes the key for good and is counted once per reporter; other faults need MAX_STRIKES reporters', () => {
    const t = tracker();
    t.held('a', R1, 0, 1);
    t.serving('a', 'key-a', 'peer-a', true);
    t.held('b', R1, 0, 1);
    t.serving('b', 'key-b', 'peer-b', true);
    // Not named to it: not taken.
    expect(t.report('x', 'key-x', 'peer-a', R1, PeerFault.BadChunk, 1)).toBeUndefined();
    expect(t.isExcluded('key-a')).toBe(false);
    expect(t.recommend('x', R1, 0, 1, 2)).toContain('peer-a');
    expect(t.report('x', 'key-x', 'peer-a', R1, PeerFault.BadChunk, 3)).toBe('key-a');
    expect(t.report('x', 'key-x', 'peer-a', R1, PeerFault.BadChunk, 4)).toBeUndefined();
    expect(t.isExcluded('key-a')).toBe(true);
    expect(t.recommend('y', R1, 0, 1, 5)).toEqual(['peer-b']);
    // Reconnecting under the same key changes nothing.
    t.forget('a');
    t.held('a2', R1, 0, 1);
    t.serving('a2', 'key-a', 'peer-a2', true);
    expect(t.recommend('y', R1, 0, 1, 6)).toEqual(['peer-b']);
    for (let i = 0; i < MAX_STRIKES; i++) {
      expect(t.isExcluded('key-b')).toBe(false);
      expect(t.recommend(`r${i}`, R1, 0, 1, 7 + i)).toEqual(['peer-b']);
      expect(t.report(`r${i}`, `key-r${i}`, 'peer-b', R1, PeerFault.Stalled, 7 + i)).toBeUndefined();
    }
    expect(t.isExcluded('key-b')).toBe(true);
    expect(t.recommend('z', R1, 0, 1, 20)).toEqual([]);
    const stats = t.stats();
    expect(stats.recommendedAfterExclusion).toBe(0);
    expect(Object.keys(stats.excluded).sort()).toEqual(['key-a', 'key-b']);
    expect(stats.reports['bad-chunk']).toBe(2);
    expect(stats.reports.stalled).toBe(MAX_STRIKES);
  });

  it('is bounded per connection and lets go of what a connection (and a relay’s children) held when it closes', () => {
    const t = tracker();
    for (let i = 0; i <= MAX_ROOTS_PER_HOLDER; i++) t.held('a', i.toString(16).padStart(64, '0'), 0, 1);
    t.serving('a', 'key-a', 'peer-a', true);
    expect(t.recommend('x', '0'.repeat(64), 0, 1, 1)).toEqual([]);
    expect(t.recommend('x', MAX_ROOTS_PER_HOLDER.toString(16).padStart(64, '0'), 0, 1, 2)).toEqual(['peer-a']);
    t.held('relay>c1', R1, 0, 1);
    t.serving('relay>c1', 'key-c', 'peer-c', true);
    expect(t.recommend('x', R1, 0, 1, 3)).toEqual(['peer-c']);
    t.forget('relay');
    t.forget('a');
    expect(t.recommend('x', R1, 0, 1, 4)).toEqual([]);
    expect(t.stats().serving).toBe(0);
    // Its id is free again.
    expect(t.serving('b', 'key-b', 'peer-c', true)).toBe(true);
  });
});

describe('the host tracks the swarm: serving, get-peers, have, peer-report', () => {
  it('names a volunteer it served to another, stops after a bad-chunk report (which counts against its trust), and forgets it on disconnect', async () => {
    const r = seededRandom(3);
    const words = (n: number) => new Uint8Array(Float32Array.from({ length: n }, () => r() * 2 - 1).buffer);
    const job = productJob(
      {
        id: 'swarm',
        kernel: 'matmul-f32',
        a: { rows: 40, cols: 200, data: words(40 * 200), name: 'A' },
        b: { rows: 200, cols: 300, data: words(200 * 300), name: 'B' },
        m: 20,
        n: 300,
        options: { verify: { policy: 'freivalds' }, trust: { banAfter: 2 } },
      },
      hash,
    );
    const store = new MemoryHostStore();
    for (const [root, data] of job.datasets) await store.saveDataset({ root, data, createdAt: 0 });
    const core = await HostCore.open(store, [job.spec], { hostId: 'h', hash, identity: await newIdentity() });
    const [a, b] = [await newIdentity(), await newIdentity()];
    await core.connect('A');
    await core.connect('B');
    await greetAs(core, 'A', a);
    await greetAs(core, 'B', b);
    const root = [...job.datasets.keys()][1]!;
    // Nobody holds it yet: no peers.
    expect(await sayTo(core, 'B', { type: 'get-peers', id: 2, root, first: 0, count: 1 })).toEqual([{ type: 'peers', id: 2, root, peers: [] }]);
    const chunks = await sayTo(core, 'A', { type: 'get-chunks', id: 3, root, first: 0, count: 1 });
    expect(chunks.map((c) => c.type)).toEqual(['chunk']);
    expect(await sayTo(core, 'B', { type: 'get-peers', id: 4, root, first: 0, count: 1 })).toEqual([{ type: 'peers', id: 4, root, peers: [] }]);
    expect(await sayTo(core, 'A', { type: 'serving', id: 5, peer: 'peer-A', on: true })).toEqual([{ type: 'tracking', id: 5 }]);
    expect(await sayTo(core, 'B', { type: 'get-peers', id: 6, root, first: 0, count: 1 })).toEqual([{ type: 'peers', id: 6, root, peers: ['peer-A'] }]);
    // B claiming A's id is refused, naming the request.
    const [claim] = await sayTo(core, 'B', { type: 'serving', id: 7, peer: 'peer-A', on: true });
    expect(claim).toMatchObject({ type: 'error', id: 7 });
    // A dataset the host does not serve: refused.
    const [other] = await sayTo(core, 'B', { type: 'get-peers', id: 8, root: R1, first: 0, count: 1 });
    expect(other).toMatchObject({ type: 'error', id: 8 });
    expect(await sayTo(core, 'B', { type: 'peer-report', id: 9, peer: 'peer-A', root, why: PeerFault.BadChunk })).toEqual([{ type: 'tracking', id: 9 }]);
    expect(core.trustRecords('swarm').find((t) => t.key === a.id)).toMatchObject({ invalid: 1 });
    expect(await sayTo(core, 'B', { type: 'get-peers', id: 10, root, first: 0, count: 1 })).toEqual([{ type: 'peers', id: 10, root, peers: [] }]);
    expect(core.swarmStats().excluded[a.id]).toBeGreaterThan(0);
    // B holds it too once it says so (have), and serves: A is named B.
    expect(await sayTo(core, 'B', { type: 'have', id: 11, root, first: 0, count: 1 })).toEqual([{ type: 'tracking', id: 11 }]);
    await sayTo(core, 'B', { type: 'serving', id: 12, peer: 'peer-B', on: true });
    expect(await sayTo(core, 'A', { type: 'get-peers', id: 13, root, first: 0, count: 1 })).toEqual([{ type: 'peers', id: 13, root, peers: ['peer-B'] }]);
    await core.disconnect('B');
    expect(await sayTo(core, 'A', { type: 'get-peers', id: 14, root, first: 0, count: 1 })).toEqual([{ type: 'peers', id: 14, root, peers: [] }]);
    core.close();
  });
});

/** Two ends of an in-memory link, each delivering on a later task as a data channel does; closing tells both. */
function linkPair(): { dial: (h: LinkHandlers) => Link; accept: (h: LinkHandlers) => Link; tamper?: (body: Uint8Array) => Uint8Array } {
  let near: LinkHandlers | undefined;
  let far: LinkHandlers | undefined;
  let open = true;
  const pair: ReturnType<typeof linkPair> = {
    dial: (h) => {
      near = h;
      return end(() => far);
    },
    accept: (h) => {
      far = h;
      return end(
        () => near,
        (b) => pair.tamper?.(b) ?? b,
      );
    },
  };
  function end(other: () => LinkHandlers | undefined, change: (b: Uint8Array) => Uint8Array = (b) => b): Link {
    return {
      peer: 'p',
      send: (text) => setTimeout(() => open && other()?.onText(text), 0),
      sendData: (text, body) => setTimeout(() => open && other()?.onText(text, change(body.slice())), 0),
      close: () => {
        if (!open) return;
        open = false;
        setTimeout(() => {
          near?.onClose();
          far?.onClose();
        }, 0);
      },
    };
  }
  return pair;
}

describe('a peer serves verified chunks to a downloader that checks each against the slice', () => {
  const dataset: Dataset = buildDataset(bytes(3 * DATASET_CHUNK_BYTES + 500, 7), hash);
  const slice = { root: dataset.root, bytes: dataset.data.length };

  /** A serving peer; `reloaded`: its chunks come from a cache filled by an earlier page load (paths in the cache, none in memory), chunk 3 without its path. */
  async function server(options: { allowed?: () => boolean; rate?: number; reloaded?: boolean } = {}) {
    const cache = new MemoryDatasetCache();
    const paths = new PathBook();
    for (let i = 0; i < chunkCount(dataset.data.length); i++) {
      const c = serveChunk(dataset, i);
      const proof = { bytes: dataset.data.length, path: c.path };
      await cache.put(dataset.root, i, c.data.slice(), options.reloaded && i !== 3 ? proof : undefined);
      if (!options.reloaded) paths.put(dataset.root, i, proof);
    }
    return new ChunkServer({
      cache,
      paths,
      share: new UploadShare(options.rate ?? 1e9),
      flights: new ChunkFlights(),
      allowed: options.allowed ?? (() => true),
      idleMs: 2000,
    });
  }

  function fetcher(serve: (pair: ReturnType<typeof linkPair>) => void, peers = ['p1']) {
    const reports: { peer: string; why: PeerFault }[] = [];
    const f = new PeerFetcher({
      hash,
      idleMs: 300,
      dialMs: 300,
      peersFor: () => Promise.resolve(peers),
      dial: (_peer, handlers) => {
        const pair = linkPair();
        serve(pair);
        return Promise.resolve(pair.dial(handlers));
      },
      report: (peer, _root, why) => reports.push({ peer, why }),
    });
    return { f, reports };
  }

  it('an honest peer: the chunks come verified, counted as peer bytes', async () => {
    const s = await server();
    const { f, reports } = fetcher((pair) => s.accept(pair.accept));
    const chunks = await f.fetch(slice, 1, 3, new AbortController().signal);
    expect(chunks?.map((c) => c.index)).toEqual([1, 2, 3]);
    expect(chunks![2]!.data.length).toBe(500);
    expect(reports).toEqual([]);
    expect(f.counts.bytes).toBe(2 * DATASET_CHUNK_BYTES + 500);
    expect(s.bytesServed).toBe(2 * DATASET_CHUNK_BYTES + 500);
  });

  it('a reloaded peer serves what its cache holds with audit paths, refuses a chunk cached without one, and announces the runs it can prove', async () => {
    const s = await server({ reloaded: true });
    const { f, reports } = fetcher((pair) => s.accept(pair.accept));
    const chunks = await f.fetch(slice, 0, 3, new AbortController().signal);
    expect(chunks?.map((c) => c.index)).toEqual([0, 1, 2]);
    expect(reports).toEqual([]);
    // Chunk 3 has no path on record: not ours to serve; the fetcher gets nothing from this peer for it.
    const { f: f2 } = fetcher((pair) => s.accept(pair.accept));
    expect(await f2.fetch(slice, 3, 1, new AbortController().signal)).toBeUndefined();
    const cache = new MemoryDatasetCache();
    for (const i of [0, 1, 2, 5, 7, 8]) await cache.put(R1, i, bytes(10, 11), { bytes: 10 * DATASET_CHUNK_BYTES, path: [] });
    await cache.put(R1, 9, bytes(10, 12));
    await cache.put(R2, 4, bytes(10, 13), { bytes: 5 * DATASET_CHUNK_BYTES, path: [] });
    // Most recently used dataset first; runs of consecutive provable chunks; chunk 9 (no path) left out.
    expect(await cachedHoldings(cache)).toEqual([
      { root: R2, first: 4, count: 1 },
      { root: R1, first: 0, count: 3 },
      { root: R1, first: 5, count: 1 },
      { root: R1, first: 7, count: 2 },
    ]);
  });

  it('a lying peer (a byte flipped, or another chunk in its place): nothing is returned, the peer is dropped and reported as serving a bad chunk, and never asked again', async () => {
    const s = await server();
    const { f, reports } = fetcher((pair) => {
      pair.tamper = (b) => ((b[10] ^= 1), b);
      s.accept(pair.accept);
    });
    expect(await f.fetch(slice, 0, 2, new AbortController().signal)).toBeUndefined();
    expect(reports).toEqual([{ peer: 'p1', why: PeerFault.BadChunk }]);
    expect(f.droppedPeers.has('p1')).toBe(true);
    expect(await f.fetch(slice, 0, 1, new AbortController().signal)).toBeUndefined();
    expect(reports.length).toBe(1);
    // A peer that serves chunk 1's true bytes and path for chunk 0 is caught as well: the place in the tree is the slice's.
    const s2 = await server();
    const { f: f2, reports: r2 } = fetcher((pair) => {
      s2.accept((h) => {
        const link = pair.accept(h);
        return {
          ...link,
          sendData: (text, body) =>
            link.sendData(text.replace('"index":0', '"index":0'), body.length === DATASET_CHUNK_BYTES ? serveChunk(dataset, 1).data : body),
        };
      });
    });
    expect(await f2.fetch(slice, 0, 1, new AbortController().signal)).toBeUndefined();
    expect(r2).toEqual([{ peer: 'p1', why: PeerFault.BadChunk }]);
  });

  it('a stalled peer is dropped as stalled; a peer that serves no one now (busy) is passed over without a report; the next named peer serves', async () => {
    const honest = await server();
    const paused = await server({ allowed: () => false });
    let n = 0;
    const { f, reports } = fetcher(
      (pair) => {
        const which = n++;
        if (which === 0) pair.accept({ onText: () => undefined, onClose: () => undefined });
        else if (which === 1) paused.accept(pair.accept);
        else honest.accept(pair.accept);
      },
      ['stall', 'busy', 'good'],
    );
    const chunks = await f.fetch(slice, 0, 1, new AbortController().signal);
    expect(chunks?.map((c) => c.index)).toEqual([0]);
    expect(reports).toEqual([{ peer: 'stall', why: PeerFault.Stalled }]);
    expect(f.droppedPeers.has('busy')).toBe(false);
  });

  it('a downloader that closes mid-request frees its slot; at most maxDownloaders are served at once', async () => {
    const s = await server({ rate: 300_000 });
    const links: Link[] = [];
    for (let i = 0; i < 4; i++) {
      const pair = linkPair();
      s.accept(pair.accept);
      links.push(pair.dial({ onText: () => undefined, onClose: () => undefined }));
    }
    expect(s.active).toBe(3);
    links[0]!.close();
    await until(() => s.active === 2);
  });
});

describe('the upload share and the connection', () => {
  it('takes bytes at the rate set: a burst of one chunk, then rate × time; a wait too long is busy; a rate of 0 serves nothing', async () => {
    let now = 0;
    const share = new UploadShare(1_000_000, () => now, 1000);
    const signal = new AbortController().signal;
    await share.take(1000, signal);
    // 1 MB/s: 2000 bytes more need 2 ms.
    const t0 = performance.now();
    await share.take(2000, signal);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(1);
    now = 10_000;
    await expect(share.take(10_000_000, signal, 100)).rejects.toMatchObject({ code: 'busy' });
    share.rate = 0;
    await expect(share.take(1, signal)).rejects.toMatchObject({ code: 'busy' });
    expect(share.bytesSent).toBe(3000);
  });

  it('spares a connection the browser marks as data saving, metered or cellular', () => {
    expect(connectionSaysSpare({})).toBe(false);
    expect(connectionSaysSpare({ connection: { saveData: false, type: 'wifi' } })).toBe(false);
    expect(connectionSaysSpare({ connection: { saveData: true } })).toBe(true);
    expect(connectionSaysSpare({ connection: { metered: true } })).toBe(true);
    expect(connectionSaysSpare({ connection: { type: 'cellular' } })).toBe(true);
  });
});
