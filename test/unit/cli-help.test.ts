import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { closest, CommandLineOutcome, helpHint, readCommandLine, usageText, type CommandDecl, type OptionDecls } from '../../scripts/args';
import {
  BENCH_COMMAND,
  BENCH_DAWN_COMMAND,
  BENCH_INGEST_COMMAND,
  BENCH_STORE_COMMAND,
  COMMANDS,
  FARM_COMMAND,
  HOST_COMMAND,
  SIGNAL_COMMAND,
  START_COMMAND,
  VERIFY_CREDIT_COMMAND,
  VOLUNTEER_COMMAND,
} from '../../scripts/commands';

const decl = (d: unknown) => d as CommandDecl<OptionDecls>;

/** What `argv` makes of `d`: the outcome's kind and its text or line. */
function read(d: unknown, argv: string[]): { kind: CommandLineOutcome; text: string } {
  const r = readCommandLine(decl(d), argv);
  switch (r.kind) {
    case CommandLineOutcome.Help:
      return { kind: r.kind, text: r.text };
    case CommandLineOutcome.Error:
      return { kind: r.kind, text: r.line };
    case CommandLineOutcome.Run:
      return { kind: r.kind, text: JSON.stringify(r.values) };
  }
}

/** One misspelling per command, and the option it should be taken for. */
const MISSPELT: [unknown, string, string][] = [
  [HOST_COMMAND, '--exit-when-dne', 'exit-when-done'],
  [SIGNAL_COMMAND, '--max-per-pi', 'max-per-ip'],
  [VOLUNTEER_COMMAND, '--cuont', 'count'],
  [FARM_COMMAND, '--volunters', 'volunteers'],
  [START_COMMAND, '--web-prt', 'web-port'],
  [VERIFY_CREDIT_COMMAND, '--host-kye', 'host-key'],
  [BENCH_COMMAND, '--transfer-mb', 'transfer-mib'],
  [BENCH_INGEST_COMMAND, '--sise', 'size'],
  [BENCH_STORE_COMMAND, '--volunters', 'volunteers'],
  [BENCH_DAWN_COMMAND, '--no-trch', 'no-torch'],
];

