import { createHmac } from 'node:crypto';
import { abortable, sleep, withTimeout } from '../../src/async';
import { commitmentBytes } from '../../src/proof/commitment';
import { ErrorCode, TabgridError, isTabgridError } from '../../src/errors';
import { createCpuSha256, type Hasher } from '../../src/hash/sha256-cpu';
import { jobUnit, type JobSpec } from '../../src/host/job';
import type { Identity } from '../../src/proof/identity';
import { unitSize, type VolunteerMessage, type WorkUnit } from '../../src/protocol';
import { backoffMs } from '../../src/net/backoff';
import { HostLink, type Unprompted } from '../../src/volunteer/host-link';
import { answerCheck, resultMessage, sentResult, type Sent } from '../../src/volunteer/results';
import { CheatKind } from './cheat-kind';
import { CpuComputer } from './cpu-computer';
import type { CheaterReport } from './cheater-report';

/** The protocol-level cheats, spoken over a HostLink with messages built by hand. */
export type ProtocolCheat = typeof CheatKind.ForgedMac | typeof CheatKind.Replay | typeof CheatKind.NeverLeased;

export interface ProtocolCheaterOptions {
  readonly kind: ProtocolCheat;
  readonly signalUrl: string;
  readonly hostId: string;
  readonly identity: Identity;
  /** The jobs the host serves: a never-leased cheater builds the units it claims from them. */
  readonly jobs: readonly JobSpec[];
  readonly report: CheaterReport;
}

type Answer = Extract<Unprompted, { type: 'verdict' | 'error' }>;

/**
 * forged-mac and replay lease units and answer each with their lie (a replay first earns one
 * honest acceptance to replay); never-leased leases nothing and claims other volunteers' units
 * with honest, well-authenticated results. Runs until banned, the job is done, or `signal`.
 */
export class ProtocolCheater {
  private readonly link: HostLink;
  private readonly computer = new CpuComputer();
  private readonly pending = new Map<string, { sent: Sent; answer: (a: Answer) => void }>();
  private hash?: Hasher;
  /** The replay's stock: a result the host accepted, and its unit. */
  private accepted?: { unitId: string; sent: Sent };

  constructor(private readonly options: ProtocolCheaterOptions) {
    this.link = new HostLink(
      {
        signalUrl: options.signalUrl,
        hostId: options.hostId,
        identity: options.identity,
        client: 'tabgrid-farm-cheater',
      },
      (m) => this.hear(m),
    );
  }

  async run(signal: AbortSignal): Promise<void> {
    this.hash = await createCpuSha256();
    for (let attempt = 0; !signal.aborted;) {
      try {
        await this.link.open(signal);
        attempt = 0;
        this.link.startHeartbeat({ expecting: () => this.pending.size > 0, beats: () => this.beats() }, signal);
        const finished = this.options.kind === CheatKind.NeverLeased ? await this.claimOthers(signal) : await this.leaseAndLie(signal);
        if (finished) break;
      } catch (err) {
        if (signal.aborted) break;
        if (isTabgridError(err, ErrorCode.Banned)) {
          this.options.report.note('the host refuses this key: banned');
          this.options.report.bannedSeen = true;
          break;
        }
        if (!isTabgridError(err, ErrorCode.Network) || ++attempt > 20) throw err;
        await sleep(backoffMs(attempt, 200, 3000), signal).catch(() => undefined);
      }
    }
    this.link.close();
  }

