// Buckets that demand a checksum on every PUT. A bucket with Object Lock default retention refuses each
// PutObject and UploadPart that carries neither a Content-MD5 nor an x-amz-checksum-* header. Off AWS the
// uploader sends neither (src/s3/client.ts asks the SDK for checksums only when required: its default
// checksum trailers are mishandled by S3-compatible stores), and always sending a Content-MD5 would cost an
// MD5 of every byte for the rare bucket that wants one. So a deploy starts without; the first such refusal
// switches every later PUT and part to a Content-MD5 of the bytes it sends (src/content/md5.ts), says so once,
// and sends the refused file again. A refusal of a request that carried the header is the file's failure
// like any other, and stops the transfer (stop-rules.ts): no other file would fare better.

import { describeError, errorCode, isTransient } from '../s3/errors.js';
import type { SendContext } from './types.js';

/**
 * Whether `err` is a bucket's refusal of a PUT or part for want of a checksum header. AWS answers
 * `InvalidRequest`, "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with
 * Object Lock parameters" ("Put Part" for a part; older servers name Content-MD5 alone); some emulators
 * answer the code `MissingUploadObjectWithObjectLockHeaders`.
 */
export function isMissingChecksumRefusal(err: unknown): boolean {
  const code = errorCode(err);
  if (code === 'MissingUploadObjectWithObjectLockHeaders') return true;
  if (code !== 'InvalidRequest') return false;
  const message = String((err as Error).message);
  return /object lock/i.test(message) && /content-md5|checksum/i.test(message);
}

/** Whether this deploy sends a Content-MD5 with every PUT: off until a bucket refused a PUT without one. */
export class ChecksumPolicy {
  private on = false;

  constructor(
    private readonly where: { bucket: string; secrets: readonly string[]; warn: (message: string) => void },
  ) {}

  /** Whether the next PUT carries a Content-MD5. */
  get contentMd5(): boolean {
    return this.on;
  }

  /** The bucket refused a PUT without a checksum: send one from now on, and say so once. */
  turnOn(err: unknown): void {
    if (this.on) return;
    this.on = true;
    const { bucket, secrets, warn } = this.where;
    warn(
      `s3://${bucket} refused a PUT without a checksum header (${describeError(err, secrets)}): the bucket has ` +
        'Object Lock default retention. Every PUT of this deploy now carries a Content-MD5 header, and the ' +
        'refused files are sent again.',
    );
  }
}

/**
 * `ctx` with its own `contentMd5`, every other member read through it: a spread copy would read the lazy
 * `client` getter (transfer.ts) and so create the SDK client, and load the SDK, for every file.
 */
function withContentMd5(ctx: SendContext, on: boolean): SendContext {
  return Object.create(ctx, { contentMd5: { value: on, enumerable: true } }) as SendContext;
}

/**
 * Send one object through `send` with the deploy's checksum choice; when the bucket refuses it for want
 * of a checksum and it was sent without one, turn checksums on and send it again, once. A file that failed
 * otherwise, sent without one while another file turned checksums on, is sent again with one too: its
 * refusal may have come as a dropped connection (a server may answer early and close the connection while
 * the body is still being written: EPIPE, ECONNRESET), retried without the header until the attempts ran out.
 */
export async function sendWithChecksumFallback<T>(
  ctx: SendContext,
  policy: ChecksumPolicy,
  send: (ctx: SendContext) => Promise<T>,
): Promise<T> {
  // Decided per attempt: a file in flight when another one turned checksums on was sent without.
  const withMd5 = policy.contentMd5;
  try {
    return await send(withContentMd5(ctx, withMd5));
  } catch (err) {
    if (withMd5 || ctx.signal?.aborted) throw err;
    if (isMissingChecksumRefusal(err)) policy.turnOn(err);
    // Another file turned checksums on meanwhile: only a failure that may hide the same refusal (a dropped
    // connection, a 5xx) is worth another send; a refusal of another kind (AccessDenied, NoSuchBucket) stands.
    else if (!policy.contentMd5 || !isTransient(err)) throw err;
    return await send(withContentMd5(ctx, true));
  }
}
