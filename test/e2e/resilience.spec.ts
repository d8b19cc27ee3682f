import { expect, test } from '@playwright/test';
import type { ViteDevServer } from 'vite';
import { startHost, startSignaling, startWeb, type Signaling } from '../../scripts/stack';
import type { HostCore } from '../../src/host/host-core';
import type { JobSpec } from '../../src/host/job';
import type { PeerHost } from '../../src/host/peer-host';
import { checkResults, freePort, openVolunteer, volunteerStatus } from './stack-fixture';

const job: JobSpec = { id: 'e2e-resilience', kernel: 'sha256-batch', units: 40, messagesPerUnit: 8192, messageLength: 64, seed: 91, samples: 8 };

let signalPort: number;
let signaling: Signaling | undefined;
let web: ViteDevServer;
let host: { core: HostCore; host: PeerHost };
const hostId = `e2e-resilience-${process.pid}`;

test.beforeAll(async () => {
  signalPort = await freePort();
  signaling = await startSignaling(signalPort);
  web = await startWeb(await freePort(), { signalUrl: signaling.url, hostId });
  host = await startHost({ jobs: [job], signalUrl: signaling.url, hostId, leaseMs: 4000, log: (l) => console.log(`[host] ${l}`) });
});
test.afterAll(async () => {
  host?.host.close();
  await web?.close();
  await signaling?.close();
});

const webUrl = () => `http://localhost:${web.config.server.port}/`;
const signalUrl = () => `ws://127.0.0.1:${signalPort}/`;

test('a tab closed mid-unit loses its lease, and another volunteer finishes the job; a signaling restart stops nobody', async ({ browser }) => {
  const quitter = await browser.newPage();
  await openVolunteer(quitter, webUrl(), signalUrl(), hostId);
  await quitter.getByRole('button', { name: 'Start' }).click();
  await expect.poll(() => host.core.progress().leased, { timeout: 30_000 }).toBeGreaterThan(0);
  await quitter.close(); // mid-unit, leases held
  const leasedAtClose = host.core.progress().leased + host.core.progress().verifying;
  expect(leasedAtClose).toBeGreaterThan(0);
  // The leases lapse (4 s) and the units go back to the queue.
  await expect.poll(() => host.core.progress().leased + host.core.progress().verifying, { timeout: 15_000 }).toBe(0);

  const steady = await browser.newPage();
  await openVolunteer(steady, webUrl(), signalUrl(), hostId);
  await steady.getByRole('button', { name: 'Start' }).click();
  await expect.poll(async () => (await volunteerStatus(steady)).unitsDone, { timeout: 60_000 }).toBeGreaterThan(1);

  // Signaling goes down and comes back on the same port. The open data connection carries on,
  // and the host registers again, so a volunteer arriving afterwards can join.
  await signaling!.close();
  signaling = undefined;
  const doneDuringOutage = (await volunteerStatus(steady)).unitsDone;
  await expect.poll(async () => (await volunteerStatus(steady)).unitsDone, { timeout: 60_000 }).toBeGreaterThan(doneDuringOutage);
  // Leave the rest of the job to the volunteer that arrives after the restart.
  await steady.getByRole('button', { name: 'Pause' }).click();
  expect(host.core.done).toBe(false);
  signaling = await startSignaling(signalPort);
  const late = await browser.newPage();
  await openVolunteer(late, webUrl(), signalUrl(), hostId);
  await late.getByRole('button', { name: 'Start' }).click();
  await expect.poll(async () => (await volunteerStatus(late)).unitsDone, { timeout: 90_000 }).toBeGreaterThan(0);
  await steady.getByRole('button', { name: 'Start' }).click();

  await expect.poll(() => host.core.done, { timeout: 150_000 }).toBe(true);
  await checkResults(host.core);
});
