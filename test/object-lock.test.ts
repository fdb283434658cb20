// A bucket with Object Lock default retention refuses every upload without a Content-MD5 or x-amz-checksum-*
// header (src/deploy/object-lock.ts). Neither test server enforces that (Ceph RGW 16.2 takes an Object Lock
// configuration but stores PUTs without a checksum; s3rver has no Object Lock), so the fault proxy refuses
// such uploads with AWS's own error, in front of the real server, and logs each request's Content-MD5 beside
// the MD5 of the body it sent. Ceph RGW checks a Content-MD5 when one is given; s3rver ignores it.
import { randomBytes } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import nunjucks from 'nunjucks';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { contentMd5 } from '../src/content/md5.js';
import { isMissingChecksumRefusal } from '../src/deploy/object-lock.js';
import { createAll } from '../src/deploy/upload.js';
import { UploadError } from '../src/errors.js';
import { NunjucksS3 } from '../src/template/plugin.js';
import {
  carriesChecksum,
  type FaultLogEntry,
  type FaultProxy,
  faults,
  requireChecksums,
  startFaultProxy,
} from './helpers/fault-proxy.js';
import { freshBucket, s3Backend, testClient } from './helpers/s3.js';
import { fetchUrl } from './helpers/trust.js';
import {
  ownStderr,
  removeTemps,
  runCli,
  s3Env,
  s3Settings,
  tempDir,
  writeFiles,
} from './helpers/upload-check.js';

const proxies: FaultProxy[] = [];
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});
afterAll(removeTemps);

const MiB = 1024 * 1024;

async function proxied(rules: Parameters<typeof startFaultProxy>[0]['rules']): Promise<FaultProxy> {
  const proxy = await startFaultProxy({ target: s3Backend().endpoint, rules });
  proxies.push(proxy);
  return proxy;
}

/** Uploads of the site's files (PutObject and UploadPart): not of the deploy's own state objects. */
const siteUploads = (proxy: FaultProxy): FaultLogEntry[] =>
  proxy.log.filter(
    (e) => e.method === 'PUT' && e.key?.startsWith('static/') === true && !e.key.includes('.nunjucks-s3/'),
  );

/**
 * A site that takes every path of src/deploy/send-object.ts: small files gzipped in memory and sent by the
 * direct PUT, a small file as it is, a 3 MiB file streamed, a 17 MiB file as a multipart upload (3 parts), a
 * 3 MiB text gzipped as one PutObject, and 9 MiB of random bytes gzipped into two parts (gzip-parts.ts).
 */
function siteFiles(): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < 6; i++) files[`static/css/c${i}.css`] = Buffer.from(`.c${i} { margin: ${i}px }\n`);
  files['static/img/small.bin'] = randomBytes(4096);
  files['static/data/mid.bin'] = randomBytes(3 * MiB);
  files['static/data/big.bin'] = randomBytes(17 * MiB);
  files['static/data/big.txt'] = Buffer.from('a line of text that gzip makes much smaller\n'.repeat(72_000));
  files['static/data/rand.js'] = randomBytes(9 * MiB);
  return files;
}

/** The settings of the deploy (through `endpoint`) and of the app that renders its URLs (at the server). */
function settings(bucket: string, endpoint: string): Record<string, unknown> {
  return {
    ...s3Settings(bucket, endpoint),
    FLASKS3_PUT_BUCKET_ACL: false,
    FLASKS3_GZIP: true,
    FLASKS3_GZIP_ONLY_EXTS: ['.css', '.txt', '.js'],
    // URLs at the test server itself, so the test can fetch what url_for renders.
    FLASKS3_BUCKET_DOMAIN: new URL(s3Backend().endpoint).host,
    FLASKS3_URL_STYLE: 'path',
    FLASKS3_USE_HTTPS: false,
  };
}

