// The local hash cache (src/hash-cache.ts): an unchanged re-deploy takes hashes from it instead of
// reading the files; a change to a file (even one that keeps its size and mtime) is never hidden by it;
// a broken cache is ignored. Deploys go to the real S3 server of the run; the bucket is compared with
// the local files after each one.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppLike } from '../src/app.js';
import { hashCacheDir, settled, stampOf } from '../src/deploy/hash-cache.js';
import { createAll } from '../src/deploy/upload.js';
import { UploadError } from '../src/errors.js';
import { loadHashCache, saveHashCache } from './helpers/hash-cache-file.js';
import { freshBucket } from './helpers/s3.js';
import {
  expectBucketMatches,
  objectBytes,
  readRecordJson,
  removeTemps,
  s3Settings,
  tempDir,
  writeFiles,
} from './helpers/upload-check.js';

afterAll(removeTemps);

const FILES: Record<string, string | Buffer> = {
  'static/css/app.css': 'body { color: red; }\n',
  'static/js/app.js': 'export const a = 1;\n',
  'static/img/big.bin': Buffer.alloc(3 * 1024 * 1024, 7), // streamed, not read whole
  'static/data/notes.txt': 'notes\n',
};

const logger = { warn: () => {} };

/** Wait until every file's timestamps are old enough to be cached (hash-cache.ts: `settled`). */
async function settle(root: string): Promise<void> {
  for (const rel of Object.keys(FILES)) {
    const st = statSync(path.join(root, rel));
    while (!settled(stampOf(st), Date.now())) await new Promise((r) => setTimeout(r, 20));
  }
}

function expected(root: string): Map<string, string> {
  return new Map(Object.keys(FILES).map((rel) => [rel, path.join(root, rel)]));
}

let cacheDir: string;
let savedEnv: string | undefined;
beforeEach(() => {
  // Each test its own cache folder, so the one file in it is this test's cache.
  savedEnv = process.env.NUNJUCKS_S3_CACHE_DIR;
  cacheDir = tempDir('hash-cache');
  process.env.NUNJUCKS_S3_CACHE_DIR = cacheDir;
});
afterEach(() => {
  if (savedEnv === undefined) delete process.env.NUNJUCKS_S3_CACHE_DIR;
  else process.env.NUNJUCKS_S3_CACHE_DIR = savedEnv;
});

function cacheFile(): string {
  const files = readdirSync(cacheDir).filter((f) => f.endsWith('.json'));
  expect(files).toHaveLength(1);
  return path.join(cacheDir, files[0]!);
}

async function site(): Promise<{
  root: string;
  app: (more?: Record<string, unknown>) => AppLike;
  bucket: string;
}> {
  const root = tempDir('hash-cache-site');
  writeFiles(root, FILES);
  await settle(root);
  const bucket = await freshBucket('hc');
  return {
    root,
    bucket,
    app: (more = {}) => ({
      root,
      config: s3Settings(bucket, undefined, {
        FLASKS3_ONLY_MODIFIED: true,
        FLASKS3_PUT_BUCKET_ACL: false,
        ...more,
      }),
    }),
  };
}

