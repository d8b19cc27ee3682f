import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { runFarm } from '../../scripts/farm/run';
import { summaryTable } from '../../scripts/farm/summary';
import { startHost, startSignaling, startWeb, type Signaling } from '../../scripts/stack';
import { startTurnServer, turnServerAvailable, TURN_INSTALL_HINT, type TurnServer } from '../../scripts/turn-server';
import type { JobSpec } from '../../src/host/job';
import { mintTurnGrant } from '../../src/host/turn-credentials';
import { openHostStore } from '../../src/host/store/open-host-store';
import { IcePolicy, type IceConfig } from '../../src/protocol/ice';
import type { TabgridVolunteer } from '../../src/ui/tabgrid-volunteer';
import { checkResults, freePort, openVolunteer } from './stack-fixture';

test.beforeAll(() => {
  if (!turnServerAvailable()) throw new Error(TURN_INSTALL_HINT);
});

test('a farm forced through a real coturn (relay only) keeps every invariant, and every volunteer is relayed via TURN', async () => {
  test.setTimeout(90_000);
  // Small units, many of them: the messages, not the compute, are what TURN adds to.
  const jobs: JobSpec[] = [{ id: 'e2e-turn', kernel: 'sha256-batch', units: 36, messagesPerUnit: 2048, messageLength: 64, seed: 1919, samples: 8 }];
  const common = { volunteers: 3, jobs, backend: 'cpu' as const, seed: 19, timeLimitS: 35 };
  const relayed = await runFarm({ ...common, turn: true }, AbortSignal.timeout(45_000));
  console.log(`through TURN:\n${summaryTable(relayed)}`);
  const direct = await runFarm(common, AbortSignal.timeout(40_000));
  console.log(`direct:\n${summaryTable(direct)}`);
  console.log(`units/s: TURN ${relayed.units_per_second.toFixed(2)}, direct ${direct.units_per_second.toFixed(2)}`);
  for (const s of [relayed, direct]) {
    expect(s.failures).toEqual([]);
    expect(s.units_accepted).toBe(s.units_total);
    expect(s.units_lost).toBe(0);
    expect(s.wrong_results_accepted).toBe(0);
    expect(s.duplicates_accepted).toBe(0);
  }
  // From each page's getStats(): a relay candidate on its side of the selected pair (relay only).
  expect(relayed.volunteers_via_turn).toBe(3);
  expect(Object.keys(relayed.connection_paths!).every((k) => k.startsWith('relay→'))).toBe(true);
  expect(direct.volunteers_via_turn).toBe(0);
  expect(relayed.units_per_second).toBeGreaterThan(0);
});

