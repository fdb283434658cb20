// The local hash cache: for every file hashed by a deploy, its size, mtime, ctime, inode and device at
// the time, and its xxh64 (and sha384 integrity, when fingerprinting). An unchanged re-deploy then reads
// no file: a file whose stat still matches its entry is taken to have the hashed bytes.
//
// It can never make a changed file look unchanged, because of ctime: every write to a file (and every
// utimes, rename or chmod) sets its ctime to the current time, which no program can set back. An entry is
// saved only when the file's ctime and mtime are older than the moment the deploy began looking at the
// file, by more than the file system's timestamp granularity (git's "racy clean" problem: a file written
// again within the same clock tick as its last write would keep its timestamps). So any change after the
// file was hashed leaves a ctime the entry does not have, and the file is hashed again.
//
// Where: `node_modules/.cache/nunjucks-s3/` of the nearest folder at or above the app's root that has a
// node_modules (as babel, eslint and webpack do), else the user's cache folder; NUNJUCKS_S3_CACHE_DIR, when
// set, is used instead (the test suite sets it, so runs leave nothing in the project). One file per set of
// static folders (apps do not collide); hashes depend on bytes only, so deploys of the same app to
// different buckets share it. It is a cache: a missing, unreadable, corrupt or foreign file is ignored,
// and a write that fails is ignored too. Never part of a deploy's correctness: the record in the bucket is.

import type { Stats } from 'node:fs';
import { readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomicallySync } from '../util/atomic-write.js';

const FORMAT = 'nunjucks-s3/hash-cache';
const VERSION = 1;

/** What is kept of a file's stat: size, mtimeMs, ctimeMs, ino, dev. */
export interface FileStamp {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  dev: number;
}

const HEX16 = /^[0-9a-f]{16}$/;

export function stampOf(st: Stats): FileStamp {
  return { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino, dev: st.dev };
}

/**
 * Whether a hash of the file, read after `seenAt` (ms since the epoch, taken before its stat), may be
 * cached: its timestamps are older than `seenAt` by more than their granularity. Timestamps in whole
 * seconds suggest a file system that keeps only seconds (or FAT's 2 s): then 2 s, else 100 ms (the
 * kernel stamps files with a clock that may lag the one Date.now reads by a tick).
 */
export function settled(stamp: FileStamp, seenAt: number): boolean {
  const coarse = stamp.mtimeMs % 1000 === 0 && stamp.ctimeMs % 1000 === 0;
  const margin = coarse ? 2000 : 100;
  return Math.max(stamp.mtimeMs, stamp.ctimeMs) < seenAt - margin;
}

/** The user's cache folder (XDG on Linux, Library/Caches on macOS, LOCALAPPDATA on Windows). */
function userCacheDir(): string {
  if (process.platform === 'win32')
    return process.env.LOCALAPPDATA ?? path.join(os.homedir(), 'AppData', 'Local');
  if (process.platform === 'darwin') return path.join(os.homedir(), 'Library', 'Caches');
  return process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
}

/** The folder of the cache for an app whose root is `root`. */
export function hashCacheDir(root: string): string {
  if (process.env.NUNJUCKS_S3_CACHE_DIR) return path.resolve(process.env.NUNJUCKS_S3_CACHE_DIR);
  let dir = path.resolve(root);
  for (;;) {
    try {
      if (statSync(path.join(dir, 'node_modules')).isDirectory())
        return path.join(dir, 'node_modules', '.cache', 'nunjucks-s3');
    } catch {
      // none here: look further up
    }
    const up = path.dirname(dir);
    if (up === dir) return path.join(userCacheDir(), 'nunjucks-s3');
    dir = up;
  }
}

/** The cache file for an app: named by a hash of its static folders, so two apps never share one. */
export function hashCacheFile(
  root: string,
  folders: readonly string[],
  hashString: (s: string) => string,
): string {
  const id = hashString(JSON.stringify([...folders].sort()));
  return path.join(hashCacheDir(root), `hashes-${id}.json`);
}

