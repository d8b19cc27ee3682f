/**
 * Which `chromium-experimental-subgroup-matrix` configuration (Dawn's experimental tensor-core
 * feature) matmul-i8 can use on an adapter: int8 operands with exact int32 sums, read from
 * `adapter.info.subgroupMatrixConfigs`. Only offered by Dawn with its unsafe APIs allowed
 * (`--dawn-flag enable-dawn-features=allow_unsafe_apis`); SwiftShader and lavapipe offer none.
 */

import { SUBGROUP_MATRIX_FEATURES } from '../../gpu/device';

/** The device feature, and the one it requires (Dawn: subgroup matrices need `subgroups`); GpuDevices requests both where offered. */
export const [SUBGROUPS_FEATURE, SUBGROUP_MATRIX_FEATURE] = SUBGROUP_MATRIX_FEATURES;

/** One entry of `GPUAdapterInfo.subgroupMatrixConfigs` (Dawn's GPUSubgroupMatrixConfig). */
export interface SubgroupMatrixConfig {
  readonly componentType: string;
  readonly resultComponentType: string;
  readonly M: number;
  readonly N: number;
  readonly K: number;
}

/** What of an adapter the choice reads: its features, and the info Dawn extends. */
export interface MatrixAdapterView {
  readonly features: ReadonlySet<string>;
  readonly info: { readonly subgroupMatrixConfigs?: Iterable<SubgroupMatrixConfig>; readonly subgroupMaxSize?: number };
}

/** The chosen configuration and the subgroup size the shader's workgroup is built on; or why there is none. */
export type MatrixChoice = { readonly config: SubgroupMatrixConfig; readonly subgroupSize: number } | { readonly config?: undefined; readonly reason: string };

/** Sides a shader is generated for: small powers of two, K in whole packed words. */
const sane = (c: SubgroupMatrixConfig) => [c.M, c.N, c.K].every((x) => Number.isInteger(x) && x >= 1 && x <= 64) && c.K % 4 === 0;

/**
 * The i8 → i32 configuration with the largest M·N (then K), when the adapter has the feature,
 * `subgroups`, and a subgroup size to build the workgroup on; otherwise why not, in words.
 */
export function chooseI8MatrixConfig(adapter: MatrixAdapterView): MatrixChoice {
  if (!adapter.features.has(SUBGROUP_MATRIX_FEATURE)) return { reason: `the adapter does not offer ${SUBGROUP_MATRIX_FEATURE}` };
  if (!adapter.features.has(SUBGROUPS_FEATURE)) return { reason: `the adapter offers ${SUBGROUP_MATRIX_FEATURE} without ${SUBGROUPS_FEATURE}` };
  const offered = [...(adapter.info.subgroupMatrixConfigs ?? [])].map((c) => ({
    componentType: c.componentType,
    resultComponentType: c.resultComponentType,
    M: c.M,
    N: c.N,
    K: c.K,
  }));
  const usable = offered.filter((c) => c.componentType === 'i8' && c.resultComponentType === 'i32' && sane(c));
  if (usable.length === 0) {
    const listed = offered.map((c) => `${c.componentType}→${c.resultComponentType} ${c.M}×${c.N}×${c.K}`).join(', ') || 'none';
    return { reason: `no i8→i32 subgroup-matrix configuration (offered: ${listed})` };
  }
  const size = adapter.info.subgroupMaxSize;
  if (!size || !Number.isInteger(size) || size < 1 || size > 256) return { reason: `the adapter names no usable subgroupMaxSize (${String(size)})` };
  const config = usable.sort((x, y) => y.M * y.N - x.M * x.N || y.K - x.K)[0]!;
  return { config, subgroupSize: size };
}

export const matrixConfigKey = (c: SubgroupMatrixConfig) => `${c.componentType}→${c.resultComponentType} ${c.M}×${c.N}×${c.K}`;
