/**
 * Prints the size of the embeddable bundle (dist/tabgrid.js and the worker scripts it loads),
 * raw and gzipped, after `npm run build`; the README quotes these figures.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export interface FileSize {
  readonly file: string;
  readonly raw: number;
  readonly gzip: number;
}

/** tabgrid.js, then each worker file it names (found by name in its text). */
export function bundleSizes(dist: string): FileSize[] {
  const main = readFileSync(join(dist, 'tabgrid.js'));
  const text = main.toString('utf8');
  const workers = readdirSync(join(dist, 'assets')).filter((f) => f.endsWith('.js') && text.includes(`assets/${f}`));
  const nested = workers.flatMap((w) => {
    const body = readFileSync(join(dist, 'assets', w), 'utf8');
    return readdirSync(join(dist, 'assets')).filter((f) => f !== w && f.endsWith('.js') && body.includes(f));
  });
  const files = ['tabgrid.js', ...[...new Set([...workers, ...nested])].map((f) => `assets/${f}`)];
  return files.map((file) => {
    const bytes = readFileSync(join(dist, file));
    return { file, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
  });
}

const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

if (import.meta.url === `file://${process.argv[1]}`) {
  const sizes = bundleSizes(process.argv[2] ?? 'dist');
  for (const s of sizes) console.log(`${s.file.padEnd(40)} ${kb(s.raw).padStart(10)}  gzip ${kb(s.gzip).padStart(9)}`);
  const total = sizes.reduce((t, s) => ({ raw: t.raw + s.raw, gzip: t.gzip + s.gzip }), { raw: 0, gzip: 0 });
  console.log(`${'total'.padEnd(40)} ${kb(total.raw).padStart(10)}  gzip ${kb(total.gzip).padStart(9)}`);
}
