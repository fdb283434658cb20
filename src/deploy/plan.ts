// What to upload, given the local files (their keys, content hashes and settings signatures) and the
// upload record (its claims already confirmed against the bucket, confirm-record.ts). Pure: data in, data out.

import type { RecordedObject, UploadRecord } from './record.js';

/**
 * Why a file is uploaded or skipped:
 * - `new`: the record does not list the key;
 * - `not-in-bucket`: the record listed the key, but the bucket holds other bytes or none there (deleted,
 *   overwritten or rewritten behind the record's back, or by a deploy that was killed);
 * - `changed`: its content differs from the recorded upload;
 * - `settings-changed`: same content, but headers, gzip or ACL differ;
 * - `unchanged`: same content and settings: skipped;
 * - `not-recorded`: the record was not consulted (onlyModified is off) or there is none yet.
 */
export type UploadReason =
  | 'new'
  | 'not-in-bucket'
  | 'changed'
  | 'settings-changed'
  | 'unchanged'
  | 'not-recorded';

/** What the planner needs to know about a local file. */
export interface PlanItem {
  key: string;
  /**
   * xxh64 of the content (16 hex digits); may be left empty when the file is uploaded whatever its
   * content: when the record does not list the key, or lists another size.
   */
  hash: string;
  /** Size of the content in bytes. */
  size: number;
  /** Signature of the settings it would be uploaded with. */
  signature: string;
}

/** A file and the reason for what happens to it. */
export interface Planned<T> {
  item: T;
  reason: UploadReason;
}

/** The files to upload and the files skipped, each in the input order. */
export interface UploadPlan<T> {
  upload: Planned<T>[];
  skip: Planned<T>[];
}

/** The reason for one file, against its recorded entry (undefined: not recorded). */
export function reasonFor(
  item: PlanItem,
  recorded: RecordedObject | undefined,
): Exclude<UploadReason, 'not-recorded' | 'not-in-bucket'> {
  if (!recorded) return 'new';
  if (recorded.size !== item.size || recorded.hash !== item.hash) return 'changed';
  if (recorded.settings !== item.signature) return 'settings-changed';
  return 'unchanged';
}

/**
 * Decide what to upload. With `onlyModified` and a record, files whose content and settings match the
 * record are skipped; otherwise everything is uploaded (`not-recorded`). `contradicted`: keys whose claims
 * a listing of the bucket did not bear out (withdrawn from the record), uploaded as `not-in-bucket`.
 */
export function planUploads<T extends PlanItem>(
  items: readonly T[],
  record: UploadRecord | undefined,
  onlyModified: boolean,
  contradicted: ReadonlyMap<string, unknown> = new Map(),
): UploadPlan<T> {
  const plan: UploadPlan<T> = { upload: [], skip: [] };
  for (const item of items) {
    if (!onlyModified || !record) {
      plan.upload.push({ item, reason: 'not-recorded' });
      continue;
    }
    const recorded = Object.hasOwn(record.objects, item.key) ? record.objects[item.key] : undefined;
    const reason = !recorded && contradicted.has(item.key) ? 'not-in-bucket' : reasonFor(item, recorded);
    (reason === 'unchanged' ? plan.skip : plan.upload).push({ item, reason });
  }
  return plan;
}
