/**
 * Opening the volunteer's IndexedDB database (layout and history: schema.ts), and the
 * transaction and error handling its users share. The volunteer store and the dataset cache
 * each hold their own connection to the one database, at the one version, so one upgrade path
 * serves both.
 */
import { openDB, type IDBPDatabase, type IDBPTransaction } from 'idb';
import { ErrorCode, TabgridError } from '../../errors';
import { UPGRADES, VOLUNTEER_DB_NAME, VOLUNTEER_SCHEMA_VERSION, type VolunteerDb, type VolunteerStoreName } from './schema';

export interface OpenVolunteerDbOptions {
  /** Database name (default 'tabgrid-volunteer'); tests use their own. */
  readonly name?: string;
  /** How long the open may wait, e.g. for another tab to let go of an old version (default 10 s). */
  readonly timeoutMs?: number;
  /** Hears that the open waits for another tab's connection to close. */
  readonly onBlocked?: () => void;
}

/**
 * Opens (creating or upgrading if need be) the volunteer's database. `lost(why)` hears that
 * the connection was closed under its user (another tab upgrades, storage cleared); it may be
 * called only after the open resolved. Throws TabgridError 'storage'; `what` opens its message.
 */
export async function openVolunteerDb(options: OpenVolunteerDbOptions, what: string, lost: (why: string) => void): Promise<IDBPDatabase<VolunteerDb>> {
  const name = options.name ?? VOLUNTEER_DB_NAME;
  if (typeof indexedDB === 'undefined') throw new TabgridError(ErrorCode.Storage, `${what}: no IndexedDB here`);
  let opened = false;
  let blocked = false;
  let gaveUp = false;
  const opening = openDB<VolunteerDb>(name, VOLUNTEER_SCHEMA_VERSION, {
    upgrade(db, oldVersion, _newVersion, tx) {
      for (let v = oldVersion; v < VOLUNTEER_SCHEMA_VERSION; v++) UPGRADES[v]!(db, tx);
    },
    // An older connection (another tab) did not close when asked. Its tab may still be about
    // to; the timeout below decides when to stop waiting.
    blocked() {
      blocked = true;
      options.onBlocked?.();
    },
    // Another tab wants a newer version: step aside rather than stall its upgrade.
    blocking(_current, _wanted, event) {
      (event.target as IDBDatabase).close();
      if (opened) lost('another tab upgraded the database; reload this page');
    },
    terminated() {
      if (opened) lost('the browser closed the database (storage cleared or failing)');
    },
  });
  // An open we gave up on may still succeed later: close it then, so it blocks no one.
  opening.then(
    (db) => gaveUp && db.close(),
    () => undefined,
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      gaveUp = true;
      reject(
        new TabgridError(
          ErrorCode.Storage,
          blocked
            ? `${what}: another tab keeps an older version of it open; close or reload the other tabgrid tabs`
            : `${what}: no answer within ${options.timeoutMs ?? 10_000} ms`,
        ),
      );
    }, options.timeoutMs ?? 10_000);
  });
  try {
    const db = await Promise.race([opening, timeout]);
    opened = true;
    return db;
  } catch (err) {
    throw storageError(what, err);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs `f` in one readwrite transaction and waits for it to commit. `f` puts each request it
 * makes in `pending`. Whatever `f` throws, or any request that fails, aborts the transaction,
 * so nothing of it is kept; the error is rethrown as it came (storageError maps it).
 */
export async function writeTransaction<N extends ArrayLike<VolunteerStoreName>, T>(
  db: IDBPDatabase<VolunteerDb>,
  stores: N,
  durability: IDBTransactionDurability,
  f: (tx: IDBPTransaction<VolunteerDb, N, 'readwrite'>, pending: Promise<unknown>[]) => Promise<T>,
): Promise<T> {
  const tx = db.transaction(stores, 'readwrite', { durability });
  const pending: Promise<unknown>[] = [];
  try {
    const result = await f(tx, pending);
    await Promise.all(pending);
    await tx.done;
    return result;
  } catch (err) {
    try {
      tx.abort();
    } catch {
      // Already aborted by the failing request, or already finished.
    }
    // Settle the requests the abort failed, so none surfaces as an unhandled rejection.
    await Promise.allSettled([...pending, tx.done]);
    throw err;
  }
}

/**
 * IndexedDB failures as TabgridErrors: a full quota becomes 'storage-full' (the session can
 * tell the volunteer to free space and stop prefetching, which retrying will not fix); every
 * other fault is 'storage'.
 */
export function storageError(what: string, err: unknown): TabgridError {
  if (err instanceof TabgridError) return err;
  if (isQuotaExceeded(err)) {
    return new TabgridError(
      ErrorCode.StorageFull,
      `${what}: the browser refused to store more for this site (QuotaExceededError); free disk space or clear old site data. Nothing of this write was kept; what was stored before is intact`,
      { cause: err },
    );
  }
  const e = err as { name?: string; message?: string } | undefined;
  const detail =
    e?.name === 'VersionError'
      ? `the database was created by a newer tabgrid (${e.message}); reload the page to get the newer version`
      : `${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`;
  return new TabgridError(ErrorCode.Storage, `${what}: ${detail}`, { cause: err });
}

function isQuotaExceeded(err: unknown): boolean {
  return (err as { name?: string } | undefined)?.name === 'QuotaExceededError';
}
