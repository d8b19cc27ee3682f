import { DEFAULT_TRUST_POLICY } from '../../src/proof/trust';
import type { HostSnapshot } from '../../src/host/store/store';
import type { Hasher } from '../../src/hash/sha256-cpu';
import type { CheatKind } from './cheat-kind';
import { LOCALITY_BOUND, type LocalityFigure } from './locality';
import { Recheck, recheck, type OutputReader } from './reference';
import { swarmRows, type SwarmFigure } from './swarm';

/** What `npm run farm` reports (the --out JSON). Seconds are wall-clock unless named CPU. */
export interface FarmSummary {
  /** Honest volunteers launched (pages, or Node sessions with --node). */
  volunteers: number;
  /** Units of all jobs. */
  units_total: number;
  /** Units the host holds as accepted at the end (each unit is one record: accepted at most once). */
  units_accepted: number;
  /** Units some host incarnation announced as accepted that its store does not hold as accepted at the end. */
  units_lost: number;
  /** Accepted results whose root (and pow solutions) differ from the farm's own CPU recomputation. */
  wrong_results_accepted: number;
  /** Acceptances the host announced beyond the first for a unit, over all host incarnations. */
  duplicates_accepted: number;
  /** Accepted f32 results the farm could not recheck: jobs that do not collect their output (f32 bits vary by device, so roots cannot be compared). */
  unchecked_f32: number;
  /** Cheating Node volunteers launched, and their kinds. */
  cheaters: number;
  cheater_kinds: CheatKind[];
  /** Cheaters whose key the host banned from at least one job (trust ledger in its store). */
  cheaters_banned: number;
  /** The kinds of the cheaters the host did not ban although each of their keys lied banAfter times in one job. */
  cheaters_not_banned: CheatKind[];
  /**
   * The kinds of the cheaters that never lied often enough to be banned (some key of theirs never
   * told banAfter lies in any one job before the work ran out): nothing to ban them for.
   */
  cheaters_short_of_lies: CheatKind[];
  /** Credit the host granted cheaters for results that are not the reference's (must be 0). */
  cheater_wrong_credit: number;
  /** Reloaded pages that went on with a unit from its checkpoint instead of from the start. */
  resumed_from_checkpoint: number;
  /** Results waiting in reloaded pages' outboxes at the reload, delivered after it without recomputing. */
  outbox_redelivered: number;
  /** Faults injected, and which. */
  faults_injected: number;
  fault_log: string[];
  /** From the host serving to every unit accepted (or the time limit). */
  seconds: number;
  units_per_second: number;
  /**
   * Host time spent judging: the turns of result, openings and rows messages in the host's one
   * handle queue (signature check, verification, receipt signing, SQLite commit), wall-clock.
   * It equals CPU time while the host does nothing else meanwhile, and bounds it from above.
   */
  verify_cpu_seconds: number;
  /** CPU time of the host process(es) after start-up, all of it (WebRTC, signaling client, SQLite, judging). */
  host_cpu_seconds: number;
  /** Host processes (--hosts) and their store (--db). */
  hosts?: number;
  db?: 'sqlite' | 'postgres';
  /** host_cpu_seconds per accepted unit, ms: the per-unit cost that projects the curve to larger machines. */
  host_cpu_ms_per_unit?: number;
  /** CPU of the farm process itself over the run: Node volunteers (WebRTC, computing), cheaters, the run loop. */
  farm_cpu_seconds?: number;
  /** With --db postgres (a cluster the farm started): the server's CPU over the run, and per accepted unit (ms). */
  db_cpu_seconds?: number;
  db_cpu_ms_per_unit?: number;
  /** Credit on the volunteers' records, in the receipts, and for the accepted work (host-group.ts creditFacts): all equal. */
  credit_granted?: number;
  credit_in_receipts?: number;
  credit_for_work?: number;
  volunteers_credit_mismatch?: number;
  receipts_wrong?: number;
  /** With --kill-host and Node volunteers: the killed process's volunteers, and how many had units accepted after it died. */
  moved?: { of: number; working: number };
  /** Handle-queue time per message type, seconds: where the host's one queue goes. */
  host_busy: Record<string, number>;
  /** Sum over volunteers of the time a unit was computing. */
  compute_seconds: number;
  /** Dataset bytes the host served to volunteers (chunks of the jobs' inputs), over all its incarnations. */
  input_bytes_sent: number;
  /** input_bytes_sent per accepted unit of the jobs that read datasets (0 when none do). */
  input_bytes_per_unit: number;
  /** With --dataset: the jobs read datasets made of random files, not seeds. */
  dataset?: boolean;
  /** With --dataset: the locality of the products whose units all read one B (locality.ts); must stay within LOCALITY_BOUND. */
  locality?: LocalityFigure;
  /** With --dataset: the same figure for the products whose B is cut into several panels (reported, not bounded). */
  locality_tiled?: LocalityFigure;
  /** The backend every page was made to use (--backend); absent: each page chose per kernel. */
  backend?: 'webgpu' | 'cpu';
  /** What the pages' widgets said they ran on at the end (their adapter line), each once. */
  page_backends?: string[];
  /** The swarm (issue 18, swarm.ts): input bytes from the host and from peers, the peers' share, the shared B's bound, the tracker, the liars. */
  swarm?: SwarmFigure;
  /** With --coturn: every connection was forced through a coturn on loopback (farm/turn.ts). */
  turn?: boolean;
  /** Honest volunteers by their connection's path at the end, "local→remote" candidate types from getStats() ("relay→relay"; "unknown": not connected). */
  connection_paths?: Record<string, number>;
  /** Honest volunteers whose connection went through a TURN server (a relay candidate on either end). */
  volunteers_via_turn?: number;
  /** Invariants that broke (empty: the run passed). */
  failures: string[];
}

