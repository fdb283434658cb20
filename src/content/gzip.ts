// Deterministic gzip: the same input gives the same bytes on every run (the original wrote the current
// time into every header, so every deploy changed every object). Node writes mtime 0 already; the OS
// byte differs by platform, so it is fixed to 3 (Unix), as GNU gzip writes it. And gzip only when it
// pays: bytes that gzip does not make smaller (random or already compressed data) are stored as they
// are, a choice that depends on the bytes alone, so an unchanged file makes the same choice every run.

import { pipeline, type Readable, Transform, type TransformCallback } from 'node:stream';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

const gzipAsync = promisify(zlib.gzip);

/** Offset of the OS byte in a gzip header (the header is ID1 ID2 CM FLG MTIME(4) XFL OS). */
const OS_BYTE = 9;
const OS_UNIX = 3;

function fixHeader(buf: Buffer): Buffer {
  // mtime (bytes 4-7) is 0 in Node's zlib; set it anyway, so no zlib build can make it differ.
  buf.writeUInt32LE(0, 4);
  buf[OS_BYTE] = OS_UNIX;
  return buf;
}

/** Gzip a buffer, deterministically (on the libuv thread pool, not the event loop). */
export async function gzipBuffer(input: Uint8Array): Promise<Buffer> {
  return fixHeader(await gzipAsync(input));
}

/** Whether a gzipped body of `gzippedLength` bytes is worth storing for `length` bytes: only when smaller. */
export function gzipPays(gzippedLength: number, length: number): boolean {
  return gzippedLength < length;
}

/**
 * `bytes` gzipped when that makes them smaller ({@link gzipPays}), else `bytes` as they are; `gzipped`
 * says which.
 */
export async function gzipIfSmaller(bytes: Buffer): Promise<{ body: Buffer; gzipped: boolean }> {
  const gzipped = await gzipBuffer(bytes);
  return gzipPays(gzipped.length, bytes.length)
    ? { body: gzipped, gzipped: true }
    : { body: bytes, gzipped: false };
}

/** `source` gzipped, with the same deterministic header as {@link gzipBuffer}; errors of either end surface on the result. */
export function gzipStream(source: Readable): Readable {
  let head: Buffer | undefined = Buffer.alloc(0);
  const fix = new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      if (head === undefined) return done(null, chunk);
      head = Buffer.concat([head, chunk]);
      if (head.length <= OS_BYTE) return done();
      const out = fixHeader(head);
      head = undefined;
      done(null, out);
    },
    flush(done: TransformCallback) {
      done(null, head?.length ? head : undefined);
    },
  });
  // pipeline destroys every stream on the first error, so the consumer of `fix` sees it.
  return pipeline(source, zlib.createGzip(), fix, () => {});
}
