// Everything that can deploy a site, each run as a child process the same way (proc.ts): createAll
// (bench/worker.ts), the plain-SDK ceiling (first deploy only), `aws s3 sync` (Debian awscli at
// /usr/bin/aws, not a pyenv shim) and `rclone sync` (Debian rclone), each peer at its defaults and with
// its concurrency raised. Peers get a scrubbed environment that points them at 127.0.0.1 only.

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_DIR } from './args.js';
import { cleanEnv, runTimed, type Timed } from './proc.js';
import { assertLoopback, type S3Server } from './servers.js';
import type { Site } from './site.js';
import type { WorkerJob, WorkerResult } from './worker.js';

export type Family = 'ours' | 'cli' | 'sdk' | 'raw' | 'aws' | 'rclone';

export interface DeployTarget {
  server: S3Server;
  bucket: string;
  prefix: string;
  site: Site;
  /** A scratch dir createAll gets as app.root (kept apart from the synced site). */
  appRoot: string;
  /** Scratch dir for config files and profiles. */
  scratch: string;
  /** Write a V8 CPU profile of the run into this dir (ours only). */
  cpuProfDir?: string;
}

export interface Outcome extends Timed {
  /** Time the contender measured itself (createAll / the puts), when it can: excludes process start. */
  innerMs?: number;
  worker?: WorkerResult;
  error?: string;
}

export interface Contender {
  id: string;
  family: Family;
  label: string;
  /** Only meaningful for a first deploy (the SDK ceiling has no notion of "unchanged"). */
  firstOnly: boolean;
  /** Concurrency it ran with, for the table. */
  concurrency: string;
  run(t: DeployTarget): Promise<Outcome>;
}

function workerEnv(server: S3Server): NodeJS.ProcessEnv {
  assertLoopback(server.endpoint);
  return cleanEnv({
    BENCH_S3_ENDPOINT: server.endpoint,
    BENCH_S3_REGION: server.region,
    BENCH_S3_ACCESS_KEY_ID: server.accessKeyId,
    BENCH_S3_SECRET_ACCESS_KEY: server.secretAccessKey,
  });
}

export async function runWorker(
  job: WorkerJob,
  server: S3Server | undefined,
  cpuProfDir?: string,
): Promise<Outcome> {
  const nodeArgs = ['--import', 'tsx'];
  const env = server ? workerEnv(server) : cleanEnv({});
  if (cpuProfDir) {
    // The worker profiles the createAll call alone (a V8 CPU profile, as --cpu-prof writes, without start-up).
    mkdirSync(cpuProfDir, { recursive: true });
    env.BENCH_CPU_PROF_DIR = cpuProfDir;
  }
  // The job goes in a file: 10,000 paths do not fit in an argument list (E2BIG).
  const jobDir = mkdtempSync(path.join(os.tmpdir(), 'nj-bench-job-'));
  const jobFile = path.join(jobDir, 'job.json');
  writeFileSync(jobFile, JSON.stringify(job));
  let timed: Timed;
  try {
    timed = await runTimed(
      process.execPath,
      [...nodeArgs, path.join(PROJECT_DIR, 'bench/worker.ts'), jobFile],
      env,
      server ? () => server.cpuSeconds() : undefined,
      PROJECT_DIR,
    );
  } finally {
    rmSync(jobDir, { recursive: true, force: true });
  }
  return workerOutcome(timed);
}

/** A worker process's outcome: its BENCH_RESULT line, or why there is none. */
export function workerOutcome(timed: Timed): Outcome {
  const line = timed.stdout.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
  const worker = line ? (JSON.parse(line.slice('BENCH_RESULT '.length)) as WorkerResult) : undefined;
  const error =
    worker?.error ??
    (timed.code !== 0
      ? `exit ${timed.code}: ${(timed.stderr || timed.stdout).trim().slice(-400)}`
      : undefined);
  return { ...timed, worker, innerMs: worker?.ms, error };
}

export function oursContender(concurrency: number | undefined): Contender {
  return {
    id: concurrency === undefined ? 'ours' : `ours-c${concurrency}`,
    family: 'ours',
    label: 'nunjucks-s3 createAll',
    firstOnly: false,
    concurrency: concurrency === undefined ? 'default' : String(concurrency),
    run: (t) =>
      runWorker(
        {
          mode: 'createAll',
          appRoot: t.appRoot,
          staticFolder: path.join(t.site.dir, 'static'),
          adminFolder: path.join(t.site.dir, 'admin/static'),
          bucket: t.bucket,
          prefix: t.prefix,
          concurrency,
          onlyModified: true,
        },
        t.server,
        t.cpuProfDir,
      ),
  };
}

