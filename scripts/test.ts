/**
 * `npm test`: typecheck, lint, unit (and Dawn), browser, then end-to-end, in that order, with the
 * two end-to-end specs that mostly wait on Chrome's background clocks (a page hidden 6 minutes, a
 * page frozen 90 s; the `background` Playwright project) started first and run beside all of it.
 * They take about 10 minutes of waiting; run after the other phases, as before, they set the
 * suite's length. Their output is kept and printed when they end, so it does not interleave.
 * The first failing phase stops the run (the background specs too); the exit status is 1 when
 * any phase failed.
 */
import { spawn, type ChildProcess } from 'node:child_process';

const CONFIG = 'test/e2e/playwright.config.ts';

interface Phase {
  readonly name: string;
  readonly command: readonly string[];
}

const PHASES: readonly Phase[] = [
  { name: 'typecheck', command: ['npm', 'run', 'typecheck'] },
  { name: 'lint', command: ['npm', 'run', 'lint'] },
  { name: 'unit', command: ['npm', 'run', 'test:unit'] },
  { name: 'browser', command: ['npm', 'run', 'test:browser'] },
  // Its own output folder: each Playwright run empties the one it writes to.
  { name: 'e2e', command: ['npx', 'playwright', 'test', '-c', CONFIG, '--project', 'e2e'] },
];

const BACKGROUND: Phase = {
  name: 'e2e background',
  command: ['npx', 'playwright', 'test', '-c', CONFIG, '--project', 'background', '--output', 'test-results/e2e-background'],
};

function run(phase: Phase, capture?: string[]): { child: ChildProcess; done: Promise<number> } {
  const [command, ...args] = phase.command as [string, ...string[]];
  const child = spawn(command, args, { stdio: capture ? ['ignore', 'pipe', 'pipe'] : 'inherit', detached: capture !== undefined });
  if (capture) {
    const keep = (chunk: Buffer) => capture.push(chunk.toString());
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }
  const done = new Promise<number>((resolve) => {
    child.once('error', (err) => {
      capture?.push(`${phase.name}: could not start: ${err.message}\n`);
      resolve(1);
    });
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
  return { child, done };
}

const started = Date.now();
const minutes = () => ((Date.now() - started) / 60_000).toFixed(1);
const backgroundOutput: string[] = [];
const background = run(BACKGROUND, backgroundOutput);
console.log(`[npm test] ${BACKGROUND.name}: started beside the other phases (its output follows when it ends)`);

/** The whole process group: Playwright's workers and the browsers and hosts they started. */
function stopBackground(): void {
  if (background.child.pid === undefined) return;
  try {
    process.kill(-background.child.pid, 'SIGTERM');
  } catch {
    // Already gone.
  }
}
// It runs in a process group of its own, so an interrupt of npm test must be passed on.
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    stopBackground();
    process.exit(130);
  });

let failed: string | undefined;
for (const phase of PHASES) {
  console.log(`\n[npm test] ${phase.name} (at ${minutes()} min)`);
  const code = await run(phase).done;
  if (code !== 0) {
    failed = phase.name;
    break;
  }
}

if (failed) stopBackground();
const backgroundCode = await background.done;
console.log(`\n[npm test] ${BACKGROUND.name} ${failed ? '(stopped)' : ''}:\n${backgroundOutput.join('')}`);
if (!failed && backgroundCode !== 0) failed = BACKGROUND.name;
console.log(`[npm test] ${failed ? `FAILED: ${failed}` : 'every phase passed'} in ${minutes()} min`);
process.exit(failed ? 1 : 0);
