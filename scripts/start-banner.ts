import { describeLayout, type JobSpec } from '../src/host/job';
import { kernelName } from '../src/kernels/units';
import type { Stack } from './stack';

/**
 * What `npm start` prints once everything listens: where a visitor volunteers, where a researcher
 * runs a job of their own (the dashboard), and where to watch this host.
 */
export function startBanner(stack: Pick<Stack, 'webUrl' | 'signalUrl' | 'hostId' | 'watchUrl'>, job: JobSpec): string {
  return `
tabgrid is running.
  volunteer page   ${stack.webUrl}   (open it, press Start)
  dashboard        ${stack.webUrl}dashboard.html   (run your own job from the browser)
  watch the host   ${stack.watchUrl}   (this host in the dashboard, read-only; the #token is its key)
  signaling        ${stack.signalUrl}
  job host id      ${stack.hostId}
  job              ${job.id}: ${describeLayout(job).replace(/^(\d+) units/, (_, n: string) => `${Number(n).toLocaleString('en-US')} units`)} of ${kernelName(job.kernel) ?? job.kernel}
Press Ctrl-C to stop.
`;
}
