// C = A·B in f32, row-major, any M, N, K. A is M×K, B is K×N, C is M×N.
//
// Each workgroup computes a TILE_M × TILE_N block of C, walking K in steps of TILE_K: the
// workgroup loads the A and B tiles into workgroup memory together, then each invocation
// accumulates TM × TN outputs in registers (register blocking). An invocation's outputs are
// strided by the workgroup's width/height, so neighbouring invocations touch neighbouring
// addresses (coalesced global writes, no workgroup-memory bank conflicts on B).
// Edges are zero-padded in the tiles, so no size needs to be a multiple of anything.
// A dispatch covers the workgroup rows [dims.tile_row, dims.tile_row + dispatched rows).

override WG_X: u32 = 16u;   // invocations along N
override WG_Y: u32 = 16u;   // invocations along M
override TM: u32 = 4u;      // outputs per invocation along M (1..4)
override TN: u32 = 4u;      // outputs per invocation along N (1..4)
override TILE_K: u32 = 16u; // depth of a K step
override TILE_M: u32 = WG_Y * TM;
override TILE_N: u32 = WG_X * TN;

struct Dims {
  m: u32,
  n: u32,
  k: u32,
  tile_row: u32,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> dims: Dims;

var<workgroup> a_tile: array<f32, TILE_M * TILE_K>; // [row][t]
var<workgroup> b_tile: array<f32, TILE_K * TILE_N>; // [t][col]

@compute @workgroup_size(WG_X, WG_Y)
fn main(
  @builtin(workgroup_id) wg: vec3u,
  @builtin(local_invocation_id) lid: vec3u,
  @builtin(local_invocation_index) li: u32,
) {
  let row0 = (dims.tile_row + wg.y) * TILE_M;
  let col0 = wg.x * TILE_N;
  let threads = WG_X * WG_Y;
  var acc: array<f32, 16>; // TM × TN ≤ 4 × 4, zero-initialised

  for (var k0 = 0u; k0 < dims.k; k0 += TILE_K) {
    for (var e = li; e < TILE_M * TILE_K; e += threads) {
      let r = row0 + e / TILE_K;
      let t = k0 + e % TILE_K;
      var v = 0.0;
      if (r < dims.m && t < dims.k) {
        v = a[r * dims.k + t];
      }
      a_tile[e] = v;
    }
    for (var e = li; e < TILE_K * TILE_N; e += threads) {
      let t = k0 + e / TILE_N;
      let col = col0 + e % TILE_N;
      var v = 0.0;
      if (t < dims.k && col < dims.n) {
        v = b[t * dims.n + col];
      }
      b_tile[e] = v;
    }
    workgroupBarrier();

    for (var t = 0u; t < TILE_K; t++) {
      var a_reg: array<f32, 4>;
      for (var i = 0u; i < TM; i++) {
        a_reg[i] = a_tile[(lid.y + i * WG_Y) * TILE_K + t];
      }
      for (var j = 0u; j < TN; j++) {
        let b_val = b_tile[t * TILE_N + lid.x + j * WG_X];
        for (var i = 0u; i < TM; i++) {
          acc[i * 4u + j] = fma(a_reg[i], b_val, acc[i * 4u + j]);
        }
      }
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < TM; i++) {
    let r = row0 + lid.y + i * WG_Y;
    for (var j = 0u; j < TN; j++) {
      let col = col0 + lid.x + j * WG_X;
      if (r < dims.m && col < dims.n) {
        c[r * dims.n + col] = acc[i * 4u + j];
      }
    }
  }
}
