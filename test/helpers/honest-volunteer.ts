import { toHex } from '../../src/hex';
import { buildMerkleTreeOfChunks, merklePath } from '../../src/hash/merkle';
import type { Hasher } from '../../src/hash/sha256-cpu';
import type { HostCore } from '../../src/host/host-core';
import { sha256BatchCpu } from '../../src/kernels/sha256-batch/batch';
import { seededBatch } from '../../src/kernels/sha256-batch/inputs';
import type { Identity } from '../../src/proof/identity';
import { unitLeaves, type HostMessage, type WorkUnit } from '../../src/protocol';
import { greetAs, resultOf, sayTo } from './signing';

/**
 * A volunteer for sha256-batch jobs driven by hand against a HostCore (no network): leases a
 * unit, and answers the challenge with honest openings, or with a wrong root when asked to.
 */
export class HandVolunteer {
  private constructor(
    private readonly core: HostCore,
    readonly name: string,
    readonly identity: Identity,
    private readonly hash: Hasher,
  ) {}

  static async greet(core: HostCore, name: string, identity: Identity, hash: Hasher): Promise<HandVolunteer> {
    const welcome = await greetAs(core, name, identity);
    if (welcome.type !== 'welcome') throw new Error(`expected a welcome, got ${JSON.stringify(welcome)}`);
    return new HandVolunteer(core, name, identity, hash);
  }

  async lease(): Promise<WorkUnit> {
    const [reply] = await sayTo(this.core, this.name, { type: 'request-unit', id: 1, holding: [] });
    if (reply?.type !== 'unit') throw new Error(`expected a unit, got ${JSON.stringify(reply)}`);
    return reply.unit;
  }

  /** result → challenge → openings; `cheat` commits to a made-up root; `beforeOpenings` runs once challenged. Returns the verdict. */
  async submit(unit: WorkUnit, cheat = false, beforeOpenings?: () => Promise<void>): Promise<HostMessage> {
    if (unit.kernel !== 'sha256-batch') throw new Error('HandVolunteer computes sha256-batch units only');
    const leaves = sha256BatchCpu(seededBatch(unit.seed, unit.count, unit.messageLength), this.hash);
    const { bytes } = unitLeaves(unit);
    const tree = buildMerkleTreeOfChunks(leaves, bytes, this.hash);
    const root = cheat ? '07'.repeat(32) : toHex(tree.root);
    const [challenge] = await sayTo(this.core, this.name, await resultOf(this.identity, unit, root));
    if (challenge?.type !== 'challenge') return challenge!;
    await beforeOpenings?.();
    const openings = challenge.indices.map((index) => ({
      index,
      leaf: toHex(leaves.subarray(index * bytes, (index + 1) * bytes)),
      path: merklePath(tree, index).map(toHex),
    }));
    const [verdict] = await sayTo(this.core, this.name, { type: 'openings', unitId: unit.unitId, openings });
    return verdict!;
  }
}
