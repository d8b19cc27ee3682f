import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCode, isTabgridError } from '../../src/errors';
import { encodeNpy, npyItemBytes, NpyDtype, parseNpy } from '../../src/data/npy';

const DTYPES = Object.values(NpyDtype);

/** A .npy file with a hand-written header (padded like NumPy's: spaces and a newline to 64 bytes unless `pad` is false). */
function npy(
  header: string,
  payload: Uint8Array = new Uint8Array(0),
  options: { version?: 1 | 2 | 3; pad?: boolean; headerBytes?: Uint8Array } = {},
): Uint8Array {
  const version = options.version ?? 1;
  const prefix = version === 1 ? 10 : 12;
  let text = header;
  if (options.pad !== false) {
    const total = Math.ceil((prefix + header.length + 1) / 64) * 64;
    text = header + ' '.repeat(total - prefix - header.length - 1) + '\n';
  }
  const h = options.headerBytes ?? new TextEncoder().encode(text);
  const out = new Uint8Array(prefix + h.length + payload.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, h.length, true);
  else view.setUint32(8, h.length, true);
  out.set(h, prefix);
  out.set(payload, prefix + h.length);
  return out;
}

/** A small xorshift generator, so every run checks the same cases. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

function randomBytes(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
}

/** The error parseNpy throws for these bytes (fails the test when it throws none, or another kind). */
function npyError(bytes: Uint8Array): string {
  try {
    parseNpy(bytes, 'A.npy');
  } catch (e) {
    expect(isTabgridError(e, ErrorCode.BadInput)).toBe(true);
    const message = (e as Error).message;
    expect(message.startsWith('A.npy: ')).toBe(true);
    return message;
  }
  throw new Error('parseNpy accepted the file');
}

const F4 = (n: number) => new Uint8Array(4 * n);

