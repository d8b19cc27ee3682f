// C = A·B for int8 A (M×K) and B (K×N), exact int32 C (M×N), any M, N, K: bit-identical on
// every device. A arrives packed four int8 a u32 along K (M × K4 words, K4 = ceil(K / 4), the
// last word of a row zero-padded); B arrives transposed and packed the same way (N × K4), so an
// output is a sum of dot4(packed A word, packed B word). The runner prepends `dot4`: the
// `dot4I8Packed` builtin where the adapter has the packed_4x8_integer_dot_product language
// feature, a sign-extending shift version otherwise (gpu.ts).
//
// Each workgroup computes a TILE_M × TILE_N block of C, walking K in steps of TILE_K4 words:
// the workgroup loads the A and B tiles into workgroup memory together, then each invocation
// accumulates TM × TN outputs in registers, strided by the workgroup's width/height so that
// neighbouring invocations write neighbouring addresses. Edges are zero-padded in the tiles
// (zero words add nothing), so no size needs to be a multiple of anything.
// A dispatch covers the workgroup rows [dims.tile_row, dims.tile_row + dispatched rows).
// Overflow cannot happen: |C| ≤ 128·128·K < 2^31 for K ≤ 131071 (units have K ≤ 1024).

override WG_X: u32 = 16u;    // invocations along N
override WG_Y: u32 = 16u;    // invocations along M
override TM: u32 = 4u;       // outputs per invocation along M (1..4)
override TN: u32 = 4u;       // outputs per invocation along N (1..4)
override TILE_K4: u32 = 8u;  // packed words (4 values each) of K per step
override TILE_M: u32 = WG_Y * TM;
override TILE_N: u32 = WG_X * TN;
// A tile row's stride in words, one more than its length so that invocations reading the same
// word index of different rows hit different workgroup-memory banks.
override STRIDE: u32 = TILE_K4 + 1u;

struct Dims {
  m: u32,
  n: u32,
  k4: u32,
  tile_row: u32,
}

@group(0) @binding(0) var<storage, read> a: array<u32>;   // M × K4
@group(0) @binding(1) var<storage, read> bt: array<u32>;  // N × K4 (B transposed)
@group(0) @binding(2) var<storage, read_write> c: array<i32>;
@group(0) @binding(3) var<uniform> dims: Dims;

var<workgroup> a_tile: array<u32, TILE_M * STRIDE>; // [row][t]
var<workgroup> b_tile: array<u32, TILE_N * STRIDE>; // [col][t]

@compute @workgroup_size(WG_X, WG_Y)
fn main(
  @builtin(workgroup_id) wg: vec3u,
  @builtin(local_invocation_id) lid: vec3u,
  @builtin(local_invocation_index) li: u32,
) {
  let row0 = (dims.tile_row + wg.y) * TILE_M;
  let col0 = wg.x * TILE_N;
  let threads = WG_X * WG_Y;
  var acc: array<i32, 16>; // TM × TN ≤ 4 × 4, zero-initialised

  for (var k0 = 0u; k0 < dims.k4; k0 += TILE_K4) {
    for (var e = li; e < TILE_M * TILE_K4; e += threads) {
      let r = e / TILE_K4;
      let t = e % TILE_K4;
      var v = 0u;
      if (row0 + r < dims.m && k0 + t < dims.k4) {
        v = a[(row0 + r) * dims.k4 + k0 + t];
      }
      a_tile[r * STRIDE + t] = v;
    }
    for (var e = li; e < TILE_N * TILE_K4; e += threads) {
      let col = e / TILE_K4;
      let t = e % TILE_K4;
      var v = 0u;
      if (col0 + col < dims.n && k0 + t < dims.k4) {
        v = bt[(col0 + col) * dims.k4 + k0 + t];
      }
      b_tile[col * STRIDE + t] = v;
    }
    workgroupBarrier();

    for (var t = 0u; t < TILE_K4; t++) {
      var a_reg: array<u32, 4>;
      for (var i = 0u; i < TM; i++) {
        a_reg[i] = a_tile[(lid.y + i * WG_Y) * STRIDE + t];
      }
      for (var j = 0u; j < TN; j++) {
        let b_word = b_tile[(lid.x + j * WG_X) * STRIDE + t];
        for (var i = 0u; i < TM; i++) {
          acc[i * 4u + j] += dot4(a_reg[i], b_word);
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
