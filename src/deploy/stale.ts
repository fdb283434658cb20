// Stale cleanup (deleteStale): after a successful upload, delete the objects under the app's static
// prefixes that this deploy no longer has, except the fingerprinted files of the previous keepDeploys
// deploys (pages cached by browsers and CDNs still name them), the upload record, and anything this run
// cannot see (hidden files without includeHidden). Behind maxDeletes: more candidates than that and
// nothing is deleted, with a warning that says how many and how to raise the limit. Listing uses
// ListObjects (v1) with Marker: every S3 implementation pages it, while s3rver's ListObjectsV2
// continuation tokens are DES-encrypted, which OpenSSL 3 (Node >= 17) refuses (a 500 on every
// truncated page). Deletion uses DeleteObjects in batches of 1,000, falling back to DeleteObject per key
// on servers that do not implement it.

import type { S3Client } from '@aws-sdk/client-s3';
import { setting, settingLabel } from '../config.js';
import type { UploadFailure } from '../errors.js';
import { describeError, errorCode, httpStatus, scrubError } from '../s3/client.js';
import { s3Sdk } from '../s3/sdk.js';
import type { RecordedDeploy } from './record.js';

/** S3's limit of keys per DeleteObjects request. */
export const DELETE_BATCH = 1000;
/** DeleteObject requests at once when a server has no DeleteObjects. */
const SINGLE_DELETE_CONCURRENCY = 8;
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
}

/** The record's folder for a key prefix: `'p/.nunjucks-s3/'`, or `'.nunjucks-s3/'` without prefix. */
export function recordFolder(prefix: string): string {
  return `${prefix ? `${prefix}/` : ''}.nunjucks-s3/`;
}

/**
 * The stale keys among those listed under `listPrefix`, in listing order. Kept: keys of this deploy,
 * fingerprinted keys of the kept deploys, the record's folder, "folder" placeholder keys (ending in
 * `/`: consoles create them, no file has that name), and keys with a hidden segment below the prefix
 * unless hidden files were included (this run did not look at hidden files, so it cannot know).
 */
