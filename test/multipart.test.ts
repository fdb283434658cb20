// Multipart uploads of large files (sendParts in src/upload.ts: each part streamed from its range of the
// file), against the real test server, through the fault proxy where faults are needed: the object is
// the file byte for byte (a part at the wrong offset cannot compare equal: every MiB differs), a part
// that fails transiently is sent again, a part that always fails or an abort aborts the multipart upload
// and leaves no object and no record entry, and the record holds the xxh64 of the whole file.
import { randomBytes } from 'node:crypto';
import { appendFileSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHasher } from '../src/content/hash.js';
import { createAll } from '../src/deploy/upload.js';
import { type FaultProxy, type FaultRule, faults, startFaultProxy } from './helpers/fault-proxy.js';
import { freshBucket, s3Backend } from './helpers/s3.js';
import {
  expectBucketMatches,
  expectedKeys,
  inspectBucket,
  objectBytes,
  readRecordJson,
  rejection,
  removeTemps,
  s3Settings,
  tempDir,
  writeFiles,
} from './helpers/upload-check.js';

const MiB = 1024 * 1024;
const BIG = 'static/big.bin'; // 20 MiB + 1 KiB: parts of 8, 8 and 4 MiB + 1 KiB
const SMALL = 'static/small.txt';

let root: string;
let big: Buffer;
const proxies: FaultProxy[] = [];

beforeAll(() => {
  root = tempDir('multipart');
  big = randomBytes(20 * MiB + 1024);
  writeFiles(root, { [BIG]: big, [SMALL]: 'small\n' });
});
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});
afterAll(removeTemps);

async function proxied(options: {
  rules?: FaultRule[];
  decide?: Parameters<typeof startFaultProxy>[0]['decide'];
}): Promise<FaultProxy> {
  const proxy = await startFaultProxy({ target: s3Backend().endpoint, ...options });
  proxies.push(proxy);
  return proxy;
}

function app(bucket: string, endpoint: string) {
  return {
    root,
    config: s3Settings(bucket, endpoint, { FLASKS3_MULTIPART_THRESHOLD: 5 * MiB, FLASKS3_MAX_ATTEMPTS: 4 }),
  };
}

const quiet = { warn: () => {} };

/** Part uploads of BIG the proxy saw, as `partNumber:status` in arrival order. */
function partRequests(proxy: FaultProxy): string[] {
  return proxy.log
    .filter((e) => e.method === 'PUT' && e.key === BIG && /[?&]partNumber=/.test(e.url))
    .map((e) => `${/[?&]partNumber=(\d+)/.exec(e.url)![1]}:${e.status ?? e.outcome}`);
}

/**
 * AbortMultipartUpload requests (DELETE ?uploadId) for BIG that reached the server. (s3rver answers them
 * 405: it does not implement the call, and keeps the parts; RGW answers 204.)
 */
function aborts(proxy: FaultProxy): number {
  return proxy.log.filter(
    (e) => e.method === 'DELETE' && e.key === BIG && /[?&]uploadId=/.test(e.url) && e.outcome === 'forwarded',
  ).length;
}

