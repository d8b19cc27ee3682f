import type { HostCore } from '../../src/host/host-core';
import { signCommitment, unitInputDigest } from '../../src/proof/commitment';
import { createKeyPair, identityFromKeyPair, type Identity } from '../../src/proof/identity';
import { signKeyProof } from '../../src/proof/key-proof';
import { PROTOCOL_VERSION, encodeHostMessage, encodeMessage, type Backend, type HostMessage, type VolunteerMessage, type WorkUnit } from '../../src/protocol';
import { parseHostMessage } from '../../src/validate';

/** A fresh in-memory identity (host or volunteer). */
export async function newIdentity(): Promise<Identity> {
  return identityFromKeyPair(await createKeyPair());
}

/** A host message as the volunteer gets it: sent as the wire carries it (a chunk's bytes as a data message's body) and parsed. */
export function overTheWire(message: HostMessage): HostMessage {
  const { text, body } = encodeHostMessage(message);
  return parseHostMessage(text, body);
}

/** Sends `m` as connection `name`; checks every reply parses as a host message, and that an answer to a request names it. */
export async function sayTo(core: HostCore, name: string, m: VolunteerMessage | string): Promise<HostMessage[]> {
  const replies = (await core.handle(name, typeof m === 'string' ? m : encodeMessage(m))).map(overTheWire);
  const asked = typeof m !== 'string' && 'id' in m ? m.id : undefined;
  for (const r of replies) {
    const answer = r.type === 'welcome' || r.type === 'redirect' || r.type === 'unit' || r.type === 'no-work' || r.type === 'chunk';
    if (answer && r.id !== asked) throw new Error(`${r.type} carries id ${r.id}, answering ${typeof m === 'string' ? 'a raw text' : m.type} with id ${asked}`);
  }
  return replies;
}

/**
 * hello + key-proof as `identity` over connection `name`. Returns the welcome (or whatever
 * else the host answered hello with, and then sends no proof).
 */
export async function greetAs(core: HostCore, name: string, identity: Identity, extra: { relay?: boolean } = {}): Promise<HostMessage> {
  const [welcome] = await sayTo(core, name, { type: 'hello', id: 1, protocol: PROTOCOL_VERSION, client: 't', publicKey: identity.publicKey, ...extra });
  if (welcome?.type !== 'welcome') return welcome!;
  const signature = await signKeyProof(identity, { hostId: welcome.hostId, hostPublicKey: welcome.publicKey, nonce: welcome.nonce });
  const replies = await sayTo(core, name, { type: 'key-proof', signature });
  if (replies.length > 0) throw new Error(`key-proof answered with ${JSON.stringify(replies)}`);
  return welcome;
}

/** `identity`'s commitment signature for `root` as unit `unit`'s result. */
export function signFor(identity: Identity, unit: WorkUnit, root: string): Promise<string> {
  return signCommitment(identity, { jobId: unit.jobId, unitId: unit.unitId, kernel: unit.kernel, inputDigest: unitInputDigest(unit), root });
}

/** A signed result message. */
export async function resultOf(
  identity: Identity,
  unit: WorkUnit,
  root: string,
  extra: { shares?: number[]; backend?: Backend; adapter?: string } = {},
): Promise<VolunteerMessage> {
  return { type: 'result', unitId: unit.unitId, root, backend: 'cpu', signature: await signFor(identity, unit, root), ...extra };
}

/** A host's welcome to hello `id`, signed receipts under `publicKey` (what a scripted host in a test answers). */
export function welcomeFor(id: number, publicKey: string): HostMessage {
  return { type: 'welcome', id, protocol: PROTOCOL_VERSION, hostId: 'h', leaseMs: 60_000, heartbeatMs: 15_000, publicKey, nonce: 'ab'.repeat(32) };
}
