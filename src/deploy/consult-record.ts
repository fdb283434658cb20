// The third and fourth stages of createAll: read the upload record (one GET, which also tells whether
// the bucket exists, then the deltas of unfinished runs), confirm its claims against a listing of the
// bucket (confirm-record.ts; not with trustRecord), hash the files whose claim has their size (only they
// can be unchanged), and plan: what to upload and what to skip (plan.ts).

import { bucketExists } from '../s3/bucket.js';
import type { Contradiction } from './confirm-claims.js';
import { confirmTheRecord, listForTheClaims, mustConfirm } from './confirm-record.js';
import type { LocalFiles } from './gather.js';
import { hashItems } from './local-hashing.js';
import { planUploads, type UploadPlan } from './plan.js';
import { emptyRecord, recordKey, type UploadRecord } from './record.js';
import { RecordKeeper } from './record-keeper.js';
import { type PendingState, type RecordRead, readRecord, readRecordAgain } from './record-store.js';
import { abortedBeforeStart, preflightFailure, reportEntry } from './report.js';
import type { ListedObject } from './state/listing.js';
import { type DeployContext, type DeployItem, UNHASHED } from './types.js';

/** What the bucket holds for this prefix, as far as the record tells. */
export interface RecordFound {
  /** The record, when there is a usable one. */
  record: UploadRecord | undefined;
  bucketExists: boolean;
  /** What the state folder held besides the snapshot (deltas merged into `record`, in-flight markers). */
  pending: PendingState;
  /** This run confirms claims against listings (not trustRecord, or a killed run to recover from). */
  confirm: boolean;
  /** Claims the listing contradicted, withdrawn from `record` before the plan. */
  contradicted: Map<string, Contradiction>;
  /** The read this was made from (`record` is its record): reading again reuses it when nothing changed. */
  source: RecordRead;
}

/**
 * Read the record. An unusable one is a warning (everything is uploaded and the record rewritten), and
 * then only a HeadBucket tells whether the bucket exists. A failed read fails the run before any upload.
 * `bucketIsThere`: called once the record's GET has shown the bucket exists (see readRecord).
 */
export function readTheRecord(
  run: DeployContext,
  items: readonly DeployItem[],
  bucketIsThere?: () => void,
): Promise<RecordFound> {
  const { bucket, config, signal } = run;
  return consultTheRecord(run, items, () =>
    readRecord(run.s3.store, bucket, config.prefix, signal, bucketIsThere),
  );
}

/**
 * Read the record again, as {@link readTheRecord} does, after the lease was taken (what the previous
 * holder left). When one LIST of the state folder shows that nothing changed since `earlier` was read,
 * `earlier`'s record is used again without a GET or a parse (readRecordAgain): so nothing may change that
 * record between the two reads (createAll's lease stage only reads its keys).
 */
export function readTheRecordAgain(
  run: DeployContext,
  items: readonly DeployItem[],
  earlier: RecordFound,
): Promise<RecordFound> {
  const { bucket, config, signal } = run;
  const read = () => readRecordAgain(run.s3.store, bucket, config.prefix, earlier.source, signal);
  return consultTheRecord(run, items, read, earlier);
}

/**
 * What `read` found, for the plan; see {@link readTheRecord}. When it found what `earlier` was made from,
 * that is what it found (nothing to decide again).
 */
async function consultTheRecord(
  run: DeployContext,
  items: readonly DeployItem[],
  read: () => Promise<RecordRead>,
  earlier?: RecordFound,
): Promise<RecordFound> {
  const { bucket, config, signal } = run;
  try {
    const source = await read();
    if (source === earlier?.source) return { ...earlier, contradicted: new Map() };
    const confirm = !config.trustRecord;
    const none = { contradicted: new Map<string, Contradiction>(), source };
    if (source.status === 'no-bucket')
      return {
        record: undefined,
        bucketExists: false,
        pending: { deltas: [], markers: [] },
        confirm,
        ...none,
      };
    if (source.status === 'found') {
      const must = mustConfirm(run, source.record, source.pending);
      return { record: source.record, bucketExists: true, pending: source.pending, confirm: must, ...none };
    }
    if (source.status === 'missing')
      return { record: undefined, bucketExists: true, pending: source.pending, confirm, ...none };
    run.warn(
      `the upload record s3://${bucket}/${recordKey(config.prefix)} could not be used (${source.problem}); every file is uploaded and the record rewritten`,
    );
    const exists = await bucketExists(run.s3.client(), bucket, signal);
    return { record: undefined, bucketExists: exists, pending: source.pending, confirm, ...none };
  } catch (err) {
    throw preflightFailure(run, err, 'could not read the upload record from', items);
  }
}

