// Bad input gets a clear error naming the setting or file, before anything is uploaded. Every createAll
// here talks to the test server through the fault proxy, so "nothing uploaded" is checked on the wire:
// the proxy saw no PUT (and, for mistakes in the settings or files, no request at all). Wrong
// credentials, an endpoint nothing answers at and a bucket in another region are found by the first
// request and end the run at once, with one error naming the setting to check.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AppLike } from '../src/app.js';
import { stampOf } from '../src/deploy/hash-cache.js';
import { recordKey } from '../src/deploy/record.js';
import { type CreateAllOptions, createAll } from '../src/deploy/upload.js';
import { ConfigError, UploadError, UrlBuildError } from '../src/errors.js';
import { NunjucksS3 } from '../src/template/plugin.js';
import { type FaultProxy, type FaultRule, faults, startFaultProxy } from './helpers/fault-proxy.js';
import { loadHashCache, sameStamp } from './helpers/hash-cache-file.js';
import { freshBucket, s3Backend } from './helpers/s3.js';
import {
  expectBucketMatches,
  expectedKeys,
  ownStderr,
  removeTemps,
  runCli,
  s3Env,
  s3Settings,
  tempDir,
  writeFiles,
} from './helpers/upload-check.js';

const backend = s3Backend();
const SITE = {
  'static/css/app.css': 'body { color: #333 }\n',
  'static/js/app.js': 'console.log(1);\n',
  'admin/static/admin.css': 'nav {}\n',
};
const BLUEPRINTS = [{ name: 'admin', staticFolder: 'admin/static', urlPrefix: '/admin' }];

let bucket: string;
const proxies: FaultProxy[] = [];
const servers: http.Server[] = [];

beforeAll(async () => {
  bucket = await freshBucket('badinput');
});
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  for (const s of servers.splice(0)) s.close();
});
afterAll(removeTemps);

/** A proxy in front of the test server that watches every request (and injects `rules`). */
async function watched(rules: FaultRule[] = []): Promise<FaultProxy> {
  const proxy = await startFaultProxy({ target: backend.endpoint, rules });
  proxies.push(proxy);
  return proxy;
}

function site(files: Record<string, string> = SITE): string {
  const root = tempDir('bad');
  writeFiles(root, files);
  return root;
}

function collectingLogger() {
  const warnings: string[] = [];
  return { warnings, logger: { warn: (m: string) => void warnings.push(m) } };
}

