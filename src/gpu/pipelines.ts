import { ErrorCode, TabgridError } from '../errors';
import { withErrorScopes } from './device';

/**
 * One compute pipeline per device for a WGSL module and a set of override constants: compiled
 * on first use, inside error scopes (a shader error fails the call instead of passing silently),
 * and compiled again on the new device after a loss.
 */
export class PipelineCache {
  private readonly byDevice = new WeakMap<GPUDevice, Promise<GPUComputePipeline>>();

  constructor(
    private readonly label: string,
    private readonly code: string,
    private readonly constants: Record<string, number> = {},
    private readonly entryPoint = 'main',
  ) {}

  get(device: GPUDevice): Promise<GPUComputePipeline> {
    const cached = this.byDevice.get(device);
    if (cached) return cached;
    const pipeline = this.compile(device);
    // A failed compile is not cached: the next call reports the error again.
    pipeline.catch(() => this.byDevice.delete(device));
    this.byDevice.set(device, pipeline);
    return pipeline;
  }

  private async compile(device: GPUDevice): Promise<GPUComputePipeline> {
    // The module's validation errors land in the scopes; a bad pipeline rejects the promise.
    const pending = await withErrorScopes(device, () => {
      const created = device.createComputePipelineAsync({
        layout: 'auto',
        compute: {
          module: device.createShaderModule({ code: this.code, label: this.label }),
          entryPoint: this.entryPoint,
          constants: this.constants,
        },
        label: this.label,
      });
      // When the scopes report a bad module first, nobody awaits this rejection: it is the same error.
      created.catch(() => undefined);
      return created;
    });
    try {
      return await pending;
    } catch (err) {
      throw new TabgridError(ErrorCode.GpuError, `${this.label}: ${(err as Error).message}`, { cause: err });
    }
  }
}
