// The lease stage of createAll: one deployer per bucket and prefix at a time (docs/deploy-state.md,
// "One deployer per prefix at a time: the lease"). Before its first PUT a run announces its generation
// (the keys it may put there: stale cleanup of any other run spares them while it is in flight), then
// takes the lease on the app's state folder, waiting while another deploy holds it (a message every few
// seconds) for up to leaseWait, and refusing clearly after that. While it runs, it renews the lease and
// its generation; a lease lost to a long pause is noticed before cleanup. With the lease held, createAll
// has the multipart uploads this app abandoned aborted (abortAbandonedUploadsOfThisApp, using
// multipart-janitor.ts). At the end, the run lets the next one in and deletes its generation, or marks it
// failed (a later cleanup deals with what it left).

import { setting, settingLabel } from '../config.js';
import { DeployLockedError } from '../errors.js';
import { createBucket } from '../s3/bucket.js';
import { describeError } from '../s3/errors.js';
import { scrubError } from '../s3/redact.js';
import { recordFolder } from './stale.js';
import {
  deleteGenerations,
  type GenerationStore,
  readGenerations,
  updateGeneration,
  writeGeneration,
} from './state/generations.js';
import {
  type LeaseLook,
  LeaseLostError,
  type LeaseOptions,
  type LeaseRecord,
  lookAtLease,
  probeConditionalCreate,
  pruneOldEpochs,
  releaseLease,
  removeProbe,
  renewLease,
  tryTakeLease,
} from './state/lease.js';
import { abortAbandonedUploads } from './state/multipart-janitor.js';
import { type DeployOwner, isDeadLocalProcess, newDeployOwner } from './state/owner.js';
import type { DeployContext, DeployItem } from './types.js';

/** How long a lease and an in-flight generation last without renewal; renewed every third of it. */
export const LEASE_TTL_MS = 60_000;
/** Between two attempts to take a held lease. */
const POLL_MS = 1000;
/** Between two "waiting for" messages. */
const SAY_EVERY_MS = 5000;
/** On servers that ignore If-None-Match: *, the wait before reading a lease back (see lease.ts). */
const SETTLE_MS = 1000;

/** What the lease stage needs of the deploy. */
export interface LeaseNeeds {
  items: readonly DeployItem[];
  /** The body of this run's generation keys (generationKeys of the items' keys, started early). */
  generationKeys: Promise<Buffer>;
  bucketExists: boolean;
  /**
   * Keys this app owns by its record (for the multipart janitor), asked only when there is an incomplete
   * upload to judge: usually there is none, and ten thousand keys in a set cost a deploy milliseconds.
   */
  ownedKeys: () => Iterable<string>;
}

/** The state folder of the app's prefix, without its trailing slash. */
export function stateFolderOf(prefix: string): string {
  return recordFolder(prefix).slice(0, -1);
}

/** A lease held by this run, with its generation; see the top of this file. */
export class HeldLease {
  private timer: NodeJS.Timeout | undefined;
  private lost: Error | undefined;
  /** The old epochs' deletion, started once the lease is held (see pruneOldEpochsNow). */
  private pruning: Promise<void> = Promise.resolve();

  constructor(
    private readonly options: LeaseOptions,
    private readonly generation: GenerationStore,
    readonly owner: DeployOwner,
    private lease: LeaseRecord,
  ) {}

  /**
   * Delete the epochs before the previous one (and day-old probes), best effort, while the deploy goes on:
   * they only lengthen every taker's listing, and this run's epoch keeps the folder from being emptied.
   * Done at once rather than at the release, where its LIST and DELETEs would delay the end of the run.
   */
  pruneOldEpochsNow(): void {
    this.pruning = pruneOldEpochs(this.options, this.lease).catch(() => {});
  }

  /** Renew the lease and the generation every third of their time to live. */
  keepAlive(): void {
    this.timer = setInterval(() => void this.renew(), LEASE_TTL_MS / 3);
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    if (this.lost) return;
    try {
      this.lease = await renewLease(this.options, this.lease);
      await updateGeneration(this.generation, {
        owner: this.owner,
        state: 'in-flight',
        expires: Date.now() + LEASE_TTL_MS,
      });
    } catch (err) {
      if (err instanceof LeaseLostError) this.lost = err;
    }
  }

  /**
   * Throws when another deploy took the lease (this one was paused past its expiry): checked before
   * anything is deleted. One LIST of the lease folder.
   */
  async assertHeld(): Promise<void> {
    if (!this.lost) {
      try {
        this.lease = await renewLease(this.options, this.lease);
      } catch (err) {
        if (!(err instanceof LeaseLostError)) throw err;
        this.lost = err;
      }
    }
    if (this.lost) throw new Error(`${this.lost.message}: a paused deploy must not clean up; run it again`);
  }

