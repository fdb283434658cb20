// The `nunjucks-s3` command, run as a real process (node --import tsx src/cli/main.ts) in fixture projects:
// each subcommand, flag > env > file precedence, dry run, JSON output, exit codes, one clear message per
// configuration mistake, and real uploads to the test S3 server. The argument/config helpers and the
// progress output are also tested in-process, table-driven.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, HeadBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCliArgs, urlArguments } from '../src/cli/args.js';
import { findConfigFile } from '../src/cli/config-file.js';
import { applyOverrides, mergeLayers, settingsFromEnv } from '../src/cli/layers.js';
import { createProgress, formatBytes, formatDuration } from '../src/cli/progress.js';
import { UsageError } from '../src/cli/usage-error.js';
import { SETTINGS } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import { freshBucket, s3Backend, testClient, uniqueBucket } from './helpers/s3.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(REPO, 'src/cli/main.ts');
const TSX = path.join(REPO, 'node_modules/tsx/dist/loader.mjs');
const FIXTURES = path.join(REPO, 'test/fixtures/cli');
const BASIC = path.join(FIXTURES, 'basic');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the CLI with a clean environment: no FLASKS3_* or AWS_* from the machine running the tests. */
function run(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<Run> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('FLASKS3_') && !k.startsWith('AWS_') && k !== 'DEBUG') env[k] = v;
  }
  Object.assign(env, { NO_COLOR: '1' }, opts.env);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], {
      cwd: opts.cwd ?? BASIC,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Credentials and endpoint of the test server, as a user would pass them. */
function s3Env(): Record<string, string> {
  const s3 = s3Backend();
  return {
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    AWS_REGION: s3.region,
  };
}

/** The keys the basic fixture uploads under a prefix (the hidden file is not one of them). */
const BASIC_FILES: Record<string, string> = {
  'static/css/app.css': 'static/css/app.css',
  'static/js/app.js': 'static/js/app.js',
  'static/img/dot.png': 'static/img/dot.png',
  'admin/static/admin.css': 'admin/static/admin.css',
};
const basicKeys = (prefix: string) => Object.keys(BASIC_FILES).map((k) => (prefix ? `${prefix}/${k}` : k));

async function listKeys(bucket: string): Promise<string[]> {
  const res = await testClient().send(new ListObjectsV2Command({ Bucket: bucket }));
  return (res.Contents ?? []).map((o) => o.Key!).sort();
}

async function bucketExists(bucket: string): Promise<boolean> {
  try {
    await testClient().send(new HeadBucketCommand({ Bucket: bucket }));
    return true;
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw err;
  }
}

const tmpDirs: string[] = [];
function tmpProject(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'nunjucks-s3-cli-'));
  tmpDirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}
