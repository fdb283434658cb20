// Sending one object, by the path its size and settings call for: small files as one Buffer (through
// the direct PUT where it applies, else the SDK); mid-size files as a file stream, re-opened for each
// attempt; large files as a multipart upload of parts streamed from the file (multipart.ts); large
// gzipped files (length unknown in advance) as gzip output cut into parts as it comes (gzip-parts.ts).
// Whatever the path, the result says the hash and size of the bytes actually sent.

import { readFileSync } from 'node:fs';
import type { PutObjectCommandInput } from '@aws-sdk/client-s3';
import { gzipBuffer } from '../content/gzip.js';
import { contentMd5, contentMd5OfRange } from '../content/md5.js';
import { withRetries } from '../s3/retry.js';
import { s3Sdk } from '../s3/sdk.js';
import { guardedSend, hashedFileStream } from './body-streams.js';
import { sendGzippedParts } from './gzip-parts.js';
import { BUFFER_LIMIT } from './local-hashing.js';
import { partSizeFor, sendParts, sendsAsMultipart } from './multipart.js';
import { normaliseEtag } from './state/listing.js';
import {
  changedWhileUploading,
  type DeployItem,
  isNamedByHash,
  type SendContext,
  type SentObject,
} from './types.js';

/** The PutObject fields of an item: bucket, key, its headers and metadata, and the ACL when one is sent. */
function putParams(ctx: SendContext, item: DeployItem, acl: string | undefined): PutObjectCommandInput {
  const s = item.settings;
  return {
    Bucket: ctx.bucket,
    Key: item.key,
    ...s.fields,
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
  const params = putParams(ctx, item, acl);
  if (item.size < BUFFER_LIMIT) return await sendSmall(ctx, item, params, acl);
  const partSize = partSizeFor(item.size);
  if (sendsAsMultipart(item.size, item.settings.gzip, ctx.config.multipartThreshold)) {
    return await sendParts(ctx, item, params, partSize);
  }
  if (item.settings.gzip) return await sendGzippedParts(ctx, item, params, partSize);
  return await sendStream(ctx, item, params);
}

/**
 * A small file as one Buffer: the bytes kept from hashing, or read now. Through the direct PUT where it
 * applies (retried here, as the SDK would: same policy, Retry-After honoured), else the SDK (which
 * retries it itself).
 */
async function sendSmall(
  ctx: SendContext,
  item: DeployItem,
  params: PutObjectCommandInput,
  acl: string | undefined,
): Promise<SentObject> {
  const s = item.settings;
  let bytes = item.body;
  let hash = item.hash;
  if (!bytes) {
    // Synchronous: a small file from the page cache is read faster than fs.promises can schedule it.
    bytes = readFileSync(item.file.file);
    hash = ctx.hasher.hashBytes(bytes);
    if (isNamedByHash(ctx.config, item) && hash !== item.hash) throw changedWhileUploading(item);
  }
  const body = s.gzip ? await gzipBuffer(bytes) : bytes;
  const md5 = ctx.contentMd5 ? contentMd5(body) : undefined;
  const put = ctx.directPut;
  let etag: string | undefined;
  if (put) {
    const input = { key: item.key, body, fields: s.fields, metadata: s.metadata, acl, contentMd5: md5 };
    etag = await withRetries(ctx.config.maxAttempts, ctx.signal, () => put(input, ctx.signal));
  } else {
    const out = await ctx.client.send(
      new (s3Sdk().PutObjectCommand)({ ...params, Body: body, ContentLength: body.length, ContentMD5: md5 }),
      { abortSignal: ctx.signal },
    );
    etag = out.ETag;
  }
  return { hash, size: bytes.length, bytesSent: body.length, etag: unquoted(etag) };
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
          ContentMD5: md5,
        }),
        { abortSignal: controller.signal },
      ),
    );
    return { ...(await source.result()), bytesSent: item.size, etag: unquoted(out.ETag) };
  });
}

/** An ETag as claims keep it: without the quotes some servers put around it. */
function unquoted(etag: string | undefined): string | undefined {
  return etag === undefined ? undefined : normaliseEtag(etag);
}
