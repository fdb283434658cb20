// Proves each fault of test/helpers/fault-proxy.ts with a plain S3Client against the real test server (s3rver or
// Ceph RGW) behind the proxy: what the SDK sees, whether it recovers, what reached the server, and the log.
import { createHash, randomBytes } from 'node:crypto';
import {
  CreateMultipartUploadCommand,
  GetObjectAclCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketAclCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type Fault,
  type FaultProxy,
  type FaultProxyOptions,
  faults,
  rejectAcls,
  requireChecksums,
  startFaultProxy,
} from './helpers/fault-proxy.js';
import { freshBucket, s3Backend, testClient } from './helpers/s3.js';

let bucket: string;
const direct = () => testClient();
const proxies: FaultProxy[] = [];

beforeAll(async () => {
  bucket = await freshBucket('fault');
});
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

async function proxy(options: Omit<FaultProxyOptions, 'target'> = {}): Promise<FaultProxy> {
  const p = await startFaultProxy({ target: s3Backend().endpoint, ...options });
  proxies.push(p);
  return p;
}

/** A client that talks to the server through the proxy. */
function via(p: FaultProxy, config: Partial<S3ClientConfig> = {}): S3Client {
  const info = s3Backend();
  return new S3Client({
    endpoint: p.url,
    region: info.region,
    forcePathStyle: true,
    credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...config,
  });
}