/**
 * The CLI as a user runs it: `node dist/cli/main.js upload` (the build, node start included), its app in
 * a config file, credentials in the environment. Its own app root, so its hash cache starts empty.
 * `trusted`: with `--set FLASKS3_TRUST_RECORD=true` (the record alone decides what is unchanged: no listing).
 */
export function cliContender(trusted = false): Contender {
  return {
    id: trusted ? 'cli-trusted' : 'cli',
    family: 'cli',
    label: trusted
      ? 'nunjucks-s3 CLI, trustRecord (node dist/cli/main.js upload)'
      : 'nunjucks-s3 CLI (node dist/cli/main.js upload)',
    firstOnly: false,
    concurrency: 'default',
    async run(t) {
      assertLoopback(t.server.endpoint);
      const root = path.join(t.scratch, trusted ? 'cli-trusted-root' : 'cli-root');
      mkdirSync(root, { recursive: true });
      const config = path.join(root, 'nunjucks-s3.config.json');
      writeFileSync(
        config,
        JSON.stringify({
          root,
          staticFolder: path.join(t.site.dir, 'static'),
          staticUrlPath: '/static',
          blueprints: [
            {
              name: 'admin',
              staticFolder: path.join(t.site.dir, 'admin/static'),
              urlPrefix: '/admin',
              staticUrlPath: '/static',
            },
          ],
          config: {
            bucketName: t.bucket,
            endpointUrl: t.server.endpoint,
            region: t.server.region,
            onlyModified: true,
          },
        }),
      );
      const env = cleanEnv({
        AWS_ACCESS_KEY_ID: t.server.accessKeyId,
        AWS_SECRET_ACCESS_KEY: t.server.secretAccessKey,
        AWS_EC2_METADATA_DISABLED: 'true',
      });
      const cli = path.join(PROJECT_DIR, 'dist/cli/main.js');
      const args = [cli, 'upload', '-q', '--config', config, '--prefix', t.prefix];
      if (trusted) args.push('--set', 'FLASKS3_TRUST_RECORD=true');
      const r = await runTimed(process.execPath, args, env, () => t.server.cpuSeconds(), root);
      return { ...r, error: r.code === 0 ? undefined : `exit ${r.code}: ${r.stderr.trim().slice(-400)}` };
    },
  };
}

export function sdkContender(concurrency: number): Contender {
  return {
    id: `sdk-c${concurrency}`,
    family: 'sdk',
    label: 'SDK PutObject, bodies in memory (ceiling)',
    firstOnly: true,
    concurrency: String(concurrency),
    run: (t) =>
      runWorker(
        {
          mode: 'put',
          siteDir: t.site.dir,
          rels: t.site.files.map((f) => f.rel),
          bucket: t.bucket,
          prefix: t.prefix,
          concurrency,
        },
        t.server,
        t.cpuProfDir,
      ),
  };
}

/** Hand-signed PUTs over node:http with the bodies in memory: what the server takes from a cheap client. */
export function rawContender(concurrency: number): Contender {
  return {
    id: `raw-c${concurrency}`,
    family: 'raw',
    label: 'raw signed HTTP PUT, no SDK (reference)',
    firstOnly: true,
    concurrency: String(concurrency),
    run: (t) =>
      runWorker(
        {
          mode: 'raw',
          siteDir: t.site.dir,
          rels: t.site.files.map((f) => f.rel),
          bucket: t.bucket,
          prefix: t.prefix,
          concurrency,
        },
        t.server,
      ),
  };
}

