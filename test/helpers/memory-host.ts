import type { HostCore } from '../../src/host/host-core';
import type { Link, LinkHandlers } from '../../src/net/link';
import { encodeHostMessage } from '../../src/protocol';

/**
 * Connects volunteers to a HostCore without a network: each link delivers messages on a later
 * task, as a data channel would, and closing it tells both sides.
 */
export function memoryConnector(host: HostCore | (() => HostCore)) {
  // A function lets a test swap the host, as a restarted host process would be.
  const core = () => (typeof host === 'function' ? host() : host);
  let n = 0;
  const links = new Map<string, Link>();
  /** Links whose messages vanish without the link closing, like a host that was killed. */
  const muted = new Set<Link>();
  // The signal is the session's connect signal; an in-memory link opens at once, so there is nothing to abort.
  const connect = async (handlers: LinkHandlers, _signal?: AbortSignal): Promise<Link> => {
    const name = `mem-${++n}`;
    let open = true;
    void core().connect(name);
    const deliver = (text: string, body?: Uint8Array) => {
      if (!open || muted.has(link)) return;
      setTimeout(() => {
        if (!open) return;
        void core()
          .handle(name, text, body)
          .then((replies) => {
            for (const reply of replies) {
              // As the wire carries it: a chunk's bytes beside its text (net/send-host-message.ts).
              const wire = encodeHostMessage(reply);
              setTimeout(() => open && (wire.body === undefined ? handlers.onText(wire.text) : handlers.onText(wire.text, wire.body)), 0);
            }
          });
      }, 0);
    };
    const link: Link = {
      peer: 'host',
      send: (text) => deliver(text),
      sendData: (text, body) => deliver(text, body),
      close() {
        if (!open) return;
        open = false;
        void core().disconnect(name);
        handlers.onClose();
      },
    };
    links.set(name, link);
    return link;
  };
  return { connect, links, mute: (link: Link) => muted.add(link) };
}
