import { expect, test } from '@playwright/test';
import { startHost, startStack, type Stack } from '../../scripts/stack';
import { buildMerkleTreeOfChunks, merklePath } from '../../src/hash/merkle';
import { createCpuSha256 } from '../../src/hash/sha256-cpu';
import { toHex } from '../../src/hex';
import type { JobSpec } from '../../src/host/job';
import { sha256BatchCpu } from '../../src/kernels/sha256-batch/batch';
import { seededBatch } from '../../src/kernels/sha256-batch/inputs';
import { connectToHost } from '../../src/net/connect';
import { PROTOCOL_VERSION, encodeMessage, type HostMessage, type VolunteerMessage } from '../../src/protocol';
import { parseHostMessage } from '../../src/validate';
import { checkResults, freePort, openVolunteer, volunteerStatus } from './stack-fixture';
import { keyProofFor, newIdentity, resultOf } from '../helpers/signing';

const job: JobSpec = { id: 'e2e-sha256', kernel: 'sha256-batch', units: 12, messagesPerUnit: 4096, messageLength: 64, seed: 77, samples: 16 };

let stack: Stack;
test.beforeAll(async () => {
  stack = await startStack({ signalPort: await freePort(), webPort: await freePort(), hostId: `e2e-host-${process.pid}`, jobs: [job] });
});
test.afterAll(async () => {
  await stack?.close();
});

test('two volunteer pages complete a job; every unit is accepted once, and correctly', async ({ browser }) => {
  const pages = await Promise.all([browser.newPage(), browser.newPage()]);
  for (const page of pages) await openVolunteer(page, stack.webUrl, stack.signalUrl, stack.hostId);
  for (const page of pages) {
    await expect(page.getByRole('button', { name: 'Start' })).toBeVisible();
    expect((await volunteerStatus(page)).state).toBe('idle');
  }
  // Nothing computes before the click: the host has leased nothing.
  expect(stack.core.progress().leased).toBe(0);

  for (const page of pages) await page.getByRole('button', { name: 'Start' }).click();
  for (const page of pages) await expect(page.getByRole('button', { name: 'Pause' })).toBeVisible();
  await expect.poll(() => stack.core.done, { timeout: 150_000 }).toBe(true);

  // Nothing runs once the job is done, and the widget says so instead of "running" (issue 20, bug 4).
  for (const page of pages) await expect.poll(async () => (await volunteerStatus(page)).state, { timeout: 20_000 }).toBe('no-work');
  for (const page of pages) {
    await expect(page.locator('tabgrid-volunteer [data-field="state"]')).toHaveText(/^no work: the job is finished/);
    await expect(page.getByRole('button', { name: 'Pause' })).toBeVisible();
  }
  const statuses = await Promise.all(pages.map(volunteerStatus));
  expect(statuses.reduce((n, s) => n + s.unitsDone, 0)).toBe(job.units);
  for (const [i, s] of statuses.entries()) {
    // Credit in the work it paid for, with thousands separators (issue 20, numbers with meaning).
    const points = s.credit.toLocaleString('en-US');
    await expect(pages[i]!.locator('tabgrid-volunteer [data-field="credit"]')).toHaveText(`${points} points = ${points} SHA-256 blocks`);
    expect(s.unitsDone).toBeGreaterThan(0);
    expect(s.events).toBe(s.unitsDone);
    expect(s.credit).toBe(s.unitsDone * 4096 * 2);
  }
  await expect(pages[0]!.locator('tabgrid-volunteer')).toContainText('WebGPU');
  await pages[0]!.screenshot({ path: test.info().outputPath('volunteer.png') });
  expect(stack.core.results()).toHaveLength(job.units);
  await checkResults(stack.core);
});

test('a volunteer that returns a wrong root is rejected and earns nothing', async () => {
  // A second host on the same signaling server, with a job of its own.
  const cheatJob: JobSpec = { ...job, id: 'e2e-cheat', units: 2, messagesPerUnit: 256 };
  const hostId = `e2e-cheat-host-${process.pid}`;
  const { core, host } = await startHost({ jobs: [cheatJob], signalUrl: stack.signalUrl, hostId });
  try {
    const inbox: HostMessage[] = [];
    // Node-to-Node WebRTC setup now and then fails on loopback; a volunteer would retry, so do we.
    const connect = () => connectToHost({ signalUrl: stack.signalUrl, hostId }, { onText: (t) => inbox.push(parseHostMessage(t)), onClose: () => undefined });
    const link = await connect()
      .catch(() => connect())
      .catch(() => connect());
    const nextMessage = async () => {
      await expect.poll(() => inbox.length, { timeout: 10_000 }).toBeGreaterThan(0);
      return inbox.shift()!;
    };
    const say = (m: VolunteerMessage) => link.send(encodeMessage(m));

    const me = await newIdentity();
    say({ type: 'hello', id: 1, protocol: PROTOCOL_VERSION, client: 'e2e-cheater', publicKey: me.publicKey });
    const welcome = await nextMessage();
    if (welcome.type !== 'welcome') throw new Error(`expected a welcome, got ${welcome.type}`);
    say(await keyProofFor(me, welcome));
    say({ type: 'request-unit', id: 2, holding: [] });
    const unitMsg = await nextMessage();
    if (unitMsg.type !== 'unit') throw new Error(`expected a unit, got ${unitMsg.type}`);
    const { unit } = unitMsg;
    if (unit.kernel !== 'sha256-batch') throw new Error(`expected a hashing unit, got ${unit.kernel}`);

    // Honest digests and tree, but a made-up root: the openings cannot lead to it.
    const hash = await createCpuSha256();
    const digests = sha256BatchCpu(seededBatch(unit.seed, unit.count, unit.messageLength), hash);
    const tree = buildMerkleTreeOfChunks(digests, 32, hash);
    say(await resultOf(me, unit, 'ee'.repeat(32)));
    const challenge = await nextMessage();
    if (challenge.type !== 'challenge') throw new Error(`expected a challenge, got ${challenge.type}`);
    say({
      type: 'openings',
      unitId: unit.unitId,
      openings: challenge.indices.map((index) => ({
        index,
        leaf: toHex(digests.subarray(index * 32, index * 32 + 32)),
        path: merklePath(tree, index).map(toHex),
      })),
    });
    expect(await nextMessage()).toMatchObject({ type: 'verdict', unitId: unit.unitId, verdict: 'rejected', credit: 0, totalCredit: 0 });
    expect(core.progress().accepted).toBe(0);

    // Junk on the wire gets a typed error and changes nothing.
    link.send('{"type":"result","unitId":');
    expect(await nextMessage()).toMatchObject({ type: 'error', code: 'bad-message' });
    // The unit went back to the queue at once, and it is never offered to this volunteer again.
    expect(core.progress()).toMatchObject({ leased: 0, queued: 2 });
    say({ type: 'request-unit', id: 3, holding: [] });
    const next = await nextMessage();
    expect(next).toMatchObject({ type: 'unit' });
    expect((next as { unit: { unitId: string } }).unit.unitId).not.toBe(unit.unitId);
    link.close();
  } finally {
    host.close();
  }
});