/** The error createAll rejects with (fails the test if it resolves). */
async function failure(app: AppLike, options: CreateAllOptions = {}): Promise<Error> {
  const { logger } = collectingLogger();
  const result = await createAll(app, { logger, ...options }).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(result instanceof Error)) throw new Error('expected createAll to reject');
  return result;
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Requests that write (PUT, POST), the upload record included. */
const puts = (proxy: FaultProxy) => proxy.log.filter((e) => e.method === 'PUT' || e.method === 'POST');
/** Requests that write an asset: not of the record, nor of the deploy's lease and generation (docs/deploy-state.md). */
const assetPuts = (proxy: FaultProxy) =>
  puts(proxy).filter((e) => e.key !== recordKey('') && !/^\.nunjucks-s3\/(lease|gen)\//.test(e.key ?? ''));

/** The CLI's config file in `root`: the site's blueprints, this file's bucket, `endpoint`, and `extra` settings. */
function writeCliConfigFile(root: string, endpoint: string, extra: Record<string, unknown> = {}): void {
  writeFiles(root, {
    'nunjucks-s3.config.json': JSON.stringify({
      blueprints: BLUEPRINTS,
      config: { FLASKS3_BUCKET_NAME: bucket, FLASKS3_ENDPOINT_URL: endpoint, ...extra },
    }),
  });
}

/** Files are cached once their timestamps are older than the deploy's start by 100 ms (racy-clean rule). */
const untilCacheable = () => new Promise((resolve) => setTimeout(resolve, 300));

/** A hash cache folder every user may write to (the tests run deploys as root and as nobody). */
function sharedCacheDir(label: string): string {
  const dir = tempDir(label);
  chmodSync(dir, 0o777);
  return dir;
}

/** The CLI refused `file` as unreadable: exit 2, before any request reached `proxy`. */
function expectRefusedUnreadable(
  run: { stderr: string; code: number | null },
  file: string,
  proxy: FaultProxy,
) {
  expect(run.stderr).toContain('nunjucks-s3: cannot read a file to upload (nothing was uploaded):');
  expect(run.stderr).toContain(`${file}: EACCES`);
  expect(run.code).toBe(2);
  expect(proxy.requests).toBe(0);
}

describe('settings: a ConfigError naming the setting, before any request', () => {
  interface Case {
    name: string;
    config?: Record<string, unknown>;
    options?: CreateAllOptions & Record<string, unknown>;
    code: string;
    message: RegExp;
    setting?: string;
  }
  const cases: Case[] = [
    {
      name: 'missing bucket name',
      config: { FLASKS3_BUCKET_NAME: undefined },
      code: 'CONFIG_MISSING_BUCKET',
      message: /bucketName \/ FLASKS3_BUCKET_NAME is required to upload/,
      setting: 'bucketName / FLASKS3_BUCKET_NAME',
    },
    {
      name: 'invalid bucket name',
      config: { FLASKS3_BUCKET_NAME: 'My_Bucket' },
      code: 'CONFIG_BUCKET_NAME',
      message: /bucketName \/ FLASKS3_BUCKET_NAME: "My_Bucket" may contain only lower-case letters/,
    },
    {
      name: 'bucket name like an IP address',
      config: { FLASKS3_BUCKET_NAME: '192.168.1.1' },
      code: 'CONFIG_BUCKET_NAME',
      message: /must not look like an IP address/,
    },
    {
      name: 'empty bucket name',
      config: { FLASKS3_BUCKET_NAME: '  ' },
      code: 'CONFIG_TYPE',
      message: /bucketName \/ FLASKS3_BUCKET_NAME must be a non-empty string/,
    },
    {
      name: 'mistyped FLASKS3_ setting',
      config: { FLASKS3_BUCKETNAME: 'x' },
      code: 'CONFIG_UNKNOWN',
      message: /unknown setting FLASKS3_BUCKETNAME; did you mean FLASKS3_BUCKET_NAME\?/,
    },
    {
      name: 'unknown FLASKS3_ setting',
      config: { FLASKS3_SPEED: 'fast' },
      code: 'CONFIG_UNKNOWN',
      message: /^unknown setting FLASKS3_SPEED$/,
    },
    {
      name: 'mistyped camelCase setting',
      config: { gzipOnlyExt: ['css'] },
      code: 'CONFIG_UNKNOWN',
      message: /unknown setting gzipOnlyExt; did you mean gzipOnlyExts\?/,
    },
    {
      name: 'unknown createAll option',
      options: { gizp: true },
      code: 'CONFIG_UNKNOWN',
      message: /createAll: unknown option "gizp"/,
    },
    {
      name: 'both spellings with different values',
      config: { FLASKS3_GZIP: true, gzip: false },
      code: 'CONFIG_CONFLICT',
      message: /gzip \/ FLASKS3_GZIP is set twice with different values \(FLASKS3_GZIP and gzip\)/,
    },
    {
      name: "Flask-S3's argument name and the setting, different values",
      options: { location: 'eu-west-1', region: 'us-east-1' },
      code: 'CONFIG_CONFLICT',
      message: /location and region \/ FLASKS3_REGION are both given/,
    },
    {
      name: 'a number as a string',
      config: { FLASKS3_CONCURRENCY: '16' },
      code: 'CONFIG_TYPE',
      message: /concurrency \/ FLASKS3_CONCURRENCY must be a number, got the string "16"/,
    },
    {
      name: 'a boolean as a string',
      config: { FLASKS3_GZIP: 'yes' },
      code: 'CONFIG_TYPE',
      message: /gzip \/ FLASKS3_GZIP must be true or false, got the string "yes"/,
    },
    {
      name: 'headers as an array',
      config: { FLASKS3_HEADERS: ['Cache-Control: max-age=60'] },
      code: 'CONFIG_TYPE',
      message: /headers \/ FLASKS3_HEADERS must be an object of header names to string values, got an array/,
    },
    {
      name: 'a header name with a space',
      config: { FLASKS3_HEADERS: { 'Cache Control': 'max-age=60' } },
      code: 'CONFIG_TYPE',
      message: /headers \/ FLASKS3_HEADERS: "Cache Control" is not a valid HTTP header name/,
    },
    {
      name: 'an ACL that does not exist',
      config: { FLASKS3_OBJECT_ACL: 'public' },
      code: 'CONFIG_TYPE',
      message: /objectAcl \/ FLASKS3_OBJECT_ACL must be one of 'public-read'/,
    },
    {
      name: 'a multipart threshold below S3’s 5 MiB part minimum',
      config: { FLASKS3_MULTIPART_THRESHOLD: 1024 },
      code: 'CONFIG_TYPE',
      message: /multipartThreshold \/ FLASKS3_MULTIPART_THRESHOLD must be between 5242880 and/,
    },
    {
      name: 'concurrency 0',
      config: { FLASKS3_CONCURRENCY: 0 },
      code: 'CONFIG_TYPE',
      message: /concurrency \/ FLASKS3_CONCURRENCY must be between 1 and 256, got number 0/,
    },
    {
      name: 'an invalid filepathFilterRegex',
      config: { FLASKS3_FILEPATH_FILTER_REGEX: 'css/(' },
      code: 'CONFIG_REGEX',
      message:
        /filepathFilterRegex \/ FLASKS3_FILEPATH_FILTER_REGEX: the pattern "css\/\(" is not a valid regular expression/,
    },
    {
      name: 'a glob as a filepathHeaders key',
      config: { FLASKS3_FILEPATH_HEADERS: { '*.css': { 'Cache-Control': 'max-age=60' } } },
      code: 'CONFIG_REGEX',
      message:
        /filepathHeaders \/ FLASKS3_FILEPATH_HEADERS: the key "\*\.css" is not a valid regular expression/,
    },
    {
      name: 'an endpoint without a scheme',
      config: { FLASKS3_ENDPOINT_URL: '127.0.0.1:9000' },
      code: 'CONFIG_ENDPOINT',
      message: /endpointUrl \/ FLASKS3_ENDPOINT_URL must be an http:\/\/ or https:\/\/ URL/,
    },
    {
      name: 'an access key without its secret',
      config: { AWS_SECRET_ACCESS_KEY: undefined },
      code: 'CONFIG_CREDENTIALS',
      message: /secretAccessKey \/ AWS_SECRET_ACCESS_KEY is missing/,
    },
  ];

  it.each(cases)('$name', async (c) => {
    const proxy = await watched();
    const config = { ...s3Settings(bucket, proxy.url), ...c.config };
    for (const [k, v] of Object.entries(config)) if (v === undefined) delete config[k];
    const err = await failure({ root: site(), blueprints: BLUEPRINTS, config }, c.options);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe(c.code);
    expect(err.message).toMatch(c.message);
    if (c.setting) expect((err as ConfigError).setting).toBe(c.setting);
    expect(proxy.requests).toBe(0);
  });

  it('app.config that is not an object', async () => {
    const err = await failure({ root: site(), config: 'FLASKS3_BUCKET_NAME=x' as never });
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/app\.config must be an object of settings, got the string/);
  });
});

