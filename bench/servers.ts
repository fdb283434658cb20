// The S3 servers the upload benchmarks talk to, both on 127.0.0.1 only: Ceph RGW through the project's
// scripts/rgw.sh (on its own ports and data dir, so it never touches a test cluster someone else started)
// and s3rver in a child process (in-process it would share the event loop with the client it measures).
// reset() gives an empty server: memstore keeps objects in RAM (4 GiB), so each site size starts fresh.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { type BackendName, PROJECT_DIR } from './args.js';

const run = promisify(execFile);

export interface S3Server {
  name: BackendName;
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** Wipe all data: stop and start again. */
  reset(): Promise<void>;
  stop(): Promise<void>;
  /** CPU seconds (user + system) the server processes have used so far. */
  cpuSeconds(): number;
}

const TICKS_PER_SECOND = 100;

function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** Pids whose command line mentions `needle` (the cluster's own ceph.conf path). */
function pidsMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

export function assertLoopback(endpoint: string): void {
  const host = new URL(endpoint).hostname;
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(host))
    throw new Error(`refusing non-loopback S3 endpoint ${endpoint}`);
}

/**
 * Ceph RGW via scripts/rgw.sh, on ports 4900-4980 (not the tests' 7480) and a data dir under the work dir.
 * BENCH_RGW_PORT, BENCH_RGW_MON_PORT, BENCH_RGW_OSD_PORT_MIN/MAX move it, for two benches on one machine.
 */
async function startRgw(workDir: string): Promise<S3Server> {
  const script = process.env.BENCH_RGW_SH ?? path.join(PROJECT_DIR, 'scripts/rgw.sh');
  const base = path.join(workDir, 'rgw');
  const env = {
    ...process.env,
    RGW_DIR: base,
    RGW_PORT: process.env.BENCH_RGW_PORT ?? '4980',
    RGW_MON_PORT: process.env.BENCH_RGW_MON_PORT ?? '4900',
    RGW_OSD_PORT_MIN: process.env.BENCH_RGW_OSD_PORT_MIN ?? '4910',
    RGW_OSD_PORT_MAX: process.env.BENCH_RGW_OSD_PORT_MAX ?? '4969',
    RGW_STORE: 'memstore',
  };
  const rgw = (...args: string[]) =>
    run('bash', [script, ...args], { env, cwd: PROJECT_DIR, maxBuffer: 1 << 20 });
  const start = async () => {
    // A leftover of an interrupted run would make `start` a no-op: stop (only this dir's pids) first.
    await rgw('stop', '--purge').catch(() => undefined);
    try {
      await rgw('start');
    } catch (e) {
      const err = e as { stderr?: string; stdout?: string };
      throw new Error(`scripts/rgw.sh start failed:\n${err.stdout ?? ''}${err.stderr ?? ''}`, { cause: e });
    }
    const { stdout } = await rgw('env');
    const vars: Record<string, string> = {};
    // `export A='x' B='y'` on one line, or one assignment per line.
    for (const m of stdout.matchAll(/([A-Z][A-Z0-9_]*)=('[^']*'|"[^"]*"|[^\s'"]+)/g)) {
      vars[m[1]!] = m[2]!.replace(/^(['"])(.*)\1$/, '$2');
    }
    if (!vars.S3_ENDPOINT || !vars.AWS_ACCESS_KEY_ID || !vars.AWS_SECRET_ACCESS_KEY) {
      throw new Error(
        `scripts/rgw.sh env did not print S3_ENDPOINT, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY:\n${stdout}`,
      );
    }
    assertLoopback(vars.S3_ENDPOINT);
    return vars;
  };
  let vars = await start();
  const server: S3Server = {
    name: 'rgw',
    endpoint: vars.S3_ENDPOINT!,
    accessKeyId: vars.AWS_ACCESS_KEY_ID!,
    secretAccessKey: vars.AWS_SECRET_ACCESS_KEY!,
    region: vars.AWS_REGION ?? 'us-east-1',
    async reset() {
      vars = await start();
      server.endpoint = vars.S3_ENDPOINT!;
    },
    async stop() {
      await rgw('stop', '--purge').catch(() => undefined);
    },
    cpuSeconds() {
      return pidsMentioning(path.join(base, 'ceph.conf')).reduce((s, pid) => s + processCpuSeconds(pid), 0);
    },
  };
  return server;
}

/** s3rver in a child process (bench/s3rver-server.ts) on a random loopback port. */
async function startS3rver(workDir: string): Promise<S3Server> {
  let child: ChildProcess | undefined;
  const dir = path.join(workDir, 's3rver-data');
  const start = async (): Promise<string> => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const proc = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(PROJECT_DIR, 'bench/s3rver-server.ts'), dir],
      {
        cwd: PROJECT_DIR,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    child = proc;
    return new Promise((resolve, reject) => {
      let out = '';
      proc.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /PORT (\d+)/.exec(out);
        if (m) resolve(`http://127.0.0.1:${m[1]}`);
      });
      proc.once('exit', (code) => reject(new Error(`s3rver exited with ${code}`)));
    });
  };
  const stopChild = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
    });
  };
  const server: S3Server = {
    name: 's3rver',
    endpoint: await start(),
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    region: 'us-east-1',
    async reset() {
      await stopChild();
      server.endpoint = await start();
    },
    async stop() {
      await stopChild();
      rmSync(dir, { recursive: true, force: true });
    },
    cpuSeconds() {
      return child?.pid ? processCpuSeconds(child.pid) : 0;
    },
  };
  return server;
}

export function startServer(name: BackendName, workDir: string): Promise<S3Server> {
  return name === 'rgw' ? startRgw(workDir) : startS3rver(workDir);
}

/** An SDK client for the server with the options S3-compatible stores need (BRIEF.md). */
export function serverClient(server: S3Server, maxSockets = 64): S3Client {
  assertLoopback(server.endpoint);
  return new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
    requestHandler: { httpAgent: { keepAlive: true, maxSockets } as never },
  });
}

/** Create the bench's bucket on a fresh server (retried: a just-started server may not be ready yet). */
export async function createBucket(server: S3Server, bucket: string): Promise<void> {
  const client = serverClient(server);
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await client.send(new CreateBucketCommand({ Bucket: bucket }));
        return;
      } catch (e) {
        if (attempt >= 5)
          throw new Error(`${server.name}: cannot create bucket ${bucket}: ${e}`, { cause: e });
        await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
      }
    }
  } finally {
    client.destroy();
  }
}
