/**
 * The parent side of the store benchmark and the durability test: forks host-process.ts and
 * drives it with volunteers that speak the real protocol (hello, key-proof, request-unit,
 * authenticated result, openings) over the IPC channel. Their results are computed once, before any
 * timing, so the volunteers cost the parent little and never wait for a computation; what the
 * host sees is a stream of honest volunteers answering at once.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildMerkleTreeOfChunks, merklePath, type MerkleTree } from '../../src/hash/merkle';
import type { Hasher } from '../../src/hash/sha256-cpu';
import { jobUnit } from '../../src/host/job';
import { sha256BatchCpu } from '../../src/kernels/sha256-batch/batch';
import { seededBatch } from '../../src/kernels/sha256-batch/inputs';
import { unitInputDigest } from '../../src/proof/commitment';
import { newSessionKeyPair, type ResultKey } from '../../src/proof/result-key';
import type { Identity } from '../../src/proof/identity';
import { signKeyProof } from '../../src/proof/key-proof';
import { PROTOCOL_VERSION, encodeMessage, unitLeaves, type HostMessage, type Receipt, type VolunteerMessage, type WorkUnit } from '../../src/protocol';
import { toHex } from '../../src/hex';
import { parseHostMessage } from '../../src/validate';
import { benchJob, type FromHost, type HostProcessStats, type ToHost } from './wire';

const HOST_PROCESS = fileURLToPath(new URL('./host-process.ts', import.meta.url));

/** The host process went away (killed, or exited) with this request unanswered. */
export class HostGone extends Error {}

export interface HostProcessOptions {
  readonly db: string;
  readonly units: number;
  readonly groupCommit: boolean;
  readonly leaseMs?: number;
  /** Extra node flags for the child (`--cpu-prof`, `--cpu-prof-dir=…`). */
  readonly execArgv?: readonly string[];
}

