// Stale cleanup (deleteStale): after a successful upload, delete the objects under the app's static
// prefixes that this deploy no longer has and that this app put there (its record or one of its
// generations names them: docs/deploy-state.md), except the fingerprinted files of the previous
// keepDeploys deploys (pages cached by browsers and CDNs still name them), the keys of deploys still in
// flight (uploading, or waiting for the lease), any app's state folder (a `.nunjucks-s3` segment anywhere:
// an app at the bucket root lists the state of apps under prefixes), and anything this run cannot see
// (hidden files without includeHidden). Keys no state of this app names are left alone, and counted. Behind maxDeletes: more candidates than that and
// nothing is deleted, with a warning that says how many and how to raise the limit. The bucket is
// reached only through a CleanupStore (listing and deleting: src/s3/objects.ts), so what "the app's
// keys" are can be answered by something other than a listing without touching the rules here.

import type { S3Client } from '@aws-sdk/client-s3';
import { setting, settingLabel } from '../config.js';
import type { UploadFailure } from '../errors.js';
import type { ObjectStore } from '../s3/object-store.js';
import { deleteKeys, listKeys } from '../s3/objects.js';
import type { RecordedDeploy } from './record.js';

/** Keys shown in the guard's warning. */
const SHOWN = 10;

/**
 * The prefixes to list: each static folder's key prefix with a trailing `/` (`'static/'`,
 * `'p/admin/static/'`), `''` for a folder served at the root without a key prefix; a prefix inside
 * another is dropped (listing the outer one covers it).
 */
export function listPrefixes(folderKeys: readonly string[]): string[] {
  const prefixes = [...new Set(folderKeys.map((k) => (k === '' ? '' : `${k}/`)))].sort();
  const kept: string[] = [];
  for (const p of prefixes) if (!kept.some((k) => p.startsWith(k))) kept.push(p);
  return kept;
}

/** What decides which listed keys are stale. */
export interface StaleRules {
  /** Every key of this deploy (uploaded or unchanged), fingerprinted ones included. */
  current: ReadonlySet<string>;
  /** Fingerprinted keys of the previous deploys that are kept. */
  kept: ReadonlySet<string>;
  /** The upload record's folder (`<prefix>/.nunjucks-s3/`): never touched. */
  recordFolder: string;
  /** Hidden files were part of this run; without it, a key with a hidden segment is never stale. */
  includeHidden: boolean;
  /** Whether this app put the key there (its record or one of its generations names it). */
  owns: (key: string) => boolean;
  /** Keys of the deploys of this app still in flight: needed, never stale. */
  inFlight: ReadonlySet<string>;
}

/** Whether a key lies in some app's state folder (a `.nunjucks-s3` segment anywhere in it). */
export function isStateKey(key: string): boolean {
  return key.startsWith('.nunjucks-s3/') || key.includes('/.nunjucks-s3/');
}

/** The record's folder for a key prefix: `'p/.nunjucks-s3/'`, or `'.nunjucks-s3/'` without prefix. */
export function recordFolder(prefix: string): string {
  return `${prefix ? `${prefix}/` : ''}.nunjucks-s3/`;
}

/**
 * The stale keys among those listed under `listPrefix`, in listing order. Kept: keys of this deploy,
 * fingerprinted keys of the kept deploys, keys of deploys in flight, any state folder, "folder"
 * placeholder keys (ending in `/`: consoles create them, no file has that name), and keys with a hidden
 * segment below the prefix unless hidden files were included (this run did not look at hidden files, so
 * it cannot know). A key that would be stale but that this app does not own goes to `leftAlone`.
 */
export function selectStale(
  listed: readonly string[],
  listPrefix: string,
  rules: StaleRules,
  leftAlone: string[] = [],
): string[] {
  const stale: string[] = [];
  for (const key of listed) {
    if (!key.startsWith(listPrefix) || key.endsWith('/')) continue;
    if (rules.current.has(key) || rules.kept.has(key) || rules.inFlight.has(key)) continue;
    if (key.startsWith(rules.recordFolder) || isStateKey(key)) continue;
    const rel = key.slice(listPrefix.length);
    if (!rules.includeHidden && (rel.startsWith('.') || rel.includes('/.'))) continue;
    if (rules.owns(key)) stale.push(key);
    else leftAlone.push(key);
  }
  return stale;
}

/**
 * The fingerprinted keys to keep: those of the last `keepDeploys` deploys in the record (the deploy
 * being made is not in it yet). Malformed entries are ignored.
 */
export function keptKeys(deploys: readonly RecordedDeploy[], keepDeploys: number): Set<string> {
  const kept = new Set<string>();
  if (keepDeploys <= 0) return kept;
  for (const deploy of deploys.slice(-keepDeploys)) {
    if (!Array.isArray(deploy?.keys)) continue;
    for (const key of deploy.keys) if (typeof key === 'string') kept.add(key);
  }
  return kept;
}

