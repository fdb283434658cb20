// The hash cache file as objects, for tests that look at an entry or edit one: built on the reader and
// writer the deploy uses (src/deploy/hash-cache.ts), which keep entries as rows.
import {
  type CacheRow,
  cacheRow,
  type FileStamp,
  HashCacheRows,
  saveHashCacheRows,
} from '../../src/deploy/hash-cache.js';

/** A cached hash: the stamp the file had, its xxh64, and its integrity when it was computed. */
export interface CachedHash {
  stamp: FileStamp;
  hash: string;
  integrity?: string | undefined;
}

/** The cache's well-formed entries by absolute file path. */
export function loadHashCache(file: string): Map<string, CachedHash> {
  const cache = HashCacheRows.read(file);
  const out = new Map<string, CachedHash>();
  for (const p of cache.files()) {
    const row = cache.entryOf(p);
    if (row === undefined) continue;
    const [size, mtimeMs, ctimeMs, ino, dev, hash, integrity] = row;
    out.set(p, { stamp: { size, mtimeMs, ctimeMs, ino, dev }, hash, integrity });
  }
  return out;
}

/** Write `entries` as the cache; false when it could not. */
export function saveHashCache(file: string, entries: ReadonlyMap<string, CachedHash>): boolean {
  const rows: Record<string, CacheRow> = Object.create(null);
  for (const [p, { stamp, hash, integrity }] of entries) rows[p] = cacheRow(stamp, hash, integrity);
  return saveHashCacheRows(file, rows);
}

export function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return (
    a.size === b.size &&
    a.mtimeMs === b.mtimeMs &&
    a.ctimeMs === b.ctimeMs &&
    a.ino === b.ino &&
    a.dev === b.dev
  );
}
