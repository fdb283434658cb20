// The upload record: the claims of one app's prefix (`<prefix>/.nunjucks-s3/record.json`, the snapshot,
// plus the deltas of runs not merged into it yet: record-delta.ts). A claim says, for a key uploaded, the
// xxh64 of the local file, the signature of everything it was uploaded with (headers, gzip, ACL), and what
// the bucket itself can confirm about the object that upload stored: its ETag, stored size and (once a
// listing showed it) its LastModified. onlyModified skips a file only when its claim matches the local
// file and, unless trustRecord is on, a listing of the bucket shows the claimed object (confirm-claims.ts).
// This file is the format (pure); record-store.ts reads and writes it, record-keeper.ts keeps it during a run.

import { isExactIsoTime } from '../util/iso-time.js';

/** Format marker and version of the record JSON. */
export const RECORD_FORMAT = 'nunjucks-s3/upload-record';
export const RECORD_VERSION = 2;
/**
 * Version 1 records (before claims carried ETags) are still read: their claims have no `etag`, and are
 * relied on only after a listing confirms them (confirm-claims.ts, `legacyEtag`).
 */
export const LEGACY_RECORD_VERSION = 1;

/** What the record says about one key. */
export interface RecordedObject {
  /** xxh64 (16 hex digits) of the local file's bytes, before gzip. */
  hash: string;
  /** Signature of the settings it was uploaded with: a key of {@link UploadRecord.settings}. */
  settings: string;
  /** Size of the local file in bytes. */
  size: number;
  /** The ETag of the stored object (no quotes), as the PUT answered and listings show it. Absent: version 1. */
  etag?: string | undefined;
  /** Size of the stored object (the gzipped size when gzipped). */
  stored?: number | undefined;
  /**
   * The object's LastModified (ISO) as a listing after the upload showed it. A listing showing a later one
   * means the object was rewritten since (same bytes and other headers keep the ETag and size).
   */
  modified?: string | undefined;
}

/**
 * One successful deploy, for stale cleanup: deleteStale keeps the fingerprinted keys of the last
 * keepDeploys deploys, since pages rendered before this deploy (cached by browsers and CDNs) name them.
 * Failed or aborted runs and dry runs add none.
 */
export interface RecordedDeploy {
  /** Unique id: the time and a random suffix. */
  id: string;
  /** ISO time the deploy finished uploading. */
  at: string;
  /** The fingerprinted keys (`fingerprint: 'filename'`) live after this deploy; `[]` without fingerprinting. */
  keys: string[];
  [extra: string]: unknown;
}

/** The record as stored. Unknown top-level fields are kept as they are when it is rewritten. */
export interface UploadRecord {
  format: typeof RECORD_FORMAT;
  version: number;
  bucket: string;
  prefix: string;
  /** ISO time of the last write. */
  updatedAt: string;
  /** Settings by signature: exactly what objects with that signature were uploaded with. */
  settings: Record<string, Record<string, unknown>>;
  /** Every key uploaded under this prefix and still believed current. */
  objects: Record<string, RecordedObject>;
  /** Deploy history (history.ts): the generations stale cleanup keeps. */
  deploys: RecordedDeploy[];
  /** The deltas (record-delta.ts) this snapshot already holds: readers skip them if still present. */
  merged?: string[];
  [extra: string]: unknown;
}

/** The record's key: `<prefix>/.nunjucks-s3/record.json` (`.nunjucks-s3/record.json` without prefix). */
export function recordKey(prefix: string): string {
  return `${prefix ? `${prefix}/` : ''}.nunjucks-s3/record.json`;
}

/** A record with nothing in it. */
export function emptyRecord(bucket: string, prefix: string): UploadRecord {
  return {
    format: RECORD_FORMAT,
    version: RECORD_VERSION,
    bucket,
    prefix,
    updatedAt: new Date(0).toISOString(),
    settings: dict(),
    objects: dict(),
    deploys: [],
  };
}

/** A map object without prototype: a key named `__proto__` is just a key. */
function dict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