/** What cleanStale needs. */
export interface CleanStaleInput {
  /** Where keys are listed. */
  store: ObjectStore;
  /** The SDK client that deletes (DeleteObjects), asked for only when something is deleted. */
  client: () => S3Client;
  bucket: string;
  /** The key prefix (normalised, no slashes at either end). */
  prefix: string;
  /** Each static folder's key prefix: `objectKey(prefix, mount, '')`. */
  folderKeys: readonly string[];
  /** Every key of this deploy. */
  current: ReadonlySet<string>;
  /** Whether this app put the key there (see {@link StaleRules.owns}). */
  owns: (key: string) => boolean;
  /** Keys of this app's deploys still in flight. */
  inFlight: ReadonlySet<string>;
  /**
   * The keys of the deploys in flight, read again just before deleting. Listing a large site takes
   * seconds: a deploy that announced its generation meanwhile keeps its keys.
   */
  stillInFlight?: () => Promise<ReadonlySet<string>>;
  /** The record's deploys before this one, oldest first. */
  previousDeploys: readonly RecordedDeploy[];
  keepDeploys: number;
  maxDeletes: number;
  includeHidden: boolean;
  /** List and decide only: report what would be deleted. */
  dryRun: boolean;
  secrets: readonly string[];
  signal?: AbortSignal | undefined;
  /** Keys per listing page (tests use small pages). @default 1000 */
  pageSize?: number;
}

/** What cleanStale did. */
export interface CleanStaleResult {
  /** Deleted keys (dry run: the keys that would be deleted), sorted. */
  deleted: string[];
  /** Keys whose deletion failed. */
  failed: UploadFailure[];
  /** The guard's refusal, said once. */
  warnings: string[];
  /** Keys that would be stale but that no state of this app names: never deleted. */
  leftAlone: string[];
}

/** How cleanup reaches the bucket: the keys under a listing prefix, and deleting keys. */
export interface CleanupStore {
  listKeys(listPrefix: string): Promise<string[]>;
  deleteKeys(keys: readonly string[]): Promise<{ deleted: string[]; failed: UploadFailure[] }>;
}

/** The store cleanStale uses: the bucket itself, listed through the input's store, deleted from with its client. */
export function bucketCleanupStore(input: CleanStaleInput): CleanupStore {
  return {
    listKeys: (listPrefix) => listKeys(input.store, input.bucket, listPrefix, input.signal, input.pageSize),
    deleteKeys: (keys) => deleteKeys(input.client(), input.bucket, keys, input.secrets, input.signal),
  };
}

/** The guard's warning: more stale candidates than maxDeletes allows, so nothing was deleted. */
function tooManyStaleWarning(
  stale: readonly string[],
  prefixes: readonly string[],
  input: Pick<CleanStaleInput, 'bucket' | 'maxDeletes' | 'dryRun'>,
): string {
  const label = settingLabel(setting('maxDeletes'));
  const where = prefixes.map((p) => `s3://${input.bucket}/${p}`).join(', ');
  const shown =
    stale.slice(0, SHOWN).join(', ') + (stale.length > SHOWN ? `, ... (${stale.length - SHOWN} more)` : '');
  return (
    `${settingLabel(setting('deleteStale'))}: ${stale.length} objects under ${where} are not part of this deploy, ` +
    `more than ${label} allows (${input.maxDeletes}); ${input.dryRun ? 'a real run would delete' : 'deleted'} nothing. ` +
    `If they really are stale, raise ${label} to at least ${stale.length} (--max-deletes ${stale.length}); if not, ` +
    `check the static folders and prefix. Stale: ${shown}`
  );
}

/**
 * List the static prefixes, pick the stale keys, and delete them unless there are more than
 * maxDeletes (then: nothing deleted, one warning). Listing errors are thrown (the caller reports them).
 */
export async function cleanStale(
  input: CleanStaleInput,
  store: CleanupStore = bucketCleanupStore(input),
): Promise<CleanStaleResult> {
  const rules: StaleRules = {
    current: input.current,
    kept: keptKeys(input.previousDeploys, input.keepDeploys),
    recordFolder: recordFolder(input.prefix),
    includeHidden: input.includeHidden,
    owns: input.owns,
    inFlight: input.inFlight,
  };
  const stale: string[] = [];
  const leftAlone: string[] = [];
  const prefixes = listPrefixes(input.folderKeys);
  for (const listPrefix of prefixes) {
    stale.push(...selectStale(await store.listKeys(listPrefix), listPrefix, rules, leftAlone));
  }
  stale.sort();
  if (stale.length === 0) return { deleted: [], failed: [], warnings: [], leftAlone };
  if (stale.length > input.maxDeletes) {
    return { deleted: [], failed: [], warnings: [tooManyStaleWarning(stale, prefixes, input)], leftAlone };
  }
  if (input.dryRun) return { deleted: stale, failed: [], warnings: [], leftAlone };
  const { deleted, failed } = await store.deleteKeys(await withoutKeysNowInFlight(stale, input));
  return { deleted, failed, warnings: [], leftAlone };
}

/** The stale keys that no deploy announced since the generations were first read. */
async function withoutKeysNowInFlight(stale: string[], input: CleanStaleInput): Promise<string[]> {
  if (!input.stillInFlight) return stale;
  const needed = await input.stillInFlight();
  return stale.filter((key) => !needed.has(key));
}
