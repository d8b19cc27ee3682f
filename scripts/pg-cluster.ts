/**
 * A throwaway PostgreSQL cluster for tests and the farm: Debian's binaries (initdb, postgres),
 * a data directory in a fresh temp dir, a free loopback port, trust authentication for its one
 * user. PostgreSQL refuses to run as root, so as root it runs as `nobody` (setpriv), which owns
 * the temp dir. stop() shuts it down (fast) and deletes everything.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './free-port';

/** The cluster's superuser. */
const USER = 'tabgrid';
/** The unprivileged account PostgreSQL runs as when we are root. */
const NOBODY = { uid: 65534, gid: 65534 };

/** The directory holding initdb and postgres: TABGRID_PG_BIN, else the newest /usr/lib/postgresql/N/bin. Undefined when none is installed. */
export function postgresBin(): string | undefined {
  const given = process.env.TABGRID_PG_BIN;
  if (given) return existsSync(join(given, 'postgres')) ? given : undefined;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] && join(root, versions[0], 'bin');
}

export interface PgClusterOptions {
  /** fsync on (the default): the durability a real host would have. Off for quick tests that never crash the server. */
  readonly fsync?: boolean;
  readonly maxConnections?: number;
  readonly log?: (line: string) => void;
}

export class PgCluster {
  private databases = 0;

  private constructor(
    private readonly dir: string,
    private readonly server: ChildProcess,
    readonly port: number,
    private readonly exited: Promise<void>,
  ) {}

  /** Makes and starts a cluster; resolves once it accepts connections. Throws when PostgreSQL is not installed. */
  static async start(options: PgClusterOptions = {}): Promise<PgCluster> {
    const bin = postgresBin();
    if (!bin) throw new Error('PostgreSQL is not installed (no /usr/lib/postgresql/N/bin/postgres): apt-get install postgresql, or set TABGRID_PG_BIN');
    const root = process.getuid?.() === 0;
    const dir = mkdtempSync(join(tmpdir(), 'tabgrid-pg-'));
    if (root) chownSync(dir, NOBODY.uid, NOBODY.gid);
    // As root, run as nobody (PostgreSQL refuses root); otherwise as ourselves.
    const as = (command: string, args: string[]): [string, string[]] =>
      root ? ['setpriv', [`--reuid=${NOBODY.uid}`, `--regid=${NOBODY.gid}`, '--clear-groups', command, ...args]] : [command, args];
    const data = join(dir, 'data');
    const [initCmd, initArgs] = as(join(bin, 'initdb'), ['-D', data, '-U', USER, '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
    const init = spawnSync(initCmd, initArgs, { encoding: 'utf8' });
    if (init.status !== 0) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`initdb failed (${init.status ?? init.signal}): ${init.stderr || init.error?.message}`);
    }
    const port = await freePort();
    const settings = [
      ['listen_addresses', '127.0.0.1'],
      ['unix_socket_directories', dir],
      ['fsync', options.fsync === false ? 'off' : 'on'],
      ['max_connections', String(options.maxConnections ?? 100)],
      ['shared_buffers', '64MB'],
    ];
    const [cmd, args] = as(join(bin, 'postgres'), ['-D', data, '-p', String(port), ...settings.flatMap(([k, v]) => ['-c', `${k}=${v}`])]);
    const server = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    server.stderr!.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString()).slice(-4000);
      options.log?.(c.toString().trimEnd());
    });
    const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
    // A test runner that dies must not leave a server behind: SIGQUIT is PostgreSQL's immediate shutdown.
    const orphan = () => server.kill('SIGQUIT');
    process.once('exit', orphan);
    void exited.then(() => process.removeListener('exit', orphan));
    const cluster = new PgCluster(dir, server, port, exited);
    for (const until = Date.now() + 30_000; ;) {
      if (server.exitCode !== null) {
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`postgres exited (${server.exitCode}) while starting: ${stderr}`);
      }
      const client = new pg.Client({ connectionString: cluster.url('postgres') });
      try {
        await client.connect();
        await client.end();
        return cluster;
      } catch (err) {
        await client.end().catch(() => undefined);
        if (Date.now() > until) {
          await cluster.stop();
          throw new Error(`postgres did not accept connections within 30 s: ${(err as Error).message}\n${stderr}`, { cause: err });
        }
        await sleep(100);
      }
    }
  }

  /** The connection URL of database `name`. */
  url(name: string): string {
    return `postgres://${USER}@127.0.0.1:${this.port}/${name}`;
  }

  /** A new empty database; resolves to its URL. */
  async createDatabase(prefix = 'tabgrid'): Promise<string> {
    const name = `${prefix}_${++this.databases}`;
    const client = new pg.Client({ connectionString: this.url('postgres') });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE ${name}`);
    } finally {
      await client.end();
    }
    return this.url(name);
  }

  /**
   * CPU seconds the server has used so far (Linux /proc): the postmaster's own and its reaped
   * children's, plus the backends running now. Undefined where /proc cannot tell.
   */
  cpuSeconds(): number | undefined {
    const pid = this.server.pid;
    if (pid === undefined || !existsSync(`/proc/${pid}/stat`)) return undefined;
    // Fields after the command name (which may hold spaces): state is [0], ppid [1], utime [11], stime [12], cutime [13], cstime [14].
    const fields = (p: string) =>
      readFileSync(`/proc/${p}/stat`, 'utf8')
        .replace(/^.*\) /s, '')
        .split(' ');
    const ticks = 100; // USER_HZ, 100 on every Linux architecture
    const own = fields(String(pid));
    let total = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
    for (const p of readdirSync('/proc')) {
      if (!/^\d+$/.test(p)) continue;
      try {
        const f = fields(p);
        if (Number(f[1]) === pid) total += Number(f[11]) + Number(f[12]);
      } catch {
        // The process ended while we looked.
      }
    }
    return total / ticks;
  }

  /** Fast shutdown (SIGINT), then the data directory goes. */
  async stop(): Promise<void> {
    if (this.server.exitCode === null && this.server.signalCode === null) {
      this.server.kill('SIGINT');
      const timer = setTimeout(() => this.server.kill('SIGQUIT'), 10_000);
      await this.exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
