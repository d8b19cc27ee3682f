/**
 * NumPy's .npy format (format versions 1.0–3.0): a magic string, a version, a header length,
 * a Python dict literal { 'descr': dtype, 'fortran_order': bool, 'shape': tuple } padded to a
 * multiple of 64 bytes with spaces and a newline, then the array's bytes.
 */
import { ErrorCode, TabgridError } from '../errors';

/** The dtypes tabgrid reads and writes, as NumPy spells them (little-endian). */
export const NpyDtype = { Float32: '<f4', Uint32: '<u4', Int32: '<i4', Uint16: '<u2', Uint8: '|u1' } as const;
export type NpyDtype = (typeof NpyDtype)[keyof typeof NpyDtype];

const ITEM_BYTES: Record<NpyDtype, number> = { '<f4': 4, '<u4': 4, '<i4': 4, '<u2': 2, '|u1': 1 };

export function npyItemBytes(dtype: NpyDtype): number {
  return ITEM_BYTES[dtype];
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** A .npy file (version 1.0, or 2.0 when the header needs it) holding `data`, C order. */
export function encodeNpy(dtype: NpyDtype, shape: readonly number[], data: Uint8Array): Uint8Array {
  const items = shape.reduce((a, b) => a * b, 1);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0) || items * ITEM_BYTES[dtype] !== data.length) {
    throw new TabgridError(ErrorCode.BadInput, `${data.length} bytes are not a ${dtype} array of shape (${shape.join(', ')})`);
  }
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${dtype}', 'fortran_order': False, 'shape': ${tuple}, }`;
  const long = 10 + dict.length + 1 > 0xffff;
  const prefix = long ? 12 : 10;
  const padded = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  const header = dict + ' '.repeat(padded - prefix - dict.length - 1) + '\n';
  const out = new Uint8Array(padded + data.length);
  out.set(MAGIC, 0);
  out[6] = long ? 2 : 1;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (long) view.setUint32(8, header.length, true);
  else view.setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), prefix);
  out.set(data, padded);
  return out;
}
