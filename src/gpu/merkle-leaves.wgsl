// RFC 6962 leaf hashes of equal rows of 32-bit words, one row per invocation:
//   leaf(row) = SHA-256(0x00 ‖ row's bytes), the row's words little-endian (as WebGPU stores them),
// the hash hash/merkle.ts takes of each leaf, so the CPU builds the tree over these digests and
// reaches the same root. Rows of up to a few thousand words (a matmul leaf is ≤ 4 KiB).
// Written for this file alone (sha256-batch has its own kernel).

override WORKGROUP_SIZE: u32 = 64u;

struct Params {
  rows: u32,
  // Words per row (n ≥ 1).
  words: u32,
  pad0: u32,
  pad1: u32,
}

@group(0) @binding(0) var<storage, read> data: array<u32>;
@group(0) @binding(1) var<storage, read_write> digests: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;

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

// Byte j of the padded message 0x00 ‖ row ‖ 0x80 ‖ 0… ‖ bit length (64-bit big-endian).
fn messageByte(base: u32, n: u32, total: u32, j: u32) -> u32 {
  let length = 4u * n + 1u;
  if (j == 0u) {
    return 0u;
  }
  if (j <= 4u * n) {
    let b = j - 1u;
    return (data[base + (b >> 2u)] >> (8u * (b & 3u))) & 0xffu;
  }
  if (j == length) {
    return 0x80u;
  }
  // The bit length 8·length < 2^32 fills the last four bytes; the four before are zero.
  if (j >= total - 4u) {
    return ((8u * length) >> (8u * (total - 1u - j))) & 0xffu;
  }
  return 0u;
}

// Big-endian message word g.
fn messageWord(base: u32, n: u32, total: u32, g: u32) -> u32 {
  // Wholly inside the row: its bytes are the top byte of word g-1 and the low three of word g.
  if (g >= 1u && g < n) {
    let hi = data[base + g - 1u];
    let lo = data[base + g];
    return (hi & 0xff000000u) | ((lo & 0xffu) << 16u) | (lo & 0xff00u) | ((lo >> 16u) & 0xffu);
  }
  let j = 4u * g;
  return (messageByte(base, n, total, j) << 24u) | (messageByte(base, n, total, j + 1u) << 16u) | (messageByte(base, n, total, j + 2u) << 8u) |
    messageByte(base, n, total, j + 3u);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let row = gid.x;
  if (row >= params.rows) {
    return;
  }
  let n = params.words;
  let base = row * n;
  // Padded length: the message, 0x80, zeros, 8 length bytes, in whole 64-byte blocks.
  let blocks = (4u * n + 1u + 9u + 63u) / 64u;
  let total = blocks * 64u;
  var h = array<u32, 8>(0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au, 0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u);
  var w: array<u32, 16>;
  for (var blk = 0u; blk < blocks; blk++) {
    for (var t = 0u; t < 16u; t++) {
      w[t] = messageWord(base, n, total, blk * 16u + t);
    }
    var a = h[0];
    var b = h[1];
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
        let w15 = w[(t + 1u) & 15u];
        let w2 = w[(t + 14u) & 15u];
        let s0 = rotr(w15, 7u) ^ rotr(w15, 18u) ^ (w15 >> 3u);
        let s1 = rotr(w2, 17u) ^ rotr(w2, 19u) ^ (w2 >> 10u);
        wt = w[t & 15u] + s0 + w[(t + 9u) & 15u] + s1;
        w[t & 15u] = wt;
      }
      let t1 = hh + (rotr(e, 6u) ^ rotr(e, 11u) ^ rotr(e, 25u)) + ((e & f) ^ (~e & g)) + K[t] + wt;
      let t2 = (rotr(a, 2u) ^ rotr(a, 13u) ^ rotr(a, 22u)) + ((a & b) ^ (a & c) ^ (b & c));
      hh = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
  }
  for (var i = 0u; i < 8u; i++) {
    digests[row * 8u + i] = h[i];
  }
}
