// SHA-256 (FIPS 180-4) of a batch of messages, one invocation per message, padding done here.
//
// Messages lie in `data` as raw bytes (little-endian within each u32), each starting at a byte
// offset that is a multiple of 4. Digest m is written as 8 words to digests[8m..8m+8), in the
// spec's word order (write each word big-endian to get the usual 32 bytes).
// Lengths up to 2^32 - 1 bytes are encoded correctly; the host limits them far lower.
// A dispatch covers messages [params.base, params.base + params.count), so long batches are
// split into several short dispatches.

override WORKGROUP_SIZE: u32 = 64u;

struct Params {
  base: u32,
  count: u32,
}

@group(0) @binding(0) var<storage, read> data: array<u32>;
@group(0) @binding(1) var<storage, read> offsets: array<u32>;
@group(0) @binding(2) var<storage, read> lengths: array<u32>;
@group(0) @binding(3) var<storage, read_write> digests: array<u32>;
@group(0) @binding(4) var<uniform> params: Params;

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

fn rotr(x: u32, n: u32) -> u32 {
  return (x >> n) | (x << (32u - n));
}

fn bswap(x: u32) -> u32 {
  return (x << 24u) | ((x << 8u) & 0x00ff0000u) | ((x >> 8u) & 0x0000ff00u) | (x >> 24u);
}

// Big-endian word of the padded message starting at byte p (p a multiple of 4): message bytes,
// then 0x80, then zeros, and the bit length in the last 8 bytes of the last block.
fn message_word(w0: u32, len: u32, total: u32, p: u32) -> u32 {
  if (p + 4u <= len) {
    return bswap(data[w0 + (p >> 2u)]);
  }
  if (p == total - 8u) {
    return len >> 29u;
  }
  if (p == total - 4u) {
    return len << 3u;
  }
  if (p > len) {
    return 0u;
  }
  // The word where the message ends: r = 0..3 message bytes, then the 0x80 marker.
  let r = len - p;
  var w = 0x80u << (24u - 8u * r);
  if (r > 0u) {
    w |= bswap(data[w0 + (p >> 2u)]) & ~(0xffffffffu >> (8u * r));
  }
  return w;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= params.count) {
    return;
  }
  let m = params.base + gid.x;
  let len = lengths[m];
  let w0 = offsets[m] >> 2u;
  let blocks = (len + 8u) / 64u + 1u;
  let total = blocks * 64u;

  var h = array<u32, 8>(
    0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au, 0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u,
  );
  // The message schedule, kept as a rolling window of 16 words.
  var w: array<u32, 16>;

  for (var b = 0u; b < blocks; b++) {
    for (var t = 0u; t < 16u; t++) {
      w[t] = message_word(w0, len, total, b * 64u + 4u * t);
    }
    var a = h[0];
    var bb = h[1];
    var c = h[2];
    var d = h[3];
    var e = h[4];
    var f = h[5];
    var g = h[6];
    var hh = h[7];
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
      let t1 = hh + S1 + ch + K[t] + wt;
      let S0 = rotr(a, 2u) ^ rotr(a, 13u) ^ rotr(a, 22u);
      let maj = (a & bb) ^ (a & c) ^ (bb & c);
      let t2 = S0 + maj;
      hh = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = bb;
      bb = a;
      a = t1 + t2;
    }
    h[0] += a;
    h[1] += bb;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
  }
  for (var k = 0u; k < 8u; k++) {
    digests[m * 8u + k] = h[k];
  }
}
