/**
 * matmul-i8's tensor-core path, the parts that need no device: which subgroup-matrix
 * configuration an adapter's info selects (the H200's offer, as Dawn reported it on 2026-11-30,
 * and adapters that fall short), what a device is requested with, and the generated WGSL.
 * The canary and Dawn's handling of the shader: matmul-i8-subgroup-matrix-dawn.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { deviceRequest } from '../../src/gpu/device';
import { chooseI8MatrixConfig, matrixConfigKey, type SubgroupMatrixConfig } from '../../src/kernels/matmul-i8/subgroup-matrix-config';
import { MatrixAddressing, matrixTile, subgroupMatrixWgsl, type MatrixShader } from '../../src/kernels/matmul-i8/subgroup-matrix-wgsl';
import { shadersFor } from '../../src/kernels/matmul-i8/subgroup-matrix';

/** The H200's configurations through Dawn with unsafe APIs (gpu-kit results-2026-11-30-h200/features.json). */
const H200_CONFIGS: SubgroupMatrixConfig[] = [
  { componentType: 'u8', resultComponentType: 'u32', M: 16, N: 16, K: 32 },
  { componentType: 'i8', resultComponentType: 'i32', M: 16, N: 16, K: 32 },
  { componentType: 'u8', resultComponentType: 'u32', M: 16, N: 8, K: 32 },
  { componentType: 'i8', resultComponentType: 'i32', M: 16, N: 8, K: 32 },
];
const BOTH = new Set(['subgroups', 'chromium-experimental-subgroup-matrix', 'timestamp-query']);

describe('subgroup-matrix configuration choice', () => {
  it("takes the H200's i8 → i32 16×16×32 (the largest), on its subgroup size", () => {
    const choice = chooseI8MatrixConfig({ features: BOTH, info: { subgroupMatrixConfigs: H200_CONFIGS, subgroupMaxSize: 32 } });
    expect(choice).toEqual({ config: H200_CONFIGS[1], subgroupSize: 32 });
    // Listed in another order, the same choice; with only the narrow one, that one.
    expect(chooseI8MatrixConfig({ features: BOTH, info: { subgroupMatrixConfigs: [...H200_CONFIGS].reverse(), subgroupMaxSize: 32 } }).config).toEqual(
      H200_CONFIGS[1],
    );
    expect(chooseI8MatrixConfig({ features: BOTH, info: { subgroupMatrixConfigs: H200_CONFIGS.slice(2), subgroupMaxSize: 32 } }).config).toEqual(
      H200_CONFIGS[3],
    );
  });

  it('says why not, for every adapter that falls short', () => {
    const info = { subgroupMatrixConfigs: H200_CONFIGS, subgroupMaxSize: 32 };
    const reason = (view: Parameters<typeof chooseI8MatrixConfig>[0]) => {
      const choice = chooseI8MatrixConfig(view);
      expect(choice.config).toBeUndefined();
      return 'reason' in choice ? choice.reason : '';
    };
    // lavapipe and SwiftShader: no feature (and lavapipe's list is empty).
    expect(reason({ features: new Set(['subgroups', 'timestamp-query']), info: { subgroupMatrixConfigs: [], subgroupMaxSize: 8 } })).toMatch(
      /does not offer chromium-experimental-subgroup-matrix/,
    );
    expect(reason({ features: new Set(['chromium-experimental-subgroup-matrix']), info })).toMatch(/without subgroups/);
    // Only unsigned or float configurations: listed in the reason.
    expect(
      reason({
        features: BOTH,
        info: {
          subgroupMatrixConfigs: [H200_CONFIGS[0]!, { ...H200_CONFIGS[0]!, componentType: 'f16', resultComponentType: 'f16', K: 16 }],
          subgroupMaxSize: 32,
        },
      }),
    ).toBe('no i8→i32 subgroup-matrix configuration (offered: u8→u32 16×16×32, f16→f16 16×16×16)');
    // K not in whole packed words, or absurd sides: not generated for.
    expect(
      reason({
        features: BOTH,
        info: {
          subgroupMatrixConfigs: [
            { ...H200_CONFIGS[1]!, K: 30 },
            { ...H200_CONFIGS[1]!, M: 0 },
          ],
          subgroupMaxSize: 32,
        },
      }),
    ).toMatch(/no i8→i32/);
    expect(reason({ features: BOTH, info: { subgroupMatrixConfigs: H200_CONFIGS } })).toMatch(/subgroupMaxSize/);
    expect(matrixConfigKey(H200_CONFIGS[1]!)).toBe('i8→i32 16×16×32');
  });

  it('the device is requested with the feature and subgroups only where the adapter offers both', () => {
    const adapter = (features: string[]) => ({ features: new Set(features), limits: new Proxy({}, { get: () => 1024 }) }) as unknown as GPUAdapter;
    expect(deviceRequest(adapter(['timestamp-query', 'subgroups', 'chromium-experimental-subgroup-matrix'])).requiredFeatures).toEqual([
      'timestamp-query',
      'subgroups',
      'chromium-experimental-subgroup-matrix',
    ]);
    // lavapipe: subgroups alone are not asked for (nothing uses them without the matrices).
    expect(deviceRequest(adapter(['timestamp-query', 'subgroups'])).requiredFeatures).toEqual(['timestamp-query']);
    expect(deviceRequest(adapter(['chromium-experimental-subgroup-matrix'])).requiredFeatures).toEqual([]);
  });
});

