// An interrupted deploy loses nothing and records nothing false, and the rerun finishes the job. A site
// of 2,000 small files (1-4 KB, generated) is uploaded by the CLI as a child process through the fault
// proxy and killed with SIGKILL once about half the PUTs went through and the record was checkpointed;
// in-process with an AbortSignal (1,000 of the files), and by the CLI stopped with SIGINT (500). After each:
// every key the record lists is in the bucket with the local bytes, and a rerun with onlyModified uploads
// exactly what the record did not list, skips the rest, and leaves the bucket complete and byte-identical.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { recordKey } from '../src/deploy/record.js';
import { deltaFolder } from '../src/deploy/record-delta.js';
import { createAll, type UploadReport } from '../src/deploy/upload.js';
import { UploadError } from '../src/errors.js';
import { type FaultProxy, faults, startFaultProxy } from './helpers/fault-proxy.js';
import { freshBucket, s3Backend } from './helpers/s3.js';
import {
  expectBucketMatches,
  expectedKeys,
  inspectBucket,
  ownStderr,
  removeTemps,
  runCli,
  s3Env,
  s3Settings,
  startCli,
  tempDir,
  writeFiles,
} from './helpers/upload-check.js';

const FILES = 2000;
const RECORD = recordKey('');
const DELTAS = deltaFolder('');

let root: string;
let expected: Map<string, string>;
const proxies: FaultProxy[] = [];

beforeAll(() => {
  root = tempDir('interrupt');
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < FILES; i++) {
    const dir = `d${String(Math.floor(i / 100)).padStart(2, '0')}`;
    files[`static/${dir}/f${String(i).padStart(4, '0')}.bin`] = randomBytes(1024 + ((i * 769) % 3073));
  }
  writeFiles(root, files);
  expected = expectedKeys(path.join(root, 'static'), 'static');
  expect(expected.size).toBe(FILES);
});
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});
afterAll(removeTemps);

