/**
 * IndexedDB failures as TabgridErrors: a full quota becomes 'storage-full' (the session can
 * tell the volunteer to free space and stop prefetching, which retrying will not fix); every
 * other fault is 'storage'.
 */
import { ErrorCode, TabgridError } from '../../errors';

export function storageError(what: string, err: unknown): TabgridError {
  if (err instanceof TabgridError) return err;
  const e = err as { name?: string; message?: string } | undefined;
  if (e?.name === 'QuotaExceededError') {
    return new TabgridError(
      ErrorCode.StorageFull,
      `${what}: the browser refused to store more for this site (QuotaExceededError); free disk space or clear old site data. Nothing of this write was kept; what was stored before is intact`,
      { cause: err },
    );
  }
  const detail =
    e?.name === 'VersionError'
      ? `the database was created by a newer tabgrid (${e.message}); reload the page to get the newer version`
      : `${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`;
  return new TabgridError(ErrorCode.Storage, `${what}: ${detail}`, { cause: err });
}
