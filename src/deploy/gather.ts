// The second stage of createAll: the local files. Walk the static folders, take every file's stat (an
// unreadable file is an input error, before any request), hash what must be hashed now (fingerprinted
// names need the hash before anything is sent), and add the fingerprinted copies. Everything else is
// hashed later: to compare with a record entry of the same size (consult-record.ts), or as it is sent,
// so a first deploy reads each file once. The hash cache (hash-cache.ts) spares the reads of files
// whose stat has not changed since a deploy read them; saveLocalHashes writes it back at the end.

import { type AppLike, type StaticMount, staticMounts } from '../app.js';
import { createHasher, type Hasher } from '../content/hash.js';
import { createHeaderResolver } from '../content/headers.js';
import { ConfigError } from '../errors.js';
import { discoverFiles } from './discover.js';
import { withFingerprintedKeys } from './fingerprint-upload.js';
import { HashCacheRows, hashCacheFile, saveHashCacheRows } from './hash-cache.js';
import { hashCacheToSave, hashItems, statFiles } from './local-hashing.js';
import { recordKey } from './record.js';
import type { DeployItem, DeployRun } from './types.js';

/** The hash cache as this run uses it. */
export interface HashCacheUse {
  /** The cache file, or undefined when the cache is off (hashCache: false). */
  file: string | undefined;
  /** The entries loaded at the start (by absolute file path). */
  loaded: HashCacheRows | undefined;
  /** Date.now() before the first stat: entries are saved only for files settled before it. */
  seenAt: number;
}

/** What the local files are. */
export interface LocalFiles {
  mounts: StaticMount[];
  /** One item per file, under its own key. */
  ownItems: DeployItem[];
  /** Every object of the deploy: the own items, then (fingerprint 'filename') the fingerprinted copies. */
  items: DeployItem[];
  hasher: Hasher;
  hashCache: HashCacheUse;
}

/** The record's key is not a file's: a static file there would overwrite it. */
function refuseFileAtRecordKey(run: DeployRun, files: readonly { key: string; file: string }[]): void {
  const rKey = recordKey(run.config.prefix);
  const clash = files.find((f) => f.key === rKey);
  if (clash) {
    throw new ConfigError('FILE_NAME', `${clash.file} would overwrite the upload record ${rKey}; rename it`, {
      setting: 'app.staticFolder',
    });
  }
}

/** Discover, stat and (where needed now) hash the local files; see the top of this file. */
export async function gatherLocalFiles(app: AppLike, run: DeployRun): Promise<LocalFiles> {
  const { config, warn, signal } = run;
  const mounts = staticMounts(app);
  const discovery = await discoverFiles(mounts, {
    prefix: config.prefix,
    includeHidden: config.includeHidden,
    filepathFilterRegex: config.filepathFilterRegex,
  });
  for (const w of discovery.warnings) warn(w);
  refuseFileAtRecordKey(run, discovery.files);

  const resolveHeaders = createHeaderResolver(config);
  const hasher = await createHasher();
  const file = config.hashCache
    ? hashCacheFile(
        app.root ?? process.cwd(),
        mounts.map((m) => m.folder),
        (s) => hasher.hashBytes(Buffer.from(s, 'utf8')),
      )
    : undefined;
  const loaded = file !== undefined ? HashCacheRows.read(file) : undefined;
  const hashCache: HashCacheUse = { file, loaded, seenAt: Date.now() };
  const ownItems = statFiles(discovery.files, resolveHeaders, loaded);
  const withIntegrity = config.fingerprint !== false;
  if (withIntegrity) await hashItems(ownItems, hasher, signal, true);
  // With fingerprint 'filename', each file also goes up under its fingerprinted key (fingerprint-upload.ts).
  const items = withIntegrity ? withFingerprintedKeys(ownItems, config.prefix, config.fingerprint) : ownItems;
  return { mounts, ownItems, items, hasher, hashCache };
}

/** Write the hash cache for the next run, when it is on and says something new (never in a dry run). */
export function saveLocalHashes(local: LocalFiles, run: DeployRun): void {
  const { file, loaded, seenAt } = local.hashCache;
  if (file === undefined || loaded === undefined || run.dryRun) return;
  const filtered = run.config.filepathFilterRegex !== undefined;
  const rows = hashCacheToSave(local.ownItems, loaded, seenAt, filtered);
  if (rows !== undefined) saveHashCacheRows(file, rows);
}
