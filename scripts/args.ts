import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { dirname } from 'node:path';
import { createCpuSha256 } from '../src/hash/sha256-cpu';
import type { Ingested } from '../src/host/ingest/build';
import { ingestRequest } from '../src/host/ingest/ingest-node';
import { isJobRequest } from '../src/host/ingest/request';
import { parseJob, type JobSpec } from '../src/host/job';
import type { HostStore } from '../src/host/store/store';

/** A port from a flag (`flagName`), else an environment variable, else the default; refuses junk, naming where it came from. */
export function portFrom(flag: string | undefined, flagName: string, envName: string | undefined, fallback: number): number {
  const raw = flag ?? (envName === undefined ? undefined : process.env[envName]);
  if (raw === undefined) return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${flag !== undefined ? flagName : `$${envName}`} ${raw} is not a port (1..65535)`);
  return port;
}

/**
 * Job files for a host on `store`: a seeded job spec as it is, or a job request naming its own
 * input files (relative to the job file; README "Your own data"), whose inputs are read,
 * checked and saved to the store as datasets before the host opens. A bad file stops here,
 * naming itself, before anything of it is stored.
 */
export async function readJobs(paths: readonly string[], store: HostStore): Promise<JobSpec[]> {
  const hash = await createCpuSha256();
  const jobs: { spec: JobSpec; datasets?: Ingested['datasets'] }[] = [];
  // Every file read and checked first: one bad file stores nothing of any.
  for (const path of paths) {
    const raw = readJson(path);
    if (!isJobRequest(raw)) {
      jobs.push({ spec: parseJob(raw) });
      continue;
    }
    try {
      jobs.push(await ingestRequest(raw, { base: dirname(path), hash }));
    } catch (err) {
      throw new Error(`job file ${path}: ${(err as Error).message}`, { cause: err });
    }
  }
  for (const { datasets } of jobs) for (const [root, data] of datasets ?? []) await store.saveDataset({ root, data, createdAt: Date.now() });
  return jobs.map((j) => j.spec);
}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read job file ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`job file ${path} is not JSON: ${(err as Error).message}`, { cause: err });
  }
}

export function readJob(path: string): JobSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read job file ${path}: ${(err as Error).message}`, { cause: err });
  }
  let spec: unknown;
  try {
    spec = JSON.parse(text);
  } catch (err) {
    throw new Error(`job file ${path} is not JSON: ${(err as Error).message}`, { cause: err });
  }
  return parseJob(spec);
}

export { parseArgs };

/*
 * Command lines, declared once. Each option of a command is declared with its type, value name,
 * default and a one-line description; the declaration feeds node's parseArgs (strict) and the
 * usage that --help prints. Bad input (an unknown option, a missing value, a stray argument)
 * ends the command with one line on stderr naming it, and exit status 2: no stack trace.
 */

interface OptionBase {
  /** One line: what the option does. */
  readonly describe: string;
  /** The heading it is listed under in the usage (default "Options"). */
  readonly group?: string;
  /** An environment variable the command reads when the flag is absent (shown in the usage). */
  readonly env?: string;
  /** A default the command applies itself (one that depends on the environment or on other flags), shown in the usage. */
  readonly shownDefault?: string;
}
export interface StringOption extends OptionBase {
  readonly type: 'string';
  /** The value's name in the usage: N, FILE.json, URL. */
  readonly value: string;
  readonly multiple?: boolean;
  /** Given to parseArgs: the value when the flag is absent. */
  readonly default?: string;
}
export interface BooleanOption extends OptionBase {
  readonly type: 'boolean';
}
export type OptionDecl = StringOption | BooleanOption;
export type OptionDecls = Readonly<Record<string, OptionDecl>>;

export interface CommandDecl<O extends OptionDecls = OptionDecls> {
  /** How it is run, as the user types it: `npm run farm`, `npm run bench -- --store`. */
  readonly command: string;
  /** What follows the command in the usage's first line: `-- --volunteers N [options]`. */
  readonly synopsis: string;
  /** What it does: a sentence or two (lines of at most 100 characters). */
  readonly about: string;
  readonly options: O;
  /** Positional arguments it takes (none when absent): their name in the usage and how many. */
  readonly positionals?: { readonly value: string; readonly min: number; readonly max: number };
  /** Printed after the options: other forms of the command, notes. */
  readonly more?: string;
}

