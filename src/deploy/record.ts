// The upload record: one private JSON object per bucket and prefix (`<prefix>/.nunjucks-s3/record.json`)
// saying, for every key uploaded, the xxh64 of the local file and the signature of everything it was
// uploaded with (headers, gzip, ACL). createAll always writes it (merged: a filtered run keeps the
// other keys) and consults it when onlyModified is on. It only ever lists objects whose upload
// succeeded; it is checkpointed during long uploads, so an interrupted deploy resumes where it stopped.
// This file is the format (pure); record-store.ts reads and writes it, record-keeper.ts keeps it during a run.

/** Format marker and version of the record JSON. */
export const RECORD_FORMAT = 'nunjucks-s3/upload-record';
export const RECORD_VERSION = 1;

/** What the record says about one key. */
export interface RecordedObject {
  /** xxh64 (16 hex digits) of the local file's bytes, before gzip. */
  hash: string;
  /** Signature of the settings it was uploaded with: a key of {@link UploadRecord.settings}. */
  settings: string;
  /** Size of the local file in bytes. */
  size: number;
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
  if (typeof data.version !== 'number' || data.version > RECORD_VERSION) {
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
  record.objects = dict();
  if (isObject(data.objects)) {
    for (const [key, o] of Object.entries(data.objects)) {
      if (
        isObject(o) &&
        typeof o.hash === 'string' &&
        HEX16.test(o.hash) &&
        typeof o.settings === 'string' &&
        typeof o.size === 'number'
      ) {
        record.objects[key] = { hash: o.hash, settings: o.settings, size: o.size };
      }
    }
  }
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

/** The JSON text of a record; settings no object refers to any more are dropped. */
export function serializeRecord(record: UploadRecord, now = new Date()): string {
  const used = new Set<string>();
  for (const o of Object.values(record.objects)) used.add(o.settings);
  const settings = dict<Record<string, unknown>>();
  for (const sig of Object.keys(record.settings).sort())
    if (used.has(sig)) settings[sig] = record.settings[sig]!;
  return JSON.stringify({ ...record, updatedAt: now.toISOString(), settings, objects: record.objects });
}
