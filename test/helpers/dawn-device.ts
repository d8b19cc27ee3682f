/**
 * Dawn (the `webgpu` package) in Node for unit tests: a WebGPU implementation on whatever Vulkan
 * the process can load (Mesa's lavapipe here; see docs and .ci/run). Without one the tests that
 * need it skip, saying why. One tiny file so the project's shared helper can replace it.
 */
export interface DawnGpu {
  readonly gpu?: GPU;
  /** Why there is no GPU, when there is none. */
  readonly reason?: string;
}

let loaded: Promise<DawnGpu> | undefined;

export function dawnGpu(): Promise<DawnGpu> {
  loaded ??= load();
  return loaded;
}

async function load(): Promise<DawnGpu> {
  let dawn: { create(flags: string[]): GPU; globals: object };
  try {
    dawn = (await import('webgpu')) as unknown as typeof dawn;
  } catch (err) {
    return { reason: `the optional webgpu package is not installed (${String(err)})` };
  }
  // GPUBufferUsage, GPUMapMode… as a page has them.
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create(['enable-dawn-features=allow_unsafe_apis']);
  const adapter = await gpu.requestAdapter();
  if (!adapter) {
    return {
      reason:
        'Dawn found no Vulkan adapter: run with LD_LIBRARY_PATH=/work/lavapipe/root/usr/lib/x86_64-linux-gnu VK_ICD_FILENAMES=/work/lavapipe/lvp.json (Mesa 25 lavapipe)',
    };
  }
  return { gpu };
}
