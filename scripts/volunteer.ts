/**
 * `npm run volunteer -- [--signal URL] [--host ID] [--count N] [--gpu dawn|none] [--dawn-flag F]… [--backend webgpu|cpu] [ICE flags]`:
 * honest volunteers in Node, on the farm's code (scripts/farm/node-volunteers.ts): the real
 * session over PeerJS. With `--gpu none` (the default) they compute with the CPU reference; with
 * `--gpu dawn` with the pages' engine (src/worker/engine.ts: the same kernels, backend chooser and
 * throttle) on Dawn's WebGPU (src/gpu/dawn.ts; `--dawn-flag` passes Dawn switches, `--backend`
 * forces a backend as the page's `?backend=` does). Without a GPU, scripts/lavapipe.sh gives Dawn
 * a software Vulkan: `scripts/lavapipe.sh -- npm run volunteer -- --gpu dawn`. For trying a deployment from another machine or network:
 * ICE flags as `npm run host` takes them (ice-flags.ts; --turn-secret mints this process's own
 * TURN credentials, for an operator's machines). Prints each session's status as it changes and
 * its connection path (direct or through TURN) once connected; SIGINT/SIGTERM stop it.
 */
import './node-webrtc';
import { DEFAULT_SIGNAL_URL, DEMO_HOST_ID } from '../src/net/signal';
import { parseCommand } from './args';
import { VOLUNTEER_COMMAND } from './commands';
import { iceFromFlags, withMintedTurn } from './ice-flags';
import { NodeVolunteers } from './farm/node-volunteers';
import type { UnitComputer } from '../src/worker/client';

const cli = parseCommand(VOLUNTEER_COMMAND);
const { values } = cli;
const count = values.count === undefined ? 1 : Number(values.count);
if (!Number.isInteger(count) || count < 1 || count > 64) cli.fail(`--count ${values.count} must be a whole number in 1..64`);
const signalUrl = values.signal ?? process.env.TABGRID_SIGNAL ?? DEFAULT_SIGNAL_URL;
const hostId = values.host ?? process.env.TABGRID_HOST_ID ?? DEMO_HOST_ID;
const setup = cli.check(() => iceFromFlags(values));
const gpuFlag = values['gpu'] ?? 'none';
if (gpuFlag !== 'dawn' && gpuFlag !== 'none') cli.fail(`--gpu ${gpuFlag} must be dawn or none`);
if (gpuFlag === 'none' && (values['dawn-flag'] !== undefined || values.backend !== undefined))
  cli.fail('--dawn-flag and --backend choose how the engine on Dawn runs: they need --gpu dawn');
// One engine per volunteer (each its own device, as each tab has); built before any connects, so a
// missing Dawn or a bad --backend stops here, saying why.
const computers: UnitComputer[] = gpuFlag === 'dawn' ? await cli.checkAsync(() => dawnEngines(count, values['dawn-flag'] ?? [], values.backend)) : [];
const volunteers = new NodeVolunteers();
for (let i = 0; i < count; i++) await volunteers.add(signalUrl, hostId, withMintedTurn(setup, `node-volunteer-${process.pid}-${i}`), [], computers.at(i));
const time = () => new Date().toISOString().slice(11, 19);
for (const [i, computer] of computers.entries()) {
  const info = await computer.describe();
  const on = info.adapter
    ? `WebGPU adapter ${[info.adapter.vendor, info.adapter.architecture, info.adapter.description].filter(Boolean).join(' / ')}`
    : 'no WebGPU adapter';
  console.log(
    `${time()} volunteer ${i}: engine on Dawn: ${on}${info.adapter?.isFallbackAdapter ? ' (software: runs on the CPU)' : ''}; ${info.forced ? `every kernel forced to ${info.forced}` : 'backend chosen per kernel'}${info.reason ? ` (${info.reason})` : ''}`,
  );
}
volunteers.sessions.forEach((s, i) => {
  let last = '';
  let pathShown = false;
  s.addEventListener('change', () => {
    const line = s.error ? `${s.status}: ${s.error.message}` : s.status;
    if (line !== last) console.log(`${time()} volunteer ${i}: ${(last = line)}`);
    if (s.path && !pathShown) {
      pathShown = true;
      console.log(`${time()} volunteer ${i}: connected ${s.path.route === 'turn' ? 'through TURN' : 'directly'} (${s.path.local} → ${s.path.remote})`);
    }
    if (!s.connected) pathShown = false;
  });
});
if (computers.length > 0) logChoices(computers, time);
volunteers.startAll();
console.log(`${count} Node volunteer(s) for host ${hostId} via ${signalUrl}`);

/** The pages' engine on Dawn, one per volunteer (engine.ts; its ?raw/?worker imports through vite-imports.ts). */
async function dawnEngines(n: number, flags: readonly string[], backend: string | undefined): Promise<UnitComputer[]> {
  await import('./vite-imports');
  const [{ openDawn }, { ComputeEngine }, { parseBackend }] = await Promise.all([
    import('../src/gpu/dawn'),
    import('../src/worker/engine'),
    import('../src/worker/backend-choice'),
  ]);
  const forced = parseBackend(backend);
  const dawn = await openDawn(flags);
  return Array.from({ length: n }, () => new ComputeEngine({ gpu: () => dawn.gpu, ...(forced ? { backend: forced } : {}) }));
}

/** Each kernel's backend as the engine decides it (a software adapter is timed against the CPU first), printed once. */
function logChoices(engines: readonly UnitComputer[], time: () => string): void {
  const shown = engines.map(() => new Set<string>());
  const timer = setInterval(() => {
    engines.forEach((engine, i) => {
      void engine.describe().then((info) => {
        for (const [kernel, choice] of Object.entries(info.choices ?? {})) {
          if (shown[i]!.has(kernel)) continue;
          shown[i]!.add(kernel);
          console.log(`${time()} volunteer ${i}: ${kernel} runs on ${choice.backend} (${choice.reason})`);
        }
      });
    });
  }, 500);
  timer.unref();
}

function stop(): void {
  console.log(`stopping: ${volunteers.unitsDone} unit(s) done`);
  volunteers.close();
  process.exit(0);
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
