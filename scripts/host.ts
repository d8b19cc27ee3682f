/**
 * `npm run host -- --job FILE.json [--signal URL] [--id ID] [--exit-when-done]`: a job host
 * in Node, on an already running signaling server.
 */
import './node-webrtc';
import { DEMO_JOB } from '../src/host/job';
import { DEFAULT_SIGNAL_URL, DEMO_HOST_ID } from '../src/net/signal';
import { parseArgs, readJob } from './args';
import { startHost } from './stack';

const { values } = parseArgs({
  options: {
    job: { type: 'string' },
    signal: { type: 'string' },
    id: { type: 'string' },
    'exit-when-done': { type: 'boolean' },
  },
});

const job = values.job ? readJob(values.job) : DEMO_JOB;
const signalUrl = values.signal ?? process.env.TABGRID_SIGNAL ?? DEFAULT_SIGNAL_URL;
const hostId = values.id ?? process.env.TABGRID_HOST_ID ?? DEMO_HOST_ID;
const exitWhenDone = values['exit-when-done'] ?? false;

const { core, host } = await startHost({
  jobs: [job],
  signalUrl,
  hostId,
  log: (line) => console.log(line),
  onAccepted: () => {
    if (!exitWhenDone || !core.done) return;
    // Let the verdict that finished the job reach its volunteer before leaving.
    setTimeout(() => {
      console.log(JSON.stringify({ job: job.id, results: core.results() }, null, 2));
      host.close();
      process.exit(0);
    }, 500);
  },
});
console.log(`host ${host.id} serves job ${job.id} (${job.units} units) via ${signalUrl}`);
process.on('SIGINT', () => {
  host.close();
  process.exit(0);
});
