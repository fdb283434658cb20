// Request bodies streamed from files: each stream hashes the bytes it reads (so the record holds the hash
// of what was sent, not of what was read before), a range the file no longer fills fails, and a stream
// error aborts its request instead of leaving it waiting or crashing the process.

import { open } from 'node:fs/promises';
import { pipeline, type Readable, Transform, type TransformCallback } from 'node:stream';
import type { Hasher } from '../content/hash.js';

/**
 * A pass-through that hashes what flows through it; `onDone` gets the hash and size at the end. With
 * `expected` (a byte count), a shorter stream fails instead: the file shrank while it was being sent.
 */
function hashingStream(
  hasher: Hasher,
  onDone: (hash: string, size: number) => void,
  expected?: { length: number; file: string },
): Transform {
  const state = hasher.createState();
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      state.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
    flush(done: TransformCallback) {
      if (expected && size !== expected.length) {
        done(new Error(`${expected.file} changed while it was being uploaded (it is shorter)`));
        return;
      }
      onDone(state.digest(), size);
      done();
    },
  });
}

/**
 * A file (or `range` of it: one part) as a stream that hashes the bytes it reads, so the record holds
 * what was sent; a range that the file no longer fills fails the stream (the file shrank meanwhile). The
 * file is opened first: a missing file is a plain error here, not an error event in mid-request.
 */
export async function hashedFileStream(
  file: string,
  hasher: Hasher,
  highWaterMark: number,
  range?: { start: number; length: number },
): Promise<{ stream: Readable; result(): Promise<{ hash: string; size: number }> }> {
  const fh = await open(file, 'r');
  let settle: { resolve(r: { hash: string; size: number }): void; reject(e: unknown): void } | undefined;
  const done = new Promise<{ hash: string; size: number }>((resolve, reject) => {
    settle = { resolve, reject };
  });
  done.catch(() => {}); // awaited by result() after a successful request; a failed one never asks
  const hashed = hashingStream(
    hasher,
    (hash, size) => settle!.resolve({ hash, size }),
    range ? { length: range.length, file } : undefined,
  );
  const source = fh.createReadStream({
    highWaterMark,
    ...(range ? { start: range.start, end: range.start + range.length - 1 } : {}),
  });
  // pipeline passes a read error on to `hashed` (destroying it), where guardedSend sees it.
  const stream = pipeline(source, hashed, (err) => {
    if (err) settle!.reject(err);
  });
  return {
    stream,
    // The server may answer as soon as it has every byte, before the stream has seen the file's end
    // (and run the hash's flush): wait for it. guardedSend drains the stream after a success.
    result: () => done,
  };
}

/**
 * Send a request whose body is a stream: an error of the stream (a file that cannot be read) aborts
 * the request and is what the caller sees; the caller's signal aborts it too. Without this, a stream
 * error is an uncaught exception and the request waits for a body that never ends.
 */
export async function guardedSend<T>(
  body: Readable,
  signal: AbortSignal | undefined,
  run: (controller: AbortController) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  let bodyError: unknown;
  const onAbort = () => controller.abort(signal?.reason);
  if (signal?.aborted) controller.abort(signal.reason);
  else signal?.addEventListener('abort', onAbort, { once: true });
  body.on('error', (err) => {
    bodyError ??= err;
    controller.abort(err);
  });
  let sent = false;
  try {
    const result = await run(controller);
    sent = true;
    return result;
  } catch (err) {
    throw bodyError ?? err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    // After a success the body runs to its end (its hash is taken there); after a failure it goes.
    if (sent) body.resume();
    else body.destroy();
  }
}
