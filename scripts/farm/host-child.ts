/**
 * The farm's host, as its own process so the farm can SIGKILL and restart it: `npm run host`'s
 * host on a SQLite file, with its handle queue timed (host-stats.ts). It prints a line with
 * ' serves ' once it serves, one `accepted <unit>` line per acceptance, and a `farm-stats {json}`
 * line every --stats-ms and on SIGTERM, when it exits cleanly.
 */
import '../node-webrtc';
import { openHostStore } from '../../src/host/store/open-host-store';
import { parseArgs, readJobs } from '../args';
import { startHost } from '../stack';
import { ICE_FLAGS, iceFromFlags } from '../ice-flags';
import { ACCEPTED_PREFIX, STATS_PREFIX, timeHandling, type HostStats } from './host-stats';

const { values } = parseArgs({
  options: {
    job: { type: 'string', multiple: true },
    db: { type: 'string' },
    signal: { type: 'string' },
    id: { type: 'string' },
    'lease-ms': { type: 'string' },
    'stats-ms': { type: 'string' },
    'no-group-commit': { type: 'boolean' },
    ...ICE_FLAGS,
  },
});
if (!values.job?.length || !values.db || !values.signal || !values.id) throw new Error('host-child needs --job, --db, --signal and --id');
const iceSetup = iceFromFlags(values);
const store = await openHostStore(values.db, { groupCommit: !values['no-group-commit'] });
// Job requests naming their own input files are ingested into the store (again after a restart: the same roots, kept once).
const jobs = await readJobs(values.job, store);
const { core, host } = await startHost({
  jobs,
  store,
  signalUrl: values.signal,
  hostId: values.id,
  leaseMs: values['lease-ms'] ? Number(values['lease-ms']) : undefined,
  ice: iceSetup.ice,
  ...(iceSetup.turn ? { turn: iceSetup.turn } : {}),
  // Once per unit, however many keys a replicated unit credits, and also for units the host settles by computing them itself (off the message queue).
  onAccepted: (r) => console.log(`${ACCEPTED_PREFIX}${r.unitId}`),
});
const busy = timeHandling(core);

function report(): void {
  const cpu = process.cpuUsage();
  const p = core.progress();
  const stats: HostStats = {
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    busy,
    accepted: p.accepted,
    total: p.total,
    inputBytes: core.datasetBytesServed,
    inputBytesByKey: core.datasetBytesByKey(),
    swarm: core.swarmStats(),
  };
  console.log(STATS_PREFIX + JSON.stringify(stats));
}
const timer = setInterval(report, Number(values['stats-ms'] ?? 1000));
// The first report is the baseline: CPU spent starting up (tsx, SQLite, registering) is not serving.
report();
const p = core.progress();
console.log(`host ${host.id} serves ${jobs.map((j) => j.id).join(', ')}: ${p.accepted}/${p.total} units accepted so far`);

async function stop(): Promise<void> {
  clearInterval(timer);
  report();
  host.close();
  await store.close();
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
