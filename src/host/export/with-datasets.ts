import { shelf } from '../../data/shelf';
import { ErrorCode, TabgridError } from '../../errors';
import { datasetsOf, type JobSpec } from '../job';
import type { HostStore } from '../store/store';

/**
 * Runs `body` with the datasets a job reads held on the shelf: a job's units (and so where its
 * outputs go) are laid out from its datasets (a hashing job's records), and an export may run
 * on a stopped host's store, where nothing holds them.
 */
export async function withDatasets<T>(store: HostStore, spec: JobSpec, body: () => Promise<T>): Promise<T> {
  const releases: (() => void)[] = [];
  try {
    for (const root of datasetsOf(spec)) {
      if (shelf.hasDataset(root)) continue;
      const stored = await store.loadDataset(root);
      if (!stored) throw new TabgridError(ErrorCode.Storage, `job ${spec.id} reads dataset ${root.slice(0, 12)}…, which the store does not hold`);
      releases.push(shelf.holdDataset(root, stored.data));
    }
    return await body();
  } finally {
    for (const release of releases) release();
  }
}
