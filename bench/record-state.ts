// The deploy state's cost (docs/deploy-state.md, "State writes proportional to change"): for sites of N
// small files, the bytes of state (snapshot, deltas, in-flight marker) written by a first deploy, by a
// deploy that changes 1% of the files and by an unchanged re-deploy, and the unchanged re-deploy's wall
// time with the default check against a listing and with trustRecord. Prints a Markdown table.
//
//   eval "$(bash scripts/rgw.sh env)"; node --import tsx bench/record-state.ts --files 10000,100000
//
// Talks to S3_ENDPOINT (with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), a gateway on 127.0.0.1; without
// it, starts s3rver in-process (whose ListObjects pages skip keys past 1,000: the re-deploy then uploads
// what a listing missed, so use Ceph RGW for sizes above that).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { keepFoldersOfDeletedObjects } from '../examples/tools/s3rver-folders.mjs';
import { createAll } from '../src/index.js';

const args = process.argv.slice(2);
const sizesArg = args[args.indexOf('--files') + 1];
const sizes = (args.includes('--files') && sizesArg ? sizesArg : '10000').split(',').map(Number);

async function endpoint(): Promise<{ url: string; key: string; secret: string; stop: () => Promise<void> }> {
  const given = process.env.S3_ENDPOINT;
  if (given) {
    if (!/^http:\/\/(127\.0\.0\.1|localhost)[:/]/.test(given))
      throw new Error(`not a loopback endpoint: ${given}`);
    return {
      url: given,
      key: process.env.AWS_ACCESS_KEY_ID ?? '',
      secret: process.env.AWS_SECRET_ACCESS_KEY ?? '',
      stop: async () => {},
    };
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'record-bench-s3rver-'));
  const server = keepFoldersOfDeletedObjects(
    new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir }),
  );
  const { port } = (await server.run()) as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    key: 'S3RVER',
    secret: 'S3RVER',
    stop: async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A client that counts the bytes of every PUT into the state folder. */
function countingClient(url: string, key: string, secret: string) {
  const client = new S3Client({
    endpoint: url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: key, secretAccessKey: secret },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 5,
  });
  const counts = { stateBytes: 0, stateWrites: 0, requests: 0 };
  client.middlewareStack.add(
    (next) => async (input) => {
      counts.requests++;
      const params = input.input as { Key?: string; Body?: unknown };
      if (params.Key?.includes('.nunjucks-s3/') && typeof params.Body === 'string') {
        counts.stateBytes += Buffer.byteLength(params.Body);
        counts.stateWrites++;
      }
      return next(input);
    },
    { step: 'initialize', name: 'countStateWrites' },
  );
  return { client, counts };
}

function writeSite(root: string, files: number, version: number): void {
  for (let i = 0; i < files; i++) {
    // 1% of the files change from one version to the next.
    const v = i % 100 === 0 ? version : 0;
    const file = path.join(root, 'static', `d${i % 100}`, `f${i}.txt`);
    if (version === 0) mkdirSync(path.dirname(file), { recursive: true });
    if (version === 0 || v !== 0) writeFileSync(file, `file ${i} version ${v} `.padEnd(100, '.'));
  }
}

interface Row {
  files: number;
  phase: string;
  seconds: number;
  stateBytes: number;
  stateWrites: number;
  requests: number;
  uploaded: number;
}

async function measure(files: number, server: Awaited<ReturnType<typeof endpoint>>): Promise<Row[]> {
  const root = mkdtempSync(path.join(tmpdir(), 'record-bench-site-'));
  const bucket = `record-bench-${files}-${Date.now().toString(36)}`;
  const setup = countingClient(server.url, server.key, server.secret);
  await setup.client.send(new CreateBucketCommand({ Bucket: bucket }));
  writeSite(root, files, 0);
  const rows: Row[] = [];
  const deploy = async (phase: string, extra: Record<string, unknown> = {}) => {
    const { client, counts } = countingClient(server.url, server.key, server.secret);
    const started = performance.now();
    const report = await createAll(
      {
        root,
        config: {
          FLASKS3_BUCKET_NAME: bucket,
          FLASKS3_ENDPOINT_URL: server.url,
          FLASKS3_ONLY_MODIFIED: true,
          FLASKS3_PUT_BUCKET_ACL: false,
          FLASKS3_CONCURRENCY: 32,
          FLASKS3_HASH_CACHE: true,
          ...extra,
        },
      },
      { client },
    );
    rows.push({
      files,
      phase,
      seconds: (performance.now() - started) / 1000,
      ...counts,
      uploaded: report.uploaded.length,
    });
    client.destroy();
  };
  await deploy('first deploy');
  writeSite(root, files, 1);
  await deploy('1% changed');
  await deploy('unchanged (default: listing)');
  await deploy('unchanged (trustRecord)', { FLASKS3_TRUST_RECORD: true });
  rmSync(root, { recursive: true, force: true });
  return rows;
}

const server = await endpoint();
try {
  const rows: Row[] = [];
  for (const n of sizes) rows.push(...(await measure(n, server)));
  console.log(`\nServer: ${process.env.S3_ENDPOINT ? process.env.S3_ENDPOINT : 's3rver (in-process)'}\n`);
  console.log('| files | deploy | uploaded | wall s | state bytes written | state writes | requests |');
  console.log('|---:|---|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.files.toLocaleString('en')} | ${r.phase} | ${r.uploaded} | ${r.seconds.toFixed(2)} | ${r.stateBytes.toLocaleString('en')} | ${r.stateWrites} | ${r.requests} |`,
    );
  }
} finally {
  await server.stop();
}
