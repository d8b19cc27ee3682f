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

/**
 * The bytes of a .npy file (version 1.0, or 2.0 when the header needs it) before the data of a
 * `dtype` array of `shape`, C order: for writers that stream the data after it.
 */
export function npyPreamble(dtype: NpyDtype, shape: readonly number[]): Uint8Array {
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new TabgridError(ErrorCode.BadInput, `(${shape.join(', ')}) is not an array shape`);
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${dtype}', 'fortran_order': False, 'shape': ${tuple}, }`;
  const long = 10 + dict.length + 1 > 0xffff;
  const prefix = long ? 12 : 10;
  const padded = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  const header = dict + ' '.repeat(padded - prefix - dict.length - 1) + '\n';
  const out = new Uint8Array(padded);
  out.set(MAGIC, 0);
  out[6] = long ? 2 : 1;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (long) view.setUint32(8, header.length, true);
  else view.setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), prefix);
  return out;
}

/** A .npy file (version 1.0, or 2.0 when the header needs it) holding `data`, C order. */
export function encodeNpy(dtype: NpyDtype, shape: readonly number[], data: Uint8Array): Uint8Array {
  const items = shape.reduce((a, b) => a * b, 1);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0) || items * ITEM_BYTES[dtype] !== data.length) {
    throw new TabgridError(ErrorCode.BadInput, `${data.length} bytes are not a ${dtype} array of shape (${shape.join(', ')})`);
  }
  const preamble = npyPreamble(dtype, shape);
  const out = new Uint8Array(preamble.length + data.length);
  out.set(preamble, 0);
  out.set(data, preamble.length);
  return out;
}

/** A parsed .npy file: its dtype, its shape (C order) and its payload (a view into the file's bytes). */
export interface NpyArray {
  readonly dtype: NpyDtype;
  readonly shape: readonly number[];
  readonly data: Uint8Array;
}

/** What the taken dtypes are called in NumPy, for error messages. */
const DTYPE_NAMES: Record<NpyDtype, string> = { '<f4': 'float32', '<u4': 'uint32', '<i4': 'int32', '<u2': 'uint16', '|u1': 'uint8' };
const TAKEN = (Object.keys(DTYPE_NAMES) as NpyDtype[]).map((d) => `'${d}' (${DTYPE_NAMES[d]})`).join(', ');

function isNpyDtype(descr: string): descr is NpyDtype {
  return Object.hasOwn(DTYPE_NAMES, descr);
}

/** A header is a few dozen bytes; NumPy itself refuses headers over 10 000 bytes unless told otherwise. */
const MAX_HEADER_BYTES = 65536;
/** The most bytes before an array's data: magic, version, header length and header. */
export const MAX_NPY_PREAMBLE_BYTES = 12 + MAX_HEADER_BYTES;
/** The deepest nesting of tuples/lists a header may hold (a structured dtype nests a little; a hostile file could nest a lot). */
const MAX_NESTING = 16;

/**
 * Reads a .npy file (versions 1.0, 2.0 and 3.0), C order, one of the dtypes NpyDtype names.
 * Every problem is a TabgridError (bad-input) whose message starts with `name` and says what
 * is wrong and, where it can, how to save the array so that tabgrid reads it.
 */
