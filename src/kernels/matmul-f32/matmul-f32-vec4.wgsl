// C = A·B in f32, row-major, for K and N multiples of 4 (any M): the vec4 variant of
// matmul-f32.wgsl. A, B and C are read and written as vec4 rows, four values per load.
//
// Each invocation computes a 4 × 4 block of C (four rows, one vec4 of columns) as four vec4
// accumulators; a workgroup computes a TILE_M × TILE_N block, walking K in steps of TILE_K
// through workgroup memory. Rows past M and K past the end are zero-padded in the tiles.
// A dispatch covers the workgroup rows [dims.tile_row, dims.tile_row + dispatched rows).

override WG_X: u32 = 8u;    // invocations along N (each owns 4 columns)
override WG_Y: u32 = 8u;    // invocations along M (each owns 4 rows)
override TILE_K: u32 = 16u; // depth of a K step, a multiple of 4
override TILE_M: u32 = WG_Y * 4u;
override TILE_N4: u32 = WG_X;          // tile width in vec4s
override TILE_K4: u32 = TILE_K / 4u;   // tile depth in vec4s

struct Dims {
  m: u32,
  n: u32,
  k: u32,
  tile_row: u32,
}

@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> c: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> dims: Dims;

var<workgroup> a_tile: array<vec4<f32>, TILE_M * TILE_K4>; // [row][t/4]
var<workgroup> b_tile: array<vec4<f32>, TILE_K * TILE_N4>; // [t][col/4]

@compute @workgroup_size(WG_X, WG_Y)
fn main(
  @builtin(workgroup_id) wg: vec3u,
  @builtin(local_invocation_id) lid: vec3u,
  @builtin(local_invocation_index) li: u32,
) {
  let k4 = dims.k / 4u;
  let n4 = dims.n / 4u;
  let row0 = (dims.tile_row + wg.y) * TILE_M;
  let col4 = wg.x * TILE_N4 + lid.x;
  let threads = WG_X * WG_Y;
  var acc0 = vec4<f32>();
  var acc1 = vec4<f32>();
  var acc2 = vec4<f32>();
  var acc3 = vec4<f32>();

  for (var k0 = 0u; k0 < dims.k; k0 += TILE_K) {
    for (var e = li; e < TILE_M * TILE_K4; e += threads) {
      let r = row0 + e / TILE_K4;
      let t4 = k0 / 4u + e % TILE_K4;
      var v = vec4<f32>();
      if (r < dims.m && t4 < k4) {
        v = a[r * k4 + t4];
      }
      a_tile[e] = v;
    }
    for (var e = li; e < TILE_K * TILE_N4; e += threads) {
      let t = k0 + e / TILE_N4;
      let col = wg.x * TILE_N4 + e % TILE_N4;
      var v = vec4<f32>();
      if (t < dims.k && col < n4) {
        v = b[t * n4 + col];
      }
      b_tile[e] = v;
    }
    workgroupBarrier();

    let r = lid.y * 4u;
    for (var t4 = 0u; t4 < TILE_K4; t4++) {
      let b0 = b_tile[(4u * t4) * TILE_N4 + lid.x];
      let b1 = b_tile[(4u * t4 + 1u) * TILE_N4 + lid.x];
      let b2 = b_tile[(4u * t4 + 2u) * TILE_N4 + lid.x];
      let b3 = b_tile[(4u * t4 + 3u) * TILE_N4 + lid.x];
      let a0 = a_tile[r * TILE_K4 + t4];
      let a1 = a_tile[(r + 1u) * TILE_K4 + t4];
      let a2 = a_tile[(r + 2u) * TILE_K4 + t4];
      let a3 = a_tile[(r + 3u) * TILE_K4 + t4];
      acc0 += a0.x * b0 + a0.y * b1 + a0.z * b2 + a0.w * b3;
      acc1 += a1.x * b0 + a1.y * b1 + a1.z * b2 + a1.w * b3;
      acc2 += a2.x * b0 + a2.y * b1 + a2.z * b2 + a2.w * b3;
      acc3 += a3.x * b0 + a3.y * b1 + a3.z * b2 + a3.w * b3;
    }
    workgroupBarrier();
  }

  if (col4 < n4) {
    let r = row0 + lid.y * 4u;
    if (r < dims.m) { c[r * n4 + col4] = acc0; }
    if (r + 1u < dims.m) { c[(r + 1u) * n4 + col4] = acc1; }
    if (r + 2u < dims.m) { c[(r + 2u) * n4 + col4] = acc2; }
    if (r + 3u < dims.m) { c[(r + 3u) * n4 + col4] = acc3; }
  }
}
