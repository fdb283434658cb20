// fingerprint 'filename' sends each file's bytes once (src/deploy/fingerprint-copy.ts), against the real
// test server, through the fault proxy, which sees every request: the fingerprinted keys are made by
// server-side copies, after their own key's PUT, with the headers a PUT would give them (Content-Type,
// immutable Cache-Control, Content-Encoding where gzip paid, metadata, a public-read ACL an anonymous GET
// honours); the bytes at the URLs url_for renders are the files'; the bytes sent are those of the own keys
// only (and of objects under MIN_COPY_BYTES, sent again rather than copied); own keys skipped as unchanged are copied from under their confirmed claim's ETag; and a server
// that refuses copies (501, 412, 403) still gets a correct deploy, by PUT.
import { randomBytes } from 'node:crypto';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { AppLike } from '../src/app.js';
import { MIN_COPY_BYTES } from '../src/deploy/fingerprint-copy.js';
import { IMMUTABLE_CACHE_CONTROL } from '../src/deploy/fingerprint-upload.js';
import { createAll, type UploadReport } from '../src/deploy/upload.js';
import { NunjucksS3 } from '../src/template/plugin.js';
import { type FaultProxy, type FaultRequest, faults, startFaultProxy } from './helpers/fault-proxy.js';
import { freshBucket, s3Backend, testClient } from './helpers/s3.js';
import { fetchUrl } from './helpers/trust.js';
import { readRecordJson, removeTemps, s3Settings, tempDir, writeFiles } from './helpers/upload-check.js';

const MiB = 1024 * 1024;
const backend = s3Backend();

const FILES: Record<string, string | Buffer> = {
  'static/css/app.css': randomBytes(60_000).toString('base64'), // gzip pays: about 60 KB stored
  'static/js/tiny.js': 'x()\n', // gzip does not; under MIN_COPY_BYTES: sent again, not copied
  'static/img/noise.bin': randomBytes(50_000), // gzip does not pay
  'static/media/big.bin': randomBytes(18 * MiB), // a multipart upload, copied whole
};
const NAMES = Object.keys(FILES).map((k) => k.slice('static/'.length));
const GZIPPED = new Set(['static/css/app.css']);
/** The files whose fingerprinted key is a copy: every one stored with MIN_COPY_BYTES or more. */
const COPIED = ['static/css/app.css', 'static/img/noise.bin', 'static/media/big.bin'];
const TINY = 'static/js/tiny.js';

const proxies: FaultProxy[] = [];
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});
afterAll(removeTemps);

/** A copy request, as the proxy saw it (what `decide` records: the log keeps no headers). */
interface SeenCopy {
  key: string;
  source: string;
  ifMatch: string | undefined;
  /** The status of the own key's PUT when the copy arrived (undefined: still in flight, or none). */
  sourcePutStatus: number | null | undefined;
}

async function proxied(fault?: (req: FaultRequest) => ReturnType<typeof faults.error> | undefined) {
  const copies: SeenCopy[] = [];
  const proxy: FaultProxy = await startFaultProxy({
    target: backend.endpoint,
    decide: (req) => {
      const source = req.headers['x-amz-copy-source'];
      if (req.method === 'PUT' && typeof source === 'string' && req.key) {
        const own = decodeURIComponent(source).split('/').slice(1).join('/');
        const put = proxy.log.find((e) => e.method === 'PUT' && e.key === own && e.seq < req.seq);
        copies.push({
          key: req.key,
          source: own,
          ifMatch: req.headers['x-amz-copy-source-if-match'] as string | undefined,
          sourcePutStatus: put?.status,
        });
        return fault?.(req);
      }
      return undefined;
    },
  });
  proxies.push(proxy);
  return { proxy, copies };
}

