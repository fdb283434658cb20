// Local hashing, the second half of discovery: every file's stat (an unreadable file is an input error
// before any request), its hash when one is needed (fingerprinted names; comparison with the record),
// from the hash cache when its stat is the one cached, and the cache entries to save for the next run.

import { accessSync, closeSync, constants as fsConstants, openSync, type Stats, statSync } from 'node:fs';
import { factsOfFile, integrityOf } from '../content/fingerprint.js';
import type { Hasher } from '../content/hash.js';
import type { createHeaderResolver } from '../content/headers.js';
import { ConfigError } from '../errors.js';
import { readWholeSync } from '../util/chunked-read.js';
import { nextTurn } from '../util/next-turn.js';
import { runPool } from '../util/pool.js';
import type { LocalFile } from './discover.js';
import {
  type CacheRow,
  cacheRow,
  type HashCacheRows,
  rowHash,
  rowIntegrity,
  sameRow,
  settled,
  stampOf,
} from './hash-cache.js';
import { type DeployItem, UNHASHED } from './types.js';

/** Files smaller than this are read into memory once (hash, gzip, send); larger ones are streamed. */
export const BUFFER_LIMIT = 2 * 1024 * 1024;
/** Bytes of small files kept in memory between hashing and uploading (beyond it they are read again). */
const KEEP_BUDGET = 64 * 1024 * 1024;

/** All unreadable files at once, as one ConfigError (nothing was uploaded). */
function unreadableFiles(problems: string[], causes: unknown[]): ConfigError {
  problems.sort();
  return new ConfigError(
    'FILE_UNREADABLE',
    `cannot read ${problems.length === 1 ? 'a file' : `${problems.length} files`} to upload (nothing was uploaded):\n  ${problems.join('\n  ')}`,
    { cause: causes[0] },
  );
}

