/**
 * The WGSL of matmul-i8's tensor-core path, generated for one subgroup-matrix configuration
 * (M×N×K, i8 → i32; subgroup-matrix-config.ts): the types' sizes must be constants that equal the
 * configuration's, so the shader is written per configuration rather than overridden.
 *
 * Operands arrive padded by the runner (subgroup-matrix.ts), so no matrix load or store is ever
 * partial: A is MP × KP int8 row-major, Bᵀ is NP × KP int8 row-major (B column-major), C is
 * MP × NP int32, with MP, NP multiples of the workgroup's tile and KP of K; padding is zero,
 * which adds nothing. A workgroup is one subgroup wide (x = the adapter's subgroupMaxSize, as
 * the feature requires) and computes BM × BN result matrices, a (BM·M) × (BN·N) tile of C; every
 * call's arguments derive from the workgroup id and uniforms, so control flow stays uniform.
 * Should the subgroups be smaller than the maximum, the workgroup's subgroups compute the same
 * tile and store the same values.
 *
 * How a load's offset and stride count for int8 components in an array<i32> differs between
 * readings of the draft (int8 elements, or the array's 32-bit words), and no device here can
 * settle it: both are generated, and the on-device canary keeps the one that is exact.
 * `enable subgroups` is written too: the draft says WGSL does not need it, but the device has the
 * feature (requested with the matrices), and a compiler that wants it would otherwise refuse.
 */
import type { SubgroupMatrixConfig } from './subgroup-matrix-config';

export const MatrixAddressing = { Elements: 'elements', Words: 'words' } as const;
export type MatrixAddressing = (typeof MatrixAddressing)[keyof typeof MatrixAddressing];

export interface MatrixShader {
  readonly config: SubgroupMatrixConfig;
  /** Invocations along x: the adapter's subgroupMaxSize. */
  readonly subgroupSize: number;
  /** Result matrices per workgroup along M and N. */
  readonly blocksM: number;
  readonly blocksN: number;
  readonly addressing: MatrixAddressing;
}

/** The tile of C one workgroup computes. */
export const matrixTile = (s: MatrixShader) => ({ m: s.blocksM * s.config.M, n: s.blocksN * s.config.N });

export function subgroupMatrixWgsl(s: MatrixShader): string {
  const { M, N, K } = s.config;
  for (const [name, x] of Object.entries({ M, N, K, subgroupSize: s.subgroupSize, blocksM: s.blocksM, blocksN: s.blocksN }))
    if (!Number.isInteger(x) || x < 1) throw new RangeError(`subgroup-matrix shader: ${name} must be a positive integer, not ${x}`);
  if (K % 4 !== 0) throw new RangeError(`subgroup-matrix shader: K (${K}) must be a multiple of 4`);
  const tile = matrixTile(s);
  // int8 offsets and strides, as elements or as the i32 words holding four of them (all multiples of 4 here).
  const i8 = (expr: string) => (s.addressing === MatrixAddressing.Words ? `(${expr}) / 4u` : expr);
  const left = `subgroup_matrix_left<i8, ${K}, ${M}>`;
  const right = `subgroup_matrix_right<i8, ${N}, ${K}>`;
  const result = `subgroup_matrix_result<i32, ${N}, ${M}>`;
  const lines: string[] = [];
  const each = (f: (i: number, j: number) => string) => {
    for (let i = 0; i < s.blocksM; i++) for (let j = 0; j < s.blocksN; j++) lines.push(f(i, j));
  };
  each((i, j) => `  var acc_${i}_${j}: ${result};`);
  lines.push(`  for (var k0 = 0u; k0 < dims.kp; k0 += ${K}u) {`);
  for (let i = 0; i < s.blocksM; i++)
    lines.push(`    let l${i} = subgroupMatrixLoad<${left}>(&a, ${i8(`(row0 + ${i * M}u) * dims.kp + k0`)}, false, ${i8('dims.kp')});`);
  for (let j = 0; j < s.blocksN; j++)
    lines.push(`    let r${j} = subgroupMatrixLoad<${right}>(&bt, ${i8(`(col0 + ${j * N}u) * dims.kp + k0`)}, true, ${i8('dims.kp')});`);
  each((i, j) => `    acc_${i}_${j} = subgroupMatrixMultiplyAccumulate(l${i}, r${j}, acc_${i}_${j});`);
  lines.push('  }');
  each((i, j) => `  subgroupMatrixStore(&c, (row0 + ${i * M}u) * dims.np + col0 + ${j * N}u, acc_${i}_${j}, false, dims.np);`);
  return `// matmul-i8 on subgroup matrices: i8 ${M}×${N}×${K} → i32, ${s.blocksM}×${s.blocksN} per workgroup, ${s.addressing} addressing (subgroup-matrix-wgsl.ts).
enable subgroups;
enable chromium_experimental_subgroup_matrix;

struct Dims {
  kp: u32,      // padded K, int8 values (a multiple of ${K})
  np: u32,      // padded N (a multiple of ${tile.n})
  tile_row: u32,
  pad: u32,
}

@group(0) @binding(0) var<storage, read> a: array<i32>;   // MP × KP int8, four a word
@group(0) @binding(1) var<storage, read> bt: array<i32>;  // NP × KP int8 (B column-major)
@group(0) @binding(2) var<storage, read_write> c: array<i32>; // MP × NP
@group(0) @binding(3) var<uniform> dims: Dims;

@compute @workgroup_size(${s.subgroupSize})
fn main(@builtin(workgroup_id) wg: vec3u) {
  let row0 = (dims.tile_row + wg.y) * ${tile.m}u;
  let col0 = wg.x * ${tile.n}u;
${lines.join('\n')}
}
`;
}
