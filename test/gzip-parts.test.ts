// Large gzipped files (src/deploy/gzip-parts.ts: the gzip output cut into 8 MiB parts as it comes),
// against the real test server, through the fault proxy where faults are needed: the object gunzips to
// the file byte for byte, output that fits one part goes as one PutObject, a part answered 500 is sent
// again, a part that always fails or an abort aborts the multipart upload and leaves no object and no
// record entry, and the record holds the xxh64 of the file (not of the gzip output).
import { randomBytes } from 'node:crypto';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHasher } from '../src/content/hash.js';
import { createAll } from '../src/deploy/upload.js';
import { type FaultProxy, type FaultRule, faults, startFaultProxy } from './helpers/fault-proxy.js';
import { freshBucket, s3Backend, testClient } from './helpers/s3.js';
import {
  objectBytes,
  readRecordJson,
  rejection,
  removeTemps,
  s3Settings,
  tempDir,
  writeFiles,
} from './helpers/upload-check.js';

const MiB = 1024 * 1024;
const BIG = 'static/big.txt'; // 24 MiB of base64: about 18 MiB gzipped, parts of 8, 8 and about 2 MiB
const TEXT = 'static/text.txt'; // 12 MiB that gzip makes tiny: one part, one PutObject

let root: string;
let big: Buffer;
let text: Buffer;
const proxies: FaultProxy[] = [];

beforeAll(() => {
  root = tempDir('gzip-parts');
  big = Buffer.from(randomBytes(18 * MiB).toString('base64'));
  text = Buffer.from('all work and no play makes a dull deploy\n'.repeat((12 * MiB) / 41));
  writeFiles(root, { [BIG]: big, [TEXT]: text });
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
  return { root, config: s3Settings(bucket, endpoint, { FLASKS3_GZIP: true, FLASKS3_MAX_ATTEMPTS: 4 }) };
}

const quiet = { warn: () => {} };

/** Requests for `key` the proxy saw: `PUT part 2: 200`, `PUT: 200`, `DELETE upload: 204`. */
function requests(proxy: FaultProxy, key: string): string[] {
  return proxy.log
    .filter((e) => e.key === key && (e.method === 'PUT' || e.method === 'DELETE'))
    .map((e) => {
      const part = /[?&]partNumber=(\d+)/.exec(e.url)?.[1];
      const what = part ? ` part ${part}` : /[?&]uploadId=/.test(e.url) ? ' upload' : '';
      return `${e.method}${what}: ${e.status ?? e.outcome}`;
    });
}

describe('large gzipped files', () => {
  it('go up in 8 MiB parts of gzip output, or as one PutObject when it fits: each object gunzips to its file', async () => {
    const bucket = await freshBucket('gz-parts');
    const proxy = await proxied({});
    const report = await createAll(app(bucket, proxy.url), { logger: quiet, putBucketAcl: false });
    expect(report.failed).toEqual([]);
    expect(requests(proxy, BIG).sort()).toEqual(['PUT part 1: 200', 'PUT part 2: 200', 'PUT part 3: 200']);
    expect(requests(proxy, TEXT)).toEqual(['PUT: 200']);
    // objectBytes gunzips what is stored with Content-Encoding: gzip.
    expect((await objectBytes(bucket, BIG))!.equals(big)).toBe(true);
    expect((await objectBytes(bucket, TEXT))!.equals(text)).toBe(true);
    const client = testClient();
    const stored = await Promise.all(
      [BIG, TEXT].map((Key) => client.send(new HeadObjectCommand({ Bucket: bucket, Key }))),
    );
    expect(stored.map((h) => h.ContentEncoding)).toEqual(['gzip', 'gzip']);
    const hasher = await createHasher();
    const record = await readRecordJson(bucket);
    expect(record!.objects[BIG]).toMatchObject({ hash: hasher.hashBytes(big), size: big.length });
    expect(record!.objects[TEXT]).toMatchObject({ hash: hasher.hashBytes(text), size: text.length });
    expect(report.bytesSent).toBe(stored.reduce((n, h) => n + (h.ContentLength ?? 0), 0));
    expect(stored[0]!.ContentLength).toBeGreaterThan(16 * MiB); // three parts: more than two of 8 MiB
    expect(report.uploaded.map((e) => [e.key, e.gzip])).toEqual([
      [BIG, true],
      [TEXT, true],
    ]);
  });

  it('a part answered 500 is sent again: the object is whole', async () => {
    const bucket = await freshBucket('gz-retry');
    const proxy = await proxied({
      rules: [
        {
          method: 'PUT',
          key: BIG,
          match: (r) => r.query.get('partNumber') === '2',
          fault: faults.internalError(),
          times: 1,
        },
      ],
    });
    const report = await createAll(app(bucket, proxy.url), { logger: quiet, putBucketAcl: false });
    expect(report.failed).toEqual([]);
    expect(requests(proxy, BIG).filter((r) => r.startsWith('PUT part 2'))).toEqual([
      'PUT part 2: 500',
      'PUT part 2: 200',
    ]);
    expect((await objectBytes(bucket, BIG))!.equals(big)).toBe(true);
  });

  it('a part that always fails: the multipart upload is aborted, no object, the record does not list it', async () => {
    const bucket = await freshBucket('gz-fail');
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
    expect(err.failures.map((f) => f.key)).toEqual([BIG]);
    expect(requests(proxy, BIG).filter((r) => r.startsWith('DELETE upload'))).toHaveLength(1);
    expect(await objectBytes(bucket, BIG)).toBeUndefined();
    const record = await readRecordJson(bucket);
    expect(Object.keys(record!.objects)).toEqual([TEXT]);
  });

  it('an abort while a part is in flight aborts the multipart upload: no object, not recorded', async () => {
    const bucket = await freshBucket('gz-abort');
    const controller = new AbortController();
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
    expect(requests(proxy, BIG).filter((r) => r.startsWith('DELETE upload'))).toHaveLength(1);
    expect(await objectBytes(bucket, BIG)).toBeUndefined();
    const record = await readRecordJson(bucket);
    expect(Object.keys(record?.objects ?? {})).not.toContain(BIG);
  });
});
