/**
 * The one file a GPU machine runs (bundled by build.mjs into .gpu/tabgrid-gpu.mjs, run by run.sh
 * with the kit's node and dawn.node):
 *   node tabgrid-gpu.mjs selfcheck [--dawn-flag F]… [--out FILE]   a volunteer on Dawn, every GPU kernel, host-checked
 *   node tabgrid-gpu.mjs bench [npm run bench -- --dawn flags]     the Node bench (scripts/bench/dawn.ts)
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { dawnBenchMain } from '../bench/dawn';
import { volunteerSelfCheck } from './selfcheck';

async function main(): Promise<number> {
  const [command, ...rest] = process.argv.slice(2);
  if (command === 'bench') return dawnBenchMain(rest);
  if (command === 'selfcheck') {
    const { values } = parseArgs({ args: rest, options: { 'dawn-flag': { type: 'string', multiple: true }, out: { type: 'string' } } });
    const result = await volunteerSelfCheck(values['dawn-flag'] ?? []);
    const text = JSON.stringify({ date: new Date().toISOString(), ...result }, null, 2);
    if (values.out) writeFileSync(values.out, text);
    console.log(text);
    return result.pass ? 0 : 1;
  }
  console.error('usage: node tabgrid-gpu.mjs selfcheck|bench [flags]');
  return 2;
}

// Dawn keeps the event loop alive: end explicitly.
process.exit(await main());