const HEX16 = /^[0-9a-f]{16}$/;
/** Whether Date.parse reads `text` as a time (the usual shape recognised without it). */
function isTime(text: string): boolean {
  return isExactIsoTime(text) || !Number.isNaN(Date.parse(text));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parse a stored record. Returns the record, or a reason it cannot be used (not JSON, another format,
 * a newer version); entries that are malformed are dropped (their files are simply uploaded again).
 */
export function parseRecord(
  text: string,
  bucket: string,
  prefix: string,
): { record: UploadRecord } | { problem: string } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { problem: 'it is not valid JSON' };
  }
  if (!isObject(data) || data.format !== RECORD_FORMAT) return { problem: `it is not a ${RECORD_FORMAT}` };
  if (
    typeof data.version !== 'number' ||
    data.version < LEGACY_RECORD_VERSION ||
    data.version > RECORD_VERSION
  ) {
    return {
      problem: `its version ${String(data.version)} is newer than this nunjucks-s3 understands (${RECORD_VERSION})`,
    };
  }
  const record: UploadRecord = { ...emptyRecord(bucket, prefix), ...data, bucket, prefix } as UploadRecord;
  record.settings = dict();
  if (isObject(data.settings)) {
    for (const [sig, s] of Object.entries(data.settings))
      if (HEX16.test(sig) && isObject(s)) record.settings[sig] = s;
  }
  record.objects = isObject(data.objects) ? claimsIn(data.objects) : dict();
  record.merged = Array.isArray(data.merged) ? data.merged.filter((k) => typeof k === 'string') : [];
  record.version = RECORD_VERSION;
  record.deploys = Array.isArray(data.deploys)
    ? (data.deploys as unknown[]).filter(
        (d): d is RecordedDeploy =>
          isObject(d) &&
          typeof d.id === 'string' &&
          typeof d.at === 'string' &&
          Array.isArray(d.keys) &&
          d.keys.every((k) => typeof k === 'string'),
      )
    : [];
  return { record };
}

/**
 * The claims of a stored record's `objects`, fresh from JSON.parse, made a map in place (a record of a large
 * site holds tens of thousands: no copy is made, and most claims are kept as parsed, see parseClaim).
 * Malformed claims are dropped.
 */
function claimsIn(objects: Record<string, unknown>): Record<string, RecordedObject> {
  Object.setPrototypeOf(objects, null);
  for (const key in objects) {
    const claim = parseClaim(objects[key]);
    if (claim === undefined) delete objects[key];
    else if (claim !== objects[key]) objects[key] = claim;
  }
  return objects as Record<string, RecordedObject>;
}

/**
 * One stored claim, or undefined when malformed (its file is then simply uploaded again). The ETag, stored
 * size and LastModified are kept only when all are well-formed; a claim without them is confirmed by a
 * listing before it is relied on. `o` comes fresh from JSON.parse: when it holds exactly the fields kept,
 * it is the claim itself (no copy); otherwise the claim is a new object with the fields kept.
 */
export function parseClaim(o: unknown): RecordedObject | undefined {
  if (!isObject(o)) return undefined;
  const { hash, settings, size, etag, stored, modified } = o;
  if (typeof hash !== 'string' || !HEX16.test(hash)) return undefined;
  if (typeof settings !== 'string' || typeof size !== 'number') return undefined;
  const proven = typeof etag === 'string' && etag !== '' && typeof stored === 'number';
  const dated = proven && typeof modified === 'string' && isTime(modified);
  // Every field kept is one of o's; as many fields as kept means nothing else is there to drop.
  if (fieldCount(o) === 3 + (proven ? 2 : 0) + (dated ? 1 : 0)) return o as unknown as RecordedObject;
  const claim: RecordedObject = { hash, settings, size };
  if (proven) {
    claim.etag = etag;
    claim.stored = stored;
    if (dated) claim.modified = modified;
  }
  return claim;
}

/** How many enumerable fields `o` has (without building the list of them). */
function fieldCount(o: object): number {
  let count = 0;
  for (const _ in o) count++;
  return count;
}

/**
 * The JSON text of a record; settings no object refers to any more are dropped. Objects are written in
 * key order (JavaScript's, which is S3's but for a few characters past U+FFFF): every later read sorts
 * the claim keys to cut its listing into segments (state/listing.ts), and keys in order sort in one pass.
 */
export function serializeRecord(record: UploadRecord, now = new Date()): string {
  const used = new Set<string>();
  for (const o of Object.values(record.objects)) used.add(o.settings);
  const settings = dict<Record<string, unknown>>();
  for (const sig of Object.keys(record.settings).sort())
    if (used.has(sig)) settings[sig] = record.settings[sig]!;
  const objects = dict<RecordedObject>();
  for (const key of Object.keys(record.objects).sort()) objects[key] = record.objects[key]!;
  return JSON.stringify({ ...record, updatedAt: now.toISOString(), settings, objects });
}
