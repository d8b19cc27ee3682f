import type { HostCore } from '../../src/host/host-core';
import type { ObserverHost } from '../../src/host/observer';
import { routeConnection } from '../../src/host/route-connection';
import type { Link, LinkHandlers } from '../../src/net/link';

/**
 * Connections to a host without a network, routed as peer-host.ts routes them (first message
 * `observe` to the ObserverHost, anything else to the core): each side's texts arrive on a
 * later task, as over a data channel, and closing either side tells both.
 */
export function memoryHostConnector(core: HostCore, observers: ObserverHost) {
  let n = 0;
  const links = new Map<string, { host: Link; peer: Link }>();
  const connect = async (handlers: LinkHandlers): Promise<Link> => {
    const name = `peer-${++n}`;
    let open = true;
    const closeBoth = () => {
      if (!open) return;
      open = false;
      links.delete(name);
      route.onClose();
      handlers.onClose();
    };
    const host: Link = {
      peer: name,
      send: (text) => void setTimeout(() => open && handlers.onText(text), 0),
      sendData: (text, body) => void setTimeout(() => open && handlers.onText(text, body), 0),
      close: closeBoth,
    };
    const route = routeConnection({ core, observers, name, link: () => host });
    const peer: Link = {
      peer: 'host',
      send: (text) => void setTimeout(() => open && route.onText(text), 0),
      sendData: (text, body) => void setTimeout(() => open && route.onText(text, body), 0),
      close: closeBoth,
    };
    links.set(name, { host, peer });
    return peer;
  };
  return { connect, links };
}

/** A raw connection for protocol tests: what it sent back, parsed as JSON, and whether it is closed. */
export async function rawConnection(connector: ReturnType<typeof memoryHostConnector>) {
  const received: Record<string, unknown>[] = [];
  const state = { closed: false };
  const link = await connector.connect({
    onText: (t) => received.push(JSON.parse(t as string) as Record<string, unknown>),
    onClose: () => (state.closed = true),
  });
  return { link, received, state, say: (m: object | string) => link.send(typeof m === 'string' ? m : JSON.stringify(m)) };
}
