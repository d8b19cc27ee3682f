/**
 * A throwaway coturn (Debian's `turnserver`) on loopback with a shared secret (its
 * `use-auth-secret`, the TURN REST scheme host/turn-credentials.ts mints for), for the farm's
 * --turn and the e2e tests: its own port, relay port range, database and pid file in a temp dir,
 * no CLI, no TLS; loopback peers allowed (coturn refuses to relay to them by default).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port';

export interface TurnServer {
  /** turn:127.0.0.1:PORT?transport=udp */
  readonly url: string;
  readonly port: number;
  readonly secret: string;
  /** The ports coturn allocates relays on (127.0.0.1): a candidate there is a TURN relay address. */
  readonly relayPorts: readonly [number, number];
  /** What coturn logged (refused credentials show here as check_stun_auth / 401 lines). */
  readonly log: string[];
  close(): Promise<void>;
}

export const TURNSERVER = process.env.TABGRID_TURNSERVER ?? 'turnserver';

export const TURN_INSTALL_HINT = 'coturn is not installed: `sudo apt-get install -y coturn` (gives turnserver), or set TABGRID_TURNSERVER to its path';

/** True when `turnserver` runs here. */
export function turnServerAvailable(): boolean {
  return spawnSync(TURNSERVER, ['--version'], { stdio: 'ignore' }).error === undefined;
}

export async function startTurnServer(options: { secret?: string; log?: (line: string) => void } = {}): Promise<TurnServer> {
  if (!turnServerAvailable()) throw new Error(TURN_INSTALL_HINT);
  const secret = options.secret ?? randomBytes(16).toString('hex');
  // A port free a moment ago can be taken before coturn binds it (CI saw a WebRTC socket of a
  // parallel test win that race): a bind failure picks fresh ports and tries again.
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= 4; attempt++) {
    try {
      return await startOnce(secret, options.log);
    } catch (err) {
      lastError = err as Error;
      if (!(err instanceof PortTaken)) throw err;
    }
  }
  throw lastError ?? new Error('turnserver did not start');
}

class PortTaken extends Error {}

async function startOnce(secret: string, sink?: (line: string) => void): Promise<TurnServer> {
  const port = await freeUdpTcpPort();
  // 200 relay ports in 20000–31999, below Linux's ephemeral range (32768+) where the OS hands
  // out the sockets of every other test.
  const minPort = 20_000 + Math.floor(Math.random() * 60) * 200;
  const dir = mkdtempSync(join(tmpdir(), 'tabgrid-turn-'));
  const args = [
    '-n',
    '--listening-ip=127.0.0.1',
    '--relay-ip=127.0.0.1',
    `--listening-port=${port}`,
    `--min-port=${minPort}`,
    `--max-port=${minPort + 199}`,
    '--use-auth-secret',
    `--static-auth-secret=${secret}`,
    '--realm=tabgrid.test',
    '--allow-loopback-peers',
    '--no-cli',
    '--no-tls',
    '--no-dtls',
    '--fingerprint',
    '--no-software-attribute',
    `--db=${join(dir, 'turndb')}`,
    `--pidfile=${join(dir, 'turnserver.pid')}`,
    '--log-file=stdout',
    '--simple-log',
  ];
  const child = spawn(TURNSERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  const hear = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      if (!line.trim()) continue;
      if (log.length < 2000) log.push(line);
      sink?.(`[turn] ${line}`);
    }
  };
  child.stdout.on('data', hear);
  child.stderr.on('data', hear);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await answersStun(port, 10_000, () => child.exitCode !== null || bindFailed(log));
  } catch (err) {
    await close();
    const message = `turnserver did not come up on 127.0.0.1:${port}: ${(err as Error).message}\n${log.slice(-10).join('\n')}`;
    throw bindFailed(log) ? new PortTaken(message, { cause: err }) : new Error(message, { cause: err });
  }
  return { url: `turn:127.0.0.1:${port}?transport=udp`, port, secret, relayPorts: [minPort, minPort + 199], log, close };
}

function bindFailed(log: readonly string[]): boolean {
  return log.some((line) => line.includes('Address already in use') || line.includes('Cannot bind'));
}

/** A loopback port free for both TCP and UDP right now (coturn listens on both). */
async function freeUdpTcpPort(): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const port = await freePort();
    const udpFree = await new Promise<boolean>((resolve) => {
      const socket = createSocket('udp4');
      socket.once('error', () => resolve(false));
      socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error('no loopback port free for both TCP and UDP in 50 tries');
}

/** Sends STUN binding requests to 127.0.0.1:port until one is answered. */
function answersStun(port: number, timeoutMs: number, died: () => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    const request = Buffer.alloc(20);
    request.writeUInt16BE(0x0001, 0); // Binding request
    request.writeUInt32BE(0x2112a442, 4); // magic cookie
    randomBytes(12).copy(request, 8);
    const done = (err?: Error) => {
      clearInterval(timer);
      socket.close();
      if (err) reject(err);
      else resolve();
    };
    const until = Date.now() + timeoutMs;
    const timer = setInterval(() => {
      if (died()) return done(new Error('it exited or could not bind its port'));
      if (Date.now() > until) return done(new Error(`no STUN answer in ${timeoutMs} ms`));
      socket.send(request, port, '127.0.0.1');
    }, 100);
    socket.on('message', () => done());
    socket.on('error', (err) => done(err));
  });
}