/**
 * The items not hashed yet whose recorded entry has their size: only those can be unchanged (the rest are
 * uploaded whatever their bytes, and hashed as they are sent).
 */
function itemsToCompare(local: LocalFiles, record: UploadRecord): DeployItem[] {
  const objects = record.objects;
  return local.items.filter(
    (i) => i.hash === UNHASHED && Object.hasOwn(objects, i.key) && objects[i.key]!.size === i.size,
  );
}

/** With onlyModified and a record: hash the items {@link itemsToCompare} names. */
async function hashWhatTheRecordCanVouchFor(
  run: DeployContext,
  local: LocalFiles,
  record: UploadRecord,
): Promise<void> {
  await hashItems(itemsToCompare(local, record), local.hasher, run.signal, false);
  if (run.signal?.aborted) throw abortedBeforeStart(run);
}

/** Whether planTheDeploy confirms `found`'s claims against a listing. */
export function confirmsClaims(
  run: DeployContext,
  found: RecordFound,
): found is RecordFound & { record: UploadRecord } {
  return run.config.onlyModified && found.record !== undefined && found.confirm;
}

/**
 * The listing planTheDeploy confirms `found`'s claims with, started now (once the lease is held, while the
 * record is read again) when no file is left to read for its hash first (the hash cache holds every hash
 * the plan needs: taking them is a lookup); undefined otherwise. Its failure is planTheDeploy's to report.
 */
export function startTheConfirmingListing(
  run: DeployContext,
  local: LocalFiles,
  found: RecordFound,
): Promise<Map<string, ListedObject>> | undefined {
  if (!confirmsClaims(run, found)) return undefined;
  if (itemsToCompare(local, found.record).some((i) => i.cached === undefined)) return undefined;
  const listing = listForTheClaims(run, found.record);
  listing.catch(() => {}); // awaited by planTheDeploy, or dropped when the record changed
  return listing;
}

/**
 * Plan the deploy against the record; the skipped files go into the report now. `listing`: from
 * startTheConfirmingListing, for this very record.
 */
export async function planTheDeploy(
  run: DeployContext,
  local: LocalFiles,
  found: RecordFound,
  listing?: Promise<Map<string, ListedObject>>,
): Promise<UploadPlan<DeployItem>> {
  const { config, report } = run;
  // Hashing first (it may read the whole site): the listing is then the deploy's last look at the bucket
  // before the plan, and a deploy that sends nothing relies on it alone (final-verification.ts). A listing
  // started earlier was started with nothing left to hash.
  if (config.onlyModified && found.record) await hashWhatTheRecordCanVouchFor(run, local, found.record);
  if (confirmsClaims(run, found)) {
    try {
      found.contradicted = await confirmTheRecord(run, found.record, local.items, listing);
    } catch (err) {
      throw preflightFailure(
        run,
        err,
        'could not list the static folders, to confirm the upload record, in',
        local.items,
      );
    }
  }
  const plan = planUploads(local.items, found.record, config.onlyModified, found.contradicted);
  for (const p of plan.skip) p.item.body = undefined;
  report.skipped = plan.skip.map((p) => reportEntry(p.item, p.reason));
  if (!found.bucketExists && run.dryRun)
    run.warn(`bucket ${run.bucket} does not exist; a real run creates it`);
  return plan;
}

/**
 * The working record of a real run, started: its in-flight marker is written first when the run may change
 * the bucket (it uploads, or cleans up), so a kill at any later instant is known to the next run. A failed
 * marker write fails the run before any upload.
 */
export async function keepTheRecord(
  run: DeployContext,
  found: RecordFound,
  plan: UploadPlan<DeployItem>,
  items: readonly DeployItem[],
): Promise<RecordKeeper> {
  const keeper = new RecordKeeper(run.s3.store, found.record ?? emptyRecord(run.bucket, run.config.prefix), {
    pending: found.pending,
    changedOnRead: found.contradicted.size > 0,
    confirmedAll: confirmsClaims(run, found),
  });
  if (plan.upload.length === 0 && !run.config.deleteStale) return keeper;
  try {
    await keeper.begin();
  } catch (err) {
    throw preflightFailure(run, err, 'could not write the in-flight marker of this deploy to', items);
  }
  return keeper;
}