/** `aws s3 sync`; concurrency undefined = its default (max_concurrent_requests 10). */
export function awsContender(concurrency: number | undefined): Contender {
  return {
    id: concurrency === undefined ? 'aws' : `aws-c${concurrency}`,
    family: 'aws',
    label: 'aws s3 sync',
    firstOnly: false,
    concurrency: concurrency === undefined ? 'default (10)' : `max_concurrent_requests ${concurrency}`,
    async run(t) {
      assertLoopback(t.server.endpoint);
      // Same as `aws configure set default.s3.max_concurrent_requests N` into a temp AWS_CONFIG_FILE.
      const config = path.join(t.scratch, `aws-config-${concurrency ?? 'default'}`);
      writeFileSync(
        config,
        `[default]\nregion = ${t.server.region}\n` +
          (concurrency === undefined ? '' : `s3 =\n    max_concurrent_requests = ${concurrency}\n`),
      );
      const env = cleanEnv({
        AWS_ACCESS_KEY_ID: t.server.accessKeyId,
        AWS_SECRET_ACCESS_KEY: t.server.secretAccessKey,
        AWS_DEFAULT_REGION: t.server.region,
        AWS_CONFIG_FILE: config,
        AWS_SHARED_CREDENTIALS_FILE: path.join(t.scratch, 'no-aws-credentials'),
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_PAGER: '',
      });
      const args = ['s3', 'sync', t.site.dir, `s3://${t.bucket}/${t.prefix}`];
      args.push('--endpoint-url', t.server.endpoint, '--only-show-errors', '--no-progress');
      const r = await runTimed('/usr/bin/aws', args, env, () => t.server.cpuSeconds());
      return { ...r, error: r.code === 0 ? undefined : `exit ${r.code}: ${r.stderr.trim().slice(-400)}` };
    },
  };
}

/** `rclone sync`; transfers undefined = its defaults (--transfers 4 --checkers 8). */
export function rcloneContender(transfers: number | undefined): Contender {
  return {
    id: transfers === undefined ? 'rclone' : `rclone-t${transfers}`,
    family: 'rclone',
    label: 'rclone sync',
    firstOnly: false,
    concurrency:
      transfers === undefined
        ? 'default (4 transfers, 8 checkers)'
        : `--transfers ${transfers} --checkers ${transfers}`,
    async run(t) {
      assertLoopback(t.server.endpoint);
      const emptyConfig = path.join(t.scratch, 'rclone.conf');
      writeFileSync(emptyConfig, '');
      // AWS_CA_BUNDLE (exported on these machines) makes rclone fail with LoadCustomCABundleError:
      // cleanEnv drops every AWS_ variable.
      const env = cleanEnv({
        RCLONE_CONFIG: emptyConfig,
        RCLONE_CONFIG_BENCH_TYPE: 's3',
        RCLONE_CONFIG_BENCH_PROVIDER: t.server.name === 'rgw' ? 'Ceph' : 'Other',
        RCLONE_CONFIG_BENCH_ENV_AUTH: 'false',
        RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: t.server.accessKeyId,
        RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: t.server.secretAccessKey,
        RCLONE_CONFIG_BENCH_ENDPOINT: t.server.endpoint,
        RCLONE_CONFIG_BENCH_REGION: t.server.region,
      });
      const args = ['sync', t.site.dir, `bench:${t.bucket}/${t.prefix}`, '-q'];
      if (transfers !== undefined)
        args.push('--transfers', String(transfers), '--checkers', String(transfers));
      const r = await runTimed('/usr/bin/rclone', args, env, () => t.server.cpuSeconds());
      return { ...r, error: r.code === 0 ? undefined : `exit ${r.code}: ${r.stderr.trim().slice(-400)}` };
    },
  };
}

/**
 * `node` arguments that import the built library and the SDK client it uploads with (as the CLI's process
 * does before its first request), and nothing else.
 */
export function distImportArgs(): string[] {
  const dist = pathToFileURL(path.join(PROJECT_DIR, 'dist/index.js')).href;
  return [
    '--input-type=module',
    '-e',
    `await import(${JSON.stringify(dist)}); await import('@aws-sdk/client-s3');`,
  ];
}

/**
 * What starting the library costs a user: `node` importing the built dist/index.js (what the CLI does),
 * median of 3. Our workers run the TypeScript sources under tsx, whose start-up a user never pays, so
 * whole-process comparisons with the peers use createAll's own time (and CPU) plus this. Undefined without a build.
 */
export async function measureStartup(): Promise<{ wallMs: number; cpuMs: number } | undefined> {
  const dist = path.join(PROJECT_DIR, 'dist/index.js');
  if (!existsSync(dist)) return undefined;
  const runs: Timed[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await runTimed(process.execPath, distImportArgs(), cleanEnv({}), undefined, PROJECT_DIR);
    if (r.code !== 0) return undefined;
    runs.push(r);
  }
  const mid = runs.sort((a, b) => a.wallMs - b.wallMs)[1]!;
  return { wallMs: mid.wallMs, cpuMs: mid.cpuS * 1000 };
}
