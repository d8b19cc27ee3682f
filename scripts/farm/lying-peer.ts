/**
 * A lying peer for the farm (issue 18): a Node volunteer that greets the host with a key of its
 * own, fetches the chunks of the datasets it is given (so the host, as tracker, holds it for a
 * holder of them), says it serves, and then answers every downloader's `get-chunks` with
 * corrupted chunks: by turns a byte flipped, another chunk's bytes in its place (the same
 * length, the true path), and a chunk with a made-up path. It computes nothing. The farm checks
 * that no honest unit is computed on what it served, that the host stops naming it once a
 * downloader reports it, and that the job finishes.
 */
import '../node-webrtc';
import type { DataConnection } from 'peerjs';
import { DATASET_CHUNK_BYTES, MAX_CHUNKS_PER_REQUEST, chunkCount, type ServedChunk } from '../../src/data/dataset';
import { sleep } from '../../src/async';
import { linkFromConnection } from '../../src/net/link';
import { openPeerEndpoint, type PeerEndpoint } from '../../src/net/peer-endpoint';
import { sendHostMessage } from '../../src/net/send-host-message';
import { createKeyPair, identityFromKeyPair } from '../../src/proof/identity';
import { parseVolunteerMessage } from '../../src/validate';
import { HostLink } from '../../src/volunteer/host-link';

export interface LyingPeerReport {
  /** Its key (the host's name for it). */
  readonly key: string;
  /** Chunks it served, every one a lie. */
  lies: number;
  /** Distinct downloaders that connected to it. */
  downloaders: number;
  /** Chunks it fetched from the host to look like a holder. */
  fetched: number;
  notes: string[];
}

export interface LyingPeer {
  readonly report: LyingPeerReport;
  close(): void;
}

export async function startLyingPeer(options: {
  readonly signalUrl: string;
  readonly hostId: string;
  readonly datasets: readonly { readonly root: string; readonly bytes: number }[];
  readonly signal: AbortSignal;
  readonly log?: (line: string) => void;
}): Promise<LyingPeer> {
  const identity = await identityFromKeyPair(await createKeyPair());
  const report: LyingPeerReport = { key: identity.id, lies: 0, downloaders: 0, fetched: 0, notes: [] };
  const note = (line: string) => {
    report.notes.push(line);
    options.log?.(`liar ${identity.id.slice(0, 8)}: ${line}`);
  };
  const host = new HostLink({ signalUrl: options.signalUrl, hostId: options.hostId, identity, client: 'tabgrid-farm-liar' }, () => undefined);
  // A loaded farm machine may fail one connection attempt; a volunteer would back off and try again, and so does the liar.
  for (let attempt = 1; ; attempt++) {
    try {
      await host.open(options.signal);
      break;
    } catch (err) {
      if (attempt >= 5 || options.signal.aborted) throw err;
      note(`could not reach the host (${err instanceof Error ? err.message : String(err)}); trying again`);
      await sleep(1000, options.signal);
    }
  }
  // What the host serves it, kept as served: the bytes the lies are made from.
  const held = new Map<string, ServedChunk>();
  for (const { root, bytes } of options.datasets) {
    for (let first = 0; first < chunkCount(bytes); first += MAX_CHUNKS_PER_REQUEST) {
      const count = Math.min(MAX_CHUNKS_PER_REQUEST, chunkCount(bytes) - first);
      for (const c of await host.fetchChunks(root, first, count, options.signal)) {
        held.set(`${root}/${c.index}`, c);
        report.fetched++;
      }
    }
  }
  let endpoint: PeerEndpoint | undefined;
  endpoint = await openPeerEndpoint({ signalUrl: options.signalUrl, signal: options.signal }, (conn) => serve(conn));
  await host.ask({ type: 'serving', peer: endpoint.id, on: true }, ['tracking'], options.signal);
  note(`holds ${held.size} chunk(s) and serves lies as ${endpoint.id}`);

  function serve(conn: DataConnection): void {
    report.downloaders++;
    const link = linkFromConnection(conn, {
      onText: (text, body) => {
        let m;
        try {
          m = parseVolunteerMessage(text, body);
        } catch {
          return;
        }
        if (m.type !== 'get-chunks') return;
        for (let index = m.first; index < m.first + m.count; index++) {
          const chunk = held.get(`${m.root}/${index}`);
          if (!chunk) continue;
          const lie = report.lies++ % 3;
          const data = chunk.data.slice();
          let path = [...chunk.path];
          if (lie === 0) data[data.length >> 1]! ^= 0x40;
          else if (lie === 1) {
            // Another chunk's bytes, cut to this one's length: a true chunk of the dataset, in the wrong place.
            const other = held.get(`${m.root}/${index + 1}`) ?? held.get(`${m.root}/${index - 1}`);
            if (other) data.set(other.data.subarray(0, Math.min(data.length, other.data.length)));
            else data[0]! ^= 1;
          } else path = path.map(() => 'f'.repeat(64));
          sendHostMessage(link, { type: 'chunk', id: m.id, root: m.root, index, path, data: data.subarray(0, Math.min(data.length, DATASET_CHUNK_BYTES)) });
        }
      },
      onClose: () => undefined,
    });
  }

  const close = () => {
    endpoint?.close();
    endpoint = undefined;
    host.close();
  };
  options.signal.addEventListener('abort', close, { once: true });
  return { report, close };
}
