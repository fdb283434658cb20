// One timed contender in its own process (spawned by the bench through proc.ts, one fresh process per
// run, so nothing warms up across contenders and peak RSS is this run's): createAll from ../src, or the
// plain-SDK ceiling (PutObject of bodies already in memory), or nothing (the fixed cost of node + tsx +
// the library). The job is a JSON file named by the only argument; prints one `BENCH_RESULT {json}` line.
// Credentials come from the environment.

import { createHash, createHmac } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import mime from 'mime';
import type { AppLike, CreateAllOptions } from '../src/index.js';

export type WorkerJob =
  | {
      mode: 'createAll';
      appRoot: string;
      staticFolder: string;
      /** The `admin` blueprint's folder, served at /admin/static. */
      adminFolder?: string;
      bucket: string;
      prefix: string;
      concurrency?: number;
      onlyModified: boolean;
    }
  | { mode: 'put'; siteDir: string; rels: string[]; bucket: string; prefix: string; concurrency: number }
  /** Like 'put', but hand-signed HTTP PUTs over node:http, no SDK: what the server takes when the client is cheap. */
  | { mode: 'raw'; siteDir: string; rels: string[]; bucket: string; prefix: string; concurrency: number }
  | { mode: 'noop' };

export interface WorkerResult {
  /** Wall time of the measured work (createAll, or the puts). */
  ms: number;
  /** CPU time (user + system) of this process during the measured work. */
  cpuMs?: number;
  /** createAll: time until its first upload began (the `start` progress event). */
  setupMs?: number;
  importMs: number;
  uploaded: number;
  skipped: number;
  failed: number;
  bytesSent: number;
  maxRssMB: number;
  error?: string;
}

/**
 * A minimal S3 PutObject over node:http with SigV4 (UNSIGNED-PAYLOAD, path style), keep-alive: the cost of
 * a request when the client does almost nothing, to show how far the SDK's per-request CPU is from that.
 */
