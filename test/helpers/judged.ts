import { expect } from 'vitest';
import { toHex } from '../../src/hex';
import type { Hasher } from '../../src/hash/sha256-cpu';
import { merklePath } from '../../src/hash/merkle';
import type { HostCore } from '../../src/host/host-core';
import { referenceLeaves } from '../../src/host/recompute';
import type { Identity } from '../../src/proof/identity';
import { unitLeaves, type Backend, type ChallengedUnit, type HostMessage, type WorkUnit } from '../../src/protocol';
import { rowsMessages, sentResult } from '../../src/volunteer/results';
import { greetAs, newIdentity, resultOf, sayTo } from './signing';

/** Volunteers driven message by message against a HostCore, for the verification tests. */

/** A greeted volunteer on connection `name`: its key, a `say`, and a `lease` that expects a unit. */
export async function volunteer(core: HostCore, name: string, identity?: Identity) {
  const me = identity ?? (await newIdentity());
  expect(await greetAs(core, name, me)).toMatchObject({ type: 'welcome' });
  const say = (m: Parameters<typeof sayTo>[2]) => sayTo(core, name, m);
  const lease = async (holding: string[] = []): Promise<WorkUnit> => {
    const [reply] = await say({ type: 'request-unit', id: 1, holding });
    if (reply?.type !== 'unit') throw new Error(`expected a unit, got ${JSON.stringify(reply)}`);
    return reply.unit;
  };
  return { me, say, lease };
}

export type TestVolunteer = Awaited<ReturnType<typeof volunteer>>;

/** The rows of C (matrices) or digests (hashing) an honest volunteer computes. */
export function honest(unit: WorkUnit, hash: Hasher): Uint8Array {
  if (unit.kernel === 'sha256d-pow') throw new Error('no fixed leaves');
  return referenceLeaves(unit, hash);
}

export const leafBytes = (unit: WorkUnit) => unitLeaves(unit as ChallengedUnit).bytes;

/** An honest result of `unit` from `me` (authenticated for the connection it greeted last): its leaves (`c`), the committed tree (`sent`) and the result message. */
export async function honestResult(me: Identity, unit: WorkUnit, hash: Hasher) {
  const c = honest(unit, hash);
  const sent = sentResult(unit, { leaves: c, leafBytes: leafBytes(unit), backend: 'cpu' }, 1, hash);
  return { c, sent, result: await resultOf(me, unit, sent.root) };
}

/**
 * Commits to `leaves` (authenticated for `v`'s connection) and answers every check the host asks for (a challenge,
 * then perhaps `send-rows` for a collecting job, or `send-rows` alone) until it answers
 * otherwise; returns that answer (usually the verdict). `madeBy`: the backend and adapter the result reports (default cpu, no adapter).
 */
export async function submit(
  v: TestVolunteer,
  unit: WorkUnit,
  leaves: Uint8Array,
  hash: Hasher,
  madeBy: { backend?: Backend; adapter?: string } = {},
): Promise<HostMessage> {
  const sent = sentResult(unit, { leaves, leafBytes: leafBytes(unit), backend: 'cpu' }, 1, hash);
  let [reply] = await v.say(await resultOf(v.me, unit, sent.root, madeBy));
  for (;;) {
    if (reply?.type === 'send-rows') {
      let last: HostMessage[] = [];
      for (const m of rowsMessages(unit.unitId, sent)) last = await v.say(m);
      reply = last[0];
    } else if (reply?.type === 'challenge') {
      const openings = openingsOf(reply.indices, leaves, leafBytes(unit), sent.tree);
      [reply] = await v.say({ type: 'openings', unitId: unit.unitId, openings });
    } else return reply!;
  }
}

/** The openings an honest volunteer sends for challenged `indices`: each leaf and its audit path. */
export function openingsOf(indices: readonly number[], leaves: Uint8Array, bytes: number, tree: Parameters<typeof merklePath>[0]) {
  return indices.map((index) => ({ index, leaf: toHex(leaves.subarray(index * bytes, (index + 1) * bytes)), path: merklePath(tree, index).map(toHex) }));
}

export const reasonOf = (m: HostMessage) => (m.type === 'verdict' ? `${m.verdict}: ${m.reason}` : JSON.stringify(m));
