/**
 * The few WebAssembly encodings the CPU kernels assemble their modules from (LEB128 numbers,
 * local get/set/tee, i32 constants, SIMD opcodes): shared by the f32/modp and int8 kernels.
 */
export const uleb = (v: number): number[] => {
  const out: number[] = [];
  do {
    const low = v & 0x7f;
    v >>>= 7;
    out.push(v ? low | 0x80 : low);
  } while (v);
  return out;
};
export const sleb = (v: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const low = v & 0x7f;
    v >>= 7;
    if ((v === 0 && !(low & 0x40)) || (v === -1 && low & 0x40)) return [...out, low];
    out.push(low | 0x80);
  }
};
export const get = (i: number) => [0x20, ...uleb(i)];
export const set = (i: number) => [0x21, ...uleb(i)];
export const tee = (i: number) => [0x22, ...uleb(i)];
export const i32 = (v: number) => [0x41, ...sleb(v)];
export const simd = (opcode: number, ...imm: number[]) => [0xfd, ...uleb(opcode), ...imm];