/** The identity function, for the types: option literals keep their literal types. */
export function defineCommand<const O extends OptionDecls>(decl: CommandDecl<O>): CommandDecl<O> {
  return decl;
}

type ValueOf<D> = D extends { readonly type: 'boolean' } ? boolean : D extends { readonly multiple: true } ? string[] : string;
/** The parsed values: an option with a default always has one. */
export type Values<O extends OptionDecls> = {
  -readonly [K in keyof O as O[K] extends { readonly default: string } ? K : never]: ValueOf<O[K]>;
} & {
  -readonly [K in keyof O as O[K] extends { readonly default: string } ? never : K]?: ValueOf<O[K]>;
};

export const CommandLineOutcome = { Run: 'run', Help: 'help', Error: 'error' } as const;
export type CommandLineOutcome = (typeof CommandLineOutcome)[keyof typeof CommandLineOutcome];

export type ReadCommandLine<O extends OptionDecls> =
  | { readonly kind: typeof CommandLineOutcome.Run; readonly values: Values<O>; readonly positionals: string[] }
  | { readonly kind: typeof CommandLineOutcome.Help; readonly text: string }
  | { readonly kind: typeof CommandLineOutcome.Error; readonly line: string };

const HELP: BooleanOption = { type: 'boolean', describe: 'print this usage and exit' };

/** What `argv` asks of the command, with no side effect: its values, its usage (for --help/-h), or the one-line error. */
export function readCommandLine<O extends OptionDecls>(decl: CommandDecl<O>, argv: readonly string[]): ReadCommandLine<O> {
  const options = { ...decl.options, help: { ...HELP, short: 'h' } };
  const refuse = (what: string, near?: string) =>
    ({
      kind: CommandLineOutcome.Error,
      line: `${decl.command}: ${what} (${near ? `did you mean --${near}?; ` : ''}${helpHint(decl)} lists the options)`,
    }) as const;
  // Read leniently first, to name the first offending token; strict parsing follows.
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  // --help anywhere before a `--` asks for the usage, even where an option took it for its value (`--job --help`).
  const end = argv.indexOf('--');
  if ((end < 0 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h')) return { kind: CommandLineOutcome.Help, text: usageText(decl) };
  let positionals = 0;
  for (const t of tokens) {
    if (t.kind === 'option-terminator') continue;
    if (t.kind === 'positional') {
      positionals++;
      if (positionals > (decl.positionals?.max ?? 0)) return refuse(`unexpected argument ${JSON.stringify(t.value)}`);
      continue;
    }
    const o = Object.hasOwn(decl.options, t.name) ? decl.options[t.name]! : undefined;
    if (o === undefined) {
      const near = t.rawName.startsWith('--') ? closest(t.name, Object.keys(options)) : undefined;
      return refuse(`unknown option ${t.rawName}`, near);
    }
    if (o.type === 'boolean' && t.inlineValue) return refuse(`${t.rawName} takes no value (got ${t.rawName}=${t.value ?? ''})`);
    if (o.type === 'string' && (t.value === undefined || (!t.inlineValue && t.value.startsWith('-')))) {
      const after =
        t.value === undefined ? '' : t.value.startsWith('--') ? `, not the option ${t.value}` : ` (one starting with '-' goes as ${t.rawName}=${t.value})`;
      return refuse(`${t.rawName} needs a value (${t.rawName} ${o.value})${after}`);
    }
  }
  if (decl.positionals && positionals < decl.positionals.min) return refuse(`give ${decl.positionals.value}`);
  try {
    const parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: decl.positionals !== undefined });
    const { help: _help, ...values } = parsed.values as Record<string, unknown>;
    return { kind: CommandLineOutcome.Run, values: values as Values<O>, positionals: parsed.positionals };
  } catch (err) {
    // Not expected after the checks above; still one line, not a stack.
    return refuse((err as Error).message.split('\n')[0]!);
  }
}

