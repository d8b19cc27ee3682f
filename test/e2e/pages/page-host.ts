/** Test page: runs a job host in the tab (`?signal=…&host=…&job=<JSON>&leaseMs=…`). */
import { startPageHost, type PageHost } from '../../../src/host/page-host';
import type { JobSpec } from '../../../src/host/job';

declare global {
  interface Window {
    pageHost?: PageHost;
    pageHostError?: string;
  }
}

const params = new URLSearchParams(location.search);
const log = document.getElementById('log')!;
startPageHost({
  jobs: [JSON.parse(params.get('job')!) as JobSpec],
  signalUrl: params.get('signal')!,
  hostId: params.get('host')!,
  leaseMs: Number(params.get('leaseMs') ?? 10_000),
  log: (line) => (log.textContent += `${line}\n`),
}).then(
  (host) => (window.pageHost = host),
  (err: unknown) => (window.pageHostError = String(err)),
);