afterAll(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

describe('parseCliArgs', () => {
  it.each([
    { argv: ['upload'], settings: {} },
    {
      argv: ['upload', '--bucket', 'bucket-1', '--prefix=v2'],
      settings: { bucketName: 'bucket-1', prefix: 'v2' },
    },
    {
      argv: ['upload', '--concurrency', '8', '--max-deletes', '10'],
      settings: { concurrency: 8, maxDeletes: 10 },
    },
    { argv: ['upload', '--gzip', '--no-gzip'], settings: { gzip: false } },
    { argv: ['upload', '--no-gzip', '--gzip'], settings: { gzip: true } },
    {
      argv: ['upload', '--no-bucket-acl', '--include-hidden'],
      settings: { putBucketAcl: false, includeHidden: true },
    },
    {
      argv: ['upload', '--only-modified', '--delete-stale'],
      settings: { onlyModified: true, deleteStale: true },
    },
    {
      argv: ['upload', '--filter', '^css', '--object-acl', 'none'],
      settings: { filepathFilterRegex: '^css', objectAcl: 'none' },
    },
    {
      argv: ['upload', '--endpoint-url', 'http://127.0.0.1:9000'],
      settings: { endpointUrl: 'http://127.0.0.1:9000' },
    },
    { argv: ['upload', '--set', 'FLASKS3_USE_CACHE_CONTROL=yes'], settings: { useCacheControl: true } },
    { argv: ['upload', '--set', 'cacheControl=max-age=60'], settings: { cacheControl: 'max-age=60' } },
    { argv: ['upload', '--set', 'gzipOnlyExts=css, .JS'], settings: { gzipOnlyExts: ['css', '.JS'] } },
    { argv: ['upload', '--prefix', 'a', '--set', 'FLASKS3_PREFIX=b'], settings: { prefix: 'b' } },
    {
      argv: ['upload', '--cdn-domain', 'cdn.example.com', '--region', 'eu-west-1'],
      settings: { cdnDomain: 'cdn.example.com', region: 'eu-west-1' },
    },
  ])('$argv', ({ argv, settings }) => {
    const args = parseCliArgs(argv);
    expect(args.command).toBe('upload');
    expect(args.settings).toEqual(settings);
  });

  it('reads the CLI flags, short forms and positionals', () => {
    const args = parseCliArgs(['url', 'static', 'a.css', 'v=3', '--json', '-q', '-c', 'x.json']);
    expect(args).toMatchObject({
      command: 'url',
      positionals: ['static', 'a.css', 'v=3'],
      json: true,
      quiet: true,
      configPath: 'x.json',
    });
    expect(parseCliArgs(['upload', '--dry-run']).dryRun).toBe(true);
    expect(parseCliArgs(['--help']).command).toBe('help');
    expect(parseCliArgs(['upload', '-h']).command).toBe('help');
    expect(parseCliArgs(['-V']).command).toBe('version');
    expect(parseCliArgs([]).command).toBeUndefined();
    expect(parseCliArgs(['url', '--', '--odd-file.css']).positionals).toEqual(['--odd-file.css']);
    expect(parseCliArgs(['upload', '--prefix', 'a']).sources).toEqual({ prefix: '--prefix' });
  });

  it.each([
    { argv: ['uplaod'], error: UsageError, message: /unknown command "uplaod"; did you mean upload\?/ },
    {
      argv: ['upload', '--bukcet', 'x'],
      error: UsageError,
      message: /unknown option --bukcet; did you mean --bucket\?/,
    },
    { argv: ['upload', '-z'], error: UsageError, message: /unknown option -z/ },
    { argv: ['upload', '--bucket'], error: UsageError, message: /option --bucket needs a value/ },
    {
      argv: ['upload', '--bucket', '--prefix', 'x'],
      error: UsageError,
      message: /got the option --prefix; write --bucket=<value>/,
    },
    { argv: ['upload', '--gzip=yes'], error: UsageError, message: /--gzip takes no value/ },
    { argv: ['upload', '--set', 'gzip'], error: UsageError, message: /--set needs NAME=VALUE/ },
    {
      argv: ['upload', '--set', 'FLASKS3_GZIPP=1'],
      error: UsageError,
      message: /unknown setting "FLASKS3_GZIPP"; did you mean FLASKS3_GZIP\?/,
    },
    {
      argv: ['upload', '--concurrency', 'lots'],
      error: ConfigError,
      message: /^--concurrency: concurrency \/ FLASKS3_CONCURRENCY must be a number, got "lots"/,
    },
    {
      argv: ['upload', '--concurrency', '0'],
      error: ConfigError,
      message: /^--concurrency: .* must be between 1 and 256/,
    },
    { argv: ['upload', '--concurrency', '2.5'], error: ConfigError, message: /must be a whole number/ },
    {
      argv: ['upload', '--bucket', 'My_Bucket'],
      error: ConfigError,
      message: /^--bucket: bucketName \/ FLASKS3_BUCKET_NAME: "My_Bucket" may contain only/,
    },
    {
      argv: ['upload', '--endpoint-url', 'ftp://x'],
      error: ConfigError,
      message: /must be an http:\/\/ or https:\/\/ URL/,
    },
    {
      argv: ['upload', '--object-acl', 'world'],
      error: ConfigError,
      message: /objectAcl \/ FLASKS3_OBJECT_ACL must be one of 'public-read'/,
    },
    { argv: ['upload', '--filter', '('], error: ConfigError, message: /is not a valid regular expression/ },
    {
      argv: ['upload', '--set', 'FLASKS3_HEADERS=nope'],
      error: ConfigError,
      message: /^--set FLASKS3_HEADERS: .* must be a JSON object/,
    },
  ])('$argv is refused', ({ argv, error, message }) => {
    expect(() => parseCliArgs(argv)).toThrow(error);
    expect(() => parseCliArgs(argv)).toThrow(message);
  });

  it('never echoes a secret given with --set', () => {
    // A secret is a string: any value is accepted, so there is no message that could echo it.
    expect(parseCliArgs(['upload', '--set', 'AWS_SECRET_ACCESS_KEY=abc']).settings).toEqual({
      secretAccessKey: 'abc',
    });
  });
});

describe('settingsFromEnv', () => {
  it('gives every setting its FLASKS3_*/AWS_* variable, converted to its type', () => {
    const env = settingsFromEnv({
      FLASKS3_BUCKET_NAME: 'env-bucket',
      FLASKS3_GZIP: 'on',
      FLASKS3_CONCURRENCY: '32',
      FLASKS3_GZIP_ONLY_EXTS: '["css","js"]',
      FLASKS3_HEADERS: '{"X-Team":"web"}',
      FLASKS3_FINGERPRINT: 'false',
      AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
      FLASKS3_PREFIX: '',
      AWS_REGION: 'eu-central-1',
      PATH: '/bin',
    });
    expect(env.settings).toEqual({
      bucketName: 'env-bucket',
      gzip: true,
      concurrency: 32,
      gzipOnlyExts: ['css', 'js'],
      headers: { 'X-Team': 'web' },
      fingerprint: false,
      accessKeyId: 'AKIAEXAMPLE',
    });
    expect(env.sources.gzip).toBe('FLASKS3_GZIP');
    expect(env.awsRegion).toBe('eu-central-1');
    expect(env.warnings).toEqual([]);
  });

  it('every setting in the table has an environment variable', () => {
    for (const spec of SETTINGS) {
      const raw =
        spec.kind.type === 'boolean'
          ? 'true'
          : spec.kind.type === 'number'
            ? String(spec.kind.min)
            : undefined;
      if (raw === undefined) continue;
      expect(settingsFromEnv({ [spec.flask]: raw }).settings).toEqual({
        [spec.camel]: spec.kind.type === 'boolean' ? true : Number(raw),
      });
    }
  });

  it('names the variable when a value has the wrong type, and warns about unknown FLASKS3_* names', () => {
    expect(() => settingsFromEnv({ FLASKS3_GZIP: 'maybe' })).toThrow(
      /^environment variable FLASKS3_GZIP: gzip \/ FLASKS3_GZIP must be true or false/,
    );
    expect(settingsFromEnv({ FLASKS3_BUKET_NAME: 'x' }).warnings).toEqual([
      'ignoring environment variable FLASKS3_BUKET_NAME: not a setting; did you mean FLASKS3_BUCKET_NAME?',
    ]);
  });
});

describe('merging layers', () => {
  const app = {
    root: BASIC,
    config: { FLASKS3_PREFIX: 'file', region: 'eu-west-2', FLASKS3_GZIP: true, host: 'kept' },
  };
  const noEnv = settingsFromEnv({});

  it.each([
    { label: 'file only', env: {}, argv: [], prefix: 'file', source: 'nunjucks-s3.config.json' },
    {
      label: 'env over file',
      env: { FLASKS3_PREFIX: 'env' },
      argv: [],
      prefix: 'env',
      source: 'FLASKS3_PREFIX',
    },
    {
      label: 'flag over env',
      env: { FLASKS3_PREFIX: 'env' },
      argv: ['--prefix', 'flag'],
      prefix: 'flag',
      source: '--prefix',
    },
    {
      label: '--set over env',
      env: { FLASKS3_PREFIX: 'env' },
      argv: ['--set', 'prefix=set'],
      prefix: 'set',
      source: '--set prefix',
    },
  ])('$label', ({ env, argv, prefix, source }) => {
    const merged = mergeLayers(
      app,
      `${BASIC}/nunjucks-s3.config.json`,
      settingsFromEnv(env),
      parseCliArgs(['upload', ...argv]),
    );
    expect(merged.resolved.prefix).toBe(prefix);
    expect(merged.sources.prefix).toBe(source);
    // The other spelling of an overridden setting is gone, so it cannot conflict; other keys stay.
    expect(merged.app.config).toMatchObject({ host: 'kept', FLASKS3_GZIP: true });
  });

  it('AWS_REGION counts only when neither the file, FLASKS3_REGION nor --region sets one', () => {
    const file = `${BASIC}/nunjucks-s3.config.json`;
    const flags = parseCliArgs(['upload']);
    const aws = settingsFromEnv({ AWS_REGION: 'ap-south-1' });
    expect(mergeLayers(app, file, aws, flags).resolved.region).toBe('eu-west-2');
    expect(mergeLayers({ config: {} }, file, aws, flags).resolved.region).toBe('ap-south-1');
    expect(mergeLayers({ config: {} }, file, aws, flags).sources.region).toBe('AWS_REGION');
    expect(
      mergeLayers({ config: {} }, file, settingsFromEnv({ AWS_REGION: 'x', FLASKS3_REGION: 'y' }), flags)
        .resolved.region,
    ).toBe('y');
    expect(mergeLayers(app, file, aws, parseCliArgs(['upload', '--region', 'z'])).resolved.region).toBe('z');
  });

  it('a mistake in the file is reported with its path', () => {
    expect(() =>
      mergeLayers(
        // @ts-expect-error: a string where a boolean belongs, as a JSON file may hold
        { config: { FLASKS3_GZIP: 'yes' } },
        '/p/nunjucks-s3.config.json',
        noEnv,
        parseCliArgs(['upload']),
      ),
    ).toThrow(
      /^in \/p\/nunjucks-s3.config.json: gzip \/ FLASKS3_GZIP must be true or false, got the string "yes"/,
    );
  });

  it('applyOverrides drops both spellings of an overridden setting', () => {
    expect(
      applyOverrides({ FLASKS3_BUCKET_NAME: 'a', bucketName: 'a', other: 1 }, { bucketName: 'b' }),
    ).toEqual({ other: 1, bucketName: 'b' });
  });

  it('finds the config file from a subfolder upward', () => {
    expect(findConfigFile(path.join(BASIC, 'sub/dir'))).toBe(path.join(BASIC, 'nunjucks-s3.config.json'));
  });
});

describe('urlArguments', () => {
  it.each([
    { argv: ['static', 'css/a.css'], values: { filename: 'css/a.css' } },
    { argv: ['admin.static', 'x=y.css', 'v=3'], values: { filename: 'x=y.css', v: '3' } },
    {
      argv: ['static', 'filename=a.css', 'v=1', 'v=2', 'v=3'],
      values: { filename: 'a.css', v: ['1', '2', '3'] },
    },
    { argv: ['user.profile', 'id=7', '_anchor=top'], values: { id: '7', _anchor: 'top' } },
    { argv: ['static', 'a.css', 'q='], values: { filename: 'a.css', q: '' } },
  ])('$argv', ({ argv, values }) => {
    expect(urlArguments(argv)).toEqual({ endpoint: argv[0], values });
  });

  it('refuses what is not key=value', () => {
    expect(() => urlArguments([])).toThrow(/url needs an endpoint/);
    expect(() => urlArguments(['static', 'a.css', 'b.css'])).toThrow(/"b.css" is not key=value/);
  });
});

describe('progress output', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1536, '1.5 KiB'],
    [31.2 * 1024 * 1024, '31.2 MiB'],
    [3 * 1024 ** 3, '3.0 GiB'],
  ])('formatBytes(%d) is %s', (n, s) => expect(formatBytes(n)).toBe(s));

  it.each([
    [340, '340 ms'],
    [1400, '1.4 s'],
    [123_000, '2 min 3 s'],
  ])('formatDuration(%d) is %s', (n, s) => expect(formatDuration(n)).toBe(s));

  it('prints a plain line per 10% of the files or per interval when not on a terminal', () => {
    const written: string[] = [];
    let t = 0;
    const p = createProgress({
      stream: { write: (s) => written.push(s) > 0, isTTY: false },
      now: () => t,
      intervalMs: 2000,
    });
    const MiB = 1024 * 1024;
    p.onProgress({ type: 'start', totalFiles: 20, totalBytes: 20 * MiB });
    for (let i = 1; i <= 20; i++) {
      t += 100;
      p.onProgress({ type: 'file', key: `k${i}`, bytes: MiB, doneFiles: i, doneBytes: i * MiB, ok: i !== 3 });
    }
    p.onProgress({ type: 'end' });
    p.stop();
    expect(written[0]).toBe('uploading 20 files, 20.0 MiB\n');
    // 20 files: a line every second file (10%), none in between.
    expect(written).toHaveLength(11);
    expect(written[1]).toBe('uploaded 2/20 files, 2.0 MiB, 10.0 MiB/s\n');
    // A failed file is done, not uploaded.
    expect(written[10]).toBe('uploaded 19/20 files, 20.0 MiB, 10.0 MiB/s, 1 failed\n');
  });

  it('prints a line when the interval passes even without another 10%', () => {
    const written: string[] = [];
    let t = 0;
    const p = createProgress({ stream: { write: (s) => written.push(s) > 0 }, mode: 'lines', now: () => t });
    p.onProgress({ type: 'start', totalFiles: 1000, totalBytes: 1000 });
    t = 2500;
    p.onProgress({ type: 'file', key: 'a', bytes: 1, doneFiles: 1, doneBytes: 1, ok: true });
    t = 2600;
    p.onProgress({ type: 'file', key: 'b', bytes: 1, doneFiles: 2, doneBytes: 2, ok: true });
    expect(written.slice(1)).toEqual(['uploaded 1/1000 files, 1 B, 0 B/s\n']);
  });

  it('draws a progress line on a terminal and keeps warnings readable', () => {
    let text = '';
    const write = (s: string) => {
      text += s;
      return true;
    };
    const stream = { write, isTTY: true, columns: 120 };
    const p = createProgress({ stream });
    p.log('warning: before the bar');
    p.onProgress({ type: 'start', totalFiles: 2, totalBytes: 2048 });
    p.onProgress({ type: 'file', key: 'a', bytes: 1024, doneFiles: 1, doneBytes: 1024, ok: true });
    p.log('warning: during the bar');
    p.onProgress({ type: 'file', key: 'b', bytes: 1024, doneFiles: 2, doneBytes: 2048, ok: true });
    p.onProgress({ type: 'end' });
    p.stop();
    expect(text).toContain('warning: before the bar\n');
    expect(text).toContain('warning: during the bar\n');
    expect(text).toMatch(/uploading \[[^\]]+\] 100% \| 2\/2 files \| 2\.0 KiB\/2\.0 KiB/);
  });
});

