import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { chromium } from 'playwright';
import { launchOptions } from '../../scripts/chromium';
import { startWeb } from '../../scripts/stack';
import type { JobSpec } from '../../src/host/job';
import { freePort, openVolunteer, volunteerStatus } from './stack-fixture';

const children: ChildProcess[] = [];
test.afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

/** A child's output lines, and a promise for the first line matching `ready`. */
function spawnScript(args: string[], env: NodeJS.ProcessEnv, ready: RegExp) {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  children.push(child);
  const output: string[] = [];
  const started = new Promise<string>((resolve, reject) => {
    const hear = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        output.push(line);
        if (ready.test(line)) resolve(line);
      }
    };
    child.stdout!.on('data', hear);
    child.stderr!.on('data', hear);
    child.once('exit', (code) => reject(new Error(`${args[0]} exited (${code}) before it was ready:\n${output.join('\n')}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output, started, exited };
}

function getJson(url: string, ca: Buffer): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    get(url, { ca }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(JSON.parse(body) as Record<string, unknown>));
    }).on('error', reject);
  });
}

test('npm run signal with TLS (a self-signed certificate) serves a page volunteer over wss://, answers health, and stops cleanly', async () => {
  test.setTimeout(90_000);
  const dir = mkdtempSync(join(tmpdir(), 'tabgrid-tls-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  const ca = readFileSync(cert);
  const port = await freePort();
  const signal = spawnScript(
    ['scripts/signal.ts', '--port', String(port), '--path', '/peerjs/', '--tls-cert', cert, '--tls-key', key],
    {},
    /^signaling server on /,
  );
  expect(await signal.started).toContain(`wss://127.0.0.1:${port}/peerjs/`);
  const signalUrl = `wss://127.0.0.1:${port}/peerjs/`;
  expect(await getJson(`https://127.0.0.1:${port}/health`, ca)).toMatchObject({ ok: true, tls: true, peers: 0 });

  // The Node host trusts the test's certificate as a deployment would trust its CA.
  const hostId = `e2e-tls-${process.pid}`;
  const job: JobSpec = { id: 'e2e-tls', kernel: 'sha256-batch', units: 6, messagesPerUnit: 2048, messageLength: 64, seed: 443, samples: 8 };
  const jobFile = join(dir, 'job.json');
  writeFileSync(jobFile, JSON.stringify(job));
  const host = spawnScript(
    ['scripts/host.ts', '--job', jobFile, '--signal', signalUrl, '--id', hostId, '--exit-when-done'],
    { NODE_EXTRA_CA_CERTS: cert },
    / serves /,
  );
  await host.started;

  const web = await startWeb(await freePort(), { signalUrl, hostId });
  const browser = await chromium.launch({ ...launchOptions(), args: [...launchOptions().args, '--ignore-certificate-errors'] });
  try {
    const page = await browser.newPage();
    await openVolunteer(page, `http://localhost:${web.config.server.port}/`, signalUrl, hostId, { backend: 'cpu' });
    await page.getByRole('button', { name: 'Start' }).click();
    await expect(page.locator('tabgrid-volunteer [data-field="connection"]')).toHaveText(/^connected/, { timeout: 30_000 });
    expect(((await getJson(`https://127.0.0.1:${port}/health`, ca)).peers as number) >= 2).toBe(true);
    expect(await host.exited).toBe(0);
    expect(host.output.filter((l) => l.startsWith('accepted') || l.includes('"unitId"')).length).toBeGreaterThanOrEqual(job.units);
    expect((await volunteerStatus(page)).unitsDone).toBeGreaterThan(0);
  } finally {
    await browser.close();
    await web.close();
  }
  signal.child.kill('SIGTERM');
  expect(await signal.exited).toBe(0);
  expect(signal.output.some((l) => l.includes('stopping'))).toBe(true);
  rmSync(dir, { recursive: true, force: true });
});
