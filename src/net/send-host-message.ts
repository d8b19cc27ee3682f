import { encodeHostMessage, type HostMessage } from '../protocol';
import type { Link } from './link';

/** Sends a host's message: a chunk (or a relayed chunk) as a data message with its bytes as the body, anything else as a text. */
export function sendHostMessage(link: Link, message: HostMessage): void {
  const { text, body } = encodeHostMessage(message);
  if (body === undefined) link.send(text);
  else link.sendData(text, body);
}