export function parseNpy(bytes: Uint8Array, name: string): NpyArray {
  const bad = (what: string) => new TabgridError(ErrorCode.BadInput, `${name}: ${what}`);
  if (bytes.length < MAGIC.length || MAGIC.some((b, i) => bytes[i] !== b)) throw bad('not a .npy file (it does not start with \\x93NUMPY)');
  if (bytes.length < 8) throw bad('truncated: the file ends inside its version');
  const [major, minor] = [bytes[6]!, bytes[7]!];
  if (minor !== 0 || major < 1 || major > 3) throw bad(`unsupported .npy version ${major}.${minor} (tabgrid reads 1.0, 2.0 and 3.0)`);
  const prefix = major === 1 ? 10 : 12;
  if (bytes.length < prefix) throw bad('truncated: the file ends inside its header length');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerBytes = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (headerBytes > MAX_HEADER_BYTES) throw bad(`its header claims ${headerBytes} bytes, over the ${MAX_HEADER_BYTES} tabgrid reads`);
  if (bytes.length < prefix + headerBytes) throw bad(`truncated: its header is ${headerBytes} bytes but only ${bytes.length - prefix} follow`);
  const raw = bytes.subarray(prefix, prefix + headerBytes);
  // 1.0 and 2.0 headers are latin-1; 3.0 allows UTF-8 (for field names of structured dtypes).
  let text: string;
  if (major === 3) {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch {
      throw bad('its header is not UTF-8');
    }
  } else {
    text = '';
    for (const b of raw) text += String.fromCharCode(b);
  }

  let dict: Map<string, PyValue>;
  try {
    const value = new PyLiteral(text).document();
    if (!(value instanceof Map)) throw new SyntaxError('it is not a dict');
    dict = value;
  } catch (e) {
    if (e instanceof SyntaxError) throw bad(`its header is not a Python dict literal (${e.message})`);
    throw e;
  }
  for (const key of dict.keys()) if (key !== 'descr' && key !== 'fortran_order' && key !== 'shape') throw bad(`its header has an unknown key '${key}'`);
  const descr = dict.get('descr');
  const fortran = dict.get('fortran_order');
  const shapeValue = dict.get('shape');
  if (descr === undefined || fortran === undefined || shapeValue === undefined) {
    throw bad(`its header lacks ${['descr', 'fortran_order', 'shape'].filter((k) => !dict.has(k)).join(', ')}`);
  }

  if (typeof descr !== 'string') throw bad(`a structured dtype (fields) is not supported; tabgrid reads ${TAKEN}`);
  const dtype = checkDtype(descr, bad);
  if (typeof fortran !== 'boolean') throw bad("its header's fortran_order is not True or False");
  if (fortran) throw bad('Fortran order; save it in C order (np.ascontiguousarray(arr))');

  if (!Array.isArray(shapeValue) || shapeValue.kind !== 'tuple') throw bad("its header's shape is not a tuple");
  const shape: number[] = [];
  let items = 1;
  for (const d of shapeValue) {
    if (typeof d !== 'bigint' || d < 0n || d > BigInt(Number.MAX_SAFE_INTEGER))
      throw bad(`bad shape (${shapeValue.map(String).join(', ')}): dimensions are integers ≥ 0`);
    shape.push(Number(d));
    items *= Number(d);
  }
  const expected = items * ITEM_BYTES[dtype];
  if (!Number.isSafeInteger(expected)) throw bad(`bad shape (${shape.join(', ')}): too many elements`);
  const start = prefix + headerBytes;
  const present = bytes.length - start;
  if (present < expected) throw bad(`truncated: shape (${shape.join(', ')}) of ${dtype} needs ${expected} bytes of data, but only ${present} are present`);
  if (present > expected)
    throw bad(`${present - expected} trailing bytes after the ${expected} bytes of data its shape (${shape.join(', ')}) of ${dtype} needs`);
  return { dtype, shape, data: bytes.subarray(start) };
}

/** Some dtypes researchers will have, named, with the one to convert to. */
const KNOWN: Record<string, { readonly name: string; readonly to: NpyDtype }> = {
  f8: { name: 'float64', to: '<f4' },
  f2: { name: 'float16', to: '<f4' },
  i8: { name: 'int64', to: '<i4' },
  u8: { name: 'uint64', to: '<u4' },
  i2: { name: 'int16', to: '<i4' },
  i1: { name: 'int8', to: '<i4' },
  b1: { name: 'bool', to: '|u1' },
};

function checkDtype(descr: string, bad: (what: string) => TabgridError): NpyDtype {
  if (isNpyDtype(descr)) return descr;
  // A one-byte dtype has no byte order: NumPy writes '|u1', other writers '<u1' or '=u1'.
  if (/^[<>=]u1$/.test(descr)) return '|u1';
  if (/^[|<>=]?O\d*$/.test(descr)) throw bad(`object arrays (dtype '${descr}') are not supported (they are pickles); save a numeric array: ${TAKEN}`);
  if (descr.startsWith('>')) {
    const little = `<${descr.slice(1)}`;
    if (isNpyDtype(little)) throw bad(`big-endian dtype '${descr}'; save it little-endian (arr.astype('${little}'))`);
    throw bad(`big-endian dtype '${descr}' is not supported; tabgrid reads ${TAKEN}`);
  }
  const bare = descr.replace(/^[|<=]/, '');
  if (Object.hasOwn(KNOWN, bare)) {
    const known = KNOWN[bare]!;
    throw bad(`dtype '${descr}' (${known.name}) is not supported; tabgrid reads ${TAKEN}: convert it (arr.astype('${known.to}'))`);
  }
  throw bad(`dtype '${descr}' is not supported; tabgrid reads ${TAKEN}`);
}

