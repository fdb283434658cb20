// Where the upload record lives: the snapshot (one GET, one PUT), the deltas of runs not merged yet, and
// the in-flight markers (record-delta.ts), all under the app's state folder. Everything else of the deploy
// reaches the stored record only through the functions here.

import { errorCode, httpStatus } from '../s3/errors.js';
import type { ObjectStore, StoredObject } from '../s3/object-store.js';
import { listObjectsUnder } from '../s3/objects.js';
import { nextTurn } from '../util/next-turn.js';
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
import { normaliseEtag } from './state/listing.js';

/** What the state folder holds besides the snapshot. */
export interface PendingState {
  /** Every delta key present (merged into the record read, or already in its snapshot): deleted after the next snapshot. */
  deltas: string[];
  /** In-flight markers: runs that began changing the bucket and did not finish (killed), or still run. */
  markers: string[];
  /**
   * Each delta as the listing showed it (key, ETag, size): a delta rewritten under its key (s3rver keeps a
   * body cut off mid-way, and the retry writes it again) is another version, and a read is not reused.
   */
  deltaVersions?: string[];
}

/**
 * The snapshot a read used, as a listing of the state folder shows it: the ETag (no quotes) and size of
 * the bytes parsed, or `none` when there was no snapshot.
 */
export type SnapshotSeen = { etag: string; size: number } | 'none';

/** What reading the record found. */
export type RecordRead =
  /** `snapshot`: which snapshot the record was read from (undefined when the server sent no ETag). */
  | { status: 'found'; record: UploadRecord; pending: PendingState; snapshot: SnapshotSeen | undefined }
  | { status: 'missing'; pending: PendingState; snapshot: SnapshotSeen }
  | { status: 'no-bucket' }
  /** The record could not be used; `problem` says why (the upload goes on as if there were none). */
  | { status: 'unusable'; problem: string; cause?: unknown; pending: PendingState };

const NOTHING_PENDING: PendingState = { deltas: [], markers: [] };

