import type { DataConnection } from 'peerjs';
import { encodeMessage, MAX_MESSAGE_CHARS, MAX_RELAY_CHARS, MAX_RELAY_CHILDREN } from '../protocol';
import { linkFromConnection, type Link } from '../net/link';

/**
 * The relay side of a volunteer: when the host is at its connection cap it sends newcomers to
 * volunteers that offered to relay. A relay passes each child's messages to the host wrapped
 * as `relay` and hands `relayed` replies back (a chunk as a data message, its bytes as they
 * came: the child checks them against the dataset's root, so a relay cannot slip it others);
 * it keeps no leases, verifies nothing and earns nothing for its children, so losing a relay
 * loses nothing: its children reconnect.
 */
export interface RelayOptions {
  readonly maxChildren?: number;
  /** A child that says nothing this long after it connects is closed (default 30 s). */
  readonly firstWordMs?: number;
  /** A child silent this long is closed (default 5 min; a volunteer speaks every few seconds). */
  readonly idleMs?: number;
  /** An offer refused (full, or no host to relay to) that never opens is closed after this (default 30 s). */
  readonly refusedOpenMs?: number;
  readonly clock?: () => number;
}

/** How often silent children are looked for. */
const SWEEP_MS = 1000;

export class RelayServer {
  private readonly children = new Map<string, { readonly link: Link; readonly since: number; heard?: number }>();
  private upstream?: Link;
  private next = 1;
  private sweeper?: ReturnType<typeof setInterval>;
  private readonly maxChildren: number;
  private readonly clock: () => number;

  constructor(private readonly options: RelayOptions = {}) {
    this.maxChildren = options.maxChildren ?? MAX_RELAY_CHILDREN;
    this.clock = options.clock ?? Date.now;
  }

  get size(): number {
    return this.children.size;
  }

  /** The direct link to the host to relay through; undefined drops every child. */
  attach(upstream: Link | undefined): void {
    this.upstream = upstream;
    if (!upstream) for (const child of [...this.children.values()]) child.link.close();
  }

  /**
   * Closes children that never spoke or fell silent: a place held by a peer that says nothing is
   * a place an honest newcomer cannot have. Called every second while there are children.
   */
  sweep(): void {
    const now = this.clock();
    for (const child of [...this.children.values()]) {
      const silentFor = now - (child.heard ?? child.since);
      if (silentFor >= (child.heard === undefined ? (this.options.firstWordMs ?? 30_000) : (this.options.idleMs ?? 300_000))) child.link.close();
    }
    if (this.children.size === 0 && this.sweeper !== undefined) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  /** A peer opened a connection to us: serve it if we can, else close it so it looks elsewhere. */
  accept(conn: DataConnection): void {
    const upstream = this.upstream;
    if (!upstream || this.children.size >= this.maxChildren) {
      // Closed once open; one that never opens (its ICE never completes) is closed anyway, so a flood of offers holds nothing.
      const giveUp = setTimeout(() => conn.close(), this.options.refusedOpenMs ?? 30_000);
      conn.on('open', () => {
        clearTimeout(giveUp);
        conn.close();
      });
      conn.on('close', () => clearTimeout(giveUp));
      return;
    }
    const child = `c${this.next++}`;
    // Listen at once: a child may speak the moment its side opens, before ours reports it.
    const link = linkFromConnection(conn, {
      onText: (text, body) => {
        // A volunteer sends texts only: a data message from a child is nothing to pass on (nor a sign of life).
        if (body !== undefined) return console.warn(`tabgrid: relay child ${child} sent a data message; dropping it`);
        const entry = this.children.get(child);
        if (entry) entry.heard = this.clock();
        // Only what the protocol allows goes up; the host validates the rest.
        if (typeof text !== 'string' || text.length > MAX_MESSAGE_CHARS || this.upstream !== upstream) return;
        const wrapped = encodeMessage({ type: 'relay', child, text });
        // Escaping grows a text (a control character sixfold): one the host would refuse as too long would fail our own
        // link's pending requests. No protocol message escapes that much; the child goes.
        if (wrapped.length > MAX_RELAY_CHARS) {
          console.warn(`tabgrid: relay child ${child} sent a text of ${wrapped.length} characters once wrapped; closing it`);
          return link.close();
        }
        upstream.send(wrapped);
      },
      onClose: () => {
        this.children.delete(child);
        if (this.upstream === upstream) upstream.send(encodeMessage({ type: 'child-left', child }));
      },
    });
    this.children.set(child, { link, since: this.clock() });
    this.sweeper ??= setInterval(() => this.sweep(), SWEEP_MS);
  }

  /** A reply from the host for one of our children: a text, or a data message (a chunk) when it came with a body. */
  deliver(child: string, text: string, body?: Uint8Array): void {
    const link = this.children.get(child)?.link;
    if (body === undefined) link?.send(text);
    else link?.sendData(text, body);
  }
}
