import { describe, expect, it } from 'vitest';
import type { Link, LinkHandlers } from '../../src/net/link';
import { HostLink } from '../../src/volunteer/host-link';
import { newIdentity } from '../helpers/signing';

describe('HostLink', () => {
  it('drops a link whose hello was refused, so the next open connects anew instead of speaking ungreeted', async () => {
    let connects = 0;
    let closes = 0;
    // A host that refuses every hello, as one does a banned key or a relay's ninth child.
    const connect = async (handlers: LinkHandlers): Promise<Link> => {
      connects++;
      let open = true;
      return {
        peer: 'host',
        send: () => setTimeout(() => open && handlers.onText(JSON.stringify({ type: 'error', code: 'banned', message: 'go away' })), 0),
        close: () => {
          if (!open) return;
          open = false;
          closes++;
          handlers.onClose();
        },
      };
    };
    const link = new HostLink({ signalUrl: 'ws://unused/', hostId: 'h', identity: await newIdentity(), connect }, () => undefined);
    const signal = new AbortController().signal;
    await expect(link.open(signal)).rejects.toMatchObject({ code: 'banned' });
    expect(link.connected).toBe(false);
    expect(closes).toBe(1);
    await expect(link.open(signal)).rejects.toMatchObject({ code: 'banned' });
    expect(connects).toBe(2);
  });
});
