// verify, against the real S3 server of the run: passes after a clean deploy, and names the key and the
// header (or the bytes, or the status) after each way an object can go wrong behind the uploader's back.
// Also through a caching CDN stand-in, and as the `nunjucks-s3 verify` command.
import { gzipSync } from 'node:zlib';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import type { AppLike } from '../src/app.js';
import { createAll } from '../src/deploy/upload.js';
import { verify } from '../src/index.js';
import { startCdnProxy } from './helpers/cdn-proxy.js';
import { faults, startFaultProxy } from './helpers/fault-proxy.js';
import { freshBucket, s3Backend, testClient } from './helpers/s3.js';
import { removeTemps, runCli, s3Env, s3Settings, tempDir, writeFiles } from './helpers/upload-check.js';

const backend = s3Backend();
const client = testClient();
const quiet = { warn: () => {} };
afterAll(() => {
  client.destroy();
  removeTemps();
});

const FILES = {
  'static/css/app.css': 'body { color: red }\n'.repeat(20),
  'static/js/app.js': 'console.log("app");\n',
  'static/img/dot.svg': '<svg xmlns="http://www.w3.org/2000/svg"/>',
};

/** A deployed site whose URLs point at the test server (path style, http). */
async function deployedSite(more: Record<string, unknown> = {}) {
  const root = tempDir('verify');
  writeFiles(root, FILES);
  const bucket = await freshBucket('verify');
  const endpoint = new URL(backend.endpoint);
  const config = s3Settings(bucket, backend.endpoint, {
    FLASKS3_BUCKET_DOMAIN: endpoint.host,
    FLASKS3_URL_STYLE: 'path',
    FLASKS3_USE_HTTPS: false,
    FLASKS3_GZIP: true,
    FLASKS3_GZIP_ONLY_EXTS: ['css'],
    FLASKS3_USE_CACHE_CONTROL: true,
    FLASKS3_CACHE_CONTROL: 'max-age=300',
    ...more,
  });
  const app: AppLike = { root, config };
  await createAll(app, { logger: quiet });
  return { root, bucket, app };
}

const put = (bucket: string, key: string, body: string | Buffer, extra: Record<string, string> = {}) =>
  client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ACL: 'public-read', ...extra }));

