// Runs an s3rver of its own and, round after round, deletes the only object of a folder while another
// object is written into the same folder, as two deploys do with their lease objects. Then it reads back
// every object written. Prints one JSON line: { rounds, missing } (keys written but not there).
// `--keep-folders` runs the s3rver the demo and the tests run (examples/tools/s3rver-folders.mjs).
// Run by test/s3rver-folders.test.ts in a process of its own: the failure it looks for ends the process.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { keepFoldersOfDeletedObjects } from '../../examples/tools/s3rver-folders.mjs';

const ROUNDS = 200;
const Bucket = 'folder-race';
const directory = mkdtempSync(path.join(tmpdir(), 'nunjucks-s3-folder-race-'));
process.on('exit', () => rmSync(directory, { recursive: true, force: true }));

const plain = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });
const server = process.argv.includes('--keep-folders') ? keepFoldersOfDeletedObjects(plain) : plain;
const { port } = await server.run();
const s3 = new S3Client({
  endpoint: `http://127.0.0.1:${port}`,
  region: 'us-east-1',
  forcePathStyle: true,
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
});
await s3.send(new CreateBucketCommand({ Bucket }));

for (let round = 0; round < ROUNDS; round++) {
  await s3.send(new PutObjectCommand({ Bucket, Key: `lease/${round}/old`, Body: 'old' }));
  await Promise.all([
    s3.send(new DeleteObjectCommand({ Bucket, Key: `lease/${round}/old` })),
    s3.send(new PutObjectCommand({ Bucket, Key: `lease/${round}/new`, Body: `new ${round}` })),
  ]);
}

const listed = new Set();
let marker;
do {
  const page = await s3.send(new ListObjectsCommand({ Bucket, Prefix: 'lease/', Marker: marker }));
  for (const { Key } of page.Contents ?? []) listed.add(Key);
  marker = page.IsTruncated ? page.Contents?.at(-1)?.Key : undefined;
} while (marker);

const missing = [];
for (let round = 0; round < ROUNDS; round++) {
  const Key = `lease/${round}/new`;
  const body = listed.has(Key)
    ? await (await s3.send(new GetObjectCommand({ Bucket, Key }))).Body.transformToString()
    : undefined;
  if (body !== `new ${round}` || listed.has(`lease/${round}/old`)) missing.push(Key);
}
console.log(JSON.stringify({ rounds: ROUNDS, missing }));
await server.close();
