// Peak RSS of createAll, each case in a fresh child process (under /usr/bin/time): the fixed cost
// (node + tsx + the library, no upload), one big file (a distinct 1 MiB random block per MiB, so a part
// stored at the wrong offset cannot compare equal), and a whole generated site. The big files run the
// built dist/ under plain node, as a user runs it (when dist/ is as new as src/; else bench/worker.ts
// under tsx): subtracting tsx's fixed cost from a run under tsx understated the 1 GiB case by 10-20 MB,
// because tsx's larger heap does not simply add to what the upload holds.
// Target: flat, under 150 MB for a 1 GiB file.

import { closeSync, existsSync, mkdirSync, openSync, readdirSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BenchOptions, PROJECT_DIR } from './args.js';
import { distImportArgs, type Outcome, oursContender, runWorker, workerOutcome } from './contenders.js';
import { cleanEnv, runTimed } from './proc.js';
import { Rng } from './rng.js';
import { assertLoopback, createBucket, type S3Server, serverClient } from './servers.js';
import { ensureSite } from './site.js';
import { seconds } from './stats.js';
import { BUCKET, log } from './upload-part.js';
import { getBytes, listPrefix, verifyDeploy } from './verify.js';

const MiB = 1024 * 1024;
export const MEMORY_TARGET_MB = 150;
const BIG_FILE_VERSION = 2;

export interface MemoryCase {
  label: string;
  bytes: number;
  files: number;
  outcome: Outcome;
  check: string;
  ok: boolean;
  /** A baseline row: the worker under tsx with the library loaded, or node importing dist/. */
  baseline?: 'tsx' | 'dist';
  /** Measured running dist/ under plain node (no tsx to subtract). */
  fromDist?: boolean;
}

/** Whether dist/ was built after every file of src/ changed (`npm run bench` builds first). */
function distIsFresh(): boolean {
  const dist = path.join(PROJECT_DIR, 'dist/index.js');
  if (!existsSync(dist)) return false;
  const built = statSync(dist).mtimeMs;
  const src = path.join(PROJECT_DIR, 'src');
  return readdirSync(src).every((f) => statSync(path.join(src, f)).mtimeMs <= built);
}

/** createAll from dist/ in plain node: what bench/worker.ts does for one big file, without tsx. */
const DIST_CREATE_ALL = `
const job = JSON.parse(process.env.BENCH_JOB);
const lib = await import(job.dist);
const env = process.env;
const result = { ms: 0, importMs: 0, uploaded: 0, skipped: 0, failed: 0, bytesSent: 0, maxRssMB: 0 };
const t0 = performance.now();
try {
  const report = await lib.createAll(
    { root: job.appRoot, staticFolder: job.staticFolder, staticUrlPath: '/static', blueprints: [], config: {} },
    {
      bucketName: job.bucket, prefix: job.prefix, endpointUrl: env.BENCH_S3_ENDPOINT, region: env.BENCH_S3_REGION,
      accessKeyId: env.BENCH_S3_ACCESS_KEY_ID, secretAccessKey: env.BENCH_S3_SECRET_ACCESS_KEY, onlyModified: true,
      logger: { warn: (m) => process.stderr.write('warn: ' + m + '\\n') },
    },
  );
  result.uploaded = report.uploaded.length;
  result.skipped = report.skipped.length;
  result.bytesSent = report.bytesSent;
} catch (e) {
  result.error = (e.name + ': ' + e.message).slice(0, 500);
  result.failed = e.failures?.length ?? 0;
}
result.ms = performance.now() - t0;
result.maxRssMB = process.resourceUsage().maxRSS / 1024;
console.log('BENCH_RESULT ' + JSON.stringify(result));
`;

