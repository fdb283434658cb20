// An unchanged re-deploy when every request takes longer, as on a real S3 region far from loopback: the
// fault proxy (test/helpers/fault-proxy.ts) delays every answer by --delay ms (default 20) in front of the
// server S3_ENDPOINT names, with the AWS_* credentials of the environment (`eval "$(bash scripts/rgw.sh env)"`
// sets them for a gateway started with `bash scripts/rgw.sh start`). Prints the wall time of createAll for a
// first deploy and the median of --runs unchanged re-deploys (default 5), with the default settings and
// with trustRecord, and the requests each made.
//   node --import tsx bench/latency.ts [--files 1000] [--delay 20] [--runs 5]
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createAll } from '../src/index.js';
import { startFaultProxy } from '../test/helpers/fault-proxy.js';

const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '1000' },
    delay: { type: 'string', default: '20' },
    runs: { type: 'string', default: '5' },
    log: { type: 'boolean', default: false },
  },
});
const files = Number(values.files);
const delay = Number(values.delay);
const runs = Number(values.runs);

const root = path.join(os.tmpdir(), `nunjucks-s3-latency-${files}`);
for (let i = 0; i < files; i++) {
  const dir = path.join(root, 'static', `d${i % 20}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, `f${i}.css`),
    `.c${i} { color: #${((i * 2654435761) % 0xffffff).toString(16)} }\n`,
  );
}
const endpoint = process.env.S3_ENDPOINT;
if (!endpoint)
  throw new Error('set S3_ENDPOINT (and AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) to a loopback S3 server');
const proxy = await startFaultProxy({
  target: endpoint,
  rules: [{ name: 'latency', fault: { type: 'delay', ms: delay } }],
});
const bucket = `latency-${Date.now()}`;
const app = (extra: Record<string, unknown>) => ({
  root,
  config: {
    FLASKS3_BUCKET_NAME: bucket,
    FLASKS3_ENDPOINT_URL: proxy.url,
    FLASKS3_REGION: 'us-east-1',
    FLASKS3_ONLY_MODIFIED: true,
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY,
    ...extra,
  },
});
const quiet = { logger: { warn: () => {}, info: () => {} } };
async function timed(extra: Record<string, unknown>): Promise<{ ms: number; requests: number }> {
  const before = proxy.requests;
  const t0 = performance.now();
  await createAll(app(extra), quiet);
  return { ms: performance.now() - t0, requests: proxy.requests - before };
}
const first = await timed({});
const rows: string[][] = [['first deploy', first.ms.toFixed(0), String(first.requests)]];
for (const [label, extra] of [
  ['unchanged (defaults)', {}],
  ['unchanged (trustRecord)', { FLASKS3_TRUST_RECORD: true }],
] as const) {
  const all = [];
  for (let i = 0; i < runs; i++) all.push(await timed(extra));
  all.sort((a, b) => a.ms - b.ms);
  const mid = all[Math.floor(all.length / 2)]!;
  rows.push([label, mid.ms.toFixed(0), String(mid.requests)]);
}
console.log(`${files} files, every answer delayed ${delay} ms (median of ${runs})\n`);
console.log('| deploy | ms | requests |\n| --- | ---: | ---: |');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
if (values.log) {
  console.log('\nthe requests of the last unchanged re-deploy (trustRecord):');
  for (const e of proxy.log.slice(-Number(rows.at(-1)![2])))
    console.log(`  ${e.method} ${decodeURIComponent(e.url)}`);
}
await proxy.close();
