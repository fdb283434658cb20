// Odd but valid input works: empty files, names with unicode, spaces and URL metacharacters, a tree 30
// folders deep, and large files (multipart, plain and gzipped) uploaded with memory that does not grow
// with the file. Each deploy is checked against the local files and the record; the odd names are
// also fetched through the URLs url_for renders, and the large file's upload is run as a CLI process
// whose peak RSS is measured against a tiny upload's.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import type { AppLike } from '../src/app.js';
import { createAll, type UploadReport } from '../src/deploy/upload.js';
import { NunjucksS3 } from '../src/template/plugin.js';
import { freshBucket, s3Backend, testClient } from './helpers/s3.js';
import {
  expectBucketMatches,
  expectedKeys,
  objectBytes,
  ownStderr,
  removeTemps,
  runCli,
  s3Env,
  s3Settings,
  tempDir,
  writeFiles,
} from './helpers/upload-check.js';

const MiB = 1024 * 1024;
const backend = s3Backend();

afterAll(removeTemps);

function quiet() {
  const warnings: string[] = [];
  return { warnings, logger: { warn: (m: string) => void warnings.push(m) } };
}

const DEEP = Array.from({ length: 30 }, (_, i) => `l${String(i).padStart(2, '0')}`).join('/');
const ODD_FILES: Record<string, string | Buffer> = {
  'static/ünï cødé/fïlé name.css': '.ü { content: "ü" }\n',
  'static/日本語/ファイル.txt': 'こんにちは\n',
  'static/emoji/🎉 party.svg': '<svg xmlns="http://www.w3.org/2000/svg"/>\n',
  "static/meta/a+b&c=d;e,f!$'()~[x].js": 'export {};\n',
  'static/meta/100% sure #1?.txt': 'percent, hash, question mark\n',
  'static/meta/-leading dash.txt': 'dash\n',
  'static/meta/trailing space .txt': 'space before the dot\n',
  [`static/meta/${'n'.repeat(200)}.txt`]: 'a 204-byte file name\n',
  'static/empty.txt': '',
  'static/css/empty.css': '',
  'static/img/empty.png': Buffer.alloc(0),
  [`static/${DEEP}/deep.css`]: '.deep { z-index: 30 }\n',
  'admin/static/ä dmin.css': 'nav {}\n',
};

describe('odd names, empty files, a deep tree', () => {
  it('are uploaded under the keys url_for renders, byte for byte, and recorded; a rerun skips them all', async () => {
    const root = tempDir('odd');
    writeFiles(root, ODD_FILES);
    const bucket = await freshBucket('odd');
    const config = s3Settings(bucket, backend.endpoint, {
      FLASKS3_GZIP: true,
      FLASKS3_GZIP_ONLY_EXTS: ['.css', 'svg'],
      // URLs straight to the test server, path-style, so the test can fetch what url_for renders.
      FLASKS3_BUCKET_DOMAIN: new URL(backend.endpoint).host,
      FLASKS3_URL_STYLE: 'path',
      FLASKS3_USE_HTTPS: false,
    });
    const app: AppLike = {
      root,
      blueprints: [{ name: 'admin', staticFolder: 'admin/static', urlPrefix: '/admin' }],
      config,
    };
    const { logger, warnings } = quiet();
    const report = await createAll(app, { logger, putBucketAcl: false });
    expect(warnings).toEqual([]);
    expect(report.failed).toEqual([]);
    const expected = new Map([
      ...expectedKeys(path.join(root, 'static'), 'static'),
      ...expectedKeys(path.join(root, 'admin/static'), 'admin/static'),
    ]);
    expect(expected.size).toBe(Object.keys(ODD_FILES).length);
    expect(report.uploaded.map((e) => e.key).sort()).toEqual([...expected.keys()].sort());
    // Gzip is on for it, but kept only when it makes a file smaller: an empty file is stored empty.
    expect(report.uploaded.find((e) => e.key === 'static/css/empty.css')).toMatchObject({
      size: 0,
      gzip: false,
      contentType: 'text/css; charset=utf-8',
    });
    await expectBucketMatches({ bucket, expected, listPrefixes: ['static/', 'admin/static/'] });

    // What a browser gets from each URL url_for renders (objects are public-read on RGW; s3rver ignores ACLs).
    const s3 = new NunjucksS3(app);
    for (const [key, file] of expected) {
      const [endpoint, prefix] = key.startsWith('admin/')
        ? ['admin.static', 'admin/static/']
        : ['static', 'static/'];
      const url = s3.urlFor(endpoint, { filename: key.slice(prefix.length) });
      expect(url.startsWith(`http://${new URL(backend.endpoint).host}/${bucket}/${prefix}`), url).toBe(true);
      const res = await fetch(url);
      expect(res.status, `${key} at ${url}`).toBe(200);
      // fetch gunzips Content-Encoding: gzip, as a browser does.
      expect(Buffer.from(await res.arrayBuffer()).equals(readFileSync(file)), key).toBe(true);
    }

    const rerun = await createAll(app, { logger, onlyModified: true, putBucketAcl: false });
    expect(rerun.uploaded).toEqual([]);
    expect(rerun.skipped).toHaveLength(expected.size);
  });
});

async function removeObjects(bucket: string, keys: readonly string[]): Promise<void> {
  const client = testClient();
  for (const key of keys) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
}

/**
 * A preload that prints, when the process exits, its peak RSS and the most memory held in buffers
 * (ArrayBuffers, where file bytes live) measured right after a garbage collection every 20 ms: peak RSS
 * includes garbage not yet collected, the second is what the upload really keeps (needs --expose-gc).
 */
