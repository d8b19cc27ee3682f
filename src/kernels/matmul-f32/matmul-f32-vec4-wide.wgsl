// C = A·B in f32, row-major, for K and N multiples of 4 (any M): the vec4 kernel with more
// outputs per invocation, for big GPUs (up to 8 rows × 2 vec4s = 64 outputs, tiles up to 128 × 128).
//
// Each invocation computes TM rows × TN4 vec4 columns of C. Its rows are strided by WG_Y and its
// vec4 columns by WG_X, so neighbouring invocations write neighbouring addresses. A workgroup
// computes a TILE_M × (4·TILE_N4) block, walking K in steps of TILE_K through workgroup memory;
// rows past M and K past the end are zero-padded in the tiles.
// A dispatch covers the workgroup rows [dims.tile_row, dims.tile_row + dispatched rows).

override WG_X: u32 = 16u;   // invocations along N
override WG_Y: u32 = 16u;   // invocations along M
override TM: u32 = 8u;      // rows per invocation (1..8)
override TN4: u32 = 2u;     // vec4 columns per invocation (1..2)
override TILE_K: u32 = 8u;  // depth of a K step, a multiple of 4
override TILE_M: u32 = WG_Y * TM;
override TILE_N4: u32 = WG_X * TN4;   // tile width in vec4s
override TILE_K4: u32 = TILE_K / 4u;  // tile depth in vec4s

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
  let col0 = wg.x * TILE_N4;
  let threads = WG_X * WG_Y;
  var acc: array<vec4<f32>, 16>; // [i][j], TM × TN4 ≤ 8 × 2, zero-initialised

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
      let col = col0 + e % TILE_N4;
      var v = vec4<f32>();
      if (t < dims.k && col < n4) {
        v = b[t * n4 + col];
      }
      b_tile[e] = v;
    }
    workgroupBarrier();

    for (var t4 = 0u; t4 < TILE_K4; t4++) {
      var b_reg: array<vec4<f32>, 8>; // [q][j]: row 4·t4 + q of the tile, vec4 column j
      for (var j = 0u; j < TN4; j++) {
        for (var q = 0u; q < 4u; q++) {
          b_reg[q * 2u + j] = b_tile[(4u * t4 + q) * TILE_N4 + lid.x + j * WG_X];
        }
      }
      for (var i = 0u; i < TM; i++) {
        let av = a_tile[(lid.y + i * WG_Y) * TILE_K4 + t4];
        for (var j = 0u; j < TN4; j++) {
          acc[i * 2u + j] += av.x * b_reg[j] + av.y * b_reg[2u + j] + av.z * b_reg[4u + j] + av.w * b_reg[6u + j];
        }
      }
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < TM; i++) {
    let r = row0 + lid.y + i * WG_Y;
    for (var j = 0u; j < TN4; j++) {
      let col = col0 + lid.x + j * WG_X;
      if (r < dims.m && col < n4) {
        c[r * n4 + col] = acc[i * 2u + j];
      }
    }
  }
}