test.describe('TURN credentials', () => {
  let turn: TurnServer;
  let signaling: Signaling;
  let dir: string;
  test.beforeAll(async () => {
    turn = await startTurnServer();
    signaling = await startSignaling(await freePort());
    dir = mkdtempSync(join(tmpdir(), 'tabgrid-turn-'));
  });
  test.afterAll(async () => {
    await signaling?.close();
    await turn?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('expired or wrong credentials give a clear error in the widget and the host log; fresh ones connect, and the host’s own carry it through a restart with nothing lost', async ({
    page,
  }) => {
    test.setTimeout(90_000);
    const hostId = `e2e-turn-creds-${process.pid}`;
    const job: JobSpec = { id: 'e2e-turn-creds', kernel: 'sha256-batch', units: 16, messagesPerUnit: 4096, messageLength: 64, seed: 77, samples: 8 };
    const web = await startWeb(await freePort(), { signalUrl: signaling.url, hostId });
    const log: string[] = [];
    const db = join(dir, 'host.sqlite');
    const secret = { secret: turn.secret, urls: [turn.url], ttlS: 3600 };
    const hostOptions = {
      jobs: [job],
      signalUrl: signaling.url,
      hostId,
      leaseMs: 4000,
      ice: { iceServers: [], iceTransportPolicy: IcePolicy.Relay },
      turn: secret,
    };
    let store = await openHostStore(db);
    let host = await startHost({ ...hostOptions, store, log: (line) => log.push(line) });
    // A host given the wrong secret says so in its log at start.
    const wrongLog: string[] = [];
    const wrongHost = await startHost({
      ...hostOptions,
      hostId: `${hostId}-wrong`,
      turn: { ...secret, secret: 'not-the-secret' },
      log: (l) => wrongLog.push(l),
    });
    try {
      const relayOnly = (servers: IceConfig['iceServers']): string => JSON.stringify({ iceServers: servers, iceTransportPolicy: 'relay' });
      // Minted an hour ago for ten minutes: expired, as a cached page's would be.
      const expired = mintTurnGrant({ ...secret, ttlS: 600 }, 'visitor', Date.now() - 3600_000).iceServers;
      await openVolunteer(page, `http://localhost:${web.config.server.port}/`, signaling.url, hostId, { ice: relayOnly(expired) });
      await page.getByRole('button', { name: 'Start' }).click();
      await expect.poll(() => log.some((l) => l.includes("relay address granted (the host's credentials are accepted)")), { timeout: 10_000 }).toBe(true);
      await expect
        .poll(() => wrongLog.some((l) => l.includes("the TURN server refused the host's credentials (a wrong --turn-secret")), { timeout: 10_000 })
        .toBe(true);
      wrongHost.host.close();
      const alert = page.locator('tabgrid-volunteer').getByRole('alert');
      await expect(alert).toContainText('The TURN relay refused this page’s credentials (expired or wrong)', { timeout: 20_000 });
      await expect
        .poll(() => log.some((l) => /gave up before its data connection opened|could not connect/.test(l) && l.includes('TURN credentials')), {
          timeout: 30_000,
        })
        .toBe(true);
      console.log(log.filter((l) => l.includes('TURN credentials')).join('\n'));
      expect(turn.log.some((l) => /401|check_stun_auth|expired|Unauthorized/i.test(l))).toBe(true);

      // Wrong ones: the same sentence, so the live region has nothing new to announce.
      const wrong = [{ ...expired[0]!, username: `${Math.floor(Date.now() / 1000) + 600}:visitor`, credential: 'bm90IHRoZSBzZWNyZXQ=' }];
      await page.locator('tabgrid-volunteer').evaluate((el, ice) => el.setAttribute('ice', ice), relayOnly(wrong));
      await expect(alert).toContainText('The TURN relay refused this page’s credentials');

      // Fresh ones from the site: it connects at once, through TURN.
      const fresh = mintTurnGrant(secret, 'visitor').iceServers;
      await page.locator('tabgrid-volunteer').evaluate((el, ice) => el.setAttribute('ice', ice), relayOnly(fresh));
      const connection = page.locator('tabgrid-volunteer [data-field="connection"]');
      await expect(connection).toHaveText('connected through a TURN relay server', { timeout: 20_000 });
      const paths = await page.evaluate(() => (document.querySelector('tabgrid-volunteer') as TabgridVolunteer).icePaths);
      expect(paths[0]?.local).toBe('relay');
      await expect
        .poll(() => page.evaluate(() => (document.querySelector('tabgrid-volunteer') as TabgridVolunteer).unitsDone), { timeout: 30_000 })
        .toBeGreaterThan(2);

      // The page's credentials go stale again; the host restarts (every connection drops). The
      // page reconnects with the credentials the host's welcome handed it, and nothing is lost.
      await page.locator('tabgrid-volunteer').evaluate((el, ice) => el.setAttribute('ice', ice), relayOnly(expired));
      host.host.close();
      await store.close();
      store = await openHostStore(db);
      host = await startHost({ ...hostOptions, store, log: (line) => log.push(line) });
      await expect.poll(() => host.core.progress().accepted, { timeout: 45_000 }).toBe(job.units);
      await checkResults(host.core);
      await expect(connection).toHaveText('connected through a TURN relay server');
    } finally {
      wrongHost.host.close();
      host.host.close();
      await store.close();
      await web.close();
    }
  });

  test('a page with ice-url reads its TURN credentials from the signaling server (minted per request) and computes through TURN, relay only', async ({
    page,
  }) => {
    test.setTimeout(60_000);
    const hostId = `e2e-turn-ice-url-${process.pid}`;
    const job: JobSpec = { id: 'e2e-turn-ice-url', kernel: 'sha256-batch', units: 8, messagesPerUnit: 4096, messageLength: 64, seed: 78, samples: 8 };
    const secret = { secret: turn.secret, urls: [turn.url], ttlS: 600 };
    const relayOnly: IceConfig = { iceServers: [], iceTransportPolicy: IcePolicy.Relay };
    // Its own signaling server, holding the secret: the page is given no credentials at all.
    const minting = await startSignaling(await freePort(), { ice: { base: relayOnly, turn: secret } });
    const web = await startWeb(await freePort(), { signalUrl: minting.url, hostId });
    const store = await openHostStore(join(dir, 'ice-url.sqlite'));
    const host = await startHost({ jobs: [job], signalUrl: minting.url, hostId, leaseMs: 4000, ice: relayOnly, turn: secret, store });
    try {
      const iceUrl = minting.url.replace(/^ws/, 'http').replace(/\/$/, '') + '/ice';
      await openVolunteer(page, `http://localhost:${web.config.server.port}/`, minting.url, hostId, { 'ice-url': iceUrl });
      await page.getByRole('button', { name: 'Start' }).click();
      const connection = page.locator('tabgrid-volunteer [data-field="connection"]');
      await expect(connection).toHaveText('connected through a TURN relay server', { timeout: 20_000 });
      // Relay only, and through TURN from the first connection (before any welcome could hand it the
      // host's credentials): the policy and the credentials can only have come from GET /ice.
      const paths = await page.evaluate(() => (document.querySelector('tabgrid-volunteer') as TabgridVolunteer).icePaths);
      expect(paths[0]?.local).toBe('relay');
      await expect.poll(() => host.core.progress().accepted, { timeout: 30_000 }).toBe(job.units);
      await checkResults(host.core);
    } finally {
      host.host.close();
      await store.close();
      await web.close();
      await minting.close();
    }
  });
});
