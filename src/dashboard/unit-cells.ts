import type { UnitView } from '../host/host-views';

/** How the grid shows a unit: the host's states, plus units rejected recently (back in the queue). */
export const CellState = {
  Queued: 'queued',
  Leased: 'leased',
  Verifying: 'verifying',
  Accepted: 'accepted',
  Rejected: 'rejected',
} as const;
export type CellState = (typeof CellState)[keyof typeof CellState];

/** A rejection stays visible this long, then the unit shows its host state again. */
export const REJECTED_SHOWN_MS = 30_000;
/** Above this many units, one cell stands for a range, so the grid stays cheap to draw. */
export const MAX_CELLS = 1024;

export interface Cell {
  readonly state: CellState;
  /** First and last unit index the cell stands for. */
  readonly from: number;
  readonly to: number;
  /** For the cell's title/aria-label, e.g. "unit 3: leased by 1a2b3c4d (40%)". */
  readonly label: string;
}

export interface GridModel {
  readonly cells: readonly Cell[];
  readonly counts: Readonly<Record<CellState, number>>;
  /** One sentence for screen readers and the eye. */
  readonly summary: string;
}

/** `rejectedAt`: unit id → time of its last rejection (from the verification log). */
export function cellState(u: UnitView, rejectedAt: ReadonlyMap<string, number>, now: number): CellState {
  if (u.state === 'accepted') return CellState.Accepted;
  const at = rejectedAt.get(u.unitId);
  if (at !== undefined && now - at < REJECTED_SHOWN_MS) return CellState.Rejected;
  // Rejected before this page's log began (e.g. before a reload): queued, waiting for another volunteer.
  if (u.state === 'queued' && u.rejections > 0 && at === undefined) return CellState.Rejected;
  return u.state;
}

/** Cells for a job's units: one per unit, or one per range past `maxCells` units. */
export function gridModel(units: readonly UnitView[], rejectedAt: ReadonlyMap<string, number>, now: number, maxCells = MAX_CELLS): GridModel {
  const counts: Record<CellState, number> = { queued: 0, leased: 0, verifying: 0, accepted: 0, rejected: 0 };
  const states = units.map((u) => {
    const s = cellState(u, rejectedAt, now);
    counts[s]++;
    return s;
  });
  const per = Math.max(1, Math.ceil(units.length / maxCells));
  const cells: Cell[] = [];
  for (let from = 0; from < units.length; from += per) {
    const to = Math.min(units.length, from + per) - 1;
    cells.push(per === 1 ? single(units[from]!, states[from]!) : range(from, to, states.slice(from, to + 1)));
  }
  return { cells, counts, summary: summarize(units.length, counts) };
}

function single(u: UnitView, state: CellState): Cell {
  const who = u.holder ? ` by ${shortId(u.holder)}` : '';
  const detail =
    state === CellState.Accepted
      ? `accepted from ${shortId(u.holder ?? '?')}${madeWith(u)}`
      : state === CellState.Rejected
        ? `rejected ${u.rejections} time(s), back in the queue`
        : state === CellState.Queued
          ? 'queued'
          : `${state}${who}${u.progress > 0 ? `, ${u.progress} items done` : ''}`;
  return { state, from: u.index, to: u.index, label: `unit ${u.index}: ${detail}` };
}

/** What computed an accepted result, as its volunteer reported it: " (webgpu, Apple M3)", or nothing when unknown. */
function madeWith(u: UnitView): string {
  const parts = [u.backend, u.adapter].filter((p) => p !== undefined);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}

/** A range cell shows the least advanced state in it, so work still to do stays visible. */
function range(from: number, to: number, states: readonly CellState[]): Cell {
  const order: CellState[] = [CellState.Rejected, CellState.Queued, CellState.Leased, CellState.Verifying, CellState.Accepted];
  const tally = new Map<CellState, number>();
  for (const s of states) tally.set(s, (tally.get(s) ?? 0) + 1);
  const state = order.find((s) => tally.has(s))!;
  const parts = order.filter((s) => tally.has(s)).map((s) => `${tally.get(s)} ${s}`);
  return { state, from, to, label: `units ${from}–${to}: ${parts.join(', ')}` };
}

function summarize(total: number, c: Record<CellState, number>): string {
  if (total === 0) return 'No units.';
  return `${c.accepted} of ${total} units accepted; ${c.verifying} verifying, ${c.leased} leased, ${c.queued} queued, ${c.rejected} recently rejected.`;
}

/** The first 8 hex digits of a volunteer id: enough to tell a grid's volunteers apart. */
export function shortId(id: string): string {
  // Relayed volunteers are named "relay>child"; their key id is the last part.
  const key = id.split('>').pop()!;
  return key.slice(0, 8);
}
