import { afterEach, describe, expect, it } from 'vitest';
import '../../src/ui/tabgrid-volunteer';
import type { TabgridVolunteer } from '../../src/ui/tabgrid-volunteer';
import { buildDataset, chunkCount, DATASET_CHUNK_BYTES, MAX_CHUNKS_PER_REQUEST, serveChunk } from '../../src/data/dataset';
import { createCpuSha256 } from '../../src/hash/sha256-cpu';
import { linkFromConnection } from '../../src/net/link';
import { ChunkFlights } from '../../src/volunteer/chunk-fetcher';
import { ChunkServer } from '../../src/volunteer/chunk-server';
import { PathBook } from '../../src/volunteer/path-book';
import { PeerFetcher } from '../../src/volunteer/peer-fetcher';
import { openDatasetCache } from '../../src/volunteer/store/idb-dataset-cache';
import { MB, UploadShare } from '../../src/volunteer/upload-share';
import { seededRandom } from '../../src/work/seeded';
import { rtcPair } from '../helpers/rtc-pair';

afterEach(() => {
  document.body.replaceChildren();
  localStorage.clear();
});

function mount(attrs: Record<string, string> = {}): TabgridVolunteer {
  const el = document.createElement('tabgrid-volunteer');
  for (const [k, v] of Object.entries({ signal: 'ws://127.0.0.1:9/', host: 'upload-test', ...attrs })) el.setAttribute(k, v);
  document.body.append(el);
  return el;
}

describe("the widget's upload share", () => {
  it('is a labelled control the visitor can lower (to none), kept across reloads, never above what the page offers', async () => {
    const el = mount({ 'upload-mbps': '4' });
    await el.updateComplete;
    const input = el.shadowRoot!.querySelector<HTMLInputElement>('#upload-share')!;
    const label = el.shadowRoot!.querySelector('label[for="upload-share"]')!;
    expect(label.textContent).toMatch(/Share inputs with other volunteers: up to/);
    expect(input.max).toBe('4');
    expect(el.uploadShareMbps).toBe(4);
    expect(input.getAttribute('aria-valuetext')).toBe('4 megabytes per second');
    expect(input.getAttribute('aria-describedby')).toBe('upload-note');
    input.value = '1.5';
    input.dispatchEvent(new Event('input'));
    await el.updateComplete;
    expect(el.uploadShareMbps).toBe(1.5);
    expect(el.shadowRoot!.querySelector('[data-field="upload-share"]')!.textContent).toBe('1.5 MB/s');
    el.remove();
    const again = mount({ 'upload-mbps': '4' });
    await again.updateComplete;
    expect(again.uploadShareMbps).toBe(1.5);
    const zero = again.shadowRoot!.querySelector<HTMLInputElement>('#upload-share')!;
    zero.value = '0';
    zero.dispatchEvent(new Event('input'));
    await again.updateComplete;
    expect(again.shadowRoot!.querySelector('[data-field="upload-share"]')!.textContent).toBe('none');
    expect(zero.getAttribute('aria-valuetext')).toMatch(/none/);
    again.remove();
    // A page that offers less than the visitor kept: the page's bound wins.
    localStorage.setItem('tabgrid:upload-share:upload-test', '8');
    const lower = mount({ 'upload-mbps': '1' });
    await lower.updateComplete;
    expect(lower.uploadShareMbps).toBe(1);
  });

  it('is respected: two downloaders pulling at once over real WebRTC channels get the share set, within 10 % over a 30 s window', async () => {
    const share = 1; // MB/s, as the widget sets it
    const hash = await createCpuSha256();
    const random = seededRandom(30);
    const data = Uint8Array.from({ length: 8 * DATASET_CHUNK_BYTES }, () => Math.floor(random() * 256));
    const dataset = buildDataset(data, hash);
    const cache = await openDatasetCache({ name: `upload-share-${Date.now()}` });
    const paths = new PathBook();
    for (let i = 0; i < chunkCount(data.length); i++) {
      const c = serveChunk(dataset, i);
      await cache.put(dataset.root, i, c.data.slice());
      paths.put(dataset.root, i, { bytes: data.length, path: c.path });
    }
    const server = new ChunkServer({ cache, paths, share: new UploadShare(share * MB), flights: new ChunkFlights(), allowed: () => true });
    const arrivals: { at: number; bytes: number }[] = [];
    const pairs: Awaited<ReturnType<typeof rtcPair>>[] = [];
    const fetcher = () =>
      new PeerFetcher({
        hash,
        peersFor: () => Promise.resolve(['server']),
        dial: async (_peer, handlers) => {
          const pair = await rtcPair();
          pairs.push(pair);
          server.accept((h) => linkFromConnection(pair.far, h));
          return linkFromConnection(pair.near, {
            onText: (text, body) => {
              if (body) arrivals.push({ at: performance.now(), bytes: body.length });
              handlers.onText(text, body);
            },
            onClose: handlers.onClose,
          });
        },
        report: (peer, _root, why) => {
          throw new Error(`an honest server was reported: ${peer} ${why}`);
        },
      });
    const slice = { root: dataset.root, bytes: data.length };
    const stop = AbortSignal.timeout(33_000);
    // Each downloader asks for the whole dataset, again and again, until the window has passed.
    const pull = async (f: PeerFetcher) => {
      while (!stop.aborted) {
        const got = await f.fetch(slice, 0, MAX_CHUNKS_PER_REQUEST, stop).catch(() => undefined);
        if (!stop.aborted) expect(got?.length).toBe(MAX_CHUNKS_PER_REQUEST);
      }
    };
    await Promise.all([pull(fetcher()), pull(fetcher())]);
    server.stopAll(true);
    for (const p of pairs) p.close();
    cache.close();
    const t0 = arrivals[0]!.at;
    const window = arrivals.filter((a) => a.at - t0 <= 30_000);
    const rate = window.reduce((n, a) => n + a.bytes, 0) / 30;
    console.log(`upload share ${share} MB/s: measured ${(rate / MB).toFixed(3)} MB/s over 30 s (${window.length} chunks)`);
    expect(rate).toBeGreaterThanOrEqual(0.9 * share * MB);
    expect(rate).toBeLessThanOrEqual(1.1 * share * MB);
  }, 50_000);
});
