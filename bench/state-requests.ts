// What the lease, the generations, the multipart janitor and stale cleanup cost in requests, per deploy:
// a site of N small files deployed (fingerprint 'filename', deleteStale, onlyModified) to an embedded
// s3rver, or to the endpoint given as S3_ENDPOINT with S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY (Ceph RGW:
// `eval "$(bash scripts/rgw.sh env)"`), through the fault proxy (no faults: it only logs). Three deploys:
// the first, an unchanged re-deploy, and one with 10% of the files changed. Prints one table of requests
// by purpose. Run: `node --import tsx bench/state-requests.ts [files=1000]`.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { keepFoldersOfDeletedObjects } from '../examples/tools/s3rver-folders.mjs';
import { createAll } from '../src/index.js';
import { type FaultLogEntry, startFaultProxy } from '../test/helpers/fault-proxy.js';

const files = Number(process.argv[2] ?? 1000);
const work = mkdtempSync(path.join(tmpdir(), 'state-requests-'));
let endpoint = process.env.S3_ENDPOINT;
let server: S3rver | undefined;
if (!endpoint) {
  server = keepFoldersOfDeletedObjects(
    new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: path.join(work, 's3') }),
  );
  endpoint = `http://127.0.0.1:${((await server.run()) as { port: number }).port}`;
}
if (!/^http:\/\/(127\.0\.0\.1|localhost)[:/]/.test(endpoint))
  throw new Error(`not a loopback endpoint: ${endpoint}`);
const credentials = {
  accessKeyId: process.env.S3_ACCESS_KEY_ID ?? 'S3RVER',
  secretAccessKey: process.env.S3_SECRET_ACCESS_KEY ?? 'S3RVER',
};
const bucket = `state-requests-${Date.now()}`;
const admin = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
await admin.send(new CreateBucketCommand({ Bucket: bucket }));
const proxy = await startFaultProxy({ target: endpoint, rules: [] });

const root = path.join(work, 'site');
function writeSite(version: number): void {
  for (let i = 0; i < files; i++) {
    const abs = path.join(root, 'static', `d${i % 20}`, `f${i}.css`);
    mkdirSync(path.dirname(abs), { recursive: true });
    const changed = version > 1 && i % 10 === 0 ? version : 1;
    writeFileSync(abs, `.f${i} { --v: ${changed}; }\n`);
  }
}

/** What a request is for, from its key and query. */
function purpose(e: FaultLogEntry): string {
  const key = e.key ?? '';
  const q = e.url.includes('?') ? e.url.slice(e.url.indexOf('?')) : '';
  if (key.includes('.nunjucks-s3/lease/')) return `lease ${e.method}`;
  if (key === '' && /prefix=\.nunjucks-s3%2Flease/.test(q)) return 'lease LIST';
  if (key.includes('.nunjucks-s3/gen/')) return `generation ${e.method}`;
  if (key === '' && /prefix=\.nunjucks-s3%2Fgen/.test(q)) return 'generation LIST';
  if (key === '' && /[?&]uploads/.test(q)) return 'multipart LIST';
  if (key === '' && /[?&]delete/.test(q)) return 'DeleteObjects';
  if (key === '' && e.method === 'GET') return 'cleanup LIST';
  if (key.endsWith('record.json')) return `record ${e.method}`;
  return `object ${e.method}`;
}

const rows: Array<[string, Map<string, number>]> = [];
for (const [label, version] of [
  ['first deploy', 1],
  ['unchanged re-deploy', 1],
  ['10% changed', 2],
] as const) {
  writeSite(version);
  proxy.clearLog();
  await createAll(
    {
      root,
      config: {
        FLASKS3_BUCKET_NAME: bucket,
        FLASKS3_ENDPOINT_URL: proxy.url,
        FLASKS3_REGION: 'us-east-1',
        FLASKS3_PUT_BUCKET_ACL: false,
        FLASKS3_FINGERPRINT: 'filename',
        FLASKS3_DELETE_STALE: true,
        FLASKS3_ONLY_MODIFIED: true,
        FLASKS3_HASH_CACHE: false,
        FLASKS3_MAX_DELETES: 1e6,
        FLASKS3_MANIFEST: path.join(work, 'manifest.json'),
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      },
    },
    { logger: { warn: () => {} } },
  );
  const counts = new Map<string, number>();
  for (const e of proxy.log) counts.set(purpose(e), (counts.get(purpose(e)) ?? 0) + 1);
  rows.push([label, counts]);
}

const purposes = [...new Set(rows.flatMap(([, c]) => [...c.keys()]))].sort();
console.log(`${files} files (+ ${files} fingerprinted keys), ${server ? 's3rver' : endpoint}`);
console.log(['requests', ...rows.map(([l]) => l)].join(' | '));
for (const p of purposes) console.log([p, ...rows.map(([, c]) => String(c.get(p) ?? 0))].join(' | '));
console.log(
  ['total', ...rows.map(([, c]) => String([...c.values()].reduce((a, b) => a + b, 0)))].join(' | '),
);
await proxy.close();
await server?.close();
rmSync(work, { recursive: true, force: true });