  /**
   * Let the next deploy in. A run that completed deletes its generation (its keys are in the record);
   * one that did not marks it failed, so cleanup may delete what it uploaded once nobody needs it.
   * Best effort: a failure here leaves an expiring lease and generation, never a wrong one.
   */
  async release(completed: boolean): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    // At once: none of these depends on another. A next deploy that takes the lease before this
    // generation is gone sees it in flight a moment longer, which only spares more. The probe object goes
    // too: the lease folder holds this run's epoch, so its DELETE cannot leave the folder empty.
    const ending = endGeneration(this.generation, this.owner, completed).catch(() => {});
    const probeGone = removeProbe(this.options).catch(() => {});
    if (!this.lost) await releaseLease(this.options, this.lease).catch(() => {});
    await Promise.all([ending, probeGone, this.pruning]);
  }
}

async function endGeneration(
  running: GenerationStore,
  owner: DeployOwner,
  completed: boolean,
): Promise<void> {
  // Without the run's signal: an aborted run still says it ended.
  const store = { ...running, signal: undefined };
  if (!completed) return updateGeneration(store, { owner, state: 'failed', expires: 0 });
  await deleteGenerations(store, [owner.id]);
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });

/** "the deploy started at <time> by <host>/<pid>" as a lease names its holder. */
function describeHolder(holder: LeaseRecord | undefined): string {
  if (!holder) return 'another deploy';
  const where = holder.host ? ` by ${holder.host}/${holder.pid}` : '';
  return `the deploy started at ${holder.started ?? '(unknown time)'}${where} (lease ${holder.owner})`;
}

/**
 * Take the lease, waiting up to leaseWait; throws DeployLockedError after that. The first attempt uses
 * the look `looking` (made while the generation was written) and goes while the probe still runs; later
 * ones look again and know the probe's answer.
 */
async function waitForLease(
  run: DeployContext,
  options: LeaseOptions,
  probing: Promise<boolean>,
  looking: Promise<LeaseLook>,
): Promise<LeaseRecord> {
  const where = `s3://${run.bucket}/${options.stateFolder.replace(/\.nunjucks-s3$/, '')}`;
  const deadline = Date.now() + run.config.leaseWait * 1000;
  let said = 0;
  let conditional: boolean | Promise<boolean> = probing;
  let earlier: Promise<LeaseLook> | undefined = looking;
  for (;;) {
    const result = await tryTakeLease(options, conditional, earlier);
    earlier = undefined;
    if (result.taken) return result.lease;
    // Not taken, so nothing is held should the probe have failed: its error is this run's.
    conditional = await probing;
    if (run.signal?.aborted) throw run.signal.reason ?? new Error('aborted');
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new DeployLockedError(
        `${describeHolder(result.holder)} holds the lease on ${where}, and it was not released within ` +
          `${settingLabel(setting('leaseWait'))} (${run.config.leaseWait} s); nothing was uploaded. ` +
          'Run again once that deploy ended, or raise the wait',
        result.holder,
      );
    }
    if (Date.now() - said >= SAY_EVERY_MS) {
      said = Date.now();
      const expiresIn = Math.max(0, Math.round(((result.holder?.expires ?? 0) - Date.now()) / 1000));
      run.logger.info?.(
        `waiting for ${describeHolder(result.holder)} on ${where} (lease expires in ${expiresIn} s; ` +
          `giving up in ${Math.ceil(left / 1000)} s, ${settingLabel(setting('leaseWait'))})`,
      );
    }
    await sleep(Math.min(POLL_MS + Math.random() * 500, left), run.signal);
  }
}

/**
 * Why the lease stage failed before the lease was held (nothing was uploaded): `what` could not be done.
 * The caller reports it (a preflight failure) when it is the run's failure: a run whose record read
 * failed meanwhile reports that instead, and this one must leave its report alone.
 */
export class LeaseNotTaken extends Error {
  override name = 'LeaseNotTaken' as const;
  constructor(
    readonly what: string,
    readonly failure: unknown,
  ) {
    super(what);
  }
}

/**
 * The lease stage (see the top of this file). Creates the bucket first when it is missing (its state
 * lives there). Fails with DeployLockedError, or LeaseNotTaken; `run.signal` stops the waiting and the
 * looks (a lease taken all the same is returned, for the caller to release).
 */
