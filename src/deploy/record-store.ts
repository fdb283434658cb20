// Where the upload record lives: the snapshot (one GET, one PUT), the deltas of runs not merged yet, and
// the in-flight markers (record-delta.ts), all under the app's state folder. Everything else of the deploy
// reaches the stored record only through the functions here.

import type { S3Client } from '@aws-sdk/client-s3';
import { contentMd5 } from '../content/md5.js';
import { errorCode, httpStatus } from '../s3/errors.js';
import { listKeys } from '../s3/objects.js';
import { s3Sdk } from '../s3/sdk.js';
import { runPool } from '../util/pool.js';
import { emptyRecord, parseRecord, recordKey, serializeRecord, type UploadRecord } from './record.js';
import {
  applyDelta,
  deltaFolder,
  inflightFolder,
  inflightKey,
  parseDelta,
  type RecordDelta,
  serializeDelta,
  stateFolder,
} from './record-delta.js';

/** What the state folder holds besides the snapshot. */
export interface PendingState {
  /** Every delta key present (merged into the record read, or already in its snapshot): deleted after the next snapshot. */
  deltas: string[];
  /** In-flight markers: runs that began changing the bucket and did not finish (killed), or still run. */
  markers: string[];
}

/** What reading the record found. */
export type RecordRead =
  | { status: 'found'; record: UploadRecord; pending: PendingState }
  | { status: 'missing'; pending: PendingState }
  | { status: 'no-bucket' }
  /** The record could not be used; `problem` says why (the upload goes on as if there were none). */
  | { status: 'unusable'; problem: string; cause?: unknown; pending: PendingState };

const NOTHING_PENDING: PendingState = { deltas: [], markers: [] };

/** GET one object's text; undefined when it is missing. NoSuchBucket and other errors are thrown. */
async function getText(
  client: S3Client,
  bucket: string,
  key: string,
  signal?: AbortSignal,
): Promise<string | undefined> {
  try {
    const out = await client.send(new (s3Sdk().GetObjectCommand)({ Bucket: bucket, Key: key }), {
      abortSignal: signal,
    });
    return (await out.Body?.transformToString('utf8')) ?? '';
  } catch (err) {
    const code = errorCode(err);
    if (code !== 'NoSuchBucket' && (code === 'NoSuchKey' || httpStatus(err) === 404)) return undefined;
    throw err;
  }
}

/**
 * GET the snapshot: one request. Distinguishes a missing record (NoSuchKey) from a missing bucket
 * (NoSuchBucket), so an unchanged re-deploy needs no HeadBucket. Then one LIST of the state folder, and a
 * GET of each delta the snapshot does not hold yet, applied in order. Other errors are thrown, except
 * AccessDenied on the snapshot (a key without s3:ListBucket gets it for a missing object too): `unusable`.
 */
export async function readRecord(
  client: S3Client,
  bucket: string,
  prefix: string,
  signal?: AbortSignal,
): Promise<RecordRead> {
  let text: string | undefined;
  try {
    text = await getText(client, bucket, recordKey(prefix), signal);
  } catch (err) {
    const code = errorCode(err);
    if (code === 'NoSuchBucket') return { status: 'no-bucket' };
    if (code === 'AccessDenied')
      return {
        status: 'unusable',
        problem: 'reading it was denied (AccessDenied)',
        cause: err,
        pending: NOTHING_PENDING,
      };
    throw err;
  }
  const parsed = text === undefined ? undefined : parseRecord(text, bucket, prefix);
  const base = parsed && 'record' in parsed ? parsed.record : emptyRecord(bucket, prefix);
  const { pending, applied } = await applyPendingDeltas(client, base, signal);
  if (parsed && 'problem' in parsed) return { status: 'unusable', problem: parsed.problem, pending };
  if (parsed === undefined && applied === 0) return { status: 'missing', pending };
  return { status: 'found', record: base, pending };
}

/** List the state folder, then GET and apply the deltas the record does not hold yet, in key order. */
async function applyPendingDeltas(
  client: S3Client,
  record: UploadRecord,
  signal?: AbortSignal,
): Promise<{ pending: PendingState; applied: number }> {
  const keys = await listKeys(client, record.bucket, stateFolder(record.prefix), signal);
  const deltas = keys.filter((k) => k.startsWith(deltaFolder(record.prefix)) && k.endsWith('.json')).sort();
  const markers = keys.filter((k) => k.startsWith(inflightFolder(record.prefix)));
  const merged = new Set(record.merged ?? []);
  let applied = 0;
  for (const key of deltas) {
    if (merged.has(key)) continue;
    const text = await getText(client, record.bucket, key, signal);
    const delta = text === undefined ? undefined : parseDelta(text);
    if (!delta) continue;
    applyDelta(record, delta);
    applied++;
  }
  return { pending: { deltas, markers }, applied };
}

/** PUT a private, never-cached JSON object of the state folder. */
async function putState(
  client: S3Client,
  bucket: string,
  key: string,
  body: string,
  signal?: AbortSignal,
): Promise<void> {
  await client.send(
    new (s3Sdk().PutObjectCommand)({
      Bucket: bucket,
      Key: key,
      Body: body,
      ContentType: 'application/json; charset=utf-8',
      CacheControl: 'no-store',
      ContentMD5: contentMd5(body), // an Object Lock bucket wants one (src/content/md5.ts)
    }),
    { abortSignal: signal },
  );
}

/** PUT the snapshot (the whole record). */
export async function writeRecord(
  client: S3Client,
  record: UploadRecord,
  signal?: AbortSignal,
): Promise<void> {
  await putState(client, record.bucket, recordKey(record.prefix), serializeRecord(record), signal);
}

/** PUT one delta. */
export async function writeDelta(
  client: S3Client,
  where: { bucket: string; key: string },
  delta: RecordDelta,
): Promise<void> {
  await putState(client, where.bucket, where.key, serializeDelta(delta));
}

/** PUT the in-flight marker of a run, before it changes anything in the bucket. */
export async function writeInflightMarker(
  client: S3Client,
  record: Pick<UploadRecord, 'bucket' | 'prefix'>,
  run: string,
): Promise<void> {
  const body = JSON.stringify({ run, started: new Date().toISOString(), pid: process.pid });
  await putState(client, record.bucket, inflightKey(record.prefix, run), body);
}

/**
 * Delete objects of the state folder (merged deltas, finished markers): one DeleteObject per key, a few
 * at a time (there are a handful per run, and each request names its key, which a log can tell from the
 * deletions of cleanup). Returns how many failed; never throws.
 */
export async function deleteStateObjects(
  client: S3Client,
  bucket: string,
  keys: readonly string[],
): Promise<{ failed: number }> {
  let failed = 0;
  await runPool(keys, 8, async (key) => {
    try {
      await client.send(new (s3Sdk().DeleteObjectCommand)({ Bucket: bucket, Key: key }));
    } catch {
      failed++;
    }
  });
  return { failed };
}