describe('files and folders', () => {
  /** The app at `root`, through a watching proxy. */
  async function watchedApp(root: string, more: Partial<AppLike> = {}, config: Record<string, unknown> = {}) {
    const proxy = await watched();
    const app: AppLike = {
      root,
      blueprints: BLUEPRINTS,
      ...more,
      config: { ...s3Settings(bucket, proxy.url), ...config },
    };
    return { proxy, app };
  }

  it('a static folder that is a file: ConfigError naming it', async () => {
    const root = site({ static: 'I am a file', 'admin/static/admin.css': 'x' });
    const { proxy, app } = await watchedApp(root);
    const err = await failure(app);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(`static folder of static is not a folder: ${path.join(root, 'static')}`);
    expect((err as ConfigError).setting).toBe('app.staticFolder');
    expect(proxy.requests).toBe(0);
  });

  it('one static folder missing: a warning naming it, the others are uploaded', async () => {
    const root = site({ 'static/css/app.css': 'a {}\n' });
    const b = await freshBucket('onemissing');
    const proxy = await watched();
    const { logger, warnings } = collectingLogger();
    const report = await createAll(
      { root, blueprints: BLUEPRINTS, config: s3Settings(b, proxy.url) },
      { logger, putBucketAcl: false },
    );
    expect(warnings).toEqual([
      `static folder of admin.static does not exist, nothing uploaded from it: ${path.join(root, 'admin/static')}`,
    ]);
    expect(report.uploaded.map((e) => e.key)).toEqual(['static/css/app.css']);
    await expectBucketMatches({
      bucket: b,
      expected: expectedKeys(path.join(root, 'static'), 'static'),
    });
  });

  it('no static folder exists at all (wrong root): ConfigError naming every folder, no request', async () => {
    const root = tempDir('nowhere');
    const { proxy, app } = await watchedApp(root);
    const err = await failure(app);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('CONFIG_STATIC_FOLDER');
    expect(err.message).toContain('no static folder exists, so there is nothing to upload');
    expect(err.message).toContain(`static at ${path.join(root, 'static')}`);
    expect(err.message).toContain(`admin.static at ${path.join(root, 'admin/static')}`);
    expect(err.message).toContain('check app.root');
    expect(proxy.requests).toBe(0);
  });

  it('static folders that exist but are empty: nothing to do, nothing uploaded', async () => {
    const root = tempDir('empty');
    mkdirSync(path.join(root, 'static'));
    const { proxy, app } = await watchedApp(root, { blueprints: [] });
    const { logger, warnings } = collectingLogger();
    const report = await createAll(app, { logger });
    expect(report.uploaded).toEqual([]);
    expect(report.failed).toEqual([]);
    expect(warnings).toEqual([]);
    expect(assetPuts(proxy)).toEqual([]);
  });

  it('a filepathFilterRegex that matches nothing: a warning naming the setting, nothing uploaded', async () => {
    const { proxy, app } = await watchedApp(site(), {}, { FLASKS3_FILEPATH_FILTER_REGEX: '^static/' });
    const { logger, warnings } = collectingLogger();
    const report = await createAll(app, { logger });
    expect(report.uploaded).toEqual([]);
    expect(warnings).toEqual([
      'filepathFilterRegex / FLASKS3_FILEPATH_FILTER_REGEX /^static\\// matches none of the 3 files in the ' +
        'static folders (it is matched against the path relative to the static folder, e.g. css/app.css)',
    ]);
    expect(assetPuts(proxy)).toEqual([]);
  });

  it('a dangling symlink and a FIFO are skipped (the symlink with a warning); the rest is uploaded', async () => {
    const root = site();
    symlinkSync(path.join(root, 'nowhere.css'), path.join(root, 'static/css/dangling.css'));
    execFileSync('mkfifo', [path.join(root, 'static/js/pipe.js')]);
    const b = await freshBucket('dangling');
    const proxy = await watched();
    const { logger, warnings } = collectingLogger();
    const report = await createAll(
      { root, blueprints: BLUEPRINTS, config: s3Settings(b, proxy.url) },
      { logger, putBucketAcl: false },
    );
    expect(warnings).toEqual([
      `skipped ${path.join(root, 'static/css/dangling.css')}: symlink target cannot be resolved (ENOENT)`,
    ]);
    expect(report.uploaded.map((e) => e.key).sort()).toEqual([
      'admin/static/admin.css',
      'static/css/app.css',
      'static/js/app.js',
    ]);
    await expectBucketMatches({
      bucket: b,
      expected: new Map([
        ...expectedKeys(path.join(root, 'static'), 'static'),
        ...expectedKeys(path.join(root, 'admin/static'), 'admin/static'),
      ]),
      listPrefixes: ['static/', 'admin/static/'],
    });
  });

  it('unreadable files: one ConfigError naming each of them, exit code 2, no request (CLI)', async () => {
    const root = site({ ...SITE, 'static/css/secret.css': 'x', 'static/js/locked.js': 'y' });
    const proxy = await watched();
    writeFiles(root, {
      'nunjucks-s3.config.json': JSON.stringify({
        blueprints: BLUEPRINTS,
        config: { FLASKS3_BUCKET_NAME: bucket, FLASKS3_ENDPOINT_URL: proxy.url },
      }),
    });
    // Root reads any file: run the CLI as nobody then (everything else in the site readable to it).
    const asRoot = process.getuid?.() === 0;
    if (asRoot) execFileSync('chmod', ['-R', 'a+rX', root]);
    chmodSync(path.join(root, 'static/css/secret.css'), 0);
    chmodSync(path.join(root, 'static/js/locked.js'), 0);
    const run = await runCli(['upload'], { cwd: root, env: s3Env(), ...(asRoot ? { uid: 65534 } : {}) });
    expect(run.stderr).toContain('nunjucks-s3: cannot read 2 files to upload (nothing was uploaded):');
    expect(run.stderr).toContain(`${path.join(root, 'static/css/secret.css')}: EACCES`);
    expect(run.stderr).toContain(`${path.join(root, 'static/js/locked.js')}: EACCES`);
    expect(run.code).toBe(2);
    expect(proxy.requests).toBe(0);
  });

  it('a file the hash cache vouches for but this user cannot read: still a ConfigError, no request (CLI)', async (ctx) => {
    // Only root can write a cache entry for a file another user cannot read.
    if (process.getuid?.() !== 0) ctx.skip();
    const root = site({ ...SITE });
    writeFiles(root, { 'static/css/root-only.css': '.r {}' });
    execFileSync('chmod', ['-R', 'a+rX', root]);
    chmodSync(path.join(root, 'static/css/root-only.css'), 0o600); // before the deploy: its ctime stays
    await untilCacheable();
    writeCliConfigFile(root, s3Backend().endpoint);
    const first = await runCli(['upload'], { cwd: root, env: s3Env() });
    expect(first.code).toBe(0);
    // The cache (where vitest.config.ts points it) now vouches for the file: an entry with its current stat.
    const locked = path.join(root, 'static/css/root-only.css');
    const cacheDir = process.env.NUNJUCKS_S3_CACHE_DIR!;
    const entries = readdirSync(cacheDir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => loadHashCache(path.join(cacheDir, f)).get(locked))
      .filter((e) => e !== undefined);
    expect(entries).toHaveLength(1);
    expect(sameStamp(entries[0]!.stamp, stampOf(statSync(locked)))).toBe(true);
    const proxy = await watched();
    writeCliConfigFile(root, proxy.url);
    const run = await runCli(['upload'], { cwd: root, env: s3Env(), uid: 65534 });
    expectRefusedUnreadable(run, locked, proxy);
  });

  it("a file made unreadable after this user's own cache vouched for it: a ConfigError, no request (CLI)", async (ctx) => {
    // Needs two users: root to run the suite (and chmod), nobody to own the cache and run the deploys.
    if (process.getuid?.() !== 0) ctx.skip();
    const root = site({ ...SITE });
    writeFiles(root, { 'static/css/later-locked.css': '.l {}' });
    execFileSync('chmod', ['-R', 'a+rX', root]);
    const cacheDir = sharedCacheDir('own-cache');
    const env = { ...s3Env(), NUNJUCKS_S3_CACHE_DIR: cacheDir };
    await untilCacheable();
    writeCliConfigFile(root, s3Backend().endpoint);
    const first = await runCli(['upload'], { cwd: root, env, uid: 65534 });
    expect(first.code, first.stderr).toBe(0);
    const locked = path.join(root, 'static/css/later-locked.css');
    const caches = readdirSync(cacheDir).filter((f) => f.endsWith('.json'));
    expect(caches.map((f) => statSync(path.join(cacheDir, f)).uid)).toEqual([65534]);
    expect(loadHashCache(path.join(cacheDir, caches[0]!)).has(locked)).toBe(true);
    // The owner of the cache no longer may read the file: the chmod sets its ctime, so no entry matches.
    chmodSync(locked, 0o600);
    const proxy = await watched();
    writeCliConfigFile(root, proxy.url);
    const run = await runCli(['upload'], { cwd: root, env, uid: 65534 });
    expectRefusedUnreadable(run, locked, proxy);
  });

  it("a cache this user saved after a filtered run still vouches for another user's file: checked, exit 2 (CLI)", async (ctx) => {
    // root deploys (its cache names a file only root may read), nobody deploys a filtered run (which saves
    // the cache as its own, root's entries carried over unchecked), then nobody deploys everything.
    if (process.getuid?.() !== 0) ctx.skip();
    const root = site({ ...SITE });
    writeFiles(root, { 'static/js/app.js.map': '{}' });
    execFileSync('chmod', ['-R', 'a+rX', root]);
    const map = path.join(root, 'static/js/app.js.map');
    chmodSync(map, 0o600);
    const cacheDir = sharedCacheDir('shared-cache');
    const env = { ...s3Env(), NUNJUCKS_S3_CACHE_DIR: cacheDir };
    await untilCacheable();
    writeCliConfigFile(root, s3Backend().endpoint);
    expect((await runCli(['upload'], { cwd: root, env })).code).toBe(0);
    // A CSS file changes, so the filtered run has a new entry to save.
    writeFiles(root, { 'static/css/app.css': 'body { color: teal }' });
    execFileSync('chmod', ['a+r', path.join(root, 'static/css/app.css')]);
    await untilCacheable();
    writeCliConfigFile(root, s3Backend().endpoint, { FLASKS3_FILEPATH_FILTER_REGEX: '\\.css$' });
    const filtered = await runCli(['upload'], { cwd: root, env, uid: 65534 });
    expect(filtered.code, filtered.stderr).toBe(0);
    const caches = readdirSync(cacheDir).filter((f) => f.endsWith('.json'));
    expect(caches.map((f) => statSync(path.join(cacheDir, f)).uid)).toEqual([65534]);
    expect(loadHashCache(path.join(cacheDir, caches[0]!)).has(map)).toBe(true);
    const proxy = await watched();
    writeCliConfigFile(root, proxy.url);
    const run = await runCli(['upload'], { cwd: root, env, uid: 65534 });
    expectRefusedUnreadable(run, map, proxy);
  });

  it('an unreadable folder: ConfigError naming it, exit code 2, no request (CLI)', async () => {
    const root = site({ ...SITE, 'static/private/a.css': 'x' });
    const proxy = await watched();
    writeFiles(root, {
      'nunjucks-s3.config.json': JSON.stringify({
        blueprints: BLUEPRINTS,
        config: { FLASKS3_BUCKET_NAME: bucket, FLASKS3_ENDPOINT_URL: proxy.url },
      }),
    });
    const asRoot = process.getuid?.() === 0;
    if (asRoot) execFileSync('chmod', ['-R', 'a+rX', root]);
    chmodSync(path.join(root, 'static/private'), 0);
    const run = await runCli(['upload'], { cwd: root, env: s3Env(), ...(asRoot ? { uid: 65534 } : {}) });
    expect(run.stderr).toContain(`nunjucks-s3: cannot read ${path.join(root, 'static/private')}: EACCES`);
    expect(run.code).toBe(2);
    expect(proxy.requests).toBe(0);
  });

  it('a file that would overwrite the upload record: ConfigError naming it', async () => {
    const root = site({ 'static/.nunjucks-s3/record.json': '{}' });
    const { proxy, app } = await watchedApp(root, { staticUrlPath: '/', blueprints: [] });
    const err = await failure(app, { includeHidden: true });
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(
      `${path.join(root, 'static/.nunjucks-s3/record.json')} would overwrite the upload record .nunjucks-s3/record.json; rename it`,
    );
    expect(proxy.requests).toBe(0);
  });

  it('a key longer than S3 allows: ConfigError naming the file', async () => {
    const long = Array.from({ length: 5 }, (_, i) => `${i}`.repeat(220)).join('/');
    const root = site({ [`static/${long}.css`]: 'x' });
    const { proxy, app } = await watchedApp(root, { blueprints: [] });
    const err = await failure(app);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain(`cannot upload ${path.join(root, 'static', long)}.css`);
    expect(err.message).toContain("longer than S3's 1024 bytes");
    expect(proxy.requests).toBe(0);
  });

  it.each([
    ['a newline', 'a\nb.css'],
    ['a carriage return', 'a\rb.css'],
  ])(
    'a file name with %s: ConfigError naming it, before any request (not skipped in silence)',
    async (_, name) => {
      const root = site({ [`static/${name}`]: 'x', 'static/ok.css': 'y' });
      const { proxy, app } = await watchedApp(root, { blueprints: [] });
      const err = await failure(app);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).code).toBe('FILE_NAME');
      expect(err.message).toContain(JSON.stringify(path.join(root, 'static', name)));
      expect(err.message).toContain('line break');
      expect(proxy.requests).toBe(0);
    },
  );

  it('two static folders that would give the same key: ConfigError naming both files', async () => {
    const root = site({ 'static/a.css': '1', 'other/a.css': '2' });
    const { proxy, app } = await watchedApp(root, {
      blueprints: [{ name: 'o', staticFolder: 'other', staticUrlPath: '/static' }],
    });
    const err = await failure(app);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain(path.join(root, 'static/a.css'));
    expect(err.message).toContain(path.join(root, 'other/a.css'));
    expect(proxy.requests).toBe(0);
  });
});

