// The record and lease stages of createAll (upload.ts), together, because the lease is taken while the
// record is read. The record's GET goes first and alone (its answer diagnoses the endpoint, the
// credentials and the clock: first-answer.ts); once it has shown the bucket is there, the lease is taken
// while the snapshot is parsed and the state folder is listed for its deltas. A missing bucket is created
// first, by takeTheLease, after the read. With the lease held, at once: abandoned multipart uploads
// aborted, the record read again (what the previous holder left) and, when no file waits to be hashed,
// the listing that confirms the claims.

import {
  type RecordFound,
  readTheRecord,
  readTheRecordAgain,
  startTheConfirmingListing,
} from './consult-record.js';
import {
  abortAbandonedUploadsOfThisApp,
  type HeldLease,
  type LeaseNeeds,
  LeaseNotTaken,
  takeTheLease,
} from './deploy-lease.js';
import { awaitFirstAnswer } from './first-answer.js';
import type { LocalFiles } from './gather.js';
import { preflightFailure } from './report.js';
import { generationKeys } from './state/generations.js';
import type { ListedObject } from './state/listing.js';
import type { DeployContext } from './types.js';

/** What the plan starts from: the record as read under the lease, and the listing already started. */
export interface BeforeThePlan {
  found: RecordFound;
  /** The listing that confirms the claims, started with the lease held (startTheConfirmingListing). */
  listing: Promise<Map<string, ListedObject>> | undefined;
}

/**
 * Read the record and take the lease (not in a dry run; see the top of this file). The lease goes into
 * `held` as soon as it is taken, for the caller to release whatever happens next.
 */
export async function readTheRecordAndTakeTheLease(
  deploy: DeployContext,
  local: LocalFiles,
  held: { lease?: HeldLease },
): Promise<BeforeThePlan> {
  if (deploy.dryRun) {
    const found = await readTheRecordFirst(deploy, local, undefined);
    return { found, listing: undefined };
  }
  const lease = new LeaseTakenEarly(deploy, local);
  let read: RecordFound;
  try {
    read = await readTheRecordFirst(deploy, local, () => lease.start());
  } catch (err) {
    held.lease = await lease.abandon();
    throw err;
  }
  lease.read = read;
  held.lease = await lease.taken(read.bucketExists);
  // The listing goes first: it is the longest of the three.
  const started = startTheConfirmingListing(deploy, local, read);
  const janitor = abortAbandonedUploadsOfThisApp(deploy, lease.needs(true));
  let found: RecordFound;
  try {
    found = await readTheRecordAgain(deploy, local.items, read);
  } finally {
    await janitor;
  }
  // A record read anew may leave files to hash before its listing (see planTheDeploy).
  return { found, listing: found.source === read.source ? started : undefined };
}

/** The record's first read, its GET with the deadline of a first request. */
function readTheRecordFirst(
  deploy: DeployContext,
  local: LocalFiles,
  bucketIsThere: (() => void) | undefined,
): Promise<RecordFound> {
  return awaitFirstAnswer(deploy, 'reading the upload record from', (first) =>
    readTheRecord(first, local.items, bucketIsThere),
  );
}

/**
 * The lease of a run, started while its record is read. A read that fails stops it (its waiting and its
 * looks end at once) and leaves its failure unreported: the read's failure is the run's. A lease it took
 * all the same is handed over to be released.
 */
class LeaseTakenEarly {
  /** The record's first read, once done: whose keys the multipart janitor spares. */
  read: RecordFound | undefined;
  private readonly keys: Promise<Buffer>;
  private readonly stop = new AbortController();
  private taking: Promise<HeldLease> | undefined;

  constructor(
    private readonly deploy: DeployContext,
    private readonly local: LocalFiles,
  ) {
    // Made while the record's GET is on the wire, when nothing else waits on the main thread.
    this.keys = generationKeys(local.items.map((i) => i.key));
    this.keys.catch(() => {}); // awaited by takeTheLease, unless the run ends before it
  }

  needs(bucketExists: boolean): LeaseNeeds {
    return {
      items: this.local.items,
      generationKeys: this.keys,
      bucketExists,
      ownedKeys: () => Object.keys(this.read?.record?.objects ?? {}),
    };
  }

  /** Start taking the lease: the record's GET showed the bucket is there. */
  start(): void {
    const { signal } = this.deploy;
    const stopped = signal ? AbortSignal.any([signal, this.stop.signal]) : this.stop.signal;
    this.taking = takeTheLease({ ...this.deploy, signal: stopped }, this.needs(true));
    this.taking.catch(() => {}); // awaited by taken() or abandon()
  }

  /** The lease, taken now when it was not started early; its failure reported as the run's. */
  async taken(bucketExists: boolean): Promise<HeldLease> {
    try {
      return await (this.taking ?? takeTheLease(this.deploy, this.needs(bucketExists)));
    } catch (err) {
      if (!(err instanceof LeaseNotTaken)) throw err;
      throw preflightFailure(this.deploy, err.failure, err.what, this.local.items);
    }
  }

  /** After a failed read: stop taking the lease; the lease taken all the same, if any. */
  async abandon(): Promise<HeldLease | undefined> {
    this.stop.abort();
    return this.taking?.catch(() => undefined);
  }
}
