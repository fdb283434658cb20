// Content-MD5 values: the base64 of the MD5 of the bytes a request sends (RFC 1864). A bucket with Object
// Lock default retention refuses a PUT or an UploadPart that carries no Content-MD5 (or x-amz-checksum-*)
// header, and every S3 server that checks it refuses a body whose MD5 differs (BadDigest), so the header
// must be computed from exactly the bytes sent: the gzipped body when gzipped, each part's own bytes.
// For the site's files, only computed once a bucket asked for it (src/deploy/object-lock.ts): the deploy
// otherwise never pays. The deploy's own state objects, a few small JSON bodies, always carry one: they are
// written before any file, so they would be the first refused.

import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

/** The Content-MD5 of a body in memory (a string is sent as UTF-8). */
export function contentMd5(bytes: Uint8Array | string): string {
  return createHash('md5').update(bytes).digest('base64');
}

/**
 * The Content-MD5 of `length` bytes of `file` from `start`: a body streamed from the file, whose header
 * must be known before the first byte is sent. Read in 1 MiB chunks, so memory stays flat. A file shorter
 * than the range fails, as the send itself would.
 */
export async function contentMd5OfRange(file: string, start: number, length: number): Promise<string> {
  const md5 = createHash('md5');
  const buf = Buffer.allocUnsafe(Math.min(length, 1024 * 1024));
  const fh = await open(file, 'r');
  try {
    for (let done = 0; done < length; ) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, length - done), start + done);
      if (bytesRead === 0) throw new Error(`${file} changed while it was being uploaded (it is shorter)`);
      md5.update(buf.subarray(0, bytesRead));
      done += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return md5.digest('base64');
}