async function getBytes(client: S3Client, key: string): Promise<Buffer> {
  const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

async function exists(key: string): Promise<boolean> {
  try {
    await direct().send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (e) {
    if ((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw e;
  }
}

/** The rejection of a promise (fails the test if it resolves). */
async function failure(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (e) {
    return e as Error & Record<string, unknown>;
  }
  throw new Error('expected the request to fail');
}

describe('fault proxy: passing through', () => {
  it('forwards requests unchanged: signatures stay valid and bytes are identical both ways', async () => {
    const p = await proxy();
    const client = via(p);
    const body = randomBytes(3 * 1024 * 1024 + 17);
    // A key that needs encoding: the signed path must reach the server exactly as signed.
    const key = 'dir/ünïcode name+plus (1).bin';
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    expect((await getBytes(direct(), key)).equals(body)).toBe(true);
    expect((await getBytes(client, key)).equals(body)).toBe(true);
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    expect(head.ContentLength).toBe(body.length);
    const list = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'dir/' }));
    expect(list.Contents?.map((o) => o.Key)).toEqual([key]);

    expect(p.requests).toBe(4);
    expect(p.log.map((e) => [e.method, e.key, e.status, e.outcome, e.fault])).toEqual([
      ['PUT', key, 200, 'forwarded', null],
      ['GET', key, 200, 'forwarded', null],
      ['HEAD', key, 200, 'forwarded', null],
      ['GET', undefined, 200, 'forwarded', null],
    ]);
    expect(p.log[0]!.bytesIn).toBe(body.length);
  });
});

describe('fault proxy: S3 error answers', () => {
  const cases: { fault: () => Fault; status: number; code: string; message: string }[] = [
    {
      fault: faults.internalError,
      status: 500,
      code: 'InternalError',
      message: 'We encountered an internal error. Please try again.',
    },
    { fault: faults.slowDown, status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' },
    {
      fault: faults.tooManyRequests,
      status: 429,
      code: 'TooManyRequests',
      message: 'Please reduce your request rate.',
    },
  ];

  // Small bodies are sent at once; from 2 MiB the SDK sends `Expect: 100-continue` and waits, so the fault
  // lands before the body: both paths are covered.
  const sized = cases.flatMap((c) => [
    { ...c, size: 1000, expectContinue: false },
    { ...c, size: 3 * 1024 * 1024, expectContinue: true },
  ]);

  it.each(sized)(
    '$status $code reaches the SDK as that error with maxAttempts 1 ($size bytes)',
    async (c) => {
      const p = await proxy({ rules: [{ method: 'PUT', fault: c.fault() }] });
      const key = `error-${c.status}-${c.size}.bin`;
      const e = await failure(
        via(p, { maxAttempts: 1 }).send(
          new PutObjectCommand({ Bucket: bucket, Key: key, Body: randomBytes(c.size) }),
        ),
      );
      expect(e.name).toBe(c.code);
      expect(e.message).toBe(c.message);
      expect((e.$metadata as { httpStatusCode: number }).httpStatusCode).toBe(c.status);
      expect(await exists(key)).toBe(false);
      expect(p.log).toMatchObject([
        {
          method: 'PUT',
          key,
          status: c.status,
          outcome: 'injected',
          fault: c.code,
          expectContinue: c.expectContinue,
        },
      ]);
    },
  );

  it.each(sized)(
    '$status $code once is retried by the SDK and the upload completes ($size bytes)',
    async (c) => {
      const p = await proxy({ rules: [{ method: 'PUT', fault: c.fault(), times: 1 }] });
      const key = `retried-${c.status}-${c.size}.bin`;
      const body = randomBytes(c.size);
      await via(p).send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
      expect((await getBytes(direct(), key)).equals(body)).toBe(true);
      expect(p.log.map((e) => [e.status, e.fault, e.expectContinue])).toEqual([
        [c.status, c.code, c.expectContinue],
        [200, null, c.expectContinue],
      ]);
    },
  );

  it('HEAD gets the status without a body, as S3 answers HEAD errors', async () => {
    await direct().send(new PutObjectCommand({ Bucket: bucket, Key: 'head.txt', Body: 'x' }));
    const p = await proxy({ rules: [{ method: 'HEAD', fault: faults.slowDown() }] });
    const e = await failure(
      via(p, { maxAttempts: 1 }).send(new HeadObjectCommand({ Bucket: bucket, Key: 'head.txt' })),
    );
    expect((e.$metadata as { httpStatusCode: number }).httpStatusCode).toBe(503);
  });
});

describe('fault proxy: connection resets', () => {
  it.each([64 * 1024, 3 * 1024 * 1024])(
    'a reset before the body is read is a network error, and nothing reaches the server (%i bytes)',
    async (size) => {
      const p = await proxy({ rules: [{ method: 'PUT', fault: faults.reset() }] });
      const key = `reset-${size}.bin`;
      const e = await failure(
        via(p, { maxAttempts: 1 }).send(
          new PutObjectCommand({ Bucket: bucket, Key: key, Body: randomBytes(size) }),
        ),
      );
      expect(['ECONNRESET', 'EPIPE']).toContain(e.code);
      expect(await exists(key)).toBe(false);
      expect(p.log).toMatchObject([
        { method: 'PUT', key, status: null, outcome: 'reset', fault: 'reset', bytesIn: 0 },
      ]);
    },
  );

  // s3rver does not check Content-Length: it stores the truncated body as a whole object. Ceph RGW (like S3)
  // discards it. Code that records uploads must therefore never trust an object's presence after a failure.
  it.each([1024 * 1024, 3 * 1024 * 1024])(
    'a reset in the middle of the body is a network error; RGW keeps nothing, s3rver a truncated object (%i bytes)',
    async (size) => {
      const p = await proxy({ rules: [{ method: 'PUT', fault: faults.resetMidBody(100_000) }] });
      const key = `midbody-${size}.bin`;
      const e = await failure(
        via(p, { maxAttempts: 1 }).send(
          new PutObjectCommand({ Bucket: bucket, Key: key, Body: randomBytes(size) }),
        ),
      );
      expect(['ECONNRESET', 'EPIPE']).toContain(e.code);
      if (s3Backend().name === 'rgw') {
        expect(await exists(key)).toBe(false);
      } else {
        // s3rver finishes writing the truncated file after the connection dropped: wait for it. It keeps what
        // it read before the reset, which under load can be less than all the proxy passed on (a reset
        // discards what the server had not read yet): a truncated object, never the whole body.
        const size = () =>
          direct()
            .send(new HeadObjectCommand({ Bucket: bucket, Key: key }))
            .then((h) => h.ContentLength)
            .catch(() => undefined);
        await expect.poll(size, { timeout: 10_000, interval: 50 }).toBeDefined();
        await new Promise((r) => setTimeout(r, 500));
        const kept = await size();
        expect(kept).toBeGreaterThan(0);
        expect(kept).toBeLessThanOrEqual(100_000);
      }
      expect(p.log).toMatchObject([{ key, outcome: 'reset', fault: 'resetMidBody', bytesIn: 100_000 }]);
    },
  );

  it('resets are retried by the SDK when the body can be replayed', async () => {
    const p = await proxy({
      rules: [
        { method: 'PUT', fault: faults.reset(), times: 1 },
        { method: 'PUT', fault: faults.resetMidBody(10_000), times: 1 },
      ],
    });
    const body = randomBytes(200_000);
    await via(p).send(new PutObjectCommand({ Bucket: bucket, Key: 'reset-retried.bin', Body: body }));
    expect((await getBytes(direct(), 'reset-retried.bin')).equals(body)).toBe(true);
    expect(p.log.map((e) => [e.outcome, e.fault])).toEqual([
      ['reset', 'reset'],
      ['reset', 'resetMidBody'],
      ['forwarded', null],
    ]);
  });
});

describe('fault proxy: slow and stalled responses', () => {
  it('a delayed response still arrives whole', async () => {
    const body = randomBytes(50_000);
    await direct().send(new PutObjectCommand({ Bucket: bucket, Key: 'slow.bin', Body: body }));
    const p = await proxy({ rules: [{ method: 'GET', fault: faults.delay(300) }] });
    expect((await getBytes(via(p), 'slow.bin')).equals(body)).toBe(true);
    expect(p.log).toMatchObject([{ status: 200, outcome: 'forwarded', fault: 'delay' }]);
  });

  it('a stalled response ends in a TimeoutError when the client sets a timeout', async () => {
    const p = await proxy({ rules: [{ method: 'GET', fault: faults.stall() }] });
    // requestTimeout alone only logs a warning in this SDK; throwOnRequestTimeout makes it an error.
    const client = via(p, {
      maxAttempts: 1,
      requestHandler: { requestTimeout: 300, throwOnRequestTimeout: true },
    });
    const e = await failure(client.send(new GetObjectCommand({ Bucket: bucket, Key: 'slow.bin' })));
    expect(e.name).toBe('TimeoutError');
    expect(p.log).toMatchObject([{ method: 'GET', status: null, outcome: 'stalled', fault: 'stall' }]);
  });

  it('an idle socket timeout also ends a stalled upload', async () => {
    const p = await proxy({ rules: [{ method: 'PUT', fault: faults.stall() }] });
    const client = via(p, { maxAttempts: 1, requestHandler: { socketTimeout: 300 } });
    const e = await failure(
      client.send(
        new PutObjectCommand({ Bucket: bucket, Key: 'stalled-put.bin', Body: randomBytes(10_000) }),
      ),
    );
    expect(e.name).toBe('TimeoutError');
    expect(p.log).toMatchObject([{ method: 'PUT', outcome: 'stalled', bytesIn: 10_000 }]);
  });

  it('close() ends stalled connections: the waiting client sees a network error', async () => {
    const p = await proxy({ rules: [{ method: 'GET', fault: faults.stall() }] });
    const pending = failure(
      via(p, { maxAttempts: 1 }).send(new GetObjectCommand({ Bucket: bucket, Key: 'x' })),
    );
    await expect.poll(() => p.log.length).toBe(1);
    await p.close();
    const e = await pending;
    expect(['ECONNRESET', 'EPIPE']).toContain(e.code);
  });
});

describe('fault proxy: a bucket that does not allow ACLs', () => {
  it('rejects x-amz-acl and PutBucketAcl with AccessControlListNotSupported, and lets the rest through', async () => {
    const p = await proxy({ rules: [rejectAcls()] });
    const client = via(p, { maxAttempts: 1 });

    const e = await failure(
      client.send(new PutObjectCommand({ Bucket: bucket, Key: 'acl.txt', Body: 'x', ACL: 'public-read' })),
    );
    expect(e.name).toBe('AccessControlListNotSupported');
    expect(e.message).toBe('The bucket does not allow ACLs');
    expect((e.$metadata as { httpStatusCode: number }).httpStatusCode).toBe(400);
    expect(await exists('acl.txt')).toBe(false);

    const e2 = await failure(client.send(new PutBucketAclCommand({ Bucket: bucket, ACL: 'public-read' })));
    expect(e2.name).toBe('AccessControlListNotSupported');

    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'acl.txt', Body: 'no acl' }));
    expect((await getBytes(direct(), 'acl.txt')).toString()).toBe('no acl');

    expect(p.log.map((e) => [e.method, e.status, e.fault])).toEqual([
      ['PUT', 400, 'AccessControlListNotSupported'],
      ['PUT', 400, 'AccessControlListNotSupported'],
      ['PUT', 200, null],
    ]);
  });

  it('lets the canned ACLs it is told to allow through, and ACL reads', async () => {
    const p = await proxy({ rules: [rejectAcls({ allowCanned: ['bucket-owner-full-control'] })] });
    const client = via(p, { maxAttempts: 1 });
    const put = (ACL: 'bucket-owner-full-control' | 'private') =>
      client.send(new PutObjectCommand({ Bucket: bucket, Key: 'owner.txt', Body: 'x', ACL }));
    await put('bucket-owner-full-control');
    await expect(put('private')).rejects.toMatchObject({ name: 'AccessControlListNotSupported' });
    // GET ?acl reads are not refused (s3rver and RGW both answer them).
    await client.send(new GetObjectAclCommand({ Bucket: bucket, Key: 'owner.txt' }));
    expect(p.log.map((e) => e.fault)).toEqual([null, 'AccessControlListNotSupported', null]);
  });

  it('answers with the XML AWS sends', async () => {
    const p = await proxy({ rules: [rejectAcls()] });
    const r = await fetch(`${p.url}/${bucket}/k?acl`, { method: 'PUT', body: '' });
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toBe('application/xml');
    expect(await r.text()).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<Error><Code>AccessControlListNotSupported<\/Code><Message>The bucket does not allow ACLs<\/Message><RequestId>\w+<\/RequestId><HostId>[^<]+<\/HostId><\/Error>$/,
    );
  });
});