/** GET one object's text and its ETag; undefined when it is missing. NoSuchBucket and other errors are thrown. */
async function getText(
  store: ObjectStore,
  bucket: string,
  key: string,
  signal?: AbortSignal,
): Promise<{ text: string; seen: SnapshotSeen | undefined } | undefined> {
  try {
    const { body, etag } = await store.getObjectWithEtag(bucket, key, signal);
    const seen = etag ? { etag: normaliseEtag(etag), size: body.length } : undefined;
    return { text: body.toString('utf8'), seen };
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
 *
 * The GET goes alone: it is the deploy's first request, whose answer says whether the endpoint, the
 * credentials and the clock are right (first-answer.ts) before anything else is sent. A deploy writing
 * between the GET and the LIST can make the two disagree; readRecordAgain, which uses a read only when
 * one later LIST shows both its snapshot and its deltas, then reads again.
 *
 * `bucketIsThere` is called as soon as the GET's answer shows the bucket exists (the snapshot, or
 * NoSuchKey), before the parse and the LIST: the caller may start what needs only that.
 */
export async function readRecord(
  store: ObjectStore,
  bucket: string,
  prefix: string,
  signal?: AbortSignal,
  bucketIsThere?: () => void,
): Promise<RecordRead> {
  let got: Awaited<ReturnType<typeof getText>>;
  try {
    got = await getText(store, bucket, recordKey(prefix), signal);
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
  bucketIsThere?.();
  // The LIST goes out before the snapshot is parsed (some 20 ms for 10,000 claims): its round trip
  // overlaps the parse.
  const listing = listObjectsUnder(store, bucket, stateFolder(prefix), signal);
  listing.catch(() => {}); // awaited below, after the parse
  await nextTurn();
  const parsed = got === undefined ? undefined : parseRecord(got.text, bucket, prefix);
  const base = parsed && 'record' in parsed ? parsed.record : emptyRecord(bucket, prefix);
  const listed = await listing;
  const pending = pendingIn(listed, prefix);
  const applied = await applyPendingDeltas(store, base, pending.deltas, signal);
  if (parsed && 'problem' in parsed) return { status: 'unusable', problem: parsed.problem, pending };
  if (parsed === undefined && applied === 0) return { status: 'missing', pending, snapshot: 'none' };
  return { status: 'found', record: base, pending, snapshot: got ? got.seen : 'none' };
}

/**
 * Read the record again, later in the same run (after the lease: what the previous holder left). One
 * LIST of the state folder tells whether anything changed since `earlier`: when it shows the snapshot
 * `earlier` was read from (same ETag and size) and the same deltas and in-flight markers, `earlier` still
 * holds and is returned as it is (so the caller must not have changed its record in between); otherwise
 * the record is read anew, as {@link readRecord} does.
 */
export async function readRecordAgain(
  store: ObjectStore,
  bucket: string,
  prefix: string,
  earlier: RecordRead,
  signal?: AbortSignal,
): Promise<RecordRead> {
  if (earlier.status === 'found' || earlier.status === 'missing') {
    const listed = await listObjectsUnder(store, bucket, stateFolder(prefix), signal);
    if (stillHolds(earlier, listed, prefix)) return earlier;
  }
  return readRecord(store, bucket, prefix, signal);
}

/** Whether a listing of the state folder shows what `earlier` was read from, unchanged. */
function stillHolds(
  earlier: { pending: PendingState; snapshot: SnapshotSeen | undefined },
  listed: readonly StoredObject[],
  prefix: string,
): boolean {
  const pending = pendingIn(listed, prefix);
  return (
    sameSnapshot(earlier.snapshot, snapshotListed(listed, prefix)) &&
    sameKeys(
      pending.deltaVersions ?? pending.deltas,
      earlier.pending.deltaVersions ?? earlier.pending.deltas,
    ) &&
    sameKeys(pending.markers, earlier.pending.markers)
  );
}

/** The snapshot as a listing of the state folder shows it. */
function snapshotListed(listed: readonly StoredObject[], prefix: string): SnapshotSeen {
  const key = recordKey(prefix);
  const snapshot = listed.find((o) => o.key === key);
  return snapshot ? { etag: normaliseEtag(snapshot.etag), size: snapshot.size } : 'none';
}

/** Same snapshot: both none, or the same ETag and size (an ETag not known never matches). */
function sameSnapshot(then: SnapshotSeen | undefined, now: SnapshotSeen): boolean {
  if (then === undefined) return false;
  if (then === 'none' || now === 'none') return then === now;
  return now.etag !== '' && now.etag === then.etag && now.size === then.size;
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((key, i) => key === b[i]);
}

/** The deltas (in the order they are applied) and in-flight markers a listing of the state folder shows. */
function pendingIn(listed: readonly StoredObject[], prefix: string): PendingState {
  const isDelta = (k: string) => k.startsWith(deltaFolder(prefix)) && k.endsWith('.json');
  const deltas = listed
    .filter((o) => isDelta(o.key))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return {
    deltas: deltas.map((o) => o.key),
    markers: listed.map((o) => o.key).filter((k) => k.startsWith(inflightFolder(prefix))),
    deltaVersions: deltas.map((o) => `${o.key} ${normaliseEtag(o.etag)} ${o.size}`),
  };
}

/** GET and apply, in order, the deltas the record does not hold yet; returns how many were applied. */
async function applyPendingDeltas(
  store: ObjectStore,
  record: UploadRecord,
  deltas: readonly string[],
  signal?: AbortSignal,
): Promise<number> {
  const merged = new Set(record.merged ?? []);
  let applied = 0;
  for (const key of deltas) {
    if (merged.has(key)) continue;
    const got = await getText(store, record.bucket, key, signal);
    const delta = got === undefined ? undefined : parseDelta(got.text);
    if (!delta) continue;
    applyDelta(record, delta);
    applied++;
  }
  return applied;
}

/** PUT a private, never-cached JSON object of the state folder. */
async function putState(
  store: ObjectStore,
  bucket: string,
  key: string,
  body: string,
  signal?: AbortSignal,
): Promise<void> {
  await store.putObject(
    { bucket, key, body, contentType: 'application/json; charset=utf-8', cacheControl: 'no-store' },
    signal,
  );
}

/** PUT the snapshot (the whole record). */
export async function writeRecord(
  store: ObjectStore,
  record: UploadRecord,
  signal?: AbortSignal,
): Promise<void> {
  await putState(store, record.bucket, recordKey(record.prefix), serializeRecord(record), signal);
}

/** PUT one delta. */
export async function writeDelta(
  store: ObjectStore,
  where: { bucket: string; key: string },
  delta: RecordDelta,
): Promise<void> {
  await putState(store, where.bucket, where.key, serializeDelta(delta));
}

/** PUT the in-flight marker of a run, before it changes anything in the bucket. */
export async function writeInflightMarker(
  store: ObjectStore,
  record: Pick<UploadRecord, 'bucket' | 'prefix'>,
  run: string,
): Promise<void> {
  const body = JSON.stringify({ run, started: new Date().toISOString(), pid: process.pid });
  await putState(store, record.bucket, inflightKey(record.prefix, run), body);
}

/**
 * Delete objects of the state folder (merged deltas, finished markers): one DeleteObject per key, a few
 * at a time (there are a handful per run, and each request names its key, which a log can tell from the
 * deletions of cleanup). Returns how many failed; never throws.
 */
export async function deleteStateObjects(
  store: ObjectStore,
  bucket: string,
  keys: readonly string[],
): Promise<{ failed: number }> {
  let failed = 0;
  await runPool(keys, 8, async (key) => {
    try {
      await store.deleteObject(bucket, key);
    } catch {
      failed++;
    }
  });
  return { failed };
}
