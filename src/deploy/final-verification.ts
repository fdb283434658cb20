// The stage after the transfer: list the app's static folders once more and check every key the deploy
// relies on (uploaded now, or skipped as unchanged) against its claim: the ETag and size its PUT answered,
// or that the first listing confirmed. A key that shows anything else was changed by someone else during
// the deploy (another deploy, a hand edit): it fails the run, and its claim is withdrawn, so a deploy never
// exits 0 unless what it relies on is live. The LastModified listed for each confirmed claim goes into the
// record: an object rewritten later, even with the same bytes, then shows a later one (confirm-claims.ts).
// Skipped with trustRecord (unless this run confirmed the record because a run had been killed), and when
// the deploy sent nothing: the listing before the plan, under the lease, already confirmed every claim.

import { setting, settingLabel } from '../config.js';
import { describeError } from '../s3/errors.js';
import { scrubError } from '../s3/redact.js';
import { sleep } from '../s3/retry.js';
import { contradiction } from './confirm-claims.js';
import type { RecordKeeper } from './record-keeper.js';
import { listPrefixes } from './stale.js';
import { type ListedObject, listBucket } from './state/listing.js';
import type { DeployContext, DeployItem } from './types.js';

/**
 * Listings give LastModified to the second on some servers (AWS, s3rver). There, the listing whose times
 * are recorded starts at least this long after the last upload ended, so any later rewrite of an object
 * shows a later second than the one recorded for it. Servers that list milliseconds (Ceph RGW, MinIO) need
 * no wait: a later rewrite shows a later millisecond.
 */
export const SETTLE_MS = 1000;

/** What the final verification needs besides the deploy. */
export interface FinalVerificationInput {
  keeper: RecordKeeper;
  /** Every item of the deploy (fingerprinted copies included). */
  items: readonly DeployItem[];
  /** Whether this run confirms claims against listings (false with trustRecord). */
  confirm: boolean;
  /** Whether the transfer sent nothing: every file was skipped on a claim the first listing confirmed. */
  sentNothing: boolean;
}

/** Check every claimed key of the deploy against a listing (see the top of this file). */
export async function confirmTheDeploy(run: DeployContext, input: FinalVerificationInput): Promise<void> {
  const { keeper } = input;
  if (!input.confirm || run.signal?.aborted) return;
  if (input.sentNothing && everyClaimComplete(keeper, input.items)) return;
  // Listed at once; listed again after the settle only when this server's times are whole seconds.
  let listed = await listTheFolders(run, input.items);
  const wait = keeper.lastSetAt + SETTLE_MS - performance.now();
  if (listed !== undefined && keeper.lastSetAt > 0 && wait > 0 && !listsMilliseconds(listed)) {
    await sleep(wait);
    listed = await listTheFolders(run, input.items);
  }
  if (listed === undefined) return;
  const changed = checkClaims(keeper, input.items, listed);
  for (const item of changed) {
    run.report.failed.push({
      key: item.key,
      file: item.file.file,
      message:
        'changed in the bucket during this deploy (another deploy or a hand edit): it does not hold what ' +
        `this deploy put or confirmed there; run the deploy again (see ${settingLabel(setting('onlyModified'))})`,
    });
  }
}

/**
 * Whether every claim the deploy relies on already has what a listing would add (its ETag and LastModified).
 * A deploy that sent nothing then has nothing a second listing could tell it: the listing before the plan
 * (made under the lease, after every file was hashed: its last look at the bucket) confirmed every claim,
 * and the deploy changed nothing since; what follows takes milliseconds.
 */
function everyClaimComplete(keeper: RecordKeeper, items: readonly DeployItem[]): boolean {
  for (const item of items) {
    const claim = Object.hasOwn(keeper.record.objects, item.key)
      ? keeper.record.objects[item.key]
      : undefined;
    if (!claim || claim.etag === undefined || claim.modified === undefined) return false;
  }
  return true;
}

/** The app's static folders as listed now, or undefined when the listing failed (said in the report). */
async function listTheFolders(
  run: DeployContext,
  items: readonly DeployItem[],
): Promise<Map<string, ListedObject> | undefined> {
  try {
    return await listBucket({
      store: run.s3.store,
      bucket: run.bucket,
      prefixes: listPrefixes(run.folderKeys),
      expected: items.map((i) => i.key),
    });
  } catch (err) {
    scrubError(err, run.secrets);
    run.report.failed.push({
      key: `s3://${run.bucket}/${run.config.prefix}`,
      message: `could not list the bucket to confirm this deploy is live: ${describeError(err, run.secrets)}; run the deploy again`,
      cause: err,
    });
    return undefined;
  }
}

/**
 * Whether a listing shows this server keeps LastModified to the millisecond: some time in it is not a
 * whole second. A server that keeps milliseconds shows 0 ms for one object in a thousand, so a listing of
 * whole seconds only is taken as a server of seconds (the safe side: the settle is waited).
 */
export function listsMilliseconds(listed: ReadonlyMap<string, ListedObject>): boolean {
  for (const object of listed.values()) {
    const time = object.lastModified;
    if (time !== undefined && !time.endsWith('.000Z') && /\.\d{3}Z$/.test(time)) return true;
  }
  return false;
}

/**
 * The items whose claims the listing contradicts (their claims are withdrawn); the others' claims get the
 * listed LastModified (and an ETag when the upload's answer had none).
 */
function checkClaims(
  keeper: RecordKeeper,
  items: readonly DeployItem[],
  listed: ReadonlyMap<string, ListedObject>,
): DeployItem[] {
  const changed: DeployItem[] = [];
  const seen = new Set<string>();
  for (const item of items) {
    if (seen.has(item.key)) continue;
    seen.add(item.key);
    const claim = Object.hasOwn(keeper.record.objects, item.key)
      ? keeper.record.objects[item.key]
      : undefined;
    // No claim, or a version 1 claim this run did not rely on (it uploads or skips nothing on its word).
    if (!claim || (claim.etag === undefined && claim.stored === undefined)) continue;
    const found = listed.get(item.key);
    // An upload whose answer carried no ETag is known only by its size: the listing's ETag is adopted.
    const withEtag =
      claim.etag === undefined && found && found.size === claim.stored
        ? { ...claim, etag: found.etag }
        : claim;
    if (contradiction(withEtag, found) !== undefined) {
      keeper.forget(item.key);
      changed.push(item);
    } else if (withEtag !== claim || claim.modified !== found!.lastModified) {
      keeper.confirm(item.key, { ...withEtag, modified: found!.lastModified });
    }
  }
  return changed;
}
