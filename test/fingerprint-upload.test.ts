// createAll with fingerprinting, the manifest and stale cleanup, against the real S3 server of the run
// (s3rver, or Ceph RGW with S3_BACKEND=rgw): the keys in the bucket, the headers an anonymous GET returns,
// the manifest on disk, templates rendered with it whose URLs fetch the right bytes with the right
// integrity, and cleanup over several deploys keeping exactly the right generations.
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import nunjucks from 'nunjucks';
import { afterAll, describe, expect, it } from 'vitest';
import xxhash from 'xxhash-wasm';
import type { AppLike } from '../src/app.js';
import { IMMUTABLE_CACHE_CONTROL } from '../src/deploy/fingerprint-upload.js';
import { recordKey } from '../src/deploy/record.js';
import { createAll, type UploadReport } from '../src/deploy/upload.js';
import { UploadError } from '../src/errors.js';
import { NunjucksS3 } from '../src/template/plugin.js';
import { type FaultProxy, faults, startFaultProxy } from './helpers/fault-proxy.js';
import { freshBucket, s3Backend, testClient } from './helpers/s3.js';

const backend = s3Backend();
const TEMPLATES = path.resolve(import.meta.dirname, '..', 'templates-test');
const xx = await xxhash();

/** xxh64 hex of bytes, from xxhash-wasm directly: the independent computation. */
function xxh64(bytes: Uint8Array | string): string {
  return xx
    .h64Raw(typeof bytes === 'string' ? Buffer.from(bytes) : bytes)
    .toString(16)
    .padStart(16, '0');
}
const short = (content: Uint8Array | string) => xxh64(content).slice(0, 12);
const sha384 = (bytes: Uint8Array | string) =>
  `sha384-${createHash('sha384').update(bytes).digest('base64')}`;

const FONT = randomBytes(3000);
const FILES: Record<string, string | Buffer> = {
  // Long enough for gzip to make it smaller (gzip is kept only then: send-object.ts).
  'static/css/app.css': `body { background: url(../img/logo.svg); }\n${'.x { color: red; }\n'.repeat(8)}`,
  'static/js/app.js': 'console.log("app");\n',
  'static/img/logo.svg': '<svg xmlns="http://www.w3.org/2000/svg"/>',
  'static/fonts/x.woff2': FONT,
  'admin/static/admin.js': 'console.log("admin");\n',
};

const temps: string[] = [];
const proxies: FaultProxy[] = [];
afterAll(async () => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
  for (const p of proxies) await p.close();
});

function makeSite(files: Record<string, string | Buffer> = FILES): string {
  const root = mkdtempSync(path.join(tmpdir(), 'nunjucks-s3-fpup-'));
  temps.push(root);
  for (const [rel, content] of Object.entries(files)) writeFile(root, rel, content);
  return root;
}

function writeFile(root: string, rel: string, content: string | Buffer) {
  mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  writeFileSync(path.join(root, rel), content);
}

function siteApp(
  root: string,
  bucket: string,
  more: Record<string, unknown> = {},
  endpoint = backend.endpoint,
): AppLike {
  const host = new URL(backend.endpoint).host;
  return {
    root,
    blueprints: [{ name: 'admin', staticFolder: 'admin/static', urlPrefix: '/admin' }],
    config: {
      FLASKS3_BUCKET_NAME: bucket,
      FLASKS3_ENDPOINT_URL: endpoint,
      FLASKS3_REGION: backend.region,
      AWS_ACCESS_KEY_ID: backend.accessKeyId,
      AWS_SECRET_ACCESS_KEY: backend.secretAccessKey,
      // URLs pointing at the test server, so rendered URLs can be fetched.
      FLASKS3_BUCKET_DOMAIN: host,
      FLASKS3_URL_STYLE: 'path',
      FLASKS3_USE_HTTPS: false,
      ...more,
    },
  };
}

function quiet() {
  const warnings: string[] = [];
  return { warnings, logger: { warn: (m: string) => void warnings.push(m) } };
}

/** A key of the deploy's lease or generations (docs/deploy-state.md): every deploy writes them. */
const isLeaseOrGeneration = (key: string | undefined) => /(^|\/)\.nunjucks-s3\/(lease|gen)\//.test(key ?? '');