async function runDist(
  job: { appRoot: string; staticFolder: string; bucket: string; prefix: string },
  server: S3Server,
): Promise<Outcome> {
  assertLoopback(server.endpoint);
  const env = cleanEnv({
    BENCH_JOB: JSON.stringify({ ...job, dist: pathToFileURL(path.join(PROJECT_DIR, 'dist/index.js')).href }),
    BENCH_S3_ENDPOINT: server.endpoint,
    BENCH_S3_REGION: server.region,
    BENCH_S3_ACCESS_KEY_ID: server.accessKeyId,
    BENCH_S3_SECRET_ACCESS_KEY: server.secretAccessKey,
  });
  const timed = await runTimed(
    process.execPath,
    ['--input-type=module', '-e', DIST_CREATE_ALL],
    env,
    () => server.cpuSeconds(),
    PROJECT_DIR,
  );
  return workerOutcome(timed);
}

/** Block i of the big file: the base block with `i` stamped in its first 8 bytes. */
function blockOf(base: Buffer, i: number): Buffer {
  base.writeBigUInt64LE(BigInt(i), 0);
  base.write(`block ${String(i).padStart(8, '0')}`, 8);
  return base;
}

function ensureBigFile(dir: string, sizeMiB: number, seed: number): string {
  const file = path.join(dir, 'static', `big-${sizeMiB}m.bin`);
  // The generator's output must not change under a cached file: bump BIG_FILE_VERSION when it does.
  if (existsSync(file) && statSync(file).size === sizeMiB * MiB) return file;
  mkdirSync(path.dirname(file), { recursive: true });
  const base = new Rng(seed * 101 + 7).fill(Buffer.alloc(MiB));
  const fd = openSync(file, 'w');
  try {
    for (let i = 0; i < sizeMiB; i++) writeSync(fd, blockOf(base, i));
  } finally {
    closeSync(fd);
  }
  return file;
}

async function bigFileCase(opts: BenchOptions, server: S3Server, sizeMiB: number): Promise<MemoryCase> {
  const dir = path.join(opts.workDir, `big-${sizeMiB}m-s${opts.seed}-v${BIG_FILE_VERSION}`);
  ensureBigFile(dir, sizeMiB, opts.seed);
  const prefix = `big-${sizeMiB}m`;
  const job = {
    appRoot: path.join(opts.workDir, 'app-root'),
    staticFolder: path.join(dir, 'static'),
    bucket: BUCKET,
    prefix,
  };
  const fromDist = distIsFresh();
  if (!fromDist)
    log('memory: dist/ is missing or older than src/: big files measured under tsx (run npm run build)');
  const outcome = fromDist
    ? await runDist(job, server)
    : await runWorker({ mode: 'createAll', ...job, onlyModified: true }, server);
  // Check: one object of the right size; the first, a middle and the last MiB, and ranges across the
  // 5/8/16 MiB boundaries multipart uploads commonly use, have the generated bytes.
  const client = serverClient(server);
  const key = `${prefix}/static/big-${sizeMiB}m.bin`;
  const listed = await listPrefix(client, BUCKET, prefix);
  const problems: string[] = [];
  if (listed.get(key) !== sizeMiB * MiB) problems.push(`size ${listed.get(key)} != ${sizeMiB * MiB}`);
  const base = new Rng(opts.seed * 101 + 7).fill(Buffer.alloc(MiB));
  const expected = (from: number, to: number) => {
    const parts: Buffer[] = [];
    for (let b = Math.floor(from / MiB); b * MiB <= to; b++) parts.push(Buffer.from(blockOf(base, b)));
    const all = Buffer.concat(parts);
    const off = from - Math.floor(from / MiB) * MiB;
    return all.subarray(off, off + (to - from + 1));
  };
  const ranges: [number, number][] = [
    [0, MiB - 1],
    [Math.floor(sizeMiB / 2) * MiB + 12345, Math.floor(sizeMiB / 2) * MiB + 12345 + MiB],
    [(sizeMiB - 1) * MiB, sizeMiB * MiB - 1],
    [5 * MiB - 100, 5 * MiB + 100],
    [8 * MiB - 100, 8 * MiB + 100],
    [16 * MiB - 100, 16 * MiB + 100],
  ];
  if (problems.length === 0) {
    for (const [from, to] of ranges) {
      if (to >= sizeMiB * MiB) continue;
      const got = await getBytes(client, BUCKET, key, `bytes=${from}-${to}`).catch(() => undefined);
      if (!got?.equals(expected(from, to))) problems.push(`bytes ${from}-${to} differ`);
    }
  }
  client.destroy();
  if (outcome.error) problems.unshift(outcome.error.split('\n')[0]!);
  const ok = problems.length === 0;
  log(
    `memory ${sizeMiB} MiB file: ${seconds(outcome.innerMs ?? outcome.wallMs)} s rss=${outcome.maxRssMB.toFixed(0)} MB ${fromDist ? '(dist/, plain node)' : '(under tsx)'} ${ok ? 'ok' : problems.join('; ')}`,
  );
  return {
    label: `one ${sizeMiB >= 1024 ? `${sizeMiB / 1024} GiB` : `${sizeMiB} MiB`} file`,
    bytes: sizeMiB * MiB,
    files: 1,
    outcome,
    check: ok ? `ok: size + ${ranges.length} ranges` : `FAILED: ${problems.join('; ')}`,
    ok,
    fromDist,
  };
}

