/**
 * `npm run volunteer -- [--signal URL] [--host ID] [--count N] [ICE flags]`: honest volunteers
 * in Node, on the farm's code (scripts/farm/node-volunteers.ts): the real session over PeerJS,
 * computing with the CPU reference. For trying a deployment from another machine or network:
 * ICE flags as `npm run host` takes them (ice-flags.ts; --turn-secret mints this process's own
 * TURN credentials, for an operator's machines). Prints each session's status as it changes and
 * its connection path (direct or through TURN) once connected; SIGINT/SIGTERM stop it.
 */
import './node-webrtc';
import { DEFAULT_SIGNAL_URL, DEMO_HOST_ID } from '../src/net/signal';
import { parseArgs } from './args';
import { ICE_FLAGS, iceFromFlags, withMintedTurn } from './ice-flags';
import { NodeVolunteers } from './farm/node-volunteers';

const { values } = parseArgs({
  options: {
    signal: { type: 'string' },
    host: { type: 'string' },
    count: { type: 'string' },
    ...ICE_FLAGS,
  },
});
const count = values.count === undefined ? 1 : Number(values.count);
if (!Number.isInteger(count) || count < 1 || count > 64) throw new Error(`--count ${values.count} must be a whole number in 1..64`);
const signalUrl = values.signal ?? process.env.TABGRID_SIGNAL ?? DEFAULT_SIGNAL_URL;
const hostId = values.host ?? process.env.TABGRID_HOST_ID ?? DEMO_HOST_ID;
const setup = iceFromFlags(values);
const volunteers = new NodeVolunteers();
for (let i = 0; i < count; i++) await volunteers.add(signalUrl, hostId, withMintedTurn(setup, `node-volunteer-${process.pid}-${i}`));
const time = () => new Date().toISOString().slice(11, 19);
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
volunteers.startAll();
console.log(`${count} Node volunteer(s) for host ${hostId} via ${signalUrl}`);

function stop(): void {
  console.log(`stopping: ${volunteers.unitsDone} unit(s) done`);
  volunteers.close();
  process.exit(0);
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
