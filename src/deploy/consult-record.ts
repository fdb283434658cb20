// The third and fourth stages of createAll: read the upload record (one GET, which also tells whether
// the bucket exists), hash the files whose record entry has their size (only they can be unchanged),
// and plan: what to upload and what to skip (plan.ts).

import { bucketExists } from '../s3/bucket.js';
import type { LocalFiles } from './gather.js';
import { hashItems } from './local-hashing.js';
import { planUploads, type UploadPlan } from './plan.js';
import { recordKey, type UploadRecord } from './record.js';
import { readRecord } from './record-store.js';
import { abortedBeforeStart, preflightFailure, reportEntry } from './report.js';
import { type DeployContext, type DeployItem, UNHASHED } from './types.js';

/** What the bucket holds for this prefix, as far as the record tells. */
export interface RecordFound {
  /** The record, when there is a usable one. */
  record: UploadRecord | undefined;
  bucketExists: boolean;
}

/**
 * Read the record. An unusable one is a warning (everything is uploaded and the record rewritten), and
 * then only a HeadBucket tells whether the bucket exists. A failed read fails the run before any upload.
 */
export async function readTheRecord(run: DeployContext, items: readonly DeployItem[]): Promise<RecordFound> {
  const { client, bucket, config, signal } = run;
  try {
    const read = await readRecord(client, bucket, config.prefix, signal);
    if (read.status === 'found') return { record: read.record, bucketExists: true };
    if (read.status === 'no-bucket') return { record: undefined, bucketExists: false };
    if (read.status === 'missing') return { record: undefined, bucketExists: true };
    run.warn(
      `the upload record s3://${bucket}/${recordKey(config.prefix)} could not be used (${read.problem}); every file is uploaded and the record rewritten`,
    );
    return { record: undefined, bucketExists: await bucketExists(client, bucket, signal) };
  } catch (err) {
    throw preflightFailure(run, err, 'could not read the upload record from', items);
  }
}

/**
 * With onlyModified and a record: hash the items not hashed yet whose recorded entry has their size
 * (only those can be unchanged; the rest are uploaded whatever their bytes, and hashed as they are sent).
 */
async function hashWhatTheRecordCanVouchFor(
  run: DeployContext,
  local: LocalFiles,
  record: UploadRecord,
): Promise<void> {
  const objects = record.objects;
  const toCompare = local.items.filter(
    (i) => i.hash === UNHASHED && Object.hasOwn(objects, i.key) && objects[i.key]!.size === i.size,
  );
  await hashItems(toCompare, local.hasher, local.hashCache.loaded, run.signal, false);
  if (run.signal?.aborted) throw abortedBeforeStart(run);
}

/** Plan the deploy against the record; the skipped files go into the report now. */
export async function planTheDeploy(
  run: DeployContext,
  local: LocalFiles,
  found: RecordFound,
): Promise<UploadPlan<DeployItem>> {
  const { config, report } = run;
  if (config.onlyModified && found.record) await hashWhatTheRecordCanVouchFor(run, local, found.record);
  const plan = planUploads(local.items, found.record, config.onlyModified);
  for (const p of plan.skip) p.item.body = undefined;
  report.skipped = plan.skip.map((p) => reportEntry(p.item, p.reason));
  if (!found.bucketExists && run.dryRun)
    run.warn(`bucket ${run.bucket} does not exist; a real run creates it`);
  return plan;
}
