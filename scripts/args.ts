import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { dirname } from 'node:path';
import { createCpuSha256 } from '../src/hash/sha256-cpu';
import type { Ingested } from '../src/host/ingest/build';
import { ingestRequest } from '../src/host/ingest/ingest-node';
import { isJobRequest } from '../src/host/ingest/request';
import { parseJob, type JobSpec } from '../src/host/job';
import type { HostStore } from '../src/host/store/store';

/** A port from a flag, else an environment variable, else the default; refuses junk. */
export function portFrom(flag: string | undefined, envName: string, fallback: number): number {
  const raw = flag ?? process.env[envName];
  if (raw === undefined) return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${flag !== undefined ? 'flag' : envName}: ${raw} is not a port`);
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