/** The command as the user types it to get its usage. */
export function helpHint(decl: CommandDecl<OptionDecls>): string {
  return `${decl.command}${decl.command.includes(' -- ') ? '' : ' --'} --help`;
}

/** The declared option closest in spelling to `name` (at most 2 edits), if one is. */
export function closest(name: string, names: readonly string[]): string | undefined {
  let best: { name: string; d: number } | undefined;
  for (const n of names) {
    const d = editDistance(name, n);
    if (d <= 2 && d < n.length && (best === undefined || d < best.d)) best = { name: n, d };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = row;
  }
  return prev[b.length]!;
}

/** The usage --help prints: the command line, what it does, the options by group with their defaults. */
export function usageText(decl: CommandDecl<OptionDecls>): string {
  const rows = new Map<string, [string, string][]>();
  const entries: [string, OptionDecl][] = [...Object.entries(decl.options), ['help', { ...HELP, group: 'Help' }]];
  for (const [name, o] of entries) {
    const left = `${name === 'help' ? '-h, ' : ''}--${name}${o.type === 'string' ? ` ${o.value}` : ''}`;
    const notes = [
      o.type === 'string' && o.multiple ? 'repeatable' : undefined,
      o.type === 'string' && o.default !== undefined ? `default ${o.default}` : undefined,
      o.env !== undefined ? `default $${o.env}${o.shownDefault !== undefined ? `, else ${o.shownDefault}` : ''}` : undefined,
      o.env === undefined && o.shownDefault !== undefined ? `default ${o.shownDefault}` : undefined,
    ].filter((n) => n !== undefined);
    const group = o.group ?? 'Options';
    if (!rows.has(group)) rows.set(group, []);
    rows.get(group)!.push([left, `${o.describe}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`]);
  }
  const width = Math.min(30, Math.max(...[...rows.values()].flat().map(([left]) => left.length)));
  const lines = [`usage: ${decl.command} ${decl.synopsis}`.trimEnd(), '', decl.about];
  for (const [group, list] of rows) {
    lines.push('', `${group}:`);
    for (const [left, right] of list) lines.push(left.length > width ? `  ${left}\n  ${' '.repeat(width)}  ${right}` : `  ${left.padEnd(width)}  ${right}`);
  }
  if (decl.more) lines.push('', decl.more);
  return lines.join('\n');
}

/** A command's parsed line, and how it refuses a value it checks later: one line, exit status 2. */
export interface CommandLine<O extends OptionDecls> {
  readonly values: Values<O>;
  readonly positionals: string[];
  /** Ends the process: `message` on one line naming the command, exit status 2. */
  fail(message: string): never;
  /** `fn()`, or, when it throws (a flag's value refused where it is checked), fail with its message. */
  check<T>(fn: () => T): T;
  checkAsync<T>(fn: () => Promise<T>): Promise<T>;
}

/**
 * The command line of this process (`argv`, default process.argv's arguments), parsed as `decl`
 * declares: --help/-h prints the usage and exits 0; bad input prints one line and exits 2.
 */
export function parseCommand<O extends OptionDecls>(decl: CommandDecl<O>, argv: readonly string[] = process.argv.slice(2)): CommandLine<O> {
  const read = readCommandLine(decl, argv);
  if (read.kind === CommandLineOutcome.Help) {
    console.log(read.text);
    process.exit(0);
  }
  if (read.kind === CommandLineOutcome.Error) {
    console.error(read.line);
    process.exit(2);
  }
  const fail = (message: string): never => {
    console.error(`${decl.command}: ${message}`);
    process.exit(2);
  };
  const message = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
  return {
    values: read.values,
    positionals: read.positionals,
    fail,
    check: (fn) => {
      try {
        return fn();
      } catch (err) {
        return fail(message(err));
      }
    },
    checkAsync: async (fn) => {
      try {
        return await fn();
      } catch (err) {
        return fail(message(err));
      }
    },
  };
}