describe('parseNpy', () => {
  it('reads back what encodeNpy writes, for every dtype and many shapes (odd sizes included)', () => {
    const shapes = [[], [0], [1], [5], [7], [3, 7], [1, 1], [2, 3, 5], [4, 0, 3], [13, 1], [1, 13]];
    let seed = 1;
    for (const dtype of DTYPES) {
      for (const shape of shapes) {
        const n = shape.reduce((a, b) => a * b, 1);
        const payload = randomBytes(n * npyItemBytes(dtype), seed++);
        const file = encodeNpy(dtype, shape, payload);
        expect(file.length - payload.length).toBe(Math.ceil((file.length - payload.length) / 64) * 64);
        const arr = parseNpy(file, 'x.npy');
        expect(arr.dtype).toBe(dtype);
        expect(arr.shape).toEqual(shape);
        expect(arr.data).toEqual(payload);
        // The data is a view into the file, not a copy.
        expect(arr.data.buffer).toBe(file.buffer);
      }
    }
  });

  it('reads a view of a larger buffer (a file read at an offset)', () => {
    const file = encodeNpy('<u2', [3], Uint8Array.of(1, 0, 2, 0, 3, 0));
    const big = new Uint8Array(file.length + 10);
    big.set(file, 5);
    const arr = parseNpy(big.subarray(5, 5 + file.length), 'x.npy');
    expect(Array.from(arr.data)).toEqual([1, 0, 2, 0, 3, 0]);
  });

  it('takes the header forms NumPy and other writers produce', () => {
    const payload = F4(6);
    const ok = (header: string, options?: { version?: 1 | 2 | 3; pad?: boolean }) => parseNpy(npy(header, payload, options), 'A.npy');
    expect(ok("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }").shape).toEqual([2, 3]);
    // Keys in any order, double quotes, no trailing comma, odd spacing, no padding at all.
    expect(ok('{"shape":(2,3),"fortran_order":False,"descr":"<f4"}', { pad: false }).shape).toEqual([2, 3]);
    expect(ok("{ 'fortran_order' : False , 'shape' : ( 6 , ) , 'descr' : '<f4' }").shape).toEqual([6]);
    // Python 2's NumPy wrote long integers with an L.
    expect(ok("{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }").shape).toEqual([2, 3]);
    // A version 2.0 header (4-byte length) and a 3.0 one (UTF-8).
    expect(ok("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", { version: 2 }).shape).toEqual([3, 2]);
    expect(ok("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", { version: 3 }).shape).toEqual([6]);
    // A scalar: shape (), one element.
    expect(parseNpy(npy("{'descr': '<u4', 'fortran_order': False, 'shape': (), }", F4(1)), 'A.npy').shape).toEqual([]);
    // A one-byte dtype with a byte order written anyway.
    expect(parseNpy(npy("{'descr': '<u1', 'fortran_order': False, 'shape': (3,), }", new Uint8Array(3)), 'A.npy').dtype).toBe('|u1');
  });

  it('names the problem: not a .npy file, unsupported version, truncated preamble', () => {
    expect(npyError(new Uint8Array(0))).toMatch(/not a \.npy file/);
    expect(npyError(new TextEncoder().encode('PK\x03\x04 a zip, perhaps an .npz'))).toMatch(/not a \.npy file/);
    expect(npyError(Uint8Array.of(0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59))).toMatch(/truncated/);
    const good = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", F4(1));
    for (const [major, minor] of [
      [4, 0],
      [1, 1],
      [0, 0],
    ]) {
      const file = good.slice();
      file[6] = major!;
      file[7] = minor!;
      expect(npyError(file)).toMatch(new RegExp(`unsupported \\.npy version ${major}\\.${minor} \\(tabgrid reads 1\\.0, 2\\.0 and 3\\.0\\)`));
    }
    expect(npyError(good.subarray(0, 9))).toMatch(/ends inside its header length/);
    expect(npyError(good.subarray(0, 40))).toMatch(/truncated: its header is 118 bytes but only 30 follow/);
    const huge = good.slice();
    new DataView(huge.buffer).setUint16(8, 0xffff, true);
    expect(npyError(huge)).toMatch(/its header is 65535 bytes but only/);
    expect(
      npyError(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", F4(1), { version: 2, pad: false, headerBytes: new Uint8Array(70000) })),
    ).toMatch(/header claims 70000 bytes, over the 65536/);
  });

  it('names the problem: a header that is not a dict or cannot be parsed', () => {
    const cases: [string, RegExp][] = [
      ['[1, 2]', /not a Python dict literal \(it is not a dict\)/],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", /not a Python dict literal \(the header ends too early/],
      ["{'descr': '<f4' 'fortran_order': False}", /expected ',' or '}'/],
      ["{'descr': '<f4', 'fortran_order': false, 'shape': (1,)}", /unexpected "f"/],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} extra", /unexpected text after the dict/],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (1.5,)}", /a malformed integer/],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'shape': (1,)}", /the key 'shape' appears twice/],
      ["{'descr: '<f4'}", /expected ':'|unexpected/],
      ["{1: '<f4'}", /a key is not a string/],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}", /unknown key 'extra'/],
      ["{'descr': '<f4', 'shape': (1,)}", /lacks fortran_order/],
      ['{}', /lacks descr, fortran_order, shape/],
      ["{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", /fortran_order is not True or False/],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': [1]}", /shape is not a tuple/],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (1)}", /shape is not a tuple/],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}", /bad shape \(-1\): dimensions are integers ≥ 0/],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (True,)}", /bad shape/],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", /bad shape/],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}", /bad shape \(4294967296, 4294967296\): too many elements/],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': " + '('.repeat(100) + ')'.repeat(100) + '}', /nested too deeply/],
      ["{'descr': '<f4\\n', 'fortran_order': False, 'shape': (1,)}", /unsupported escape/],
    ];
    for (const [header, expected] of cases) expect(npyError(npy(header, F4(1)))).toMatch(expected);
    // Version 3.0 headers are UTF-8; bytes that are not are refused.
    expect(npyError(npy('', F4(1), { version: 3, headerBytes: Uint8Array.of(0x7b, 0xff, 0x7d) }))).toMatch(/header is not UTF-8/);
  });

  it('names the problem: Fortran order, big-endian, object arrays and other dtypes', () => {
    const header = (descr: string, fortran = 'False') => `{'descr': ${descr}, 'fortran_order': ${fortran}, 'shape': (2, 2), }`;
    expect(npyError(npy(header("'<f4'", 'True'), F4(4)))).toBe('A.npy: Fortran order; save it in C order (np.ascontiguousarray(arr))');
    expect(npyError(npy(header("'>f4'"), F4(4)))).toBe("A.npy: big-endian dtype '>f4'; save it little-endian (arr.astype('<f4'))");
    expect(npyError(npy(header("'>u2'"), F4(2)))).toContain("arr.astype('<u2')");
    expect(npyError(npy(header("'>f8'"), F4(8)))).toMatch(/big-endian dtype '>f8' is not supported; tabgrid reads '<f4' \(float32\), '<u4' \(uint32\)/);
    expect(npyError(npy(header("'|O'"), F4(8)))).toMatch(/object arrays \(dtype '\|O'\) are not supported/);
    expect(npyError(npy(header("'<f8'"), F4(8)))).toMatch(
      /dtype '<f8' \(float64\) is not supported; tabgrid reads .*'\|u1' \(uint8\): convert it \(arr\.astype\('<f4'\)\)/,
    );
    expect(npyError(npy(header("'<i8'"), F4(8)))).toContain("arr.astype('<i4')");
    expect(npyError(npy(header("'<U3'"), F4(12)))).toMatch(/dtype '<U3' is not supported; tabgrid reads '<f4'/);
    expect(npyError(npy(header("'constructor'"), F4(4)))).toMatch(/dtype 'constructor' is not supported/);
    expect(npyError(npy(header("[('a', '<f4'), ('b', '<f4')]"), F4(8)))).toMatch(/a structured dtype \(fields\) is not supported/);
  });

  it('names the problem: a truncated payload or trailing bytes, with the byte counts', () => {
    const h = "{'descr': '<u2', 'fortran_order': False, 'shape': (3, 4), }";
    expect(npyError(npy(h, new Uint8Array(23)))).toBe('A.npy: truncated: shape (3, 4) of <u2 needs 24 bytes of data, but only 23 are present');
    expect(npyError(npy(h, new Uint8Array(0)))).toMatch(/needs 24 bytes of data, but only 0 are present/);
    expect(npyError(npy(h, new Uint8Array(25)))).toBe('A.npy: 1 trailing bytes after the 24 bytes of data its shape (3, 4) of <u2 needs');
  });

  it('never throws anything but a bad-input TabgridError on damaged files (fuzz: truncations, byte flips, header edits)', () => {
    const r = rng(14);
    const valid = [
      encodeNpy('<f4', [3, 5], randomBytes(60, 7)),
      encodeNpy('<u2', [9], randomBytes(18, 8)),
      npy("{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }", F4(4), { version: 2 }),
      npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", F4(2), { version: 3 }),
    ];
    const alphabet = new TextEncoder().encode('{}()[]\',:"0123456789LTrueFalseNone<>|fiuO \n\\');
    let accepted = 0;
    let refused = 0;
    for (let n = 0; n < 20000; n++) {
      const file = valid[n % valid.length]!.slice();
      let damaged: Uint8Array;
      switch (n % 4) {
        case 0:
          damaged = file.subarray(0, Math.floor(r() * file.length));
          break;
        case 1:
          for (let k = 1 + Math.floor(r() * 3); k > 0; k--) file[Math.floor(r() * file.length)] ^= 1 + Math.floor(r() * 255);
          damaged = file;
          break;
        case 2:
          // Characters of the header's own grammar, dropped into the header.
          for (let k = 1 + Math.floor(r() * 4); k > 0; k--) file[10 + Math.floor(r() * 54)] = alphabet[Math.floor(r() * alphabet.length)]!;
          damaged = file;
          break;
        default:
          damaged = randomBytes(Math.floor(r() * 200), n);
          damaged.set(file.subarray(0, Math.min(damaged.length, 10)));
      }
      try {
        const arr = parseNpy(damaged, 'f.npy');
        expect(arr.data.length).toBe(arr.shape.reduce((a, b) => a * b, 1) * npyItemBytes(arr.dtype));
        accepted++;
      } catch (e) {
        if (!isTabgridError(e, ErrorCode.BadInput) || !e.message.startsWith('f.npy: ')) throw e;
        refused++;
      }
    }
    // The fuzz reached both ends: some damage is harmless (a flipped data byte), most is not.
    expect(accepted).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(10000);
  });
});

