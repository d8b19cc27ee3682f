import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseJob, type JobSpec } from '../src/host/job';

/** A port from a flag, else an environment variable, else the default; refuses junk. */
export function portFrom(flag: string | undefined, envName: string, fallback: number): number {
  const raw = flag ?? process.env[envName];
  if (raw === undefined) return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${flag !== undefined ? 'flag' : envName}: ${raw} is not a port`);
  return port;
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