describe('subgroup-matrix WGSL', () => {
  const shader: MatrixShader = { config: H200_CONFIGS[1]!, subgroupSize: 32, blocksM: 2, blocksN: 2, addressing: MatrixAddressing.Elements };

  it("declares the configuration's types, one subgroup wide, 2×2 products per K step, and stores each", () => {
    const wgsl = subgroupMatrixWgsl(shader);
    expect(wgsl).toContain('enable subgroups;\nenable chromium_experimental_subgroup_matrix;');
    expect(wgsl).toContain('@compute @workgroup_size(32)');
    // left<T, K, M> (M rows × K columns), right<T, N, K>, result<T, N, M>: sizes equal the config's.
    expect(wgsl.match(/subgroup_matrix_left<i8, 32, 16>/g)).toHaveLength(2);
    expect(wgsl.match(/subgroup_matrix_right<i8, 16, 32>/g)).toHaveLength(2);
    expect(wgsl.match(/var acc_\d_\d: subgroup_matrix_result<i32, 16, 16>;/g)).toHaveLength(4);
    expect(wgsl.match(/subgroupMatrixMultiplyAccumulate\(l(\d), r(\d), acc_\1_\2\)/g)).toHaveLength(4);
    expect(wgsl.match(/subgroupMatrixStore\(&c, /g)).toHaveLength(4);
    // A row-major by int8 elements; Bᵀ rows are B's columns: column-major.
    expect(wgsl).toContain('subgroupMatrixLoad<subgroup_matrix_left<i8, 32, 16>>(&a, (row0 + 16u) * dims.kp + k0, false, dims.kp)');
    expect(wgsl).toContain('subgroupMatrixLoad<subgroup_matrix_right<i8, 16, 32>>(&bt, (col0 + 16u) * dims.kp + k0, true, dims.kp)');
    expect(wgsl).toContain('for (var k0 = 0u; k0 < dims.kp; k0 += 32u)');
    expect(matrixTile(shader)).toEqual({ m: 32, n: 32 });
  });

  it('counts offsets and strides in 32-bit words for the other reading, and the 16×8 configuration gets its own sizes', () => {
    const words = subgroupMatrixWgsl({ ...shader, addressing: MatrixAddressing.Words });
    expect(words).toContain('(&a, ((row0 + 0u) * dims.kp + k0) / 4u, false, (dims.kp) / 4u)');
    const narrow = subgroupMatrixWgsl({ ...shader, config: H200_CONFIGS[3]! });
    expect(narrow).toContain('subgroup_matrix_right<i8, 8, 32>');
    expect(narrow).toContain('subgroup_matrix_result<i32, 8, 16>');
    expect(matrixTile({ ...shader, config: H200_CONFIGS[3]! })).toEqual({ m: 32, n: 16 });
    expect(shadersFor(H200_CONFIGS[1]!, 32).map((s) => s.addressing)).toEqual([MatrixAddressing.Elements, MatrixAddressing.Words]);
  });

  it('refuses sizes no shader can be written for', () => {
    expect(() => subgroupMatrixWgsl({ ...shader, config: { ...shader.config, K: 30 } })).toThrow(RangeError);
    expect(() => subgroupMatrixWgsl({ ...shader, subgroupSize: 0 })).toThrow(RangeError);
  });
});
