import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { openDawn } from '../../src/gpu/dawn';

/**
 * Dawn on a software Vulkan for tests: Mesa 25's lavapipe, unpacked by scripts/lavapipe.sh into
 * .cache/lavapipe (fetched here on first use if missing). Its variables must be in a process's
 * environment when it starts (the dynamic loader reads LD_LIBRARY_PATH only then), so tests run
 * Dawn in a child process with `env`, or in-process in the `dawn` project (`dawnGpu`). Without
 * Vulkan or Dawn, `skip` says why.
 */
export type DawnTestEnv = { readonly env: NodeJS.ProcessEnv } | { readonly skip: string };

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
  return { env };
}

/**
 * Dawn in this process, for kernel tests: its GPU (unsafe APIs on, so experimental features are
 * offered where the driver has them) and adapter, or why there is none. The `dawn` test project
 * (files named *-dawn.test.ts) starts with lavapipe's variables when scripts/lavapipe.sh has
 * unpacked it (vite.config.ts); other callers run Dawn in a child with `dawnTestEnv().env`.
 */
export async function dawnGpu(): Promise<{ gpu: GPU; adapter: GPUAdapter } | { skip: string }> {
  let gpu: GPU;
  try {
    ({ gpu } = await openDawn(['enable-dawn-features=allow_unsafe_apis']));
  } catch (err) {
    return { skip: err instanceof Error ? err.message : String(err) };
  }
  const adapter = await gpu.requestAdapter();
  if (!adapter) return { skip: 'Dawn found no Vulkan adapter (for lavapipe set LD_LIBRARY_PATH and VK_ICD_FILENAMES before Node starts)' };
  return { gpu, adapter };
}
