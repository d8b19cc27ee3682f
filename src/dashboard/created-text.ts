import type { JobSpec } from '../host/job';
import { kernelName } from '../kernels/units';

/** The confirmation the form shows when the host took a job: what was created, and what happens next. */
export function createdText(spec: JobSpec): string {
  const units = spec.units.toLocaleString('en-US');
  return `Job ${spec.id} created: ${units} unit${spec.units === 1 ? '' : 's'} of ${kernelName(spec.kernel) ?? spec.kernel}. Volunteers connected to this host start on it now; its progress is shown below.`;
}