export interface CheaterFacts {
  readonly id: string;
  /** Every key the cheater speaks with (a colluding pair has two); banned means all of them. */
  readonly keys: readonly string[];
  readonly kind: CheatKind;
  /** Lies told, per key and job (CheaterReport.liesByKey). */
  readonly liesByKey: ReadonlyMap<string, ReadonlyMap<string, number>>;
}

/** The result half of the summary, from the host's store as it was left at the end. */
export async function judgeResults(snapshot: HostSnapshot, cheaters: readonly CheaterFacts[], hash: Hasher, output?: OutputReader) {
  const specs = new Map(snapshot.jobs.map((j) => [j.id, j.spec]));
  const cheaterKeys = new Set(cheaters.flatMap((c) => c.keys));
  const wrongUnits = new Set<string>();
  let unchecked = 0;
  for (const u of snapshot.units) {
    if (u.state !== 'accepted' || u.root === null) continue;
    const verdict = await recheck(specs.get(u.jobId)!, u.index, { root: u.root, solutions: u.solutions }, hash, output);
    if (verdict === Recheck.Unchecked) unchecked++;
    if (verdict === Recheck.Wrong) wrongUnits.add(u.unitId);
  }
  // Every receipt counts (a replicated unit credits each agreeing key).
  const cheaterWrongCredit = snapshot.receipts.filter((r) => wrongUnits.has(r.unitId) && cheaterKeys.has(r.volunteer)).reduce((n, r) => n + r.credit, 0);
  const wrong = wrongUnits.size;
  const isBanned = (c: CheaterFacts) => c.keys.every((key) => snapshot.trust.some((t) => t.key === key && t.banned));
  // A key can be banned from a job once it lied there banAfter times (jobs without trust ban nobody).
  const banAfter = (jobId: string) => {
    const trust = specs.get(jobId)?.trust;
    return trust === undefined ? Infinity : (trust.banAfter ?? DEFAULT_TRUST_POLICY.banAfter);
  };
  const liedEnough = (c: CheaterFacts) =>
    c.keys.every((key) => [...(c.liesByKey.get(key) ?? new Map<string, number>())].some(([job, n]) => n >= banAfter(job)));
  return {
    units_total: snapshot.units.length,
    units_accepted: snapshot.units.filter((u) => u.state === 'accepted').length,
    wrong_results_accepted: wrong,
    unchecked_f32: unchecked,
    cheaters_banned: cheaters.filter(isBanned).length,
    cheaters_not_banned: cheaters.filter((c) => !isBanned(c) && liedEnough(c)).map((c) => c.kind),
    cheaters_short_of_lies: cheaters.filter((c) => !isBanned(c) && !liedEnough(c)).map((c) => c.kind),
    cheater_wrong_credit: cheaterWrongCredit,
  };
}

/** The invariants a farm run must keep; what broke, in words. */
export function brokenInvariants(s: FarmSummary): string[] {
  const broken: string[] = [];
  if (s.units_accepted !== s.units_total) broken.push(`${s.units_total - s.units_accepted} unit(s) never accepted`);
  if (s.units_lost !== 0) broken.push(`${s.units_lost} accepted unit(s) lost by the host`);
  if (s.wrong_results_accepted !== 0) broken.push(`${s.wrong_results_accepted} wrong result(s) accepted`);
  if (s.duplicates_accepted !== 0) broken.push(`${s.duplicates_accepted} duplicate acceptance(s)`);
  // A forced backend that a page did not take would test the chooser's pick, not the kernels asked for.
  const notForced = s.backend ? (s.page_backends ?? []).filter((line) => !line.includes(`forced to ${s.backend}`)) : [];
  if (notForced.length > 0) broken.push(`pages not on the forced backend ${s.backend}: ${notForced.join('; ')}`);
  if (s.cheater_wrong_credit !== 0) broken.push(`cheaters earned ${s.cheater_wrong_credit} credit for wrong results`);
  if (s.cheaters_not_banned.length > 0)
    broken.push(`${s.cheaters_not_banned.length} of ${s.cheaters} cheater(s) not banned: ${s.cheaters_not_banned.join(', ')}`);
  if (s.locality && s.locality.ratio > LOCALITY_BOUND)
    broken.push(
      `locality: ${s.locality.ratio.toFixed(3)} × the A slice sent per unit after the first (over ${s.locality.volunteers} volunteer(s) × job), more than ${LOCALITY_BOUND}`,
    );
  if (s.locality && s.locality.volunteers === 0) broken.push('locality: no volunteer computed two units of a job whose units share B, nothing was measured');
  return broken;
}