const MEMORY_PROBE = `data:text/javascript,${encodeURIComponent(
  [
    'let live = 0;',
    'const gc = globalThis.gc;',
    'if (gc) setInterval(() => { gc(); live = Math.max(live, process.memoryUsage().arrayBuffers); }, 20).unref();',
    'process.on("exit", () => process.stderr.write("peak-rss=" + process.resourceUsage().maxRSS * 1024 + " live-buffers=" + live + "\\n"));',
  ].join('\n'),
)}`;

/** Upload `files` through the CLI process; its report, peak RSS and (with `live`) peak live buffer bytes. */
async function cliUpload(
  files: Record<string, string | Buffer>,
  settings: Record<string, unknown> = {},
  options: { live?: boolean } = {},
): Promise<{ root: string; bucket: string; report: UploadReport; peakRss: number; liveBuffers: number }> {
  const root = tempDir('large');
  const bucket = await freshBucket('large');
  writeFiles(root, files);
  writeFiles(root, {
    'nunjucks-s3.config.json': JSON.stringify({
      config: {
        FLASKS3_BUCKET_NAME: bucket,
        FLASKS3_ENDPOINT_URL: backend.endpoint,
        FLASKS3_PUT_BUCKET_ACL: false,
        ...settings,
      },
    }),
  });
  const run = await runCli(['upload', '--json'], {
    cwd: root,
    env: s3Env(),
    nodeArgs: [...(options.live ? ['--expose-gc'] : []), '--import', MEMORY_PROBE],
  });
  const stderr = ownStderr(run.stderr);
  const memory = /peak-rss=(\d+) live-buffers=(\d+)\n/.exec(stderr);
  expect(stderr.replace(memory?.[0] ?? '', '')).toBe('');
  expect(run.code).toBe(0);
  return {
    root,
    bucket,
    report: JSON.parse(run.stdout) as UploadReport,
    peakRss: Number(memory![1]),
    liveBuffers: Number(memory![2]),
  };
}

describe('large files', () => {
  it('a 40 MiB file goes up as a multipart upload, byte for byte; a 120 MiB one never holds a whole part in memory', async ({
    annotate,
  }) => {
    const tiny = await cliUpload({ 'static/tiny.txt': 'tiny\n' });
    const large = await cliUpload(
      { 'static/video/big.bin': randomBytes(40 * MiB), 'static/small.txt': 'small\n' },
      { FLASKS3_MULTIPART_THRESHOLD: 16 * MiB },
    );
    expect(large.report.uploaded.map((e) => [e.key, e.size])).toEqual([
      ['static/small.txt', 6],
      ['static/video/big.bin', 40 * MiB],
    ]);
    await expectBucketMatches({
      bucket: large.bucket,
      expected: expectedKeys(path.join(large.root, 'static'), 'static'),
    });
    // Three times the file, with the live buffers measured: each part streams from its range of the
    // file (4 at a time), so what is held is a few read buffers, never a whole 8 MiB part.
    const larger = await cliUpload(
      { 'static/video/bigger.bin': randomBytes(120 * MiB) },
      { FLASKS3_MULTIPART_THRESHOLD: 16 * MiB },
      { live: true },
    );
    await expectBucketMatches({
      bucket: larger.bucket,
      expected: expectedKeys(path.join(larger.root, 'static'), 'static'),
    });
    const mib = (n: number) => `${(n / MiB).toFixed(0)} MiB`;
    await annotate(
      `peak RSS of the CLI: ${mib(tiny.peakRss)} uploading 5 bytes, ${mib(large.peakRss)} uploading 40 MiB; ` +
        `uploading 120 MiB, at most ${mib(larger.liveBuffers)} of buffers live after GC (peak RSS ${mib(larger.peakRss)})`,
    );
    expect(larger.liveBuffers).toBeGreaterThan(256 * 1024); // the probe saw the read buffers
    expect(larger.liveBuffers).toBeLessThan(16 * MiB);
    // RGW's test cluster keeps objects in 4 GiB of RAM: give the space back.
    await removeObjects(large.bucket, ['static/video/big.bin']);
    await removeObjects(larger.bucket, ['static/video/bigger.bin']);
  }, 180_000);

  it('a large gzipped file (length unknown in advance) streams through gzip and multipart, and gunzips to the original', async () => {
    const line = 'body { font-family: system-ui; margin: 0 auto; max-width: 72ch } /* padding */\n';
    const css = Buffer.from(line.repeat(Math.ceil((24 * MiB) / line.length)));
    const root = tempDir('gzbig');
    writeFiles(root, { 'static/css/huge.css': css });
    const bucket = await freshBucket('gzbig');
    const { logger } = quiet();
    const report = await createAll(
      { root, config: s3Settings(bucket, backend.endpoint, { FLASKS3_GZIP: true }) },
      { logger, putBucketAcl: false },
    );
    expect(report.uploaded).toMatchObject([{ key: 'static/css/huge.css', gzip: true, size: css.length }]);
    expect(report.bytesSent).toBeLessThan(css.length / 10);
    expect((await objectBytes(bucket, 'static/css/huge.css'))!.equals(css)).toBe(true);
    await expectBucketMatches({ bucket, expected: expectedKeys(path.join(root, 'static'), 'static') });
    await removeObjects(bucket, ['static/css/huge.css']);
  }, 120_000);
});
