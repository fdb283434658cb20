// Large files as multipart uploads, each part streamed from its own range of the file (four at a time),
// so memory stays flat: copying a stream into part buffers takes about 90 MB for 4 parts of 8 MiB
// (measured with lib-storage's Upload; gzip-parts.ts does that only for gzipped files, whose length is
// unknown). Each part is retried like a mid-size file (the SDK does not retry streamed
// bodies); on any failure or an abort the multipart upload is aborted, so no object is committed. Parts
// are read out of order, so the file's hash comes from one sequential read (alongside the parts), and
// each part's bytes, hashed as they were sent, must equal that read's: the record then holds the hash
// of what was sent, and a file changed meanwhile fails instead of being recorded wrong.

import type {
  CompletedPart,
  CreateMultipartUploadCommandInput,
  PutObjectCommandInput,
  UploadPartCommandOutput,
} from '@aws-sdk/client-s3';
import type { Hasher } from '../content/hash.js';
import { contentMd5OfRange } from '../content/md5.js';
import { abortError, withRetries } from '../s3/retry.js';
import { s3Sdk } from '../s3/sdk.js';
import { readFileInChunks } from '../util/chunked-read.js';
import { runPool } from '../util/pool.js';
import { guardedSend, hashedFileStream } from './body-streams.js';
import { etagFrom } from './state/listing.js';
import {
  changedWhileUploading,
  type DeployItem,
  isNamedByHash,
  type SendContext,
  type SentObject,
} from './types.js';

/** Smallest part size (S3 allows 10,000 parts: larger files get larger parts). */
export const PART_SIZE = 8 * 1024 * 1024;
/** Parts in flight at once, within the one upload slot the file takes. */
export const PARTS_AT_ONCE = 4;

/** The part size for a file of `size` bytes: {@link PART_SIZE}, or larger to stay under 9,000 parts. */
export function partSizeFor(size: number): number {
  return Math.max(PART_SIZE, Math.ceil(size / 9_000));
}

/**
 * Whether a file goes as a multipart upload from its own bytes: not gzipped (a gzipped body's length is
 * unknown in advance: gzip-parts.ts), at or above multipartThreshold, and more than one part.
 */
export function sendsAsMultipart(size: number, gzip: boolean, multipartThreshold: number): boolean {
  return !gzip && size >= multipartThreshold && size > partSizeFor(size);
}

/** One part: its number (from 1) and the byte range of the file it carries. */
export interface PartRange {
  number: number;
  start: number;
  length: number;
}

/** The parts of a file of `size` bytes, cut every `partSize` bytes; the last one takes the rest. */
export function partRanges(size: number, partSize: number): PartRange[] {
  const count = Math.ceil(size / partSize);
  return Array.from({ length: count }, (_, n) => ({
    number: n + 1,
    start: n * partSize,
    length: Math.min(partSize, size - n * partSize),
  }));
}

/** The part as Complete lists it: its ETag and whichever checksum the server returned. */
export function completedPart(number: number, result: UploadPartCommandOutput): CompletedPart {
  return {
    PartNumber: number,
    ETag: result.ETag,
    ...(result.ChecksumCRC32 ? { ChecksumCRC32: result.ChecksumCRC32 } : {}),
    ...(result.ChecksumCRC32C ? { ChecksumCRC32C: result.ChecksumCRC32C } : {}),
    ...(result.ChecksumCRC64NVME ? { ChecksumCRC64NVME: result.ChecksumCRC64NVME } : {}),
    ...(result.ChecksumSHA1 ? { ChecksumSHA1: result.ChecksumSHA1 } : {}),
    ...(result.ChecksumSHA256 ? { ChecksumSHA256: result.ChecksumSHA256 } : {}),
  };
}

/** One multipart upload in progress: where it goes, and what its parts returned. */
interface OpenUpload {
  ctx: SendContext;
  item: DeployItem;
  target: { Bucket: string; Key: string; UploadId: string };
  /** The client adds checksums (AWS defaults): each part declares CRC32. */
  checksums: boolean;
  /** Stops the other parts (and the sequential read) when one part fails or the caller aborts. */
  stop: AbortController;
  parts: CompletedPart[];
  sentHashes: string[];
}

/** Send one part, retried like a mid-size file; records its ETag and the hash of the bytes sent. */
async function sendPart(upload: OpenUpload, range: PartRange): Promise<void> {
  const { ctx, item, target, stop } = upload;
  // Read once before sending (a header precedes the body); a file changed since is refused (BadDigest).
  const md5 = ctx.contentMd5 ? await contentMd5OfRange(item.file.file, range.start, range.length) : undefined;
  await withRetries(ctx.config.maxAttempts, stop.signal, async () => {
    const source = await hashedFileStream(item.file.file, ctx.hasher, 256 * 1024, range);
    const result = await guardedSend(source.stream, stop.signal, (controller) =>
      ctx.client.send(
        new (s3Sdk().UploadPartCommand)({
          ...target,
          PartNumber: range.number,
          Body: source.stream,
          ContentLength: range.length,
          ContentMD5: md5,
          ...(upload.checksums ? { ChecksumAlgorithm: 'CRC32' } : {}),
        }),
        { abortSignal: controller.signal },
      ),
    );
    if (!result.ETag) throw new Error(`UploadPart ${range.number} of ${item.key} returned no ETag`);
    upload.sentHashes[range.number - 1] = (await source.result()).hash;
    upload.parts[range.number - 1] = completedPart(range.number, result);
  });
}