function siteApp(
  root: string,
  bucket: string,
  endpoint: string,
  more: Record<string, unknown> = {},
): AppLike {
  return {
    root,
    config: s3Settings(bucket, endpoint, {
      FLASKS3_BUCKET_DOMAIN: new URL(backend.endpoint).host,
      FLASKS3_URL_STYLE: 'path',
      FLASKS3_USE_HTTPS: false,
      FLASKS3_GZIP: true,
      FLASKS3_FINGERPRINT: 'filename',
      FLASKS3_HEADERS: { 'x-amz-meta-owner': 'web team', 'Content-Language': 'en' },
      FLASKS3_OBJECT_ACL: 'public-read',
      FLASKS3_PUT_BUCKET_ACL: false,
      ...more,
    }),
  };
}

/** The fingerprinted key of each file, from the manifest the deploy wrote (through url_for). */
function renderedUrls(app: AppLike): Map<string, string> {
  const s3 = new NunjucksS3(app);
  return new Map(NAMES.map((name) => [`static/${name}`, s3.urlFor('static', { filename: name })]));
}

const keyOf = (url: string, bucket: string) =>
  decodeURIComponent(new URL(url).pathname.slice(`/${bucket}/`.length));

const HEADERS = ['ContentType', 'ContentEncoding', 'ContentLanguage', 'Metadata'] as const;

/** Check the deploy: each fingerprinted URL serves the file with the headers a PUT would have given it. */
async function expectServedLikePuts(root: string, bucket: string): Promise<string[]> {
  const app = siteApp(root, bucket, backend.endpoint);
  const client = testClient();
  const fingerprinted: string[] = [];
  for (const [own, url] of renderedUrls(app)) {
    const key = keyOf(url, bucket);
    expect(key, own).not.toBe(own);
    fingerprinted.push(key);
    const res = await fetchUrl(url);
    expect(res.status, url).toBe(200);
    expect(res.body.equals(Buffer.from(FILES[own]!)), url).toBe(true);
    expect(res.headers['cache-control'], url).toBe(IMMUTABLE_CACHE_CONTROL);
    expect(res.headers['content-encoding'], url).toBe(GZIPPED.has(own) ? 'gzip' : undefined);
    const [copy, put] = await Promise.all(
      [key, own].map((Key) => client.send(new HeadObjectCommand({ Bucket: bucket, Key }))),
    );
    for (const h of HEADERS) expect(copy![h], `${key} ${h}`).toEqual(put![h]);
    expect(copy!.Metadata).toEqual({ owner: 'web team' });
    expect(copy!.ContentLength, key).toBe(put!.ContentLength);
    expect(put!.CacheControl, own).toBeUndefined();
  }
  return fingerprinted.sort();
}

/** Body bytes the proxy passed on for PUTs of `keys`. */
const bytesFor = (proxy: FaultProxy, keys: readonly string[]) =>
  proxy.log
    .filter((e) => e.method === 'PUT' && keys.includes(e.key ?? ''))
    .reduce((n, e) => n + e.bytesIn, 0);

