// fingerprint.ts, manifest.ts, assets.ts and their use by the plugin: fingerprinted names, content
// facts checked against independent computations (xxhash-wasm called directly, node:crypto's SHA-384),
// the manifest format and atomic write, url_for with and without a manifest in both modes, strict and
// not, blueprints, and static_integrity through a real Nunjucks Environment rendering templates-test/.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import nunjucks from 'nunjucks';
import { afterAll, describe, expect, it } from 'vitest';
import xxhash from 'xxhash-wasm';
import type { AppLike } from '../src/app.js';
import {
  FINGERPRINT_LENGTH,
  factsOfBytes,
  factsOfFile,
  factsOfFileSync,
  fingerprintedPath,
  integrityOf,
  shortHash,
} from '../src/content/fingerprint.js';
import { createHasher } from '../src/content/hash.js';
import {
  MANIFEST_FORMAT,
  type Manifest,
  parseManifest,
  readManifestSync,
  serializeManifest,
  writeManifest,
} from '../src/content/manifest.js';
import { ConfigError, UrlBuildError } from '../src/errors.js';
import { NunjucksS3 } from '../src/template/plugin.js';

const TEMPLATES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'templates-test');
const S3 = 'https://mybucket.s3.amazonaws.com';
const xx = await xxhash();

/** xxh64 hex, straight from xxhash-wasm: the independent computation. */
function xxh64(bytes: Uint8Array | string): string {
  const b = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  return xx.h64Raw(b).toString(16).padStart(16, '0');
}

/** The SRI value, straight from node:crypto. */
function sha384(bytes: Uint8Array | string): string {
  return 'sha384-' + createHash('sha384').update(bytes).digest('base64');
}

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((r) => rm(r, { recursive: true, force: true })));
});

const FILES: Record<string, string> = {
  'static/css/app.css': 'body { color: #123; }\n',
  'static/js/app.js': 'console.log("app");\n',
  'static/js/app.min.js': 'console.log(1)',
  'static/LICENSE': 'MIT\n',
  'static/my file+1.css': 'p{}',
  'static/.hidden.css': 'secret',
  'admin/static/admin.js': 'console.log("admin");\n',
  'admin/static/logo.svg': '<svg xmlns="http://www.w3.org/2000/svg"/>',
};

/** A site on disk with FILES (and more); returns its root. */
async function makeSite(more: Record<string, string | Buffer> = {}): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'nunjucks-s3-fp-'));
  roots.push(root);
  for (const [rel, content] of Object.entries({ ...FILES, ...more })) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), content);
  }
  return root;
}

function makeApp(root: string, config: Record<string, unknown> = {}, more: Partial<AppLike> = {}): AppLike {
  return {
    root,
    config: { FLASKS3_BUCKET_NAME: 'mybucket', ...config },
    blueprints: [{ name: 'admin', staticFolder: 'admin/static', urlPrefix: '/admin' }],
    router: { index: '/' },
    ...more,
  };
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error, none was thrown');
}

const short = (content: string) => xxh64(content).slice(0, 12);

describe('fingerprintedPath', () => {
  const h = '0123456789abcdef';
  it.each([
    ['css/app.css', 'css/app.0123456789ab.css'],
    ['app.css', 'app.0123456789ab.css'],
    ['js/app.min.js', 'js/app.min.0123456789ab.js'],
    ['LICENSE', 'LICENSE.0123456789ab'],
    ['.htaccess', '.htaccess.0123456789ab'],
    ['a.b/c', 'a.b/c.0123456789ab'],
    ['a.b/.rc', 'a.b/.rc.0123456789ab'],
    ['dir/archive.tar.gz', 'dir/archive.tar.0123456789ab.gz'],
    ['my file+1.css', 'my file+1.0123456789ab.css'],
  ])('%s -> %s', (input, expected) => {
    expect(fingerprintedPath(input, h)).toBe(expected);
  });

  it('uses the first FINGERPRINT_LENGTH (12) hex digits of the hash', () => {
    expect(FINGERPRINT_LENGTH).toBe(12);
    expect(shortHash(h)).toBe('0123456789ab');
  });
});

