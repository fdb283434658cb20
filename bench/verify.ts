// Correctness of every timed deploy, checked outside the timing: every local file is in the bucket under
// its key with its size, nothing unexpected is there, and a seeded sample of objects (plus files just
// edited) has exactly the bytes on disk. A fast wrong result must not look like a win.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Site, SiteFile } from './site.js';

export interface Check {
  ok: boolean;
  objects: number;
  missing: number;
  wrongSize: number;
  /** Keys under the prefix that are no local file (createAll's record, if it keeps one there). */
  extra: string[];
  sampled: number;
  badBytes: number;
  summary: string;
}

/**
 * key -> size of every object under `prefix/`. ListObjects (v1, by marker): s3rver 3.7 answers
 * ListObjectsV2 with InternalError once a listing has more than 1,000 keys.
 */
export async function listPrefix(
  client: S3Client,
  bucket: string,
  prefix: string,
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let marker: string | undefined;
  for (;;) {
    const page = await client.send(
      new ListObjectsCommand({ Bucket: bucket, Prefix: `${prefix}/`, Marker: marker, MaxKeys: 1000 }),
    );
    const contents = page.Contents ?? [];
    for (const o of contents) out.set(o.Key!, o.Size ?? -1);
    if (!page.IsTruncated || contents.length === 0) return out;
    marker = page.NextMarker ?? contents[contents.length - 1]!.Key;
  }
}

export async function getBytes(
  client: S3Client,
  bucket: string,
  key: string,
  range?: string,
): Promise<Buffer> {
  const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: range }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

/**
 * Compare the objects under `prefix/` with the site on disk. `allowExtra(key)` says which keys that are
 * no local file are fine (createAll's record); `sample` are site-relative paths whose bytes are compared.
 */
export async function verifyDeploy(
  client: S3Client,
  bucket: string,
  prefix: string,
  site: Site,
  sample: readonly string[],
  allowExtra: (key: string) => boolean = () => false,
): Promise<Check> {
  const listed = await listPrefix(client, bucket, prefix);
  let missing = 0;
  let wrongSize = 0;
  const local = new Set<string>();
  const unlisted: SiteFile[] = [];
  for (const f of site.files) {
    const key = `${prefix}/${f.rel}`;
    local.add(key);
    const size = listed.get(key);
    if (size === undefined) unlisted.push(f);
    else if (size !== f.size) wrongSize++;
  }
  // A listing can be wrong too (s3rver's pages skip keys past 1,000): ask for each unlisted key directly.
  for (const f of unlisted.slice(0, 100)) {
    const head = await client
      .send(new HeadObjectCommand({ Bucket: bucket, Key: `${prefix}/${f.rel}` }))
      .catch(() => undefined);
    if (!head) missing++;
    else if (head.ContentLength !== f.size) wrongSize++;
  }
  missing += Math.max(0, unlisted.length - 100);
  const extra = [...listed.keys()].filter((k) => !local.has(k));
  let badBytes = 0;
  const queue = [...new Set(sample)];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let rel = queue.pop(); rel !== undefined; rel = queue.pop()) {
        const want = readFileSync(path.join(site.dir, rel));
        const got = await getBytes(client, bucket, `${prefix}/${rel}`).catch(() => undefined);
        if (!got?.equals(want)) badBytes++;
      }
    }),
  );
  const badExtra = extra.filter((k) => !allowExtra(k));
  const ok = missing === 0 && wrongSize === 0 && badBytes === 0 && badExtra.length === 0;
  const problems = [
    missing && `${missing} missing`,
    wrongSize && `${wrongSize} wrong size`,
    badBytes && `${badBytes} of ${sample.length} sampled differ`,
    badExtra.length && `${badExtra.length} unexpected (${badExtra.slice(0, 2).join(', ')})`,
  ].filter(Boolean);
  return {
    ok,
    objects: listed.size,
    missing,
    wrongSize,
    extra,
    sampled: new Set(sample).size,
    badBytes,
    summary: ok
      ? `ok: ${site.files.length} keys+sizes, ${new Set(sample).size} bodies`
      : `FAILED: ${problems.join('; ')}`,
  };
}

/** Delete everything under `prefix/` (used when the server cannot simply be reset). */
export async function deletePrefix(client: S3Client, bucket: string, prefix: string): Promise<void> {
  const keys = [...(await listPrefix(client, bucket, prefix)).keys()];
  for (let i = 0; i < keys.length; i += 1000) {
    await client.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true },
      }),
    );
  }
}
