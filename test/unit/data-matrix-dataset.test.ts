import { describe, expect, it } from 'vitest';
import { ErrorCode, isTabgridError } from '../../src/errors';
import { MAX_DATASET_BYTES } from '../../src/data/dataset';
import { columnPanel, matrixDataset } from '../../src/data/matrix-dataset';
import { encodeNpy, parseNpy, type NpyArray, type NpyDtype } from '../../src/data/npy';

const u8 = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function array(dtype: NpyDtype, shape: number[], values: ArrayBufferView): NpyArray {
  return parseNpy(encodeNpy(dtype, shape, u8(values)), 'M.npy');
}

function matrixError(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    expect(isTabgridError(e, ErrorCode.BadInput)).toBe(true);
    return (e as Error).message;
  }
  throw new Error('no error');
}

const F32 = { kind: 'f32' } as const;
const modp = (p: number) => ({ kind: 'modp', p }) as const;

describe('matrixDataset', () => {
  it('keeps a float32 matrix as its row-major little-endian words', () => {
    const values = Float32Array.from({ length: 12 }, (_, i) => i * 0.5 - 2);
    const m = matrixDataset(array('<f4', [3, 4], values), F32, 'A.npy');
    expect([m.rows, m.cols]).toEqual([3, 4]);
    expect(m.data).toEqual(u8(values));
    const view = new DataView(m.data.buffer, m.data.byteOffset);
    expect(view.getFloat32((1 * 4 + 2) * 4, true)).toBe(values[6]);
  });

  it('reads a payload that does not start on a 4-byte boundary (a copy, same bytes)', () => {
    const values = Float32Array.of(1, 2, 3, 4, 5, 6);
    const file = encodeNpy('<f4', [2, 3], u8(values));
    const shifted = new Uint8Array(file.length + 1);
    shifted.set(file, 1);
    const arr = parseNpy(shifted.subarray(1), 'A.npy');
    expect(arr.data.byteOffset % 4).toBe(1);
    expect(matrixDataset(arr, F32, 'A.npy').data).toEqual(u8(values));
    const residues = Uint32Array.of(0, 1, 2, 3);
    const file2 = encodeNpy('<u4', [2, 2], u8(residues));
    const shifted2 = new Uint8Array(file2.length + 3);
    shifted2.set(file2, 3);
    expect(matrixDataset(parseNpy(shifted2.subarray(3), 'B.npy'), modp(5), 'B.npy').data).toEqual(u8(residues));
  });

  it('refuses NaN and infinities, naming the first one', () => {
    const values = new Float32Array(6);
    values[4] = Infinity;
    values[5] = NaN;
    expect(matrixError(() => matrixDataset(array('<f4', [2, 3], values), F32, 'A.npy'))).toBe('A.npy: element [1, 1] is Infinity: entries must be finite');
    values[4] = -Infinity;
    values[1] = NaN;
    expect(matrixError(() => matrixDataset(array('<f4', [2, 3], values), F32, 'A.npy'))).toBe('A.npy: element [0, 1] is NaN: entries must be finite');
    // The largest finite float32 and the subnormals are fine.
    expect(matrixDataset(array('<f4', [1, 3], Float32Array.of(3.4028234663852886e38, 1e-45, -0)), F32, 'A.npy').cols).toBe(3);
  });

  it('takes u32, i32 and u16 residues below p, widening u16 to u32', () => {
    const u4 = Uint32Array.of(0, 1, 6, 3, 4, 5);
    expect(matrixDataset(array('<u4', [2, 3], u4), modp(7), 'B.npy').data).toEqual(u8(u4));
    const i4 = Int32Array.of(0, 1, 6, 3, 4, 5);
    expect(matrixDataset(array('<i4', [3, 2], i4), modp(7), 'B.npy').data).toEqual(u8(u4));
    const u2 = Uint16Array.of(0, 65520, 7, 3);
    const m = matrixDataset(array('<u2', [2, 2], u2), modp(65521), 'B.npy');
    expect([m.rows, m.cols]).toEqual([2, 2]);
    expect(m.data).toEqual(u8(Uint32Array.of(0, 65520, 7, 3)));
  });

  it('refuses residues out of range, naming the first element and its value', () => {
    expect(matrixError(() => matrixDataset(array('<u4', [2, 2], Uint32Array.of(0, 1, 2, 7)), modp(7), 'B.npy'))).toBe(
      'B.npy: element [1, 1] is 7, not a residue in 0..6',
    );
    expect(matrixError(() => matrixDataset(array('<u4', [1, 2], Uint32Array.of(4294967295, 0)), modp(7), 'B.npy'))).toMatch(/element \[0, 0\] is 4294967295/);
    expect(matrixError(() => matrixDataset(array('<i4', [2, 2], Int32Array.of(0, -3, 2, 1)), modp(7), 'B.npy'))).toBe(
      'B.npy: element [0, 1] is -3, not a residue in 0..6',
    );
    expect(matrixError(() => matrixDataset(array('<u2', [1, 3], Uint16Array.of(1, 2, 65521)), modp(65521), 'B.npy'))).toBe(
      'B.npy: element [0, 2] is 65521, not a residue in 0..65520',
    );
    expect(matrixError(() => matrixDataset(array('<u4', [1, 1], Uint32Array.of(0)), modp(1), 'B.npy'))).toMatch(/the modulus 1 is not an integer/);
  });

  it('refuses other ranks, empty matrices and other dtypes', () => {
    expect(matrixError(() => matrixDataset(array('<f4', [6], new Float32Array(6)), F32, 'A.npy'))).toBe(
      'A.npy: a matrix is 2-D, but this array has shape (6,)',
    );
    expect(matrixError(() => matrixDataset(array('<f4', [1, 2, 3], new Float32Array(6)), F32, 'A.npy'))).toMatch(/shape \(1, 2, 3\)/);
    expect(matrixError(() => matrixDataset(array('<f4', [], new Float32Array(1)), F32, 'A.npy'))).toMatch(/shape \(\)/);
    expect(matrixError(() => matrixDataset(array('<f4', [0, 3], new Float32Array(0)), F32, 'A.npy'))).toBe('A.npy: the matrix is 0×3: it has no elements');
    expect(matrixError(() => matrixDataset(array('<u4', [2, 2], new Uint32Array(4)), F32, 'A.npy'))).toBe("A.npy: a matmul-f32 operand is '<f4', not '<u4'");
    expect(matrixError(() => matrixDataset(array('<f4', [2, 2], new Float32Array(4)), modp(7), 'B.npy'))).toBe(
      "B.npy: a matmul-modp operand is '<u4', '<i4', '<u2', not '<f4'",
    );
    expect(matrixError(() => matrixDataset(array('|u1', [2, 2], new Uint8Array(4)), modp(7), 'B.npy'))).toMatch(/not '\|u1'/);
    // An array whose payload does not match its shape (not from parseNpy) is refused, not read past.
    expect(matrixError(() => matrixDataset({ dtype: '<f4', shape: [2, 2], data: new Uint8Array(12) }, F32, 'A.npy'))).toBe(
      'A.npy: 12 bytes are not a 2×2 array of <f4',
    );
  });

  it('refuses a matrix over the largest dataset (u16 widened counts as 4 bytes an element)', () => {
    // Only the shape is read before the size check: a fake array with no payload is enough.
    const arr: NpyArray = { dtype: '<u2', shape: [16384, 16385], data: new Uint8Array(0) };
    expect(matrixError(() => matrixDataset(arr, modp(7), 'B.npy'))).toBe(
      `B.npy: a 16384×16385 matrix is ${16384 * 16385 * 4} bytes as 4-byte words, over the ${MAX_DATASET_BYTES} a dataset holds`,
    );
  });
});