describe('command lines (scripts/args.ts, scripts/commands.ts)', () => {
  it('--help and -h give a usage listing every declared option, the command line first', () => {
    for (const d of COMMANDS.map(decl)) {
      for (const flag of ['--help', '-h']) {
        const r = read(d, [flag]);
        expect(r.kind, d.command).toBe(CommandLineOutcome.Help);
        expect(r.text).toBe(usageText(d));
        expect(r.text.split('\n')[0]).toBe(`usage: ${d.command} ${d.synopsis}`);
        for (const [name, o] of Object.entries(d.options))
          expect(r.text, `${d.command} --${name}`).toMatch(new RegExp(`^  --${name}${o.type === 'string' ? ` ${escape(o.value)}` : ''} `, 'm'));
      }
    }
    // Defaults are shown, parseArgs's and the command's own.
    expect(usageText(decl(BENCH_STORE_COMMAND))).toMatch(/^ {2}--units N +units in the job, 1\.\.1000000 \(default 16000\)$/m);
    expect(usageText(decl(HOST_COMMAND))).toMatch(/--signal URL +the signaling server \(default \$TABGRID_SIGNAL, else ws:\/\/127\.0\.0\.1:9000\/\)/);
    expect(usageText(decl(FARM_COMMAND))).toMatch(/--stun URL +a STUN server \(repeatable\)/);
  });

  it('refuses a misspelt option in one line naming the command and the flag, with the option meant', () => {
    for (const [d, flag, meant] of MISSPELT) {
      const c = decl(d);
      expect(read(c, [flag]).text).toBe(`${c.command}: unknown option ${flag} (did you mean --${meant}?; ${helpHint(c)} lists the options)`);
    }
    expect(read(FARM_COMMAND, ['--volunters', '3']).text).toBe(
      'npm run farm: unknown option --volunters (did you mean --volunteers?; npm run farm -- --help lists the options)',
    );
    expect(read(BENCH_STORE_COMMAND, ['--store', '--unit', '5']).text).toBe(
      'npm run bench -- --store: unknown option --unit (did you mean --units?; npm run bench -- --store --help lists the options)',
    );
    // Nothing close: no guess. A short option is not guessed at either.
    expect(read(FARM_COMMAND, ['--frobnicate']).text).toBe('npm run farm: unknown option --frobnicate (npm run farm -- --help lists the options)');
    expect(read(FARM_COMMAND, ['-v']).text).toBe('npm run farm: unknown option -v (npm run farm -- --help lists the options)');
    // Another benchmark's selector is not this one's option.
    expect(read(BENCH_DAWN_COMMAND, ['--dawn', '--store']).kind).toBe(CommandLineOutcome.Error);
  });

  it('refuses a missing value, a value given to a switch, and stray arguments', () => {
    for (const d of COMMANDS.map(decl)) {
      const [name, o] = Object.entries(d.options).find(([, o]) => o.type === 'string')!;
      const value = o.type === 'string' ? o.value : '';
      const needs = `${d.command}: --${name} needs a value (--${name} ${value})`;
      expect(read(d, [`--${name}`]).text).toBe(`${needs} (${helpHint(d)} lists the options)`);
      expect(read(d, [`--${name}`, '--help']).kind).toBe(CommandLineOutcome.Help);
      const next = Object.keys(d.options).find((n) => n !== name)!;
      expect(read(d, [`--${name}`, `--${next}`]).text).toBe(`${needs}, not the option --${next} (${helpHint(d)} lists the options)`);
      // A value starting with '-' goes inline, as parseArgs asks.
      expect(read(d, [`--${name}=-1`, ...(d.positionals ? ['x.json'] : [])]).kind).toBe(CommandLineOutcome.Run);
    }
    expect(read(FARM_COMMAND, ['--seed', '-1']).text).toBe(
      "npm run farm: --seed needs a value (--seed N) (one starting with '-' goes as --seed=-1) (npm run farm -- --help lists the options)",
    );
    expect(read(FARM_COMMAND, ['--node=yes']).text).toBe('npm run farm: --node takes no value (got --node=yes) (npm run farm -- --help lists the options)');
    expect(read(FARM_COMMAND, ['--volunteers', '4', '8']).text).toBe('npm run farm: unexpected argument "8" (npm run farm -- --help lists the options)');
    expect(read(VERIFY_CREDIT_COMMAND, ['a.json', 'b.json']).text).toMatch(/^npm run verify-credit: unexpected argument "b.json" \(/);
    expect(read(VERIFY_CREDIT_COMMAND, ['--host-key', 'ab']).text).toBe(
      'npm run verify-credit: give STATEMENT.json (npm run verify-credit -- --help lists the options)',
    );
  });

  it('parses every declared option, with parseArgs defaults where declared', () => {
    for (const d of COMMANDS.map(decl)) {
      const argv: string[] = [];
      const want: Record<string, unknown> = {};
      for (const [name, o] of Object.entries(d.options)) {
        if (o.type === 'boolean') {
          argv.push(`--${name}`);
          want[name] = true;
        } else {
          argv.push(`--${name}`, `v-${name}`);
          want[name] = o.multiple ? [`v-${name}`] : `v-${name}`;
        }
      }
      const r = readCommandLine(d, [...argv, ...(d.positionals ? ['s.json'] : [])]);
      expect(r.kind === CommandLineOutcome.Run && r.values, d.command).toEqual(want);
    }
    const r = readCommandLine(BENCH_STORE_COMMAND, ['--store']);
    expect(r.kind === CommandLineOutcome.Run && r.values).toEqual({
      store: true,
      units: '16000',
      volunteers: '32',
      modes: 'off,on',
      runs: '1',
      out: 'bench-results/store.json',
    });
  });

  it('guesses only within two edits', () => {
    expect(closest('volunters', ['volunteers', 'cheaters'])).toBe('volunteers');
    expect(closest('nodes', ['node', 'hosts'])).toBe('node');
    expect(closest('xyz', ['db', 'id'])).toBeUndefined();
    expect(closest('quietly', ['quiet'])).toBe('quiet');
    expect(closest('quietness', ['quiet'])).toBeUndefined();
  });
});

/** Runs a script; its exit code, stdout and stderr (a failing exit does not throw). */
function script(path: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return scriptWith({}, path, ...args);
}

/** script() with more environment variables. */
function scriptWith(env: Record<string, string>, path: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', path, ...args], { timeout: 30_000, env: { ...process.env, ...env } }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

/** A refusal as the commands must print it: one line on stderr, no stack, exit status 2. */
function expectOneLine(r: { code: number; stderr: string }, line: string | RegExp): void {
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  if (typeof line === 'string') expect(r.stderr.trimEnd()).toBe(line);
  else expect(r.stderr.trimEnd()).toMatch(line);
  expect(r.code).toBe(2);
}

describe('the commands themselves', () => {
  it('print their usage for --help, and refuse bad flags and values in one line with exit status 2', async () => {
    const [help, farm, farmValue, host, hostJob, signal, volunteer, start, verify, bench, store, ingest, dawn, signalFixedTurn, signalEnvSecret] =
      await Promise.all([
        script('scripts/verify-credit.ts', '--help'),
        script('scripts/farm.ts', '--volunters', '3'),
        script('scripts/farm.ts', '--volunteers', 'abc'),
        script('scripts/host.ts', '--job'),
        script('scripts/host.ts', '--job', '/nonexistent/job.json'),
        script('scripts/signal.ts', '--port', '99999'),
        script('scripts/volunteer.ts', '--count', '0'),
        script('scripts/start.ts', '--web-port', 'x'),
        script('scripts/verify-credit.ts', 'a.json', '--host-kye', 'ab'),
        script('scripts/bench.ts', '--sizes', '256', 'stray'),
        script('scripts/bench.ts', '--store', '--units', '0'),
        script('scripts/bench.ts', '--ingest', '--sise', '1'),
        script('scripts/bench.ts', '--dawn', '--sizes', '0'),
        // GET /ice answers anyone: it never hands out a fixed TURN password.
        script('scripts/signal.ts', '--turn', 'turn:turn.example.org:3478', '--turn-user', 'u', '--turn-credential', 'c'),
        // A deployment exporting the TURN secret to every service still starts a signaling server without TURN flags (here it stops at the port).
        scriptWith({ TABGRID_TURN_SECRET: 's3cret' }, 'scripts/signal.ts', '--port', '99999'),
      ]);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout.trimEnd()).toBe(usageText(decl(VERIFY_CREDIT_COMMAND)));
    expectOneLine(farm, 'npm run farm: unknown option --volunters (did you mean --volunteers?; npm run farm -- --help lists the options)');
    expectOneLine(farmValue, 'npm run farm: --volunteers abc must be a whole number ≥ 1');
    expectOneLine(host, 'npm run host: --job needs a value (--job FILE.json) (npm run host -- --help lists the options)');
    expectOneLine(hostJob, /^npm run host: cannot read job file \/nonexistent\/job\.json: ENOENT/);
    expectOneLine(signal, 'npm run signal: --port 99999 is not a port (1..65535)');
    expectOneLine(volunteer, 'npm run volunteer: --count 0 must be a whole number in 1..64');
    expectOneLine(start, 'npm start: --web-port x is not a port (1..65535)');
    expectOneLine(verify, /^npm run verify-credit: unknown option --host-kye \(did you mean --host-key\?;/);
    expectOneLine(bench, 'npm run bench: unexpected argument "stray" (npm run bench -- --help lists the options)');
    expectOneLine(store, 'npm run bench -- --store: --units takes a whole number in 1..1000000, not 0');
    expectOneLine(dawn, 'npm run bench -- --dawn: --sizes takes a whole number in 1..8192, not 0');
    expectOneLine(ingest, /^npm run bench -- --ingest: unknown option --sise \(did you mean --size\?;/);
    expectOneLine(signalFixedTurn, /^npm run signal: GET \/ice would hand a fixed TURN password to anyone who asks: give --turn-secret/);
    expectOneLine(signalEnvSecret, 'npm run signal: --port 99999 is not a port (1..65535)');
  }, 30_000);
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