/**
 * The memory cases. `siteOutcome`: createAll's first deploy of the largest site from the upload part,
 * when it ran (its RSS is already measured); otherwise that site is deployed here.
 */
export async function memoryPart(
  opts: BenchOptions,
  server: S3Server,
  siteSize: number,
  siteOutcome: { outcome: Outcome; ok: boolean; bytes: number } | undefined,
): Promise<MemoryCase[]> {
  await server.reset();
  await createBucket(server, BUCKET);
  mkdirSync(path.join(opts.workDir, 'app-root'), { recursive: true });
  const cases: MemoryCase[] = [];
  const noop = await runWorker({ mode: 'noop' }, undefined);
  cases.push({
    label: 'baseline: worker under tsx, library loaded, no upload',
    bytes: 0,
    files: 0,
    outcome: noop,
    check: '-',
    ok: !noop.error,
    baseline: 'tsx',
  });
  const dist = path.join(PROJECT_DIR, 'dist/index.js');
  if (existsSync(dist)) {
    const outcome = await runTimed(process.execPath, distImportArgs(), cleanEnv({}), undefined, PROJECT_DIR);
    cases.push({
      label: 'baseline: node importing dist/ (how users run it), no upload',
      bytes: 0,
      files: 0,
      outcome,
      check: '-',
      ok: outcome.code === 0,
      baseline: 'dist',
    });
  }
  for (const size of opts.bigMiB) cases.push(await bigFileCase(opts, server, size));
  if (siteOutcome) {
    cases.push({
      label: `${siteSize.toLocaleString('en-US')}-file site (from the upload run)`,
      bytes: siteOutcome.bytes,
      files: siteSize,
      outcome: siteOutcome.outcome,
      check: siteOutcome.ok ? 'ok (upload table)' : 'FAILED (upload table)',
      ok: siteOutcome.ok,
    });
  } else {
    const site = ensureSite(opts.workDir, 'mixed', siteSize, opts.seed);
    const outcome = await oursContender(undefined).run({
      server,
      bucket: BUCKET,
      prefix: `mem-site-${siteSize}`,
      site,
      appRoot: path.join(opts.workDir, 'app-root'),
      scratch: opts.workDir,
    });
    const client = serverClient(server);
    const check = await verifyDeploy(
      client,
      BUCKET,
      `mem-site-${siteSize}`,
      site,
      site.files.slice(0, 10).map((f) => f.rel),
      (k) => !/\/(static|admin)\//.test(k),
    );
    client.destroy();
    const ok = check.ok && !outcome.error;
    log(`memory ${siteSize}-file site: rss=${outcome.maxRssMB.toFixed(0)} MB ${check.summary}`);
    cases.push({
      label: `${siteSize.toLocaleString('en-US')}-file site`,
      bytes: site.totalBytes,
      files: siteSize,
      outcome,
      check: outcome.error ? `FAILED: ${outcome.error}` : check.summary,
      ok,
    });
  }
  return cases;
}
