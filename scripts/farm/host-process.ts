import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ErrorCode, TabgridError } from '../../src/errors';
import { ACCEPTED_PREFIX, STATS_PREFIX, type HostStats } from './host-stats';

export interface HostProcessOptions {
  readonly jobFiles: readonly string[];
  readonly db: string;
  readonly signalUrl: string;
  readonly hostId: string;
  readonly leaseMs: number;
  readonly log?: (line: string) => void;
  /** The Node flags of the host process (e.g. --cpu-prof). */
  readonly nodeFlags?: readonly string[];
  /** More flags for host-child.ts (the ICE flags of --coturn or the farm's own). */
  readonly hostArgs?: readonly string[];
}

const CHILD = fileURLToPath(new URL('./host-child.ts', import.meta.url));

/**
 * The farm's host child (host-child.ts), through its incarnations: start, SIGKILL, start again
 * on the same SQLite file. Stats are kept per incarnation (the last report of a killed one is
 * up to a second old); acceptances are counted per unit across all of them.
 */
export class HostProcess {
  /** Acceptances announced per unit id, over all incarnations: more than one is a duplicate. */
  readonly announced = new Map<string, number>();
  private readonly lives: HostStats[] = [];
  /** Each incarnation's CPU seconds at its first report (its start-up). */
  private readonly baseCpu: number[] = [];
  private child?: ChildProcess;
  private exited?: Promise<void>;
  latest?: HostStats;

  constructor(private readonly options: HostProcessOptions) {}

  get incarnations(): number {
    return this.lives.length;
  }

  /** Starts an incarnation; resolves once it serves. */
  async start(signal: AbortSignal): Promise<void> {
    const o = this.options;
    const args = [...(o.nodeFlags ?? []), '--import', 'tsx', CHILD, '--db', o.db, '--signal', o.signalUrl, '--id', o.hostId, '--lease-ms', String(o.leaseMs)];
    for (const f of o.jobFiles) args.push('--job', f);
    args.push(...(o.hostArgs ?? []));
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const life = this.lives.length;
    this.lives.push({ cpuSeconds: 0, busy: {}, accepted: 0, total: 0, inputBytes: 0, inputBytesByKey: {} });
    const ready = new Promise<void>((resolve, reject) => {
      let buffer = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        const lines = buffer.split('\n');
        buffer = lines.pop()!;
        for (const line of lines) {
          if (line.includes(' serves ')) resolve();
          this.hear(life, line);
        }
      });
      child.stderr!.on('data', (c: Buffer) => o.log?.(`[host stderr] ${c.toString().trimEnd()}`));
      child.once('exit', (code, sig) => reject(new TabgridError(ErrorCode.Network, `the host exited (${code ?? sig}) before serving`)));
      signal.addEventListener('abort', () => child.kill('SIGKILL'), { once: true });
    });
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    await ready;
  }

  /** SIGKILL: no chance to flush or say goodbye. */
  async kill(): Promise<void> {
    this.child?.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM: the host reports its last stats and closes its store. */
  async stop(): Promise<void> {
    if (!this.child || this.child.exitCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }

  /** The host's stats summed over its incarnations (CPU from each one's first report on). */
  total(): HostStats {
    const busy: Record<string, number> = {};
    for (const l of this.lives) for (const [type, s] of Object.entries(l.busy)) busy[type] = (busy[type] ?? 0) + s;
    const last = this.lives.at(-1);
    const cpuSeconds = this.lives.reduce((n, l, i) => n + l.cpuSeconds - (this.baseCpu[i] ?? 0), 0);
    // Bytes served add up over incarnations (each counts from its start); a killed one's last second of serving is not in its last report.
    const inputBytesByKey: Record<string, Record<string, number>> = {};
    for (const l of this.lives)
      for (const [key, roots] of Object.entries(l.inputBytesByKey)) {
        const into = (inputBytesByKey[key] ??= {});
        for (const [root, bytes] of Object.entries(roots)) into[root] = (into[root] ?? 0) + bytes;
      }
    const inputBytes = this.lives.reduce((n, l) => n + l.inputBytes, 0);
    return {
      cpuSeconds,
      busy,
      accepted: last?.accepted ?? 0,
      total: last?.total ?? 0,
      inputBytes,
      inputBytesByKey,
      ...(last?.swarm ? { swarm: last.swarm } : {}),
    };
  }

  private hear(life: number, line: string): void {
    if (line.startsWith(STATS_PREFIX)) {
      this.lives[life] = JSON.parse(line.slice(STATS_PREFIX.length)) as HostStats;
      this.baseCpu[life] ??= this.lives[life].cpuSeconds;
      this.latest = this.lives[life];
    } else if (line.startsWith(ACCEPTED_PREFIX)) {
      const unitId = line.slice(ACCEPTED_PREFIX.length);
      this.announced.set(unitId, (this.announced.get(unitId) ?? 0) + 1);
    } else if (line) {
      this.options.log?.(`[host] ${line}`);
    }
  }
}
