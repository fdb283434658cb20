// Sending one object, by the path its size and settings call for: small files as one Buffer (through
// the direct PUT where it applies, else the SDK); mid-size files as a file stream, re-opened for each
// attempt; large files as a multipart upload of parts streamed from the file (multipart.ts); large
// gzipped files (length unknown in advance) as gzip output cut into parts as it comes (gzip-parts.ts).
//
// With gzip on for a file, its body is stored gzipped only when gzip makes it smaller (gzipPays,
// src/content/gzip.ts), else as it is, without `Content-Encoding: gzip`; the choice depends on the bytes
// alone, so an unchanged file makes the same one on every run. A file that fits one part is read whole
// and the whole file decides. A larger one is judged before any of it is sent, on its first
// GZIP_SAMPLE bytes (deflate looks back 32 KiB, so a MiB shows how the file compresses, for an eighth of
// the CPU of a whole part): a sample gzip does not shrink sends the file as it is. Otherwise it is sent
// gzipped, and if the whole gzip output still comes out no smaller than the file (compressible at the
// start only), the gzipped upload is abandoned before it is committed and the file sent as it is: the
// object stored is never larger than the file.
// Whatever the path, the result says the hash and size of the bytes actually sent.

import { readFileSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import type { PutObjectCommandInput } from '@aws-sdk/client-s3';
import { gzipIfSmaller } from '../content/gzip.js';
import type { ObjectFields, ObjectSettings } from '../content/headers.js';
import { contentMd5, contentMd5OfRange } from '../content/md5.js';
import type { DirectPut } from '../s3/direct-put.js';
import { withRetries } from '../s3/retry.js';
import { s3Sdk } from '../s3/sdk.js';
import { guardedSend, hashedFileStream } from './body-streams.js';
import { sendGzippedParts } from './gzip-parts.js';
import { BUFFER_LIMIT } from './local-hashing.js';
import { partSizeFor, sendParts, sendsAsMultipart } from './multipart.js';
import { etagFrom } from './state/listing.js';
import {
  changedWhileUploading,
  type DeployItem,
  isNamedByHash,
  type SendContext,
  type SentObject,
} from './types.js';

/** The bytes at the start of a file larger than one part that judge whether gzip pays (see the top). */
export const GZIP_SAMPLE = 1024 * 1024;

/**
 * Whether a file of these bytes, with gzip on for it, is stored gzipped: the rule at the top of this file,
 * for whoever checks what a deploy stored (src/verify/verify.ts).
 */
export async function storesGzipped(bytes: Buffer): Promise<boolean> {
  const whole = async () => (await gzipIfSmaller(bytes)).gzipped;
  if (bytes.length < BUFFER_LIMIT || bytes.length <= partSizeFor(bytes.length)) return await whole();
  return (await gzipIfSmaller(bytes.subarray(0, GZIP_SAMPLE))).gzipped && (await whole());
}

/**
 * The fields an object is stored with: its settings', less the `Content-Encoding: gzip` that gzip adds
 * when the body goes as it is. A user's own Content-Encoding is never touched: a file that has one is
 * not gzipped at all (settings.gzip is false, src/content/headers.ts).
 */
export function storedFields(settings: ObjectSettings, gzipped: boolean): Readonly<ObjectFields> {
  if (!settings.gzip || gzipped) return settings.fields;
  const { ContentEncoding: _gzip, ...fields } = settings.fields;
  return fields;
}

/** The PutObject fields of an item: bucket, key, its headers and metadata, and the ACL when one is sent. */
export function putParams(
  ctx: Pick<SendContext, 'bucket'>,
  item: Pick<DeployItem, 'key' | 'settings'>,
  acl: string | undefined,
  gzipped: boolean,
): PutObjectCommandInput {
  const s = item.settings;
  return {
    Bucket: ctx.bucket,
    Key: item.key,
    ...storedFields(s, gzipped),
    ...(Object.keys(s.metadata).length ? { Metadata: { ...s.metadata } } : {}),
    ...(acl ? { ACL: acl as PutObjectCommandInput['ACL'] } : {}),
  };
}

/** Upload one object with `acl` (or none), by the path that fits it (see the top of this file). */
export async function sendObject(
  ctx: SendContext,
  item: DeployItem,
  acl: string | undefined,
): Promise<SentObject> {
  if (item.size < BUFFER_LIMIT) return await sendSmall(ctx, item, acl);
  if (item.settings.gzip) return await sendLargeGzipped(ctx, item, acl);
  return await sendAsIs(ctx, item, acl);
}

/** A small file as one Buffer: the bytes kept from hashing, or read now. */
async function sendSmall(ctx: SendContext, item: DeployItem, acl: string | undefined): Promise<SentObject> {
  let bytes = item.body;
  let hash = item.hash;
  if (!bytes) {
    // Synchronous: a small file from the page cache is read faster than fs.promises can schedule it.
    bytes = readFileSync(item.file.file);
    hash = ctx.hasher.hashBytes(bytes);
    if (isNamedByHash(ctx.config, item) && hash !== item.hash) throw changedWhileUploading(item);
  }
  return await sendBuffer(ctx, item, acl, { bytes, hash }, ctx.directPut);
}

/**
 * Bytes in memory as one PUT, gzipped when gzip is on for them and makes them smaller. Through `put`
 * (the direct PUT) when given, retried here as the SDK would (same policy, Retry-After honoured), else the
 * SDK (which retries it itself).
 */
async function sendBuffer(
  ctx: SendContext,
  item: DeployItem,
  acl: string | undefined,
  read: { bytes: Buffer; hash: string },
  put: DirectPut | undefined,
): Promise<SentObject> {
  const s = item.settings;
  const { body, gzipped } = s.gzip ? await gzipIfSmaller(read.bytes) : { body: read.bytes, gzipped: false };
  const md5 = ctx.contentMd5 ? contentMd5(body) : undefined;
  let etag: string | undefined;
  if (put) {
    const input = {
      key: item.key,
      body,
      fields: storedFields(s, gzipped),
      metadata: s.metadata,
      acl,
      contentMd5: md5,
    };
    etag = await withRetries(ctx.config.maxAttempts, ctx.signal, () => put(input, ctx.signal));
  } else {
    const params = putParams(ctx, item, acl, gzipped);
    const out = await ctx.client.send(
      new (s3Sdk().PutObjectCommand)({
        ...params,
        Body: body,
        ContentLength: body.length,
        // The user's own Content-MD5 (headers) stands unless the checksum policy computed one.
        ContentMD5: md5 ?? params.ContentMD5,
      }),
      { abortSignal: ctx.signal },
    );
    etag = out.ETag;
  }
  const stored = body.length;
  return {
    hash: read.hash,
    size: read.bytes.length,
    stored,
    bytesSent: stored,
    gzipped,
    etag: etagFrom(etag),
  };
}

/** A file of BUFFER_LIMIT or more with gzip on: gzipped when that pays (see the top of this file). */
async function sendLargeGzipped(
  ctx: SendContext,
  item: DeployItem,
  acl: string | undefined,
): Promise<SentObject> {
  const partSize = partSizeFor(item.size);
  if (item.size <= partSize) {
    // All of it fits one part (gzip output is sent as one PUT up to that size anyway): the whole decides.
    const bytes = await readFile(item.file.file);
    const hash = ctx.hasher.hashBytes(bytes);
    if (isNamedByHash(ctx.config, item) && hash !== item.hash) throw changedWhileUploading(item);
    // Not the direct PUT: it is for the small bodies it was measured with.
    return await sendBuffer(ctx, item, acl, { bytes, hash }, undefined);
  }
  if (!(await gzipIfSmaller(await readStart(item.file.file, GZIP_SAMPLE))).gzipped) {
    return await sendAsIs(ctx, item, acl);
  }
  const outcome = await sendGzippedParts(ctx, item, putParams(ctx, item, acl, true), partSize);
  if ('stored' in outcome) return outcome.stored;
  const raw = await sendAsIs(ctx, item, acl);
  return { ...raw, bytesSent: raw.bytesSent + outcome.abandoned.bytesSent };
}

/** The first `length` bytes of `file` (fewer when it is shorter). */
async function readStart(file: string, length: number): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** A file of BUFFER_LIMIT or more, not gzipped: multipart when large enough, else one stream. */
async function sendAsIs(ctx: SendContext, item: DeployItem, acl: string | undefined): Promise<SentObject> {
  const params = putParams(ctx, item, acl, false);
  if (sendsAsMultipart(item.size, false, ctx.config.multipartThreshold)) {
    return await sendParts(ctx, item, params, partSizeFor(item.size));
  }
  return await sendStream(ctx, item, params);
}

/** A mid-size file: a stream per attempt, so a retry sends the file from its start. */
async function sendStream(
  ctx: SendContext,
  item: DeployItem,
  params: PutObjectCommandInput,
): Promise<SentObject> {
  // Read once before sending (a header precedes the body); a file changed since is refused (BadDigest).
  const md5 = ctx.contentMd5 ? await contentMd5OfRange(item.file.file, 0, item.size) : undefined;
  return await withRetries(ctx.config.maxAttempts, ctx.signal, async () => {
    // Bounded to the size announced: a file grown meanwhile sends (and records) what fits, a shrunk one fails.
    const source = await hashedFileStream(item.file.file, ctx.hasher, 256 * 1024, {
      start: 0,
      length: item.size,
    });
    const out = await guardedSend(source.stream, ctx.signal, (controller) =>
      ctx.client.send(
        new (s3Sdk().PutObjectCommand)({
          ...params,
          Body: source.stream,
          ContentLength: item.size,
          ContentMD5: md5 ?? params.ContentMD5,
        }),
        { abortSignal: controller.signal },
      ),
    );
    const read = await source.result();
    return { ...read, stored: item.size, bytesSent: item.size, gzipped: false, etag: etagFrom(out.ETag) };
  });
}
