import type { ResultKey } from '../proof/result-key';
import type { ChunkBudget } from './chunk-budget';
import { MAX_RELAYS } from '../protocol';

export interface Connection {
  /** When the host first heard of the connection (epoch ms): one that proves no key in time is a stranger. */
  readonly openedAt: number;
  /** identityOf(publicKey), set once the key-proof verifies: until then the connection is nobody. */
  volunteerId?: string;
  publicKey?: string;
  /** The result key agreed with the key-proof (proof/result-key.ts): each result's MAC must verify under it. */
  resultKey?: ResultKey;
  /** Hellos said in the minute since `since` (greeting.ts HELLOS_PER_MINUTE). */
  hellos?: { readonly since: number; count: number };
  /** The key hello named and the nonce its welcome carried, awaiting the key-proof. */
  claimed?: { readonly publicKey: string; readonly nonce: string };
  /**
   * The first key proved on this connection. The connection speaks for it for its life (a hello
   * naming another key is refused), so one connection cannot gather leases under many keys.
   */
  key?: string;
  /** Welcomed: from then on a direct connection counts against the host's cap, proved or not. */
  greeted?: boolean;
  /** Offered to relay in its hello. It may relay once its key is proved and has had results accepted. */
  relay?: boolean;
  /** What is left of its dataset-chunk budget (chunk-budget.ts). */
  chunks?: ChunkBudget;
  /** Datasets it fetched chunks of lately, most recent first (at most MAX_CACHED_HINT): the scheduler prefers units that read them. */
  roots?: readonly string[];
}

/**
 * The host's open connections, by name. A volunteer connected straight to the host is named
 * by its link; one connected through a relay is `<relay>><child>`. Knows which connections
 * count against the host's cap and which relays can take newcomers.
 */
export class Connections {
  private readonly byName = new Map<string, Connection>();

  constructor(private readonly clock: () => number) {}

  get(name: string): Connection {
    let c = this.byName.get(name);
    if (!c) {
      c = { openedAt: this.clock() };
      this.byName.set(name, c);
    }
    return c;
  }

  find(name: string): Connection | undefined {
    return this.byName.get(name);
  }

  /** Whether some connection speaks for volunteer `id` (its key proved; a linear scan: for rare events, not per message). */
  speaksFor(id: string): boolean {
    for (const c of this.byName.values()) if (c.volunteerId === id) return true;
    return false;
  }

  /** A new link under `name`: nothing of an earlier link by that name carries over. */
  open(name: string): void {
    this.delete(name);
    this.get(name);
  }

  /** Forgets a connection and, for a relay, its children's. */
  delete(name: string): void {
    this.byName.delete(name);
    for (const other of [...this.byName.keys()]) if (other.startsWith(`${name}>`)) this.byName.delete(other);
  }

  get size(): number {
    return this.byName.size;
  }

  static isRelayed(name: string): boolean {
    return name.includes('>');
  }

  /** Sessions the host has opened for `relay`'s children. */
  children(relay: string): number {
    let n = 0;
    for (const name of this.byName.keys()) if (name.startsWith(`${relay}>`)) n++;
    return n;
  }

  /** Welcomed connections straight to the host, other than `except`. */
  direct(except?: string): [string, Connection][] {
    return [...this.byName].filter(([n, c]) => n !== except && !Connections.isRelayed(n) && c.greeted === true);
  }

  /**
   * Direct connections that have not proved a key `ms` after the host first heard of them
   * (silent, refused, or sent to relays and lingering).
   */
  strangers(now: number, ms: number): string[] {
    return [...this.byName].filter(([n, c]) => !Connections.isRelayed(n) && c.key === undefined && now - c.openedAt >= ms).map(([n]) => n);
  }

  /** Up to MAX_RELAYS direct connections that `mayRelay` accepts, those with the fewest children first. */
  relaysFor(except: string, mayRelay: (c: Connection) => boolean): string[] {
    return this.direct(except)
      .filter(([, c]) => mayRelay(c))
      .map(([n]) => n)
      .sort((a, b) => this.children(a) - this.children(b))
      .slice(0, MAX_RELAYS);
  }
}
