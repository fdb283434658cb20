// createAll and the CLI against a server that fails: the real test server (s3rver or Ceph RGW) behind the
// fault proxy (test/helpers/fault-proxy.ts). Transient faults are retried to a complete deploy; a key
// that always fails is named while everything else is uploaded and recorded; a stalled server ends in a
// clear error, not a hang; a bucket that refuses ACLs deploys with one warning. Every test ends by
// comparing the bucket with the local files and checking each claim of the upload record.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AppLike } from '../src/app.js';
import { recordKey } from '../src/deploy/record.js';
import { createAll } from '../src/deploy/upload.js';
import { ConfigError } from '../src/errors.js';
import {
  type FaultProxy,
  type FaultRule,
  faults,
  rejectAcls,
  startFaultProxy,
} from './helpers/fault-proxy.js';
import { freshBucket, s3Backend } from './helpers/s3.js';
import {
  expectBucketMatches,
  expectedKeys,
  rejection,
  removeTemps,
  runCli,
  s3Env,
  s3Settings,
  tempDir,
  writeFiles,
} from './helpers/upload-check.js';

const MiB = 1024 * 1024;
const MID = 'static/data/mid.bin'; // 3 MiB: streamed from disk, retried by createAll
const BIG = 'static/data/big.bin'; // 12 MiB: multipart (threshold 5 MiB), parts retried by createAll
const RECORD = recordKey('');

let root: string;
let expected: Map<string, string>;
const proxies: FaultProxy[] = [];

beforeAll(() => {
  root = tempDir('faults');
  const files: Record<string, string | Buffer> = {
    'static/data/mid.bin': randomBytes(3 * MiB),
    'static/data/big.bin': randomBytes(12 * MiB),
    'static/img/pixel.png': randomBytes(2000),
    'static/empty.txt': '',
    'admin/static/admin.css': 'nav { color: red }\n',
  };
  for (let i = 0; i < 20; i++) files[`static/css/c${i}.css`] = `.c${i} { margin: ${i}px }\n`.repeat(i + 1);
  for (let i = 0; i < 10; i++) files[`static/js/m${i}.js`] = `export const m${i} = ${i};\n`;
  writeFiles(root, files);
  expected = new Map([
    ...expectedKeys(path.join(root, 'static'), 'static'),
    ...expectedKeys(path.join(root, 'admin/static'), 'admin/static'),
  ]);
});
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});
afterAll(removeTemps);

async function proxied(rules: FaultRule[], seed = 7): Promise<FaultProxy> {
  const proxy = await startFaultProxy({ target: s3Backend().endpoint, rules, seed });
  proxies.push(proxy);
  return proxy;
}

/** The site, uploading through `endpoint`; css gzipped so gzip bodies go through the faults too. */
function app(bucket: string, endpoint: string, more: Record<string, unknown> = {}): AppLike {
  return {
    root,
    blueprints: [{ name: 'admin', staticFolder: 'admin/static', urlPrefix: '/admin' }],
    config: s3Settings(bucket, endpoint, {
      FLASKS3_GZIP: true,
      FLASKS3_GZIP_ONLY_EXTS: ['css'],
      FLASKS3_MULTIPART_THRESHOLD: 5 * MiB,
      ...more,
    }),
  };
}

function collectingLogger() {
  const warnings: string[] = [];
  return { warnings, logger: { warn: (m: string) => void warnings.push(m) } };
}

const listPrefixes = ['static/', 'admin/static/'];

describe('transient faults', () => {
  it('500, 503 SlowDown, 429, resets before and in the middle of bodies are retried: the deploy completes', async () => {
    const bucket = await freshBucket('transient');
    const proxy = await proxied([
      // Each kind of fault, at least once, where it hurts most...
      { method: 'GET', key: RECORD, fault: faults.slowDown(), times: 1 },
      { method: 'PUT', key: MID, fault: faults.resetMidBody(256 * 1024), times: 1 },
      { method: 'PUT', key: BIG, query: 'partNumber', fault: faults.resetMidBody(MiB), times: 1 },
      { method: 'POST', query: 'uploads', fault: faults.tooManyRequests(), times: 1 },
      { method: 'POST', query: 'uploadId', fault: faults.internalError(), times: 1 },
      { method: 'PUT', key: RECORD, fault: faults.reset(), times: 1 },
      // ...and then on a seeded share of every request.
      { fault: faults.slowDown(), probability: 0.08 },
      { fault: faults.internalError(), probability: 0.08 },
      { fault: faults.tooManyRequests(), probability: 0.03 },
      { fault: faults.reset(), probability: 0.06 },
      { method: 'PUT', fault: faults.resetMidBody(100), probability: 0.06 },
    ]);
    const { logger, warnings } = collectingLogger();
    const report = await createAll(app(bucket, proxy.url, { FLASKS3_MAX_ATTEMPTS: 10 }), {
      logger,
      putBucketAcl: false,
    });

    const fired = new Set(proxy.faulted().map((e) => e.fault));
    expect([...fired].sort()).toEqual([
      'InternalError',
      'SlowDown',
      'TooManyRequests',
      'reset',
      'resetMidBody',
    ]);
    expect(proxy.faulted().length).toBeGreaterThanOrEqual(10);
    expect(report.failed).toEqual([]);
    expect(warnings).toEqual([]);
    expect(report.uploaded.map((e) => e.key).sort()).toEqual([...expected.keys()].sort());
    await expectBucketMatches({ bucket, expected, listPrefixes });
  });
});