/** Asset PUTs the server answered 200 to, and checkpoints of the record it stored (deltas or the snapshot). */
function progressOf(proxy: FaultProxy): { assets: number; checkpoints: number } {
  let assets = 0;
  let checkpoints = 0;
  for (const e of proxy.log) {
    if (e.method !== 'PUT' || e.status !== 200) continue;
    // The deploy's lease and generation (docs/deploy-state.md) are neither assets nor checkpoints.
    if (/^\.nunjucks-s3\/(lease|gen)\//.test(e.key ?? '')) continue;
    if (e.key === RECORD || e.key?.startsWith(DELTAS)) checkpoints++;
    else if (e.key?.startsWith('static/')) assets++;
  }
  return { assets, checkpoints };
}

/** The site's CLI config, uploading through `endpoint` with `concurrency` uploads at once. */
function writeConfig(bucket: string, endpoint: string, concurrency = 8): void {
  writeFiles(root, {
    'nunjucks-s3.config.json': JSON.stringify({
      config: {
        FLASKS3_BUCKET_NAME: bucket,
        FLASKS3_ENDPOINT_URL: endpoint,
        FLASKS3_CONCURRENCY: concurrency,
        FLASKS3_PUT_BUCKET_ACL: false,
      },
    }),
  });
}

/**
 * Check the bucket after an interruption (the record claims nothing false; it may list fewer keys than
 * are in the bucket), rerun the CLI with --only-modified (and `args`), and check the rerun skipped
 * exactly what the record listed and left the bucket complete. Returns the keys recorded before it.
 */
async function rerunAndCheck(
  bucket: string,
  files: ReadonlyMap<string, string> = expected,
  args: string[] = [],
): Promise<{ recorded: string[]; rerun: UploadReport }> {
  const after = await inspectBucket({ bucket, expected: files });
  expect(after.falseClaims).toEqual([]);
  expect(after.extra).toEqual([]);
  const recorded = after.recorded;

  writeConfig(bucket, s3Backend().endpoint, 16);
  const run = await runCli(['upload', '--only-modified', '--json', ...args], { cwd: root, env: s3Env() });
  expect(ownStderr(run.stderr)).toBe('');
  expect(run.code).toBe(0);
  const rerun = JSON.parse(run.stdout) as UploadReport;
  expect(rerun.failed).toEqual([]);
  expect(rerun.skipped.map((e) => e.key).sort()).toEqual(recorded);
  expect(rerun.uploaded.length + rerun.skipped.length).toBe(files.size);
  expect(rerun.uploaded.every((e) => e.reason === 'new')).toBe(true);
  // Every skipped key really is there with the right bytes, and so is everything else.
  await expectBucketMatches({ bucket, expected: files });
  return { recorded, rerun };
}

describe('interrupted deploys', () => {
  it('SIGKILL halfway through: the record holds only what is in the bucket; the rerun skips it and completes', async () => {
    const bucket = await freshBucket('sigkill');
    // Each PUT answered 10 ms late, so that even on a fast machine the record is checkpointed (every 2 s)
    // before half the files are up.
    const proxy = await startFaultProxy({
      target: s3Backend().endpoint,
      rules: [{ method: 'PUT', key: /^static\//, fault: faults.delay(10) }],
    });
    proxies.push(proxy);
    writeConfig(bucket, proxy.url);
    const { child, done } = startCli(['upload', '--quiet'], { cwd: root, env: s3Env() });
    let progress = progressOf(proxy);
    while (!(progress.assets >= FILES / 2 && progress.checkpoints >= 1) && child.exitCode === null) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      progress = progressOf(proxy);
    }
    child.kill('SIGKILL');
    const first = await done;
    expect(first.signal).toBe('SIGKILL');
    expect(progress.assets).toBeLessThan(FILES);

    const { recorded, rerun } = await rerunAndCheck(bucket);
    expect(recorded.length).toBeGreaterThan(0);
    expect(rerun.uploaded.length).toBeLessThan(FILES);
    expect(rerun.skipped.length).toBeGreaterThan(0);
  });

  it('SIGINT halfway through (Ctrl-C in CI): exit 130, what finished is recorded, the rerun completes', async () => {
    const bucket = await freshBucket('sigint');
    // 500 of the files: the graceful stop is the CLI's, the scale is the SIGKILL test's.
    const filter = ['--filter', '^d0[0-4]/'];
    const files = new Map([...expected].filter(([key]) => /^static\/d0[0-4]\//.test(key)));
    expect(files.size).toBe(500);
    const proxy = await startFaultProxy({
      target: s3Backend().endpoint,
      rules: [{ method: 'PUT', key: /^static\//, fault: faults.delay(10) }],
    });
    proxies.push(proxy);
    writeConfig(bucket, proxy.url);
    const { child, done } = startCli(['upload', '--quiet', ...filter], { cwd: root, env: s3Env() });
    while (progressOf(proxy).assets < files.size / 2 && child.exitCode === null) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    child.kill('SIGINT');
    const first = await done;
    expect(first.code).toBe(130);
    expect(ownStderr(first.stderr)).toContain(
      'interrupted: what was uploaded is recorded; run the same command again to finish',
    );
    const { recorded, rerun } = await rerunAndCheck(bucket, files, filter);
    // A graceful stop records every upload that finished: at least the half seen before the signal.
    expect(recorded.length).toBeGreaterThanOrEqual(files.size / 2);
    expect(rerun.uploaded.length).toBeLessThanOrEqual(files.size / 2);
  });

  it('an AbortSignal halfway through: UploadError UPLOAD_ABORTED, the record holds exactly the uploaded files, the rerun completes', async () => {
    const bucket = await freshBucket('abort');
    const filter = '^d0';
    const files = new Map([...expected].filter(([key]) => /^static\/d0/.test(key)));
    expect(files.size).toBe(1000);
    const controller = new AbortController();
    const reason = new Error('deploy cancelled by the test');
    const warnings: string[] = [];
    const err = await createAll(
      { root, config: s3Settings(bucket, undefined, { FLASKS3_FILEPATH_FILTER_REGEX: filter }) },
      {
        signal: controller.signal,
        putBucketAcl: false,
        logger: { warn: (m) => void warnings.push(m) },
        onProgress: (e) => {
          if (e.type === 'file' && e.doneFiles >= files.size / 2) controller.abort(reason);
        },
      },
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UploadError);
    const e = err as UploadError;
    expect(e.code).toBe('UPLOAD_ABORTED');
    expect(e.cause).toBe(reason);
    const report = e.report as UploadReport;
    expect(e.message).toBe(
      `upload to s3://${bucket}/ aborted: ${report.uploaded.length} of ${files.size} files uploaded and recorded`,
    );
    expect(report.uploaded.length).toBeGreaterThanOrEqual(files.size / 2);
    expect(report.uploaded.length).toBeLessThan(files.size);
    expect(warnings).toEqual([]);

    const { recorded } = await rerunAndCheck(bucket, files, ['--filter', filter]);
    expect(recorded).toEqual(report.uploaded.map((x) => x.key).sort());
  });
});