describe('content facts', () => {
  it.each([
    ['empty', ''],
    ['hello', 'hello'],
    ['unicode', 'ü日本'],
    ['binary', randomBytes(1000)],
  ])('%s: hash is xxh64 (as the upload record), integrity is sha384 base64', (_name, content) => {
    const bytes = typeof content === 'string' ? Buffer.from(content) : content;
    const facts = factsOfBytes(bytes);
    expect(facts.hash).toBe(xxh64(bytes));
    expect(facts.integrity).toBe(sha384(bytes));
    expect(facts.size).toBe(bytes.length);
    expect(integrityOf(bytes)).toBe(sha384(bytes));
  });

  it('known xxh64 vectors', () => {
    expect(factsOfBytes(Buffer.from('')).hash).toBe('ef46db3751d8e999');
    expect(factsOfBytes(Buffer.from('hello')).hash).toBe('26c7827d889f6da3');
  });

  it('a file read in chunks (larger than one chunk), sync or not, gives what the uploader computes', async () => {
    const root = await makeSite({ 'big.bin': randomBytes(2.5 * 1024 * 1024 + 7) });
    const file = path.join(root, 'big.bin');
    const bytes = await readFile(file);
    const facts = factsOfFileSync(file);
    const uploader = await (await createHasher()).hashFile(file);
    expect(facts).toEqual({ hash: uploader.hash, integrity: sha384(bytes), size: bytes.length });
    expect(facts.hash).toBe(xxh64(bytes));
    expect(await factsOfFile(file)).toEqual(facts);
  });
});

function manifestOf(assets: Manifest['assets'], fingerprint: 'filename' | 'query' = 'filename'): Manifest {
  return {
    format: MANIFEST_FORMAT,
    version: 1,
    fingerprint,
    bucket: 'mybucket',
    prefix: '',
    createdAt: '2025-01-01T00:00:00.000Z',
    assets,
  };
}

describe('manifest format', () => {
  const entry = {
    path: 'css/app.0123456789ab.css',
    hash: '0123456789abcdef',
    integrity: sha384('x'),
    size: 1,
  };

  it('serialises with sorted keys and parses back to the same', () => {
    const m = manifestOf({
      'admin.static': { 'b.js': entry, 'a.js': entry },
      static: { 'css/app.css': entry },
    });
    const text = serializeManifest(m);
    expect(JSON.parse(text)).toEqual(m);
    expect(parseManifest(text, '/m.json')).toEqual(m);
    expect(text.indexOf('"a.js"')).toBeLessThan(text.indexOf('"b.js"'));
    expect(text.indexOf('"admin.static"')).toBeLessThan(text.indexOf('"static"'));
    expect(serializeManifest(manifestOf({}))).toMatch(/"assets": \{\}\n\}\n$/);
  });

  it.each<[string, string, RegExp]>([
    ['not JSON', '{', /is not valid JSON/],
    ['another format', '{"format":"x"}', /is not a nunjucks-s3\/manifest file/],
    ['a newer version', JSON.stringify({ format: MANIFEST_FORMAT, version: 2 }), /version 2, newer/],
    [
      'a bad mode',
      JSON.stringify({ format: MANIFEST_FORMAT, version: 1, fingerprint: 'path', assets: {} }),
      /fingerprint "path"/,
    ],
    [
      'a malformed entry',
      JSON.stringify({
        format: MANIFEST_FORMAT,
        version: 1,
        fingerprint: 'query',
        assets: { static: { 'a.css': { path: 'a.css', hash: 'xyz', integrity: 'sha384-', size: 1 } } },
      }),
      /malformed entry for "a.css" of "static"/,
    ],
  ])('refuses %s with a ConfigError naming the file and the setting', (_name, text, message) => {
    const err = thrown(() => parseManifest(text, '/srv/m.json')) as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.code).toBe('CONFIG_MANIFEST');
    expect(err.setting).toBe('manifestPath / FLASKS3_MANIFEST');
    expect(err.message).toMatch(message);
    expect(err.message).toContain('/srv/m.json');
  });

  it('keeps a path named __proto__ as a path', () => {
    const m = parseManifest(serializeManifest(manifestOf({ static: { __proto__: entry } as never })), '/m');
    expect(Object.keys(m.assets['static']!)).toEqual([]);
    const text = `{"format":"${MANIFEST_FORMAT}","version":1,"fingerprint":"filename","assets":{"static":{"__proto__":${JSON.stringify(entry)}}}}`;
    expect(Object.hasOwn(parseManifest(text, '/m').assets['static']!, '__proto__')).toBe(true);
  });

  it('writes atomically (no temporary file left) and reads back; a missing file reads as undefined', async () => {
    const root = await makeSite();
    const file = path.join(root, 'deep', 'er', 'manifest.json');
    expect(readManifestSync(file)).toBeUndefined();
    const m = manifestOf({ static: { 'css/app.css': entry } });
    await writeManifest(file, m);
    await writeManifest(file, m);
    expect(readManifestSync(file)).toEqual(m);
    expect(await readdir(path.dirname(file))).toEqual(['manifest.json']);
  });
});