const numpy = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;

describe('parseNpy and encodeNpy against NumPy itself', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tabgrid-npy-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const python = (script: string) => {
    const run = spawnSync('python3', ['-c', script], { cwd: dir, encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`python3 failed: ${run.stderr}`);
    return run.stdout;
  };

  it.skipIf(!numpy)(`reads the files numpy writes, and numpy reads ours${numpy ? '' : ' (skipped: python3 with numpy is not installed here)'}`, () => {
    python(`
import numpy as np
from numpy.lib import format as fmt
rng = np.random.default_rng(14)
cases = {
  'f4': rng.standard_normal((5, 7)).astype('<f4'),
  'u4': rng.integers(0, 2**32, (3, 4), dtype='<u4'),
  'i4': rng.integers(-2**31, 2**31, (4, 3), dtype='<i4'),
  'u2': rng.integers(0, 2**16, (1, 9), dtype='<u2'),
  'u1': rng.integers(0, 256, (11,), dtype='u1'),
  'odd': rng.integers(0, 2**16, (3, 3, 3), dtype='<u2'),
  'scalar': np.array(7, dtype='<u4'),
  'empty': np.zeros((0, 4), dtype='<f4'),
}
for name, a in cases.items():
  np.save(name + '.npy', a)
  a.tofile(name + '.raw')
for version in [(1, 0), (2, 0), (3, 0)]:
  with open('v%d.npy' % version[0], 'wb') as f:
    fmt.write_array(f, cases['f4'], version=version)
np.save('fortran.npy', np.asfortranarray(cases['f4']))
np.save('big.npy', cases['f4'].astype('>f4'))
np.save('object.npy', np.array([1, 'a'], dtype=object), allow_pickle=True)
np.save('f8.npy', cases['f4'].astype('<f8'))
`);
    const load = (name: string) => readFileSync(join(dir, name));
    const want: Record<string, [NpyDtype, number[]]> = {
      f4: ['<f4', [5, 7]],
      u4: ['<u4', [3, 4]],
      i4: ['<i4', [4, 3]],
      u2: ['<u2', [1, 9]],
      u1: ['|u1', [11]],
      odd: ['<u2', [3, 3, 3]],
      scalar: ['<u4', []],
      empty: ['<f4', [0, 4]],
    };
    for (const [name, [dtype, shape]] of Object.entries(want)) {
      const arr = parseNpy(load(`${name}.npy`), `${name}.npy`);
      expect([arr.dtype, arr.shape]).toEqual([dtype, shape]);
      expect(Buffer.from(arr.data).equals(load(`${name}.raw`))).toBe(true);
    }
    for (const v of [1, 2, 3]) {
      const file = load(`v${v}.npy`);
      expect(file[6]).toBe(v);
      expect(Buffer.from(parseNpy(file, `v${v}.npy`).data).equals(load('f4.raw'))).toBe(true);
    }
    expect(() => parseNpy(load('fortran.npy'), 'fortran.npy')).toThrow('fortran.npy: Fortran order');
    expect(() => parseNpy(load('big.npy'), 'big.npy')).toThrow("big.npy: big-endian dtype '>f4'; save it little-endian (arr.astype('<f4'))");
    expect(() => parseNpy(load('object.npy'), 'object.npy')).toThrow("object.npy: object arrays (dtype '|O')");
    expect(() => parseNpy(load('f8.npy'), 'f8.npy')).toThrow("f8.npy: dtype '<f8' (float64)");

    // The other way: numpy loads what encodeNpy writes (a 2.0 header too) and sees the same values.
    let seed = 100;
    for (const dtype of DTYPES) {
      const shape = [3, 5];
      const payload = randomBytes(15 * npyItemBytes(dtype), seed++);
      writeFileSync(join(dir, `ours-${dtype.slice(1)}.npy`), encodeNpy(dtype, shape, payload));
      writeFileSync(join(dir, `ours-${dtype.slice(1)}.raw`), payload);
    }
    const out = python(`
import numpy as np
for t in ${JSON.stringify(DTYPES.map((d) => d.slice(1)))}:
  a = np.load('ours-%s.npy' % t)
  raw = open('ours-%s.raw' % t, 'rb').read()
  print(t, a.dtype.str, a.shape, a.flags['C_CONTIGUOUS'], a.tobytes() == raw)
`);
    expect(out.trim().split('\n')).toEqual(DTYPES.map((d) => `${d.slice(1)} ${d} (3, 5) True True`));
  });
});
