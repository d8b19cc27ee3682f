import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/free-port';
import { startHost, startSignaling } from '../../scripts/stack';
import type { JobSpec } from '../../src/host/job';
import { until } from '../helpers/until';

const run = promisify(execFile);
const job: JobSpec = { id: 'cli-volunteer', kernel: 'sha256-batch', units: 3, messagesPerUnit: 64, messageLength: 64, seed: 19, samples: 4 };

describe('npm run volunteer', () => {
  it('computes a host’s job from Node over PeerJS and says how it is connected', async () => {
    const signaling = await startSignaling(await freePort());
    const hostId = `cli-volunteer-${process.pid}`;
    const { core, host } = await startHost({ jobs: [job], signalUrl: signaling.url, hostId });
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'scripts/volunteer.ts', '--signal', signaling.url, '--host', hostId, '--stun', 'stun:127.0.0.1:9'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    try {
      await until(() => core.done, 30_000, 50);
      // On loopback the remote end may show as peer-reflexive (its candidate arrived after the first check): still direct.
      await until(() => /connected directly \((host|srflx|prflx) → (host|srflx|prflx)\)/.test(output), 5_000, 50);
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      host.close();
      await signaling.close();
    }
    expect(output).toMatch(/stopping: \d+ unit\(s\) done/);
  }, 60_000);

  it('says, in words, that the host is not online when the signaling server has no such peer', async () => {
    const signaling = await startSignaling(await freePort());
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/volunteer.ts', '--signal', signaling.url, '--host', 'nobody-home'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    try {
      await until(() => output.includes('The signaling server answers, but the job host "nobody-home" is not online.'), 20_000, 50);
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      await signaling.close();
    }
  }, 60_000);

  it('refuses ICE flags that cannot work, naming them', async () => {
    const failed = await run('npx', ['tsx', 'scripts/volunteer.ts', '--turn', 'turn:127.0.0.1:3478'], { timeout: 30_000 }).then(
      () => '',
      (err: { stderr: string }) => err.stderr,
    );
    expect(failed).toMatch(/--turn needs credentials: --turn-user and --turn-credential, or --turn-secret/);
  }, 60_000);
});
