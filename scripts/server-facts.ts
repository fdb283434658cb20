// Measures what an S3 server offers a deploy state (docs/deploy-state.md, "Server facts"): conditional
// PutObject (If-None-Match: *, If-Match), what ListObjectsV2 and ListMultipartUploads return, whether a
// single-PUT ETag is the MD5 of the stored bytes, and CopyObject. Run against an embedded s3rver (default)
// or any endpoint on 127.0.0.1:
//   node --import tsx scripts/server-facts.ts                       (s3rver, embedded)
//   eval "$(bash scripts/rgw.sh env)"; node --import tsx scripts/server-facts.ts "$S3_ENDPOINT"
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { keepFoldersOfDeletedObjects } from '../examples/tools/s3rver-folders.mjs';

async function server(): Promise<{
  endpoint: string;
  id: string;
  secret: string;
  close: () => Promise<void>;
}> {
  const given = process.argv[2];
  if (given) {
    if (!/^https?:\/\/(127\.0\.0\.1|localhost)[:/]/.test(given))
      throw new Error(`refusing non-loopback ${given}`);
    return {
      endpoint: given,
      id: process.env.AWS_ACCESS_KEY_ID ?? 'test',
      secret: process.env.AWS_SECRET_ACCESS_KEY ?? 'testsecret',
      close: async () => {},
    };
  }
  const directory = mkdtempSync(path.join(tmpdir(), 'facts-s3rver-'));
  const s = keepFoldersOfDeletedObjects(
    new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory }),
  );
  const { port } = (await s.run()) as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    id: 'S3RVER',
    secret: 'S3RVER',
    close: async () => {
      await s.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** What a request answered: ok with some fields, or the error's status and code. */
async function outcome(p: Promise<Record<string, unknown>>, pick: (o: Record<string, unknown>) => unknown) {
  try {
    return { ok: true, ...((pick(await p) as object) ?? {}) };
  } catch (e) {
    const err = e as {
      name?: string;
      Code?: string;
      $metadata?: { httpStatusCode?: number };
      message?: string;
    };
    return {
      ok: false,
      status: err.$metadata?.httpStatusCode,
      code: err.Code ?? err.name,
      message: err.message?.slice(0, 80),
    };
  }
}

const md5 = (b: Buffer) => `"${createHash('md5').update(b).digest('hex')}"`;

const facts: Record<string, unknown> = {};

async function main() {
  const s = await server();
  const c = new S3Client({
    endpoint: s.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: s.id, secretAccessKey: s.secret },
    maxAttempts: 1,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const Bucket = `facts-${Date.now().toString(36)}`;
  await c.send(new CreateBucketCommand({ Bucket }));
  facts.endpoint = s.endpoint;
  const a = Buffer.from('first version\n');
  const b = Buffer.from('second version\n');
  const put = (Key: string, Body: Buffer, more: Record<string, string> = {}) =>
    c.send(new PutObjectCommand({ Bucket, Key, Body, ...more }));

  facts['PUT If-None-Match:* on a new key'] = await outcome(put('lease', a, { IfNoneMatch: '*' }), (o) => ({
    etag: o.ETag,
  }));
  facts['PUT If-None-Match:* on an existing key'] = await outcome(
    put('lease', b, { IfNoneMatch: '*' }),
    (o) => ({ etag: o.ETag }),
  );
  const held = await c.send(new GetObjectCommand({ Bucket, Key: 'lease' }));
  facts['bytes after the second If-None-Match:*'] = (await held.Body!.transformToString()).trim();
  const etag = held.ETag!;
  facts['PUT If-None-Match:<etag> (only * is defined)'] = await outcome(
    put('lease', a, { IfNoneMatch: etag }),
    (o) => ({ etag: o.ETag }),
  );
  facts['PUT If-Match:<current etag>'] = await outcome(put('lease', b, { IfMatch: etag }), (o) => ({
    etag: o.ETag,
  }));
  facts['PUT If-Match:<stale etag>'] = await outcome(put('lease', a, { IfMatch: etag }), (o) => ({
    etag: o.ETag,
  }));
  facts['PUT If-Match on a missing key'] = await outcome(put('nokey', a, { IfMatch: etag }), (o) => ({
    etag: o.ETag,
  }));
  const final = await c.send(new GetObjectCommand({ Bucket, Key: 'lease' }));
  facts['bytes after the stale If-Match'] = (await final.Body!.transformToString()).trim();

  const plain = await put('plain.txt', a);
  facts['single PUT ETag is MD5 of bytes'] = plain.ETag === md5(a);
  const gz = gzipSync(Buffer.from('x'.repeat(5000)));
  const gput = await put('gz.txt', gz, { ContentEncoding: 'gzip' });
  facts['gzipped PUT ETag is MD5 of the gzipped bytes stored'] = gput.ETag === md5(gz);

  const page = (input: Record<string, unknown>) =>
    outcome(c.send(new ListObjectsV2Command({ Bucket, ...input })) as never, (o) => ({
      contents: (o.Contents as Record<string, unknown>[] | undefined)?.map((x) => ({
        Key: x.Key,
        ETag: x.ETag,
        Size: x.Size,
      })),
      IsTruncated: o.IsTruncated,
      NextContinuationToken: o.NextContinuationToken,
    }));
  facts['ListObjectsV2'] = await page({});
  facts['ListObjectsV2 MaxKeys=2'] = await page({ MaxKeys: 2 });
  const token = (facts['ListObjectsV2 MaxKeys=2'] as { NextContinuationToken?: string })
    .NextContinuationToken;
  if (token) facts['ListObjectsV2 second page'] = await page({ ContinuationToken: token });
  facts['ListObjectsV2 StartAfter=gz.txt'] = await page({ StartAfter: 'gz.txt' });
  facts['ListObjectsV2 Prefix=plain'] = await page({ Prefix: 'plain' });
  facts['plain.txt PUT ETag'] = plain.ETag;

  facts['CreateMultipartUpload'] = await outcome(
    c.send(new CreateMultipartUploadCommand({ Bucket, Key: 'app/big.bin' })) as never,
    (o) => ({ uploadId: typeof o.UploadId }),
  );
  facts['ListMultipartUploads'] = await outcome(
    c.send(new ListMultipartUploadsCommand({ Bucket, Prefix: 'app/' })) as never,
    (o) => ({ uploads: (o.Uploads as unknown[] | undefined)?.map((u) => u) }),
  );
  const up = facts['CreateMultipartUpload'] as { ok: boolean };
  if (up.ok) {
    const listed = await c.send(new ListMultipartUploadsCommand({ Bucket })).catch(() => undefined);
    const id = listed?.Uploads?.[0]?.UploadId;
    if (id)
      facts['AbortMultipartUpload'] = await outcome(
        c.send(new AbortMultipartUploadCommand({ Bucket, Key: 'app/big.bin', UploadId: id })) as never,
        () => ({}),
      );
  }

  facts['CopyObject (same bucket)'] = await outcome(
    c.send(
      new CopyObjectCommand({
        Bucket,
        Key: 'copy.txt',
        CopySource: `${Bucket}/plain.txt`,
        MetadataDirective: 'REPLACE',
        ContentType: 'text/css',
        CacheControl: 'public, max-age=31536000, immutable',
      }),
    ) as never,
    (o) => ({ etag: (o.CopyObjectResult as { ETag?: string } | undefined)?.ETag }),
  );
  const copy = await c.send(new GetObjectCommand({ Bucket, Key: 'copy.txt' })).catch(() => undefined);
  if (copy)
    facts['copy: bytes, type, cache-control'] = {
      same: (await copy.Body!.transformToString()) === a.toString(),
      type: copy.ContentType,
      cacheControl: copy.CacheControl,
    };
  console.log(JSON.stringify(facts, null, 2));
  await s.close();
}

await main().catch((e) => {
  console.log(JSON.stringify(facts, null, 2));
  console.log('stopped at the step after the last one above:', (e as Error).name, (e as Error).message);
  process.exit(1);
});