/**
 * A cache as read, entry by entry as a deploy asks: parsing 10,000 entries into objects up front cost
 * more than the rest of an unchanged re-deploy's look at its files. An entry that is not well formed is
 * taken as absent, as is the whole cache when it is missing, unreadable, corrupt or foreign.
 */
export class HashCacheRows {
  private constructor(private readonly rows: Readonly<Record<string, unknown>>) {}

  /** The cache in `file`; empty when it cannot be used. */
  static read(file: string): HashCacheRows {
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      return new HashCacheRows({});
    }
    if (typeof data !== 'object' || data === null) return new HashCacheRows({});
    const d = data as { format?: unknown; version?: unknown; files?: unknown };
    if (d.format !== FORMAT || d.version !== VERSION || typeof d.files !== 'object' || d.files === null)
      return new HashCacheRows({});
    return new HashCacheRows(d.files as Record<string, unknown>);
  }

  /** The well-formed entry for `file`, if any. */
  entryOf(file: string): CacheRow | undefined {
    if (!Object.hasOwn(this.rows, file)) return undefined;
    const row = this.rows[file];
    return isCacheRow(row) ? row : undefined;
  }

  /** The entry for `file` when it was made for a file with exactly this stat. */
  matching(file: string, stamp: FileStamp): CacheRow | undefined {
    const row = this.entryOf(file);
    return row !== undefined && rowHasStamp(row, stamp) ? row : undefined;
  }

  /** The paths with an entry, well formed or not. */
  files(): string[] {
    return Object.keys(this.rows);
  }
}

/** One entry as saved: size, mtimeMs, ctimeMs, ino, dev, xxh64, and the sha384 integrity when known. */
export type CacheRow =
  | readonly [number, number, number, number, number, string]
  | readonly [number, number, number, number, number, string, string];

export function rowHash(row: CacheRow): string {
  return row[5];
}

export function rowIntegrity(row: CacheRow): string | undefined {
  return row[6];
}

function rowHasStamp(row: CacheRow, stamp: FileStamp): boolean {
  return (
    row[0] === stamp.size &&
    row[1] === stamp.mtimeMs &&
    row[2] === stamp.ctimeMs &&
    row[3] === stamp.ino &&
    row[4] === stamp.dev
  );
}

/** The entry to save for a file with this stat, hash and (when known) integrity. */
export function cacheRow(stamp: FileStamp, hash: string, integrity: string | undefined): CacheRow {
  const { size, mtimeMs, ctimeMs, ino, dev } = stamp;
  return integrity
    ? [size, mtimeMs, ctimeMs, ino, dev, hash, integrity]
    : [size, mtimeMs, ctimeMs, ino, dev, hash];
}

/** Whether two entries say the same. */
export function sameRow(a: CacheRow, b: CacheRow): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function isCacheRow(e: unknown): e is CacheRow {
  if (!Array.isArray(e) || e.length < 6 || e.length > 7) return false;
  const [size, mtimeMs, ctimeMs, ino, dev, hash, integrity] = e as unknown[];
  return (
    isNum(size) &&
    isNum(mtimeMs) &&
    isNum(ctimeMs) &&
    isNum(ino) &&
    isNum(dev) &&
    typeof hash === 'string' &&
    HEX16.test(hash) &&
    (integrity === undefined || (typeof integrity === 'string' && integrity.startsWith('sha384-')))
  );
}

function isNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** Write these entries as the cache (atomically: a temporary file renamed over it). False when it could not. */
export function saveHashCacheRows(file: string, rows: Readonly<Record<string, CacheRow>>): boolean {
  try {
    writeFileAtomicallySync(file, JSON.stringify({ format: FORMAT, version: VERSION, files: rows }));
    return true;
  } catch {
    return false;
  }
}
