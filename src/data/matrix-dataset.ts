/**
 * A matrix operand as a dataset's canonical bytes: the row-major, little-endian 4-byte words of
 * a 2-D .npy array (float32 for matmul-f32; u32 residues for matmul-modp, where uint16 and
 * int32 arrays are widened to u32 here, once, at ingestion). B is served in column panels
 * (columnPanel), each K×n contiguous, so that every unit's operands are contiguous slices.
 */
import { ErrorCode, TabgridError } from '../errors';
import { MAX_DATASET_BYTES } from './dataset';
import { npyItemBytes, type NpyArray, type NpyDtype } from './npy';

/** How a matrix's elements are read: finite float32, or residues 0..p − 1. */
export type MatrixAs = { readonly kind: 'f32' } | { readonly kind: 'modp'; readonly p: number };

/** A matrix: `rows`×`cols` 4-byte little-endian words, row-major. */
export interface MatrixData {
  readonly rows: number;
  readonly cols: number;
  readonly data: Uint8Array;
}

const WORD = 4;

const TAKES: Record<MatrixAs['kind'], readonly NpyDtype[]> = { f32: ['<f4'], modp: ['<u4', '<i4', '<u2'] };

/** Checks a parsed .npy array as a matrix operand and returns its canonical bytes. */
export function matrixDataset(arr: NpyArray, as: MatrixAs, name: string): MatrixData {
  const bad = (what: string) => new TabgridError(ErrorCode.BadInput, `${name}: ${what}`);
  if (arr.shape.length !== 2) throw bad(`a matrix is 2-D, but this array has shape (${arr.shape.join(', ')}${arr.shape.length === 1 ? ',' : ''})`);
  const [rows, cols] = arr.shape as [number, number];
  if (rows < 1 || cols < 1) throw bad(`the matrix is ${rows}×${cols}: it has no elements`);
  if (rows * cols * WORD > MAX_DATASET_BYTES)
    throw bad(`a ${rows}×${cols} matrix is ${rows * cols * WORD} bytes as 4-byte words, over the ${MAX_DATASET_BYTES} a dataset holds`);
  if (!TAKES[as.kind].includes(arr.dtype)) {
    const want = TAKES[as.kind].map((d) => `'${d}'`).join(', ');
    throw bad(`a ${as.kind === 'f32' ? 'matmul-f32' : 'matmul-modp'} operand is ${want}, not '${arr.dtype}'`);
  }
  if (arr.data.length !== rows * cols * npyItemBytes(arr.dtype)) throw bad(`${arr.data.length} bytes are not a ${rows}×${cols} array of ${arr.dtype}`);
  const at = (i: number) => `element [${Math.floor(i / cols)}, ${i % cols}]`;
  switch (as.kind) {
    case 'f32': {
      const data = aligned(arr.data);
      const words = new Uint32Array(data.buffer, data.byteOffset, rows * cols);
      // All-ones exponent: NaN or ±Infinity, which no product bound can be stated for.
      for (let i = 0; i < words.length; i++) {
        if ((words[i]! & 0x7f800000) === 0x7f800000)
          throw bad(`${at(i)} is ${new Float32Array(words.buffer, words.byteOffset + i * WORD, 1)[0]}: entries must be finite`);
      }
      return { rows, cols, data };
    }
    case 'modp': {
      const p = as.p;
      if (!Number.isSafeInteger(p) || p < 2 || p > 2 ** 32) throw bad(`the modulus ${p} is not an integer in 2..2^32`);
      const n = rows * cols;
      if (arr.dtype === '<u2') {
        const src = new DataView(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength);
        const out = new Uint32Array(n);
        for (let i = 0; i < n; i++) {
          const x = src.getUint16(2 * i, true);
          if (x >= p) throw bad(`${at(i)} is ${x}, not a residue in 0..${p - 1}`);
          out[i] = x;
        }
        return { rows, cols, data: new Uint8Array(out.buffer) };
      }
      const data = aligned(arr.data);
      const words = arr.dtype === '<i4' ? new Int32Array(data.buffer, data.byteOffset, n) : new Uint32Array(data.buffer, data.byteOffset, n);
      // A residue in 0..p − 1 has the same four bytes as int32 and as uint32: no conversion, only the check.
      for (let i = 0; i < n; i++) {
        const x = words[i]!;
        if (x < 0 || x >= p) throw bad(`${at(i)} is ${x}, not a residue in 0..${p - 1}`);
      }
      return { rows, cols, data };
    }
  }
}

/** The bytes themselves when they start on a 4-byte boundary (typed arrays need it), else a copy that does. */
function aligned(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset % WORD === 0 ? bytes : bytes.slice();
}

/**
 * Columns col … col + width − 1 of a rows×cols matrix of 4-byte words: a rows×width block,
 * row-major and contiguous (B's column panel, one dataset of its own).
 */
export function columnPanel(data: Uint8Array, rows: number, cols: number, col: number, width: number): Uint8Array {
  const ok = [rows, cols, col, width].every((x) => Number.isSafeInteger(x) && x >= 0);
  if (!ok || data.length !== rows * cols * WORD || width < 1 || col + width > cols) {
    throw new TabgridError(ErrorCode.BadInput, `columns ${col}..${col + width - 1} are not a panel of a ${rows}×${cols} matrix of ${data.length} bytes`);
  }
  const out = new Uint8Array(rows * width * WORD);
  for (let r = 0; r < rows; r++) {
    const from = (r * cols + col) * WORD;
    out.set(data.subarray(from, from + width * WORD), r * width * WORD);
  }
  return out;
}
