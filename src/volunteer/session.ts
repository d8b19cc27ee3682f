import { ErrorCode, TabgridError, isErrorCode, isTabgridError } from '../errors';
import { toHex } from '../hex';
import { buildMerkleTreeOfChunks, merklePath, type MerkleTree } from '../hash/merkle';
import { createCpuSha256, type Hasher } from '../hash/sha256-cpu';
import { DIGEST_BYTES } from '../kernels/sha256-batch';
import { connectToHost } from '../net/connect';
import type { Link, LinkHandlers } from '../net/link';
import {
  PROTOCOL_VERSION,
  Verdict,
  encodeMessage,
  parseHostMessage,
  type HostMessage,
  type VolunteerMessage,
} from '../protocol';
import type { UnitComputer } from '../worker/client';

export const VolunteerState = { Idle: 'idle', Running: 'running', Paused: 'paused', Error: 'error' } as const;
export type VolunteerState = (typeof VolunteerState)[keyof typeof VolunteerState];

export interface VolunteerSessionOptions {
  readonly signalUrl: string;
  readonly hostId: string;
  readonly computer: UnitComputer;
  readonly iceServers?: RTCIceServer[];
  /** How to reach the host; defaults to PeerJS (connectToHost). Tests pass in-memory links. */
  readonly connect?: (handlers: LinkHandlers, signal: AbortSignal) => Promise<Link>;
  readonly client?: string;
}

export interface VerdictDetail {
  readonly unitId: string;
  readonly verdict: Verdict;
  readonly reason: string;
  readonly credit: number;
  readonly totalCredit: number;
}

type Reply<T extends HostMessage['type']> = Extract<HostMessage, { type: T }>;

interface Waiter {
  readonly types: readonly HostMessage['type'][];
  resolve(message: HostMessage): void;
  reject(err: unknown): void;
}

/**
 * A volunteer's conversation with one host: ask for a unit, compute it, commit to the Merkle
 * root of the output, answer the host's challenge, and count the verdict. Emits `change` on
 * any state change and `verdict` (detail: VerdictDetail) for each verdict.
 */
export class VolunteerSession extends EventTarget {
  state: VolunteerState = VolunteerState.Idle;
  unitsDone = 0;
  unitsRejected = 0;
  credit = 0;
  /** What the session is doing, in words, and the last error if state is 'error'. */
  status = 'not started';
  error?: TabgridError;
  progress?: { unitId: string; done: number; total: number };

  private link?: Link;
  private hash?: Hasher;
  private controller?: AbortController;
  private waiter?: Waiter;
  private readonly verdictWaiters = new Map<string, (v: VerdictDetail) => void>();
  /** Trees of results awaiting a verdict, kept to answer challenges. */
  private readonly trees = new Map<string, { tree: MerkleTree; digests: Uint8Array }>();

  constructor(private readonly options: VolunteerSessionOptions) {
    super();
  }

  start(): void {
    if (this.state === VolunteerState.Running) return;
    const controller = new AbortController();
    this.controller = controller;
    this.set(VolunteerState.Running, this.link ? 'resuming' : 'connecting');
    void this.run(controller.signal);
  }

  /** Stops computing at once; a result already sent is still verified and counted. */
  pause(): void {
    if (this.state !== VolunteerState.Running) return;
    this.controller?.abort();
    this.set(VolunteerState.Paused, 'paused');
  }

  close(): void {
    this.controller?.abort();
    this.link?.close();
    this.link = undefined;
    if (this.state === VolunteerState.Running) this.set(VolunteerState.Paused, 'closed');
  }

  private async run(signal: AbortSignal): Promise<void> {
    // Status updates from a run that has been paused must not flip the state back to running.
    const say = (status: string) => {
      if (!signal.aborted) this.set(VolunteerState.Running, status);
    };
    try {
      this.hash ??= await createCpuSha256();
      const link = this.link ?? (await this.open(signal));
      while (!signal.aborted) {
        const reply = await this.ask(link, { type: 'request-unit' }, ['unit', 'no-work'], signal);
        if (reply.type === 'no-work') {
          say(reply.jobDone ? 'the job is finished; waiting for new work' : 'waiting for work');
          await sleep(reply.jobDone ? Math.max(reply.retryMs, 10_000) : reply.retryMs, signal);
          continue;
        }
        const { unit } = reply;
        this.progress = { unitId: unit.unitId, done: 0, total: unit.count };
        say(`computing ${unit.unitId}`);
        const out = await this.options.computer.runUnit(unit, signal, (done, total) => {
          this.progress = { unitId: unit.unitId, done, total };
          this.emit();
        });
        // Sent even if a pause came during the last dispatch: the work is done, verifying is cheap.
        const tree = buildMerkleTreeOfChunks(out.digests, DIGEST_BYTES, this.hash);
        this.trees.set(unit.unitId, { tree, digests: out.digests });
        const verdict = new Promise<VerdictDetail>((resolve) => this.verdictWaiters.set(unit.unitId, resolve));
        this.send(link, { type: 'result', unitId: unit.unitId, root: toHex(tree.root), backend: out.backend });
        say(`verifying ${unit.unitId}`);
        await abortable(verdict, signal);
      }
    } catch (err) {
      if (signal.aborted) return; // paused, closed, or already failed
      this.fail(isTabgridError(err) ? err : new TabgridError(ErrorCode.Network, String(err), { cause: err }));
    }
  }

