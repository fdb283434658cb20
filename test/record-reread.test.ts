// createAll reads the upload record before the lease (it diagnoses the credentials and tells whether the
// bucket exists) and again once it holds the lease (what the previous holder left). The second read is one
// LIST of the state folder when nothing changed; a record another deploy changed while this one waited
// for the lease is read anew, and the plan starts from it. Against the real S3 server of the run, through
// both request paths (the lean one createAll builds itself, and an injected SDK client).
import { hostname } from 'node:os';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import type { AppLike } from '../src/app.js';
import { recordKey } from '../src/deploy/record.js';
import { deltaKey, newRunId } from '../src/deploy/record-delta.js';
import { readRecord, readRecordAgain, writeDelta, writeRecord } from '../src/deploy/record-store.js';
import { currentLease, type LeaseOptions, releaseLease, tryTakeLease } from '../src/deploy/state/lease.js';
import { createAll, type UploadReport } from '../src/deploy/upload.js';
import { UploadError } from '../src/errors.js';
import { type FaultLogEntry, type FaultProxy, faults, startFaultProxy } from './helpers/fault-proxy.js';
import { freshBucket, s3Backend, testClient, testStore } from './helpers/s3.js';

const FIXTURE = path.resolve(import.meta.dirname, 'fixtures/site');
const CHANGED = 'static/css/app.css';

function siteApp(bucket: string, endpoint = s3Backend().endpoint): AppLike {
  const backend = s3Backend();
  return {
    root: FIXTURE,
    blueprints: [{ name: 'admin', staticFolder: 'admin/static', urlPrefix: '/admin' }],
    config: {
      FLASKS3_BUCKET_NAME: bucket,
      FLASKS3_ENDPOINT_URL: endpoint,
      FLASKS3_REGION: backend.region,
      FLASKS3_ONLY_MODIFIED: true,
      AWS_ACCESS_KEY_ID: backend.accessKeyId,
      AWS_SECRET_ACCESS_KEY: backend.secretAccessKey,
    },
  };
}

/** Take the lease of `bucket`'s root prefix as another, live deploy would (this process, another owner). */
async function holdTheLease(bucket: string) {
  const holder: LeaseOptions = {
    store: testStore(),
    bucket,
    stateFolder: '.nunjucks-s3',
    owner: 'the-other-deploy',
    settleMs: 300,
    identity: { host: hostname(), pid: process.pid, started: new Date().toISOString() },
  };
  const taken = await tryTakeLease(holder);
  if (!taken.taken) throw new Error('the test could not take the lease');
  return { holder, taken };
}

/** A client for the test server that notes the key of every GetObject sent through it. */
function gettingClient(): { client: S3Client; gets: string[] } {
  const client = testClient();
  const gets: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'GetObjectCommand') gets.push(String((args.input as { Key?: string }).Key));
      return next(args);
    },
    { step: 'initialize', name: 'noteGets' },
  );
  return { client, gets };
}

const quiet = { warn: () => {} };

