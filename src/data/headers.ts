/**
 * A proof-of-work job's block headers as a researcher writes them: one per non-empty line, each
 * 160 hex digits (80 bytes). Read the same from a file on disk (load-node.ts) and from a file a
 * page was given (host/ingest/ingest.ts).
 */
import { ErrorCode, TabgridError } from '../errors';

/** The hex digits of one block header (80 bytes). */
export const HEADER_HEX_DIGITS = 160;

function bad(name: string, what: string): TabgridError {
  return new TabgridError(ErrorCode.BadInput, `${name}: ${what}`);
}

/**
 * The headers of a headers file's text. Surrounding spaces, CR line ends and a byte-order mark
 * are ignored, and upper-case digits are taken and lowered (headers are copied from tools that
 * print either), so what comes back is the wire's form: lower-case hex. Any other line is an
 * error naming the file and line number.
 */
export function parseHeaders(text: string, name: string): string[] {
  const headers: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const line = raw.trim();
    if (line === '') continue;
    const lead = raw.length - raw.trimStart().length;
    const where = `${name}:${i + 1}`;
    const wrong = /[^0-9a-fA-F]/.exec(line);
    if (wrong)
      throw bad(where, `${JSON.stringify(wrong[0])} at column ${lead + wrong.index + 1} is not a hex digit; a header is ${HEADER_HEX_DIGITS} hex digits`);
    if (line.length !== HEADER_HEX_DIGITS) throw bad(where, `${line.length} hex digits; a header is ${HEADER_HEX_DIGITS} (80 bytes)`);
    headers.push(line.toLowerCase());
  }
  if (headers.length === 0) throw bad(name, 'no headers (every line is empty)');
  return headers;
}
