import { describe, expect, it } from 'vitest';
import { HostCore } from '../../src/host/host-core';
import type { JobSpec } from '../../src/host/job';
import { MemoryHostStore } from '../../src/host/store/memory-store';
import { createCpuSha256 } from '../../src/hash/sha256-cpu';
import { STANDING_MIN_GAP_MS, VolunteerSession } from '../../src/volunteer/session';
import { MemoryVolunteerStore } from '../../src/volunteer/store/memory-volunteer-store';
import { ComputeEngine } from '../../src/worker/engine';
import { memoryConnector } from '../helpers/memory-host';
import { newIdentity } from '../helpers/signing';
import { until } from '../helpers/until';

const job: JobSpec = { id: 'named', kernel: 'sha256-batch', units: 3, messagesPerUnit: 100, messageLength: 64, seed: 8, samples: 8 };

async function setup() {
  const core = await HostCore.open(new MemoryHostStore(), [job], { hostId: 'h', hash: await createCpuSha256(), identity: await newIdentity(), leaseMs: 5_000 });
  const net = memoryConnector(core);
  const store = new MemoryVolunteerStore();
  const identity = await newIdentity();
  const session = new VolunteerSession({ signalUrl: 'ws://unused/', hostId: 'h', computer: new ComputeEngine(), connect: net.connect, identity, store });
  return { core, session, store, identity };
}

describe('VolunteerSession profile and standing', () => {
  it('tells the host the profile kept in its store on connecting, and hears its own total and rank after each accepted result', async () => {
    const { core, session, store, identity } = await setup();
    await store.putProfile({ name: 'Ada', team: 'Lab A' });
    session.start();
    await until(() => core.done);
    await until(() => session.standing?.accepted === job.units);
    expect(core.volunteer(identity.id)).toMatchObject({ name: 'Ada', team: 'Lab A' });
    expect(session.standing).toEqual({
      credit: session.credit,
      accepted: job.units,
      rac: expect.any(Number),
      rank: 1,
      ranked: 1,
      name: 'Ada',
      team: 'Lab A',
      teamCredit: session.credit,
      teamRank: 1,
      teamsRanked: 1,
    });
    // A change while connected: stored with the key, and the host's answer replaces the standing.
    await session.setProfile({ name: 'Ada L.' });
    expect(await store.getProfile()).toEqual({ name: 'Ada L.' });
    // Too soon after the first change (the host's rate limit): kept as a note, the session runs on.
    expect(session.profileProblem).toMatch(/try again in/);
    expect(core.volunteer(identity.id)).toMatchObject({ name: 'Ada', team: 'Lab A' });
    session.close();
  });

  it('asks for its standing at most once per STANDING_MIN_GAP_MS while results are accepted quickly, and once more after the last', async () => {
    const quick: JobSpec = { ...job, id: 'quick', units: 24, messagesPerUnit: 4 };
    const core = await HostCore.open(new MemoryHostStore(), [quick], {
      hostId: 'h',
      hash: await createCpuSha256(),
      identity: await newIdentity(),
      leaseMs: 5_000,
    });
    const asked: number[] = [];
    const handle = core.handle.bind(core);
    core.handle = (name, text, body) => {
      if (typeof text === 'string' && text.includes('"type":"standing"')) asked.push(Date.now());
      return handle(name, text, body);
    };
    const session = new VolunteerSession({
      signalUrl: 'ws://unused/',
      hostId: 'h',
      computer: new ComputeEngine(),
      connect: memoryConnector(core).connect,
      identity: await newIdentity(),
      store: new MemoryVolunteerStore(),
    });
    const started = Date.now();
    session.start();
    await until(() => core.done);
    const doneAfter = Date.now() - started;
    // The standing catches up with the last accepted result, one gap later at most.
    await until(() => session.standing?.accepted === quick.units, STANDING_MIN_GAP_MS + 3_000);
    session.close();
    // 24 accepted results; one request per result would be 24. One per gap (plus the first and the trailing one) is far fewer.
    expect(asked.length).toBeLessThanOrEqual(2 + Math.ceil((doneAfter + STANDING_MIN_GAP_MS) / STANDING_MIN_GAP_MS));
    expect(asked.length).toBeLessThan(quick.units / 2);
    for (let i = 1; i < asked.length; i++) expect(asked[i]! - asked[i - 1]!).toBeGreaterThanOrEqual(STANDING_MIN_GAP_MS - 50);
  });
});
