/** How chunks crossed the channel in one transfer benchmark run. */
export const TransferWay = { Data: 'data', Hex: 'hex' } as const;
export type TransferWay = (typeof TransferWay)[keyof typeof TransferWay];

/** One way's numbers: `bytes` of chunks fetched, checked against the root, in `ms`. */
export interface TransferRun {
  readonly way: TransferWay;
  readonly bytes: number;
  readonly chunks: number;
  readonly ms: number;
  /** Millions of bytes a second. */
  readonly mbPerS: number;
}

/** What the transfer page hands back (window.transferResults). */
export interface TransferResults {
  readonly runs: TransferRun[];
  readonly error?: string;
}

export function transferTable(runs: readonly TransferRun[], setup: string): string {
  const label: Record<TransferWay, string> = {
    [TransferWay.Data]: 'binary data messages (chunk meta JSON + 256 KiB body)',
    [TransferWay.Hex]: 'hex inside JSON text messages (the old way)',
  };
  const lines = [`Chunk delivery (median of 3 runs each), ${setup}:`, '', '| way | MiB | chunks | ms | MB/s |', '|---|---:|---:|---:|---:|'];
  for (const r of runs) lines.push(`| ${label[r.way]} | ${(r.bytes / 2 ** 20).toFixed(0)} | ${r.chunks} | ${r.ms.toFixed(0)} | ${r.mbPerS.toFixed(1)} |`);
  return lines.join('\n');
}
