import type { HostCore } from '../../src/host/host-core';
import { stepBytes } from '../../src/proof/step-mac';
import { unitInputDigest } from '../../src/proof/commitment';
import { newSessionKeyPair, type ResultKey } from '../../src/proof/result-key';
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

/** The result key each identity agreed on the connection it greeted last (greetAs, keyProofFor): resultOf and macFor use it. */
const resultKeys = new WeakMap<Identity, ResultKey>();

/**
 * hello + key-proof as `identity` over connection `name`. Returns the welcome (or whatever
 * else the host answered hello with, and then sends no proof). The connection's result key is
 * kept for `identity`: its results (resultOf, macFor) are authenticated for this connection,
 * the last it greeted.
 */
export async function greetAs(core: HostCore, name: string, identity: Identity, extra: { relay?: boolean } = {}): Promise<HostMessage> {
  const [welcome] = await sayTo(core, name, { type: 'hello', id: 1, protocol: PROTOCOL_VERSION, client: 't', publicKey: identity.publicKey, ...extra });
  if (welcome?.type !== 'welcome') return welcome!;
  const replies = await sayTo(core, name, await keyProofFor(identity, welcome));
  if (replies.length > 0) throw new Error(`key-proof answered with ${JSON.stringify(replies)}`);
  return welcome;
}

/**
 * `identity`'s key-proof answering `welcome` (what HostLink sends). The result key it agrees is
 * kept for `identity`: its results (resultOf, macFor) are authenticated for this connection.
 */
export async function keyProofFor(identity: Identity, welcome: Extract<HostMessage, { type: 'welcome' }>): Promise<VolunteerMessage> {
  const mine = await newSessionKeyPair();
  const { hostId, publicKey: hostPublicKey, nonce, session: hostSession } = welcome;
  const signature = await signKeyProof(identity, { hostId, hostPublicKey, nonce, hostSession, session: mine.publicKey });
  resultKeys.set(identity, await mine.agree(hostSession, nonce));
  return { type: 'key-proof', signature, session: mine.publicKey };
}

/** The MAC of `root` as unit `unit`'s result, under the result key `identity` agreed on the connection it greeted last. */
export function macFor(identity: Identity, unit: WorkUnit, root: string): string {
  const key = resultKeys.get(identity);
  if (!key) throw new Error('macFor: this identity has greeted no host (greetAs)');
  return key.mac({ jobId: unit.jobId, unitId: unit.unitId, kernel: unit.kernel, inputDigest: unitInputDigest(unit), root });
}

/** `message` (openings or rows) with its MAC under the result key `identity` agreed on the connection it greeted last. */
export function withStepMac<M extends Extract<VolunteerMessage, { type: 'openings' | 'rows' }>>(identity: Identity, message: M): M {
  const key = resultKeys.get(identity);
  if (!key) throw new Error('withStepMac: this identity has greeted no host (greetAs)');
  return { ...message, mac: key.macBytes(stepBytes(message)) };
}

/** A result message, authenticated for the connection `identity` greeted last. */
export async function resultOf(
  identity: Identity,
  unit: WorkUnit,
  root: string,
  extra: { shares?: number[]; backend?: Backend; adapter?: string } = {},
): Promise<VolunteerMessage> {
  return { type: 'result', unitId: unit.unitId, root, backend: 'cpu', mac: macFor(identity, unit, root), ...extra };
}

/** A valid P-256 point (the curve's generator): a scripted host's half of the result key, which it never checks. */
export const SCRIPTED_HOST_SESSION =
  '046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c2964fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5';

/** A host's welcome to hello `id`, signed receipts under `publicKey` (what a scripted host in a test answers). */
export function welcomeFor(id: number, publicKey: string): HostMessage {
  return {
    type: 'welcome',
    id,
    protocol: PROTOCOL_VERSION,
    hostId: 'h',
    leaseMs: 60_000,
    heartbeatMs: 15_000,
    publicKey,
    nonce: 'ab'.repeat(32),
    session: SCRIPTED_HOST_SESSION,
  };
}
