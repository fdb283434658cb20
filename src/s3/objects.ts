// Listing and deleting objects: the two bucket-wide operations of stale cleanup. Listing uses
// ListObjects (v1) with Marker: every S3 implementation pages it, while s3rver's ListObjectsV2
// continuation tokens are DES-encrypted, which OpenSSL 3 (Node >= 17) refuses (a 500 on every
// truncated page). Deletion uses DeleteObjects in batches of 1,000, falling back to DeleteObject per key
// on servers that do not implement it.

import type { S3Client } from '@aws-sdk/client-s3';
import type { UploadFailure } from '../errors.js';
import { runPool } from '../util/pool.js';
import { describeError, errorCode, httpStatus } from './errors.js';
import type { ObjectStore, StoredObject } from './object-store.js';
import { scrubError } from './redact.js';
import { s3Sdk } from './sdk.js';

/** S3's limit of keys per DeleteObjects request. */
export const DELETE_BATCH = 1000;
/** DeleteObject requests at once when a server has no DeleteObjects. */
const SINGLE_DELETE_CONCURRENCY = 8;

/** Every object under `prefix`, in key order, paging with Marker (see the top of this file). */
export async function listObjectsUnder(
  store: ObjectStore,
  bucket: string,
  prefix: string,
  signal?: AbortSignal,
  pageSize = 1000,
): Promise<StoredObject[]> {
  const objects: StoredObject[] = [];
  let marker: string | undefined;
  for (;;) {
    const page = await store.listObjects({ bucket, prefix, marker, maxKeys: pageSize }, signal);
    objects.push(...page.objects);
    const last = page.nextMarker ?? page.objects.at(-1)?.key;
    if (!page.isTruncated || last === undefined || last === marker) return objects;
    marker = last;
  }
}

/** Every key under `prefix`, in key order. */
export async function listKeys(
  store: ObjectStore,
  bucket: string,
  prefix: string,
  signal?: AbortSignal,
  pageSize = 1000,
): Promise<string[]> {
  return (await listObjectsUnder(store, bucket, prefix, signal, pageSize)).map((o) => o.key);
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
    const started = await runPool(
      batch,
      SINGLE_DELETE_CONCURRENCY,
      async (key) => {
        try {
          await client.send(new (s3Sdk().DeleteObjectCommand)({ Bucket: bucket, Key: key }), {
            abortSignal: signal,
          });
          deleted.push(key);
        } catch (err) {
          fail(key, err);
        }
      },
      () => signal?.aborted === true,
    );
    for (const key of batch.slice(started)) failed.push({ key, message: 'not deleted: aborted' });
  }
  deleted.sort();
  return { deleted, failed };
}
