import { MAX_RELAYS } from '../protocol';

export interface Connection {
  /** identityOf(publicKey), set once the key-proof verifies: until then the connection is nobody. */
  volunteerId?: string;
  publicKey?: string;
  /** The key hello named and the nonce its welcome carried, awaiting the key-proof. */
  claimed?: { readonly publicKey: string; readonly nonce: string };
  relay?: boolean;
}

/**
 * The host's open connections, by name. A volunteer connected straight to the host is named
 * by its link; one connected through a relay is `<relay>><child>`. Knows which connections
 * count against the host's cap and which relays can take newcomers.
 */
export class Connections {
  private readonly byName = new Map<string, Connection>();

  get(name: string): Connection {
    let c = this.byName.get(name);
    if (!c) {
      c = {};
      this.byName.set(name, c);
    }
    return c;
  }

  find(name: string): Connection | undefined {
    return this.byName.get(name);
  }

  /** Forgets a connection and, for a relay, its children's. */
  delete(name: string): void {
    this.byName.delete(name);
    for (const other of [...this.byName.keys()]) if (other.startsWith(`${name}>`)) this.byName.delete(other);
  }

  static isRelayed(name: string): boolean {
    return name.includes('>');
  }

  /** Greeted connections straight to the host, other than `except`. */
  direct(except?: string): [string, Connection][] {
    return [...this.byName].filter(([n, c]) => n !== except && !Connections.isRelayed(n) && c.volunteerId !== undefined);
  }

  /**
   * Up to MAX_RELAYS direct connections that offered to relay and whose volunteer `proven`
   * accepts, those with the fewest children first.
   */
  relaysFor(except: string, proven: (volunteerId: string) => boolean): string[] {
    const children = (n: string) => [...this.byName.keys()].filter((c) => c.startsWith(`${n}>`)).length;
    return this.direct(except)
      .filter(([, c]) => c.relay && proven(c.volunteerId!))
      .map(([n]) => n)
      .sort((a, b) => children(a) - children(b))
      .slice(0, MAX_RELAYS);
  }
}