describe('url_for with fingerprint, no manifest (files hashed on first use)', () => {
  it.each<[string, string, Record<string, unknown>, string]>([
    [
      'app file',
      'static',
      { filename: 'css/app.css' },
      `${S3}/static/css/app.${short(FILES['static/css/app.css']!)}.css`,
    ],
    [
      'two extensions',
      'static',
      { filename: 'js/app.min.js' },
      `${S3}/static/js/app.min.${short(FILES['static/js/app.min.js']!)}.js`,
    ],
    [
      'no extension',
      'static',
      { filename: 'LICENSE' },
      `${S3}/static/LICENSE.${short(FILES['static/LICENSE']!)}`,
    ],
    [
      'encoded name',
      'static',
      { filename: 'my file+1.css' },
      `${S3}/static/my%20file%2B1.${short(FILES['static/my file+1.css']!)}.css`,
    ],
    [
      'blueprint',
      'admin.static',
      { filename: 'logo.svg' },
      `${S3}/admin/static/logo.${short(FILES['admin/static/logo.svg']!)}.svg`,
    ],
    [
      'normalised filename',
      'static',
      { filename: '/css//./app.css' },
      `${S3}/static/css/app.${short(FILES['static/css/app.css']!)}.css`,
    ],
    [
      '_scheme, _anchor and query kept',
      'static',
      { filename: 'css/app.css', _scheme: 'http', _anchor: 'x', q: 1 },
      `http://mybucket.s3.amazonaws.com/static/css/app.${short(FILES['static/css/app.css']!)}.css?q=1#x`,
    ],
    ['missing file: plain URL', 'static', { filename: 'css/missing.css' }, `${S3}/static/css/missing.css`],
    [
      'hidden file: plain URL (not uploaded)',
      'static',
      { filename: '.hidden.css' },
      `${S3}/static/.hidden.css`,
    ],
    ['folder: plain URL', 'static', { filename: 'css/' }, `${S3}/static/css/`],
    ['folder without slash: plain URL', 'static', { filename: 'css' }, `${S3}/static/css`],
  ])("'filename' mode: %s", async (_name, endpoint, values, expected) => {
    const s3 = new NunjucksS3(makeApp(await makeSite(), { fingerprint: 'filename' }));
    expect(s3.urlFor(endpoint, values)).toBe(expected);
  });

  it.each<[string, string, Record<string, unknown>, string]>([
    [
      'adds ?v=',
      'static',
      { filename: 'css/app.css' },
      `${S3}/static/css/app.css?v=${short(FILES['static/css/app.css']!)}`,
    ],
    [
      'after other query values',
      'static',
      { filename: 'css/app.css', lang: 'en', _anchor: 'top' },
      `${S3}/static/css/app.css?lang=en&v=${short(FILES['static/css/app.css']!)}#top`,
    ],
    [
      "the template's own v wins",
      'static',
      { filename: 'css/app.css', v: 3 },
      `${S3}/static/css/app.css?v=3`,
    ],
    [
      'v=none is no v: the hash is used',
      'static',
      { filename: 'css/app.css', v: null },
      `${S3}/static/css/app.css?v=${short(FILES['static/css/app.css']!)}`,
    ],
    [
      'blueprint',
      'admin.static',
      { filename: 'admin.js' },
      `${S3}/admin/static/admin.js?v=${short(FILES['admin/static/admin.js']!)}`,
    ],
    ['missing file: plain URL', 'static', { filename: 'nope.css' }, `${S3}/static/nope.css`],
  ])("'query' mode: %s", async (_name, endpoint, values, expected) => {
    const s3 = new NunjucksS3(makeApp(await makeSite(), { fingerprint: 'query' }));
    expect(s3.urlFor(endpoint, values)).toBe(expected);
  });

  it.each(['filename', 'query'] as const)(
    "fingerprintStrict ('%s'): a file in no static folder is a UrlBuildError naming it",
    async (mode) => {
      const root = await makeSite();
      const s3 = new NunjucksS3(makeApp(root, { fingerprint: mode, FLASKS3_FINGERPRINT_STRICT: true }));
      for (const [endpoint, filename] of [
        ['static', 'css/missing.css'],
        ['admin.static', 'nope.js'],
        ['static', '.hidden.css'],
      ] as const) {
        const err = thrown(() => s3.urlFor(endpoint, { filename })) as UrlBuildError;
        expect(err).toBeInstanceOf(UrlBuildError);
        expect(err.code).toBe('URL_UNKNOWN_ASSET');
        expect(err.endpoint).toBe(endpoint);
        expect(err.message).toContain(
          `url_for('${endpoint}'): "${filename}" is not a file in the static folder`,
        );
        expect(err.message).toContain('fingerprintStrict / FLASKS3_FINGERPRINT_STRICT is on');
      }
      // Existing files and folder URLs are fine in strict mode.
      expect(s3.urlFor('static', { filename: 'css/app.css' })).toContain('app.');
      expect(s3.urlFor('static', { filename: '' })).toBe(`${S3}/static/`);
    },
  );

  it('hashes a file once: a change while the app runs shows after initApp (a deploy restarts the app)', async () => {
    const root = await makeSite();
    const app = makeApp(root, { fingerprint: 'filename' });
    const s3 = new NunjucksS3(app);
    const before = s3.urlFor('static', { filename: 'css/app.css' });
    await writeFile(path.join(root, 'static/css/app.css'), 'body { color: red; }\n');
    expect(s3.urlFor('static', { filename: 'css/app.css' })).toBe(before);
    // A missing file is remembered as missing too.
    expect(s3.urlFor('static', { filename: 'new.css' })).toBe(`${S3}/static/new.css`);
    await writeFile(path.join(root, 'static/new.css'), 'new');
    expect(s3.urlFor('static', { filename: 'new.css' })).toBe(`${S3}/static/new.css`);
    s3.initApp(app);
    expect(s3.urlFor('static', { filename: 'css/app.css' })).toBe(
      `${S3}/static/css/app.${short('body { color: red; }\n')}.css`,
    );
    expect(s3.urlFor('static', { filename: 'new.css' })).toBe(`${S3}/static/new.${short('new')}.css`);
  });

  it('does not fingerprint a symlink that leaves the static folder (createAll skips it)', async () => {
    const root = await makeSite({ 'outside.css': 'outside' });
    await symlink(path.join(root, 'outside.css'), path.join(root, 'static/link.css'));
    await symlink(path.join(root, 'static/css/app.css'), path.join(root, 'static/inside.css'));
    const s3 = new NunjucksS3(makeApp(root, { fingerprint: 'filename' }));
    expect(s3.urlFor('static', { filename: 'link.css' })).toBe(`${S3}/static/link.css`);
    expect(s3.urlFor('static', { filename: 'inside.css' })).toBe(
      `${S3}/static/inside.${short(FILES['static/css/app.css']!)}.css`,
    );
  });

  it('fingerprints hidden files with includeHidden, as createAll uploads them', async () => {
    const s3 = new NunjucksS3(makeApp(await makeSite(), { fingerprint: 'filename', includeHidden: true }));
    expect(s3.urlFor('static', { filename: '.hidden.css' })).toBe(
      `${S3}/static/.hidden.${short('secret')}.css`,
    );
  });

  it('is off when inactive: the host serves files under their real names', async () => {
    const root = await makeSite();
    for (const more of [
      { debug: true },
      { config: { bucketName: 'mybucket', fingerprint: 'filename' as const, active: false } },
    ]) {
      const s3 = new NunjucksS3(makeApp(root, { fingerprint: 'filename', fingerprintStrict: true }, more));
      expect(s3.urlFor('static', { filename: 'css/app.css' })).toBe('/static/css/app.css');
      expect(s3.urlFor('static', { filename: 'missing.css' })).toBe('/static/missing.css');
    }
  });

  it('is off by default: no file is read (the static folder is empty)', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'fp-empty-'));
    mkdirSync(path.join(root, 'static'));
    const s3 = new NunjucksS3(makeApp(root, { fingerprintStrict: true }, { blueprints: [] }));
    expect(s3.urlFor('static', { filename: 'css/app.css' })).toBe(`${S3}/static/css/app.css`);
  });
});

