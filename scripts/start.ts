/**
 * `npm start`: signaling server, the volunteer page and a demo job host, all on this machine.
 *   --signal-port N  (TABGRID_SIGNAL_PORT, default 9000)
 *   --web-port N     (TABGRID_WEB_PORT, default 5173)
 *   --host-id ID     (TABGRID_HOST_ID, default tabgrid-demo-host)
 *   --job FILE.json  a job file instead of the demo job
 *   --db FILE        keep the host's state in this SQLite file (default: memory)
 */
import { DEMO_JOB } from '../src/host/job';
import { DEMO_HOST_ID } from '../src/net/signal';
import { parseCommand, portFrom, readJob } from './args';
import { START_COMMAND } from './commands';
import { startBanner } from './start-banner';
import { startStack } from './stack';

const cli = parseCommand(START_COMMAND);
const { values } = cli;
const signalPort = cli.check(() => portFrom(values['signal-port'], '--signal-port', 'TABGRID_SIGNAL_PORT', 9000));
const webPort = cli.check(() => portFrom(values['web-port'], '--web-port', 'TABGRID_WEB_PORT', 5173));
const job = values.job === undefined ? DEMO_JOB : cli.check(() => readJob(values.job!));

const time = () => new Date().toISOString().slice(11, 19);
const stack = await startStack({
  signalPort,
  webPort,
  hostId: values['host-id'] ?? process.env.TABGRID_HOST_ID ?? DEMO_HOST_ID,
  jobs: [job],
  db: values.db,
  log: (line) => console.log(`${time()} host: ${line}`),
});

console.log(startBanner(stack, stack.core.jobs()[0]!));

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping…');
  await stack.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
