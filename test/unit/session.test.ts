import { describe, expect, it } from 'vitest';
import { HostCore } from '../../src/host/host-core';
import type { JobSpec } from '../../src/host/job';
import { createCpuSha256 } from '../../src/hash/sha256-cpu';
import { VolunteerSession, VolunteerState, type VerdictDetail } from '../../src/volunteer/session';
import { ComputeEngine } from '../../src/worker/engine';
import { memoryConnector } from '../helpers/memory-host';

const job: JobSpec = { id: 'mem', kernel: 'sha256-batch', units: 6, messagesPerUnit: 300, messageLength: 64, seed: 5, samples: 16 };

function until(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      if (predicate()) {
        clearInterval(poll);
        resolve();
      } else if (Date.now() - started > timeoutMs) {
        clearInterval(poll);
        reject(new Error('timed out'));
      }
    }, 5);
  });
}

async function setup(units = job.units) {
  const core = new HostCore({ ...job, units }, { hostId: 'h', hash: await createCpuSha256() });
  const net = memoryConnector(core);
  const engine = new ComputeEngine(); // Node has no WebGPU: the CPU backend runs
  const session = new VolunteerSession({ signalUrl: 'ws://unused/', hostId: 'h', computer: engine, connect: net.connect });
  return { core, net, engine, session };
}

describe('VolunteerSession against a HostCore (no network)', () => {
  it('does nothing before start, then completes the job with every unit accepted once', async () => {
    const { core, session, engine } = await setup();
    expect((await engine.describe()).backend).toBe('cpu');
    expect(session.state).toBe(VolunteerState.Idle);
    expect(core.progress().leased).toBe(0);
    const verdicts: VerdictDetail[] = [];
    session.addEventListener('verdict', (e) => verdicts.push((e as CustomEvent<VerdictDetail>).detail));
    session.start();
    expect(session.state).toBe(VolunteerState.Running);
    await until(() => core.done);
    await until(() => session.unitsDone === job.units);
    expect(verdicts.map((v) => v.verdict)).toEqual(new Array(job.units).fill('accepted'));
    expect(session.credit).toBe(job.units * 300 * 2);
    expect(session.status).toMatch(/finished/);
    session.close();
  });

  it('pauses between units and resumes where the host left it', async () => {
    const { core, session } = await setup();
    session.start();
    await until(() => session.unitsDone >= 1);
    session.pause();
    expect(session.state).toBe(VolunteerState.Paused);
    const doneAtPause = core.progress().accepted;
    await new Promise((r) => setTimeout(r, 100));
    // At most the unit in flight when pausing is still verified; nothing new is leased.
    expect(core.progress().accepted).toBeLessThanOrEqual(doneAtPause + 1);
    session.start();
    await until(() => core.done);
    session.close();
  });

  it('reports a lost connection as an error, and recovers on the next start', async () => {
    const { core, net, session } = await setup(2);
    session.start();
    await until(() => session.unitsDone >= 1);
    for (const link of net.links.values()) link.close();
    await until(() => session.state === VolunteerState.Error);
    expect(session.error?.code).toBe('network');
    session.start();
    await until(() => core.done);
    expect(core.progress().accepted).toBe(2);
    session.close();
  });
});
