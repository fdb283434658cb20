// Gzip keeps whichever body is smaller (src/deploy/send-object.ts), against the real test server: with gzip
// on, a random binary file is stored byte for byte without Content-Encoding and a text file gzipped, at
// every size path (in memory, one part, larger than a part); the bytes at the URL url_for renders decode to
// the file; an unchanged re-deploy sends nothing; the report counts the bytes that were sent; a user's own
// Content-Encoding (a pre-compressed brotli file) is left alone.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { brotliCompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { AppLike } from '../src/app.js';
import { createAll } from '../src/deploy/upload.js';
import { NunjucksS3 } from '../src/template/plugin.js';
import { type FaultProxy, startFaultProxy } from './helpers/fault-proxy.js';
import { freshBucket, s3Backend, testClient } from './helpers/s3.js';
import { removeTemps, s3Settings, tempDir, writeFiles } from './helpers/upload-check.js';

const MiB = 1024 * 1024;
const backend = s3Backend();
const quiet = { warn: () => {} };

const proxies: FaultProxy[] = [];
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});
afterAll(removeTemps);

/** A site whose URLs point at the test server (path style, http), so rendered URLs can be fetched. */
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
      FLASKS3_PUT_BUCKET_ACL: false,
      ...more,
    }),
  };
}

/** What a browser gets at `url`: the raw body, its Content-Encoding, and the body decoded. */
function fetchDecoded(
  url: string,
): Promise<{ status: number; encoding: string | undefined; raw: Buffer; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          const encoding = res.headers['content-encoding'];
          resolve({
            status: res.statusCode ?? 0,
            encoding,
            raw,
            body: encoding === 'gzip' ? gunzipSync(raw) : raw,
          });
        });
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/** The URL url_for renders for a file of the app's static folder. */
function urlFor(app: AppLike, filename: string): string {
  return new NunjucksS3(app).urlFor('static', { filename });
}

async function proxied(): Promise<FaultProxy> {
  const proxy = await startFaultProxy({ target: backend.endpoint });
  proxies.push(proxy);
  return proxy;
}

