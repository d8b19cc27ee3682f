/**
 * The host as the swarm's tracker (issue 18): which connections hold which chunks of which
 * datasets (what the host served them, and what they say they fetched from peers since), which
 * of them serve and as what peer id, and which keys were caught serving badly. To a volunteer
 * that needs chunks it names a few peers that hold them all, the least asked first, so the host
 * sends a shared input about once and the volunteers pass it on. Whoever asks is counted as a
 * holder from then on (it is fetching them), and a peer named while its own fetch is still in
 * flight serves once the chunks land (chunk-server.ts waits for them).
 *
 * Bounded: MAX_ROOTS_PER_HOLDER datasets per connection, MAX_HOLDERS_PER_ROOT connections per
 * dataset (the most recently seen), MAX_FAULT_KEYS keys with faults on record; everything a
 * connection held goes when it disconnects (forget). Faults are per key, so reconnecting does
 * not clear them: a key reported for a bad chunk is never named again, nor one with
 * MAX_STRIKES reports of other faults from distinct reporters.
 */
import { chunkCount, MAX_DATASET_BYTES } from '../data/dataset';
import { MAX_RECOMMENDED_PEERS, PeerFault } from '../protocol/swarm';

export const MAX_ROOTS_PER_HOLDER = 16;
export const MAX_HOLDERS_PER_ROOT = 256;
export const MAX_FAULT_KEYS = 4096;
/** Reports of stalls, refusals or unreachability (from distinct reporters) after which a key is no longer named. */
export const MAX_STRIKES = 3;
/** Reporters kept per key and fault kind: past the strikes that exclude, more change nothing but the trust counted. */
const MAX_REPORTERS = 64;

interface Server {
  readonly peer: string;
  readonly key: string;
  on: boolean;
}

interface Faults {
  excluded: boolean;
  /** Reporters of faults other than a bad chunk. */
  readonly strikes: Set<string>;
  /** Reporters who were named this peer and then reported a bad chunk from it. */
  readonly bad: Set<string>;
}

export interface TrackerStats {
  /** Peers named, in all. */
  readonly recommended: number;
  /** Peers named per key (the served key), for the keys named. */
  readonly recommendedByKey: Record<string, number>;
  /** Times a key was named after it was excluded: zero unless the tracker is broken. */
  readonly recommendedAfterExclusion: number;
  /** Keys no longer named, with when (epoch ms). */
  readonly excluded: Record<string, number>;
  /** Reports taken, by fault. */
  readonly reports: Record<PeerFault, number>;
  /** Connections serving now. */
  readonly serving: number;
}

export class SwarmTracker {
  /**
   * root → connection name → chunk indices held (a bit per chunk), and of those, the ones it
   * surely holds (the host sent them, or it said `have`): the others it is fetching from peers.
   */
  private readonly holders = new Map<string, Map<string, { readonly bits: Uint8Array; readonly sure: Uint8Array }>>();
  /** connection name → roots it holds, most recent last. */
  private readonly rootsOf = new Map<string, string[]>();
  private readonly servers = new Map<string, Server>();
  /** peer id → the connection that serves as it. */
  private readonly byPeer = new Map<string, string>();
  private readonly faults = new Map<string, Faults>();
  /** peer id → when it was last named, so the least recently named go first. */
  private readonly lastNamed = new Map<string, number>();
  /** Which peers each connection was named for which root (bounded with the connection's roots): only those it may report. */
  private readonly named = new Map<string, Set<string>>();
  private recommended = 0;
  private readonly byKey = new Map<string, number>();
  private afterExclusion = 0;
  private readonly excludedAt = new Map<string, number>();
  private readonly reports: Record<PeerFault, number> = { 'bad-chunk': 0, stalled: 0, refused: 0, unreachable: 0 };
  private tick = 0;

  constructor(private readonly random: (n: number) => number) {}