describe('url_for with a manifest', () => {
  const fake = (p: string, content = 'deployed') => ({
    path: p,
    hash: xxh64(content),
    integrity: sha384(content),
    size: content.length,
  });

  it("'filename': the manifest's paths win, files it lacks are hashed from the folder", async () => {
    const root = await makeSite();
    // Not on disk, as on a server that ships only the manifest (a local file that differs from its
    // entry is hashed instead: test/edges-stale-names.test.ts).
    rmSync(path.join(root, 'static/css/app.css'));
    rmSync(path.join(root, 'admin/static/logo.svg'));
    await writeManifest(
      path.join(root, 'nunjucks-s3-manifest.json'),
      manifestOf({
        static: {
          'css/app.css': fake('css/app.aaaaaaaaaaaa.css'),
          'gone.css': fake('gone.bbbbbbbbbbbb.css'),
        },
        'admin.static': { 'logo.svg': fake('logo.cccccccccccc.svg') },
      }),
    );
    const s3 = new NunjucksS3(makeApp(root, { fingerprint: 'filename' }));
    expect(s3.urlFor('static', { filename: 'css/app.css' })).toBe(`${S3}/static/css/app.aaaaaaaaaaaa.css`);
    // In the manifest, no longer on disk (a deploy without static files): still fingerprinted.
    expect(s3.urlFor('static', { filename: 'gone.css' })).toBe(`${S3}/static/gone.bbbbbbbbbbbb.css`);
    expect(s3.urlFor('admin.static', { filename: 'logo.svg' })).toBe(
      `${S3}/admin/static/logo.cccccccccccc.svg`,
    );
    expect(s3.urlFor('static', { filename: 'js/app.js' })).toBe(
      `${S3}/static/js/app.${short(FILES['static/js/app.js']!)}.js`,
    );
    expect(s3.urlFor('admin.static', { filename: 'admin.js' })).toBe(
      `${S3}/admin/static/admin.${short(FILES['admin/static/admin.js']!)}.js`,
    );
    expect(s3.urlFor('static', { filename: 'nope.js' })).toBe(`${S3}/static/nope.js`);
  });

  it("'query': ?v= from the manifest's hash", async () => {
    const root = await makeSite();
    rmSync(path.join(root, 'static/css/app.css'));
    await writeManifest(
      path.join(root, 'nunjucks-s3-manifest.json'),
      manifestOf({ static: { 'css/app.css': fake('css/app.css') } }, 'query'),
    );
    const s3 = new NunjucksS3(makeApp(root, { fingerprint: 'query' }));
    expect(s3.urlFor('static', { filename: 'css/app.css' })).toBe(
      `${S3}/static/css/app.css?v=${short('deployed')}`,
    );
  });

  it('is found at manifestPath, relative to app.root, or absolute', async () => {
    const root = await makeSite();
    rmSync(path.join(root, 'static/css/app.css'));
    const m = manifestOf({ static: { 'css/app.css': fake('css/app.dddddddddddd.css') } });
    await writeManifest(path.join(root, 'build/assets.json'), m);
    const rel = new NunjucksS3(
      makeApp(root, { fingerprint: 'filename', FLASKS3_MANIFEST: 'build/assets.json' }),
    );
    expect(rel.urlFor('static', { filename: 'css/app.css' })).toBe(`${S3}/static/css/app.dddddddddddd.css`);
    const abs = new NunjucksS3(
      makeApp(root, { fingerprint: 'filename', manifestPath: path.join(root, 'build/assets.json') }),
    );
    expect(abs.urlFor('static', { filename: 'css/app.css' })).toBe(`${S3}/static/css/app.dddddddddddd.css`);
  });

  it('strict: a file in neither the manifest nor the folder names both', async () => {
    const root = await makeSite();
    const file = path.join(root, 'nunjucks-s3-manifest.json');
    await writeManifest(file, manifestOf({ static: {} }));
    const s3 = new NunjucksS3(makeApp(root, { fingerprint: 'filename', fingerprintStrict: true }));
    const err = thrown(() => s3.urlFor('admin.static', { filename: 'x.js' })) as UrlBuildError;
    expect(err.code).toBe('URL_UNKNOWN_ASSET');
    expect(err.message).toBe(
      `url_for('admin.static'): "x.js" is in neither the fingerprint manifest ${file} nor the static folder ` +
        `${path.join(root, 'admin/static')}, so it has no fingerprint (fingerprintStrict / FLASKS3_FINGERPRINT_STRICT is on)`,
    );
  });

  it('refuses, at initApp, a manifest made for the other mode, or a damaged one', async () => {
    const root = await makeSite();
    const file = path.join(root, 'nunjucks-s3-manifest.json');
    await writeManifest(file, manifestOf({}, 'query'));
    const err = thrown(() => new NunjucksS3(makeApp(root, { fingerprint: 'filename' }))) as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.code).toBe('CONFIG_MANIFEST');
    expect(err.message).toContain(
      `the fingerprint manifest ${file} was written for fingerprint 'query', but fingerprint / FLASKS3_FINGERPRINT is 'filename'`,
    );
    await writeFile(file, '{"format": "nunjucks-s3/manifest", "vers');
    expect(() => new NunjucksS3(makeApp(root, { fingerprint: 'query' }))).toThrow(/is not valid JSON/);
    // A failed initApp changes nothing: the instance keeps its previous state.
    const s3 = new NunjucksS3(makeApp(root, { fingerprint: false }));
    expect(s3.urlFor('static', { filename: 'css/app.css' })).toBe(`${S3}/static/css/app.css`);
  });

  it('is not read when fingerprinting is off or the plugin inactive', async () => {
    const root = await makeSite();
    await writeFile(path.join(root, 'nunjucks-s3-manifest.json'), 'not json');
    expect(new NunjucksS3(makeApp(root)).urlFor('static', { filename: 'css/app.css' })).toBe(
      `${S3}/static/css/app.css`,
    );
    const dev = new NunjucksS3(makeApp(root, { fingerprint: 'filename' }, { debug: true }));
    expect(dev.urlFor('static', { filename: 'css/app.css' })).toBe('/static/css/app.css');
  });
});

