import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { HostCore } from '../../src/host/host-core';
import type { JobSpec } from '../../src/host/job';
import { MemoryHostStore } from '../../src/host/store/memory-store';
import { createCpuSha256 } from '../../src/hash/sha256-cpu';
import { VolunteerSession } from '../../src/volunteer/session';
import { ComputeEngine } from '../../src/worker/engine';
import { serveClock, WorkerClock, type ClockPort } from '../../src/worker/worker-clock';
import { memoryConnector } from '../helpers/memory-host';
import { newIdentity } from '../helpers/signing';
import { until } from '../helpers/until';

/** Units long enough (on the CPU in Node) that a link drops while one computes. */
const job: JobSpec = { id: 'long', kernel: 'sha256-batch', units: 2, messagesPerUnit: 120_000, messageLength: 256, seed: 21, samples: 8 };

describe('VolunteerSession in the background (issue 21)', () => {
  it('reconnects at once when the link drops mid-unit, on its worker clock, and the unit goes on and is accepted', async () => {
    const hash = await createCpuSha256();
    const core = await HostCore.open(new MemoryHostStore(), [job], { hostId: 'h', hash, identity: await newIdentity(), heartbeatMs: 200, leaseMs: 5_000 });
    const net = memoryConnector(core);
    const channel = new MessageChannel();
    serveClock(channel.port2 as unknown as ClockPort);
    const timers = new WorkerClock(channel.port1 as unknown as ClockPort);
    const session = new VolunteerSession({
      signalUrl: 'ws://unused/',
      hostId: 'h',
      computer: new ComputeEngine(),
      connect: net.connect,
      identity: await newIdentity(),
      backoff: { baseMs: 20, maxMs: 100 },
      timers,
    });
    try {
      session.start();
      await until(() => session.computing && (session.progress?.done ?? 0) > 0, 20_000);
      const unitId = session.progress!.unitId;
      for (const link of net.links.values()) link.close();
      // A new link while the same unit still computes: the drop did not wait for the unit to end.
      await until(() => net.links.size > 1 && session.connected, 5_000);
      expect(session.computing).toBe(true);
      expect(session.progress!.unitId).toBe(unitId);
      expect(core.progress().accepted).toBe(0);
      await until(() => core.done, 60_000);
      expect(core.units(job.id).every((u) => u.state === 'accepted')).toBe(true);
      await until(() => session.unitsDone === job.units);
      // Its timers ran on the clock, and every one it armed is released or pending only for what still runs.
      session.close();
      expect(timers.size).toBeLessThanOrEqual(2);
    } finally {
      session.close();
      timers.close();
      channel.port2.close();
    }
  }, 90_000);
});