describe('a bucket that refuses uploads without a checksum (Object Lock default retention)', () => {
  it('the CLI turns Content-MD5 on at the first refusal, sends the refused files again, and deploys every file', async () => {
    const bucket = await freshBucket('objlock');
    const proxy = await proxied(requireChecksums());
    const root = tempDir('objlock');
    const files = siteFiles();
    writeFiles(root, {
      ...files,
      'nunjucks-s3.config.json': JSON.stringify({ config: settings(bucket, proxy.url) }),
    });

    const run = await runCli(['upload', '--json'], { cwd: root, env: s3Env() });
    expect(ownStderr(run.stderr)).not.toMatch(/failed/);
    expect(run.code).toBe(0);

    // Said once, in the report and on stderr.
    const report = JSON.parse(run.stdout) as {
      uploaded: { key: string }[];
      failed: unknown[];
      warnings: string[];
    };
    const said = report.warnings.filter((w) => w.includes('Object Lock default retention'));
    expect(said).toHaveLength(1);
    expect(said[0]).toContain('now carries a Content-MD5 header');
    expect(ownStderr(run.stderr).split('Object Lock default retention')).toHaveLength(2);
    expect(report.failed).toEqual([]);
    expect(report.uploaded.map((u) => u.key).sort()).toEqual(Object.keys(files).sort());

    // What the proxy saw: refusals only of uploads without the header; each refused file sent again, once
    // (a multipart upload: once more as a whole); every upload that went through carried the MD5 of its body.
    const uploads = siteUploads(proxy);
    const refused = uploads.filter((e) => e.fault === 'ChecksumRequired');
    expect(refused.length).toBeGreaterThan(0);
    for (const e of refused) expect(e.contentMd5).toBeUndefined();
    // Every PUT that went through, the deploy's own state objects (lease, record) included.
    const stored = proxy.log.filter((e) => e.method === 'PUT' && e.key !== undefined && e.status === 200);
    expect(stored.filter((e) => e.key?.includes('.nunjucks-s3/')).length).toBeGreaterThan(0);
    for (const e of stored) {
      expect(e.contentMd5, `${e.method} ${e.url}`).toBeDefined();
      expect(e.contentMd5, `${e.method} ${e.url}`).toBe(e.bodyMd5);
    }
    // (A refusal may show twice in the log: S3 answers a body announced with Expect: 100-continue at once
    // and closes the connection, and a client that had begun sending the body sees a dropped connection,
    // which is retried as such. What counts is that each file is sent again once, with the header.)
    for (const key of new Set(refused.map((e) => e.key))) {
      const multipartStarts = proxy.log.filter(
        (e) => e.method === 'POST' && e.key === key && /[?&]uploads(=|&|$)/.test(e.url),
      );
      if (multipartStarts.length > 0) expect(multipartStarts.length, key).toBe(2);
      else expect(uploads.filter((e) => e.key === key && e.contentMd5 !== undefined).length, key).toBe(1);
    }
    // Not one upload without the header after the last refusal: the whole deploy switched.
    const lastRefusal = Math.max(...refused.map((e) => e.seq));
    expect(uploads.filter((e) => e.seq > lastRefusal && e.contentMd5 === undefined)).toEqual([]);

    // The bytes at the URLs url_for renders are the files'.
    const env = new nunjucks.Environment();
    new NunjucksS3({ root, config: settings(bucket, proxy.url), env });
    for (const [rel, bytes] of Object.entries(files)) {
      const url = env.renderString(`{{ url_for('static', filename='${rel.slice('static/'.length)}') }}`, {});
      const res = await fetchUrl(url);
      expect(res.status, url).toBe(200);
      expect(res.body.equals(bytes), url).toBe(true);
    }
  }, 120_000);

  it('a file whose refusals came as dropped connections is sent again with the header, once another turned it on', async () => {
    const bucket = await freshBucket('objlock-reset');
    // The 3 MiB file goes first (largest first) and every attempt without a checksum loses its connection,
    // as when a server answers early and closes while the body is being written; the small files get the
    // refusal itself, which turns Content-MD5 on.
    const proxy = await proxied([
      {
        name: 'dropped',
        method: 'PUT',
        key: 'static/data/mid.bin',
        match: (r) => !carriesChecksum(r),
        fault: faults.reset(),
      },
      ...requireChecksums(),
    ]);
    const root = tempDir('objlock-reset');
    const files: Record<string, Buffer> = { 'static/data/mid.bin': randomBytes(3 * MiB) };
    for (let i = 0; i < 4; i++) files[`static/css/c${i}.css`] = Buffer.from(`.c${i} {}\n`);
    writeFiles(root, files);
    const report = await createAll(
      {
        root,
        config: { ...s3Settings(bucket, proxy.url), FLASKS3_PUT_BUCKET_ACL: false, FLASKS3_CONCURRENCY: 2 },
      },
      { logger: { warn: () => {} } },
    );
    expect(report.failed).toEqual([]);
    expect(report.uploaded.map((u) => u.key).sort()).toEqual(Object.keys(files).sort());
    const mid = siteUploads(proxy).filter((e) => e.key === 'static/data/mid.bin');
    expect(mid.filter((e) => e.fault === 'dropped').length).toBeGreaterThan(1);
    expect(mid.filter((e) => e.status === 200).map((e) => e.contentMd5)).toEqual([mid.at(-1)?.bodyMd5]);
  });

  it('a file refused for another reason is not sent again when another file turned checksums on', async () => {
    const bucket = await freshBucket('objlock-denied');
    // The largest file is denied outright (a bucket policy, say): with or without the header, once. Under 2 MiB,
    // so its body is sent from memory in one piece and the refusal always arrives as a 403, never as a dropped
    // connection (which would rightly be sent again with the header).
    const proxy = await proxied([
      {
        name: 'denied',
        method: 'PUT',
        key: 'static/data/mid.bin',
        fault: faults.error(403, 'AccessDenied', 'Access Denied'),
      },
      ...requireChecksums(),
    ]);
    const root = tempDir('objlock-denied');
    const files: Record<string, Buffer> = { 'static/data/mid.bin': randomBytes(1.5 * MiB) };
    for (let i = 0; i < 4; i++) files[`static/css/c${i}.css`] = Buffer.from(`.c${i} {}\n`);
    writeFiles(root, files);
    const err = await createAll(
      {
        root,
        config: {
          ...s3Settings(bucket, proxy.url),
          FLASKS3_PUT_BUCKET_ACL: false,
          FLASKS3_OBJECT_ACL: 'none',
          FLASKS3_CONCURRENCY: 2,
        },
      },
      { logger: { warn: () => {} } },
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UploadError);
    expect((err as UploadError).failures.map((f) => f.key)).toEqual(['static/data/mid.bin']);
    const mid = siteUploads(proxy).filter((e) => e.key === 'static/data/mid.bin');
    expect(mid.length).toBeGreaterThan(0);
    expect(mid.filter((e) => e.contentMd5 !== undefined)).toEqual([]);
  });

  it("a user's own Content-MD5 header is sent with a streamed file while checksums are off", async () => {
    const bucket = await freshBucket('user-md5');
    const proxy = await proxied([]);
    const root = tempDir('user-md5');
    const mid = randomBytes(3 * MiB);
    writeFiles(root, { 'static/data/mid.bin': mid });
    await createAll({
      root,
      config: {
        ...s3Settings(bucket, proxy.url),
        FLASKS3_PUT_BUCKET_ACL: false,
        FLASKS3_FILEPATH_HEADERS: { '\\.bin$': { 'Content-MD5': contentMd5(mid) } },
      },
    });
    const puts = siteUploads(proxy).filter((e) => e.key === 'static/data/mid.bin');
    expect(puts.map((e) => e.contentMd5)).toEqual([contentMd5(mid)]);
  });

  it('a refusal of an upload that carried a Content-MD5 stops the transfer with the reason', async () => {
    const bucket = await freshBucket('objlock-stop');
    // A server that refuses every upload of the site, with or without the header.
    const proxy = await proxied(
      requireChecksums({ key: /^static\// }).map((rule) => ({ ...rule, match: undefined })),
    );
    const root = tempDir('objlock-stop');
    const files: Record<string, string> = {};
    for (let i = 0; i < 20; i++) files[`static/css/c${i}.css`] = `.c${i} { margin: ${i}px }\n`;
    writeFiles(root, files);
    const err = await createAll({
      root,
      config: { ...s3Settings(bucket, proxy.url), FLASKS3_PUT_BUCKET_ACL: false, FLASKS3_CONCURRENCY: 2 },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UploadError);
    expect((err as Error).message).toContain('refused a PUT that carried a Content-MD5 header');
    // The first two in flight without the header, then with it: refused again, and the transfer stops.
    const uploads = siteUploads(proxy);
    expect(uploads.length).toBeLessThanOrEqual(4);
    expect(uploads.filter((e) => e.contentMd5 !== undefined).length).toBeGreaterThan(0);
    const notAttempted = (err as UploadError).failures.filter((f) => f.message.startsWith('not attempted'));
    expect(notAttempted.length).toBeGreaterThanOrEqual(16);
  });

  it("the server refuses a Content-MD5 that is not the body's (Ceph RGW; s3rver does not check)", async () => {
    const bucket = await freshBucket('objlock-md5');
    const client = testClient();
    const body = Buffer.from('the bytes that were meant\n');
    const put = (Key: string, ContentMD5: string) =>
      client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: body, ContentMD5 })).then(
        () => 'stored',
        (e: { name: string }) => e.name,
      );
    expect(await put('right', contentMd5(body))).toBe('stored');
    const wrong = await put('wrong', contentMd5(Buffer.from('other bytes\n')));
    const stored = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'wrong' })).then(
      () => true,
      () => false,
    );
    if (s3Backend().name === 'rgw') {
      expect(wrong).toBe('BadDigest');
      expect(stored).toBe(false);
    } else {
      // s3rver stores it: against s3rver, the proxy's log (above) is what checks the header.
      expect(wrong).toBe('stored');
    }
  });
});

describe('isMissingChecksumRefusal', () => {
  const error = (name: string, message: string) => Object.assign(new Error(message), { name, Code: name });
  it.each([
    [
      'AWS, PutObject',
      error(
        'InvalidRequest',
        'Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters',
      ),
      true,
    ],
    [
      'AWS, UploadPart',
      error(
        'InvalidRequest',
        'Content-MD5 OR x-amz-checksum- HTTP header is required for Put Part requests with Object Lock parameters',
      ),
      true,
    ],
    [
      'AWS, before checksums',
      error(
        'InvalidRequest',
        'Content-MD5 HTTP header is required for Put Object requests with Object Lock parameters',
      ),
      true,
    ],
    ['an emulator', error('MissingUploadObjectWithObjectLockHeaders', 'Content-MD5 required'), true],
    [
      'another InvalidRequest',
      error('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256'),
      false,
    ],
    ['an ACL refusal', error('AccessControlListNotSupported', 'The bucket does not allow ACLs'), false],
    [
      'a wrong MD5',
      error('BadDigest', 'The Content-MD5 you specified did not match what we received.'),
      false,
    ],
  ])('%s', (_label, err, expected) => {
    expect(isMissingChecksumRefusal(err)).toBe(expected);
  });
});
