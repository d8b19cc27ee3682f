/**
 * Dawn (the `webgpu` package) in Node on a Vulkan adapter, for GPU tests outside the browser: a
 * GPU, or why there is none. Lavapipe (Mesa 25) needs LD_LIBRARY_PATH and VK_ICD_FILENAMES set
 * before Node starts: vite.config.ts gives them to the `dawn` test project (files named *-dawn.test.ts)
 * when scripts/lavapipe.sh has unpacked it; test/helpers/dawn-device.ts runs Dawn in a child instead.
 */
export async function dawnGpu(): Promise<{ gpu: GPU; adapter: GPUAdapter } | { skip: string }> {
  let webgpu: { create(flags: string[]): GPU; globals: object };
  try {
    webgpu = (await import('webgpu')) as typeof webgpu;
  } catch (err) {
    return { skip: `the optional 'webgpu' package (Dawn for Node) is not installed: ${String(err)}` };
  }
  Object.assign(globalThis, webgpu.globals);
  const gpu = webgpu.create(['enable-dawn-features=allow_unsafe_apis']);
  const adapter = await gpu.requestAdapter();
  if (!adapter) return { skip: 'Dawn found no Vulkan adapter (for lavapipe set LD_LIBRARY_PATH and VK_ICD_FILENAMES before Node starts)' };
  return { gpu, adapter };
}
