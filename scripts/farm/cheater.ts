/**
 * A cheating volunteer in Node: its own ECDSA key, the real protocol over PeerJS (Node WebRTC),
 * and one chosen lie (cheat-kind.ts). Output cheats run the real VolunteerSession around a
 * LyingComputer, so they commit, sign and answer challenges honestly from their wrong output;
 * protocol cheats (forged signature, replay, never leased) build their messages by hand
 * (protocol-cheater.ts). Each logs what it did through its CheaterReport.
 */
import '../node-webrtc';
import { ErrorCode } from '../../src/errors';
import type { JobSpec } from '../../src/host/job';
import { createKeyPair, identityFromKeyPair } from '../../src/proof/identity';
import { VolunteerSession, VolunteerState, type VerdictDetail } from '../../src/volunteer/session';
import { CheatKind } from './cheat-kind';
import { CheaterReport } from './cheater-report';
import { CpuComputer } from './cpu-computer';
import { isOutputCheat, LyingComputer } from './lying-computer';
import { ProtocolCheater } from './protocol-cheater';

export interface CheaterOptions {
  readonly kind: CheatKind;
  readonly signalUrl: string;
  readonly hostId: string;
  readonly jobs: readonly JobSpec[];
  readonly log?: (line: string) => void;
  readonly signal: AbortSignal;
}

export interface Cheater {
  readonly kind: CheatKind;
  /** The host's name for this cheater's (first) key (identityOf its public key). */
  readonly id: string;
  /** Every key it speaks with: two for a colluding pair. */
  readonly keys: readonly string[];
  readonly report: CheaterReport;
  /** Settles when the cheater stops: banned, the job done, or the signal. */
  readonly done: Promise<void>;
}

export async function startCheater(options: CheaterOptions): Promise<Cheater> {
  const identity = await identityFromKeyPair(await createKeyPair());
  const report = new CheaterReport(options.kind, identity.id, options.log);
  report.note(`starts as ${identity.id}`);
  const kind = options.kind;
  let done: Promise<void>;
  const keys = [identity.id];
  if (kind === CheatKind.ColludingPair) {
    // Two keys, one liar: each runs the real session with the same deterministic lie, so their roots agree.
    const partner = await identityFromKeyPair(await createKeyPair());
    keys.push(partner.id);
    report.note(`and as ${partner.id}, its partner`);
    const sessions = [identity, partner].map((key) =>
      runSession(
        options,
        key,
        new LyingComputer(new CpuComputer(), kind, (unit, what) => report.lie(unit.unitId, `${key.id.slice(0, 8)} ${what}`, key.id)),
        report,
      ),
    );
    done = Promise.all(sessions).then(() => undefined);
  } else if (isOutputCheat(kind)) {
    const computer = new LyingComputer(new CpuComputer(), kind, (unit, what) => report.lie(unit.unitId, what));
    done = runSession(options, identity, computer, report);
  } else {
    const cheater = new ProtocolCheater({ kind, signalUrl: options.signalUrl, hostId: options.hostId, identity, jobs: options.jobs, report });
    done = cheater.run(options.signal).catch((err: unknown) => report.note(`stopped: ${String(err)}`));
  }
  return { kind, id: identity.id, keys, report, done };
}

/** The real session with a lying computer; stops when the host bans the key, or on the signal. */
function runSession(
  options: CheaterOptions,
  identity: Awaited<ReturnType<typeof identityFromKeyPair>>,
  computer: LyingComputer,
  report: CheaterReport,
): Promise<void> {
  const session = new VolunteerSession({
    signalUrl: options.signalUrl,
    hostId: options.hostId,
    computer,
    identity,
    client: 'tabgrid-farm-cheater',
    backoff: { baseMs: 200, maxMs: 3000 },
  });
  session.addEventListener('verdict', (e) => {
    const v = (e as CustomEvent<VerdictDetail>).detail;
    report.answer(v.unitId, { type: 'verdict', ...v });
  });
  return new Promise<void>((resolve) => {
    const stop = () => {
      session.removeEventListener('change', onChange);
      session.close();
      resolve();
    };
    const onChange = () => {
      if (session.state !== VolunteerState.Error || session.error?.code === ErrorCode.Network) return;
      if (session.error?.code === ErrorCode.Banned) report.bannedSeen = true;
      report.note(`stopped: ${session.status}`);
      stop();
    };
    session.addEventListener('change', onChange);
    if (options.signal.aborted) return stop();
    options.signal.addEventListener('abort', stop, { once: true });
    session.start();
  });
}