describe("fingerprint 'filename': each file's bytes are sent once", () => {
  it('copies each fingerprinted key from its own key, after its PUT, with the headers a PUT gives', async () => {
    const root = tempDir('fp-copy');
    writeFiles(root, FILES);
    const bucket = await freshBucket('fp-copy');
    const { proxy, copies } = await proxied();
    const report = await createAll(siteApp(root, bucket, proxy.url), { logger: { warn: () => {} } });
    expect(report.failed).toEqual([]);
    const fingerprinted = await expectServedLikePuts(root, bucket);
    expect(copies.map((c) => c.source).sort()).toEqual(COPIED);
    expect(copies.map((c) => c.key).sort()).toEqual(fingerprinted.filter((k) => !k.startsWith('static/js/')));
    expect(Buffer.byteLength(FILES[TINY]!)).toBeLessThan(MIN_COPY_BYTES);
    for (const c of copies) {
      expect(c.sourcePutStatus, `${c.key} copied after its own key's PUT answered`).toBe(200);
      // Ceph RGW 16.2 answers CompleteMultipartUpload with no ETag: nothing to guard that copy with.
      if (backend.name === 'rgw' && c.source === 'static/media/big.bin') expect(c.ifMatch).toBeUndefined();
      else expect(c.ifMatch, c.key).toMatch(/^"[^"]+"$/);
    }
    // No fingerprinted key but the tiny one's was PUT: the bytes went up once, for the own keys.
    const own = Object.keys(FILES);
    expect(bytesFor(proxy, fingerprinted)).toBe(Buffer.byteLength(FILES[TINY]!));
    expect(report.bytesSent).toBe(bytesFor(proxy, own) + Buffer.byteLength(FILES[TINY]!));
    expect(report.bytesSent).toBeLessThan(bytesFor(proxy, own) * 1.01);
    // The record claims for the copies what the final listing showed (it ran, and passed).
    const record = await readRecordJson(bucket);
    for (const key of fingerprinted) expect(record!.objects[key]).toBeDefined();
  });

  it('copies from own keys skipped as unchanged, under their confirmed claim; a rerun sends nothing', async () => {
    const root = tempDir('fp-copy-skip');
    writeFiles(root, FILES);
    const bucket = await freshBucket('fp-copy-skip');
    const { proxy, copies } = await proxied();
    // First without fingerprinting: the own keys only.
    await createAll(
      siteApp(root, bucket, proxy.url, { FLASKS3_FINGERPRINT: false, FLASKS3_ONLY_MODIFIED: true }),
      {
        logger: { warn: () => {} },
      },
    );
    const claims = (await readRecordJson(bucket))!.objects as Record<string, { etag?: string }>;
    proxy.clearLog();
    const report = await createAll(siteApp(root, bucket, proxy.url, { FLASKS3_ONLY_MODIFIED: true }), {
      logger: { warn: () => {} },
    });
    expect(report.failed).toEqual([]);
    expect(report.skipped.map((e) => e.key).sort()).toEqual(Object.keys(FILES).sort());
    const fingerprinted = await expectServedLikePuts(root, bucket);
    // Copied under the claim's ETag (the files stored at their own size were asked for their
    // Content-Encoding first: a claim cannot tell them from a gzipped body of that size).
    expect(copies.map((c) => c.source).sort()).toEqual(COPIED);
    for (const c of copies) expect(c.ifMatch).toBe(`"${claims[c.source]!.etag}"`);
    expect(report.bytesSent).toBe(Buffer.byteLength(FILES[TINY]!));
    expect(bytesFor(proxy, fingerprinted)).toBe(report.bytesSent);

    proxy.clearLog();
    const again = await createAll(siteApp(root, bucket, proxy.url, { FLASKS3_ONLY_MODIFIED: true }), {
      logger: { warn: () => {} },
    });
    expect([again.uploaded, again.bytesSent]).toEqual([[], 0]);
  });

  it.each([
    [
      'CopyObject not implemented (501)',
      faults.error(
        501,
        'NotImplemented',
        'A header you provided implies functionality that is not implemented',
      ),
      1,
    ],
    [
      'the copy condition failing (412)',
      faults.error(
        412,
        'PreconditionFailed',
        'At least one of the pre-conditions you specified did not hold',
      ),
      3,
    ],
    ['copies denied (403)', faults.error(403, 'AccessDenied', 'Access Denied'), 1],
  ])('%s: the fingerprinted keys are uploaded by PUT, the deploy succeeds', async (_name, fault, tried) => {
    const root = tempDir('fp-copy-refused');
    writeFiles(root, FILES);
    const bucket = await freshBucket('fp-copy-no');
    const { proxy, copies } = await proxied(() => fault);
    const info: string[] = [];
    const report: UploadReport = await createAll(
      siteApp(root, bucket, proxy.url, { FLASKS3_CONCURRENCY: 1 }),
      {
        logger: { warn: () => {}, info: (m) => void info.push(m) },
      },
    );
    expect(report.failed).toEqual([]);
    const fingerprinted = await expectServedLikePuts(root, bucket);
    // A refusal every copy would meet is met once; a failed condition concerns one source only.
    expect(copies).toHaveLength(tried);
    expect(info.filter((m) => m.includes('server-side copy'))).toHaveLength(tried === 1 ? 1 : 0);
    expect(bytesFor(proxy, fingerprinted)).toBeGreaterThan(18 * MiB);
  });
});
