/**
 * The Node shells' one way to pick a HostStore (and with it the host key, which the store
 * keeps): `npm run host`, `npm start`, the farm and `npm run verify-credit` all name it by a
 * spec string. Node only: SQLite is a native module, so browser code never imports this file
 * (the page host opens its IdbHostStore itself).
 *
 *   (none) or `memory`       a MemoryHostStore: state and key last as long as the process
 *   `sqlite:PATH` or `PATH`  a SqliteHostStore in that file (made if need be); `./memory` is a file
 *   `postgres://…` or `postgresql://…`  a PgHostStore on that database: several host processes may
 *                            share it (docs/MULTI-HOST.md)
 */
import { existsSync } from 'node:fs';
import { ErrorCode, TabgridError } from '../../errors';
import { MemoryHostStore } from './memory-store';
import type { HostStore } from './store';

export const StoreKind = { Memory: 'memory', Sqlite: 'sqlite', Postgres: 'postgres' } as const;
export type StoreKind = (typeof StoreKind)[keyof typeof StoreKind];

export type StoreSpec =
  | { readonly kind: typeof StoreKind.Memory }
  | { readonly kind: typeof StoreKind.Sqlite; readonly path: string }
  | { readonly kind: typeof StoreKind.Postgres; readonly url: string };

const SQLITE_PREFIX = 'sqlite:';
/** A URL's scheme (`postgres://…`); a bare `C:\…` path has no `//` after its colon. */
const URL_SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

/** What a spec names; a TabgridError 'bad-input' for a spec no store here can open. */
export function parseStoreSpec(spec: string | undefined): StoreSpec {
  if (spec === undefined || spec === StoreKind.Memory) return { kind: StoreKind.Memory };
  if (spec.startsWith(SQLITE_PREFIX)) {
    const path = spec.slice(SQLITE_PREFIX.length);
    if (path === '') throw new TabgridError(ErrorCode.BadInput, `store ${JSON.stringify(spec)} names no file: give sqlite:PATH`);
    return { kind: StoreKind.Sqlite, path };
  }
  const scheme = URL_SCHEME.exec(spec)?.[1]?.toLowerCase();
  if (scheme === 'postgres' || scheme === 'postgresql') return { kind: StoreKind.Postgres, url: spec };
  if (scheme !== undefined)
    throw new TabgridError(ErrorCode.BadInput, `unknown host store ${JSON.stringify(spec)}: give 'memory', a SQLite file, sqlite:PATH or postgres://…`);
  if (spec === '') throw new TabgridError(ErrorCode.BadInput, `empty host store: give 'memory', a SQLite file, sqlite:PATH or postgres://…`);
  return { kind: StoreKind.Sqlite, path: spec };
}

export interface OpenStoreOptions {
  /**
   * Refuse to make a new store: for readers of an existing host's state and key (verify-credit),
   * to whom a fresh, empty store with a fresh key would be a silent wrong answer.
   */
  readonly existing?: boolean;
  /** Group commit, on unless false: SQLite's (sqlite-group-commit.ts), PostgreSQL's in shared mode (pg-group-commit.ts). */
  readonly groupCommit?: boolean;
}

/** Opens the store `spec` names (see above). Throws TabgridError 'bad-input' for the spec, 'storage' for the store. */
export async function openHostStore(spec?: string, options: OpenStoreOptions = {}): Promise<HostStore> {
  const named = parseStoreSpec(spec);
  switch (named.kind) {
    case StoreKind.Memory: {
      if (options.existing) throw new TabgridError(ErrorCode.Storage, 'a memory host store is always new: give the SQLite file the host kept');
      return new MemoryHostStore();
    }
    case StoreKind.Sqlite: {
      if (options.existing && !existsSync(named.path)) throw new TabgridError(ErrorCode.Storage, `no host database at ${named.path}`);
      // Loaded only when named, so a memory host never loads the native module.
      const { SqliteHostStore } = await import('./sqlite-store');
      return new SqliteHostStore(named.path, { groupCommit: options.groupCommit ?? true });
    }
    case StoreKind.Postgres: {
      // Loaded only when named, as SQLite is: a host without PostgreSQL never loads the driver.
      const { PgHostStore } = await import('./pg-store');
      return PgHostStore.open(named.url, { existing: options.existing, groupCommit: options.groupCommit ?? true });
    }
  }
}