describe('a key that always fails', () => {
  it('is named in UploadError.failures; every other file is uploaded and recorded, the failed one is not', async () => {
    const bucket = await freshBucket('always');
    // Cut mid-body every time: s3rver keeps the truncated body as an object, RGW keeps nothing; either
    // way the record must not claim it.
    const proxy = await proxied([{ method: 'PUT', key: MID, fault: faults.resetMidBody(512 * 1024) }]);
    const { logger } = collectingLogger();
    const err = await rejection(
      createAll(app(bucket, proxy.url, { FLASKS3_MAX_ATTEMPTS: 3 }), { logger, putBucketAcl: false }),
    );
    expect(err.code).toBe('UPLOAD_FAILED');
    expect(err.failures.map((f) => f.key)).toEqual([MID]);
    expect(err.failures[0]!.file).toBe(path.join(root, MID));
    expect(err.failures[0]!.message).toMatch(/ECONNRESET|EPIPE|socket hang up/);
    expect(err.message).toContain(MID);
    expect(proxy.log.filter((e) => e.key === MID && e.method === 'PUT')).toHaveLength(3);
    const state = await expectBucketMatches({ bucket, expected, listPrefixes, failed: [MID] });
    expect(state.recorded).not.toContain(MID);

    // A rerun without the fault uploads what is missing and skips the rest.
    const rerun = await createAll(app(bucket, s3Backend().endpoint), {
      logger,
      onlyModified: true,
      putBucketAcl: false,
    });
    expect(rerun.uploaded.map((e) => e.key)).toEqual([MID]);
    expect(rerun.skipped).toHaveLength(expected.size - 1);
    await expectBucketMatches({ bucket, expected, listPrefixes });
  });

  it('through the CLI: exit code 1, the key on stderr, the rest uploaded and recorded', async () => {
    const bucket = await freshBucket('alwayscli');
    const failing = 'static/css/c3.css';
    const proxy = await proxied([{ method: 'PUT', key: failing, fault: faults.internalError() }]);
    writeFiles(root, {
      'nunjucks-s3.config.json': JSON.stringify(
        {
          blueprints: [{ name: 'admin', staticFolder: 'admin/static', urlPrefix: '/admin' }],
          config: {
            FLASKS3_BUCKET_NAME: bucket,
            FLASKS3_ENDPOINT_URL: proxy.url,
            FLASKS3_MAX_ATTEMPTS: 2,
            FLASKS3_MULTIPART_THRESHOLD: 5 * MiB,
            FLASKS3_PUT_BUCKET_ACL: false,
          },
        },
        null,
        2,
      ),
    });
    const run = await runCli(['upload', '--json'], { cwd: root, env: s3Env() });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('1 file failed to upload');
    expect(run.stderr).toContain(`${failing}: InternalError (HTTP 500)`);
    const report = JSON.parse(run.stdout) as { failed: { key: string }[]; uploaded: unknown[] };
    expect(report.failed.map((f) => f.key)).toEqual([failing]);
    expect(report.uploaded).toHaveLength(expected.size - 1);
    await expectBucketMatches({ bucket, expected, listPrefixes, failed: [failing] });
  });
});

