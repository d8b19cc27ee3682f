/**
 * `npm run bench -- --store [--units 3000] [--volunteers 32] [--modes off,on] [--runs 1] [--cpu-prof DIR] [--out bench-results/store.json]`:
 * one host process's cost per unit on SQLite, with group commit off (every commit its own
 * fsynced transaction, as before) and on. A real HostCore on a real SQLite file (WAL,
 * synchronous = FULL, in the temp directory) runs in a child process (store-bench/host-process.ts);
 * this process drives it over Node's IPC with honest volunteers speaking the real protocol,
 * their results computed before the clock starts (store-bench/driver.ts). The host's figures
 * are its own process's: CPU (process.cpuUsage) and event-loop busy time (CPU plus the
 * synchronous fsyncs), per accepted unit, over the timed run. WebRTC is left out: the IPC pipe
 * stands in for the data channels (README "Host scaling" measures them with the farm).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { createCpuSha256 } from '../src/hash/sha256-cpu';
import { createKeyPair, identityFromKeyPair } from '../src/proof/identity';
import { BenchVolunteer, HostProcess, computeAll, newAnnounced } from './store-bench/driver';

export interface StoreBenchRow {
  readonly groupCommit: boolean;
  readonly volunteers: number;
  readonly units: number;
  readonly seconds: number;
  readonly unitsPerSecond: number;
  readonly hostCpuSeconds: number;
  readonly hostCpuMsPerUnit: number;
  /** The part of hostCpuMsPerUnit spent in the kernel. */
  readonly hostSystemMsPerUnit: number;
  /** Units per second of host CPU: the figure the 4× goal is about. */
  readonly unitsPerHostCpuSecond: number;
  readonly hostBusyMsPerUnit: number;
  readonly transactionsPerUnit: number;
  readonly batchesPerTransaction: number;
}

export async function storeBenchMain(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      store: { type: 'boolean' },
      units: { type: 'string' },
      volunteers: { type: 'string' },
      modes: { type: 'string' },
      runs: { type: 'string' },
      'cpu-prof': { type: 'string' },
      out: { type: 'string' },
    },
  });
  const units = whole(values.units ?? '3000', '--units', 1, 1_000_000);
  const volunteerCount = whole(values.volunteers ?? '32', '--volunteers', 1, 10_000);
  const runs = whole(values.runs ?? '1', '--runs', 1, 100);
  const modes = (values.modes ?? 'off,on').split(',').map((m) => {
    if (m !== 'on' && m !== 'off') throw new Error(`--modes takes on and/or off (group commit), not ${m}`);
    return m === 'on';
  });
  const outFile = values.out ?? 'bench-results/store.json';
  const hash = await createCpuSha256();
  console.log(`computing the ${units} units' results once, before any timing…`);
  const computed = computeAll(units, hash);
  const identities = await Promise.all(Array.from({ length: volunteerCount }, async () => identityFromKeyPair(await createKeyPair())));
  const dir = mkdtempSync(join(tmpdir(), 'tabgrid-store-bench-'));
  const rows: StoreBenchRow[] = [];
  try {
    for (let run = 0; run < runs; run++) {
      for (const groupCommit of modes) {
        const profDir = values['cpu-prof'];
        const host = await HostProcess.start({
          db: join(dir, `run-${run}-${groupCommit ? 'on' : 'off'}.sqlite`),
          units,
          groupCommit,
          execArgv: profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [],
        });
        const announced = newAnnounced();
        const volunteers = identities.map((id, i) => new BenchVolunteer(`v${i}`, id, computed, announced));
        await Promise.all(volunteers.map((v) => v.greet(host)));
        const before = await host.stats();
        const start = performance.now();
        await Promise.all(volunteers.map((v) => v.work(host)));
        const seconds = (performance.now() - start) / 1000;
        const after = await host.stats();
        await host.stop();
        if (after.accepted !== units || announced.receipts.size !== units) {
          throw new Error(`the host accepted ${after.accepted} of ${units} units (${announced.receipts.size} receipts announced)`);
        }
        const cpu = after.cpuSeconds - before.cpuSeconds;
        const transactions = after.transactions - before.transactions;
        const row: StoreBenchRow = {
          groupCommit,
          volunteers: volunteerCount,
          units,
          seconds: round(seconds, 2),
          unitsPerSecond: Math.round(units / seconds),
          hostCpuSeconds: round(cpu, 2),
          hostCpuMsPerUnit: round((cpu * 1000) / units, 3),
          hostSystemMsPerUnit: round(((after.systemSeconds - before.systemSeconds) * 1000) / units, 3),
          unitsPerHostCpuSecond: Math.round(units / cpu),
          hostBusyMsPerUnit: round(((after.busySeconds - before.busySeconds) * 1000) / units, 3),
          transactionsPerUnit: round(transactions / units, 3),
          batchesPerTransaction: round((after.batches - before.batches) / transactions, 1),
        };
        rows.push(row);
        console.log(JSON.stringify(row));
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const table = storeBenchTable(rows);
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, JSON.stringify({ date: new Date().toISOString(), rows, table }, null, 2));
  writeFileSync(outFile.replace(/\.json$/, '.md'), table + '\n');
  console.log(`\n${table}\n\nwrote ${outFile}`);
}

/** The README's table: one row per run. */
export function storeBenchTable(rows: readonly StoreBenchRow[]): string {
  const head =
    '| SQLite group commit | volunteers | units | seconds | units/s | host CPU ms/unit | of it system ms/unit | units per host CPU s | host busy ms/unit | transactions/unit | commits/transaction |';
  const rule = '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |';
  const lines = rows.map(
    (r) =>
      `| ${r.groupCommit ? 'on' : 'off'} | ${r.volunteers} | ${r.units} | ${r.seconds} | ${r.unitsPerSecond} | ${r.hostCpuMsPerUnit} | ${r.hostSystemMsPerUnit} | ${r.unitsPerHostCpuSecond} | ${r.hostBusyMsPerUnit} | ${r.transactionsPerUnit} | ${r.batchesPerTransaction} |`,
  );
  return [head, rule, ...lines].join('\n');
}

function whole(raw: string, flag: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${flag} takes a whole number in ${min}..${max}, not ${raw}`);
  return n;
}

const round = (x: number, digits: number) => Number(x.toFixed(digits));
