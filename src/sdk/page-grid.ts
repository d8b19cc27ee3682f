/**
 * The researcher's SDK in a page: submit a job with your own inputs (File objects from an
 * <input type="file">, Blobs or bytes) to the job host running in this tab (host/page-host.ts),
 * watch its units come in, take its output:
 *
 *   const host = await startPageHost({ jobs: [], signalUrl, hostId });
 *   const job = await submitToPageHost(host, { kernel: 'matmul-f32', a: fileA, b: fileB });
 *   job.addEventListener('progress', (e) => show(e.detail.accepted, e.detail.total));
 *   for await (const unit of job.results()) console.log(unit.unitId, unit.volunteer);
 *   const c = await job.output(); // C, assembled by the job's grid from the accepted units
 *
 * Every input is read and checked before anything is stored; a bad file is an error naming it,
 * and leaves the host's IndexedDB as it was.
 */
import { ErrorCode, TabgridError } from '../errors';
import { submitJob } from '../host/ingest/ingest';
import type { PageHost } from '../host/page-host';
import { JobHandle } from './job';

export { JobHandle, type JobOutputData, type JobProgress, type UnitResult } from './job';

/** What the page SDK needs of a host: a page host, or any host with the same parts (tests use a memory store). */
export type PageGridHost = Pick<PageHost, 'core' | 'store' | 'hash' | 'watchAccepted'>;

/**
 * Submits a job to `host`: a request with your inputs (README "Your own data"; paths are for
 * Node, a page passes Files), or a seeded job spec. Resolves once the job and its datasets are
 * committed, to a handle following it; close the handle when done with it. Submitting the same
 * job again follows the job already there.
 */
export async function submitToPageHost(host: PageGridHost, request: unknown, options: { readonly signal?: AbortSignal } = {}): Promise<JobHandle> {
  const spec = await submitJob(host.core, host.store, request, { hash: host.hash, signal: options.signal });
  return followPageJob(host, spec.id);
}

/** A handle on a job `host` serves (submitted now, or before a reload on the same IndexedDB). */
export function followPageJob(host: PageGridHost, id: string): JobHandle {
  const spec = host.core.jobs().find((s) => s.id === id);
  if (!spec) throw new TabgridError(ErrorCode.BadInput, `no job ${id} on this host`);
  const feed: { job?: JobHandle } = {};
  const stop = host.watchAccepted((r) => feed.job?.accepted(r));
  feed.job = new JobHandle(spec, host.core, host.store, stop);
  return feed.job;
}
