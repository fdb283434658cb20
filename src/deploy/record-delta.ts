// Where a run's changes to the record live before they are merged into the snapshot (record.ts), and the
// marker of a run in flight. Pure: keys and formats. A checkpoint writes one delta with only the claims set
// and the keys withdrawn since the previous one, so the bytes a deploy writes grow with what it changed,
// not with the site; the run's end merges everything into one snapshot and deletes the deltas. A reader
// applies the deltas left by runs that did not get that far (killed) over the snapshot, in key order.
//
//   <prefix>/.nunjucks-s3/record.json                 the snapshot (record.ts)
//   <prefix>/.nunjucks-s3/delta/<run>/<seq>.json      a checkpoint of run <run>
//   <prefix>/.nunjucks-s3/inflight/<run>.json         written before run <run> changes the bucket, deleted at its end
//
// Run ids start with the time, so the key order of deltas is the order they were written in.

import { randomBytes } from 'node:crypto';
import { parseClaim, type RecordedObject, type UploadRecord } from './record.js';

export const DELTA_FORMAT = 'nunjucks-s3/record-delta';

/** One checkpoint of a run: claims set and keys withdrawn since its previous checkpoint. */
export interface RecordDelta {
  format: typeof DELTA_FORMAT;
  run: string;
  seq: number;
  /** Claims of uploads that succeeded (true when written: the object was stored before). */
  set: Record<string, RecordedObject>;
  /** Keys whose claims no longer hold (about to be overwritten, failed, deleted, contradicted by a listing). */
  drop: string[];
  /** The settings signatures the claims in `set` refer to. */
  settings: Record<string, Record<string, unknown>>;
}

/** The app's state folder: `'p/.nunjucks-s3/'`, or `'.nunjucks-s3/'` without prefix. */
export function stateFolder(prefix: string): string {
  return `${prefix ? `${prefix}/` : ''}.nunjucks-s3/`;
}

export function deltaFolder(prefix: string): string {
  return `${stateFolder(prefix)}delta/`;
}

export function deltaKey(prefix: string, run: string, seq: number): string {
  return `${deltaFolder(prefix)}${run}/${String(seq).padStart(6, '0')}.json`;
}

export function inflightFolder(prefix: string): string {
  return `${stateFolder(prefix)}inflight/`;
}

export function inflightKey(prefix: string, run: string): string {
  return `${inflightFolder(prefix)}${run}.json`;
}

/** A new run id: the time (sortable, to the millisecond) and a random suffix. */
export function newRunId(now = new Date()): string {
  return `${now.toISOString().replace(/[-:.]/g, '')}-${randomBytes(4).toString('hex')}`;
}

/** The text of a delta. */
export function serializeDelta(delta: RecordDelta): string {
  return JSON.stringify(delta);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A stored delta, or undefined when it is not one (it is then ignored: its files are uploaded again). */
export function parseDelta(text: string): RecordDelta | undefined {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(data) || data.format !== DELTA_FORMAT || !isObject(data.set) || !Array.isArray(data.drop))
    return undefined;
  const set: Record<string, RecordedObject> = Object.create(null);
  for (const [key, o] of Object.entries(data.set)) {
    const claim = parseClaim(o);
    if (claim) set[key] = claim;
  }
  return {
    format: DELTA_FORMAT,
    run: typeof data.run === 'string' ? data.run : '',
    seq: typeof data.seq === 'number' ? data.seq : 0,
    set,
    drop: data.drop.filter((k): k is string => typeof k === 'string'),
    settings: isObject(data.settings) ? (data.settings as RecordDelta['settings']) : {},
  };
}

/** Apply a delta to a record in place: withdrawals first, then the claims it set. */
export function applyDelta(record: UploadRecord, delta: RecordDelta): void {
  for (const key of delta.drop) delete record.objects[key];
  for (const [key, claim] of Object.entries(delta.set)) record.objects[key] = claim;
  for (const [sig, s] of Object.entries(delta.settings))
    if (isObject(s)) record.settings[sig] ??= s as Record<string, unknown>;
}