function rawPutter(endpoint: string, region: string, maxSockets: number) {
  const url = new URL(endpoint);
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  const accessKey = env('BENCH_S3_ACCESS_KEY_ID');
  const secret = env('BENCH_S3_SECRET_ACCESS_KEY');
  const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
  const keys = new Map<string, Buffer>();
  const signingKey = (date: string) => {
    let k = keys.get(date);
    if (!k) {
      k = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), 's3'), 'aws4_request');
      keys.set(date, k);
    }
    return k;
  };
  const encode = (s: string) =>
    s
      .split('/')
      .map((seg) =>
        encodeURIComponent(seg).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`),
      )
      .join('/');
  return (bucket: string, key: string, body: Buffer, contentType: string) =>
    new Promise<void>((resolve, reject) => {
      const amzDate = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
      const date = amzDate.slice(0, 8);
      const uri = `/${bucket}/${encode(key)}`;
      const headers: Record<string, string> = {
        'content-type': contentType,
        host: url.host,
        'x-amz-acl': 'public-read',
        'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
        'x-amz-date': amzDate,
      };
      const names = Object.keys(headers);
      const canonical = `PUT\n${uri}\n\n${names.map((n) => `${n}:${headers[n]}\n`).join('')}\n${names.join(';')}\nUNSIGNED-PAYLOAD`;
      const scope = `${date}/${region}/s3/aws4_request`;
      const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${createHash('sha256').update(canonical).digest('hex')}`;
      const signature = createHmac('sha256', signingKey(date)).update(toSign).digest('hex');
      headers.authorization = `AWS4-HMAC-SHA256 Credential=${accessKey}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
      headers['content-length'] = String(body.length);
      const req = http.request(
        { host: url.hostname, port: url.port, method: 'PUT', path: uri, headers, agent },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => {
            text += d.toString();
          });
          res.on('end', () =>
            res.statusCode === 200 ? resolve() : reject(new Error(`${res.statusCode} ${text.slice(0, 200)}`)),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

/** With BENCH_CPU_PROF_DIR: profile until the returned function is called, into run.cpuprofile. */
async function startProfiler(): Promise<(() => Promise<void>) | undefined> {
  const dir = process.env.BENCH_CPU_PROF_DIR;
  if (!dir) return undefined;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(path.join(dir, 'run.cpuprofile'), JSON.stringify(profile));
    session.disconnect();
  };
}

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`worker: ${name} is not set`);
  return v;
}

async function main(): Promise<WorkerResult> {
  const job = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as WorkerJob;
  const endpoint = process.env.BENCH_S3_ENDPOINT ?? '';
  if (job.mode !== 'noop' && !/^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?$/.test(endpoint)) {
    throw new Error(`worker: refusing non-loopback endpoint ${JSON.stringify(endpoint)}`);
  }
  const result: WorkerResult = {
    ms: 0,
    importMs: 0,
    uploaded: 0,
    skipped: 0,
    failed: 0,
    bytesSent: 0,
    maxRssMB: 0,
  };
  let t0 = 0;
  if (job.mode === 'noop' || job.mode === 'createAll') {
    const t = performance.now();
    const lib = await import('../src/index.js');
    result.importMs = performance.now() - t;
    if (job.mode === 'createAll') {
      const app: AppLike = {
        root: job.appRoot,
        staticFolder: job.staticFolder,
        staticUrlPath: '/static',
        blueprints: job.adminFolder
          ? [{ name: 'admin', staticFolder: job.adminFolder, urlPrefix: '/admin', staticUrlPath: '/static' }]
          : [],
        config: {},
      };
      const options: CreateAllOptions = {
        bucketName: job.bucket,
        prefix: job.prefix,
        endpointUrl: endpoint,
        region: process.env.BENCH_S3_REGION ?? 'us-east-1',
        accessKeyId: env('BENCH_S3_ACCESS_KEY_ID'),
        secretAccessKey: env('BENCH_S3_SECRET_ACCESS_KEY'),
        onlyModified: job.onlyModified,
        logger: { warn: (m: string) => process.stderr.write(`warn: ${m}\n`) },
        // When the uploads begin: everything before (walk, hash, read the record, bucket checks) is set-up.
        onProgress: (e) => {
          if (e.type === 'start') result.setupMs = performance.now() - t0;
        },
      };
      if (job.concurrency !== undefined) options.concurrency = job.concurrency;
      const profiler = await startProfiler();
      const cpu0 = process.cpuUsage();
      t0 = performance.now();
      try {
        const report = await lib.createAll(app, options);
        result.uploaded = report.uploaded.length;
        result.skipped = report.skipped.length;
        result.bytesSent = report.bytesSent;
      } catch (e) {
        const err = e as Error & {
          failures?: unknown[];
          report?: { uploaded: unknown[]; skipped: unknown[] };
        };
        result.error = `${err.name}: ${err.message}`.slice(0, 500);
        result.failed = err.failures?.length ?? 0;
        result.uploaded = err.report?.uploaded.length ?? 0;
      }
      result.ms = performance.now() - t0;
      result.cpuMs = cpuMs(cpu0);
      await profiler?.();
    }
  } else if (job.mode === 'raw') {
    const bodies = job.rels.map((rel) => readFileSync(path.join(job.siteDir, rel)));
    const put = rawPutter(endpoint, process.env.BENCH_S3_REGION ?? 'us-east-1', job.concurrency);
    let next = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: job.concurrency }, async () => {
        for (let i = next++; i < job.rels.length; i = next++) {
          const rel = job.rels[i]!;
          try {
            await put(
              job.bucket,
              `${job.prefix}/${rel}`,
              bodies[i]!,
              mime.getType(rel) ?? 'application/octet-stream',
            );
            result.uploaded++;
            result.bytesSent += bodies[i]!.length;
          } catch (e) {
            result.failed++;
            result.error ??= String(e).slice(0, 300);
          }
        }
      }),
    );
    result.ms = performance.now() - t0;
    result.cpuMs = cpuMs(cpu0);
  } else {
    const client = new S3Client({
      endpoint,
      region: process.env.BENCH_S3_REGION ?? 'us-east-1',
      forcePathStyle: true,
      credentials: {
        accessKeyId: env('BENCH_S3_ACCESS_KEY_ID'),
        secretAccessKey: env('BENCH_S3_SECRET_ACCESS_KEY'),
      },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { httpAgent: { keepAlive: true, maxSockets: job.concurrency } },
    });
    // Bodies in memory before the clock starts: the ceiling measures requests only.
    const bodies = job.rels.map((rel) => readFileSync(path.join(job.siteDir, rel)));
    let next = 0;
    const profiler = await startProfiler();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: job.concurrency }, async () => {
        for (let i = next++; i < job.rels.length; i = next++) {
          const rel = job.rels[i]!;
          try {
            await client.send(
              new PutObjectCommand({
                Bucket: job.bucket,
                Key: `${job.prefix}/${rel}`,
                Body: bodies[i],
                ContentType: mime.getType(rel) ?? 'application/octet-stream',
                ACL: 'public-read',
              }),
            );
            result.uploaded++;
            result.bytesSent += bodies[i]!.length;
          } catch (e) {
            result.failed++;
            result.error ??= String(e).slice(0, 300);
          }
        }
      }),
    );
    result.ms = performance.now() - t0;
    result.cpuMs = cpuMs(cpu0);
    await profiler?.();
    client.destroy();
  }
  result.maxRssMB = process.resourceUsage().maxRSS / 1024;
  return result;
}

main().then(
  (r) => {
    console.log(`BENCH_RESULT ${JSON.stringify(r)}`);
    process.exit(0);
  },
  (e) => {
    console.log(
      `BENCH_RESULT ${JSON.stringify({ ms: 0, error: String((e as Error)?.stack ?? e).slice(0, 800) })}`,
    );
    process.exit(1);
  },
);
