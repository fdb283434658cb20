// The lease on an app's state folder: one deployer per prefix at a time (docs/deploy-state.md, "One
// deployer per prefix at a time: the lease"). The lease is the object `<stateFolder>/lease/<epoch>.json`
// with the highest epoch. A taker creates the next epoch's object with `If-None-Match: *`: where the server
// honours it (RGW, AWS) exactly one taker per epoch gets 200. `If-Match` is never used: RGW 16.2 refuses
// it even when the ETag matches. Where the server ignores the condition (s3rver), the create is followed by
// a settle delay and a read-back, and the owner found there wins: not linearizable, as documented.

import { httpStatus } from '../../s3/errors.js';
import type { ObjectStore } from '../../s3/object-store.js';

/** What a lease object holds. */
export interface LeaseRecord {
  owner: string;
  epoch: number;
  /** Milliseconds since the epoch (the taker's clock) after which others may take over. */
  expires: number;
  /** Where the holder runs, for the messages of those waiting and to notice a killed holder. */
  host?: string;
  pid?: number;
  /** ISO time the holder's run started. */
  started?: string;
}

export interface LeaseOptions {
  store: ObjectStore;
  bucket: string;
  /** The app's state folder, e.g. '.nunjucks-s3' or 'v2/.nunjucks-s3'. */
  stateFolder: string;
  /** This deploy's id: unique per run. */
  owner: string;
  /** How long a lease lasts without renewal. @default 60000 */
  ttlMs?: number;
  /** Wait before reading back a create the server may not have guarded. @default 2000 */
  settleMs?: number;
  /** @default Date.now */
  now?: () => number;
  /** Written into the lease for those who wait (see {@link LeaseRecord}). */
  identity?: Pick<LeaseRecord, 'host' | 'pid' | 'started'>;
  /** Whether an unexpired lease's holder is known to be gone (killed on this host): then it is taken. */
  abandoned?: (holder: LeaseRecord) => boolean;
  /**
   * Stops the looks at the lease and the probe (requests that hold nothing), so a taker told to stop
   * does not wait for them. The create of an epoch, renewals and the release never take it: an epoch
   * created is always known to its taker, who releases it.
   */
  signal?: AbortSignal;
}

export type TakeResult =
  | { taken: true; lease: LeaseRecord; conditional: boolean }
  | { taken: false; holder: LeaseRecord | undefined };

/** Thrown by renewLease when another deploy took the lease (this one was paused past its expiry). */
export class LeaseLostError extends Error {
  override name = 'LeaseLostError' as const;
}

const leaseFolder = (o: LeaseOptions) => `${o.stateFolder}/lease/`;
const leaseKey = (o: LeaseOptions, epoch: number) =>
  `${leaseFolder(o)}${String(epoch).padStart(12, '0')}.json`;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function readLease(
  o: LeaseOptions,
  epoch: number,
  signal?: AbortSignal,
): Promise<LeaseRecord | undefined> {
  try {
    const body = await o.store.getObject(o.bucket, leaseKey(o, epoch), signal);
    return JSON.parse(body.toString('utf8')) as LeaseRecord;
  } catch (err) {
    if (httpStatus(err) === 404) return undefined;
    throw err;
  }
}

/** The highest epoch under the lease folder (0: none). One LIST request per 1,000 epochs kept. */
export async function currentEpoch(o: LeaseOptions, signal?: AbortSignal): Promise<number> {
  let highest = 0;
  let marker: string | undefined;
  for (;;) {
    const page = await o.store.listObjects({ bucket: o.bucket, prefix: leaseFolder(o), marker }, signal);
    for (const c of page.objects) {
      const m = /(\d+)\.json$/.exec(c.key);
      if (m) highest = Math.max(highest, Number(m[1]));
    }
    const last = page.objects.at(-1)?.key;
    if (!page.isTruncated || last === undefined || last === marker) return highest;
    marker = last;
  }
}

/** The lease in force, if any (expired or not). */
export async function currentLease(o: LeaseOptions): Promise<LeaseRecord | undefined> {
  return (await lookAtLease(o)).holder;
}

/** Create `key` with If-None-Match: *; false when the server refused because it exists (412). */
async function createIfAbsent(
  o: LeaseOptions,
  key: string,
  body: string,
  signal?: AbortSignal,
): Promise<boolean> {
  try {
    await o.store.putObject(
      { bucket: o.bucket, key, body, ifNoneMatch: '*', contentType: 'application/json' },
      signal,
    );
    return true;
  } catch (err) {
    if (httpStatus(err) === 412) return false;
    throw err;
  }
}

const probeKey = (o: LeaseOptions) => `${leaseFolder(o)}probe-${o.owner}`;

/**
 * Whether the server refuses `If-None-Match: *` over an existing object: creates this taker's probe
 * object, then tries to create it again. Two PUTs; the probe object stays until {@link removeProbe}.
 */
export async function probeConditionalCreate(o: LeaseOptions): Promise<boolean> {
  const key = probeKey(o);
  await createIfAbsent(o, key, 'probe', o.signal);
  return !(await createIfAbsent(o, key, 'probe', o.signal));
}

/**
 * Delete this taker's probe object. Only while an epoch object keeps the lease folder from being left
 * empty, or with nothing else written into it at the same moment: s3rver removes a folder a DELETE leaves
 * empty, and a PUT into that folder at that moment fails inside s3rver with an unhandled error that stops
 * the server.
 */
export async function removeProbe(o: LeaseOptions): Promise<void> {
  await o.store.deleteObject(o.bucket, probeKey(o));
}

/** Whether the server honours `If-None-Match: *`: the probe, then its removal (two PUTs, a DELETE). */
export async function honoursConditionalCreate(o: LeaseOptions): Promise<boolean> {
  const honoured = await probeConditionalCreate(o);
  await removeProbe(o);
  return honoured;
}