describe('verify', () => {
  it('passes after a clean deploy', async () => {
    const { app } = await deployedSite();
    const report = await verify(app);
    expect(report.mismatches).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.files.map((f) => [f.key, f.status])).toEqual([
      ['static/css/app.css', 200],
      ['static/img/dot.svg', 200],
      ['static/js/app.js', 200],
    ]);
  });

  it('names the key and the bytes after an object is overwritten by hand', async () => {
    const { app, bucket } = await deployedSite();
    await put(bucket, 'static/js/app.js', 'alert("changed by hand")', {
      ContentType: 'text/javascript; charset=utf-8',
      CacheControl: 'max-age=300',
    });
    const report = await verify(app);
    expect(report.ok).toBe(false);
    expect(report.mismatches.map((m) => [m.key, m.check])).toEqual([['static/js/app.js', 'bytes']]);
  });

  it('names the key and Content-Type after a wrong Content-Type', async () => {
    const { app, bucket } = await deployedSite();
    await put(bucket, 'static/img/dot.svg', FILES['static/img/dot.svg'], {
      ContentType: 'binary/octet-stream',
      CacheControl: 'max-age=300',
    });
    const report = await verify(app);
    expect(report.mismatches).toEqual([
      expect.objectContaining({
        key: 'static/img/dot.svg',
        check: 'content-type',
        expected: 'image/svg+xml; charset=utf-8',
        actual: 'binary/octet-stream',
      }),
    ]);
  });

  it('names the key and Content-Encoding after it goes missing', async () => {
    const { app, bucket } = await deployedSite();
    await put(bucket, 'static/css/app.css', gzipSync(FILES['static/css/app.css']), {
      ContentType: 'text/css; charset=utf-8',
      CacheControl: 'max-age=300',
    });
    const report = await verify(app);
    const checks = report.mismatches.map((m) => [m.key, m.check]);
    expect(checks).toContainEqual(['static/css/app.css', 'content-encoding']);
    expect(checks).toContainEqual(['static/css/app.css', 'bytes']);
    expect(report.mismatches.find((m) => m.check === 'content-encoding')).toMatchObject({
      expected: 'gzip',
      actual: '(none)',
    });
  });

  it('names the key and the status after an object is deleted', async () => {
    const { app, bucket } = await deployedSite();
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'static/js/app.js' }));
    const report = await verify(app);
    expect(report.mismatches).toHaveLength(1);
    expect(report.mismatches[0]).toMatchObject({ key: 'static/js/app.js', check: 'status', expected: '200' });
    expect(['403', '404']).toContain(report.mismatches[0]!.actual);
  });

  it("checks the SRI value and the immutable copy with fingerprint 'filename'", async () => {
    const { app, bucket } = await deployedSite({
      FLASKS3_FINGERPRINT: 'filename',
      FLASKS3_USE_CACHE_CONTROL: false,
    });
    const clean = await verify(app);
    expect(clean.mismatches).toEqual([]);
    const js = clean.files.find((f) => f.key === 'static/js/app.js')!;
    expect(js.url).toMatch(/\/static\/js\/app\.[0-9a-f]{12}\.js$/);
    await put(bucket, new URL(js.url).pathname.replace(`/${bucket}/`, ''), 'console.log("other");\n', {
      ContentType: 'text/javascript; charset=utf-8',
      CacheControl: 'public, max-age=31536000, immutable',
    });
    const report = await verify(app);
    expect(report.mismatches.map((m) => m.check).sort()).toEqual(['bytes', 'integrity']);
  });

  it('a request that gets no answer in time is a mismatch of its own; the other files are still checked', async () => {
    const { app, bucket } = await deployedSite();
    const proxy = await startFaultProxy({
      target: backend.endpoint,
      rules: [{ method: 'GET', key: 'static/js/app.js', fault: faults.stall() }],
    });
    try {
      const viaProxy = { ...app, config: { ...app.config, FLASKS3_BUCKET_DOMAIN: new URL(proxy.url).host } };
      const report = await verify(viaProxy, { timeoutMs: 500, concurrency: 2 });
      expect(report.mismatches.map((m) => [m.key, m.check])).toEqual([['static/js/app.js', 'fetch']]);
      expect(report.files.filter((f) => f.status === 200)).toHaveLength(2);
      expect(proxy.log.every((e) => e.url.startsWith(`/${bucket}/static/`))).toBe(true);
    } finally {
      await proxy.close();
    }
  });

  it('goes through the CDN domain when one is set, and sees what the CDN serves', async () => {
    const { app, bucket } = await deployedSite();
    const proxy = await startCdnProxy({ bucketUrl: `${backend.endpoint}/${bucket}` });
    try {
      const viaCdn = { ...app, config: { ...app.config, FLASKS3_CDN_DOMAIN: proxy.origin } };
      const report = await verify(viaCdn);
      expect(report.host).toBe(new URL(proxy.origin).host);
      expect(report.ok).toBe(true);
      // The bucket is fixed by hand, the CDN still holds the cached copy: verify reports what visitors get.
      await put(bucket, 'static/js/app.js', 'stale?', { ContentType: 'text/javascript; charset=utf-8' });
      expect((await verify(app)).ok).toBe(false);
      expect((await verify(viaCdn)).ok).toBe(true);
    } finally {
      await proxy.close();
    }
  });
});

describe('nunjucks-s3 verify', () => {
  it('prints a table and exits 1 naming the key and the header; 0 and one line when all match', async () => {
    const { root, bucket, app } = await deployedSite();
    writeFiles(root, { 'nunjucks-s3.config.json': JSON.stringify({ config: app.config }) });
    const ok = await runCli(['verify'], { cwd: root, env: s3Env() });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^verify: all 3 files served by 127\.0\.0\.1:\d+ match\n$/);
    await put(bucket, 'static/img/dot.svg', FILES['static/img/dot.svg'], { ContentType: 'text/plain' });
    const bad = await runCli(['verify'], { cwd: root, env: s3Env() });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(
      /static\/img\/dot\.svg\s+content-type\s+image\/svg\+xml; charset=utf-8\s+text\/plain\n/,
    );
    expect(bad.stdout).toMatch(/static\/img\/dot\.svg\s+cache-control\s+max-age=300\s+\(none\)/);
    const json = await runCli(['verify', '--json'], { cwd: root, env: s3Env() });
    expect(json.code).toBe(1);
    const parsed = JSON.parse(json.stdout) as { ok: boolean; mismatches: { key: string; check: string }[] };
    expect(parsed.ok).toBe(false);
    expect(parsed.mismatches.map((m) => m.check).sort()).toEqual(['cache-control', 'content-type']);
  });
});