describe('createAll reads the upload record once', () => {
  it('an unchanged re-deploy GETs the record once, on the lean path', async () => {
    const bucket = await freshBucket('once');
    await createAll(siteApp(bucket), { logger: quiet });
    const proxy = await startFaultProxy({ target: s3Backend().endpoint, rules: [] });
    try {
      const report = await createAll(siteApp(bucket, proxy.url), { logger: quiet });
      expect(report.uploaded).toEqual([]);
      const gets = proxy.log.filter((e) => e.method === 'GET' && e.key === recordKey(''));
      expect(gets).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  });

  it('an unchanged re-deploy GETs the record once, through an injected SDK client', async () => {
    const bucket = await freshBucket('once');
    await createAll(siteApp(bucket), { logger: quiet });
    const { client, gets } = gettingClient();
    const report = await createAll(siteApp(bucket), { logger: quiet, client });
    expect(report.uploaded).toEqual([]);
    expect(gets.filter((k) => k === recordKey(''))).toHaveLength(1);
  });
});

describe('a deploy that waited for the lease plans from the record its holder left', () => {
  /**
   * Deploy the fixture; then hold the lease as another deploy would, start a re-deploy (through `client`
   * when given), let `change` alter the state once the re-deploy waits for the lease, and release it.
   */
  async function redeployWhileHeld(
    change: (bucket: string) => Promise<void>,
    client?: S3Client,
  ): Promise<UploadReport> {
    const bucket = await freshBucket('held');
    await createAll(siteApp(bucket), { logger: quiet });
    const { holder, taken } = await holdTheLease(bucket);
    let waits: () => void = () => {};
    const waiting = new Promise<void>((resolve) => {
      waits = resolve;
    });
    const logger = { ...quiet, info: (m: string) => m.startsWith('waiting for the deploy') && waits() };
    const deploy = createAll(siteApp(bucket), { logger, client });
    await Promise.race([
      waiting,
      deploy.then(() => {
        throw new Error('the re-deploy did not wait for the lease');
      }),
    ]);
    await change(bucket);
    await releaseLease(holder, taken.lease);
    return deploy;
  }

  /** The holder withdrew the claim of CHANGED by rewriting the snapshot. */
  async function rewriteSnapshot(bucket: string): Promise<void> {
    const read = await readRecord(testStore(), bucket, '');
    if (read.status !== 'found') throw new Error(`expected a record, got ${read.status}`);
    delete read.record.objects[CHANGED];
    await writeRecord(testStore(), read.record);
  }

  /** The holder withdrew the claim of CHANGED in a checkpoint (a delta), the snapshot left as it was. */
  async function writeWithdrawal(bucket: string): Promise<void> {
    const run = newRunId();
    await writeDelta(
      testStore(),
      { bucket, key: deltaKey('', run, 1) },
      { format: 'nunjucks-s3/record-delta', run, seq: 1, set: {}, drop: [CHANGED], settings: {} },
    );
  }

  it.each([
    ['rewrote the snapshot', rewriteSnapshot],
    ['checkpointed a delta', writeWithdrawal],
  ])('the holder %s: the claim it withdrew is not relied on (lean path)', async (_what, change) => {
    const report = await redeployWhileHeld(change);
    expect(report.uploaded.map((e) => [e.key, e.reason])).toEqual([[CHANGED, 'new']]);
    const read = await readRecord(testStore(), report.bucket, '');
    expect(read.status === 'found' && Object.hasOwn(read.record.objects, CHANGED)).toBe(true);
  });

  it('the holder rewrote the snapshot: the claim it withdrew is not relied on (SDK client)', async () => {
    const report = await redeployWhileHeld(rewriteSnapshot, gettingClient().client);
    expect(report.uploaded.map((e) => [e.key, e.reason])).toEqual([[CHANGED, 'new']]);
  });
});

// The first read is a GET of the snapshot and a LIST of the state folder: a deploy writing between them can
// make them disagree (the snapshot from before a merge and the deltas from after it; or, in a read whose
// requests go the other way round, the reverse). The read after the lease must then read again, never
// reuse that mix.
describe('a first read whose GET and LIST disagreed is read again after the lease', () => {
  async function bucketWithDelta(): Promise<{ bucket: string; delta: string }> {
    const bucket = await freshBucket('mixed-read');
    await createAll(siteApp(bucket), { logger: quiet });
    const run = newRunId();
    const delta = deltaKey('', run, 1);
    await writeDelta(
      testStore(),
      { bucket, key: delta },
      { format: 'nunjucks-s3/record-delta', run, seq: 1, set: {}, drop: [CHANGED], settings: {} },
    );
    return { bucket, delta };
  }

  it('the snapshot from before a merge, the deltas from after it', async () => {
    const { bucket } = await bucketWithDelta();
    const before = await readRecord(testStore(), bucket, '');
    if (before.status !== 'found') throw new Error(`expected a record, got ${before.status}`);
    expect(before.pending.deltas).toHaveLength(1);
    // The holder merges the delta into a new snapshot and deletes it.
    await writeRecord(testStore(), { ...before.record, merged: [] });
    await testStore().deleteObject(bucket, before.pending.deltas[0]!);
    const after = await readRecord(testStore(), bucket, '');
    if (after.status !== 'found') throw new Error(`expected a record, got ${after.status}`);
    const mixed = { ...before, pending: after.pending };
    const again = await readRecordAgain(testStore(), bucket, '', mixed);
    expect(again).not.toBe(mixed);
    expect(again.status === 'found' && again.snapshot).toEqual(after.snapshot);
  });

  it('the snapshot from after a merge, the deltas from before it', async () => {
    const { bucket } = await bucketWithDelta();
    const before = await readRecord(testStore(), bucket, '');
    if (before.status !== 'found') throw new Error(`expected a record, got ${before.status}`);
    await writeRecord(testStore(), { ...before.record, merged: [] });
    await testStore().deleteObject(bucket, before.pending.deltas[0]!);
    const after = await readRecord(testStore(), bucket, '');
    if (after.status !== 'found') throw new Error(`expected a record, got ${after.status}`);
    const mixed = { ...after, pending: before.pending };
    const again = await readRecordAgain(testStore(), bucket, '', mixed);
    expect(again).not.toBe(mixed);
    expect(again.status === 'found' && again.pending.deltas).toEqual([]);
    // And what was read, when nothing changed since, is used as it is.
    expect(await readRecordAgain(testStore(), bucket, '', after)).toBe(after);
  });
});

describe('the listing that confirms the claims', () => {
  it('is made once by an unchanged re-deploy, and only once its lease object is written', async () => {
    const bucket = await freshBucket('listing-order');
    await createAll(siteApp(bucket), { logger: quiet });
    const proxy = await startFaultProxy({ target: s3Backend().endpoint, rules: [] });
    try {
      const report = await createAll(siteApp(bucket, proxy.url), { logger: quiet });
      expect(report.uploaded).toEqual([]);
      const leaseWritten = proxy.log.findIndex(
        (e) => e.method === 'PUT' && /\.nunjucks-s3\/lease\/\d+\.json$/.test(e.key ?? ''),
      );
      const folderListings = proxy.log
        .map((e, i) => ({ e, i }))
        .filter(
          ({ e }) =>
            e.method === 'GET' &&
            e.key === undefined &&
            !/[?&]uploads/.test(e.url) &&
            /[?&]prefix=(admin%2F)?static%2F/.test(e.url),
        );
      expect(leaseWritten).toBeGreaterThanOrEqual(0);
      // One LIST per static folder (the fixture's pages are short), all after the lease's create.
      expect(
        folderListings.map(({ e }) => decodeURIComponent(/prefix=([^&]*)/.exec(e.url)![1]!)).sort(),
      ).toEqual(['admin/static/', 'static/']);
      expect(folderListings.every(({ i }) => i > leaseWritten)).toBe(true);
    } finally {
      await proxy.close();
    }
  });
});

describe('the lease, taken while the record is read', () => {
  /** A proxy whose LIST of the state folder (the read's second request) fails, every attempt. */
  const failingStateListing = () =>
    startFaultProxy({
      target: s3Backend().endpoint,
      rules: [
        {
          method: 'GET',
          match: (r) => r.key === undefined && r.query.get('prefix') === '.nunjucks-s3/',
          fault: faults.internalError(),
        },
      ],
    });

  it('is released when the read fails after its GET: the next deploy takes the lease at once', async () => {
    const bucket = await freshBucket('read-fails');
    await createAll(siteApp(bucket), { logger: quiet });
    // The record's GET answers, so the lease is taken while the read goes on. The read's LIST of the state
    // folder is reset until the proxy has passed on the lease's created epoch, then refused for good: the
    // read fails with the lease held, whatever the timing.
    const epochCreated = (log: readonly FaultLogEntry[]) =>
      log.some(
        (e) =>
          e.method === 'PUT' && /^\.nunjucks-s3\/lease\/\d+\.json$/.test(e.key ?? '') && e.status === 200,
      );
    const proxy: FaultProxy = await startFaultProxy({
      target: s3Backend().endpoint,
      decide: (r) => {
        if (r.method !== 'GET' || r.key !== undefined || r.query.get('prefix') !== '.nunjucks-s3/')
          return undefined;
        return epochCreated(proxy.log)
          ? faults.error(400, 'InvalidArgument', 'Invalid argument.')
          : faults.reset();
      },
    });
    try {
      const failing = siteApp(bucket, proxy.url);
      failing.config = { ...failing.config, FLASKS3_MAX_ATTEMPTS: 10 };
      await expect(createAll(failing, { logger: quiet })).rejects.toThrow(/upload record/);
      expect(epochCreated(proxy.log)).toBe(true);
    } finally {
      await proxy.close();
    }
    // Held by a live process (this one) until it expired, a lease left behind would make this wait and
    // fail with DeployLockedError after one second.
    const next = siteApp(bucket);
    next.config = { ...next.config, FLASKS3_LEASE_WAIT: 1 };
    const report = await createAll(next, { logger: quiet });
    expect(report.uploaded).toEqual([]);
  });

  it("another deploy holds it and the read fails: the run fails at once, with the read's failure alone", async () => {
    const bucket = await freshBucket('read-fails-held');
    await createAll(siteApp(bucket), { logger: quiet });
    const { holder, taken } = await holdTheLease(bucket);
    const proxy = await failingStateListing();
    const waiting: string[] = [];
    const logger = { ...quiet, info: (m: string) => m.startsWith('waiting for') && waiting.push(m) };
    try {
      const failing = siteApp(bucket, proxy.url);
      // Were the failed run to wait for the lease, it would say so every 5 s for these 20 s.
      failing.config = { ...failing.config, FLASKS3_MAX_ATTEMPTS: 2, FLASKS3_LEASE_WAIT: 20 };
      const err = (await createAll(failing, { logger }).catch((e: unknown) => e)) as UploadError;
      expect(err).toBeInstanceOf(UploadError);
      expect(err.message).toMatch(/could not read the upload record/);
      // The report is the read's: the lease's attempt, stopped, left it alone.
      const { failed } = err.report as UploadReport;
      expect(failed.length).toBeGreaterThan(0);
      for (const f of failed) expect(f.message).toMatch(/could not read the upload record/);
      expect(err.failures).toBe(failed);
      expect(waiting.length).toBeLessThanOrEqual(1);
    } finally {
      await proxy.close();
    }
    // The holder's lease is as it was.
    const lease = await currentLease(holder);
    expect([lease?.owner, lease?.epoch]).toEqual(['the-other-deploy', taken.lease.epoch]);
    await releaseLease(holder, taken.lease);
  });
});
