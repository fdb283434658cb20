// Before the plan: the record's claims confirmed against a listing of the app's static folders (one LIST
// request per 1,000 keys), so onlyModified relies only on claims the bucket still bears out
// (confirm-claims.ts says when a claim holds). Skipped with trustRecord, unless a run was killed since the
// last snapshot (its in-flight marker is still there) or claims from a version 1 record wait for an ETag.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { setting, settingLabel } from '../config.js';
import { type Contradiction, confirmClaims, type ExpectedObject } from './confirm-claims.js';
import { BUFFER_LIMIT } from './local-hashing.js';
import type { UploadRecord } from './record.js';
import type { PendingState } from './record-store.js';
import { listPrefixes } from './stale.js';
import { type ListedObject, listBucket } from './state/listing.js';
import type { DeployContext, DeployItem } from './types.js';

/** Whether this run confirms the claims against listings (before the plan and after the transfer). */
export function mustConfirm(run: DeployContext, record: UploadRecord, pending: PendingState): boolean {
  if (!run.config.trustRecord) return true;
  if (pending.markers.length > 0) {
    run.logger.info?.(
      `${settingLabel(setting('trustRecord'))}: a deploy to this prefix did not finish (killed?); ` +
        'this run confirms the record against a listing of the bucket once',
    );
    return true;
  }
  return hasClaimWithoutEtag(record);
}

/** Whether some claim comes from a version 1 record (no ETag yet); stops at the first (no list of claims made). */
function hasClaimWithoutEtag(record: UploadRecord): boolean {
  for (const key in record.objects) if (record.objects[key]!.etag === undefined) return true;
  return false;
}

/**
 * The ETag and size the object of a version 1 claim would have if its upload stored the local file: the
 * MD5 of the bytes sent, for files sent as one PUT (under {@link BUFFER_LIMIT}: larger ones may be multipart,
 * whose ETag is not an MD5). Read only when the local size is the claim's.
 */
function legacyExpectation(item: DeployItem | undefined, claimedSize: number): ExpectedObject | undefined {
  if (!item || item.size !== claimedSize || item.size >= BUFFER_LIMIT) return undefined;
  try {
    const raw = item.body ?? readFileSync(item.file.file);
    const body = item.settings.gzip ? gzipSync(raw) : raw;
    return { etag: createHash('md5').update(body).digest('hex'), size: body.length };
  } catch {
    return undefined;
  }
}

/** The listing of the app's folders that confirms `record`'s claims (its keys cut it into parallel pages). */
export function listForTheClaims(
  run: DeployContext,
  record: UploadRecord,
): Promise<Map<string, ListedObject>> {
  return listBucket({
    store: run.s3.store,
    bucket: run.bucket,
    prefixes: listPrefixes(run.folderKeys),
    expected: Object.keys(record.objects),
  });
}

/**
 * List the app's folders (or take `listing`, made by listForTheClaims for this record) and withdraw from
 * `record` every claim the bucket does not bear out; version 1 claims that hold get the listed ETag.
 * Returns the contradicted keys (their files are uploaded again). Listing errors are thrown (the caller
 * fails the run before any upload).
 */
export async function confirmTheRecord(
  run: DeployContext,
  record: UploadRecord,
  items: readonly DeployItem[],
  listing: Promise<Map<string, ListedObject>> = listForTheClaims(run, record),
): Promise<Map<string, Contradiction>> {
  const listed = await listing;
  // Items by key only for version 1 claims, which are rare: most records never need the map.
  let byKey: Map<string, DeployItem> | undefined;
  const { contradicted, upgraded } = confirmClaims(record.objects, listed, (key) => {
    byKey ??= new Map(items.map((i) => [i.key, i]));
    return legacyExpectation(byKey.get(key), record.objects[key]!.size);
  });
  for (const key of contradicted.keys()) delete record.objects[key];
  for (const [key, claim] of upgraded) record.objects[key] = claim;
  return contradicted;
}
