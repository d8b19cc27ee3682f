/**
 * The farm's swarm figures (issue 18): input bytes the host sent against those peers sent, the
 * share peers served, what the host sent of the swarm product's shared B against its size S
 * (the issue: at most 2 × S however many volunteers), the tracker's counts, and the lying peers'
 * reports; and the fault of closing a tab while other volunteers fetch from it.
 */
import { sleep } from '../../src/async';
import type { TrackerStats } from '../../src/host/swarm-tracker';
import type { HostStats } from './host-stats';
import type { LyingPeerReport } from './lying-peer';
import type { PageFacts, PageFarm } from './pages';

/** The bound on the shared B: the host sends at most this many times its size. */
export const SHARED_B_BOUND = 2;

export interface SwarmFigure {
  /** Input bytes the host sent the volunteers (chunks, all datasets; a lying peer's own fetch included). */
  host_input_bytes: number;
  /** Input bytes the volunteers fetched from each other, verified. */
  peer_input_bytes: number;
  /** peer_input_bytes / (host + peer): the share of the inputs peers served. */
  peer_share: number;
  /** Input bytes the pages sent to peers (≥ peer_input_bytes of pages alone: a request cut off mid-way counts here, not there). */
  bytes_served_by_pages: number;
  /** The swarm product's shared B: its size, what the host sent of it to honest volunteers, and that over the size. */
  shared_b?: { job: string; bytes: number; host_bytes: number; times: number };
  /** The tracker's counts at the end. */
  tracker?: TrackerStats;
  /** The lying peers: what each did, and whether the host stopped naming it. */
  liars: (LyingPeerReport & { excluded: boolean })[];
  /** The tab closed while serving, if one was: which, and how many were fetching from it. */
  closed_while_serving?: { page: number; uploading: number };
}

export function swarmFigure(options: {
  readonly stats: HostStats;
  readonly facts: readonly PageFacts[];
  readonly nodePeerBytes: number;
  readonly sharedB?: { readonly job: string; readonly root: string; readonly bytes: number };
  readonly liars: readonly LyingPeerReport[];
  readonly closedWhileServing?: { page: number; uploading: number };
}): SwarmFigure {
  const { stats, facts } = options;
  const peer = facts.reduce((n, f) => n + f.peerInputBytes, 0) + options.nodePeerBytes;
  const host = stats.inputBytes;
  const liarKeys = new Set(options.liars.map((l) => l.key));
  const b = options.sharedB;
  const bHost = b ? Object.entries(stats.inputBytesByKey).reduce((n, [key, roots]) => n + (liarKeys.has(key) ? 0 : (roots[b.root] ?? 0)), 0) : 0;
  return {
    host_input_bytes: host,
    peer_input_bytes: peer,
    peer_share: host + peer > 0 ? peer / (host + peer) : 0,
    bytes_served_by_pages: facts.reduce((n, f) => n + f.bytesServed, 0),
    ...(b ? { shared_b: { job: b.job, bytes: b.bytes, host_bytes: bHost, times: bHost / b.bytes } } : {}),
    ...(stats.swarm ? { tracker: stats.swarm } : {}),
    liars: options.liars.map((l) => ({ ...l, excluded: stats.swarm?.excluded[l.key] !== undefined })),
    ...(options.closedWhileServing ? { closed_while_serving: options.closedWhileServing } : {}),
  };
}

/**
 * What the swarm must hold: no key named after it was excluded, every liar that lied excluded,
 * and, in a run without liars (each lie sends its victim back to the host), the shared B within its bound.
 */
export function swarmInvariants(f: SwarmFigure): string[] {
  const broken: string[] = [];
  if (f.shared_b && f.liars.length === 0 && f.shared_b.times > SHARED_B_BOUND)
    broken.push(
      `the host sent ${f.shared_b.host_bytes} bytes of the shared B (${f.shared_b.times.toFixed(2)} × its ${f.shared_b.bytes}), over ${SHARED_B_BOUND} ×`,
    );
  if ((f.tracker?.recommendedAfterExclusion ?? 0) > 0) broken.push(`the host named excluded peers ${f.tracker!.recommendedAfterExclusion} time(s)`);
  for (const l of f.liars) if (l.lies > 0 && !l.excluded) broken.push(`lying peer ${l.key.slice(0, 12)} told ${l.lies} lie(s) and is still named`);
  return broken;
}

/**
 * Closes, once, a page that volunteers are fetching from: polls the pages until one is serving
 * while another page has fetched at least `othersHold` input bytes (so it holds the shared input
 * too, and the downloaders have a peer to move on to, not only the host), then closes its tab for
 * good. Resolves to which, and how many were fetching, or undefined when none served in time.
 */
export async function closeWhileServing(
  pages: PageFarm,
  signal: AbortSignal,
  log: (line: string) => void,
  othersHold = 0,
  withinMs = 60_000,
): Promise<{ page: number; uploading: number } | undefined> {
  for (const until = performance.now() + withinMs; performance.now() < until && !signal.aborted;) {
    const open = pages.pages.filter((p) => !p.closed);
    const facts = await Promise.all(open.map((p) => p.facts().catch(() => undefined)));
    for (const [i, p] of open.entries()) {
      const f = facts[i];
      if (!f || f.uploading === 0) continue;
      const another = facts.some((g, j) => j !== i && g !== undefined && g.hostInputBytes + g.peerInputBytes >= othersHold);
      if (!another) continue;
      // Still serving a moment later (the facts were read one page after another).
      const serving = await p.facts().catch(() => undefined);
      if (!serving || serving.uploading === 0) continue;
      log(`farm: closing page ${p.index} while ${serving.uploading} volunteer(s) fetch from it`);
      await p.close();
      return { page: p.index, uploading: serving.uploading };
    }
    await sleep(50, signal).catch(() => undefined);
  }
  return undefined;
}

/** The summary table's rows for the swarm. */
export function swarmRows(f: SwarmFigure): [string, string][] {
  const rows: [string, string][] = [
    ['input bytes from host / peers', `${f.host_input_bytes} / ${f.peer_input_bytes} (peers served ${(100 * f.peer_share).toFixed(1)} %)`],
  ];
  if (f.shared_b)
    rows.push([
      'shared B sent by the host',
      `${f.shared_b.host_bytes} of ${f.shared_b.bytes} bytes (${f.shared_b.times.toFixed(2)} × S; bound ${SHARED_B_BOUND} ×)`,
    ]);
  if (f.tracker) {
    const r = f.tracker.reports;
    rows.push([
      'peers named / reports',
      `${f.tracker.recommended} / bad chunk ${r['bad-chunk']}, stalled ${r.stalled}, refused ${r.refused}, unreachable ${r.unreachable}; excluded ${Object.keys(f.tracker.excluded).length}`,
    ]);
  }
  for (const l of f.liars)
    rows.push([`lying peer ${l.key.slice(0, 8)}`, `${l.lies} lie(s) to ${l.downloaders} downloader(s); ${l.excluded ? 'no longer named' : 'STILL NAMED'}`]);
  return rows;
}