describe('fault proxy: an Object Lock bucket', () => {
  it('refuses an upload without a checksum as AWS does, lets one with Content-MD5 through, and logs both MD5s', async () => {
    const p = await proxy({ rules: requireChecksums() });
    const client = via(p, { maxAttempts: 1 });
    const body = Buffer.from('locked bytes\n');
    const md5 = createHash('md5').update(body).digest('base64');

    const e = await failure(
      client.send(new PutObjectCommand({ Bucket: bucket, Key: 'lock.txt', Body: body })),
    );
    expect(e.name).toBe('InvalidRequest');
    expect(e.message).toBe(
      'Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters',
    );
    expect(await exists('lock.txt')).toBe(false);

    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'lock.txt', Body: body, ContentMD5: md5 }));
    expect((await getBytes(direct(), 'lock.txt')).toString()).toBe('locked bytes\n');
    // A part without one is refused in the words AWS uses for parts; reads and bucket requests pass.
    const upload = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'parts.bin' }));
    const part = await failure(
      client.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: 'parts.bin',
          UploadId: upload.UploadId,
          PartNumber: 1,
          Body: body,
        }),
      ),
    );
    expect(part.message).toContain('for Put Part requests with Object Lock parameters');
    await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'lock.txt' }));

    expect(p.log.map((e) => [e.method, e.status, e.fault, e.contentMd5])).toEqual([
      ['PUT', 400, 'ChecksumRequired', undefined],
      ['PUT', 200, null, md5],
      ['POST', 200, null, undefined],
      ['PUT', 400, 'ChecksumRequired', undefined],
      ['GET', 200, null, undefined],
    ]);
    expect(p.log.filter((e) => e.method === 'PUT').map((e) => e.bodyMd5)).toEqual([md5, md5, md5]);
  });
});