describe('multipart uploads', () => {
  it('send each part once, in parts of 8 MiB; the object is the file and the record holds its xxh64', async () => {
    const bucket = await freshBucket('mp-bytes');
    const proxy = await proxied({});
    const report = await createAll(app(bucket, proxy.url), { logger: quiet, putBucketAcl: false });
    expect(report.failed).toEqual([]);
    expect(partRequests(proxy).sort()).toEqual(['1:200', '2:200', '3:200']);
    expect(proxy.log.filter((e) => e.method === 'PUT' && e.key === BIG)).toHaveLength(3); // no PutObject
    expect((await objectBytes(bucket, BIG))!.equals(big)).toBe(true);
    const record = await readRecordJson(bucket);
    expect(record!.objects[BIG]).toMatchObject({
      hash: (await createHasher()).hashBytes(big),
      size: big.length,
    });
    expect(report.bytesSent).toBe(big.length + 'small\n'.length);
    await expectBucketMatches({ bucket, expected: expectedKeys(path.join(root, 'static'), 'static') });
  });

  it('a part reset in the middle of its body, and one answered 500, are sent again: the object is whole', async () => {
    const bucket = await freshBucket('mp-retry');
    const proxy = await proxied({
      rules: [
        {
          method: 'PUT',
          key: BIG,
          match: (r) => r.query.get('partNumber') === '2',
          fault: faults.resetMidBody(MiB),
          times: 1,
        },
        {
          method: 'PUT',
          key: BIG,
          match: (r) => r.query.get('partNumber') === '3',
          fault: faults.internalError(),
          times: 1,
        },
      ],
    });
    const report = await createAll(app(bucket, proxy.url), { logger: quiet, putBucketAcl: false });
    expect(report.failed).toEqual([]);
    const parts = partRequests(proxy);
    expect(parts.filter((p) => p.startsWith('2:'))).toEqual(['2:reset', '2:200']);
    expect(parts.filter((p) => p.startsWith('3:'))).toEqual(['3:500', '3:200']);
    expect((await objectBytes(bucket, BIG))!.equals(big)).toBe(true);
    expect((await readRecordJson(bucket))!.objects[BIG]?.hash).toBe((await createHasher()).hashBytes(big));
    await expectBucketMatches({ bucket, expected: expectedKeys(path.join(root, 'static'), 'static') });
  });

  it('a part that always fails: the multipart upload is aborted, no object, the record does not list it', async () => {
    const bucket = await freshBucket('mp-fail');
    const proxy = await proxied({
      rules: [
        {
          method: 'PUT',
          key: BIG,
          match: (r) => r.query.get('partNumber') === '2',
          fault: faults.error(400, 'InvalidPart', 'refused by the test'),
        },
      ],
    });
    const err = await rejection(createAll(app(bucket, proxy.url), { logger: quiet, putBucketAcl: false }));
    expect(err.code).toBe('UPLOAD_FAILED');
    expect(err.failures.map((f) => f.key)).toEqual([BIG]);
    // At most maxAttempts tries (the 400 itself is not retried, but an attempt may end in EPIPE when the
    // proxy answers before the body is sent, which is retried like any dropped connection).
    const part2 = partRequests(proxy).filter((p) => p.startsWith('2:'));
    expect(part2.length).toBeGreaterThanOrEqual(1);
    expect(part2.length).toBeLessThanOrEqual(4);
    expect(new Set(part2)).toEqual(new Set(['2:400']));
    expect(aborts(proxy)).toBe(1);
    expect(await objectBytes(bucket, BIG)).toBeUndefined();
    const state = await inspectBucket({
      bucket,
      expected: expectedKeys(path.join(root, 'static'), 'static'),
    });
    expect(state.keys).toEqual([SMALL]);
    expect(state.recorded).toEqual([SMALL]);
    expect(state.falseClaims).toEqual([]);
  });

  it('a file cut short during its multipart upload fails: the upload is aborted, no object, not recorded', async () => {
    const bucket = await freshBucket('mp-shrunk');
    const file = path.join(root, BIG);
    // The file is truncated the moment the multipart upload is created, before any part is read.
    const proxy = await proxied({
      decide: (r) => {
        if (r.method === 'POST' && r.key === BIG && r.query.has('uploads')) truncateSync(file, 3 * MiB);
        return undefined;
      },
    });
    try {
      const err = await rejection(createAll(app(bucket, proxy.url), { logger: quiet, putBucketAcl: false }));
      expect(err.failures.map((f) => f.key)).toEqual([BIG]);
      expect(err.failures[0]!.message).toContain(`${file} changed while it was being uploaded`);
      expect(aborts(proxy)).toBe(1);
      // Never completed: no CompleteMultipartUpload (POST ?uploadId) went out.
      expect(proxy.log.filter((e) => e.method === 'POST' && /[?&]uploadId=/.test(e.url))).toEqual([]);
      expect(await objectBytes(bucket, BIG)).toBeUndefined();
      const state = await inspectBucket({
        bucket,
        expected: expectedKeys(path.join(root, 'static'), 'static'),
      });
      expect(state.recorded).toEqual([SMALL]);
      expect(state.falseClaims).toEqual([]);
    } finally {
      writeFileSync(file, big);
    }
  });

  it('an abort while parts are in flight aborts the multipart upload: no object, the record does not list it', async () => {
    const bucket = await freshBucket('mp-abort');
    const controller = new AbortController();
    // The abort comes when part 2 reaches the proxy, which holds that part without answering.
    const proxy = await proxied({
      decide: (r) => {
        if (r.method !== 'PUT' || r.key !== BIG || r.query.get('partNumber') !== '2') return undefined;
        controller.abort(new Error('stopped by the test'));
        return faults.stall();
      },
    });
    const err = await rejection(
      createAll(app(bucket, proxy.url), { logger: quiet, putBucketAcl: false, signal: controller.signal }),
    );
    expect(err.code).toBe('UPLOAD_ABORTED');
    expect(aborts(proxy)).toBe(1);
    expect(await objectBytes(bucket, BIG)).toBeUndefined();
    const state = await inspectBucket({
      bucket,
      expected: expectedKeys(path.join(root, 'static'), 'static'),
    });
    expect(state.keys).not.toContain(BIG);
    expect(state.recorded).not.toContain(BIG);
    expect(state.falseClaims).toEqual([]);
  });
});

describe('a mid-size (streamed) file that changes during its upload', () => {
  it('grown: the bytes announced are sent and recorded as such; the next run uploads the whole file', async () => {
    const site = tempDir('mid-grow');
    const MID = 'static/mid.bin';
    const mid = randomBytes(3 * MiB);
    writeFiles(site, { [MID]: mid });
    const file = path.join(site, MID);
    const bucket = await freshBucket('mid-grow');
    // The file grows the moment its PUT reaches the proxy (the client has announced 3 MiB).
    const proxy = await proxied({
      decide: (r) => {
        if (r.method === 'PUT' && r.key === MID) appendFileSync(file, 'grown\n');
        return undefined;
      },
    });
    const settings = (endpoint: string) => ({
      root: site,
      config: s3Settings(bucket, endpoint, { FLASKS3_ONLY_MODIFIED: true, FLASKS3_PUT_BUCKET_ACL: false }),
    });
    await createAll(settings(proxy.url), { logger: quiet });
    // What was sent: exactly the 3 MiB announced, and the record says so (its size and hash).
    expect((await objectBytes(bucket, MID))!.equals(mid)).toBe(true);
    const recorded = (await readRecordJson(bucket))!.objects[MID]!;
    expect(recorded.size).toBe(mid.length);
    expect(recorded.hash).toBe((await createHasher()).hashBytes(mid));
    // The next run sees the file differs from the record and uploads all of it.
    const again = await createAll(settings(s3Backend().endpoint), { logger: quiet });
    expect(again.uploaded.map((e) => [e.key, e.reason])).toEqual([[MID, 'changed']]);
    expect((await objectBytes(bucket, MID))!.equals(readFileSync(file))).toBe(true);
  });
});
