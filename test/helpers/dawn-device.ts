import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { GpuDevices } from '../../src/gpu/device';

/**
 * Dawn on a software Vulkan for tests: Mesa 25's lavapipe, unpacked by scripts/lavapipe.sh into
 * .cache/lavapipe (fetched here on first use if missing). Its variables must be in a process's
 * environment when it starts (the dynamic loader reads LD_LIBRARY_PATH only then), so tests run
 * Dawn in a child process with `env`; a test run started under `scripts/lavapipe.sh --` has them
 * already and may open Dawn in-process (`inProcess`). Without Vulkan or Dawn, `skip` says why.
 */
export type DawnTestEnv = { readonly env: NodeJS.ProcessEnv; readonly inProcess: boolean } | { readonly skip: string };

const repo = join(import.meta.dirname, '../..');
let cached: DawnTestEnv | undefined;

export function dawnTestEnv(): DawnTestEnv {
  cached ??= find();
  if ('skip' in cached) console.warn(`Dawn tests skipped: ${cached.skip}`);
  return cached;
}

function find(): DawnTestEnv {
  try {
    createRequire(import.meta.url).resolve('webgpu');
  } catch {
    return { skip: 'the optional package webgpu (Dawn for Node) is not installed' };
  }
  if (process.platform !== 'linux' || process.arch !== 'x64')
    return { skip: `lavapipe is set up for linux-x64 only (this is ${process.platform}-${process.arch})` };
  const run = spawnSync('bash', [join(repo, 'scripts/lavapipe.sh'), '--env'], { encoding: 'utf8', timeout: 120_000 });
  if (run.status !== 0)
    return { skip: `scripts/lavapipe.sh could not provide lavapipe: ${(run.stderr || String(run.error)).trim().split('\n').slice(-3).join(' / ')}` };
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const line of run.stdout.trim().split('\n')) {
    const m = /^export ([A-Z_]+)=(.*)$/.exec(line);
    if (m) env[m[1]!] = m[2];
  }
  const icd = env.VK_ICD_FILENAMES;
  if (!icd || !existsSync(icd)) return { skip: `scripts/lavapipe.sh printed no ICD file (${run.stdout.trim()})` };
  return { env, inProcess: process.env.VK_ICD_FILENAMES === icd && (process.env.LD_LIBRARY_PATH ?? '').startsWith(env.LD_LIBRARY_PATH!.split(':')[0]!) };
}

/**
 * GpuDevices on Dawn in this process, for kernel tests: only when the run was started with
 * lavapipe's variables (`scripts/lavapipe.sh -- npx vitest run …`), or on a machine with a Vulkan
 * GPU (VK_ICD_FILENAMES set by the caller); otherwise `skip` says how to get one.
 */
export async function dawnDevicesHere(flags: readonly string[] = []): Promise<{ readonly devices: GpuDevices } | { readonly skip: string }> {
  const found = dawnTestEnv();
  if ('skip' in found) return found;
  if (!found.inProcess && process.env.VK_ICD_FILENAMES === undefined)
    return { skip: 'Dawn in this process needs lavapipe from its start: run the tests under scripts/lavapipe.sh --' };
  const { dawnDevices } = await import('../../src/gpu/dawn');
  const devices = await dawnDevices(flags);
  try {
    await devices.adapter();
  } catch (err) {
    return { skip: `Dawn found no adapter: ${err instanceof Error ? err.message : String(err)}` };
  }
  return { devices };
}
