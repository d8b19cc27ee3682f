import { readFile } from 'node:fs/promises';
import { expect, test, type Page } from '@playwright/test';
import type { ResultsFile } from '../../src/dashboard/results-file';
import type { TabgridVolunteer } from '../../src/ui/tabgrid-volunteer';
import { a11yViolations } from './a11y';
import { openVolunteer, useSignalingAndWeb } from './stack-fixture';

const hostId = `e2e-leaderboard-${process.pid}`;
const env = useSignalingAndWeb(hostId);
const units = 8;

/** The widget's own standing as the host told it, and the credit its receipts add up to. */
async function own(page: Page) {
  return page.evaluate(() => {
    const el = document.querySelector('tabgrid-volunteer') as TabgridVolunteer;
    return { standing: el.standing, receipts: el.receipts.reduce((s, r) => s + r.credit, 0), id: el.receipts[0]?.volunteer };
  });
}

test('two volunteers with names and a team: the leaderboard and each widget’s own total and rank match the host’s receipts', async ({ browser }, testInfo) => {
  const dash = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  dash.on('pageerror', (err) => console.error(`[dashboard error] ${err.message}`));
  await dash.goto(`${env.base}/dashboard.html?${new URLSearchParams({ host: hostId, signal: env.signaling.url })}`);
  await expect(dash.locator('[data-field="host-status"]')).toContainText(`Running as host ${hostId}`, { timeout: 30_000 });

  // Ada names herself before Start (kept, then stored and sent); Bob after, in another spelling of the same team.
  const ada = await browser.newPage({ viewport: { width: 390, height: 1400 } });
  const bob = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  await openVolunteer(ada, `${env.base}/`, env.signaling.url, hostId);
  await openVolunteer(bob, `${env.base}/`, env.signaling.url, hostId);
  await ada.getByText('Name on the leaderboard (optional)').click();
  // A disguised name is refused in the page, and nothing is sent.
  await ada.getByLabel('Display name').fill('Ada\u202Eevil');
  await ada.getByRole('button', { name: 'Save' }).click();
  await expect(ada.locator('[data-field="profile-note"]')).toContainText('no control or invisible characters');
  await ada.getByLabel('Display name').fill('  Ada  Lovelace ');
  await ada.getByLabel('Team').fill('Lab A');
  await ada.getByRole('button', { name: 'Save' }).click();
  await expect(ada.locator('[data-field="profile-note"]')).toHaveText('Kept: stored and told to the host when you press Start.');
  await ada.getByRole('button', { name: 'Start' }).click();
  await bob.getByRole('button', { name: 'Start' }).click();
  // Connected, with no job yet: the host's answer to its (empty) profile.
  await expect(bob.locator('[data-field="standing"]')).toHaveText('no points yet', { timeout: 60_000 });
  await bob.getByText('Name on the leaderboard (optional)').click();
  await bob.getByLabel('Display name').fill('Bob');
  await bob.getByLabel('Team').fill('lab a');
  await bob.getByRole('button', { name: 'Save' }).click();
  await expect(bob.locator('[data-field="profile-note"]')).toHaveText('Saved, and the host has it.');
  await expect(bob.locator('[data-field="team-standing"]')).toHaveText('lab a: 0 points');

  // The job comes once both are in the team: a team counts the points its members earn while in it.
  await expect(dash.locator('tg-leaderboard [data-field="no-leaders"]')).toBeVisible();
  await dash.getByLabel('Job id').fill('e2e-lb');
  await dash.getByLabel('Work units').fill(String(units));
  await dash.getByLabel('Messages per unit').fill('1024');
  await dash.getByRole('button', { name: 'Create job' }).click();

  const summary = dash.locator('tg-unit-grid [data-field="summary"]');
  await expect(summary).toHaveText(new RegExp(`^${units} of ${units} units accepted`), { timeout: 150_000 });

  // The host's receipts, from its results download: credit per volunteer key.
  const [download] = await Promise.all([dash.waitForEvent('download'), dash.getByRole('button', { name: 'Download results of e2e-lb (JSON)' }).click()]);
  const file = JSON.parse(await readFile(await download.path(), 'utf8')) as ResultsFile;
  const earned = new Map<string, number>();
  for (const r of file.results) earned.set(r.receipt!.volunteer, (earned.get(r.receipt!.volunteer) ?? 0) + r.receipt!.credit);
  const total = [...earned.values()].reduce((a, b) => a + b, 0);
  const rankOf = (id: string) => ((earned.get(id) ?? 0) > 0 ? 1 + [...earned.values()].filter((c) => c > earned.get(id)!).length : undefined);

  // Each widget: its own total and rank as the host tells them, equal to the receipts it holds and to the host's.
  const names = new Map<string, string>();
  for (const [page, name] of [
    [ada, 'Ada Lovelace'],
    [bob, 'Bob'],
  ] as const) {
    // Asked after each accepted result and, with no work left, every STANDING_REFRESH_MS: the others' last results reach it too.
    await expect
      .poll(
        async () => {
          const o = await own(page);
          return o.standing?.credit === o.receipts && (o.id === undefined || o.standing.teamCredit === total);
        },
        { timeout: 30_000 },
      )
      .toBe(true);
    const { standing, receipts, id } = await own(page);
    if (id === undefined) {
      // This one got no unit (the other was faster): no credit, no rank.
      expect(standing).toMatchObject({ credit: 0, accepted: 0 });
      expect(standing?.rank).toBeUndefined();
      continue;
    }
    names.set(id, name);
    expect(receipts).toBe(earned.get(id));
    expect(standing).toMatchObject({ credit: earned.get(id), rank: rankOf(id), ranked: earned.size, name, teamCredit: total, teamRank: 1, teamsRanked: 1 });
    await expect(page.locator('[data-field="standing"]')).toContainText(`${earned.get(id)!.toLocaleString('en')} points`);
    await expect(page.locator('[data-field="standing"]')).toContainText(`rank ${rankOf(id)} of ${earned.size}`);
    await expect(page.locator('[data-field="team-standing"]')).toContainText(`${total.toLocaleString('en')} points, rank 1 of 1`);
  }

  // The dashboard's leaderboard: one row per key that earned, by the host's receipts, and one team holding both.
  const board = dash.locator('tg-leaderboard');
  await expect(board.locator('table[data-table="donors"] tbody tr')).toHaveCount(earned.size, { timeout: 10_000 });
  for (const [id, credit] of earned) {
    const row = board.locator(`tr[data-donor="${id}"]`);
    await expect(row.locator('[data-field="credit"]')).toHaveText(credit.toLocaleString('en'));
    await expect(row.locator('[data-field="rank"]')).toHaveText(String(rankOf(id)));
    await expect(row.locator('[data-field="name"]')).toHaveText(names.get(id)!);
    await expect(row.locator('[data-field="team"]')).toHaveText(names.get(id) === 'Bob' ? 'lab a' : 'Lab A');
    await expect(row.locator('[data-field="units"]')).toHaveText(String(file.results.filter((r) => r.receipt!.volunteer === id).length));
    expect(Number((await row.locator('[data-field="rac"]').textContent())!.replaceAll(',', ''))).toBeGreaterThan(0);
  }
  const team = board.locator('table[data-table="teams"] tbody tr');
  await expect(team).toHaveCount(1);
  await expect(team.locator('[data-field="name"]')).toHaveText('Lab A');
  await expect(team.locator('[data-field="credit"]')).toHaveText(total.toLocaleString('en'));
  await expect(team.locator('[data-field="members"]')).toHaveText('2');

  expect(await a11yViolations(dash)).toEqual([]);
  expect(await a11yViolations(ada)).toEqual([]);
  await board.scrollIntoViewIfNeeded();
  await dash.screenshot({ path: testInfo.outputPath('leaderboard-1280.png'), fullPage: true });
  await dash.setViewportSize({ width: 390, height: 900 });
  await dash.screenshot({ path: testInfo.outputPath('leaderboard-390.png'), fullPage: true });
  // Nothing widens the page past a phone's screen: wide tables scroll inside their panels.
  expect(await dash.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await ada.screenshot({ path: testInfo.outputPath('widget-donor-390.png'), fullPage: true });
  await bob.screenshot({ path: testInfo.outputPath('widget-donor-1280.png'), fullPage: true });
});
