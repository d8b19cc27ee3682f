/** One row of the benchmark table: our kernel and its best available peer, same adapter, same run. */
export interface BenchRow {
  readonly kernel: string;
  readonly size: string;
  readonly ours: string;
  readonly oursMs: number;
  readonly peer: string;
  readonly peerMs: number;
  /** Work per run, for a rate column (FLOPs or hashes). */
  readonly work: number;
  readonly workUnit: string;
  /** peerMs / oursMs: above 1 means we are faster. */
  readonly speedup: number;
}

/** Median wall time of `runs` calls after `warmup` calls (the first compiles pipelines). */
export async function medianMs(fn: () => Promise<unknown>, runs = 5, warmup = 1): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await fn();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

export async function compare(
  kernel: string,
  size: string,
  work: number,
  workUnit: string,
  ours: [string, () => Promise<unknown>],
  peer: [string, () => Promise<unknown>],
  runs = 5,
): Promise<BenchRow> {
  // Alternate who goes first between warm-ups so neither gets a systematically cooler machine.
  const peerMs = await medianMs(peer[1], runs);
  const oursMs = await medianMs(ours[1], runs);
  return { kernel, size, ours: ours[0], oursMs, peer: peer[0], peerMs, work, workUnit, speedup: peerMs / oursMs };
}

export function rate(row: BenchRow, ms: number): string {
  const perSecond = row.work / (ms / 1000);
  const [scale, prefix] = perSecond >= 1e9 ? [1e9, 'G'] : perSecond >= 1e6 ? [1e6, 'M'] : [1e3, 'k'];
  return `${(perSecond / scale).toFixed(2)} ${prefix}${row.workUnit}/s`;
}

export function table(rows: readonly BenchRow[]): string {
  const lines = ['| kernel | size | ours | ms | rate | peer | ms | rate | peer time / ours |', '|---|---|---|---:|---:|---|---:|---:|---:|'];
  for (const r of rows) {
    lines.push(
      `| ${r.kernel} | ${r.size} | ${r.ours} | ${r.oursMs.toFixed(1)} | ${rate(r, r.oursMs)} | ${r.peer} | ${r.peerMs.toFixed(1)} | ${rate(r, r.peerMs)} | ${r.speedup.toFixed(2)}× |`,
    );
  }
  return lines.join('\n');
}
