// The seeded int8 operands of matmul-i8/inputs.ts, made on the GPU already packed as the kernel
// reads them (matmul-i8.ts: packRows of A, packColumns of B). Element e of an operand is the top
// byte of w = mix32(base + e), read as int8; packed word w of row r holds elements 4w … 4w+3 of
// that row along K, byte q at bits 8q, zero past K.
//   A (transposed = 0): row r is row rowStart + r of A, element e = (rowStart + r)·k + t;
//   B (transposed = 1): row r is column r of B, element e = t·n + r.

override WORKGROUP_SIZE: u32 = 256u;

struct Params {
  base: u32,
  row_start: u32,
  rows: u32,
  k: u32,
  n: u32,
  transposed: u32,
  k4: u32,
  pad: u32,
}

@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@group(0) @binding(1) var<uniform> params: Params;

fn mix32(x0: u32) -> u32 {
  var x = x0;
  x ^= x >> 16u;
  x *= 0x7feb352du;
  x ^= x >> 15u;
  x *= 0x846ca68bu;
  x ^= x >> 16u;
  return x;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i >= params.rows * params.k4) {
    return;
  }
  let r = i / params.k4;
  let w = i % params.k4;
  var word = 0u;
  for (var q = 0u; q < 4u; q++) {
    let t = 4u * w + q;
    if (t < params.k) {
      var e: u32;
      if (params.transposed == 1u) {
        e = t * params.n + r;
      } else {
        e = (params.row_start + r) * params.k + t;
      }
      word |= (mix32(params.base + e) >> 24u) << (8u * q);
    }
  }
  out[i] = word;
}