  /**
   * Connection `name` holds chunks first … first + count − 1 of `root`: surely (the host sent
   * them, or it said it has them), or soon (`sure` false: it asked for peers, and fetches them now).
   */
  held(name: string, root: string, first: number, count: number, sure = true): void {
    let byName = this.holders.get(root);
    if (!byName) this.holders.set(root, (byName = new Map()));
    let h = byName.get(name);
    if (!h) {
      const bytes = Math.ceil(chunkCount(MAX_DATASET_BYTES) / 8);
      h = { bits: new Uint8Array(bytes), sure: new Uint8Array(bytes) };
      // Most recently seen holders stay: the oldest goes past the bound.
      if (byName.size >= MAX_HOLDERS_PER_ROOT) this.release(byName.keys().next().value!, root);
      byName.set(name, h);
      const roots = [...(this.rootsOf.get(name) ?? []), root];
      if (roots.length > MAX_ROOTS_PER_HOLDER) this.release(name, roots.shift()!);
      this.rootsOf.set(name, roots);
    }
    for (let i = first; i < first + count && i < h.bits.length * 8; i++) {
      h.bits[i >> 3]! |= 1 << (i & 7);
      if (sure) h.sure[i >> 3]! |= 1 << (i & 7);
    }
  }

  /**
   * Connection `name` (key `key`) serves as `peer` (or stops). False when another connection
   * serves as that peer id already: an id is one connection's.
   */
  serving(name: string, key: string, peer: string, on: boolean): boolean {
    const owner = this.byPeer.get(peer);
    if (owner !== undefined && owner !== name) return false;
    const before = this.servers.get(name);
    if (before && before.peer !== peer) this.byPeer.delete(before.peer);
    this.servers.set(name, { peer, key, on });
    this.byPeer.set(peer, name);
    return true;
  }

  /** Up to MAX_RECOMMENDED_PEERS peers that serve and hold all of first … first + count − 1 of `root`, for connection `asker`: the least recently named first. */
  recommend(asker: string, root: string, first: number, count: number, now: number): string[] {
    const byName = this.holders.get(root);
    if (!byName) {
      this.held(asker, root, first, count, false);
      return [];
    }
    const candidates: Server[] = [];
    /** Candidates still fetching some of the chunks themselves: named after those that surely hold them all. */
    const fetching = new Set<Server>();
    const has = (bits: Uint8Array, i: number) => (bits[i >> 3]! & (1 << (i & 7))) !== 0;
    for (const [name, h] of byName) {
      if (name === asker) continue;
      const server = this.servers.get(name);
      if (!server?.on || this.isExcluded(server.key)) continue;
      let all = true;
      let sure = true;
      for (let i = first; i < first + count && all; i++) {
        all = has(h.bits, i);
        sure &&= has(h.sure, i);
      }
      if (!all) continue;
      candidates.push(server);
      if (!sure) fetching.add(server);
    }
    // Shuffled, then those that surely hold them first, then the least recently named: ties in random order.
    for (let i = candidates.length - 1; i > 0; i--) {
      const j = this.random(i + 1);
      [candidates[i], candidates[j]] = [candidates[j]!, candidates[i]!];
    }
    candidates.sort((a, b) => Number(fetching.has(a)) - Number(fetching.has(b)) || (this.lastNamed.get(a.peer) ?? -1) - (this.lastNamed.get(b.peer) ?? -1));
    const chosen = candidates.slice(0, MAX_RECOMMENDED_PEERS);
    const told = this.named.get(asker) ?? new Set<string>();
    // The first named is the one the downloader asks first: it goes to the back of the line.
    if (chosen[0]) this.lastNamed.set(chosen[0].peer, now + ++this.tick / 1e6);
    for (const s of chosen) {
      if (this.isExcluded(s.key)) this.afterExclusion++;
      this.recommended++;
      this.byKey.set(s.key, (this.byKey.get(s.key) ?? 0) + 1);
      if (this.byKey.size > MAX_FAULT_KEYS) this.byKey.delete(this.byKey.keys().next().value!);
      told.add(`${s.peer}/${root}`);
    }
    // Bounded: a connection is told about at most a few peers per root it asks about.
    if (told.size > MAX_ROOTS_PER_HOLDER * MAX_RECOMMENDED_PEERS * 4) told.delete(told.values().next().value!);
    this.named.set(asker, told);
    // The asker fetches these chunks now (from these peers, or from the host): it holds them soon,
    // and serves them to those asking after it once they land. Volunteers that all start at once
    // so fetch a shared input from each other, not each from the host.
    this.held(asker, root, first, count, false);
    return chosen.map((s) => s.peer);
  }

