import { spawn, type ChildProcess } from 'node:child_process';

/** A host run as `npm run host` in its own process, so a test can kill it outright (SIGKILL: no goodbye, no flush). */
export interface HostProcess {
  readonly child: ChildProcess;
  /** Its output lines, each with the time (ms since the epoch) the test saw it. */
  readonly lines: { readonly at: number; readonly text: string }[];
  /** Resolves once it serves (signaling registered, jobs loaded). */
  readonly ready: Promise<void>;
  readonly exited: Promise<number | null>;
  kill(): Promise<void>;
}

export function startHostProcess(args: readonly string[], echo = !!process.env.TABGRID_E2E_CONSOLE): HostProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/host.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: { at: number; text: string }[] = [];
  const take = (chunk: Buffer, prefix = '') => {
    for (const text of chunk.toString().split('\n').filter(Boolean)) {
      lines.push({ at: Date.now(), text: prefix + text });
      if (echo) console.log(`[host ${child.pid}] ${prefix}${text}`);
    }
  };
  child.stdout!.on('data', (c: Buffer) => take(c));
  child.stderr!.on('data', (c: Buffer) => take(c, '[stderr] '));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (lines.some((l) => l.text.includes(' serves '))) {
        clearInterval(timer);
        resolve();
      }
    }, 20);
    void exited.then((code) => {
      clearInterval(timer);
      reject(new Error(`host exited (${code}) before serving:\n${lines.map((l) => l.text).join('\n')}`));
    });
  });
  ready.catch(() => undefined);
  return {
    child,
    lines,
    ready,
    exited,
    async kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
