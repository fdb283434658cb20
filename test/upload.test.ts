// createAll against the real S3 server of the run (s3rver, or Ceph RGW with S3_BACKEND=rgw): what a user
// would check after a deploy. The object list, each object's bytes (gunzipped when gzipped) against the
// local file, the headers an anonymous GET returns, the upload record after reruns and changes.
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  GetObjectAclCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import type { AppLike } from '../src/app.js';
import { contentHash } from '../src/content/hash.js';
import { recordKey } from '../src/deploy/record.js';
import { createAll, type ProgressEvent, type UploadReport } from '../src/deploy/upload.js';
import { ConfigError, UploadError } from '../src/errors.js';
import {
  type FaultProxy,
  type FaultRule,
  faults,
  rejectAcls,
  startFaultProxy,
} from './helpers/fault-proxy.js';
import { freshBucket, s3Backend, testClient, uniqueBucket } from './helpers/s3.js';

const backend = s3Backend();
const FIXTURE = path.resolve(import.meta.dirname, 'fixtures/site');
const MiB = 1024 * 1024;

/** The fixture's files that are uploaded by default, by key. */
const FIXTURE_KEYS = [
  'admin/static/css/admin.css',
  'admin/static/js/admin.js',
  'static/css/app.css',
  'static/data/LICENSE',
  'static/data/model.xyz123',
  'static/data/notes.txt',
  'static/data/read me ü.txt',
  'static/data/site.json',
  'static/fonts/OFL.txt',
  'static/fonts/inter-latin-400-normal.woff2',
  'static/img/favicon.png',
  'static/img/logo.svg',
  'static/js/app.js',
];

const temps: string[] = [];
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

function tempDir(label: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `nunjucks-s3-${label}-`));
  temps.push(dir);
  return dir;
}

/** A copy of the fixture site that a test may change. */
function fixtureCopy(): string {
  const root = tempDir('site');
  cpSync(FIXTURE, root, { recursive: true });
  return root;
}

/** Settings that point at the test server. */
function s3Settings(bucket: string, more: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    FLASKS3_BUCKET_NAME: bucket,
    FLASKS3_ENDPOINT_URL: backend.endpoint,
    FLASKS3_REGION: backend.region,
    AWS_ACCESS_KEY_ID: backend.accessKeyId,
    AWS_SECRET_ACCESS_KEY: backend.secretAccessKey,
    ...more,
  };
}

function siteApp(root: string, bucket: string, more: Record<string, unknown> = {}): AppLike {
  return {
    root,
    blueprints: [{ name: 'admin', staticFolder: 'admin/static', urlPrefix: '/admin' }],
    config: s3Settings(bucket, more),
  };
}

/** Warnings go here instead of the test output. */
function quietLogger() {
  const warnings: string[] = [];
  return { warnings, logger: { warn: (m: string) => void warnings.push(m) } };
}

/** A client for the test server that records the name of every command sent through it. */
function countingClient(): { client: S3Client; calls: string[]; inputs: Record<string, unknown>[] } {
  const client = testClient();
  const calls: string[] = [];
  const inputs: Record<string, unknown>[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      calls.push(context.commandName ?? '?');
      inputs.push(args.input as Record<string, unknown>);
      return next(args);
    },
    { step: 'initialize', name: 'countCommands' },
  );
  return { client, calls, inputs };
}

/** A key of the deploy state's lease or generations (docs/deploy-state.md), which every deploy writes. */
const LEASE_OR_GENERATION = /(^|\/)\.nunjucks-s3\/(lease|gen)\//;

/** Every key in the bucket but the lease's and the generations'. */
async function listKeys(bucket: string): Promise<string[]> {
  const client = testClient();
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const o of page.Contents ?? []) if (!LEASE_OR_GENERATION.test(o.Key!)) keys.push(o.Key!);
    token = page.NextContinuationToken;
  } while (token);
  return keys.sort();
}

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The body as stored (not decompressed). */
  raw: Buffer;
  /** The body a browser sees (gunzipped when Content-Encoding is gzip). */
  body: Buffer;
}