describe('url_for: filenames that would leave the static folder', () => {
  const s3 = new NunjucksS3({
    root: path.join(import.meta.dirname, 'fixtures/site'),
    config: { FLASKS3_BUCKET_NAME: 'assets-bucket' },
  });
  it.each([
    ['../secret.txt', /must not contain '\.\.' segments/],
    ['css/../../secret.txt', /must not contain '\.\.' segments/],
    ['..\\secret.txt', /must not contain '\.\.' segments/],
    ['css\\..\\..\\secret.txt', /must not contain '\.\.' segments/],
    ['a\0.css', /contains a NUL character/],
  ])('%j is a UrlBuildError naming the filename', (filename, message) => {
    let err: unknown;
    try {
      s3.urlFor('static', { filename });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UrlBuildError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toContain(JSON.stringify(filename));
  });

  it.each([
    ['%2e%2e/secret.txt', 'https://assets-bucket.s3.amazonaws.com/static/%252e%252e/secret.txt'],
    ['..%2fsecret.txt', 'https://assets-bucket.s3.amazonaws.com/static/..%252fsecret.txt'],
  ])('%j stays inside the static folder (encoded, not decoded)', (filename, url) => {
    expect(s3.urlFor('static', { filename })).toBe(url);
    expect(new URL(url).pathname.startsWith('/static/')).toBe(true);
  });
});

describe('found by the first request: one error naming the setting, nothing uploaded', () => {
  it('an access key the server does not know', async () => {
    const proxy = await watched();
    const config = { ...s3Settings(bucket, proxy.url), AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE' };
    const err = await failure({ root: site(), blueprints: BLUEPRINTS, config });
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('CONFIG_CREDENTIALS');
    expect((err as ConfigError).setting).toBe('accessKeyId / AWS_ACCESS_KEY_ID');
    expect(err.message).toMatch(
      new RegExp(
        `^could not read the upload record from s3://${bucket}: InvalidAccessKeyId \\(HTTP 403\\).*\\. ` +
          'The server does not know this access key id: check accessKeyId / AWS_ACCESS_KEY_ID\\. Nothing was uploaded$',
      ),
    );
    expect((err.cause as Error).name).toBe('InvalidAccessKeyId');
    expect(proxy.log.map((e) => e.method)).toEqual(['GET']);
  });

  it('a secret that does not match (RGW checks it; s3rver does not, so the proxy answers as S3 would)', async () => {
    const rules: FaultRule[] =
      backend.name === 'rgw'
        ? []
        : [
            {
              fault: faults.error(
                403,
                'SignatureDoesNotMatch',
                'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
              ),
            },
          ];
    const proxy = await watched(rules);
    const config = { ...s3Settings(bucket, proxy.url), AWS_SECRET_ACCESS_KEY: 'not-the-secret-0123456789' };
    const err = await failure({ root: site(), blueprints: BLUEPRINTS, config });
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).setting).toBe('secretAccessKey / AWS_SECRET_ACCESS_KEY');
    expect(err.message).toContain('SignatureDoesNotMatch (HTTP 403)');
    expect(err.message).toContain(
      'The secret access key does not match the access key id: check secretAccessKey / AWS_SECRET_ACCESS_KEY',
    );
    expect(puts(proxy)).toEqual([]);
  });

  it('an expired session token', async () => {
    const proxy = await watched([
      { fault: faults.error(400, 'ExpiredToken', 'The provided token has expired.') },
    ]);
    const err = await failure({
      root: site(),
      blueprints: BLUEPRINTS,
      config: s3Settings(bucket, proxy.url),
    });
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).setting).toBe('sessionToken / AWS_SESSION_TOKEN');
    expect(err.message).toContain(
      'The session token is expired or invalid: check sessionToken / AWS_SESSION_TOKEN',
    );
    expect(proxy.log.map((e) => e.method)).toEqual(['GET']);
  });

  it('an endpoint nothing listens on: a fast ConfigError naming endpointUrl, not a hang', async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const err = await failure({ root: site(), blueprints: BLUEPRINTS, config: s3Settings(bucket, endpoint) });
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('CONFIG_ENDPOINT');
    expect((err as ConfigError).setting).toBe('endpointUrl / FLASKS3_ENDPOINT_URL');
    expect(err.message).toContain(
      `Nothing answers S3 requests at ${endpoint} (ECONNREFUSED): check endpointUrl / FLASKS3_ENDPOINT_URL and that the server is running. Nothing was uploaded`,
    );
  }, 20_000);

  it('a bucket in another region (AWS answers 301 PermanentRedirect): ConfigError naming region and the bucket’s region', async () => {
    let requests = 0;
    const server = http.createServer((req, res) => {
      requests++;
      req.resume();
      req.on('end', () => {
        const body =
          '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PermanentRedirect</Code><Message>The bucket you are ' +
          'attempting to access must be addressed using the specified endpoint. Please send all future requests to ' +
          `this endpoint.</Message><Endpoint>${bucket}.s3.eu-west-1.amazonaws.com</Endpoint><Bucket>${bucket}</Bucket>` +
          '<RequestId>R</RequestId><HostId>H</HostId></Error>';
        res.writeHead(301, { 'content-type': 'application/xml', 'x-amz-bucket-region': 'eu-west-1' });
        res.end(body);
      });
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    const err = await failure({ root: site(), blueprints: BLUEPRINTS, config: s3Settings(bucket, endpoint) });
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('CONFIG_REGION');
    expect((err as ConfigError).setting).toBe('region / FLASKS3_REGION');
    expect(err.message).toContain(
      `The bucket is in region eu-west-1, not ${backend.region}: set region / FLASKS3_REGION to eu-west-1. Nothing was uploaded`,
    );
    expect(requests).toBe(1);
  });

  it('a bucket in another region (AuthorizationHeaderMalformed naming the expected region)', async () => {
    const proxy = await watched([
      {
        fault: faults.error(
          400,
          'AuthorizationHeaderMalformed',
          `The authorization header is malformed; the region '${backend.region}' is wrong; expecting 'ap-southeast-2'`,
        ),
      },
    ]);
    const err = await failure({
      root: site(),
      blueprints: BLUEPRINTS,
      config: s3Settings(bucket, proxy.url),
    });
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain('set region / FLASKS3_REGION to ap-southeast-2');
    expect(puts(proxy)).toEqual([]);
  });

  it('a server error on the first request is not blamed on the settings: UploadError naming every file', async () => {
    const proxy = await watched([{ fault: faults.internalError() }]);
    const err = await failure({
      root: site(),
      blueprints: BLUEPRINTS,
      config: s3Settings(bucket, proxy.url, { FLASKS3_MAX_ATTEMPTS: 2 }),
    });
    expect(err).toBeInstanceOf(UploadError);
    expect((err as UploadError).failures.map((f) => f.key).sort()).toEqual([
      'admin/static/admin.css',
      'static/css/app.css',
      'static/js/app.js',
    ]);
    expect(err.message).toMatch(/InternalError \(HTTP 500\).*Nothing was uploaded$/);
    expect(puts(proxy)).toEqual([]);
  });

  it('through the CLI: exit code 2 and one message, not one line per file', async () => {
    const root = site();
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    writeFiles(root, {
      'nunjucks-s3.config.json': JSON.stringify({
        blueprints: BLUEPRINTS,
        config: { FLASKS3_BUCKET_NAME: bucket, FLASKS3_ENDPOINT_URL: endpoint },
      }),
    });
    const unreachable = await runCli(['upload'], { cwd: root, env: s3Env() });
    expect(unreachable.code).toBe(2);
    expect(ownStderr(unreachable.stderr).trim().split('\n')).toEqual([
      `nunjucks-s3: could not read the upload record from s3://${bucket}: ECONNREFUSED: connect ECONNREFUSED ${endpoint.slice(7)}. ` +
        `Nothing answers S3 requests at ${endpoint} (ECONNREFUSED): check endpointUrl / FLASKS3_ENDPOINT_URL and that the server is running. Nothing was uploaded`,
    ]);

    const proxy = await watched();
    const wrongKey = await runCli(['upload', '--endpoint-url', proxy.url], {
      cwd: root,
      env: { ...s3Env(), AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE' },
    });
    expect(wrongKey.code).toBe(2);
    expect(wrongKey.stderr).toContain('check accessKeyId / AWS_ACCESS_KEY_ID');
    expect(wrongKey.stderr).not.toContain('static/css/app.css');
    expect(puts(proxy)).toEqual([]);
  });
});
