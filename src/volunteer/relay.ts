import type { DataConnection } from 'peerjs';
import { encodeMessage, MAX_MESSAGE_CHARS, MAX_RELAY_CHILDREN } from '../protocol';
import { linkFromConnection, type Link } from '../net/link';

/**
 * The relay side of a volunteer: when the host is at its connection cap it sends newcomers to
 * volunteers that offered to relay. A relay passes each child's messages to the host wrapped
 * as `relay` and hands `relayed` replies back; it keeps no leases, verifies nothing and earns
 * nothing for its children, so losing a relay loses nothing: its children reconnect.
 */
export class RelayServer {
  private readonly children = new Map<string, Link>();
  private upstream?: Link;
  private next = 1;

  constructor(private readonly maxChildren = MAX_RELAY_CHILDREN) {}

  get size(): number {
    return this.children.size;
  }

  /** The direct link to the host to relay through; undefined drops every child. */
  attach(upstream: Link | undefined): void {
    this.upstream = upstream;
    if (!upstream) for (const child of [...this.children.values()]) child.close();
  }

  /** A peer opened a connection to us: serve it if we can, else close it so it looks elsewhere. */
  accept(conn: DataConnection): void {
    const upstream = this.upstream;
    if (!upstream || this.children.size >= this.maxChildren) {
      conn.on('open', () => conn.close());
      return;
    }
    const child = `c${this.next++}`;
    // Listen at once: a child may speak the moment its side opens, before ours reports it.
    const link = linkFromConnection(conn, {
      onText: (text) => {
        // Only what the protocol allows goes up; the host validates the rest.
        if (typeof text === 'string' && text.length <= MAX_MESSAGE_CHARS && this.upstream === upstream) {
          upstream.send(encodeMessage({ type: 'relay', child, text }));
        }
      },
      onClose: () => {
        this.children.delete(child);
        if (this.upstream === upstream) upstream.send(encodeMessage({ type: 'child-left', child }));
      },
    });
    this.children.set(child, link);
  }

  /** A reply from the host for one of our children. */
  deliver(child: string, text: string): void {
    this.children.get(child)?.send(text);
  }
}
