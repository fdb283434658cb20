// What reading the upload record costs a deploy of a large site: parsing a snapshot of N claims
// (parseRecord), deciding whether the claims must be confirmed (mustConfirm, with trustRecord), and the
// two reads createAll makes (before the lease, readRecord, and after it, readRecordAgain: one LIST when
// nothing changed, a LIST and a whole read when the record changed) against a real server, in time and
// requests.
//
//   node --import tsx bench/record-read.ts [--claims 10000] [--rounds 15]
//
// Talks to S3_ENDPOINT (with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), a gateway on 127.0.0.1; without it,
// starts s3rver in-process. Every figure is a median of `rounds` runs, after two unmeasured ones.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { keepFoldersOfDeletedObjects } from '../examples/tools/s3rver-folders.mjs';
import { mustConfirm } from '../src/deploy/confirm-record.js';
import { emptyRecord, parseRecord, serializeRecord, type UploadRecord } from '../src/deploy/record.js';
import { readRecord, readRecordAgain, writeRecord } from '../src/deploy/record-store.js';
import type { DeployContext } from '../src/deploy/types.js';
import { LeanS3 } from '../src/s3/lean/lean-client.js';
import { leanStore } from '../src/s3/lean/lean-store.js';
import type { ObjectStore } from '../src/s3/object-store.js';
import { median, num } from './stats.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : fallback;
};
const claims = option('--claims', 10_000);
const rounds = option('--rounds', 15);

/** A record as a deploy of `n` files leaves it: every claim with its ETag, stored size and LastModified. */
function bigRecord(bucket: string, n: number): UploadRecord {
  const record = emptyRecord(bucket, '');
  const sigs = ['0123456789abcdef', 'fedcba9876543210', '00112233445566aa'];
  for (const s of sigs) record.settings[s] = { ContentType: 'text/css; charset=utf-8', gzip: s !== sigs[0] };
  for (let i = 0; i < n; i++) {
    const hex = (i * 2654435761).toString(16).padStart(8, '0').slice(-8);
    record.objects[`static/d${i % 50}/asset-${i}.${hex}.css`] = {
      hash: `${hex}${hex}`,
      settings: sigs[i % sigs.length]!,
      size: 1000 + (i % 5000),
      etag: `${hex}${hex}${hex}${hex}`,
      stored: 400 + (i % 3000),
      modified: new Date(1_700_000_000_000 + i * 1000).toISOString(),
    };
  }
  return record;
}

/** Median milliseconds of `work`, after two unmeasured runs. */
async function timed(work: () => unknown): Promise<number> {
  const times: number[] = [];
  for (let i = -2; i < rounds; i++) {
    const start = performance.now();
    await work();
    if (i >= 0) times.push(performance.now() - start);
  }
  return median(times);
}

/** The store, counting the requests made through it (the requests themselves are real). */
function countingStore(store: ObjectStore): { store: ObjectStore; count: () => number } {
  let requests = 0;
  const counted = Object.fromEntries(
    Object.entries(store).map(([name, fn]) => [
      name,
      (...a: unknown[]) => {
        requests++;
        return (fn as (...x: unknown[]) => unknown)(...a);
      },
    ]),
  ) as unknown as ObjectStore;
  return { store: counted, count: () => requests };
}

async function server(): Promise<{
  name: string;
  url: string;
  key: string;
  secret: string;
  stop: () => Promise<void>;
}> {
  const given = process.env.S3_ENDPOINT;
  if (given) {
    if (!/^http:\/\/(127\.0\.0\.1|localhost)[:/]/.test(given))
      throw new Error(`not a loopback endpoint: ${given}`);
    const key = process.env.AWS_ACCESS_KEY_ID ?? '';
    const secret = process.env.AWS_SECRET_ACCESS_KEY ?? '';
    return { name: given, url: given, key, secret, stop: async () => {} };
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'record-read-s3rver-'));
  const s3rver = keepFoldersOfDeletedObjects(
    new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir }),
  );
  const { port } = (await s3rver.run()) as { port: number };
  const stop = async () => {
    await s3rver.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return {
    name: 's3rver in-process',
    url: `http://127.0.0.1:${port}`,
    key: 'S3RVER',
    secret: 'S3RVER',
    stop,
  };
}

const s3 = await server();
const credentials = { accessKeyId: s3.key, secretAccessKey: s3.secret };
const bucket = `record-read-${Date.now()}`;
const admin = new S3Client({ endpoint: s3.url, region: 'us-east-1', forcePathStyle: true, credentials });
await admin.send(new CreateBucketCommand({ Bucket: bucket }));
const lean = new LeanS3({
  endpoint: new URL(s3.url),
  region: 'us-east-1',
  credentials,
  maxSockets: 16,
  connectionTimeout: 10_000,
  socketTimeout: 60_000,
});
const { store, count } = countingStore(leanStore(lean, 3));

const record = bigRecord(bucket, claims);
const text = serializeRecord(record);
await writeRecord(store, record);
const trusting = { config: { trustRecord: true }, logger: {} } as unknown as DeployContext;
const pending = { deltas: [], markers: [] };
const parsed = parseRecord(text, bucket, '');
if (!('record' in parsed)) throw new Error(parsed.problem);

const parseMs = await timed(() => parseRecord(text, bucket, ''));
const confirmMs = await timed(() => mustConfirm(trusting, parsed.record, pending));

/** Time and requests of one read (the median round), as createAll makes it. */
async function measureRead(read: () => Promise<unknown>): Promise<{ ms: number; requests: number }> {
  const before = count();
  const ms = await timed(read);
  return { ms, requests: (count() - before) / (rounds + 2) };
}
const earlier = await readRecord(store, bucket, '');
if (earlier.status !== 'found') throw new Error(`expected the record, got ${earlier.status}`);
// As a read that saw another snapshot than the one there now.
const outdated = { ...earlier, snapshot: { etag: 'another', size: 0 } };
const first = await measureRead(() => readRecord(store, bucket, ''));
const second = await measureRead(() => readRecordAgain(store, bucket, '', earlier));
const changed = await measureRead(() => readRecordAgain(store, bucket, '', outdated));

console.log(
  `${num(claims)} claims, snapshot ${num(Buffer.byteLength(text) / 1024)} KB; ` +
    `${s3.name}; median of ${rounds}`,
);
console.log(`parseRecord           ${parseMs.toFixed(1)} ms (${num((parseMs * 1e6) / claims)} ns a claim)`);
console.log(`mustConfirm           ${confirmMs.toFixed(2)} ms (trustRecord)`);
console.log(`first read            ${first.ms.toFixed(1)} ms, ${first.requests} requests`);
console.log(
  `second read           ${second.ms.toFixed(1)} ms, ${second.requests} requests (nothing changed)`,
);
console.log(`both reads            ${(first.ms + second.ms).toFixed(1)} ms`);
console.log(`second read, changed  ${changed.ms.toFixed(1)} ms, ${changed.requests} requests`);
lean.destroy();
await s3.stop();