/** GET an object without credentials, as a browser would (path style). */
function anonymousGet(bucket: string, key: string): Promise<RawResponse> {
  const url = `${backend.endpoint}/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          const body = res.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
          resolve({ status: res.statusCode ?? 0, headers: res.headers, raw, body });
        });
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

async function readRecordJson(
  bucket: string,
  prefix = '',
): Promise<{
  objects: Record<string, { hash: string; settings: string; size: number; etag?: string }>;
  settings: Record<string, Record<string, unknown>>;
}> {
  const out = await testClient().send(new GetObjectCommand({ Bucket: bucket, Key: recordKey(prefix) }));
  return JSON.parse(await out.Body!.transformToString());
}

/** Whether anonymous users may read the object per its ACL (RGW enforces ACLs; s3rver stores none). */
async function expectPublicAcl(bucket: string, key: string, expected: boolean) {
  if (backend.name !== 'rgw') return; // s3rver neither stores nor enforces ACLs
  const acl = await testClient().send(new GetObjectAclCommand({ Bucket: bucket, Key: key }));
  const publicRead = (acl.Grants ?? []).some(
    (g) => g.Grantee?.URI?.endsWith('/global/AllUsers') && g.Permission === 'READ',
  );
  expect(publicRead, `public-read grant on ${key}`).toBe(expected);
  expect((await anonymousGet(bucket, key)).status).toBe(expected ? 200 : 403);
}

/** The bucket ACL warning s3rver causes (it answers PutBucketAcl with 501 Not Implemented). */
function expectedWarnings(): unknown[] {
  return backend.name === 's3rver'
    ? [
        expect.stringMatching(
          /bucket ACL public-read was not set: NotImplemented \(HTTP 501\)[\s\S]*"s3:GetObject"/,
        ),
      ]
    : [];
}

describe('createAll: a first deploy of the fixture site', async () => {
  const bucket = await freshBucket('up');
  const { logger, warnings } = quietLogger();
  const events: ProgressEvent[] = [];
  const report = await createAll(siteApp(FIXTURE, bucket), { logger, onProgress: (e) => events.push(e) });

  it('uploads every visible file of the app and its blueprint, under the url_for paths, plus the record', async () => {
    expect(await listKeys(bucket)).toEqual([...FIXTURE_KEYS, '.nunjucks-s3/record.json'].sort());
  });

  it('stores each object byte for byte, readable anonymously', async () => {
    for (const key of FIXTURE_KEYS) {
      const local = readFileSync(path.join(FIXTURE, key));
      const res = await anonymousGet(bucket, key);
      expect(res.status, key).toBe(200);
      expect(res.headers['content-encoding'], key).toBeUndefined();
      expect(res.raw.equals(local), key).toBe(true);
    }
  });

  it.each([
    ['static/css/app.css', 'text/css; charset=utf-8'],
    ['static/js/app.js', 'text/javascript; charset=utf-8'],
    ['static/img/logo.svg', 'image/svg+xml; charset=utf-8'],
    ['static/img/favicon.png', 'image/png'],
    ['static/fonts/inter-latin-400-normal.woff2', 'font/woff2'],
    ['static/data/site.json', 'application/json; charset=utf-8'],
    ['static/data/notes.txt', 'text/plain; charset=utf-8'],
    ['static/data/model.xyz123', 'application/octet-stream'],
    ['static/data/LICENSE', 'application/octet-stream'],
    ['admin/static/css/admin.css', 'text/css; charset=utf-8'],
  ])('serves %s as %s', async (key, type) => {
    expect((await anonymousGet(bucket, key)).headers['content-type']).toBe(type);
  });

  it('sets the public-read object ACL (checked where the server keeps ACLs)', async () => {
    await expectPublicAcl(bucket, 'static/css/app.css', true);
  });

  it('keeps the record private', async () => {
    if (backend.name !== 'rgw') return; // s3rver serves everything anonymously
    expect((await anonymousGet(bucket, recordKey(''))).status).toBe(403);
  });

  it('reports what it did', () => {
    const sizes = FIXTURE_KEYS.map((k) => readFileSync(path.join(FIXTURE, k)).length);
    expect(report.bucket).toBe(bucket);
    expect(report.prefix).toBe('');
    expect(report.dryRun).toBe(false);
    expect(report.uploaded.map((e) => e.key)).toEqual(FIXTURE_KEYS);
    expect(report.uploaded.every((e) => e.reason === 'not-recorded' && e.gzip === false)).toBe(true);
    expect(report.uploaded.find((e) => e.key === 'static/css/app.css')).toEqual({
      key: 'static/css/app.css',
      file: path.join(FIXTURE, 'static/css/app.css'),
      size: readFileSync(path.join(FIXTURE, 'static/css/app.css')).length,
      contentType: 'text/css; charset=utf-8',
      gzip: false,
      reason: 'not-recorded',
    });
    expect(report.skipped).toEqual([]);
    expect(report.failed).toEqual([]);
    expect(report.deleted).toEqual([]);
    expect(report.bytesSent).toBe(sizes.reduce((a, b) => a + b, 0));
    expect(report.bytesSavedByGzip).toBe(0);
    expect(report.durationMs).toBeGreaterThanOrEqual(0);
    expect(report.warnings).toEqual(expectedWarnings());
    expect(warnings).toEqual(report.warnings);
  });

  it('reports progress: start, one event per file, end', () => {
    expect(events[0]).toEqual({
      type: 'start',
      totalFiles: FIXTURE_KEYS.length,
      totalBytes: report.bytesSent,
    });
    const files = events.filter((e) => e.type === 'file');
    expect(files).toHaveLength(FIXTURE_KEYS.length);
    expect(files.every((e) => e.type === 'file' && e.ok)).toBe(true);
    expect(files.at(-1)).toMatchObject({ doneFiles: FIXTURE_KEYS.length, doneBytes: report.bytesSent });
    expect(events.at(-1)).toEqual({ type: 'end' });
  });

  it('records every object with its content hash', async () => {
    const record = await readRecordJson(bucket);
    expect(Object.keys(record.objects).sort()).toEqual(FIXTURE_KEYS);
    const css = record.objects['static/css/app.css']!;
    expect(css.hash).toBe(await contentHash(readFileSync(path.join(FIXTURE, 'static/css/app.css'))));
    expect(record.settings[css.settings]).toMatchObject({
      ContentType: 'text/css; charset=utf-8',
      gzip: false,
      ACL: 'public-read',
    });
  });
});

describe('createAll: headers', () => {
  it('gzips text (deterministically), not images or fonts; bodies gunzip to the local files', async () => {
    const bucket = await freshBucket('gz');
    const { logger } = quietLogger();
    const r1 = await createAll(siteApp(FIXTURE, bucket, { FLASKS3_GZIP: true, FLASKS3_PREFIX: 'one' }), {
      logger,
    });
    await createAll(siteApp(FIXTURE, bucket, { FLASKS3_GZIP: true, FLASKS3_PREFIX: 'two' }), { logger });
    const notGzipped = ['static/fonts/inter-latin-400-normal.woff2', 'static/img/favicon.png'];
    // Gzip is kept only where it makes the file smaller: the fixture's tiny files go as they are.
    const gzipPays = (key: string) => {
      const local = readFileSync(path.join(FIXTURE, key));
      return gzipSync(local).length < local.length;
    };
    const gzipped = FIXTURE_KEYS.filter((k) => !notGzipped.includes(k) && gzipPays(k));
    expect(gzipped).toContain('static/css/app.css');
    expect(gzipped).not.toContain('admin/static/js/admin.js'); // 91 bytes, 101 gzipped
    for (const key of FIXTURE_KEYS) {
      const local = readFileSync(path.join(FIXTURE, key));
      const one = await anonymousGet(bucket, `one/${key}`);
      const two = await anonymousGet(bucket, `two/${key}`);
      expect(one.headers['content-encoding'], key).toBe(gzipped.includes(key) ? 'gzip' : undefined);
      expect(one.body.equals(local), key).toBe(true);
      expect(one.raw.equals(two.raw), `${key}: same gzip bytes on every run`).toBe(true);
      if (one.headers['content-encoding'] === 'gzip') {
        expect(one.raw.readUInt32LE(4), `${key}: gzip mtime`).toBe(0);
        expect(one.raw[9], `${key}: gzip OS byte`).toBe(3);
      }
    }
    expect((await anonymousGet(bucket, 'one/static/css/app.css')).headers['content-type']).toBe(
      'text/css; charset=utf-8',
    );
    expect(r1.uploaded.filter((e) => e.gzip).map((e) => e.key)).toEqual(gzipped.map((k) => `one/${k}`));
    expect(r1.bytesSavedByGzip).toBe(r1.uploaded.reduce((n, e) => n + e.size, 0) - r1.bytesSent);
    expect(r1.bytesSavedByGzip).toBeGreaterThan(0);
  });

  it('GZIP_ONLY_EXTS gzips only the listed extensions, in any case, with or without the dot', async () => {
    const bucket = await freshBucket('gzx');
    const { logger } = quietLogger();
    const report = await createAll(
      siteApp(FIXTURE, bucket, { FLASKS3_GZIP: true, FLASKS3_GZIP_ONLY_EXTS: ['CSS', '.js', 'png'] }),
      { logger },
    );
    const gzipped = report.uploaded.filter((e) => e.gzip).map((e) => e.key);
    // admin.js and favicon.png are listed too, but gzip makes them larger: they go as they are.
    expect(gzipped).toEqual(['admin/static/css/admin.css', 'static/css/app.css', 'static/js/app.js']);
    for (const key of FIXTURE_KEYS) {
      const res = await anonymousGet(bucket, key);
      expect(res.headers['content-encoding'], key).toBe(gzipped.includes(key) ? 'gzip' : undefined);
      expect(res.body.equals(readFileSync(path.join(FIXTURE, key))), key).toBe(true);
    }
  });

  it('applies FLASKS3_HEADERS, then FILEPATH_HEADERS in order, then Cache-Control; other headers become metadata', async () => {
    const bucket = await freshBucket('hdr');
    const { logger } = quietLogger();
    await createAll(
      siteApp(FIXTURE, bucket, {
        FLASKS3_HEADERS: { 'Cache-Control': 'max-age=60', 'X-Team': 'web', 'Content-Language': 'en' },
        FLASKS3_FILEPATH_HEADERS: {
          '\\.txt$': { 'Texted-Up-By': 'Mister Foo', 'cache-control': 'max-age=5' },
          '^data/notes': { 'CACHE-CONTROL': 'no-cache' },
          '\\.json$': { 'Content-Disposition': 'attachment; filename="site.json"' },
          '\\.xyz123$': { 'content-type': 'application/x-xyz' },
        },
      }),
      { logger },
    );
    const h = async (key: string) => (await anonymousGet(bucket, key)).headers;
    const css = await h('static/css/app.css');
    expect(css['cache-control']).toBe('max-age=60');
    expect(css['content-language']).toBe('en');
    expect(css['x-amz-meta-x-team']).toBe('web');
    expect(css['x-amz-meta-texted-up-by']).toBeUndefined();
    const ofl = await h('static/fonts/OFL.txt');
    expect(ofl['cache-control']).toBe('max-age=5');
    expect(ofl['x-amz-meta-texted-up-by']).toBe('Mister Foo');
    expect(ofl['x-amz-meta-x-team']).toBe('web');
    expect((await h('static/data/notes.txt'))['cache-control']).toBe('no-cache');
    expect((await h('static/data/site.json'))['content-disposition']).toBe(
      'attachment; filename="site.json"',
    );
    expect((await h('static/data/model.xyz123'))['content-type']).toBe('application/x-xyz');

    // FLASKS3_CACHE_CONTROL with USE_CACHE_CONTROL wins over both.
    await createAll(
      siteApp(FIXTURE, bucket, {
        FLASKS3_HEADERS: { 'Cache-Control': 'max-age=60' },
        FLASKS3_FILEPATH_HEADERS: { '\\.txt$': { 'Cache-Control': 'max-age=5' } },
        FLASKS3_CACHE_CONTROL: 'public, max-age=86400',
        FLASKS3_USE_CACHE_CONTROL: true,
      }),
      { logger },
    );
    expect((await h('static/fonts/OFL.txt'))['cache-control']).toBe('public, max-age=86400');
    expect((await h('static/css/app.css'))['cache-control']).toBe('public, max-age=86400');
  });
});

describe('createAll: which files', () => {
  it('uploads hidden files and folders only with includeHidden', async () => {
    const bucket = await freshBucket('hid');
    const { logger } = quietLogger();
    const report = await createAll(siteApp(FIXTURE, bucket), {
      logger,
      includeHidden: true,
      putBucketAcl: false,
    });
    const hidden = ['static/.cache/state.txt', 'static/.env', 'static/.well-known/security.txt'];
    expect(report.uploaded.map((e) => e.key)).toEqual([...FIXTURE_KEYS, ...hidden].sort());
    expect((await anonymousGet(bucket, 'static/.well-known/security.txt')).body.toString()).toContain(
      'security@example.com',
    );
  });

  it('uploads only what filepathFilterRegex matches (search semantics, relative to each static folder)', async () => {
    const bucket = await freshBucket('flt');
    const { logger } = quietLogger();
    const report = await createAll(siteApp(FIXTURE, bucket), {
      logger,
      filepathFilterRegex: '^css',
      putBucketAcl: false,
    });
    expect(report.uploaded.map((e) => e.key)).toEqual(['admin/static/css/admin.css', 'static/css/app.css']);
    expect(await listKeys(bucket)).toEqual([
      '.nunjucks-s3/record.json',
      'admin/static/css/admin.css',
      'static/css/app.css',
    ]);
  });

  it('puts files under prefix + each folder URL path, including custom blueprint paths', async () => {
    const bucket = await freshBucket('pfx');
    const { logger } = quietLogger();
    const app: AppLike = {
      root: FIXTURE,
      staticUrlPath: '/assets',
      blueprints: [
        { name: 'admin', staticFolder: 'admin/static', urlPrefix: '/back/office', staticUrlPath: '/s' },
      ],
      config: s3Settings(bucket, { FLASKS3_PREFIX: '/Site/v2/', FLASKS3_FILEPATH_FILTER_REGEX: '\\.css$' }),
    };
    await createAll(app, { logger, putBucketAcl: false });
    expect(await listKeys(bucket)).toEqual([
      'Site/v2/.nunjucks-s3/record.json',
      'Site/v2/assets/css/app.css',
      'Site/v2/back/office/s/css/admin.css',
    ]);
  });
});

describe('createAll: the upload record (onlyModified)', () => {
  it('an unchanged re-deploy writes only its lease and generation, and skips everything', async () => {
    const bucket = await freshBucket('rec');
    const { logger } = quietLogger();
    const app = siteApp(FIXTURE, bucket, { FLASKS3_ONLY_MODIFIED: true });
    await createAll(app, { logger });
    const { client, calls, inputs } = countingClient();
    const report = await createAll(app, { logger, client });
    expect(calls[0]).toBe('GetObjectCommand');
    // Every object written or deleted: keys of PUTs and DELETEs, and of DeleteObjects batches.
    const touched = inputs
      .filter((_, i) => /^(Put|Delete|CreateMultipart|Copy)Object/.test(calls[i]!))
      .flatMap(
        (w) => (w.Delete as { Objects: { Key: string }[] } | undefined)?.Objects.map((o) => o.Key) ?? [w.Key],
      );
    expect(touched.length).toBeGreaterThan(0);
    expect(touched.filter((k) => !LEASE_OR_GENERATION.test(String(k)))).toEqual([]);
    // The static folders are listed once, under the lease, to confirm the claims; having sent nothing, the
    // deploy has nothing for a second listing to check.
    const staticListings = inputs
      .filter((_, i) => calls[i] === 'ListObjectsCommand')
      .map((l) => String(l.Prefix))
      .filter((p) => !p.includes('.nunjucks-s3/'));
    expect(staticListings.length).toBeGreaterThan(0);
    expect(staticListings).toEqual([...new Set(staticListings)]);
    expect(report.uploaded).toEqual([]);
    expect(report.skipped.map((e) => e.key)).toEqual(FIXTURE_KEYS);
    expect(report.skipped.every((e) => e.reason === 'unchanged')).toBe(true);
    expect(report.bytesSent).toBe(0);
  });

  it('a version 1 record (claims without ETags) is confirmed against the bucket: only what differs goes up', async () => {
    const bucket = await freshBucket('rec');
    const { logger } = quietLogger();
    const app = siteApp(FIXTURE, bucket, { FLASKS3_ONLY_MODIFIED: true });
    await createAll(app, { logger });
    // The record as the previous release wrote it: version 1, claims of hash, settings and local size only.
    const current = await readRecordJson(bucket);
    const objects = Object.fromEntries(
      Object.entries(current.objects).map(([k, o]) => [
        k,
        { hash: o.hash, settings: o.settings, size: o.size },
      ]),
    );
    const old = { ...current, version: 1, objects };
    const client = testClient();
    await client.send(
      new PutObjectCommand({ Bucket: bucket, Key: recordKey(''), Body: JSON.stringify(old) }),
    );
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'static/css/app.css', Body: 'by hand' }));

    const report = await createAll(app, { logger });
    expect(report.uploaded.map((e) => [e.key, e.reason])).toEqual([['static/css/app.css', 'not-in-bucket']]);
    expect(report.skipped).toHaveLength(FIXTURE_KEYS.length - 1);
    expect((await anonymousGet(bucket, 'static/css/app.css')).body).toEqual(
      readFileSync(path.join(FIXTURE, 'static/css/app.css')),
    );
    // Upgraded: every claim now carries the ETag and size the bucket shows.
    const upgraded = await readRecordJson(bucket);
    expect(upgraded).toMatchObject({ version: 2 });
    for (const o of Object.values(upgraded.objects)) expect(o).toMatchObject({ etag: expect.any(String) });
  });

  it('with trustRecord an unchanged re-deploy lists no static folder and writes only the deploy state', async () => {
    const bucket = await freshBucket('rec');
    const { logger } = quietLogger();
    const app = siteApp(FIXTURE, bucket, { FLASKS3_ONLY_MODIFIED: true, FLASKS3_TRUST_RECORD: true });
    await createAll(app, { logger });
    const { client, calls, inputs } = countingClient();
    const report = await createAll(app, { logger, client });
    expect(calls[0]).toBe('GetObjectCommand');
    // Every listing is of the state folder (lease, generations, markers): the record is trusted alone.
    const listed = inputs.filter((_, i) => calls[i] === 'ListObjectsCommand').map((l) => String(l.Prefix));
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.filter((p) => !p.includes('.nunjucks-s3/'))).toEqual([]);
    // Every object written or deleted is the deploy's own state.
    const touched = inputs
      .filter((_, i) => /^(Put|Delete|CreateMultipart|Copy)Object/.test(calls[i]!))
      .map((w) => String(w.Key));
    expect(touched.filter((k) => !k.includes('.nunjucks-s3/'))).toEqual([]);
    expect(report.skipped.map((e) => e.key)).toEqual(FIXTURE_KEYS);
  });

  it('re-uploads a changed file, then everything when Cache-Control changes; a filtered run keeps the record whole', async () => {
    const root = fixtureCopy();
    const bucket = await freshBucket('rec');
    const { logger } = quietLogger();
    const settings = { FLASKS3_ONLY_MODIFIED: true, FLASKS3_PUT_BUCKET_ACL: false };
    await createAll(siteApp(root, bucket, settings), { logger });

    // Content change: only that file goes up.
    appendFileSync(path.join(root, 'static/css/app.css'), '\n.new { color: blue; }\n');
    const changed = await createAll(siteApp(root, bucket, settings), { logger });
    expect(changed.uploaded.map((e) => [e.key, e.reason])).toEqual([['static/css/app.css', 'changed']]);
    expect(changed.skipped).toHaveLength(FIXTURE_KEYS.length - 1);
    expect((await anonymousGet(bucket, 'static/css/app.css')).body.toString()).toContain(
      '.new { color: blue; }',
    );

    // A filtered run with a changed file and a new file outside the filter: the record keeps every key.
    appendFileSync(path.join(root, 'static/css/app.css'), '.newer {}\n');
    writeFileSync(path.join(root, 'static/js/new.js'), 'export const fresh = 1;\n');
    const filtered = await createAll(
      siteApp(root, bucket, { ...settings, FLASKS3_FILEPATH_FILTER_REGEX: '^css' }),
      { logger },
    );
    expect(filtered.uploaded.map((e) => [e.key, e.reason])).toEqual([['static/css/app.css', 'changed']]);
    let record = await readRecordJson(bucket);
    expect(Object.keys(record.objects).sort()).toEqual(FIXTURE_KEYS);
    expect(record.objects['static/css/app.css']!.hash).toBe(
      await contentHash(readFileSync(path.join(root, 'static/css/app.css'))),
    );

    // The unfiltered run picks up the new file only.
    const next = await createAll(siteApp(root, bucket, settings), { logger });
    expect(next.uploaded.map((e) => [e.key, e.reason])).toEqual([['static/js/new.js', 'new']]);

    // Changing Cache-Control re-uploads every object with the new header.
    const cc = { ...settings, FLASKS3_CACHE_CONTROL: 'max-age=300', FLASKS3_USE_CACHE_CONTROL: true };
    const recached = await createAll(siteApp(root, bucket, cc), { logger });
    expect(recached.uploaded).toHaveLength(FIXTURE_KEYS.length + 1);
    expect(recached.uploaded.every((e) => e.reason === 'settings-changed')).toBe(true);
    expect((await anonymousGet(bucket, 'static/img/favicon.png')).headers['cache-control']).toBe(
      'max-age=300',
    );
    record = await readRecordJson(bucket);
    const sig = record.objects['static/img/favicon.png']!.settings;
    expect(record.settings[sig]).toMatchObject({ CacheControl: 'max-age=300' });
    expect((await createAll(siteApp(root, bucket, cc), { logger })).uploaded).toEqual([]);
  });

  it('without onlyModified everything is uploaded, and the record is still written', async () => {
    const bucket = await freshBucket('rec');
    const { logger } = quietLogger();
    await createAll(siteApp(FIXTURE, bucket), { logger });
    const again = await createAll(siteApp(FIXTURE, bucket), { logger });
    expect(again.uploaded).toHaveLength(FIXTURE_KEYS.length);
    expect(again.uploaded.every((e) => e.reason === 'not-recorded')).toBe(true);
    expect(Object.keys((await readRecordJson(bucket)).objects)).toHaveLength(FIXTURE_KEYS.length);
    // Turning onlyModified on afterwards finds everything recorded.
    const only = await createAll(siteApp(FIXTURE, bucket, { FLASKS3_ONLY_MODIFIED: true }), { logger });
    expect(only.uploaded).toEqual([]);
  });
});

describe('createAll: bucket, ACLs, dry run', () => {
  it('creates a missing bucket, with the region as LocationConstraint outside us-east-1', async () => {
    const { logger } = quietLogger();
    const bucket = uniqueBucket('new');
    const report = await createAll(siteApp(FIXTURE, bucket), { logger, filepathFilterRegex: '^css' });
    expect(report.uploaded).toHaveLength(2);
    expect(await listKeys(bucket)).toContain('static/css/app.css');

    // RGW only accepts its zonegroup's name ('default') as LocationConstraint; AWS and s3rver take region names.
    const region = backend.name === 'rgw' ? 'default' : 'eu-west-1';
    const { client, calls, inputs } = countingClient();
    client.config.region = async () => region;
    const other = uniqueBucket('loc');
    await createAll(siteApp(FIXTURE, other), { logger, client, filepathFilterRegex: '^css' });
    const create = inputs[calls.indexOf('CreateBucketCommand')];
    expect(create).toEqual({ Bucket: other, CreateBucketConfiguration: { LocationConstraint: region } });
    await testClient().send(new HeadBucketCommand({ Bucket: other }));
  });

  it('a dry run changes nothing and reports what it would upload', async () => {
    const { logger, warnings } = quietLogger();
    const bucket = uniqueBucket('dry');
    const { client, calls } = countingClient();
    const report = await createAll(siteApp(FIXTURE, bucket), { logger, client, dryRun: true });
    expect(calls).toEqual(['GetObjectCommand']);
    expect(report.dryRun).toBe(true);
    expect(report.uploaded.map((e) => e.key)).toEqual(FIXTURE_KEYS);
    expect(report.bytesSent).toBe(0);
    expect(warnings).toEqual([`bucket ${bucket} does not exist; a real run creates it`]);
    await expect(testClient().send(new HeadBucketCommand({ Bucket: bucket }))).rejects.toThrow();

    // Against a deployed bucket, the dry run shows the plan from the record.
    const deployed = await freshBucket('dry');
    await createAll(siteApp(FIXTURE, deployed, { FLASKS3_ONLY_MODIFIED: true }), { logger });
    const plan = await createAll(
      siteApp(FIXTURE, deployed, { FLASKS3_ONLY_MODIFIED: true, FLASKS3_GZIP: true }),
      {
        logger,
        dryRun: true,
      },
    );
    expect(plan.uploaded.filter((e) => e.reason === 'settings-changed')).toHaveLength(11);
    expect(plan.skipped.map((e) => e.key)).toEqual([
      'static/fonts/inter-latin-400-normal.woff2',
      'static/img/favicon.png',
    ]);
  });

  it.each([
    ['private', false],
    ['none', false],
    ['public-read', true],
  ])('objectAcl %s', async (acl, isPublic) => {
    const bucket = await freshBucket('acl');
    const { logger } = quietLogger();
    await createAll(siteApp(FIXTURE, bucket), {
      logger,
      objectAcl: acl as 'private',
      putBucketAcl: false,
      filepathFilterRegex: '^css/app',
    });
    await expectPublicAcl(bucket, 'static/css/app.css', isPublic);
  });
});

describe('createAll: transfers', () => {
  it('streams mid-size files and uses multipart for large ones; bytes match', async () => {
    const root = tempDir('big');
    mkdirSync(path.join(root, 'static'), { recursive: true });
    const big = randomBytes(20 * MiB);
    const mid = randomBytes(3 * MiB);
    const text = Buffer.from('line of text for gzip\n'.repeat(Math.ceil((3 * MiB) / 22)));
    writeFileSync(path.join(root, 'static/big.bin'), big);
    writeFileSync(path.join(root, 'static/mid.bin'), mid);
    writeFileSync(path.join(root, 'static/log.txt'), text);
    writeFileSync(path.join(root, 'static/empty.css'), '');
    writeFileSync(path.join(root, 'static/empty.txt'), '');
    const bucket = await freshBucket('big');
    const { logger } = quietLogger();
    const { client: counted, calls } = countingClient();
    const report = await createAll(
      {
        root,
        config: s3Settings(bucket, {
          FLASKS3_GZIP: true,
          FLASKS3_GZIP_ONLY_EXTS: ['txt'],
          FLASKS3_ONLY_MODIFIED: true,
        }),
      },
      { logger, putBucketAcl: false, client: counted },
    );
    // The 20 MiB file (>= the 16 MiB multipartThreshold) goes up in 3 parts of 8 MiB; the gzipped text
    // (length unknown in advance) fits in one part, so gzip-parts.ts sends it as one PutObject.
    expect(calls.filter((c) => c === 'CreateMultipartUploadCommand')).toHaveLength(1);
    expect(calls.filter((c) => c === 'UploadPartCommand')).toHaveLength(3);
    expect(calls.filter((c) => c === 'CompleteMultipartUploadCommand')).toHaveLength(1);
    expect(report.uploaded.map((e) => [e.key, e.gzip])).toEqual([
      ['static/big.bin', false],
      ['static/empty.css', false],
      ['static/empty.txt', false], // gzip would store 20 bytes for nothing
      ['static/log.txt', true],
      ['static/mid.bin', false],
    ]);
    const emptyCss = await anonymousGet(bucket, 'static/empty.css');
    expect([emptyCss.status, emptyCss.raw.length, emptyCss.headers['content-type']]).toEqual([
      200,
      0,
      'text/css; charset=utf-8',
    ]);
    const emptyTxt = await anonymousGet(bucket, 'static/empty.txt');
    expect([emptyTxt.status, emptyTxt.raw.length, emptyTxt.headers['content-encoding']]).toEqual([
      200,
      0,
      undefined,
    ]);
    const client = testClient();
    for (const [key, local] of [
      ['static/big.bin', big],
      ['static/mid.bin', mid],
    ] as const) {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      expect(Buffer.from(await out.Body!.transformToByteArray()).equals(local), key).toBe(true);
    }
    const log = await anonymousGet(bucket, 'static/log.txt');
    expect(log.headers['content-encoding']).toBe('gzip');
    expect(log.body.equals(text)).toBe(true);
    expect(report.bytesSent).toBe(big.length + mid.length + log.raw.length + emptyTxt.raw.length);
    const record = await readRecordJson(bucket);
    expect(record.objects['static/big.bin']).toMatchObject({
      hash: await contentHash(big),
      size: big.length,
    });
    expect(record.objects['static/log.txt']).toMatchObject({
      hash: await contentHash(text),
      size: text.length,
    });
  });

  it('reports a file that fails by name, uploads and records every other one', async () => {
    const root = tempDir('fail');
    mkdirSync(path.join(root, 'static'), { recursive: true });
    for (let i = 0; i < 20; i++) writeFileSync(path.join(root, `static/f${i}.txt`), `file ${i}\n`);
    // Mid-size files are streamed from disk at upload time: one that disappears after hashing fails.
    writeFileSync(path.join(root, 'static/vanishing.bin'), randomBytes(3 * MiB));
    const bucket = await freshBucket('fail');
    const { logger } = quietLogger();
    const onProgress = (e: ProgressEvent) => {
      if (e.type === 'start') unlinkSync(path.join(root, 'static/vanishing.bin'));
    };
    const err = await createAll(
      { root, config: s3Settings(bucket) },
      { logger, onProgress, putBucketAcl: false },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UploadError);
    const e = err as UploadError;
    expect(e.code).toBe('UPLOAD_FAILED');
    expect(e.failures.map((f) => f.key)).toEqual(['static/vanishing.bin']);
    expect(e.failures[0]!.message).toMatch(/ENOENT/);
    expect(e.message).toContain('static/vanishing.bin');
    const report = e.report as UploadReport;
    expect(report.uploaded).toHaveLength(20);
    expect(await listKeys(bucket)).toEqual(
      ['.nunjucks-s3/record.json', ...report.uploaded.map((u) => u.key)].sort(),
    );
    expect(Object.keys((await readRecordJson(bucket)).objects).sort()).toEqual(
      report.uploaded.map((u) => u.key),
    );
  });

  it('an AbortSignal stops the upload; what finished is recorded, and a rerun uploads the rest', async () => {
    const root = tempDir('abort');
    mkdirSync(path.join(root, 'static'), { recursive: true });
    const N = 150;
    for (let i = 0; i < N; i++)
      writeFileSync(path.join(root, `static/f${String(i).padStart(3, '0')}.txt`), `file ${i}\n`.repeat(50));
    const bucket = await freshBucket('abort');
    const { logger } = quietLogger();
    const app: AppLike = {
      root,
      config: s3Settings(bucket, { FLASKS3_ONLY_MODIFIED: true, FLASKS3_CONCURRENCY: 4 }),
    };
    const controller = new AbortController();
    const onProgress = (e: ProgressEvent) => {
      if (e.type === 'file' && e.doneFiles === 30) controller.abort();
    };
    const err = await createAll(app, {
      logger,
      onProgress,
      signal: controller.signal,
      putBucketAcl: false,
    }).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(UploadError);
    expect((err as UploadError).code).toBe('UPLOAD_ABORTED');
    const recorded = Object.keys((await readRecordJson(bucket)).objects).sort();
    expect(recorded.length).toBeGreaterThanOrEqual(30);
    expect(recorded.length).toBeLessThan(N);
    const inBucket = await listKeys(bucket);
    for (const key of recorded) expect(inBucket, key).toContain(key);

    const rerun = await createAll(app, { logger, putBucketAcl: false });
    expect(rerun.skipped.map((e) => e.key)).toEqual(recorded);
    expect(rerun.uploaded).toHaveLength(N - recorded.length);
    expect(await listKeys(bucket)).toHaveLength(N + 1);
    for (const key of ['static/f000.txt', `static/f${N - 1}.txt`]) {
      expect((await anonymousGet(bucket, key)).body.equals(readFileSync(path.join(root, key)))).toBe(true);
    }
  });
});

describe('createAll: bad input fails before any request', () => {
  it.each([
    ['no bucket name', {}, {}, /bucketName \/ FLASKS3_BUCKET_NAME is required/],
    [
      'an invalid bucket name',
      { FLASKS3_BUCKET_NAME: 'Bad_Bucket' },
      {},
      /bucketName \/ FLASKS3_BUCKET_NAME: "Bad_Bucket"/,
    ],
    [
      'an unknown option',
      { FLASKS3_BUCKET_NAME: 'fine-bucket' },
      { bucketNmae: 'x' },
      /unknown option "bucketNmae"/,
    ],
    [
      'user and accessKeyId that disagree',
      { FLASKS3_BUCKET_NAME: 'fine-bucket' },
      { user: 'a', accessKeyId: 'b' },
      /user and accessKeyId/,
    ],
    [
      'a bad header value',
      { FLASKS3_BUCKET_NAME: 'fine-bucket', FLASKS3_HEADERS: { 'X-A': 'ü' } },
      {},
      /printable ASCII/,
    ],
    [
      'an invalid regex',
      { FLASKS3_BUCKET_NAME: 'fine-bucket' },
      { filepathFilterRegex: '(' },
      /filepathFilterRegex.*not a valid regular expression/,
    ],
  ])('%s', async (_name, config, options, message) => {
    const { client, calls } = countingClient();
    const err = await createAll({ root: FIXTURE, config }, { client, ...options } as never).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(message);
    expect(calls).toEqual([]);
  });

  it('a static folder that is a file', async () => {
    const root = tempDir('badfolder');
    writeFileSync(path.join(root, 'static'), 'not a folder');
    const { client, calls } = countingClient();
    const err = await createAll({ root, config: { FLASKS3_BUCKET_NAME: 'fine-bucket' } }, { client }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(path.join(root, 'static'));
    expect(calls).toEqual([]);
  });
});

describe('createAll: faults (through the fault proxy)', () => {
  /** A proxy in front of the test server, closed after the test. */
  async function proxied(rules: FaultRule[]) {
    const proxy = await startFaultProxy({ target: backend.endpoint, rules, seed: 7 });
    proxies.push(proxy);
    return proxy;
  }
  const proxies: FaultProxy[] = [];
  afterAll(async () => {
    for (const p of proxies) await p.close();
  });

  it('a bucket that refuses ACLs: every object goes up without one, with one warning and the bucket policy', async () => {
    const bucket = await freshBucket('noacl');
    const proxy = await proxied([rejectAcls()]);
    const { logger, warnings } = quietLogger();
    const report = await createAll(siteApp(FIXTURE, bucket, { FLASKS3_ENDPOINT_URL: proxy.url }), { logger });
    expect(report.uploaded.map((e) => e.key)).toEqual(FIXTURE_KEYS);
    expect(report.failed).toEqual([]);
    // One warning says both what was not set (bucket and object ACL) and the policy to use instead.
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /putBucketAcl \/ FLASKS3_PUT_BUCKET_ACL and objectAcl \/ FLASKS3_OBJECT_ACL: the bucket does not allow ACLs \(.*AccessControlListNotSupported.*\): neither the bucket ACL public-read nor the object ACL public-read was set/s,
    );
    const policy = JSON.parse(warnings[0]!.slice(warnings[0]!.indexOf('\n{')));
    expect(policy.Statement[0]).toEqual({
      Sid: 'PublicReadStaticAssets',
      Effect: 'Allow',
      Principal: '*',
      Action: 's3:GetObject',
      Resource: [`arn:aws:s3:::${bucket}/static/*`, `arn:aws:s3:::${bucket}/admin/static/*`],
    });
    const client = testClient();
    for (const key of FIXTURE_KEYS) {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      expect(
        Buffer.from(await out.Body!.transformToByteArray()).equals(readFileSync(path.join(FIXTURE, key))),
        key,
      ).toBe(true);
    }
    await expectPublicAcl(bucket, 'static/css/app.css', false);
  });

  it('throttling and 5xx on a share of requests are retried until everything is up', async () => {
    const bucket = await freshBucket('flaky');
    const proxy = await proxied([
      { method: 'PUT', fault: faults.slowDown(), probability: 0.2 },
      { method: 'PUT', fault: faults.internalError(), probability: 0.1 },
    ]);
    const { logger } = quietLogger();
    // About 28% of PUTs fail; with 8 attempts a file fails for good with probability 0.28^8 (4e-5).
    const settings = { FLASKS3_ENDPOINT_URL: proxy.url, FLASKS3_MAX_ATTEMPTS: 8 };
    const report = await createAll(siteApp(FIXTURE, bucket, settings), {
      logger,
      putBucketAcl: false,
    });
    expect(proxy.faulted().length).toBeGreaterThan(3);
    expect(report.failed).toEqual([]);
    expect(report.uploaded).toHaveLength(FIXTURE_KEYS.length);
    for (const key of FIXTURE_KEYS) {
      expect((await anonymousGet(bucket, key)).raw.equals(readFileSync(path.join(FIXTURE, key))), key).toBe(
        true,
      );
    }
  });

  it('a streamed upload cut mid-body, and a stalled one, are sent again from the start', async () => {
    const root = tempDir('cut');
    mkdirSync(path.join(root, 'static'), { recursive: true });
    const mid = randomBytes(3 * MiB);
    const small = Buffer.from('small file\n');
    writeFileSync(path.join(root, 'static/mid.bin'), mid);
    writeFileSync(path.join(root, 'static/small.txt'), small);
    const bucket = await freshBucket('cut');
    const proxy = await proxied([
      { method: 'PUT', key: 'static/mid.bin', fault: faults.resetMidBody(MiB), times: 1 },
      { method: 'PUT', key: 'static/small.txt', fault: faults.stall(), times: 1 },
    ]);
    const { logger } = quietLogger();
    const report = await createAll(
      {
        root,
        config: s3Settings(bucket, { FLASKS3_ENDPOINT_URL: proxy.url, FLASKS3_REQUEST_TIMEOUT: 1000 }),
      },
      { logger, putBucketAcl: false },
    );
    expect(
      proxy
        .faulted()
        .map((e) => e.fault)
        .sort(),
    ).toEqual(['resetMidBody', 'stall']);
    expect(report.failed).toEqual([]);
    expect((await anonymousGet(bucket, 'static/mid.bin')).raw.equals(mid)).toBe(true);
    expect((await anonymousGet(bucket, 'static/small.txt')).raw.equals(small)).toBe(true);
  });

  it('a key that always fails is named; the others are uploaded and recorded', async () => {
    const bucket = await freshBucket('always');
    const proxy = await proxied([{ method: 'PUT', key: 'static/js/app.js', fault: faults.internalError() }]);
    const { logger } = quietLogger();
    const err = await createAll(
      siteApp(FIXTURE, bucket, { FLASKS3_ENDPOINT_URL: proxy.url, FLASKS3_MAX_ATTEMPTS: 3 }),
      {
        logger,
        putBucketAcl: false,
      },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UploadError);
    const e = err as UploadError;
    expect(e.failures.map((f) => [f.key, f.message])).toEqual([
      ['static/js/app.js', 'InternalError (HTTP 500): We encountered an internal error. Please try again.'],
    ]);
    expect(proxy.log.filter((l) => l.key === 'static/js/app.js' && l.method === 'PUT')).toHaveLength(3);
    const recorded = Object.keys((await readRecordJson(bucket)).objects).sort();
    expect(recorded).toEqual(FIXTURE_KEYS.filter((k) => k !== 'static/js/app.js'));
  });
});