  /** Returns true when there is nothing left to lease. */
  private async leaseAndLie(signal: AbortSignal): Promise<boolean> {
    for (;;) {
      const reply = await this.link.ask({ type: 'request-unit', holding: [...this.pending.keys()] }, ['unit', 'no-work'], signal);
      if (reply.type === 'no-work') {
        if (reply.jobDone) return true;
        await sleep(reply.retryMs, signal);
        continue;
      }
      const unit = reply.unit;
      const honest = await this.honest(unit, signal);
      if (this.options.kind === CheatKind.Replay && this.accepted) {
        const stock = this.accepted;
        // The accepted result's root and MAC (over its own unit's commitment), as this unit's result.
        const message = { ...resultMessage(stock.sent, this.mac(stock.sent)), unitId: unit.unitId };
        this.options.report.lie(unit.unitId, `replayed the accepted result of ${stock.unitId}`);
        await this.submit(unit.unitId, honest, message, signal);
      } else if (this.options.kind === CheatKind.ForgedMac) {
        // The right commitment, under a key of its own making rather than the one agreed with the host.
        const made = globalThis.crypto.getRandomValues(new Uint8Array(32));
        const mac = createHmac('sha256', made).update(commitmentBytes(honest.commitment)).digest('hex');
        this.options.report.lie(unit.unitId, "sent an honest result with a MAC under a key that is not its connection's");
        await this.submit(unit.unitId, honest, resultMessage(honest, mac), signal);
      } else {
        const answer = await this.submit(unit.unitId, honest, resultMessage(honest, this.mac(honest)), signal);
        if (answer.type === 'verdict' && answer.verdict === 'accepted') this.accepted = { unitId: unit.unitId, sent: honest };
      }
    }
  }

  /** The MAC of `sent`'s commitment under this connection's result key (no link fails the send, and the run loop reconnects). */
  private mac(sent: Sent): string {
    const mac = this.link.resultMac(sent.commitment);
    if (mac === undefined) throw new TabgridError(ErrorCode.Network, 'the link dropped before the result went out');
    return mac;
  }

  /**
   * Claims each unit of every job in turn with an honest result authenticated by this key, although
   * the host never leased it any, until the host bans the key (throws Banned). Returns true if
   * a whole sweep found every unit accepted (a host that does not count such claims).
   */
  private async claimOthers(signal: AbortSignal): Promise<boolean> {
    for (;;) {
      let open = 0;
      for (const spec of this.options.jobs) {
        for (let i = 0; i < spec.units; i++) {
          const unit = jobUnit(spec, i);
          const sent = await this.honest(unit, signal);
          this.options.report.lie(unit.unitId, 'claimed a unit it was never leased');
          const answer = await this.submit(unit.unitId, sent, resultMessage(sent, this.mac(sent)), signal);
          // Each claim counts against the key, so the host bans it after the job's banAfter.
          if (answer.type === 'error' && answer.code === ErrorCode.Banned) throw new TabgridError(ErrorCode.Banned, answer.message);
          if (!(answer.type === 'verdict' && answer.verdict === 'duplicate')) open++;
          await sleep(100, signal);
        }
      }
      if (open === 0) return true;
    }
  }

  private async honest(unit: WorkUnit, signal: AbortSignal): Promise<Sent> {
    const out = await this.computer.runUnit(unit, signal);
    return sentResult(unit, out, unitSize(unit), this.hash!);
  }

  /** Sends a result and waits for its verdict (answering the host's check from `sent`) or its refusal. */
  private async submit(unitId: string, sent: Sent, message: VolunteerMessage, signal: AbortSignal): Promise<Answer> {
    const answer = new Promise<Answer>((resolve) => this.pending.set(unitId, { sent, answer: resolve }));
    this.link.send(message);
    try {
      // No answer means the link died under us: the run loop reconnects.
      const a = await abortable(
        withTimeout(answer, 30_000, () => new TabgridError(ErrorCode.Network, `no answer about ${unitId}`)),
        signal,
      );
      this.options.report.answer(unitId, a);
      return a;
    } finally {
      this.pending.delete(unitId);
    }
  }

  private hear(m: Unprompted): void {
    const held = this.pending.get(m.unitId);
    if (!held) return;
    if (m.type === 'challenge' || m.type === 'send-rows') {
      for (const reply of answerCheck(m, held.sent)) this.link.send(reply);
    } else if (m.type === 'verdict' || m.type === 'error') {
      held.answer(m);
    }
  }

  private beats(): VolunteerMessage[] {
    // A never-leased claim holds no lease, so it has nothing to renew.
    if (this.options.kind === CheatKind.NeverLeased) return [];
    return [...this.pending].map(([unitId, p]) => ({ type: 'heartbeat', unitId, done: p.sent.total, total: p.sent.total }));
  }
}