describe('a stalled server', () => {
  // requestTimeout 1.5 s: short, yet long enough that the requests that are answered never time out on a
  // loaded machine (2 cores shared by client, server and the other test files).
  it('one key that never gets an answer times out and is named; the rest is uploaded and recorded', async () => {
    const bucket = await freshBucket('stallkey');
    const stalled = 'static/js/m4.js';
    const proxy = await proxied([{ method: 'PUT', key: stalled, fault: faults.stall() }]);
    const { logger } = collectingLogger();
    const err = await rejection(
      createAll(app(bucket, proxy.url, { FLASKS3_REQUEST_TIMEOUT: 1500, FLASKS3_MAX_ATTEMPTS: 2 }), {
        logger,
        putBucketAcl: false,
      }),
    );
    expect(err.failures.map((f) => [f.key, f.message])).toEqual([
      [stalled, expect.stringMatching(/Timeout/)],
    ]);
    expect(proxy.log.filter((e) => e.key === stalled)).toHaveLength(2);
    await expectBucketMatches({ bucket, expected, listPrefixes, failed: [stalled] });
  });

  it('a server that answers nothing at all: one ConfigError naming the endpoint, nothing uploaded', async () => {
    const bucket = await freshBucket('stallall');
    const proxy = await proxied([{ fault: faults.stall() }]);
    const { logger } = collectingLogger();
    let err: unknown;
    try {
      await createAll(app(bucket, proxy.url, { FLASKS3_REQUEST_TIMEOUT: 300, FLASKS3_MAX_ATTEMPTS: 2 }), {
        logger,
        putBucketAcl: false,
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('CONFIG_ENDPOINT');
    expect((err as ConfigError).message).toMatch(/reading the upload record from.*no answer from/);
    expect((err as ConfigError).message).toMatch(/requestTimeout \/ FLASKS3_REQUEST_TIMEOUT/);
    expect((err as ConfigError).message).toContain(`endpointUrl / FLASKS3_ENDPOINT_URL`);
    expect(new Set(proxy.log.map((e) => e.method))).toEqual(new Set(['GET']));
    const state = await expectBucketMatches({
      bucket,
      expected,
      listPrefixes,
      failed: [...expected.keys()],
      recordComplete: false,
    });
    expect(state.keys).toEqual([]);
  });

  it('the upload record write stalls: the files are up, the run fails naming the record, and nothing false is recorded', async () => {
    const bucket = await freshBucket('stallrecord');
    const proxy = await proxied([{ method: 'PUT', key: RECORD, fault: faults.stall() }]);
    const { logger } = collectingLogger();
    const err = await rejection(
      createAll(app(bucket, proxy.url, { FLASKS3_REQUEST_TIMEOUT: 1500, FLASKS3_MAX_ATTEMPTS: 2 }), {
        logger,
        putBucketAcl: false,
      }),
    );
    expect(err.failures.map((f) => f.key)).toEqual([RECORD]);
    expect(err.failures[0]!.message).toMatch(/could not write the upload record/);
    expect((err.report as { uploaded: unknown[] }).uploaded).toHaveLength(expected.size);
    // No snapshot was written; the checkpoints (deltas) written before hold only claims the bucket bears
    // out (expectBucketMatches checks every claim against the bytes).
    const state = await expectBucketMatches({ bucket, expected, listPrefixes, recordComplete: false });
    expect(state.falseClaims).toEqual([]);
  });
});

describe('a bucket that refuses ACLs (a new AWS bucket)', () => {
  it('deploys everything without ACLs, with exactly one warning that gives the bucket policy', async () => {
    const bucket = await freshBucket('noacl');
    const proxy = await proxied([rejectAcls()]);
    const { logger, warnings } = collectingLogger();
    const report = await createAll(app(bucket, proxy.url), { logger });
    expect(report.failed).toEqual([]);
    expect(warnings).toHaveLength(1);
    expect(report.warnings).toEqual(warnings);
    expect(warnings[0]).toMatch(/AccessControlListNotSupported/);
    expect(warnings[0]).toMatch(/objectAcl \/ FLASKS3_OBJECT_ACL/);
    const policy = JSON.parse(warnings[0]!.slice(warnings[0]!.indexOf('\n{'))) as {
      Statement: { Effect: string; Principal: string; Action: string; Resource: string[] }[];
    };
    expect(policy.Statement[0]).toMatchObject({
      Effect: 'Allow',
      Principal: '*',
      Action: 's3:GetObject',
      Resource: [`arn:aws:s3:::${bucket}/static/*`, `arn:aws:s3:::${bucket}/admin/static/*`],
    });
    // Every ACL was refused once at most: no file paid for it twice.
    expect(proxy.faulted().length).toBeLessThanOrEqual(1 + 16);
    await expectBucketMatches({ bucket, expected, listPrefixes });
  });
});