/** A short table for the terminal. */
export function summaryTable(s: FarmSummary): string {
  const rows: [string, string | number][] = [
    ['volunteers', s.volunteers],
    ...(s.page_backends?.length ? [['pages ran on', s.page_backends.join('; ')] as [string, string]] : []),
    ['units accepted / total', `${s.units_accepted} / ${s.units_total}`],
    ['units lost', s.units_lost],
    ['wrong results accepted', s.wrong_results_accepted],
    ['duplicates accepted', s.duplicates_accepted],
    ['f32 units not rechecked (no output kept)', s.unchecked_f32],
    ['cheaters banned / launched', `${s.cheaters_banned} / ${s.cheaters}`],
    ['cheaters short of lies (too few to ban)', s.cheaters_short_of_lies.length ? s.cheaters_short_of_lies.join(', ') : 0],
    ['resumed from checkpoint', s.resumed_from_checkpoint],
    ['outbox redelivered', s.outbox_redelivered],
    ['faults injected', `${s.faults_injected}${s.fault_log.length ? `: ${s.fault_log.join('; ')}` : ''}`],
    ['seconds', s.seconds.toFixed(1)],
    ...(s.hosts === undefined ? [] : [['host processes / store', `${s.hosts} / ${s.db}`] as [string, string]]),
    ['units / second', s.units_per_second.toFixed(2)],
    ...(s.host_cpu_ms_per_unit === undefined ? [] : [['host CPU ms / unit', s.host_cpu_ms_per_unit.toFixed(2)] as [string, string]]),
    ...(s.farm_cpu_seconds === undefined ? [] : [['farm process CPU (s)', s.farm_cpu_seconds.toFixed(2)] as [string, string]]),
    ...(s.db_cpu_ms_per_unit === undefined
      ? []
      : [['PostgreSQL CPU s / ms per unit', `${s.db_cpu_seconds!.toFixed(2)} / ${s.db_cpu_ms_per_unit.toFixed(2)}`] as [string, string]]),
    ...(s.moved ? [['volunteers of the killed host / working after it', `${s.moved.of} / ${s.moved.working}`] as [string, string]] : []),
    ...(s.credit_granted === undefined
      ? []
      : [['credit granted / in receipts / for the work', `${s.credit_granted} / ${s.credit_in_receipts} / ${s.credit_for_work}`] as [string, string]]),
    ['host judging / all CPU (s)', `${s.verify_cpu_seconds.toFixed(2)} / ${s.host_cpu_seconds.toFixed(2)}`],
    ['volunteer compute (s)', s.compute_seconds.toFixed(1)],
    ['input bytes sent / per unit', `${s.input_bytes_sent} / ${Math.round(s.input_bytes_per_unit)}`],
    ...(s.locality
      ? [
          [
            'bytes per unit after the first, one B',
            `${s.locality.ratio.toFixed(3)} × the A slice (worst volunteer ${s.locality.worst_volunteer_ratio.toFixed(3)}; ${s.locality.bytes_after_first} / ${s.locality.a_slice_bytes_after_first} bytes, ${s.locality.volunteers} volunteer(s) × job)`,
          ] as [string, string],
        ]
      : []),
    ...(s.locality_tiled?.volunteers
      ? [
          [
            'bytes per unit after the first, B in panels',
            `${s.locality_tiled.ratio.toFixed(3)} × the A slice (worst volunteer ${s.locality_tiled.worst_volunteer_ratio.toFixed(3)}; ${s.locality_tiled.volunteers} volunteer(s) × job; not bounded)`,
          ] as [string, string],
        ]
      : []),
    ...(s.swarm ? swarmRows(s.swarm) : []),
    ...(s.connection_paths
      ? [
          [
            'connections (local→remote)',
            `${Object.entries(s.connection_paths)
              .map(([k, n]) => `${k}: ${n}`)
              .join(', ')}; through TURN: ${s.volunteers_via_turn ?? 0}`,
          ] as [string, string],
        ]
      : []),
    ['result', s.failures.length ? `FAILED: ${s.failures.join('; ')}` : 'all invariants hold'],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}