export async function takeTheLease(run: DeployContext, needs: LeaseNeeds): Promise<HeldLease> {
  const owner = newDeployOwner();
  const stateFolder = stateFolderOf(run.config.prefix);
  const { bucket, signal } = run;
  const store = run.s3.store;
  const options: LeaseOptions = {
    store,
    bucket,
    stateFolder,
    owner: owner.id,
    ttlMs: LEASE_TTL_MS,
    settleMs: SETTLE_MS,
    identity: { host: owner.host, pid: owner.pid, started: owner.started },
    abandoned: isDeadLocalProcess,
    signal: run.signal,
  };
  const generation: GenerationStore = { store, bucket, stateFolder, signal };
  // The lease lives in the bucket: a missing bucket is created first (the same failure as ensureBucket's).
  if (!needs.bucketExists) {
    try {
      await createBucket(run.s3.client(), bucket, signal);
      run.logger.info?.(`created bucket ${bucket}`);
    } catch (err) {
      throw new LeaseNotTaken('could not create the bucket', err);
    }
  }
  let lease: LeaseRecord;
  // Whether the server honours If-None-Match (two PUTs), asked while the generation is written and the
  // lease taken; the probe object is deleted when the lease is released (HeldLease.release).
  const probing = probeConditionalCreate(options);
  probing.catch(() => {}); // its failure is reported by waitForLease, or taken as "not honoured" there
  // The lease is looked at (LIST, GET) while the generation is written; only its create waits for that.
  const looking = lookAtLease(options);
  looking.catch(() => {}); // a failed look is made again by the first attempt, whose error counts
  try {
    await writeGeneration(generation, owner, needs.generationKeys, Date.now() + LEASE_TTL_MS);
    const waiting = setInterval(
      () =>
        void updateGeneration(generation, {
          owner,
          state: 'in-flight',
          expires: Date.now() + LEASE_TTL_MS,
        }).catch(() => {}),
      LEASE_TTL_MS / 3,
    );
    try {
      lease = await waitForLease(run, options, probing, looking);
    } finally {
      clearInterval(waiting);
    }
  } catch (err) {
    // Not taken: the probe object goes now, once its PUTs are done (or failed: one may have created it).
    await probing.catch(() => {});
    await removeProbe(options).catch(() => {});
    // A run that gave up (or was told to stop) says its generation ended.
    if (err instanceof DeployLockedError || signal?.aborted) {
      await endGeneration(generation, owner, false).catch(() => {});
    }
    if (err instanceof DeployLockedError) throw err;
    throw new LeaseNotTaken('could not take the deploy lease on', err);
  }
  const held = new HeldLease(options, generation, owner, lease);
  held.keepAlive();
  held.pruneOldEpochsNow();
  return held;
}

/**
 * The multipart janitor, once the lease is held (no other run of this app is sending parts) and before
 * this run sends any. Never throws: a failure is a warning.
 */
export async function abortAbandonedUploadsOfThisApp(run: DeployContext, needs: LeaseNeeds): Promise<void> {
  const stateFolder = stateFolderOf(run.config.prefix);
  try {
    // The keys owned by the record or this run, gathered for the first incomplete upload listed; the
    // generations are read only when such an upload's key is not among them.
    let owned: Set<string> | undefined;
    const ownedKeys = () => {
      if (owned === undefined) {
        owned = new Set(needs.ownedKeys());
        for (const i of needs.items) owned.add(i.key);
      }
      return owned;
    };
    let generations: Promise<void> | undefined;
    const readGenerationKeys = async () => {
      const gens = await readGenerations({ store: run.s3.store, bucket: run.bucket, stateFolder });
      const keys = ownedKeys();
      for (const g of gens) for (const k of g.keys) keys.add(k);
    };
    const report = await abortAbandonedUploads({
      store: run.s3.store,
      bucket: run.bucket,
      prefixes: run.folderKeys.map((k) => (k === '' ? '' : `${k}/`)),
      owns: async (key) => {
        if (ownedKeys().has(key)) return true;
        generations ??= readGenerationKeys();
        await generations;
        return ownedKeys().has(key);
      },
      initiatedBefore: new Date(),
    });
    if (report.aborted.length > 0)
      run.logger.info?.(
        `aborted ${report.aborted.length} incomplete multipart upload(s) a killed deploy left: ${report.aborted.map((u) => u.key).join(', ')}`,
      );
  } catch (err) {
    scrubError(err, run.secrets);
    run.warn(
      `could not abort the incomplete multipart uploads a killed deploy may have left: ${describeError(err, run.secrets)}`,
    );
  }
}