/** Every key in the bucket but the lease's and the generations'. */
async function bucketKeys(bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let marker: string | undefined;
  for (;;) {
    const page = await testClient().send(new ListObjectsCommand({ Bucket: bucket, Marker: marker }));
    const contents = page.Contents ?? [];
    keys.push(...contents.map((o) => o.Key!).filter((k) => !isLeaseOrGeneration(k)));
    if (!page.IsTruncated || contents.length === 0) return keys.sort();
    marker = contents.at(-1)!.Key;
  }
}

interface Fetched {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** What a browser sees: gunzipped when Content-Encoding is gzip. */
  body: Buffer;
}

function get(url: string): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          const body = res.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        });
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

const objectUrl = (bucket: string, key: string) =>
  `${backend.endpoint}/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;

function readManifest(root: string, name = 'nunjucks-s3-manifest.json') {
  return JSON.parse(readFileSync(path.join(root, name), 'utf8'));
}

async function readRecord(bucket: string, prefix = '') {
  const out = await testClient().send(new GetObjectCommand({ Bucket: bucket, Key: recordKey(prefix) }));
  return JSON.parse(await out.Body!.transformToString()) as {
    objects: Record<string, { hash: string }>;
    deploys: { id: string; at: string; keys: string[] }[];
  };
}

/** The fingerprinted key of a file of FILES-like content. */
function hashedKey(key: string, content: string | Buffer): string {
  const slash = key.lastIndexOf('/');
  const dot = key.lastIndexOf('.');
  return dot > slash + 1
    ? `${key.slice(0, dot)}.${short(content)}${key.slice(dot)}`
    : `${key}.${short(content)}`;
}

const PLAIN_KEYS = [
  'admin/static/admin.js',
  'static/css/app.css',
  'static/fonts/x.woff2',
  'static/img/logo.svg',
  'static/js/app.js',
];
const contentOf = (key: string) => FILES[key]!;

describe("fingerprint 'filename': a deploy", async () => {
  const bucket = await freshBucket('fp');
  const root = makeSite();
  const { logger } = quiet();
  const report = await createAll(siteApp(root, bucket, { fingerprint: 'filename', gzip: true }), { logger });
  const hashed = PLAIN_KEYS.map((k) => hashedKey(k, contentOf(k)));

  it('uploads every file under its own key and its fingerprinted key', async () => {
    expect(report.failed).toEqual([]);
    expect(report.uploaded.map((e) => e.key).sort()).toEqual([...PLAIN_KEYS, ...hashed].sort());
    expect(await bucketKeys(bucket)).toEqual([...PLAIN_KEYS, ...hashed, recordKey('')].sort());
  });

  it('serves fingerprinted objects immutable, with the right type and bytes; own keys keep their headers', async () => {
    for (const key of PLAIN_KEYS) {
      const own = await get(objectUrl(bucket, key));
      const fp = await get(objectUrl(bucket, hashedKey(key, contentOf(key))));
      expect(fp.status).toBe(200);
      expect(fp.body.equals(Buffer.from(contentOf(key)))).toBe(true);
      expect(fp.headers['cache-control']).toBe(IMMUTABLE_CACHE_CONTROL);
      expect(fp.headers['content-type']).toBe(own.headers['content-type']);
      expect(fp.headers['content-encoding']).toBe(own.headers['content-encoding']);
      expect(own.headers['cache-control']).toBeUndefined();
      expect(own.body.equals(Buffer.from(contentOf(key)))).toBe(true);
    }
    const css = await get(
      objectUrl(bucket, hashedKey('static/css/app.css', contentOf('static/css/app.css'))),
    );
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(css.headers['content-encoding']).toBe('gzip');
  });

  it('writes the manifest: per endpoint and path, the fingerprinted path, hash, integrity and size', () => {
    const m = readManifest(root);
    expect(m).toMatchObject({
      format: 'nunjucks-s3/manifest',
      version: 1,
      fingerprint: 'filename',
      bucket,
      prefix: '',
    });
    const expected = (rel: string, key: string) => ({
      path: hashedKey(rel, contentOf(key)),
      hash: xxh64(contentOf(key)),
      integrity: sha384(contentOf(key)),
      size: Buffer.byteLength(contentOf(key)),
      mtimeMs: expect.any(Number),
    });
    expect(m.assets).toEqual({
      static: {
        'css/app.css': expected('css/app.css', 'static/css/app.css'),
        'fonts/x.woff2': expected('fonts/x.woff2', 'static/fonts/x.woff2'),
        'img/logo.svg': expected('img/logo.svg', 'static/img/logo.svg'),
        'js/app.js': expected('js/app.js', 'static/js/app.js'),
      },
      'admin.static': { 'admin.js': expected('admin.js', 'admin/static/admin.js') },
    });
    expect(readdirSync(root).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('records the deploy with its fingerprinted keys', async () => {
    const record = await readRecord(bucket);
    expect(record.deploys).toHaveLength(1);
    expect(record.deploys[0]!.keys).toEqual([...hashed].sort());
    for (const key of PLAIN_KEYS) {
      expect(record.objects[key]?.hash).toBe(xxh64(contentOf(key)));
      expect(record.objects[hashedKey(key, contentOf(key))]?.hash).toBe(xxh64(contentOf(key)));
    }
  });

  it('renders templates whose URLs fetch the uploaded bytes, with integrity matching the served bytes', async () => {
    const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(TEMPLATES), { autoescape: true });
    // A file on disk changed after the deploy: strict mode refuses the manifest's name (it serves the old
    // bytes) rather than render it; test/edges-stale-names.test.ts covers the rest.
    const jsFile = path.join(root, 'static/js/app.js');
    renameSync(jsFile, `${jsFile}.deployed`);
    writeFile(root, 'static/js/app.js', 'console.log("edited after deploy");\n');
    new NunjucksS3({ ...siteApp(root, bucket, { fingerprint: 'filename', fingerprintStrict: true }), env });
    expect(() => env.render('sri.html')).toThrow(
      /changed since the upload that wrote the fingerprint manifest/,
    );
    // The deployed file back, timestamps and all (the next test compares the manifest a rerun writes).
    renameSync(`${jsFile}.deployed`, jsFile);
    new NunjucksS3({ ...siteApp(root, bucket, { fingerprint: 'filename', fingerprintStrict: true }), env });
    const html = env.render('sri.html');
    const tags = [...html.matchAll(/(?:href|src)="([^"]+)" integrity="([^"]+)"/g)];
    expect(tags).toHaveLength(3);
    for (const [, url, integrity] of tags) {
      expect(url).toMatch(/\.[0-9a-f]{12}\.(css|js)$/);
      const res = await get(url!);
      expect(res.status).toBe(200);
      expect(sha384(res.body)).toBe(integrity);
    }
  });

  it('an unchanged rerun with onlyModified uploads nothing and keeps the manifest', async () => {
    const before = readFileSync(path.join(root, 'nunjucks-s3-manifest.json'), 'utf8');
    const again = await createAll(
      siteApp(root, bucket, { fingerprint: 'filename', gzip: true, onlyModified: true }),
      {
        logger,
      },
    );
    expect(again.uploaded).toEqual([]);
    expect(again.skipped).toHaveLength(PLAIN_KEYS.length * 2);
    const after = readManifest(root);
    expect(after.assets).toEqual(JSON.parse(before).assets);
    // The same fingerprinted keys: the same generation, not another deploy in the history.
    expect((await readRecord(bucket)).deploys).toHaveLength(1);
  });
});

describe('fingerprint headers', () => {
  it("a user's Cache-Control wins over immutable (cacheControl, filepathHeaders)", async () => {
    const bucket = await freshBucket('fp-cc');
    const root = makeSite();
    await createAll(
      siteApp(root, bucket, {
        fingerprint: 'filename',
        FLASKS3_FILEPATH_HEADERS: { '\\.css$': { 'Cache-Control': 'no-cache' } },
      }),
      { logger: quiet().logger },
    );
    const css = await get(
      objectUrl(bucket, hashedKey('static/css/app.css', contentOf('static/css/app.css'))),
    );
    const js = await get(objectUrl(bucket, hashedKey('static/js/app.js', contentOf('static/js/app.js'))));
    expect(css.headers['cache-control']).toBe('no-cache');
    expect(js.headers['cache-control']).toBe(IMMUTABLE_CACHE_CONTROL);

    const bucket2 = await freshBucket('fp-cc2');
    await createAll(
      siteApp(root, bucket2, { fingerprint: 'filename', useCacheControl: true, cacheControl: 'max-age=60' }),
      { logger: quiet().logger },
    );
    const js2 = await get(objectUrl(bucket2, hashedKey('static/js/app.js', contentOf('static/js/app.js'))));
    expect(js2.headers['cache-control']).toBe('max-age=60');
  });

  it("'query' uploads the own keys only, with the user's headers, and writes a 'query' manifest", async () => {
    const bucket = await freshBucket('fp-q');
    const root = makeSite();
    const report = await createAll(siteApp(root, bucket, { fingerprint: 'query' }), {
      logger: quiet().logger,
    });
    expect(report.uploaded.map((e) => e.key).sort()).toEqual(PLAIN_KEYS);
    expect((await get(objectUrl(bucket, 'static/css/app.css'))).headers['cache-control']).toBeUndefined();
    const m = readManifest(root);
    expect(m.fingerprint).toBe('query');
    expect(m.assets.static['css/app.css']).toEqual({
      path: 'css/app.css',
      hash: xxh64(contentOf('static/css/app.css')),
      integrity: sha384(contentOf('static/css/app.css')),
      size: Buffer.byteLength(contentOf('static/css/app.css')),
      mtimeMs: expect.any(Number),
    });
    const s3 = new NunjucksS3(siteApp(root, bucket, { fingerprint: 'query' }));
    const url = s3.urlFor('static', { filename: 'css/app.css' });
    expect(url).toBe(
      `${backend.endpoint}/${bucket}/static/css/app.css?v=${short(contentOf('static/css/app.css'))}`,
    );
    expect((await get(url)).status).toBe(200);
  });

  it('writes no manifest in a dry run, nor without fingerprinting, nor after a failed upload', async () => {
    const bucket = await freshBucket('fp-none');
    const root = makeSite();
    const dry = await createAll(siteApp(root, bucket, { fingerprint: 'filename' }), {
      logger: quiet().logger,
      dryRun: true,
    });
    expect(dry.uploaded).toHaveLength(PLAIN_KEYS.length * 2);
    expect(existsSync(path.join(root, 'nunjucks-s3-manifest.json'))).toBe(false);
    expect(await bucketKeys(bucket)).toEqual([]);

    await createAll(siteApp(root, bucket), { logger: quiet().logger });
    expect(existsSync(path.join(root, 'nunjucks-s3-manifest.json'))).toBe(false);

    const proxy = await startFaultProxy({
      target: backend.endpoint,
      rules: [
        { method: 'PUT', key: /admin\.js$/, fault: faults.error(403, 'AccessDenied', 'Access Denied') },
      ],
    });
    proxies.push(proxy);
    const err = await createAll(siteApp(root, bucket, { fingerprint: 'filename' }, proxy.url), {
      logger: quiet().logger,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(UploadError);
    expect(existsSync(path.join(root, 'nunjucks-s3-manifest.json'))).toBe(false);
    expect((await readRecord(bucket)).deploys).toEqual([]); // no fingerprinted deploy succeeded
  });

  it('a manifest that cannot be written rejects the deploy with an UploadError naming it (uploads kept)', async () => {
    const bucket = await freshBucket('fp-mfail');
    const root = makeSite();
    const err = (await createAll(
      siteApp(root, bucket, { fingerprint: 'filename', manifestPath: 'static/css/app.css/manifest.json' }),
      { logger: quiet().logger },
    ).catch((e: unknown) => e)) as UploadError;
    expect(err).toBeInstanceOf(UploadError);
    expect(err.code).toBe('UPLOAD_FINISH_FAILED');
    expect(err.failures).toHaveLength(1);
    expect(err.failures[0]!.key).toBe(path.join(root, 'static/css/app.css/manifest.json'));
    expect(err.failures[0]!.message).toMatch(
      /^could not write the fingerprint manifest \(manifestPath \/ FLASKS3_MANIFEST\): (ENOTDIR|EEXIST); everything was uploaded/,
    );
    expect(await bucketKeys(bucket)).toHaveLength(PLAIN_KEYS.length * 2 + 1);
  });

  it('writes the manifest at manifestPath (relative to root), creating folders; a filtered run merges into it', async () => {
    const bucket = await freshBucket('fp-mp');
    const root = makeSite();
    const settings = { fingerprint: 'filename', manifestPath: 'build/assets/manifest.json' };
    await createAll(siteApp(root, bucket, settings), { logger: quiet().logger });
    const first = readManifest(root, 'build/assets/manifest.json');
    writeFile(root, 'static/css/app.css', 'body { color: blue; }\n');
    writeFile(root, 'static/js/app.js', 'console.log("v2");\n');
    await createAll(siteApp(root, bucket, { ...settings, filepathFilterRegex: '^css/' }), {
      logger: quiet().logger,
    });
    const merged = readManifest(root, 'build/assets/manifest.json');
    expect(merged.assets.static['css/app.css'].path).toBe(`css/app.${short('body { color: blue; }\n')}.css`);
    // Not in the filtered run: kept from the previous manifest (js/app.js's new version was not uploaded).
    expect(merged.assets.static['js/app.js']).toEqual(first.assets.static['js/app.js']);
    expect(merged.assets['admin.static']).toEqual(first.assets['admin.static']);
  });
});

describe('stale cleanup (deleteStale)', () => {
  /** Deploy `files` to `bucket` (replacing the site's static files) with these settings. */
  async function deploy(
    root: string,
    bucket: string,
    files: Record<string, string>,
    more: Record<string, unknown> = {},
    options: { dryRun?: boolean } = {},
  ): Promise<{ report: UploadReport; warnings: string[] }> {
    rmSync(path.join(root, 'static'), { recursive: true, force: true });
    for (const [rel, content] of Object.entries(files)) writeFile(root, rel, content);
    const { logger, warnings: all } = quiet();
    const report = await createAll(
      siteApp(root, bucket, { fingerprint: 'filename', deleteStale: true, keepDeploys: 1, ...more }),
      { logger, ...options },
    );
    return { report, warnings: all.filter((w) => w.startsWith('deleteStale')) };
  }
  const css = (v: string) => `body { --v: ${v}; }`;
  const fp = (key: string, content: string) => hashedKey(key, content);

  it('keeps exactly the current deploy and the fingerprinted files of the previous keepDeploys deploys', async () => {
    const bucket = await freshBucket('stale-gen');
    const root = makeSite({ 'admin/static/admin.js': 'admin' });
    // Objects that are not the app's: other prefixes, a look-alike prefix, a hidden file.
    const client = testClient();
    for (const Key of ['other/x.css', 'staticfiles/y.css', 'static/.well-known/z']) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: 'not ours' }));
    }

    const d1 = await deploy(root, bucket, { 'static/app.css': css('1'), 'static/gone.js': 'gone' });
    expect(d1.report.deleted).toEqual([]);

    const d2 = await deploy(root, bucket, { 'static/app.css': css('2') });
    // gone.js's own key goes at once; its fingerprinted key, and app.css v1's, are kept (deploy 1 is the previous one).
    expect(d2.report.deleted).toEqual(['static/gone.js']);

    const d3 = await deploy(root, bucket, { 'static/app.css': css('3') });
    expect(d3.report.deleted).toEqual([fp('static/app.css', css('1')), fp('static/gone.js', 'gone')].sort());

    expect(await bucketKeys(bucket)).toEqual(
      [
        '.nunjucks-s3/record.json',
        'admin/static/admin.js',
        fp('admin/static/admin.js', 'admin'),
        'other/x.css',
        'static/.well-known/z',
        'static/app.css',
        fp('static/app.css', css('2')),
        fp('static/app.css', css('3')),
        'staticfiles/y.css',
      ].sort(),
    );
    const record = await readRecord(bucket);
    expect(record.deploys.map((d) => d.keys)).toEqual([
      [fp('admin/static/admin.js', 'admin'), fp('static/app.css', css('2'))],
      [fp('admin/static/admin.js', 'admin'), fp('static/app.css', css('3'))],
    ]);
    for (const key of d3.report.deleted) expect(record.objects[key]).toBeUndefined();

    // keepDeploys 0: only this deploy's keys stay.
    const d4 = await deploy(root, bucket, { 'static/app.css': css('3') }, { keepDeploys: 0 });
    expect(d4.report.deleted).toEqual([fp('static/app.css', css('2'))]);
  });

  it('rerunning an unchanged deploy (or its dry run) keeps the same generations', async () => {
    const bucket = await freshBucket('stale-rerun');
    const root = makeSite({ 'admin/static/admin.js': 'admin' });
    await deploy(root, bucket, { 'static/app.css': css('1') });
    await deploy(root, bucket, { 'static/app.css': css('2') });
    const keys = await bucketKeys(bucket);
    expect(keys).toContain(fp('static/app.css', css('1')));
    const dry = await deploy(root, bucket, { 'static/app.css': css('2') }, {}, { dryRun: true });
    expect(dry.report.deleted).toEqual([]);
    for (const onlyModified of [false, true]) {
      const again = await deploy(root, bucket, { 'static/app.css': css('2') }, { onlyModified });
      expect(again.report.deleted).toEqual([]);
    }
    expect(await bucketKeys(bucket)).toEqual(keys);
    expect((await readRecord(bucket)).deploys).toHaveLength(2);
  });

  it('a deleted file that comes back is uploaded again with onlyModified (the record forgot it)', async () => {
    const bucket = await freshBucket('stale-back');
    const root = makeSite({ 'admin/static/admin.js': 'admin' });
    await deploy(root, bucket, { 'static/a.css': 'a', 'static/b.css': 'b' }, { onlyModified: true });
    const gone = await deploy(root, bucket, { 'static/a.css': 'a' }, { onlyModified: true, keepDeploys: 0 });
    expect(gone.report.deleted).toEqual(['static/b.css', fp('static/b.css', 'b')].sort());
    const back = await deploy(
      root,
      bucket,
      { 'static/a.css': 'a', 'static/b.css': 'b' },
      { onlyModified: true },
    );
    expect(back.report.uploaded.map((e) => [e.key, e.reason])).toEqual([
      [fp('static/b.css', 'b'), 'new'],
      ['static/b.css', 'new'],
    ]);
    expect((await get(objectUrl(bucket, 'static/b.css'))).status).toBe(200);
  });

  it('the maxDeletes guard refuses and explains, deleting nothing; the deploy itself succeeds', async () => {
    const bucket = await freshBucket('stale-guard');
    const root = makeSite({ 'admin/static/admin.js': 'admin' });
    await deploy(root, bucket, { 'static/a.css': 'a', 'static/b.css': 'b', 'static/c.css': 'c' });
    const before = await bucketKeys(bucket);
    const { report, warnings } = await deploy(root, bucket, { 'static/a.css': 'a' }, { maxDeletes: 1 });
    expect(report.deleted).toEqual([]);
    expect(await bucketKeys(bucket)).toEqual(before);
    expect(warnings).toEqual([
      expect.stringContaining(
        'deleteStale / FLASKS3_DELETE_STALE: 2 objects under ' +
          `s3://${bucket}/admin/static/, s3://${bucket}/static/ are not part of this deploy, more than ` +
          'maxDeletes / FLASKS3_MAX_DELETES allows (1); deleted nothing. If they really are stale, raise ' +
          'maxDeletes / FLASKS3_MAX_DELETES to at least 2 (--max-deletes 2)',
      ),
    ]);
    expect(warnings[0]).toContain('Stale: static/b.css, static/c.css');
  });

  it('a dry run lists what would be deleted and changes nothing', async () => {
    const bucket = await freshBucket('stale-dry');
    const root = makeSite({ 'admin/static/admin.js': 'admin' });
    await deploy(root, bucket, { 'static/a.css': 'a', 'static/b.css': 'b' }, { keepDeploys: 0 });
    const keys = await bucketKeys(bucket);
    const record = await readRecord(bucket);
    const manifest = readFileSync(path.join(root, 'nunjucks-s3-manifest.json'), 'utf8');
    const dry = await deploy(root, bucket, { 'static/a.css': 'a2' }, { keepDeploys: 0 }, { dryRun: true });
    expect(dry.report.dryRun).toBe(true);
    expect(dry.report.deleted).toEqual(
      [fp('static/a.css', 'a'), 'static/b.css', fp('static/b.css', 'b')].sort(),
    );
    expect(await bucketKeys(bucket)).toEqual(keys);
    expect(await readRecord(bucket)).toEqual(record);
    expect(readFileSync(path.join(root, 'nunjucks-s3-manifest.json'), 'utf8')).toBe(manifest);
  });

  it('is skipped, with a warning, on a filtered run and after a failed upload', async () => {
    const bucket = await freshBucket('stale-skip');
    const root = makeSite({ 'admin/static/admin.js': 'admin' });
    await deploy(root, bucket, { 'static/a.css': 'a', 'static/b.js': 'b' });
    const keys = await bucketKeys(bucket);
    const filtered = await deploy(root, bucket, { 'static/a.css': 'a' }, { filepathFilterRegex: '\\.css$' });
    expect(filtered.report.deleted).toEqual([]);
    expect(filtered.warnings).toEqual([
      expect.stringContaining('deleteStale / FLASKS3_DELETE_STALE: skipped'),
    ]);

    const proxy = await startFaultProxy({
      target: backend.endpoint,
      rules: [
        { method: 'PUT', key: /admin\.js$/, fault: faults.error(403, 'AccessDenied', 'Access Denied') },
      ],
    });
    proxies.push(proxy);
    rmSync(path.join(root, 'static/b.js'), { force: true });
    const err = await createAll(
      siteApp(root, bucket, { fingerprint: 'filename', deleteStale: true, keepDeploys: 0 }, proxy.url),
      { logger: quiet().logger },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UploadError);
    expect((err as UploadError & { report: UploadReport }).report.deleted).toEqual([]);
    // Only the deploy state's own objects (its in-flight marker) may be deleted.
    const deletions = proxy.log.filter((r) => r.method === 'POST' || r.method === 'DELETE');
    expect(deletions.filter((r) => !r.key?.includes('.nunjucks-s3/'))).toEqual([]);
    expect(await bucketKeys(bucket)).toEqual(keys);
  });

  it('falls back to one DeleteObject per key where DeleteObjects is not implemented', async () => {
    const bucket = await freshBucket('stale-single');
    const root = makeSite({ 'admin/static/admin.js': 'admin' });
    await deploy(root, bucket, { 'static/a.css': 'a', 'static/b.css': 'b' });
    const proxy = await startFaultProxy({
      target: backend.endpoint,
      rules: [
        { method: 'POST', query: 'delete', fault: faults.error(501, 'NotImplemented', 'no multi-delete') },
      ],
    });
    proxies.push(proxy);
    rmSync(path.join(root, 'static/b.css'));
    const report = await createAll(
      siteApp(root, bucket, { fingerprint: 'filename', deleteStale: true, keepDeploys: 0 }, proxy.url),
      { logger: quiet().logger },
    );
    expect(report.deleted).toEqual(['static/b.css', fp('static/b.css', 'b')].sort());
    expect(
      proxy.log
        .filter((r) => r.method === 'DELETE' && !r.key?.includes('.nunjucks-s3/'))
        .map((r) => r.key)
        .sort(),
    ).toEqual(report.deleted);
    expect(await bucketKeys(bucket)).not.toContain('static/b.css');
  });

  it('a refused deletion rejects with an UploadError naming the keys, after the upload succeeded', async () => {
    const bucket = await freshBucket('stale-denied');
    const root = makeSite({ 'admin/static/admin.js': 'admin' });
    await deploy(root, bucket, { 'static/a.css': 'a', 'static/b.css': 'b' });
    const proxy = await startFaultProxy({
      target: backend.endpoint,
      rules: [{ method: 'POST', query: 'delete', fault: faults.error(403, 'AccessDenied', 'Access Denied') }],
    });
    proxies.push(proxy);
    rmSync(path.join(root, 'static/b.css'));
    const err = (await createAll(
      siteApp(root, bucket, { fingerprint: 'filename', deleteStale: true, keepDeploys: 0 }, proxy.url),
      { logger: quiet().logger },
    ).catch((e: unknown) => e)) as UploadError;
    expect(err).toBeInstanceOf(UploadError);
    expect(err.code).toBe('UPLOAD_FINISH_FAILED');
    expect(err.message).toContain(
      `every file was uploaded to s3://${bucket}/, but steps after the upload failed`,
    );
    expect(err.failures.map((f) => f.key).sort()).toEqual(['static/b.css', fp('static/b.css', 'b')].sort());
    expect(err.failures[0]!.message).toMatch(/^not deleted: AccessDenied \(HTTP 403\)/);
    expect(existsSync(path.join(root, 'nunjucks-s3-manifest.json'))).toBe(true);
    unlinkSync(path.join(root, 'nunjucks-s3-manifest.json'));
  });
});