  private async open(signal: AbortSignal): Promise<Link> {
    const handlers: LinkHandlers = { onText: (text) => this.receive(text), onClose: () => this.closed() };
    const connect =
      this.options.connect ??
      ((h: LinkHandlers, s: AbortSignal) =>
        connectToHost({ signalUrl: this.options.signalUrl, hostId: this.options.hostId, iceServers: this.options.iceServers, signal: s }, h));
    const link = await connect(handlers, signal);
    this.link = link;
    const welcome = await this.ask(link, { type: 'hello', protocol: PROTOCOL_VERSION, client: this.options.client ?? 'tabgrid-volunteer' }, ['welcome'], signal);
    if (welcome.protocol !== PROTOCOL_VERSION) {
      link.close();
      throw new TabgridError(ErrorCode.ProtocolVersion, `host speaks protocol ${welcome.protocol}, this page ${PROTOCOL_VERSION}`);
    }
    return link;
  }

  private ask<T extends HostMessage['type']>(link: Link, message: VolunteerMessage, types: readonly T[], signal: AbortSignal): Promise<Reply<T>> {
    // The link may have closed while the caller was busy; asking over it would wait forever.
    if (this.link !== link) return Promise.reject(new TabgridError(ErrorCode.Network, 'lost the connection to the host'));
    const reply = new Promise<Reply<T>>((resolve, reject) => {
      this.waiter = { types, resolve: resolve as (m: HostMessage) => void, reject };
    });
    this.send(link, message);
    return abortable(reply, signal);
  }

  private send(link: Link, message: VolunteerMessage): void {
    link.send(encodeMessage(message));
  }

  private receive(text: unknown): void {
    let message: HostMessage;
    try {
      message = parseHostMessage(text);
    } catch (err) {
      console.warn('tabgrid: ignoring a malformed message from the host:', (err as Error).message);
      return;
    }
    switch (message.type) {
      case 'challenge':
        return this.answer(message);
      case 'verdict':
        return this.count(message);
      case 'error': {
        const code = isErrorCode(message.code) ? message.code : ErrorCode.BadMessage;
        this.failWaiter(new TabgridError(code, `host: ${message.message}`));
        return;
      }
      default:
        if (this.waiter?.types.includes(message.type)) {
          const w = this.waiter;
          this.waiter = undefined;
          w.resolve(message);
        }
    }
  }

  /** Opens the challenged leaves of a committed result (cheap: no GPU, so even while paused). */
  private answer(challenge: Reply<'challenge'>): void {
    const held = this.trees.get(challenge.unitId);
    if (!held || !this.link) return;
    const openings = challenge.indices.map((index) => ({
      index,
      leaf: toHex(held.digests.subarray(index * DIGEST_BYTES, (index + 1) * DIGEST_BYTES)),
      path: merklePath(held.tree, index).map(toHex),
    }));
    this.send(this.link, { type: 'openings', unitId: challenge.unitId, openings });
  }

  private count(v: Reply<'verdict'>): void {
    this.trees.delete(v.unitId);
    this.credit = v.totalCredit;
    if (v.verdict === Verdict.Accepted) this.unitsDone++;
    if (v.verdict === Verdict.Rejected) this.unitsRejected++;
    const detail: VerdictDetail = { unitId: v.unitId, verdict: v.verdict, reason: v.reason, credit: v.credit, totalCredit: v.totalCredit };
    this.verdictWaiters.get(v.unitId)?.(detail);
    this.verdictWaiters.delete(v.unitId);
    this.dispatchEvent(new CustomEvent<VerdictDetail>('verdict', { detail }));
    this.emit();
  }

  /** The link is gone: whatever this run waits for will never come, so the run ends in error. */
  private closed(): void {
    this.link = undefined;
    this.trees.clear();
    this.verdictWaiters.clear();
    const err = new TabgridError(ErrorCode.Network, 'lost the connection to the host');
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(err);
    if (this.state === VolunteerState.Running) this.fail(err);
  }

  private fail(err: TabgridError): void {
    this.error = err;
    this.controller?.abort();
    this.set(VolunteerState.Error, err.message);
  }

  private failWaiter(err: TabgridError): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(err);
    // A unit waiting for its verdict cannot get one now; the run fails with the error.
    if (this.verdictWaiters.size > 0 && this.state === VolunteerState.Running) {
      this.verdictWaiters.clear();
      this.fail(err);
    }
  }

  private set(state: VolunteerState, status: string): void {
    this.state = state;
    this.status = status;
    if (state !== VolunteerState.Error) this.error = undefined;
    this.emit();
  }

  private emit(): void {
    this.dispatchEvent(new Event('change'));
  }
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new TabgridError(ErrorCode.Aborted, 'aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new TabgridError(ErrorCode.Aborted, 'aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return abortable(new Promise<void>((r) => setTimeout(r, ms)), signal);
}