/** Every part, {@link PARTS_AT_ONCE} at a time; the first failure stops the others and is thrown. */
async function sendAllParts(upload: OpenUpload, ranges: readonly PartRange[]): Promise<void> {
  let failure: unknown;
  await runPool(
    ranges,
    PARTS_AT_ONCE,
    async (range) => {
      try {
        await sendPart(upload, range);
      } catch (err) {
        failure ??= err;
        upload.stop.abort(err);
      }
    },
    () => upload.stop.signal.aborted,
  );
  const signal = upload.ctx.signal;
  if (signal?.aborted) throw abortError(signal);
  if (failure !== undefined) throw failure;
}

/**
 * Upload a large file as a multipart upload (see the top of this file). Complete is sent only when the
 * sequential read agrees with every part sent; otherwise the upload is aborted.
 */
export async function sendParts(
  ctx: SendContext,
  item: DeployItem,
  params: PutObjectCommandInput,
  partSize: number,
): Promise<SentObject> {
  const { client, bucket, signal } = ctx;
  if (signal?.aborted) throw abortError(signal);
  const checksums = (await client.config.requestChecksumCalculation()) === 'WHEN_SUPPORTED';
  const { UploadId } = await client.send(
    new (s3Sdk().CreateMultipartUploadCommand)({
      ...(params as CreateMultipartUploadCommandInput),
      ...(checksums ? { ChecksumAlgorithm: 'CRC32' } : {}),
    }),
    { abortSignal: signal },
  );
  if (!UploadId) throw new Error(`CreateMultipartUpload for ${item.key} returned no UploadId`);
  const ranges = partRanges(item.size, partSize);
  const upload: OpenUpload = {
    ctx,
    item,
    target: { Bucket: bucket, Key: item.key, UploadId },
    checksums,
    stop: new AbortController(),
    parts: new Array(ranges.length),
    sentHashes: new Array(ranges.length),
  };
  const onAbort = () => upload.stop.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  let completed = false;
  try {
    const read = hashParts(item.file.file, ctx.hasher, partSize, upload.stop.signal);
    read.catch(() => {}); // awaited below; a failed part may stop it first
    await sendAllParts(upload, ranges);
    const whole = await read;
    const changed =
      whole.size !== item.size ||
      whole.parts.some((h, i) => h !== upload.sentHashes[i]) ||
      (isNamedByHash(ctx.config, item) && whole.hash !== item.hash);
    if (changed) throw changedWhileUploading(item);
    // Not under the caller's signal: an abort while Complete is in flight could commit the object on the
    // server yet report it aborted. Every part is sent; finishing is the short, consistent way out.
    const done = await client.send(
      new (s3Sdk().CompleteMultipartUploadCommand)({
        ...upload.target,
        MultipartUpload: { Parts: upload.parts },
      }),
    );
    completed = true;
    return {
      hash: whole.hash,
      size: whole.size,
      stored: item.size,
      bytesSent: item.size,
      gzipped: false,
      etag: etagFrom(done.ETag),
    };
  } finally {
    upload.stop.abort();
    signal?.removeEventListener('abort', onAbort);
    // Not under the caller's signal: an abort must still reach the server. Best effort (the SDK retries
    // it): a bucket lifecycle rule can clean up what a lost abort leaves.
    if (!completed)
      await client.send(new (s3Sdk().AbortMultipartUploadCommand)(upload.target)).catch(() => {});
  }
}

/**
 * The file read once in order: its xxh64 and size (what the record holds) and the xxh64 of each
 * `partSize` range, to compare with the parts sent.
 */
async function hashParts(
  file: string,
  hasher: Hasher,
  partSize: number,
  signal: AbortSignal,
): Promise<{ hash: string; size: number; parts: string[] }> {
  const whole = hasher.createState();
  const parts: string[] = [];
  let part = hasher.createState();
  let inPart = 0;
  const size = await readFileInChunks(
    file,
    (bytes) => {
      whole.update(bytes);
      for (let at = 0; at < bytes.length; ) {
        const take = Math.min(bytes.length - at, partSize - inPart);
        part.update(bytes.subarray(at, at + take));
        at += take;
        inPart += take;
        if (inPart === partSize) {
          parts.push(part.digest());
          part = hasher.createState();
          inPart = 0;
        }
      }
    },
    { shouldStop: () => (signal.aborted ? abortError(signal) : undefined) },
  );
  if (inPart > 0) parts.push(part.digest());
  return { hash: whole.digest(), size, parts };
}