describe('gzip keeps whichever body is smaller', () => {
  it('small files: random bytes go as they are, text gzipped; URLs decode to the files; a rerun sends nothing', async () => {
    const root = tempDir('gz-smaller');
    const files = {
      'static/blob.bin': randomBytes(40_000),
      'static/tiny.js': 'x()\n', // gzip's 20 bytes of framing make 4 bytes 24
      'static/app.css': 'body { color: red }\n'.repeat(200),
      'static/empty.txt': '',
    };
    writeFiles(root, files);
    const bucket = await freshBucket('gz-small');
    const proxy = await proxied();
    const app = siteApp(root, bucket, proxy.url, { FLASKS3_ONLY_MODIFIED: true });
    const report = await createAll(app, { logger: quiet });
    expect(report.failed).toEqual([]);
    const gzipped = new Set(['static/app.css']);
    for (const [key, content] of Object.entries(files)) {
      const local = Buffer.from(content);
      const res = await fetchDecoded(
        urlFor(siteApp(root, bucket, backend.endpoint), key.slice('static/'.length)),
      );
      expect(res.status, key).toBe(200);
      expect(res.encoding, key).toBe(gzipped.has(key) ? 'gzip' : undefined);
      expect(res.body.equals(local), key).toBe(true);
      if (!gzipped.has(key)) expect(res.raw.equals(local), `${key} stored byte for byte`).toBe(true);
      else expect(res.raw.length).toBeLessThan(local.length);
    }
    expect(report.uploaded.map((e) => [e.key, e.gzip])).toEqual([
      ['static/app.css', true],
      ['static/blob.bin', false],
      ['static/empty.txt', false],
      ['static/tiny.js', false],
    ]);
    // Bytes counted as sent: what went over the wire in the bodies.
    const css = Buffer.from(files['static/app.css']);
    const cssStored = gzipSync(css).length;
    expect(report.bytesSent).toBe(40_000 + 4 + cssStored);
    expect(report.bytesSavedByGzip).toBe(css.length - cssStored);

    proxy.clearLog();
    const again = await createAll(app, { logger: quiet });
    expect(again.uploaded).toEqual([]);
    expect(again.skipped).toHaveLength(4);
    expect(again.bytesSent).toBe(0);
    expect(proxy.log.filter((e) => e.method === 'PUT' && e.key?.startsWith('static/'))).toEqual([]);
  });

  it('large files: judged before they are sent (one part whole, larger ones on their first MiB)', async () => {
    const root = tempDir('gz-large');
    const mid = randomBytes(3 * MiB); // fits one part: the whole file decides
    const big = randomBytes(12 * MiB); // more than a part: its first MiB decides, before anything is sent
    const text = Buffer.from('all work and no play makes a dull deploy\n'.repeat((10 * MiB) / 41));
    writeFiles(root, { 'static/mid.bin': mid, 'static/big.bin': big, 'static/text.txt': text });
    const bucket = await freshBucket('gz-large');
    const proxy = await proxied();
    const report = await createAll(siteApp(root, bucket, proxy.url), { logger: quiet });
    expect(report.failed).toEqual([]);
    for (const [name, local, gzip] of [
      ['mid.bin', mid, false],
      ['big.bin', big, false],
      ['text.txt', text, true],
    ] as const) {
      const res = await fetchDecoded(urlFor(siteApp(root, bucket, backend.endpoint), name));
      expect(res.encoding, name).toBe(gzip ? 'gzip' : undefined);
      expect(res.body.equals(local), name).toBe(true);
    }
    const sentFor = (key: string) =>
      proxy.log.filter((e) => e.key === key && e.method === 'PUT').reduce((n, e) => n + e.bytesIn, 0);
    // The random files went up once, as they are: no gzip output of them was sent first.
    expect(sentFor('static/big.bin')).toBe(big.length);
    expect(sentFor('static/mid.bin')).toBe(mid.length);
    expect(report.bytesSent).toBe(big.length + mid.length + sentFor('static/text.txt'));
    expect(sentFor('static/text.txt')).toBeLessThan(text.length / 10);
  });

  it('a file whose start compresses and whose whole does not: the gzipped upload is abandoned, the file sent as it is', async () => {
    const root = tempDir('gz-abandon');
    // The first MiB holds a run of zeros (gzip shrinks it by about 600 bytes); the 9 MiB of random bytes
    // after it cost gzip's framing about 2 KiB more than that.
    const start = randomBytes(MiB).fill(0, 0, 1024);
    const file = Buffer.concat([start, randomBytes(9 * MiB)]);
    expect(gzipSync(start).length).toBeLessThan(start.length);
    expect(gzipSync(file).length).toBeGreaterThanOrEqual(file.length);
    writeFiles(root, { 'static/odd.bin': file });
    const bucket = await freshBucket('gz-abandon');
    const proxy = await proxied();
    const report = await createAll(siteApp(root, bucket, proxy.url), { logger: quiet });
    expect(report.failed).toEqual([]);
    const head = await testClient().send(new HeadObjectCommand({ Bucket: bucket, Key: 'static/odd.bin' }));
    expect([head.ContentEncoding, head.ContentLength]).toEqual([undefined, file.length]);
    const res = await fetchDecoded(urlFor(siteApp(root, bucket, backend.endpoint), 'odd.bin'));
    expect(res.raw.equals(file)).toBe(true);
    const requests = proxy.log.filter((e) => e.key === 'static/odd.bin');
    // One 8 MiB part of gzip output went up, then the multipart upload was aborted (never completed).
    expect(requests.filter((e) => e.method === 'DELETE')).toHaveLength(1);
    expect(requests.filter((e) => e.method === 'POST' && /uploadId=/.test(e.url))).toEqual([]);
    const sent = requests.filter((e) => e.method === 'PUT').reduce((n, e) => n + e.bytesIn, 0);
    expect(sent).toBe(8 * MiB + file.length);
    expect(report.bytesSent).toBe(sent);
    expect(report.bytesSavedByGzip).toBe(0);
  });

  it("a user's own Content-Encoding (pre-compressed brotli) is sent as it is, whatever gzip says", async () => {
    const root = tempDir('gz-br');
    const js = brotliCompressSync(Buffer.from('console.log("pre-compressed");\n'.repeat(500)));
    writeFiles(root, { 'static/app.js': js });
    const bucket = await freshBucket('gz-br');
    const app = siteApp(root, bucket, backend.endpoint, {
      FLASKS3_FILEPATH_HEADERS: { '\\.js$': { 'Content-Encoding': 'br' } },
    });
    const report = await createAll(app, { logger: quiet });
    expect(report.uploaded.map((e) => [e.key, e.gzip])).toEqual([['static/app.js', false]]);
    const res = await fetchDecoded(urlFor(app, 'app.js'));
    expect(res.encoding).toBe('br');
    expect(res.raw.equals(js)).toBe(true);
  });
});