/** A forked host process and the requests it has not answered yet. */
export class HostProcess {
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: (texts: readonly string[]) => void; reject: (err: Error) => void }>();
  private statsWaiting: ((s: HostProcessStats) => void)[] = [];
  private gone?: Error;
  readonly exited: Promise<NodeJS.Signals | number | null>;

  private constructor(
    readonly child: ChildProcess,
    readonly publicKey: string,
  ) {
    this.exited = new Promise((done) => child.once('exit', (code, signal) => done(signal ?? code)));
    child.on('message', (raw) => {
      const m = raw as FromHost;
      switch (m.type) {
        case 'replies': {
          const w = this.waiting.get(m.seq);
          this.waiting.delete(m.seq);
          w?.resolve(m.texts);
          return;
        }
        case 'stats':
          this.statsWaiting.shift()?.(m.stats);
          return;
        case 'ready':
          return;
      }
    });
    child.once('exit', (code, signal) => {
      this.gone = new HostGone(`the host process ended (${signal ?? `exit ${code}`})`);
      for (const w of this.waiting.values()) w.reject(this.gone);
      this.waiting.clear();
    });
  }

  static async start(o: HostProcessOptions): Promise<HostProcess> {
    const args = ['--db', o.db, '--units', String(o.units), '--group-commit', o.groupCommit ? 'on' : 'off'];
    if (o.leaseMs !== undefined) args.push('--lease-ms', String(o.leaseMs));
    // 'advanced' (structured clone): the replies' JSON texts are not escaped into a second JSON text on the way.
    const child = fork(HOST_PROCESS, args, {
      execArgv: ['--import', 'tsx', ...(o.execArgv ?? [])],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    const publicKey = await new Promise<string>((resolve, reject) => {
      child.once('exit', (code, signal) => reject(new Error(`the host process ended before it served (${signal ?? `exit ${code}`})`)));
      child.on('message', (raw) => {
        const m = raw as FromHost;
        if (m.type === 'ready') resolve(m.publicKey);
      });
    });
    return new HostProcess(child, publicKey);
  }

  /** Sends `message` as connection `name`; resolves to the host's replies (sent once durable). */
  say(name: string, message: VolunteerMessage): Promise<HostMessage[]> {
    if (this.gone) return Promise.reject(this.gone);
    const seq = ++this.seq;
    return new Promise<readonly string[]>((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      // With a callback a send to a host killed a moment ago fails this call, not the process.
      this.child.send({ type: 'message', seq, name, text: encodeMessage(message) } satisfies ToHost, (err) => {
        if (!err) return;
        this.waiting.delete(seq);
        reject(this.gone ?? new HostGone(`the host process closed its channel (${err.message})`));
      });
    }).then((texts) => texts.map((t) => parseHostMessage(t)));
  }

  stats(): Promise<HostProcessStats> {
    return new Promise((resolve, reject) => {
      this.statsWaiting.push(resolve);
      this.child.send({ type: 'stats' } satisfies ToHost, (err) => {
        if (!err) return;
        this.statsWaiting.splice(this.statsWaiting.indexOf(resolve), 1);
        reject(err);
      });
    });
  }

  /** Closes the host cleanly (its store closed), and waits for it to exit. */
  async stop(): Promise<void> {
    if (!this.gone) this.child.send({ type: 'stop' } satisfies ToHost);
    await this.exited;
  }

  kill(): Promise<unknown> {
    this.child.kill('SIGKILL');
    return this.exited;
  }
}

/** An honest result, ready to send: the unit's leaves, their tree and its root. */
interface Computed {
  readonly unit: WorkUnit;
  readonly leaves: Uint8Array;
  readonly bytes: number;
  readonly tree: MerkleTree;
  readonly root: string;
}

/** Every unit of the bench job computed once (the CPU reference), by unit id. */
export function computeAll(units: number, hash: Hasher): Map<string, Computed> {
  const spec = benchJob(units);
  const all = new Map<string, Computed>();
  for (let i = 0; i < units; i++) {
    const unit = jobUnit(spec, i);
    if (unit.kernel !== 'sha256-batch') throw new Error('the bench job is sha256-batch');
    const leaves = sha256BatchCpu(seededBatch(unit.seed, unit.count, unit.messageLength), hash);
    const { bytes } = unitLeaves(unit);
    const tree = buildMerkleTreeOfChunks(leaves, bytes, hash);
    all.set(unit.unitId, { unit, leaves, bytes, tree, root: toHex(tree.root) });
  }
  return all;
}

/** What the host announced to the volunteers: the parent's record, to hold the store to after a kill. */
export interface Announced {
  /** unitId → volunteer ids (identityOf their keys) the host said it leased to. */
  readonly leases: Map<string, Set<string>>;
  /** Accepted verdicts' receipts, by receiptId. */
  readonly receipts: Map<string, Receipt>;
  /** Called as each lease or receipt is recorded (the durability test kills the host right then). */
  onAnnounce?: () => void;
}

export const newAnnounced = (): Announced => ({ leases: new Map(), receipts: new Map() });

/** One honest volunteer: greets, then leases, answers and is judged until the host has no more work. */
export class BenchVolunteer {
  private ids = 0;
  /** This connection's result key, agreed in greet(). */
  private resultKey?: ResultKey;

  constructor(
    readonly name: string,
    readonly identity: Identity,
    private readonly computed: Map<string, Computed>,
    private readonly announced: Announced,
  ) {}

  /** Greets `host`; then works until the job is done or the host goes (HostGone). */
  async greet(host: HostProcess): Promise<void> {
    const [welcome] = await host.say(this.name, {
      type: 'hello',
      id: ++this.ids,
      protocol: PROTOCOL_VERSION,
      client: 'store-bench',
      publicKey: this.identity.publicKey,
    });
    if (welcome?.type !== 'welcome') throw new Error(`${this.name}: expected a welcome, got ${JSON.stringify(welcome)}`);
    const mine = await newSessionKeyPair();
    const { hostId, publicKey: hostPublicKey, nonce, session: hostSession } = welcome;
    const signature = await signKeyProof(this.identity, { hostId, hostPublicKey, nonce, hostSession, session: mine.publicKey });
    const replies = await host.say(this.name, { type: 'key-proof', signature, session: mine.publicKey });
    if (replies.length > 0) throw new Error(`${this.name}: key-proof answered with ${JSON.stringify(replies)}`);
    this.resultKey = await mine.agree(hostSession, nonce);
  }

  async work(host: HostProcess): Promise<void> {
    for (;;) {
      const [reply] = await host.say(this.name, { type: 'request-unit', id: ++this.ids, holding: [] });
      if (reply?.type === 'no-work') {
        if (reply.jobDone) return;
        await new Promise((r) => setTimeout(r, Math.min(reply.retryMs, 20)));
        continue;
      }
      if (reply?.type !== 'unit') throw new Error(`${this.name}: expected a unit, got ${JSON.stringify(reply)}`);
      const done = this.computed.get(reply.unit.unitId);
      if (!done) throw new Error(`${this.name}: leased ${reply.unit.unitId}, which the bench job does not have`);
      const leased = this.announced.leases.get(done.unit.unitId) ?? new Set<string>();
      this.announced.leases.set(done.unit.unitId, leased.add(this.identity.id));
      this.announced.onAnnounce?.();
      const u = done.unit;
      if (!this.resultKey) throw new Error(`${this.name}: work before greet`);
      const mac = this.resultKey.mac({ jobId: u.jobId, unitId: u.unitId, kernel: u.kernel, inputDigest: unitInputDigest(u), root: done.root });
      const [challenge] = await host.say(this.name, { type: 'result', unitId: u.unitId, root: done.root, backend: 'cpu', mac });
      if (challenge?.type !== 'challenge') throw new Error(`${this.name}: expected a challenge for ${u.unitId}, got ${JSON.stringify(challenge)}`);
      const openings = challenge.indices.map((index) => ({
        index,
        leaf: toHex(done.leaves.subarray(index * done.bytes, (index + 1) * done.bytes)),
        path: merklePath(done.tree, index).map(toHex),
      }));
      const [verdict] = await host.say(this.name, { type: 'openings', unitId: u.unitId, openings });
      if (verdict?.type !== 'verdict' || verdict.verdict !== 'accepted' || !verdict.receipt) {
        throw new Error(`${this.name}: expected ${u.unitId} accepted with a receipt, got ${JSON.stringify(verdict)}`);
      }
      this.announced.receipts.set(verdict.receipt.receiptId, verdict.receipt);
      this.announced.onAnnounce?.();
    }
  }
}
