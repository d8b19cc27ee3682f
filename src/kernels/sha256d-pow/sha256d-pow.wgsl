// Bitcoin-style proof of work: each invocation tries one nonce of an 80-byte block header and
// reports it when SHA-256(SHA-256(header)) is at most the share target.
//
// The header's first 64-byte block does not depend on the nonce, so the host compresses it once
// and passes the resulting midstate. Per nonce the kernel compresses the second block (header
// words 16..18, the nonce, padding, bit length 640) from the midstate, then hashes that 32-byte
// digest again in one block.
//
// Byte order: SHA-256 words are big-endian. The nonce is a little-endian u32 in header bytes
// 76..79, so its message word is bswap(nonce). The hash counts as a little-endian 256-bit
// integer (byte 31 most significant); digest byte 4i+j is byte j of state word i big-endian, so
// that integer's 32-bit word i (word 0 least significant) is bswap(state[i]).
//
// Output: shares go to nonces[0..capacity), in no particular order, slots claimed with the
// atomic `stored`. A share that finds the list full increments `overflow` instead, so shares
// found = min(stored, capacity) + overflow, and `stored` cannot wrap however many shares there
// are. Both counters accumulate over the dispatches of a run.
// Solutions (shares under the real target) are picked out and rechecked on the CPU.

override WORKGROUP_SIZE: u32 = 64u;

struct Job {
  midstate: array<vec4u, 2>,
  // Header words 16..18 (big-endian); .w is unused (the nonce goes there).
  tail: vec4u,
  // Share target as a little-endian 256-bit integer: word 0 least significant.
  share_target: array<vec4u, 2>,
}

struct Params {
  // This dispatch covers nonces [base, base + count); base + count <= 2^32.
  base: u32,
  count: u32,
  capacity: u32,
}

struct Counters {
  stored: atomic<u32>,
  overflow: atomic<u32>,
}

@group(0) @binding(0) var<uniform> job: Job;
@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read_write> counters: Counters;
@group(0) @binding(3) var<storage, read_write> nonces: array<u32>;

const K = array<u32, 64>(
  0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u,
  0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u,
  0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
  0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u,
  0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
  0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
  0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
  0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u,
);

const IV = array<u32, 8>(
  0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au, 0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u,
);

fn rotr(x: u32, n: u32) -> u32 {
  return (x >> n) | (x << (32u - n));
}

fn bswap(x: u32) -> u32 {
  return (x << 24u) | ((x << 8u) & 0x00ff0000u) | ((x >> 8u) & 0x0000ff00u) | (x >> 24u);
}

// One SHA-256 compression of the 16 message words `block` into `state`.
fn compress(state: array<u32, 8>, block: array<u32, 16>) -> array<u32, 8> {
  // The message schedule, kept as a rolling window of 16 words.
  var w = block;
  var a = state[0];
  var b = state[1];
  var c = state[2];
  var d = state[3];
  var e = state[4];
  var f = state[5];
  var g = state[6];
  var h = state[7];
  for (var t = 0u; t < 64u; t++) {
    var wt: u32;
    if (t < 16u) {
      wt = w[t];
    } else {
      let x = w[(t + 1u) & 15u];
      let y = w[(t + 14u) & 15u];
      let s0 = rotr(x, 7u) ^ rotr(x, 18u) ^ (x >> 3u);
      let s1 = rotr(y, 17u) ^ rotr(y, 19u) ^ (y >> 10u);
      wt = w[t & 15u] + s0 + w[(t + 9u) & 15u] + s1;
      w[t & 15u] = wt;
    }
    let S1 = rotr(e, 6u) ^ rotr(e, 11u) ^ rotr(e, 25u);
    let ch = (e & f) ^ (~e & g);
    let t1 = h + S1 + ch + K[t] + wt;
    let S0 = rotr(a, 2u) ^ rotr(a, 13u) ^ rotr(a, 22u);
    let maj = (a & b) ^ (a & c) ^ (b & c);
    let t2 = S0 + maj;
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  return array<u32, 8>(
    state[0] + a, state[1] + b, state[2] + c, state[3] + d,
    state[4] + e, state[5] + f, state[6] + g, state[7] + h,
  );
}

// True when the digest `state` is at most the share target (both as 256-bit integers).
fn meets_share_target(state: array<u32, 8>) -> bool {
  for (var i = 0u; i < 8u; i++) {
    let k = 7u - i; // most significant word first
    let hw = bswap(state[k]);
    let tw = job.share_target[k >> 2u][k & 3u];
    if (hw != tw) {
      return hw < tw;
    }
  }
  return true;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= params.count) {
    return;
  }
  let nonce = params.base + gid.x;

  let mid = array<u32, 8>(
    job.midstate[0].x, job.midstate[0].y, job.midstate[0].z, job.midstate[0].w,
    job.midstate[1].x, job.midstate[1].y, job.midstate[1].z, job.midstate[1].w,
  );
  let inner = compress(mid, array<u32, 16>(
    job.tail.x, job.tail.y, job.tail.z, bswap(nonce),
    0x80000000u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 640u,
  ));
  let outer = compress(IV, array<u32, 16>(
    inner[0], inner[1], inner[2], inner[3], inner[4], inner[5], inner[6], inner[7],
    0x80000000u, 0u, 0u, 0u, 0u, 0u, 0u, 256u,
  ));
  if (!meets_share_target(outer)) {
    return;
  }
  // Check before claiming a slot, so `stored` stays near capacity instead of counting every share.
  if (atomicLoad(&counters.stored) < params.capacity) {
    let slot = atomicAdd(&counters.stored, 1u);
    if (slot < params.capacity) {
      nonces[slot] = nonce;
      return;
    }
  }
  atomicAdd(&counters.overflow, 1u);
}
