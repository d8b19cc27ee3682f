/**
 * A HostCore on a SQLite file in its own process, fed volunteer messages over Node's IPC
 * channel instead of WebRTC: the store benchmark's host (scripts/store-bench.ts) and the kill -9
 * durability test's (test/unit/host-durability.test.ts). Everything the real host does per
 * message runs here (parsing and validating the JSON text, judging, ECDSA verification, Merkle
 * checks, signing receipts, the SQLite commit, encoding the replies); only the data channel is
 * replaced by the IPC pipe, whose JSON framing stands in for the channel's sends.
 *
 * A reply goes back only once handle() resolved, that is once its commit is durable: what the
 * parent has received is what this host announced.
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { createCpuSha256 } from '../../src/hash/sha256-cpu';
import { HostCore } from '../../src/host/host-core';
import { SqliteHostStore } from '../../src/host/store/sqlite-store';
import { encodeHostMessage } from '../../src/protocol';
import { benchJob, type FromHost, type ToHost, type HostProcessStats } from './wire';

const { values } = parseArgs({
  options: {
    db: { type: 'string' },
    units: { type: 'string' },
    'group-commit': { type: 'string' },
    'lease-ms': { type: 'string' },
  },
});
if (!values.db || !values.units || !process.send) throw new Error('host-process runs forked (an IPC channel) with --db FILE --units N [--group-commit on|off]');
const send = process.send.bind(process);
const groupCommit = (values['group-commit'] ?? 'on') === 'on';
const store = new SqliteHostStore(values.db, { groupCommit });
const core = await HostCore.open(store, [benchJob(Number(values.units))], {
  hostId: 'bench',
  hash: await createCpuSha256(),
  identity: await store.hostIdentity(),
  leaseMs: Number(values['lease-ms'] ?? 60_000),
  // More than the driver's volunteers ever hold, so a slow reply never starves one of work.
  maxLeases: 4,
});

/** CPU and event-loop time from here on: the start-up (tsx, SQLite, the job's units) is not serving. */
const cpu0 = process.cpuUsage();
const loop0 = performance.eventLoopUtilization();
function stats(): HostProcessStats {
  const cpu = process.cpuUsage(cpu0);
  const loop = performance.eventLoopUtilization(loop0);
  const p = core.progress();
  return {
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    systemSeconds: cpu.system / 1e6,
    busySeconds: loop.active / 1000,
    accepted: p.accepted,
    total: p.total,
    ...store.commitCounts(),
  };
}

process.on('message', (raw) => {
  const m = raw as ToHost;
  switch (m.type) {
    case 'message':
      void core.handle(m.name, m.text).then((replies) => {
        const out: FromHost = { type: 'replies', seq: m.seq, texts: replies.map((r) => encodeHostMessage(r).text) };
        send(out);
      });
      return;
    case 'disconnect':
      void core.disconnect(m.name);
      return;
    case 'stats':
      send({ type: 'stats', stats: stats() } satisfies FromHost);
      return;
    case 'stop':
      clearInterval(expiry);
      core.close();
      void store.close().then(() => process.exit(0));
      return;
  }
});
// As the Node shell does: lapsed leases go back to the queue (a volunteer cut off by a kill leaves its units to lapse).
const expiry = setInterval(() => void core.expireLeases(), 1000);
send({ type: 'ready', publicKey: core.publicKey } satisfies FromHost);
