// A large gzipped file, whose length is unknown until it is compressed: the file is read once, through
// gzip, and the gzip output cut into parts of a fixed size as it comes. All of it fits in one part (most
// text does: gzip makes it several times smaller): one PutObject of that buffer. Otherwise: a multipart
// upload whose parts go up as they fill, at most PARTS_AT_ONCE in flight (so memory stays at a few parts
// whatever the file's size), each a Buffer the SDK retries itself. Complete is sent only after every
// part is up and the bytes read have the hash the key was named by; on any failure or an abort the
// multipart upload is aborted, so no object is committed. Nor is one when the whole gzip output turns
// out no smaller than the file (send-object.ts judged gzip on the file's start only): the caller then
// sends the file as it is.

import type {
  CompletedPart,
  CreateMultipartUploadCommandInput,
  PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import { gzipPays, gzipStream } from '../content/gzip.js';
import { contentMd5 } from '../content/md5.js';
import { abortError } from '../s3/retry.js';
import { s3Sdk } from '../s3/sdk.js';
import { hashedFileStream } from './body-streams.js';
import { completedPart, PARTS_AT_ONCE } from './multipart.js';
import { etagFrom } from './state/listing.js';
import {
  changedWhileUploading,
  type DeployItem,
  isNamedByHash,
  type SendContext,
  type SentObject,
} from './types.js';

/** Gzip output cut into parts of exactly `partSize` bytes (the last one shorter), as it arrives. */
class PartCutter {
  #chunks: Buffer[] = [];
  #length = 0;
  constructor(private readonly partSize: number) {}

  /** Add gzip output; returns the parts it completed. */
  add(chunk: Buffer): Buffer[] {
    this.#chunks.push(chunk);
    this.#length += chunk.length;
    const parts: Buffer[] = [];
    while (this.#length >= this.partSize) {
      const all = Buffer.concat(this.#chunks, this.#length);
      parts.push(all.subarray(0, this.partSize));
      this.#chunks = [all.subarray(this.partSize)];
      this.#length -= this.partSize;
    }
    return parts;
  }

  /** What is left at the end: the last part (possibly empty). */
  rest(): Buffer {
    return Buffer.concat(this.#chunks, this.#length);
  }
}

/** A multipart upload being filled: where it goes, its parts, and what stops them. */
interface GzipUpload {
  ctx: SendContext;
  target: { Bucket: string; Key: string; UploadId: string };
  checksums: boolean;
  stop: AbortController;
  parts: CompletedPart[];
  inFlight: Set<Promise<void>>;
  failure: unknown;
}

/** Start sending part `number`; the first failure stops the others. */
function startPart(upload: GzipUpload, number: number, body: Buffer): void {
  const sent = upload.ctx.client
    .send(
      new (s3Sdk().UploadPartCommand)({
        ...upload.target,
        PartNumber: number,
        Body: body,
        ContentLength: body.length,
        ContentMD5: upload.ctx.contentMd5 ? contentMd5(body) : undefined,
        ...(upload.checksums ? { ChecksumAlgorithm: 'CRC32' } : {}),
      }),
      { abortSignal: upload.stop.signal },
    )
    .then((result) => {
      if (!result.ETag) throw new Error(`UploadPart ${number} of ${upload.target.Key} returned no ETag`);
      upload.parts[number - 1] = completedPart(number, result);
    })
    .catch((err: unknown) => {
      upload.failure ??= err;
      upload.stop.abort(err);
    })
    .finally(() => upload.inFlight.delete(sent));
  upload.inFlight.add(sent);
}

/** Throw what stopped the upload: the caller's abort, else the first failed part. */
function throwIfStopped(upload: GzipUpload): void {
  const signal = upload.ctx.signal;
  if (signal?.aborted) throw abortError(signal);
  if (upload.stop.signal.aborted) throw upload.failure ?? abortError(upload.stop.signal);
}

async function createUpload(
  ctx: SendContext,
  item: DeployItem,
  params: PutObjectCommandInput,
): Promise<GzipUpload> {
  const checksums = (await ctx.client.config.requestChecksumCalculation()) === 'WHEN_SUPPORTED';
  const { UploadId } = await ctx.client.send(
    new (s3Sdk().CreateMultipartUploadCommand)({
      ...(params as CreateMultipartUploadCommandInput),
      ...(checksums ? { ChecksumAlgorithm: 'CRC32' } : {}),
    }),
    { abortSignal: ctx.signal },
  );
  if (!UploadId) throw new Error(`CreateMultipartUpload for ${item.key} returned no UploadId`);
  return {
    ctx,
    target: { Bucket: ctx.bucket, Key: item.key, UploadId },
    checksums,
    stop: new AbortController(),
    parts: [],
    inFlight: new Set(),
    failure: undefined,
  };
}

/** One file being sent: the multipart upload, once the first full part opened it. */
interface GzipRun {
  ctx: SendContext;
  item: DeployItem;
  upload: GzipUpload | undefined;
}

/**
 * Read the file through gzip into parts; the first full part opens the multipart upload (`run.upload`,
 * undefined when everything fit in one part). Resolves to the last part, the bytes gzip produced, and
 * how many parts were started.
 */
async function sendFullParts(
  run: GzipRun,
  params: PutObjectCommandInput,
  compressed: AsyncIterable<Buffer>,
  partSize: number,
): Promise<{ last: Buffer; gzipBytes: number; partsStarted: number }> {
  const cutter = new PartCutter(partSize);
  let gzipBytes = 0;
  let partsStarted = 0;
  for await (const chunk of compressed) {
    gzipBytes += chunk.length;
    for (const part of cutter.add(chunk)) {
      run.upload ??= await createUpload(run.ctx, run.item, params);
      while (run.upload.inFlight.size >= PARTS_AT_ONCE) await Promise.race(run.upload.inFlight);
      throwIfStopped(run.upload);
      startPart(run.upload, ++partsStarted, part);
    }
  }
  return { last: cutter.rest(), gzipBytes, partsStarted };
}

/**
 * What became of a large gzipped file: stored, or abandoned uncommitted because gzip did not make it
 * smaller (with the bytes of the parts sent before that was known).
 */
export type GzipOutcome = { stored: SentObject } | { abandoned: { bytesSent: number } };

/** A large gzipped file (see the top of this file). */
export async function sendGzippedParts(
  ctx: SendContext,
  item: DeployItem,
  params: PutObjectCommandInput,
  partSize: number,
): Promise<GzipOutcome> {
  if (ctx.signal?.aborted) throw abortError(ctx.signal);
  const source = await hashedFileStream(item.file.file, ctx.hasher, 1024 * 1024);
  const compressed = gzipStream(source.stream);
  const run: GzipRun = { ctx, item, upload: undefined };
  let completed = false;
  const onAbort = () => {
    run.upload?.stop.abort(ctx.signal?.reason);
    compressed.destroy(abortError(ctx.signal!));
  };
  ctx.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const sent = await sendFullParts(run, params, compressed, partSize);
    const upload = run.upload;
    const read = await source.result();
    if (isNamedByHash(ctx.config, item) && read.hash !== item.hash) throw changedWhileUploading(item);
    if (!gzipPays(sent.gzipBytes, read.size)) {
      // Not smaller after all: the parts in flight finish (so the bytes counted are the bytes sent), then
      // the finally block aborts the multipart upload: nothing is committed.
      while (upload && upload.inFlight.size > 0) await Promise.race(upload.inFlight);
      return { abandoned: { bytesSent: sent.partsStarted * partSize } };
    }
    const stored = { ...read, stored: sent.gzipBytes, bytesSent: sent.gzipBytes, gzipped: true };
    if (!upload) {
      const put = await ctx.client.send(
        new (s3Sdk().PutObjectCommand)({
          ...params,
          Body: sent.last,
          ContentLength: sent.last.length,
          ContentMD5: ctx.contentMd5 ? contentMd5(sent.last) : undefined,
        }),
        { abortSignal: ctx.signal },
      );
      return { stored: { ...stored, etag: etagFrom(put.ETag) } };
    }
    if (sent.last.length > 0) startPart(upload, sent.partsStarted + 1, sent.last);
    while (upload.inFlight.size > 0) await Promise.race(upload.inFlight);
    throwIfStopped(upload);
    // Not under the caller's signal: every part is up, and finishing is the short, consistent way out
    // (as in multipart.ts).
    const done = await ctx.client.send(
      new (s3Sdk().CompleteMultipartUploadCommand)({
        ...upload.target,
        MultipartUpload: { Parts: upload.parts },
      }),
    );
    completed = true;
    return { stored: { ...stored, etag: etagFrom(done.ETag) } };
  } finally {
    ctx.signal?.removeEventListener('abort', onAbort);
    compressed.destroy();
    const upload = run.upload;
    if (upload && !completed) {
      upload.stop.abort();
      await Promise.allSettled(upload.inFlight);
      // Not under the caller's signal: an abort must still reach the server (best effort, as in multipart.ts).
      await ctx.client.send(new (s3Sdk().AbortMultipartUploadCommand)(upload.target)).catch(() => {});
    }
  }
}
