import type { Link } from '../net/link';
import { sendHostMessage } from '../net/send-host-message';
import type { HostCore } from './host-core';
import { isObserverOpening, type ObserverHost } from './observer';

export interface RouteOptions {
  readonly core: HostCore;
  /** Read-only observers, when the host takes them. */
  readonly observers?: ObserverHost;
  /** The connection's name (its peer id). */
  readonly name: string;
  /** The connection's link (made after the route, hence a function). */
  readonly link: () => Link;
  readonly log?: (line: string) => void;
}

export interface Route {
  onText(text: unknown, body?: Uint8Array): void;
  onClose(): void;
}

/**
 * Where one incoming connection's messages go: to the HostCore (a volunteer, or a relay), or,
 * when its first message is `observe` and the host takes observers, to the ObserverHost for the
 * connection's whole life. The two never mix: an observer's later `hello` is no volunteer's, and
 * a volunteer's later `observe` is refused by the core as an unknown message.
 */
export function routeConnection(options: RouteOptions): Route {
  const { core, observers, name, log } = options;
  void core.connect(name);
  let observer = false;
  let first = true;
  return {
    onText: (text, body) => {
      if (first) {
        first = false;
        if (observers && isObserverOpening(text)) {
          observer = true;
          // The core counted the connection as a volunteer's to be; it is not.
          void core.disconnect(name);
          observers.open(name, options.link());
          log?.(`observer ${name} connected`);
        }
      }
      if (observer) return void observers?.handle(name, text, body);
      void core.handle(name, text, body).then((replies) => {
        const link = options.link();
        for (const reply of replies) sendHostMessage(link, reply);
      });
    },
    onClose: () => {
      if (observer) {
        observers?.close(name);
        log?.(`observer ${name} left`);
        return;
      }
      void core.disconnect(name);
      log?.(`volunteer ${name} left`);
    },
  };
}