/** What one look at the lease folder saw: the highest epoch and its lease (none before the first epoch). */
export interface LeaseLook {
  epoch: number;
  holder: LeaseRecord | undefined;
  /** performance.now() before the look's first request. */
  startedAt: number;
}

/** Look at the lease: the highest epoch (one LIST) and its lease (one GET). */
export async function lookAtLease(o: LeaseOptions): Promise<LeaseLook> {
  const startedAt = performance.now();
  const epoch = await currentEpoch(o, o.signal);
  const holder = epoch === 0 ? undefined : await readLease(o, epoch, o.signal);
  return { epoch, holder, startedAt };
}

/**
 * Whether a look made earlier may still decide which epoch to create: it began less than half the settle
 * delay ago. Where the server ignores the condition, a taker that created that epoch after this look
 * reads it back only a settle delay later, so a create made within it still reaches that read-back, and
 * the last writer's record decides, as for a look made just before the create.
 */
function recentEnough(o: LeaseOptions, look: LeaseLook): boolean {
  return performance.now() - look.startedAt < (o.settleMs ?? 2000) / 2;
}

/**
 * Take the lease if nobody holds an unexpired one. `conditional`: whether the server honours
 * `If-None-Match: *`, or the probe still asking it (its answer is needed only once this taker's lease
 * object is written, so the probe's requests and the lease's go at the same time; should it fail, the
 * answer is taken as no); when absent, the probe is made first. `earlier`: a look started before (while
 * the caller wrote its generation), used when it is recent enough; otherwise, or when it failed, the
 * lease is looked at now.
 */
export async function tryTakeLease(
  o: LeaseOptions,
  conditional?: boolean | Promise<boolean>,
  earlier?: Promise<LeaseLook>,
): Promise<TakeResult> {
  const now = o.now ?? Date.now;
  const earlierLook = earlier?.catch(() => undefined); // handled at once: the probe may come first
  // A probe that fails tells nothing: this lease is then made sure of as where the server ignores the
  // condition (read back after the settle delay), rather than left behind, held, by a run that fails.
  const guarding = Promise.resolve(conditional ?? (await honoursConditionalCreate(o))).catch(() => false);
  let look = await earlierLook;
  if (!look || !recentEnough(o, look)) look = await lookAtLease(o);
  const { epoch, holder } = look;
  if (holder && holder.expires > now() && !o.abandoned?.(holder)) return { taken: false, holder };
  const lease: LeaseRecord = {
    owner: o.owner,
    epoch: epoch + 1,
    expires: now() + (o.ttlMs ?? 60_000),
    ...o.identity,
  };
  if (!(await createIfAbsent(o, leaseKey(o, lease.epoch), JSON.stringify(lease)))) {
    return { taken: false, holder: await readLease(o, lease.epoch, o.signal) };
  }
  const guarded = await guarding;
  if (!guarded) {
    // The server may have let another taker overwrite this epoch: the last writer's record decides.
    await sleep(o.settleMs ?? 2000);
    const after = await readLease(o, lease.epoch);
    if (after?.owner !== o.owner) return { taken: false, holder: after };
  }
  return { taken: true, lease, conditional: guarded };
}

/** Extend the lease; throws LeaseLostError when a later epoch exists (someone took over). */
export async function renewLease(o: LeaseOptions, lease: LeaseRecord): Promise<LeaseRecord> {
  const epoch = await currentEpoch(o);
  if (epoch !== lease.epoch) {
    const holder = await readLease(o, epoch);
    throw new LeaseLostError(
      `the lease on ${o.stateFolder} was taken by ${holder?.owner ?? 'another deploy'} (epoch ${epoch}) while this deploy held epoch ${lease.epoch}`,
    );
  }
  const next = { ...lease, expires: (o.now ?? Date.now)() + (o.ttlMs ?? 60_000) };
  await o.store.putObject({ bucket: o.bucket, key: leaseKey(o, lease.epoch), body: JSON.stringify(next) });
  return next;
}

/** Let the next deploy in at once: the lease is rewritten as expired (kept, so epochs keep rising). */
export async function releaseLease(o: LeaseOptions, lease: LeaseRecord): Promise<void> {
  const done = { ...lease, expires: 0 };
  await o.store.putObject({ bucket: o.bucket, key: leaseKey(o, lease.epoch), body: JSON.stringify(done) });
}

/** A probe object older than this was left by a run that was killed (a probe lives as long as its run). */
const ABANDONED_PROBE_MS = 24 * 60 * 60 * 1000;

/**
 * Delete the epochs below the one before `lease` (best effort, by its holder): the highest epoch decides,
 * so the older ones only lengthen the listing every taker makes. Probe objects a day old go too (their
 * runs were killed). One LIST, a DeleteObject for each.
 */
export async function pruneOldEpochs(o: LeaseOptions, lease: LeaseRecord): Promise<void> {
  const page = await o.store.listObjects({ bucket: o.bucket, prefix: leaseFolder(o) });
  const abandonedBefore = (o.now ?? Date.now)() - ABANDONED_PROBE_MS;
  const old = page.objects
    .filter((c) => {
      if (c.key.slice(leaseFolder(o).length).startsWith('probe-'))
        return c.lastModified !== undefined && Date.parse(c.lastModified) < abandonedBefore;
      const m = /(\d+)\.json$/.exec(c.key);
      return m !== null && Number(m[1]) < lease.epoch - 1;
    })
    .map((c) => c.key);
  // One DeleteObject each: normally one old epoch per run (s3rver answers some DeleteObjects with 500).
  for (const key of old) await o.store.deleteObject(o.bucket, key);
}
