import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The floors of src/ (docs/ARCHITECTURE.md): a module imports from its own floor or below,
 * never above, so the kernels never reach into the host, the host never into the volunteer, and
 * the wire knows nothing of either.
 */
const FLOORS: readonly (readonly string[])[] = [
  ['errors', 'async', 'timers', 'hex', 'bytes', 'duty-cycle', 'remembered'],
  ['hash', 'work', 'thread', 'data'],
  ['protocol', 'validate', 'validate-fields'],
  ['kernels', 'gpu', 'proof'],
  ['worker', 'net'],
  ['volunteer', 'host'],
  ['ui', 'dashboard', 'sdk'],
  // The library bundle's entry.
  ['index'],
];

/** Folders on one floor that must not import each other either: the two ends of the wire, and the compute worker and the network. */
const APART: readonly (readonly [string, string])[] = [
  ['host', 'volunteer'],
  ['worker', 'net'],
  ['ui', 'dashboard'],
  ['sdk', 'ui'],
  ['sdk', 'dashboard'],
];

const SRC = resolve(__dirname, '../../src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : /\.ts$/.test(name) ? [path] : [];
  });
}

/** The floor of a file under src/: by its top folder, or its own name for top-level files. */
const topOf = (path: string) => relative(SRC, path).split('/')[0]!.replace(/\.ts$/, '');

/** A kernel's unit on the wire (its schema and leaf layout) is part of the protocol: the one place the wire meets the kernels. */
const WIRE_PART_OF_KERNELS = /^kernels\/(units|unit-kernel)(\.ts)?$|^kernels\/[^/]+\/unit(\.ts)?$/;
const WIRE_FLOOR = 2;

function floorOf(path: string): number {
  if (WIRE_PART_OF_KERNELS.test(relative(SRC, path))) return WIRE_FLOOR;
  const top = topOf(path);
  const floor = FLOORS.findIndex((names) => names.includes(top));
  if (floor < 0) throw new Error(`src/${top} has no floor in FLOORS (test/unit/layers.test.ts): give it one`);
  return floor;
}

describe('the floors of src/', () => {
  it('every import goes to the same floor or below', () => {
    const broken: string[] = [];
    for (const file of files(SRC)) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/^(?:import|export)[^'"]*from\s+'(\.[^']+)'/gm)) {
        const target = resolve(dirname(file), m[1]!);
        if (!target.startsWith(SRC)) continue;
        const [from, to] = [topOf(file), topOf(target)];
        const apart = APART.some(([a, b]) => (from === a && to === b) || (from === b && to === a));
        if (floorOf(target) > floorOf(file) || apart) broken.push(`${relative(SRC, file)} → ${relative(SRC, target)}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
