// The lean S3 path (src/s3/lean/) against the real S3 server of the run and the fault proxy: keys with
// characters that need encoding, listings past 1,000 keys, the SDK-shaped errors of real error bodies,
// a 503 with Retry-After retried, a local clock an hour off corrected, and a stalled server timed out.
// What a user would check: the same bytes and keys through the SDK, codes and statuses, elapsed time.
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openS3Edge } from '../src/s3/edge.js';
import { describeError, errorCode, httpStatus } from '../src/s3/errors.js';
import { LeanS3 } from '../src/s3/lean/lean-client.js';
import { leanStore } from '../src/s3/lean/lean-store.js';
import { listKeys } from '../src/s3/objects.js';
import { runPool } from '../src/util/pool.js';
import { type FaultProxy, faults, startFaultProxy } from './helpers/fault-proxy.js';
import { freshBucket, s3Backend, testClient, uniqueBucket } from './helpers/s3.js';

const proxies: FaultProxy[] = [];
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

/** A lean client for the test server (or the proxy in front of it). */
function lean(options: { endpoint?: string; socketTimeout?: number; secret?: string } = {}): LeanS3 {
  const info = s3Backend();
  return new LeanS3({
    endpoint: new URL(options.endpoint ?? info.endpoint),
    region: info.region,
    credentials: { accessKeyId: info.accessKeyId, secretAccessKey: options.secret ?? info.secretAccessKey },
    maxSockets: 16,
    connectionTimeout: 10_000,
    socketTimeout: options.socketTimeout ?? 60_000,
  });
}

async function proxied(rules: Parameters<typeof startFaultProxy>[0]['rules']): Promise<FaultProxy> {
  const proxy = await startFaultProxy({ target: s3Backend().endpoint, rules });
  proxies.push(proxy);
  return proxy;
}

const ODD_KEYS = [
  'static/with space/a b.css',
  'static/ünï cødé/ß.txt',
  'static/c++/x+y.js',
  'static/100%/50%25.txt',
  'static/~tilde/~a.txt',
  'static/a&b/c&amp;d.txt',
  "static/odd/!'()*.txt",
  'static/odd/<tag> "q".txt',
];

describe('the lean path against the S3 server', () => {
  it('puts, gets, lists and deletes keys with spaces, unicode, +, %, ~, & exactly as the SDK sees them', async () => {
    const client = testClient();
    const bucket = await freshBucket('lean-keys', client);
    const store = leanStore(lean(), 3);
    for (const key of ODD_KEYS)
      await store.putObject({ bucket, key, body: `bytes of ${key}`, contentType: 'text/plain' });
    // The SDK reads each back under the same key, with the same bytes.
    for (const key of ODD_KEYS) {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      expect(await out.Body!.transformToString()).toBe(`bytes of ${key}`);
      expect(out.ContentType).toBe('text/plain');
    }
    // And the lean path reads what the SDK put.
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'static/sdk & lean+.txt', Body: 'sdk' }));
    expect((await store.getObject(bucket, 'static/sdk & lean+.txt')).toString()).toBe('sdk');
    const listed = await listKeys(store, bucket, 'static/');
    expect(listed).toEqual([...ODD_KEYS, 'static/sdk & lean+.txt'].sort());
    const page = await store.listObjects({ bucket, prefix: 'static/c++/' });
    expect(page.objects).toEqual([
      {
        key: 'static/c++/x+y.js',
        etag: expect.stringMatching(/^"?[0-9a-f]{32}"?$/),
        size: Buffer.byteLength('bytes of static/c++/x+y.js'),
        lastModified: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      },
    ]);
    for (const key of ODD_KEYS) await store.deleteObject(bucket, key);
    expect(await listKeys(store, bucket, 'static/')).toEqual(['static/sdk & lean+.txt']);
  });

  it('lists more than 1,000 keys, page after page', async () => {
    const bucket = await freshBucket('lean-many');
    const store = leanStore(lean(), 3);
    const keys = Array.from({ length: 1205 }, (_, i) => `many/${String(i).padStart(5, '0')}&.txt`);
    await runPool(keys, 16, (key) => store.putObject({ bucket, key, body: 'x' }));
    expect(await listKeys(store, bucket, 'many/')).toEqual(keys);
    const first = await store.listObjects({ bucket, prefix: 'many/' });
    expect(first.objects).toHaveLength(1000);
    expect(first.isTruncated).toBe(true);
  }, 120_000);

  it('throws errors shaped as the SDK does for real error bodies', async () => {
    const bucket = await freshBucket('lean-errors');
    const store = leanStore(lean(), 3);
    const missing = await store.getObject(bucket, 'no/such key').catch((e: unknown) => e);
    expect([errorCode(missing), httpStatus(missing)]).toEqual(['NoSuchKey', 404]);
    expect((missing as { $fault?: string }).$fault).toBe('client');
    const noBucket = await store.getObject(uniqueBucket('none'), 'k').catch((e: unknown) => e);
    expect([errorCode(noBucket), httpStatus(noBucket)]).toEqual(['NoSuchBucket', 404]);
    // A wrong secret (s3rver checks no signature: Ceph RGW only).
    if (s3Backend().name !== 'rgw') return;
    const secret = 'wrong-secret-wrong-secret-0123456789';
    const denied = await leanStore(lean({ secret }), 3)
      .getObject(bucket, 'k')
      .catch((e: unknown) => e);
    expect([errorCode(denied), httpStatus(denied)]).toEqual(['SignatureDoesNotMatch', 403]);
    expect(describeError(denied, [secret])).not.toContain(secret);
  });
});