describe('createAll: the hash cache', () => {
  it('a deploy caches the hash of every file it sent; a re-deploy trusts an entry whose stat matches', async () => {
    const { root, app, bucket } = await site();
    const first = await createAll(app(), { logger });
    expect(first.uploaded).toHaveLength(4);
    const cached = loadHashCache(cacheFile());
    expect([...cached.keys()].sort()).toEqual(
      Object.keys(FILES)
        .map((r) => path.join(root, r))
        .sort(),
    );

    const again = await createAll(app(), { logger });
    expect(again.uploaded).toEqual([]);
    expect(again.skipped.map((e) => e.reason)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged']);

    // Proof that the file was not read: a cache entry with the file's stat but another hash is believed,
    // so the file is uploaded as changed. (Nothing but an edit of the cache itself can do this: any
    // write to the file changes its ctime.)
    const css = path.join(root, 'static/css/app.css');
    const entry = cached.get(css)!;
    cached.set(css, { ...entry, hash: '0123456789abcdef' });
    expect(saveHashCache(cacheFile(), cached)).toBe(true);
    const fooled = await createAll(app(), { logger });
    expect(fooled.uploaded.map((e) => [e.key, e.reason])).toEqual([['static/css/app.css', 'changed']]);
    // The upload hashed what it sent: record and cache hold the true hash again, and the next run skips.
    expect(loadHashCache(cacheFile()).get(css)!.hash).toBe(entry.hash);
    expect((await createAll(app(), { logger })).uploaded).toEqual([]);

    // hashCache off: the cache is neither read nor written; the files are hashed.
    cached.set(css, { ...entry, hash: '0123456789abcdef' });
    saveHashCache(cacheFile(), cached);
    const before = readFileSync(cacheFile());
    const off = await createAll(app({ FLASKS3_HASH_CACHE: false }), { logger });
    expect(off.uploaded).toEqual([]);
    expect(readFileSync(cacheFile()).equals(before)).toBe(true);
    await expectBucketMatches({ bucket, expected: expected(root) });
  });

  it('a file changed after the cache was written is uploaded, even with the same size and mtime', async () => {
    const { root, app, bucket } = await site();
    await createAll(app(), { logger });
    for (const rel of ['static/css/app.css', 'static/img/big.bin']) {
      const abs = path.join(root, rel);
      const st = statSync(abs);
      const ref = `${abs}.ref`;
      execFileSync('touch', ['-r', abs, ref]); // the mtime to the nanosecond (utimes keeps microseconds)
      const bytes = readFileSync(abs);
      bytes[0] = bytes[0]! ^ 1; // same size
      writeFileSync(abs, bytes);
      execFileSync('touch', ['-r', ref, abs]); // and the old mtime: only ctime tells
      rmSync(ref);
      expect(statSync(abs).mtimeMs).toBe(st.mtimeMs);
      expect(statSync(abs).size).toBe(st.size);
    }
    const report = await createAll(app(), { logger });
    expect(report.uploaded.map((e) => [e.key, e.reason]).sort()).toEqual([
      ['static/css/app.css', 'changed'],
      ['static/img/big.bin', 'changed'],
    ]);
    expect((await objectBytes(bucket, 'static/css/app.css'))!.toString()).toBe('cody { color: red; }\n');
    await expectBucketMatches({ bucket, expected: expected(root) });
  });

  it.each([
    ['not JSON', 'not json {'],
    ['another format', JSON.stringify({ format: 'other', version: 1, files: {} })],
    [
      'malformed entries',
      JSON.stringify({ format: 'nunjucks-s3/hash-cache', version: 1, files: { a: 1, b: [1, 2] } }),
    ],
    ['empty', ''],
  ])('a corrupt cache (%s) is ignored: files are hashed, and the cache is rewritten', async (_name, text) => {
    const { root, app, bucket } = await site();
    await createAll(app(), { logger });
    writeFileSync(cacheFile(), text);
    const report = await createAll(app(), { logger });
    expect(report.uploaded).toEqual([]);
    expect(report.skipped).toHaveLength(4);
    expect(loadHashCache(cacheFile()).size).toBe(4);
    await expectBucketMatches({ bucket, expected: expected(root) });
  });

  it('a cache that cannot be read or written (a folder in its place) never fails a deploy', async () => {
    const { root, app, bucket } = await site();
    await createAll(app(), { logger });
    const file = cacheFile();
    rmSync(file); // replaced by a folder of the same name
    mkdirSync(file);
    writeFileSync(path.join(root, 'static/js/app.js'), 'export const a = 2;\n');
    const report = await createAll(app(), { logger });
    expect(report.uploaded.map((e) => e.key)).toEqual(['static/js/app.js']);
    expect(statSync(file).isDirectory()).toBe(true);
    await expectBucketMatches({ bucket, expected: expected(root) });
  });

  it('an unchanged re-deploy, filtered or not, leaves the cache file alone; a removed file or a stray entry makes it rewritten', async () => {
    const { root, app, bucket } = await site();
    await createAll(app(), { logger });
    const file = cacheFile();
    const written = statSync(file); // a save renames a new file over it: another inode
    const bytes = readFileSync(file);
    expect((await createAll(app(), { logger })).uploaded).toEqual([]);
    expect(statSync(file).ino).toBe(written.ino);
    expect(readFileSync(file).equals(bytes)).toBe(true);
    // So does a filtered run that finds its files as cached (it keeps the other files' entries).
    expect((await createAll(app({ FLASKS3_FILEPATH_FILTER_REGEX: '^css' }), { logger })).uploaded).toEqual(
      [],
    );
    expect(statSync(file).ino).toBe(written.ino);

    // An entry for a file that is not in the static folders any more (or never was) is dropped.
    const withStray = loadHashCache(file);
    const css = path.join(root, 'static/css/app.css');
    withStray.set(path.join(root, 'static/gone.css'), withStray.get(css)!);
    saveHashCache(file, withStray);
    expect((await createAll(app(), { logger })).uploaded).toEqual([]);
    expect([...loadHashCache(file).keys()].sort()).toEqual([...expected(root).values()].sort());

    // So is the entry of a file deleted since, and the rest are kept as they were.
    rmSync(css);
    await createAll(app({ FLASKS3_DELETE_STALE: true }), { logger });
    const kept = loadHashCache(file);
    expect(kept.has(css)).toBe(false);
    expect(kept.size).toBe(3);
    const rest = new Map(expected(root));
    rest.delete('static/css/app.css');
    await expectBucketMatches({ bucket, expected: rest });
  });

  it('a dry run writes no cache', async () => {
    const { app } = await site();
    await createAll(app(), { logger, dryRun: true });
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  it('with fingerprinting, names and integrity from the cache match a fresh hash', async () => {
    const { root, app } = await site();
    const manifestPath = path.join(root, 'manifest.json');
    const settings = { FLASKS3_FINGERPRINT: 'filename', FLASKS3_MANIFEST: manifestPath };
    await createAll(app(settings), { logger });
    const fresh = readFileSync(manifestPath, 'utf8');
    expect([...loadHashCache(cacheFile()).values()].every((e) => e.integrity?.startsWith('sha384-'))).toBe(
      true,
    );
    const again = await createAll(app(settings), { logger });
    expect(again.uploaded).toEqual([]);
    const assets = (s: string) => (JSON.parse(s) as { assets: unknown }).assets;
    expect(assets(readFileSync(manifestPath, 'utf8'))).toEqual(assets(fresh));
    // A run without fingerprinting keeps the integrity values in the cache for the next one that has it.
    await createAll(app(), { logger });
    expect([...loadHashCache(cacheFile()).values()].every((e) => e.integrity?.startsWith('sha384-'))).toBe(
      true,
    );
    const off = await createAll(app({ ...settings, FLASKS3_HASH_CACHE: false }), { logger });
    expect(off.uploaded).toEqual([]);
    expect(assets(readFileSync(manifestPath, 'utf8'))).toEqual(assets(fresh));
  });

  it('with fingerprinting, bytes sent that do not have the hash their name was made from fail the file', async () => {
    const { root, app, bucket } = await site();
    const manifestPath = path.join(root, 'manifest.json');
    const settings = { FLASKS3_FINGERPRINT: 'filename', FLASKS3_MANIFEST: manifestPath };
    await createAll(app(settings), { logger });
    const first = readFileSync(manifestPath, 'utf8');
    // The cache claims another hash for app.css (as a file written mid-deploy would look): its
    // fingerprinted name would be made from that hash, and the bytes sent would not have it.
    const cached = loadHashCache(cacheFile());
    const css = path.join(root, 'static/css/app.css');
    cached.set(css, { ...cached.get(css)!, hash: '0123456789abcdef' });
    expect(saveHashCache(cacheFile(), cached)).toBe(true);
    const err = await createAll(app(settings), { logger }).then(
      () => undefined,
      (e: unknown) => e as UploadError,
    );
    expect(err).toBeInstanceOf(UploadError);
    // Both copies of the file (its plain and its fingerprinted key) were sent with bytes that are not
    // what the cache claimed.
    expect(err!.failures.map((f) => f.key).sort()).toEqual([
      'static/css/app.0123456789ab.css',
      'static/css/app.css',
    ]);
    expect(err!.failures[0]!.message).toContain(`${css} changed while it was being uploaded`);
    // Nothing names the false hash: not the record, not the manifest (kept from the first deploy).
    expect(readFileSync(manifestPath, 'utf8')).toBe(first);
    expect((await readRecordJson(bucket, ''))?.objects['static/css/app.0123456789ab.css']).toBeUndefined();
    // Caught before sending: no object under the false name either.
    expect(await objectBytes(bucket, 'static/css/app.0123456789ab.css')).toBeUndefined();
  });
});

describe('hash cache: pure parts', () => {
  it('an entry is cached only when the timestamps are older than the moment the file was first seen', () => {
    const stamp = { size: 1, mtimeMs: 10_000.5, ctimeMs: 10_000.5, ino: 1, dev: 1 };
    expect(settled(stamp, 10_000.5)).toBe(false); // same tick: a write right after would keep them
    expect(settled(stamp, 10_050)).toBe(false);
    expect(settled(stamp, 10_200)).toBe(true);
    expect(settled({ ...stamp, ctimeMs: 10_150 }, 10_200)).toBe(false); // ctime counts too
    // Whole seconds: a file system that keeps seconds only: 2 s of margin.
    const coarse = { ...stamp, mtimeMs: 10_000, ctimeMs: 10_000 };
    expect(settled(coarse, 11_500)).toBe(false);
    expect(settled(coarse, 12_500)).toBe(true);
  });

  it('lives in node_modules/.cache of the nearest folder with node_modules, else the user cache folder', () => {
    const saved = process.env.NUNJUCKS_S3_CACHE_DIR;
    delete process.env.NUNJUCKS_S3_CACHE_DIR;
    try {
      const project = tempDir('hash-cache-project');
      mkdirSync(path.join(project, 'node_modules'));
      mkdirSync(path.join(project, 'site'));
      expect(hashCacheDir(path.join(project, 'site'))).toBe(
        path.join(project, 'node_modules', '.cache', 'nunjucks-s3'),
      );
      const bare = tempDir('hash-cache-bare');
      expect(hashCacheDir(bare).endsWith(`${path.sep}nunjucks-s3`)).toBe(true);
      expect(hashCacheDir(bare).startsWith(bare)).toBe(false);
    } finally {
      process.env.NUNJUCKS_S3_CACHE_DIR = saved;
    }
  });
});