describe('static_integrity', () => {
  it('gives sha384 of the file for each argument form', async () => {
    const root = await makeSite();
    const s3 = new NunjucksS3(makeApp(root));
    const app = sha384(FILES['static/css/app.css']!);
    const logo = sha384(FILES['admin/static/logo.svg']!);
    expect(s3.staticIntegrity('css/app.css')).toBe(app);
    expect(s3.staticIntegrity('static', 'css/app.css')).toBe(app);
    expect(s3.staticIntegrity('static', { filename: 'css/app.css' })).toBe(app);
    expect(s3.staticIntegrity({ filename: 'css/app.css' })).toBe(app);
    expect(s3.staticIntegrity('static', { filename: 'css/app.css', _scheme: 'http', v: 2 })).toBe(app);
    expect(s3.staticIntegrity('admin.static', 'logo.svg')).toBe(logo);
    expect(s3.staticIntegrity('admin.static', { filename: 'logo.svg' })).toBe(logo);
    expect(s3.staticIntegrity('static', '/css//app.css')).toBe(app);
  });

  it('prefers the manifest (what was uploaded) when fingerprinting', async () => {
    const root = await makeSite();
    rmSync(path.join(root, 'static/css/app.css'));
    await writeManifest(
      path.join(root, 'nunjucks-s3-manifest.json'),
      manifestOf({
        static: {
          'css/app.css': { path: 'css/app.css', hash: xxh64('v1'), integrity: sha384('v1'), size: 2 },
        },
      }),
    );
    const s3 = new NunjucksS3(makeApp(root, { fingerprint: 'filename' }));
    expect(s3.staticIntegrity('css/app.css')).toBe(sha384('v1'));
    expect(s3.staticIntegrity('js/app.js')).toBe(sha384(FILES['static/js/app.js']!));
  });

  it('follows edits when inactive (development), and not when active', async () => {
    const root = await makeSite();
    const dev = new NunjucksS3(makeApp(root, {}, { debug: true }));
    const prod = new NunjucksS3(makeApp(root));
    expect(dev.staticIntegrity('css/app.css')).toBe(sha384(FILES['static/css/app.css']!));
    expect(prod.staticIntegrity('css/app.css')).toBe(sha384(FILES['static/css/app.css']!));
    await writeFile(path.join(root, 'static/css/app.css'), 'edited, and longer than before');
    expect(dev.staticIntegrity('css/app.css')).toBe(sha384('edited, and longer than before'));
    expect(prod.staticIntegrity('css/app.css')).toBe(sha384(FILES['static/css/app.css']!));
    expect(() => dev.staticIntegrity('later.css')).toThrow(UrlBuildError);
    await writeFile(path.join(root, 'static/later.css'), 'later');
    expect(dev.staticIntegrity('later.css')).toBe(sha384('later'));
  });

  it.each<[string, unknown[], string, RegExp]>([
    [
      'a missing file',
      ['css/missing.css'],
      'URL_UNKNOWN_ASSET',
      /"css\/missing.css" is not a file in the static folder .*, so its integrity is unknown/,
    ],
    ['a hidden file', ['.hidden.css'], 'URL_UNKNOWN_ASSET', /its integrity is unknown/],
    ['a folder', ['static', 'css/'], 'URL_UNKNOWN_ASSET', /"css\/" is not a file/],
    [
      'no filename',
      ['admin.static', {}],
      'URL_MISSING_FILENAME',
      /static_integrity\('admin.static'\) needs a filename/,
    ],
    [
      'an endpoint alone',
      ['admin.static'],
      'URL_MISSING_FILENAME',
      /static_integrity\('admin.static'\) needs a filename/,
    ],
    ['static alone', ['static'], 'URL_MISSING_FILENAME', /static_integrity\('static'\) needs a filename/],
    [
      'a filename keyword of none',
      ['static', { filename: null }],
      'URL_MISSING_FILENAME',
      /needs a filename/,
    ],
    [
      'an unknown blueprint',
      ['shop.static', 'a.css'],
      'URL_UNKNOWN_BLUEPRINT',
      /no blueprint "shop" with a static folder/,
    ],
    ['a non-static endpoint', ['index', 'a.css'], 'URL_BAD_ENDPOINT', /"index" is not a static endpoint/],
    [
      'three strings',
      ['static', 'a.css', 'b.css'],
      'URL_BAD_ARGUMENTS',
      /takes an endpoint and one filename/,
    ],
    ['a list', [['a.css']], 'URL_BAD_ARGUMENTS', /got a list/],
    [
      'a filename object',
      ['static', { filename: {} }],
      'URL_BAD_FILENAME',
      /filename must be a string, got object/,
    ],
    ['a .. segment', ['../secret'], 'URL_BAD_FILENAME', /must not contain '..' segments/],
  ])('refuses %s with a UrlBuildError', async (_name, args, code, message) => {
    const s3 = new NunjucksS3(makeApp(await makeSite()));
    const err = thrown(() => (s3.staticIntegrity as (...a: unknown[]) => string)(...args)) as UrlBuildError;
    expect(err).toBeInstanceOf(UrlBuildError);
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
  });

  it('needs initApp', () => {
    expect(() => new NunjucksS3().staticIntegrity('a.css')).toThrow(/has no app yet/);
  });
});