describe('the lean path under faults', () => {
  it('retries a 503 after the wait its Retry-After asks for', async () => {
    const bucket = await freshBucket('lean-503');
    const proxy = await proxied([{ method: 'GET', fault: faults.unavailableFor(1), times: 1 }]);
    const store = leanStore(lean({ endpoint: proxy.url }), 3);
    await store.putObject({ bucket, key: 'k.txt', body: 'after the wait' });
    const started = performance.now();
    expect((await store.getObject(bucket, 'k.txt')).toString()).toBe('after the wait');
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    expect(proxy.log.filter((e) => e.method === 'GET').map((e) => e.status)).toEqual([503, 200]);
  });

  it('corrects a local clock an hour off from the server Date, and the request goes through', async () => {
    const bucket = await freshBucket('lean-skew');
    const proxy = await proxied([]);
    const s3 = lean({ endpoint: proxy.url });
    s3.clock = { systemClockOffset: 3600_000 }; // signs an hour ahead, as a clock an hour fast does
    await leanStore(s3, 3).putObject({ bucket, key: 'skew.txt', body: 'on time' });
    expect(Math.abs(s3.clock.systemClockOffset ?? 0)).toBeLessThan(60_000);
    const statuses = proxy.log.map((e) => e.status);
    expect(statuses.at(-1)).toBe(200);
    // Ceph RGW refuses a signature an hour off (s3rver does not check): refused once, then accepted.
    if (s3Backend().name === 'rgw') expect(statuses).toEqual([403, 200]);
    const out = await testClient().send(new GetObjectCommand({ Bucket: bucket, Key: 'skew.txt' }));
    expect(await out.Body!.transformToString()).toBe('on time');
  });

  it('gives up on a stalled server after requestTimeout, with a TimeoutError, and retries it', async () => {
    const bucket = await freshBucket('lean-stall');
    const proxy = await proxied([{ method: 'GET', fault: faults.stall(), times: 1 }]);
    await leanStore(lean(), 1).putObject({ bucket, key: 'k.txt', body: 'answered' });
    const stalled = leanStore(lean({ endpoint: proxy.url, socketTimeout: 700 }), 1);
    const started = performance.now();
    const err = await stalled.getObject(bucket, 'k.txt').catch((e: unknown) => e);
    const waited = performance.now() - started;
    expect(errorCode(err)).toBe('TimeoutError');
    expect(describeError(err)).toBe('TimeoutError: the request socket timed out after 700 ms of inactivity');
    expect(waited).toBeGreaterThanOrEqual(650);
    expect(waited).toBeLessThan(5000);
    // With a second attempt allowed, the stall is retried and the answer comes.
    proxy.setRules([{ method: 'GET', fault: faults.stall(), times: 1 }]);
    const retried = leanStore(lean({ endpoint: proxy.url, socketTimeout: 700 }), 2);
    expect((await retried.getObject(bucket, 'k.txt')).toString()).toBe('answered');
  });

  it('shares its clock correction with the SDK client created after it', async () => {
    const bucket = await freshBucket('lean-shared-clock');
    const proxy = await proxied([]);
    const info = s3Backend();
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true, now: Date.now() + 3600_000 });
    const edge = openS3Edge(
      {
        region: info.region,
        endpointUrl: proxy.url,
        forcePathStyle: true,
        accessKeyId: info.accessKeyId,
        secretAccessKey: info.secretAccessKey,
        sessionToken: undefined,
        concurrency: 4,
        requestTimeout: 60_000,
        maxAttempts: 3,
      },
      { bucket },
    );
    try {
      expect(edge.lean).toBe(true);
      await edge.store.putObject({ bucket, key: 'a.txt', body: 'a' });
      const sdk = edge.client();
      const offset = (sdk.config as { systemClockOffset?: number }).systemClockOffset ?? 0;
      expect(Math.abs(offset + 3600_000)).toBeLessThan(60_000);
      await sdk.send(new HeadObjectCommand({ Bucket: bucket, Key: 'a.txt' }));
      // On Ceph RGW (s3rver checks no time): the lean PUT was refused once, the SDK's HEAD never.
      if (info.name === 'rgw')
        expect(proxy.log.map((e) => [e.method, e.status])).toEqual([
          ['PUT', 403],
          ['PUT', 200],
          ['HEAD', 200],
        ]);
    } finally {
      vi.useRealTimers();
      edge.destroy();
    }
  });
});