describe('columnPanel', () => {
  it('cuts columns col..col+width−1 out as a contiguous row-major block', () => {
    const rows = 3;
    const cols = 5;
    const m = Uint32Array.from({ length: rows * cols }, (_, i) => i);
    const panel = columnPanel(u8(m), rows, cols, 1, 3);
    expect(Array.from(new Uint32Array(panel.buffer))).toEqual([1, 2, 3, 6, 7, 8, 11, 12, 13]);
    expect(Array.from(new Uint32Array(columnPanel(u8(m), rows, cols, 4, 1).buffer))).toEqual([4, 9, 14]);
    expect(columnPanel(u8(m), rows, cols, 0, 5)).toEqual(u8(m));
    // Panels side by side are the matrix again.
    const left = new Uint32Array(columnPanel(u8(m), rows, cols, 0, 2).buffer);
    const right = new Uint32Array(columnPanel(u8(m), rows, cols, 2, 3).buffer);
    for (let r = 0; r < rows; r++)
      expect([...left.subarray(r * 2, r * 2 + 2), ...right.subarray(r * 3, r * 3 + 3)]).toEqual(Array.from(m.subarray(r * 5, r * 5 + 5)));
  });

  it('works on a view at any byte offset', () => {
    const m = Uint32Array.from({ length: 6 }, (_, i) => i + 10);
    const shifted = new Uint8Array(25);
    shifted.set(u8(m), 1);
    expect(Array.from(new Uint32Array(columnPanel(shifted.subarray(1), 2, 3, 2, 1).buffer))).toEqual([12, 15]);
  });

  it('refuses panels outside the matrix', () => {
    const data = new Uint8Array(24);
    expect(matrixError(() => columnPanel(data, 2, 3, 2, 2))).toBe('columns 2..3 are not a panel of a 2×3 matrix of 24 bytes');
    expect(matrixError(() => columnPanel(data, 2, 3, 0, 0))).toMatch(/not a panel/);
    expect(matrixError(() => columnPanel(data, 2, 4, 0, 1))).toMatch(/not a panel of a 2×4 matrix of 24 bytes/);
    expect(matrixError(() => columnPanel(data, 2, 3, -1, 1))).toMatch(/not a panel/);
  });
});