/** The Python literals a .npy header holds: a dict of strings, booleans, integers, tuples and lists (structured dtypes), None. */
type PyValue = string | bigint | boolean | null | PyList | Map<string, PyValue>;
type PyList = PyValue[] & { kind: 'tuple' | 'list' };

/**
 * A strict reader of the Python literal NumPy writes as a header (what `ast.literal_eval`
 * takes, restricted to those types): no expressions, no names but True/False/None. Errors
 * are SyntaxErrors, turned into the caller's message.
 */
class PyLiteral {
  private at = 0;
  private depth = 0;

  constructor(private readonly text: string) {}

  document(): PyValue {
    const value = this.value();
    this.space();
    if (this.at !== this.text.length) throw this.error('unexpected text after the dict');
    return value;
  }

  private error(what: string): SyntaxError {
    return new SyntaxError(this.at >= this.text.length ? 'the header ends too early' : `${what} at character ${this.at}`);
  }

  private space(): void {
    while (this.at < this.text.length && ' \t\r\n'.includes(this.text[this.at]!)) this.at++;
  }

  private value(): PyValue {
    this.space();
    const c = this.text[this.at];
    if (c === undefined) throw this.error('the header ends too early');
    if (c === '{') return this.nested(() => this.dict());
    if (c === '(') return this.nested(() => this.sequence('tuple', ')'));
    if (c === '[') return this.nested(() => this.sequence('list', ']'));
    if (c === "'" || c === '"') return this.string();
    if (/[0-9+-]/.test(c)) return this.integer();
    for (const [word, value] of [
      ['True', true],
      ['False', false],
      ['None', null],
    ] as const) {
      if (this.text.startsWith(word, this.at) && !/[A-Za-z0-9_]/.test(this.text[this.at + word.length] ?? '')) {
        this.at += word.length;
        return value;
      }
    }
    throw this.error(`unexpected ${JSON.stringify(c)}`);
  }

  private nested<T>(read: () => T): T {
    if (++this.depth > MAX_NESTING) throw this.error('nested too deeply');
    const value = read();
    this.depth--;
    return value;
  }

  private dict(): Map<string, PyValue> {
    this.at++; // {
    const out = new Map<string, PyValue>();
    for (;;) {
      this.space();
      if (this.text[this.at] === '}') break;
      const key = this.value();
      if (typeof key !== 'string') throw this.error('a key is not a string');
      if (out.has(key)) throw this.error(`the key '${key}' appears twice`);
      this.space();
      if (this.text[this.at] !== ':') throw this.error("expected ':'");
      this.at++;
      out.set(key, this.value());
      this.space();
      if (this.text[this.at] === ',') this.at++;
      else if (this.text[this.at] !== '}') throw this.error("expected ',' or '}'");
    }
    this.at++; // }
    return out;
  }

  /** A tuple or a list; `(x)` without a comma is x itself, as in Python. */
  private sequence(kind: 'tuple' | 'list', close: string): PyValue {
    this.at++;
    const items: PyValue[] = [];
    let comma = false;
    for (;;) {
      this.space();
      if (this.text[this.at] === close) break;
      items.push(this.value());
      this.space();
      comma = this.text[this.at] === ',';
      if (comma) this.at++;
      else if (this.text[this.at] !== close) throw this.error(`expected ',' or '${close}'`);
    }
    this.at++;
    if (kind === 'tuple' && items.length === 1 && !comma) return items[0]!;
    return Object.assign(items, { kind });
  }

  private string(): string {
    const quote = this.text[this.at]!;
    let out = '';
    this.at++;
    for (;;) {
      const c = this.text[this.at];
      if (c === undefined || c === '\n') throw this.error('a string is not closed');
      this.at++;
      if (c === quote) return out;
      if (c === '\\') {
        // Only the escapes a dtype or field name could need.
        const e = this.text[this.at++];
        if (e === '\\' || e === "'" || e === '"') out += e;
        else throw this.error('an unsupported escape in a string');
      } else out += c;
    }
  }

  /** A decimal integer; Python 2's NumPy wrote `3L`, which NumPy still reads. */
  private integer(): bigint {
    const m = /^[+-]?(?:0|[1-9][0-9]*)L?/.exec(this.text.slice(this.at, this.at + 64));
    if (!m || /[0-9A-Za-z_.]/.test(this.text[this.at + m[0].length] ?? '')) throw this.error('a malformed integer');
    this.at += m[0].length;
    return BigInt(m[0].replace('L', ''));
  }
}
