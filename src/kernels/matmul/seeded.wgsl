// The seeded operands of inputs.ts, made on the GPU: element e of an operand is
// w = mix32(base + e) (u32 arithmetic wraps, as the CPU's >>> 0 does), then
//   p = 0 (f32): ((w >> 8) / 2^24) * 2 - 1, computed as (i32(w >> 8) - 2^23) * 2^-23: every step
//                is exact in f32, so the bits equal the CPU's;
//   p > 0 (modp): w % p.
// Element offset + i goes to out[i]: a band of rows of A starts at offset = row * k.

override WORKGROUP_SIZE: u32 = 256u;

struct Params {
  base: u32,
  offset: u32,
  count: u32,
  p: u32,
}

@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@group(0) @binding(1) var<uniform> params: Params;

// lowbias32 (work/seeded.ts): u32 multiplication wraps, as Math.imul does.
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
  // Two-dimensional dispatches cover operands of more than 65535 workgroups.
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i >= params.count) {
    return;
  }
  let w = mix32(params.base + params.offset + i);
  if (params.p == 0u) {
    out[i] = bitcast<u32>(f32(i32(w >> 8u) - 8388608) * (1.0 / 8388608.0));
  } else {
    out[i] = w % params.p;
  }
}