function problemOf(file: LocalFile, err: unknown): string {
  return `${file.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
}

/**
 * Take every file's stat (the size decides how it is sent; the stat is checked against the hash cache)
 * and open it, so an unreadable one is an input error before any request. A file whose stat is the one
 * cached is not opened: it has not changed (not even its permissions, which set ctime) since a deploy
 * read it. Nothing is read yet.
 */
export function statFiles(
  files: readonly LocalFile[],
  resolveHeaders: ReturnType<typeof createHeaderResolver>,
  cache: HashCacheRows | undefined,
): DeployItem[] {
  const items: DeployItem[] = [];
  const unreadable = new UnreadableFiles();
  for (const file of files) {
    try {
      const st = statSync(file.file);
      const stamp = stampOf(st);
      // A file the cache vouches for is not opened, but must still be readable by whoever runs this
      // deploy: a cache names files some earlier run could read (another user, other groups, or a
      // filtered run that carried entries it did not check).
      const cached = cache?.matching(file.file, stamp);
      if (cached === undefined) closeSync(openSync(file.file, 'r'));
      else if (!ownerMayRead(st)) accessSync(file.file, fsConstants.R_OK);
      const settings = resolveHeaders(file.relPath);
      items.push({
        file,
        hash: UNHASHED,
        size: stamp.size,
        stamp,
        cached,
        settings,
        signature: settings.signature,
        key: file.key,
      });
    } catch (err) {
      unreadable.add(file, err);
    }
  }
  unreadable.throwIfAny();
  return items;
}

/** The real user id access() checks against; undefined where there is none (Windows). */
const realUid = process.getuid?.();

/**
 * Whether the stat alone shows the file readable by this process: it owns the file and the owner may
 * read. That is what access(R_OK) decides for an owner (the owner's bits are its whole permission, ACLs
 * included), without its syscall: on an unchanged re-deploy the check ran once per file and cost more
 * than the stat. Anyone else's file is asked with access().
 */
function ownerMayRead(st: Stats): boolean {
  return realUid !== undefined && st.uid === realUid && (st.mode & 0o400) !== 0;
}

/** Unreadable files collected over a pass, reported at once as one ConfigError. */
class UnreadableFiles {
  private readonly problems: string[] = [];
  private readonly causes: unknown[] = [];

  add(file: LocalFile, err: unknown): void {
    this.problems.push(problemOf(file, err));
    this.causes.push(err);
  }

  throwIfAny(): void {
    if (this.problems.length > 0) throw unreadableFiles(this.problems, this.causes);
  }
}

/** What a hashing pass needs besides the items. */
interface HashingPass {
  hasher: Hasher;
  signal: AbortSignal | undefined;
  /** Compute the sha384 integrity too (fingerprinting: the manifest needs it). */
  withIntegrity: boolean;
  unreadable: UnreadableFiles;
}

/**
 * Hash the items (in place): from the hash cache when the file's stat is the one cached (statFiles
 * found its entry), else by reading the file. Small files are read synchronously (see hashSmallFiles),
 * large ones in chunks, four at a time. All unreadable files are reported at once, as one ConfigError.
 */
export async function hashItems(
  items: readonly DeployItem[],
  hasher: Hasher,
  signal: AbortSignal | undefined,
  withIntegrity: boolean,
): Promise<void> {
  const pass: HashingPass = { hasher, signal, withIntegrity, unreadable: new UnreadableFiles() };
  const toRead = items.filter((item) => !takeFromCache(item, pass));
  const large = await hashSmallFiles(toRead, pass);
  if (large === undefined) return; // aborted
  await runPool(
    large,
    4,
    async (item) => {
      try {
        const { hash, size, integrity } = withIntegrity
          ? await factsOfFile(item.file.file)
          : { ...(await hasher.hashFile(item.file.file)), integrity: undefined };
        item.hash = hash;
        item.size = size;
        item.integrity = integrity;
      } catch (err) {
        pass.unreadable.add(item.file, err);
      }
    },
    () => signal?.aborted === true,
  );
  pass.unreadable.throwIfAny();
}

/** Take the item's hash from the cache when its stat is the one cached (and it has what is needed). */
function takeFromCache(item: DeployItem, pass: HashingPass): boolean {
  const cached = item.cached;
  if (cached === undefined || (pass.withIntegrity && !rowIntegrity(cached))) return false;
  item.hash = rowHash(cached);
  item.integrity = rowIntegrity(cached); // kept in the cache for the next fingerprinting run
  return true;
}

/**
 * Hash the small files, returning the large ones (undefined when aborted). Read synchronously: nothing
 * else runs yet, and from the page cache that is 3-4 times faster than fs.promises (measured on 2,000
 * files); the loop yields every 50 ms so an abort still gets through. Their bytes are kept for the
 * upload while the memory budget allows.
 */
async function hashSmallFiles(
  items: readonly DeployItem[],
  pass: HashingPass,
): Promise<DeployItem[] | undefined> {
  const large: DeployItem[] = [];
  let kept = 0;
  let scratch: Buffer | undefined;
  let lastYield = performance.now();
  for (let i = 0; i < items.length; i++) {
    if ((i & 31) === 0 && performance.now() - lastYield > 50) {
      await nextTurn();
      lastYield = performance.now();
      if (pass.signal?.aborted) return undefined;
    }
    const item = items[i]!;
    if (item.size >= BUFFER_LIMIT) {
      large.push(item);
      continue;
    }
    let fd: number | undefined;
    try {
      fd = openSync(item.file.file, 'r');
      // Bytes kept for the upload get their own buffer; past the budget, one scratch buffer is reused
      // (a fresh buffer per file would leave hundreds of MB of garbage on a big site).
      const keep = kept + item.size <= KEEP_BUDGET;
      if (!keep) scratch ??= Buffer.allocUnsafeSlow(BUFFER_LIMIT);
      const bytes = readWholeSync(fd, item.size, keep ? undefined : scratch);
      if (keep) {
        item.body = bytes;
        kept += bytes.length;
      }
      item.hash = pass.hasher.hashBytes(bytes);
      item.integrity = pass.withIntegrity ? integrityOf(bytes) : undefined;
      item.size = bytes.length;
    } catch (err) {
      pass.unreadable.add(item.file, err);
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
  return large;
}

/**
 * The hash cache to save, or undefined when it would say what the loaded one says (an unchanged
 * re-deploy writes nothing): every file hashed by this run (read, sent, or found in the cache) whose
 * timestamps had settled when it was first seen (hash-cache.ts says why). A filtered run keeps the
 * entries of the files it did not look at.
 */
export function hashCacheToSave(
  items: readonly DeployItem[],
  loaded: HashCacheRows,
  seenAt: number,
  filtered: boolean,
): Record<string, CacheRow> | undefined {
  if (!filtered && cacheHoldsExactly(items, loaded)) return undefined;
  const rows: Record<string, CacheRow> = Object.create(null);
  if (filtered) {
    for (const file of loaded.files()) {
      const row = loaded.entryOf(file);
      if (row !== undefined) rows[file] = row;
    }
  }
  for (const item of items) {
    const hash = hashToCache(item);
    if (hash === UNHASHED || !settled(item.stamp, seenAt)) delete rows[item.file.file];
    else rows[item.file.file] = cacheRow(item.stamp, hash, integrityToCache(item));
  }
  return filtered && holdsTheSame(loaded, rows) ? undefined : rows;
}

/** Whether the loaded cache's entries, all of them well formed, are exactly `rows`. */
function holdsTheSame(loaded: HashCacheRows, rows: Readonly<Record<string, CacheRow>>): boolean {
  const files = Object.keys(rows);
  if (files.length !== loaded.files().length) return false;
  return files.every((file) => {
    const before = loaded.entryOf(file);
    return before !== undefined && sameRow(before, rows[file]!);
  });
}

/** What was sent is what was read last: it wins over a hash from before (or from the cache). */
function hashToCache(item: DeployItem): string {
  return item.sentHash ?? item.hash;
}

/** The integrity goes with the hash it was computed with, and only with it. */
function integrityToCache(item: DeployItem): string | undefined {
  return hashToCache(item) === item.hash ? item.integrity : undefined;
}

/**
 * Whether the loaded cache already holds an entry for every item, with its stat, hash and integrity,
 * and nothing else: checked without building a second cache of 10,000 entries.
 */
function cacheHoldsExactly(items: readonly DeployItem[], loaded: HashCacheRows): boolean {
  const held = new Set<string>();
  for (const item of items) {
    const row = item.cached;
    if (
      row === undefined ||
      rowHash(row) !== hashToCache(item) ||
      rowIntegrity(row) !== integrityToCache(item)
    )
      return false;
    held.add(item.file.file);
  }
  return held.size === loaded.files().length;
}