export function selectStale(listed: readonly string[], listPrefix: string, rules: StaleRules): string[] {
  const stale: string[] = [];
  for (const key of listed) {
    if (!key.startsWith(listPrefix) || key.endsWith('/')) continue;
    if (rules.current.has(key) || rules.kept.has(key) || key.startsWith(rules.recordFolder)) continue;
    const rel = key.slice(listPrefix.length);
    if (!rules.includeHidden && (rel.startsWith('.') || rel.includes('/.'))) continue;
    stale.push(key);
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

/** Every key under `prefix`, in key order, paging with Marker (see the header). */
export async function listKeys(
  client: S3Client,
  bucket: string,
  prefix: string,
  signal?: AbortSignal,
  pageSize = 1000,
): Promise<string[]> {
  const keys: string[] = [];
  let marker: string | undefined;
  for (;;) {
    const page = await client.send(
      new (s3Sdk().ListObjectsCommand)({
        Bucket: bucket,
        Prefix: prefix || undefined,
        Marker: marker,
        MaxKeys: pageSize,
      }),
      { abortSignal: signal },
    );
    const contents = page.Contents ?? [];
    for (const o of contents) if (o.Key !== undefined) keys.push(o.Key);
    const last = page.NextMarker ?? contents.at(-1)?.Key;
    if (!page.IsTruncated || last === undefined || last === marker) return keys;
    marker = last;
  }
}

/** Whether a DeleteObjects failure means the server does not implement it (then: one DeleteObject per key). */
function isUnsupported(err: unknown): boolean {
  const status = httpStatus(err);
  const code = errorCode(err);
  return status === 501 || status === 405 || code === 'NotImplemented' || code === 'MethodNotAllowed';
}

/** Delete keys: DeleteObjects in batches, or DeleteObject per key where that is all the server has. */
export async function deleteKeys(
  client: S3Client,
  bucket: string,
  keys: readonly string[],
  secrets: readonly string[],
  signal?: AbortSignal,
): Promise<{ deleted: string[]; failed: UploadFailure[] }> {
  const deleted: string[] = [];
  const failed: UploadFailure[] = [];
  const fail = (key: string, err: unknown, message = describeError(err, secrets)) =>
    failed.push({ key, message: `not deleted: ${message}`, cause: scrubError(err, secrets) });
  let single = false;
  for (let i = 0; i < keys.length; i += DELETE_BATCH) {
    const batch = keys.slice(i, i + DELETE_BATCH);
    if (signal?.aborted) {
      for (const key of batch) failed.push({ key, message: 'not deleted: aborted' });
      continue;
    }
    if (!single) {
      try {
        const out = await client.send(
          new (s3Sdk().DeleteObjectsCommand)({
            Bucket: bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
          { abortSignal: signal },
        );
        const errors = new Map<string, string>();
        for (const e of out.Errors ?? []) {
          if (e.Key !== undefined)
            errors.set(e.Key, `${e.Code ?? 'Error'}${e.Message ? `: ${e.Message}` : ''}`);
        }
        for (const key of batch) {
          const why = errors.get(key);
          if (why === undefined) deleted.push(key);
          else failed.push({ key, message: `not deleted: ${why}` });
        }
        continue;
      } catch (err) {
        if (!isUnsupported(err)) {
          for (const key of batch) fail(key, err);
          continue;
        }
        single = true;
      }
    }
    let next = 0;
    const worker = async () => {
      while (next < batch.length && !signal?.aborted) {
        const key = batch[next++]!;
        try {
          await client.send(new (s3Sdk().DeleteObjectCommand)({ Bucket: bucket, Key: key }), {
            abortSignal: signal,
          });
          deleted.push(key);
        } catch (err) {
          fail(key, err);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(SINGLE_DELETE_CONCURRENCY, batch.length) }, worker));
    for (const key of batch.slice(next)) failed.push({ key, message: 'not deleted: aborted' });
  }
  deleted.sort();
  return { deleted, failed };
}

/** What cleanStale needs. */
export interface CleanStaleInput {
  client: S3Client;
  bucket: string;
  /** The key prefix (normalised, no slashes at either end). */
  prefix: string;
  /** Each static folder's key prefix: `objectKey(prefix, mount, '')`. */
  folderKeys: readonly string[];
  /** Every key of this deploy. */
  current: ReadonlySet<string>;
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
}

/**
 * List the static prefixes, pick the stale keys, and delete them unless there are more than
 * maxDeletes (then: nothing deleted, one warning). Listing errors are thrown (the caller reports them).
 */
export async function cleanStale(input: CleanStaleInput): Promise<CleanStaleResult> {
  const rules: StaleRules = {
    current: input.current,
    kept: keptKeys(input.previousDeploys, input.keepDeploys),
    recordFolder: recordFolder(input.prefix),
    includeHidden: input.includeHidden,
  };
  const stale: string[] = [];
  const prefixes = listPrefixes(input.folderKeys);
  for (const listPrefix of prefixes) {
    const listed = await listKeys(input.client, input.bucket, listPrefix, input.signal, input.pageSize);
    stale.push(...selectStale(listed, listPrefix, rules));
  }
  stale.sort();
  if (stale.length === 0) return { deleted: [], failed: [], warnings: [] };
  if (stale.length > input.maxDeletes) {
    const label = settingLabel(setting('maxDeletes'));
    const where = prefixes.map((p) => `s3://${input.bucket}/${p}`).join(', ');
    const shown =
      stale.slice(0, SHOWN).join(', ') + (stale.length > SHOWN ? `, ... (${stale.length - SHOWN} more)` : '');
    return {
      deleted: [],
      failed: [],
      warnings: [
        `${settingLabel(setting('deleteStale'))}: ${stale.length} objects under ${where} are not part of this deploy, ` +
          `more than ${label} allows (${input.maxDeletes}); ${input.dryRun ? 'a real run would delete' : 'deleted'} nothing. ` +
          `If they really are stale, raise ${label} to at least ${stale.length} (--max-deletes ${stale.length}); if not, ` +
          `check the static folders and prefix. Stale: ${shown}`,
      ],
    };
  }
  if (input.dryRun) return { deleted: stale, failed: [], warnings: [] };
  const { deleted, failed } = await deleteKeys(
    input.client,
    input.bucket,
    stale,
    input.secrets,
    input.signal,
  );
  return { deleted, failed, warnings: [] };
}