describe('nunjucks-s3 (process)', () => {
  it('help: usage with every flag and every setting, exit 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    for (const flag of [
      '--bucket',
      '--prefix',
      '--endpoint-url',
      '--region',
      '--concurrency',
      '--include-hidden',
      '--filter',
      '--gzip',
      '--no-gzip',
      '--only-modified',
      '--object-acl',
      '--no-bucket-acl',
      '--cdn-domain',
      '--delete-stale',
      '--max-deletes',
      '--dry-run',
      '--json',
      '--config',
      '--quiet',
      '--set',
      '--version',
    ]) {
      expect(r.stdout).toContain(flag);
    }
    // Each setting on a line of its own, its two names apart (not run together by a too-narrow column).
    for (const spec of SETTINGS) {
      expect(r.stdout).toMatch(new RegExp(`^  ${spec.flask} +${String(spec.camel)} +\\S`, 'm'));
    }
    expect((await run(['help'])).stdout).toBe(r.stdout);
  });

  it('no command: usage on stderr, exit 2', async () => {
    const r = await run([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('no command given');
  });

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
    const r = await run(['--version']);
    expect([r.code, r.stdout]).toEqual([0, `${pkg.version}\n`]);
  });

  describe('url', () => {
    it.each([
      {
        args: ['static', 'css/app.css'],
        url: 'https://file-bucket.s3.amazonaws.com/from-file/static/css/app.css',
      },
      {
        args: ['admin.static', 'admin.css'],
        url: 'https://file-bucket.s3.amazonaws.com/from-file/admin/static/admin.css',
      },
      {
        args: ['static', 'css/app.css', 'v=3'],
        url: 'https://file-bucket.s3.amazonaws.com/from-file/static/css/app.css?v=3',
      },
      {
        args: ['static', 'img/dot.png', '_scheme=http', '_anchor=top'],
        url: 'http://file-bucket.s3.amazonaws.com/from-file/static/img/dot.png#top',
      },
      {
        args: ['static', 'css/app.css', '--cdn-domain', 'cdn.example.com'],
        url: 'https://cdn.example.com/from-file/static/css/app.css',
      },
      {
        args: ['static', 'a b.css', '--set', 'FLASKS3_URL_STYLE=path'],
        url: 'https://s3.amazonaws.com/file-bucket/from-file/static/a%20b.css',
      },
    ])('url $args', async ({ args, url }) => {
      const r = await run(['url', ...args]);
      // 'a b.css' is not in the fixture: the URL is still printed, with a warning.
      const missing = args[1] === 'a b.css' ? path.join(BASIC, 'static', 'a b.css') : undefined;
      expect(r.stderr).toBe(
        missing
          ? `warning: ${missing} does not exist: this URL will not serve anything after an upload\n`
          : '',
      );
      expect([r.code, r.stdout]).toEqual([0, `${url}\n`]);
    });

    it('finds the config from a subfolder, with root at the config file', async () => {
      const r = await run(['url', 'static', 'css/app.css'], { cwd: path.join(BASIC, 'sub/dir') });
      expect(r.stdout).toBe('https://file-bucket.s3.amazonaws.com/from-file/static/css/app.css\n');
    });

    it('loads a JS config exporting an async function, also through --config from elsewhere', async () => {
      const want = 'https://cdn.example.com/assets/a.txt\n';
      expect((await run(['url', 'static', 'a.txt'], { cwd: path.join(FIXTURES, 'js-config') })).stdout).toBe(
        want,
      );
      const r = await run(
        ['url', 'static', 'a.txt', '--config', 'test/fixtures/cli/js-config/nunjucks-s3.config.mjs'],
        { cwd: REPO },
      );
      expect([r.code, r.stdout]).toEqual([0, want]);
    });

    it('precedence: flag > env > file', async () => {
      const url = (prefix: string) => `https://file-bucket.s3.amazonaws.com/${prefix}/static/a.css\n`;
      const cases: { env: Record<string, string>; flags: string[]; want: string }[] = [
        { env: {}, flags: [], want: url('from-file') },
        { env: { FLASKS3_PREFIX: 'from-env' }, flags: [], want: url('from-env') },
        { env: { FLASKS3_PREFIX: 'from-env' }, flags: ['--prefix', 'from-flag'], want: url('from-flag') },
        {
          env: { FLASKS3_PREFIX: 'from-env' },
          flags: ['--set', 'FLASKS3_PREFIX=from-set'],
          want: url('from-set'),
        },
        { env: { FLASKS3_PREFIX: '' }, flags: [], want: url('from-file') },
      ];
      for (const c of cases) {
        const r = await run(['url', 'static', 'a.css', ...c.flags], { env: c.env });
        expect({ ...c, got: r.stdout, code: r.code }).toEqual({ ...c, got: c.want, code: 0 });
      }
    });

    it('--json prints the URL as JSON', async () => {
      const r = await run(['url', 'static', 'css/app.css', 'v=3', '--json']);
      expect(JSON.parse(r.stdout)).toEqual({
        endpoint: 'static',
        values: { filename: 'css/app.css', v: '3' },
        url: 'https://file-bucket.s3.amazonaws.com/from-file/static/css/app.css?v=3',
      });
    });

    it('an unknown blueprint or unsafe filename exits 2 with the reason', async () => {
      const r = await run(['url', 'shop.static', 'a.css']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/shop/);
      const r2 = await run(['url', 'static', '../secret.txt']);
      expect(r2.code).toBe(2);
      expect(r2.stderr).toMatch(/\.\./);
    });

    it('warns about an unknown FLASKS3_* variable and still works', async () => {
      const r = await run(['url', 'static', 'a.css'], { env: { FLASKS3_BUKET_NAME: 'oops' } });
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(
        'ignoring environment variable FLASKS3_BUKET_NAME: not a setting; did you mean FLASKS3_BUCKET_NAME?',
      );
    });
  });

  it("finds an Eleventy site's settings in its eleventy.config.mjs when there is no nunjucks-s3.config file", async () => {
    const site = path.join(REPO, 'examples/eleventy-site');
    const env = { DEMO_S3_ENDPOINT: 'http://127.0.0.1:4568', DEMO_S3_BUCKET: 'from-eleventy' };
    const url = await run(['url', 'static', 'img/logo.svg'], { cwd: site, env });
    expect(url.stderr).toBe('');
    // The example fingerprints its assets: the URL names the file's hash.
    expect(url.code).toBe(0);
    expect(url.stdout).toMatch(
      /^http:\/\/127\.0\.0\.1:4568\/from-eleventy\/static\/img\/logo\.[0-9a-f]{12}\.svg\n$/,
    );
    // The dry run names where its settings came from before it talks to S3 (nothing listens there).
    const dry = await run(['upload', '--dry-run'], {
      cwd: site,
      env: { ...env, DEMO_S3_ENDPOINT: 'http://127.0.0.1:9' },
    });
    expect(dry.stdout).toContain(`config: ${path.join(site, 'eleventy.config.mjs')}`);
  });

  describe('configuration mistakes exit 2 with the fix', () => {
    const cases: {
      label: string;
      args: string[];
      cwd?: () => string;
      env?: Record<string, string>;
      message: RegExp;
    }[] = [
      {
        label: 'no config file',
        args: ['upload'],
        cwd: () => tmpProject({}),
        message:
          /no nunjucks-s3\.config\.js, nunjucks-s3\.config\.mjs, nunjucks-s3\.config\.json found from \/.* upward; create one .* or pass --config <path>/,
      },
      {
        label: '--config to a missing file',
        args: ['url', 'static', 'a', '--config', 'nope.json'],
        message: /--config nope\.json: no such file/,
      },
      {
        label: 'bad JSON',
        args: ['upload'],
        cwd: () => tmpProject({ 'nunjucks-s3.config.json': '{ "config": { "FLASKS3_BUCKET_NAME": "x", } }' }),
        message: /nunjucks-s3\.config\.json is not valid JSON: /,
      },
      {
        label: 'a typo in a setting name',
        args: ['upload'],
        cwd: () => path.join(FIXTURES, 'typo'),
        message:
          /in \/.*typo\/nunjucks-s3\.config\.json: unknown setting FLASKS3_BUKET_NAME; did you mean FLASKS3_BUCKET_NAME\?/,
      },
      {
        label: 'a JS config without default export',
        args: ['url', 'static', 'a'],
        cwd: () => path.join(FIXTURES, 'bad-export'),
        message: /nunjucks-s3\.config\.mjs has no default export; write export default/,
      },
      {
        label: 'a config that is not an object',
        args: ['upload'],
        cwd: () => tmpProject({ 'nunjucks-s3.config.json': '["static"]' }),
        message: /must export the app description .*, got an array/,
      },
      {
        label: 'a wrong type in the environment',
        args: ['upload', '--dry-run'],
        env: { FLASKS3_CONCURRENCY: 'lots' },
        message:
          /environment variable FLASKS3_CONCURRENCY: concurrency \/ FLASKS3_CONCURRENCY must be a number, got "lots"/,
      },
      {
        label: 'an invalid --concurrency',
        args: ['upload', '--concurrency', '0'],
        message: /--concurrency: .* must be between 1 and 256/,
      },
      {
        label: 'an unknown flag',
        args: ['upload', '--bukcet', 'b'],
        message: /unknown option --bukcet; did you mean --bucket\?[\s\S]*--help/,
      },
      { label: 'an unknown command', args: ['deploy'], message: /unknown command "deploy"/ },
      {
        label: 'no bucket',
        args: ['upload'],
        cwd: () => path.join(FIXTURES, 'no-bucket'),
        message:
          /no bucket: bucketName \/ FLASKS3_BUCKET_NAME is not set; pass --bucket <name>, set FLASKS3_BUCKET_NAME, or add/,
      },
      {
        label: 'no bucket for url',
        args: ['url', 'static', 'x.txt'],
        cwd: () => path.join(FIXTURES, 'no-bucket'),
        message: /bucketName \/ FLASKS3_BUCKET_NAME/,
      },
      {
        label: 'arguments to upload',
        args: ['upload', 'static'],
        message: /upload takes no arguments .* use --filter/,
      },
    ];
    it.each(cases)('$label', async ({ args, cwd, env, message }) => {
      const r = await run(args, { cwd: cwd?.(), env });
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace without DEBUG
      expect([r.code, r.stdout]).toEqual([2, '']);
    });

    it('--json: the error as JSON on stdout too', async () => {
      const r = await run(['upload', '--json', '--concurrency', '0']);
      expect(r.code).toBe(2);
      expect(JSON.parse(r.stdout)).toEqual({
        error: { code: 'CONFIG_TYPE', message: expect.stringMatching(/^--concurrency: /) },
      });
    });
  });

  describe('unexpected errors and secrets', () => {
    // A getter that throws: not a mistake the CLI knows, so it is "unexpected" (exit 1).
    const throwing = () =>
      tmpProject({
        'nunjucks-s3.config.mjs':
          "export default { get staticFolder() { throw new TypeError('boom in the config'); }, config: {} };\n",
      });

    it('exit 1 with the message, the stack only with DEBUG=nunjucks-s3', async () => {
      const cwd = throwing();
      const r = await run(['url', 'static', 'a.css'], { cwd });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('nunjucks-s3: unexpected error: boom in the config');
      expect(r.stderr).not.toMatch(/\n\s+at /);
      const debug = await run(['url', 'static', 'a.css'], { cwd, env: { DEBUG: 'express,nunjucks-s3' } });
      expect(debug.code).toBe(1);
      expect(debug.stderr).toMatch(/TypeError: boom in the config\n\s+at /);
    });

    it('never prints a credential: config file, environment, --set, errors, JSON, debug output', async () => {
      const secret = {
        id: 'AKIDCONFIGFILE1234',
        key: 'file-secret-key-5678',
        token: 'session-token-abcd',
        flag: 'flag-secret-9999',
      };
      const cwd = tmpProject({
        'nunjucks-s3.config.json': JSON.stringify({
          staticFolder: 'static',
          config: {
            FLASKS3_BUCKET_NAME: 'cred-bucket',
            AWS_ACCESS_KEY_ID: secret.id,
            AWS_SECRET_ACCESS_KEY: secret.key,
          },
        }),
      });
      const runs = [
        await run(['upload', '--dry-run', '--endpoint-url', 'http://127.0.0.1:1', '--set', 'maxAttempts=1'], {
          cwd,
          env: { AWS_SESSION_TOKEN: secret.token },
        }),
        await run(
          [
            'upload',
            '--json',
            '--endpoint-url',
            'http://127.0.0.1:1',
            '--set',
            `AWS_SECRET_ACCESS_KEY=${secret.flag}`,
            '--set',
            'maxAttempts=1',
          ],
          {
            cwd,
            env: { AWS_SESSION_TOKEN: secret.token, DEBUG: 'nunjucks-s3' },
          },
        ),
        await run(['upload', '--set', 'maxAttempts=0', '--set', `AWS_SECRET_ACCESS_KEY=${secret.flag}`], {
          cwd,
          env: { DEBUG: '*' },
        }),
        await run(['--help'], { cwd, env: { AWS_SECRET_ACCESS_KEY: secret.flag } }),
      ];
      for (const r of runs) {
        for (const value of Object.values(secret)) expect(r.stdout + r.stderr).not.toContain(value);
      }
      // The dry run echoes where the credentials came from, masked.
      expect(runs[0]!.stdout).toContain('secretAccessKey = "[redacted]"  (nunjucks-s3.config.json)');
      expect(runs[0]!.stdout).toContain('sessionToken = "[redacted]"  (AWS_SESSION_TOKEN)');
    });
  });

  describe('upload against the test S3 server', () => {
    const local = (rel: string) => readFileSync(path.join(BASIC, rel));

    it('--dry-run --json: the plan, and the bucket is never created', async () => {
      const bucket = uniqueBucket('cli-dry');
      const r = await run(
        ['upload', '--dry-run', '--json', '--bucket', bucket, '--endpoint-url', s3Backend().endpoint],
        { env: s3Env() },
      );
      expect(r.code, r.stderr).toBe(0);
      const plan = JSON.parse(r.stdout);
      expect(plan).toMatchObject({ bucket, prefix: 'from-file', dryRun: true, failed: [] });
      expect(plan.uploaded.map((e: { key: string }) => e.key).sort()).toEqual(basicKeys('from-file').sort());
      expect(plan.uploaded.find((e: { key: string }) => e.key.endsWith('app.css'))).toMatchObject({
        size: local('static/css/app.css').length,
        contentType: expect.stringMatching(/^text\/css/),
      });
      expect(await bucketExists(bucket)).toBe(false);
    });

    it('--dry-run: a readable plan with where each setting came from, and an existing bucket stays empty', async () => {
      const bucket = await freshBucket('cli-plan');
      const r = await run(
        ['upload', '--dry-run', '--endpoint-url', s3Backend().endpoint, '--prefix', 'from-flag', '--gzip'],
        {
          env: { ...s3Env(), FLASKS3_BUCKET_NAME: bucket },
        },
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`bucketName = "${bucket}"  (FLASKS3_BUCKET_NAME)`);
      expect(r.stdout).toContain('prefix = "from-flag"  (--prefix)');
      expect(r.stdout).toContain('concurrency = 4  (nunjucks-s3.config.json)');
      expect(r.stdout).toContain('accessKeyId = "[redacted]"  (AWS_ACCESS_KEY_ID)');
      expect(r.stdout).toContain(`dry run: nothing was changed in s3://${bucket}/from-flag/`);
      expect(r.stdout).toMatch(/would upload 4 files/);
      for (const key of basicKeys('from-flag')) expect(r.stdout).toContain(key);
      expect(r.stdout).not.toContain('.hidden');
      expect(await listKeys(bucket)).toEqual([]);
    });

    it('precedence in the plan: --bucket over FLASKS3_BUCKET_NAME, --no-gzip over FLASKS3_GZIP', async () => {
      const flagBucket = uniqueBucket('cli-flag');
      const r = await run(
        [
          'upload',
          '--dry-run',
          '--json',
          '--bucket',
          flagBucket,
          '--no-gzip',
          '--endpoint-url',
          s3Backend().endpoint,
        ],
        {
          env: { ...s3Env(), FLASKS3_BUCKET_NAME: uniqueBucket('cli-env'), FLASKS3_GZIP: 'true' },
        },
      );
      expect(r.code, r.stderr).toBe(0);
      const plan = JSON.parse(r.stdout);
      expect(plan.bucket).toBe(flagBucket);
      expect(plan.uploaded.every((e: { gzip: boolean }) => !e.gzip)).toBe(true);
      const r2 = await run(
        ['upload', '--dry-run', '--json', '--bucket', flagBucket, '--endpoint-url', s3Backend().endpoint],
        {
          env: { ...s3Env(), FLASKS3_GZIP: 'true' },
        },
      );
      const css = JSON.parse(r2.stdout).uploaded.find((e: { key: string }) => e.key.endsWith('app.css'));
      expect(css.gzip).toBe(true);
    });

    it('--filter and --include-hidden reach the upload', async () => {
      const plan = async (...flags: string[]) => {
        const r = await run(
          [
            'upload',
            '--dry-run',
            '--json',
            '--bucket',
            uniqueBucket('cli-f'),
            '--endpoint-url',
            s3Backend().endpoint,
            ...flags,
          ],
          {
            env: s3Env(),
          },
        );
        expect(r.code, r.stderr).toBe(0);
        return JSON.parse(r.stdout)
          .uploaded.map((e: { key: string }) => e.key)
          .sort();
      };
      expect(await plan('--filter', '^css/')).toEqual(['from-file/static/css/app.css']);
      expect(await plan('--filter', 'hidden')).toEqual([]);
      expect(await plan('--filter', 'hidden', '--include-hidden')).toEqual(['from-file/static/.hidden']);
    });

    it('uploads every file with the same bytes, shows progress and a summary, never the credentials', async () => {
      const bucket = await freshBucket('cli-up');
      const r = await run(
        [
          'upload',
          '--bucket',
          bucket,
          '--endpoint-url',
          s3Backend().endpoint,
          '--no-bucket-acl',
          '--only-modified',
        ],
        {
          env: s3Env(),
        },
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain('uploading 4 files');
      expect(r.stderr).toMatch(/uploaded 4\/4 files, [\d.]+ (B|KiB), /);
      expect(r.stdout).toContain(`s3://${bucket}/from-file/: 4 uploaded, 0 skipped (unchanged), 0 failed`);
      expect(r.stdout).toMatch(/sent \(.*\/s\).*, in /);
      const secret = s3Backend().secretAccessKey;
      expect(r.stdout + r.stderr).not.toContain(secret);

      const keys = await listKeys(bucket);
      expect(keys).toEqual(expect.arrayContaining(basicKeys('from-file')));
      expect(keys.filter((k) => k.includes('.hidden'))).toEqual([]);
      for (const [rel, file] of Object.entries(BASIC_FILES)) {
        const obj = await testClient().send(
          new GetObjectCommand({ Bucket: bucket, Key: `from-file/${rel}` }),
        );
        expect(Buffer.from(await obj.Body!.transformToByteArray()).equals(local(file)), rel).toBe(true);
      }

      const again = await run(
        [
          'upload',
          '--json',
          '--bucket',
          bucket,
          '--endpoint-url',
          s3Backend().endpoint,
          '--no-bucket-acl',
          '--only-modified',
        ],
        {
          env: s3Env(),
        },
      );
      expect(again.code, again.stderr).toBe(0);
      const report = JSON.parse(again.stdout);
      expect(report.uploaded).toEqual([]);
      expect(report.skipped.map((e: { key: string }) => e.key).sort()).toEqual(basicKeys('from-file').sort());
      expect(again.stdout).not.toContain(secret);
    });

    describe('a file the server refuses', () => {
      let proxy: http.Server;
      let proxyUrl = '';
      beforeAll(async () => {
        // Forwards every request to the test server, but answers PUTs of app.css with a non-transient error.
        const target = new URL(s3Backend().endpoint);
        proxy = http.createServer((req, res) => {
          if (req.method === 'PUT' && req.url?.includes('css/app.css')) {
            req.resume();
            res.writeHead(400, { 'content-type': 'application/xml' });
            res.end(
              '<?xml version="1.0"?><Error><Code>InvalidArgument</Code><Message>refused by the test proxy</Message></Error>',
            );
            return;
          }
          const upstream = http.request(
            {
              host: target.hostname,
              port: target.port,
              method: req.method,
              path: req.url,
              headers: req.headers,
            },
            (up) => {
              res.writeHead(up.statusCode ?? 502, up.headers);
              up.pipe(res);
            },
          );
          upstream.on('error', () => res.destroy());
          req.pipe(upstream);
        });
        await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
        proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      });
      afterAll(() => new Promise<void>((resolve) => proxy.close(() => resolve())));

      it('exit 1, the failed key and its reason on stderr, the rest uploaded', async () => {
        const bucket = await freshBucket('cli-fail');
        const r = await run(
          [
            'upload',
            '--bucket',
            bucket,
            '--endpoint-url',
            proxyUrl,
            '--no-bucket-acl',
            '--set',
            'maxAttempts=1',
          ],
          {
            env: s3Env(),
          },
        );
        expect(r.code, r.stderr).toBe(1);
        expect(r.stderr).toMatch(/1 file failed to upload:\n {2}from-file\/static\/css\/app\.css: .*\S/);
        expect(r.stderr).toContain('run the same command again');
        expect(r.stdout).toContain('3 uploaded');
        expect(r.stdout).toContain('1 failed');
        const keys = await listKeys(bucket);
        expect(keys).toEqual(
          expect.arrayContaining(basicKeys('from-file').filter((k) => !k.endsWith('app.css'))),
        );
        expect(keys).not.toContain('from-file/static/css/app.css');
      });

      it('--json: the report with the failure on stdout, exit 1', async () => {
        const bucket = await freshBucket('cli-failj');
        const r = await run(
          [
            'upload',
            '--json',
            '--bucket',
            bucket,
            '--endpoint-url',
            proxyUrl,
            '--no-bucket-acl',
            '--set',
            'maxAttempts=1',
          ],
          {
            env: s3Env(),
          },
        );
        expect(r.code, r.stderr).toBe(1);
        const report = JSON.parse(r.stdout);
        expect(report.failed).toEqual([
          {
            key: 'from-file/static/css/app.css',
            file: expect.stringMatching(/app\.css$/),
            message: expect.any(String),
          },
        ]);
        expect(report.uploaded).toHaveLength(3);
      });
    });
  });
});