  /**
   * `reporter` (connection `name`) says peer `peer` failed it (`why`) on dataset `root`. Taken
   * only from a connection the host named that peer to for that root, once per reporter. Returns
   * the key to count a bad chunk against (the caller records it in the key's trust), else undefined.
   */
  report(name: string, reporter: string, peer: string, root: string, why: PeerFault, now: number): string | undefined {
    if (!this.named.get(name)?.has(`${peer}/${root}`)) return undefined;
    const served = this.byPeer.get(peer);
    const key = served === undefined ? undefined : this.servers.get(served)?.key;
    if (key === undefined || key === reporter) return undefined;
    this.reports[why]++;
    const f = this.faultsOf(key);
    let counted: string | undefined;
    if (why === PeerFault.BadChunk) {
      if (!f.bad.has(reporter)) counted = key;
      if (f.bad.size < MAX_REPORTERS) f.bad.add(reporter);
      f.excluded = true;
    } else {
      if (f.strikes.size < MAX_REPORTERS) f.strikes.add(reporter);
      if (f.strikes.size >= MAX_STRIKES) f.excluded = true;
    }
    if (f.excluded && !this.excludedAt.has(key)) this.excludedAt.set(key, now);
    return counted;
  }

  isExcluded(key: string): boolean {
    return this.faults.get(key)?.excluded === true;
  }

  /** The connection closed (a relay's children with it): what they held and served goes (their keys' faults stay). */
  forget(name: string): void {
    const children = [...new Set([...this.rootsOf.keys(), ...this.servers.keys()])].filter((n) => n.startsWith(`${name}>`));
    for (const child of children) this.forgetOne(child);
    this.forgetOne(name);
  }

  private forgetOne(name: string): void {
    for (const root of this.rootsOf.get(name) ?? []) this.holders.get(root)?.delete(name);
    for (const root of this.rootsOf.get(name) ?? []) if (this.holders.get(root)?.size === 0) this.holders.delete(root);
    this.rootsOf.delete(name);
    this.named.delete(name);
    const server = this.servers.get(name);
    if (server) {
      this.byPeer.delete(server.peer);
      this.lastNamed.delete(server.peer);
    }
    this.servers.delete(name);
  }

  stats(): TrackerStats {
    return {
      recommended: this.recommended,
      recommendedByKey: Object.fromEntries(this.byKey),
      recommendedAfterExclusion: this.afterExclusion,
      excluded: Object.fromEntries(this.excludedAt),
      reports: { ...this.reports },
      serving: [...this.servers.values()].filter((s) => s.on).length,
    };
  }

  private release(name: string, root: string): void {
    const byName = this.holders.get(root);
    byName?.delete(name);
    if (byName?.size === 0) this.holders.delete(root);
    const roots = this.rootsOf.get(name)?.filter((r) => r !== root);
    if (roots) this.rootsOf.set(name, roots);
  }

  private faultsOf(key: string): Faults {
    let f = this.faults.get(key);
    if (!f) {
      f = { excluded: false, strikes: new Set(), bad: new Set() };
      // The oldest record goes past the bound, unless it excludes (those are what the bound is for): then the oldest non-excluding one.
      if (this.faults.size >= MAX_FAULT_KEYS) {
        const drop = [...this.faults].find(([, x]) => !x.excluded)?.[0] ?? this.faults.keys().next().value!;
        this.faults.delete(drop);
        this.excludedAt.delete(drop);
      }
      this.faults.set(key, f);
    }
    return f;
  }
}
