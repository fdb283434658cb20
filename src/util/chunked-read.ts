// The one chunked file reader: a file read in order, one reused buffer, so memory stays flat whatever
// the file's size. Hashing (content hashes, integrity) and the multipart path's sequential check read
// files through it.

import { closeSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';

/** Default chunk: 1 MiB. */
export const CHUNK_SIZE = 1024 * 1024;

/**
 * Read `file` from its start to its end, handing each chunk to `onChunk` (the buffer is reused: copy
 * what must outlive the call). `shouldStop` is asked before each read; when it returns an error, that
 * error is thrown. Resolves to the number of bytes read.
 */
export async function readFileInChunks(
  file: string,
  onChunk: (chunk: Buffer) => void,
  options: { chunkSize?: number; shouldStop?: () => Error | undefined } = {},
): Promise<number> {
  const buf = Buffer.allocUnsafeSlow(options.chunkSize ?? CHUNK_SIZE);
  let total = 0;
  const fh = await open(file, 'r');
  try {
    for (;;) {
      const stop = options.shouldStop?.();
      if (stop) throw stop;
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      onChunk(buf.subarray(0, bytesRead));
      total += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return total;
}

/** {@link readFileInChunks} without yielding: for the template side, which hashes inside a render. */
export function readFileInChunksSync(
  file: string,
  onChunk: (chunk: Buffer) => void,
  chunkSize = CHUNK_SIZE,
): number {
  const buf = Buffer.allocUnsafe(chunkSize);
  let total = 0;
  const fd = openSync(file, 'r');
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, chunkSize, null);
      if (n === 0) break;
      onChunk(buf.subarray(0, n));
      total += n;
    }
  } finally {
    closeSync(fd);
  }
  return total;
}

/**
 * The file's bytes, read from an open descriptor whose size is known (it may shrink meanwhile), into
 * `into` (a scratch buffer of at least `size` bytes) or a new buffer.
 */
export function readWholeSync(fd: number, size: number, into?: Buffer): Buffer {
  const buf = into ?? Buffer.allocUnsafeSlow(size);
  let offset = 0;
  while (offset < size) {
    const n = readSync(fd, buf, offset, size - offset, offset);
    if (n === 0) break;
    offset += n;
  }
  return offset < buf.length ? buf.subarray(0, offset) : buf;
}