describe('rendering templates-test/sri.html through a real Nunjucks Environment', () => {
  const lines = (text: string) =>
    text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);

  it.each(['filename', 'query', false] as const)(
    'fingerprint %s: URLs and integrity agree with the files',
    async (mode) => {
      const root = await makeSite();
      const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(TEMPLATES), { autoescape: true });
      new NunjucksS3(makeApp(root, { fingerprint: mode }, { env }));
      const url = (dir: string, name: string, ext: string, content: string) =>
        mode === 'filename'
          ? `${S3}/${dir}/${name}.${short(content)}.${ext}`
          : `${S3}/${dir}/${name}.${ext}${mode === 'query' ? `?v=${short(content)}` : ''}`;
      const css = FILES['static/css/app.css']!;
      const js = FILES['static/js/app.js']!;
      const admin = FILES['admin/static/admin.js']!;
      expect(lines(env.render('sri.html'))).toEqual([
        `<link rel="stylesheet" href="${url('static/css', 'app', 'css', css)}" integrity="${sha384(css)}" crossorigin="anonymous">`,
        `<script src="${url('static/js', 'app', 'js', js)}" integrity="${sha384(js)}" crossorigin="anonymous"></script>`,
        `<script src="${url('admin/static', 'admin', 'js', admin)}" integrity="${sha384(admin)}" crossorigin="anonymous"></script>`,
      ]);
    },
  );

  it('renders local URLs with integrity when inactive', async () => {
    const root = await makeSite();
    const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(TEMPLATES), { autoescape: true });
    new NunjucksS3(makeApp(root, { fingerprint: 'filename' }, { env, debug: true }));
    const html = env.render('sri.html');
    expect(html).toContain(
      `href="/static/css/app.css" integrity="${sha384(FILES['static/css/app.css']!)}" crossorigin="anonymous"`,
    );
    expect(html).toContain(
      `src="/admin/static/admin.js" integrity="${sha384(FILES['admin/static/admin.js']!)}"`,
    );
  });

  it('a missing file in a template is a render error naming it', async () => {
    const root = await makeSite();
    await rm(path.join(root, 'static/js/app.js'));
    const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(TEMPLATES), { autoescape: true });
    new NunjucksS3(makeApp(root, {}, { env }));
    expect(() => env.render('sri.html')).toThrow(
      /static_integrity\('static', "js\/app.js"\): "js\/app.js" is not a file/,
    );
  });
});