describe('fault proxy: choosing requests', () => {
  it('matches by key, header, nth and times', async () => {
    const p = await proxy({
      rules: [
        { name: 'css', method: 'PUT', key: /\.css$/, fault: faults.internalError() },
        { name: 'meta', header: 'X-Amz-Meta-Flag', fault: faults.slowDown() },
        { name: 'second-get', method: 'GET', nth: 2, fault: faults.tooManyRequests() },
      ],
    });
    const client = via(p, { maxAttempts: 1 });
    const put = (Key: string, extra = {}) =>
      client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: 'x', ...extra }));
    await expect(put('a.css')).rejects.toMatchObject({ name: 'InternalError' });
    await put('a.js');
    await expect(put('b.js', { Metadata: { flag: '1' } })).rejects.toMatchObject({ name: 'SlowDown' });
    await getBytes(client, 'a.js');
    await expect(getBytes(client, 'a.js')).rejects.toMatchObject({ name: 'TooManyRequests' });
    await getBytes(client, 'a.js');
    expect(p.log.map((e) => e.fault)).toEqual(['css', null, 'meta', null, 'second-get', null]);
    expect(p.faulted().map((e) => e.key)).toEqual(['a.css', 'b.js', 'a.js']);
  });

  it('probability with a seed picks the same requests every run', async () => {
    const pattern = async () => {
      const p = await proxy({
        seed: 42,
        rules: [{ method: 'HEAD', probability: 0.5, fault: faults.slowDown() }],
      });
      const client = via(p, { maxAttempts: 1 });
      for (let i = 0; i < 20; i++) {
        await client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'a.js' })).catch(() => {});
      }
      return p.log.map((e) => (e.fault ? 'x' : '.')).join('');
    };
    const first = await pattern();
    expect(await pattern()).toBe(first);
    expect(first).toContain('x');
    expect(first).toContain('.');
  });

  it('decide() picks faults in code, before the rules', async () => {
    const p = await proxy({
      decide: (req) => (req.seq === 1 ? faults.slowDown() : undefined),
      rules: [{ method: 'GET', fault: faults.internalError(), nth: 2 }],
    });
    const client = via(p, { maxAttempts: 1 });
    await expect(getBytes(client, 'a.js')).rejects.toMatchObject({ name: 'SlowDown' });
    await getBytes(client, 'a.js');
    await expect(getBytes(client, 'a.js')).rejects.toMatchObject({ name: 'InternalError' });
    expect(p.log.map((e) => e.fault)).toEqual(['SlowDown', null, 'InternalError']);
  });

  it('refuses a target that is not on loopback', async () => {
    await expect(startFaultProxy({ target: 'http://192.0.2.1:9000' })).rejects.toThrow(/loopback/);
  });
});
