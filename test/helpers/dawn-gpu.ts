/**
 * WebGPU in Node through Dawn (the optional `webgpu` package) on whatever Vulkan the process
 * was started with (lavapipe here: LD_LIBRARY_PATH and VK_ICD_FILENAMES, see docs). Resolves to
 * the GPU object, or to the reason there is none, for `describe.skipIf` to print.
 */
export async function dawnGpu(): Promise<{ gpu: GPU; skip?: undefined } | { gpu?: undefined; skip: string }> {
  if (!process.env.VK_ICD_FILENAMES) return { skip: 'no Vulkan driver named (VK_ICD_FILENAMES unset): Dawn tests skipped' };
  try {
    const { create, globals } = (await import('webgpu')) as { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
    Object.assign(globalThis, globals);
    const gpu = create([]);
    const adapter = await gpu.requestAdapter();
    if (!adapter) return { skip: 'Dawn found no Vulkan adapter' };
    return { gpu };
  } catch (err) {
    return { skip: `Dawn did not load: ${String(err)}` };
  }
}
