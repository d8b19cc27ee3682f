import { describe, expect, it } from 'vitest';
import { startBanner } from '../../scripts/start-banner';
import { DEMO_JOB } from '../../src/host/job';

describe('npm start', () => {
  it('names the volunteer page, the dashboard and the watch link (issue 20)', () => {
    const banner = startBanner(
      {
        webUrl: 'http://localhost:5173/',
        signalUrl: 'ws://127.0.0.1:9000/',
        hostId: 'tabgrid-demo-host',
        watchUrl: 'http://localhost:5173/dashboard.html?watch#t',
      },
      DEMO_JOB,
    );
    expect(banner).toMatch(/volunteer page {3}http:\/\/localhost:5173\/ /);
    expect(banner).toMatch(/dashboard {8}http:\/\/localhost:5173\/dashboard\.html {3}\(run your own job from the browser\)/);
    expect(banner).toMatch(/watch the host {3}http:\/\/localhost:5173\/dashboard\.html\?watch#t/);
    expect(banner).toMatch(/job {14}demo-sha256: 1,024 units of SHA-256 hashing/);
  });

  it('publishes a demo job that runs for minutes, in a steady stream of units', () => {
    // 32 units were done 3 s after Start on a GPU (issue 20, bug 4): a unit's round trip is about 0.1 s there.
    expect(DEMO_JOB.units).toBeGreaterThanOrEqual(1000);
    expect(DEMO_JOB.kernel === 'sha256-batch' && DEMO_JOB.messagesPerUnit * DEMO_JOB.units).toBeGreaterThanOrEqual(2 ** 25);
  });
});
