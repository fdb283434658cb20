// The transfer's decisions that need no server: when a deploy stops taking new files (stop-rules.ts),
// what a failed PUT with an ACL leads to (acl-fallback.ts), where a multipart upload cuts its parts
// (multipart.ts), when gzip pays (content/gzip.ts) and what a claim says of gzip (fingerprint-copy.ts). The same decisions against real servers are in upload, faults and multipart tests.
import { describe, expect, it } from 'vitest';
import { gzipPays } from '../../src/content/gzip.js';
import { decideAfterPutFailure } from '../../src/deploy/acl-fallback.js';
import { claimGzipped } from '../../src/deploy/fingerprint-copy.js';
import { PART_SIZE, partRanges, partSizeFor, sendsAsMultipart } from '../../src/deploy/multipart.js';
import { StopRules } from '../../src/deploy/stop-rules.js';

/** An error shaped like the SDK's: name/Code and $metadata.httpStatusCode. */
function sdkError(name: string, status?: number, message = name): Error {
  return Object.assign(new Error(message), { name, Code: name, $metadata: { httpStatusCode: status } });
}

const MiB = 1024 * 1024;

describe('stop rules', () => {
  const rules = () => new StopRules({ concurrency: 6, maxAttempts: 3, secrets: ['SECRETKEY'] });

  it.each([
    ['InvalidAccessKeyId', 403],
    ['SignatureDoesNotMatch', 403],
    ['NoSuchBucket', 404],
    ['ExpiredToken', 400],
    ['PermanentRedirect', 301],
  ])('stops after one %s: no other request can succeed', (code, status) => {
    const stop = rules();
    stop.failed(sdkError(code, status), false);
    expect(stop.stopped).toBe(true);
    expect(stop.reason).toContain(code);
  });

  it.each([
    ['AccessDenied', 403],
    ['NoSuchKey', 404],
    ['InvalidRequest', 400],
  ])('goes on after a %s: it is about that file', (code, status) => {
    const stop = rules();
    stop.failed(sdkError(code, status), false);
    expect(stop.stopped).toBe(false);
  });

  it('stops after one Object Lock refusal (it reaches the rules only when the PUT carried a Content-MD5)', () => {
    const stop = rules();
    const message =
      'Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters';
    stop.failed(sdkError('InvalidRequest', 400, message), false);
    expect(stop.stopped).toBe(true);
    expect(stop.reason).toContain('refused a PUT that carried a Content-MD5 header');
  });

  it('stops after as many transient failures in a row as there are slots, not one fewer', () => {
    const stop = rules();
    for (let i = 0; i < 5; i++) stop.failed(sdkError('ServiceUnavailable', 503), false);
    expect(stop.stopped).toBe(false);
    stop.failed(sdkError('ServiceUnavailable', 503), false);
    expect(stop.reason).toBe(
      '6 files in a row failed after 3 attempts each (last: ServiceUnavailable (HTTP 503))',
    );
  });

  it('a success in between breaks the streak', () => {
    const stop = rules();
    for (let i = 0; i < 5; i++) stop.failed(sdkError('SlowDown', 503), false);
    stop.succeeded();
    for (let i = 0; i < 5; i++) stop.failed(sdkError('SlowDown', 503), false);
    expect(stop.stopped).toBe(false);
  });

  it('the streak is at least 4, however low the concurrency', () => {
    const stop = new StopRules({ concurrency: 1, maxAttempts: 3, secrets: [] });
    for (let i = 0; i < 3; i++) stop.failed(sdkError('InternalError', 500), false);
    expect(stop.stopped).toBe(false);
    stop.failed(sdkError('InternalError', 500), false);
    expect(stop.stopped).toBe(true);
  });

  it('an abort is the caller’s: no rule fires', () => {
    const stop = rules();
    stop.failed(sdkError('InvalidAccessKeyId', 403), true);
    for (let i = 0; i < 10; i++) stop.failed(sdkError('ServiceUnavailable', 503), true);
    expect(stop.stopped).toBe(false);
  });

  it('the reason never shows a secret a server echoed', () => {
    const stop = rules();
    stop.failed(sdkError('SignatureDoesNotMatch', 403, 'bad signature for SECRETKEY'), false);
    expect(stop.reason).not.toContain('SECRETKEY');
  });
});

describe('ACL fallback decision', () => {
  it.each([
    // error, ACL sent, aborted, decision
    [sdkError('AccessControlListNotSupported', 400), true, false, 'turn-acl-off-and-retry'],
    [sdkError('NotImplemented', 501), true, false, 'turn-acl-off-and-retry'],
    [sdkError('Whatever', 501), true, false, 'turn-acl-off-and-retry'],
    [sdkError('AccessDenied', 403), true, false, 'retry-without-acl'],
    [sdkError('InvalidArgument', 400, 'x-amz-acl is not valid'), true, false, 'retry-without-acl'],
    [sdkError('InvalidRequest', 400, 'ACL not allowed'), true, false, 'retry-without-acl'],
    [sdkError('InvalidRequest', 400, 'bad checksum'), true, false, 'give-up'],
    [sdkError('InternalError', 500), true, false, 'give-up'],
    [sdkError('AccessControlListNotSupported', 400), false, false, 'give-up'],
    [sdkError('AccessDenied', 403), false, false, 'give-up'],
    [sdkError('AccessControlListNotSupported', 400), true, true, 'give-up'],
  ] as const)('%s (ACL sent: %s, aborted: %s): %s', (err, aclSent, aborted, decision) => {
    expect(decideAfterPutFailure(err, aclSent, aborted)).toBe(decision);
  });
});

describe('multipart part boundaries', () => {
  it.each([
    // size, part size
    [100 * MiB, PART_SIZE],
    [9_000 * PART_SIZE, PART_SIZE],
    [9_000 * PART_SIZE + 1, PART_SIZE + 1],
    [200 * 1024 * MiB, Math.ceil((200 * 1024 * MiB) / 9_000)],
  ])('a file of %i bytes gets parts of %i bytes (at most 9,000 parts)', (size, partSize) => {
    expect(partSizeFor(size)).toBe(partSize);
    expect(Math.ceil(size / partSizeFor(size))).toBeLessThanOrEqual(9_000);
  });

  it.each([
    [16 * MiB, 8 * MiB, [8 * MiB, 8 * MiB]],
    [16 * MiB + 1, 8 * MiB, [8 * MiB, 8 * MiB, 1]],
    [20 * MiB, 8 * MiB, [8 * MiB, 8 * MiB, 4 * MiB]],
    [5, 8, [5]],
  ])('%i bytes in parts of %i: lengths %j, contiguous, numbered from 1', (size, partSize, lengths) => {
    const ranges = partRanges(size, partSize);
    expect(ranges.map((r) => r.length)).toEqual(lengths);
    expect(ranges.map((r) => r.number)).toEqual(lengths.map((_, i) => i + 1));
    let at = 0;
    for (const r of ranges) {
      expect(r.start).toBe(at);
      at += r.length;
    }
    expect(at).toBe(size);
  });

  it.each([
    // size, gzip, threshold, multipart
    [20 * MiB, false, 16 * MiB, true],
    [20 * MiB, true, 16 * MiB, false], // a gzipped body's length is unknown in advance
    [15 * MiB, false, 16 * MiB, false], // under the threshold
    [8 * MiB, false, 1, false], // one part only: a plain PUT
    [8 * MiB + 1, false, 1, true],
  ])('%i bytes, gzip %s, threshold %i: multipart %s', (size, gzip, threshold, multipart) => {
    expect(sendsAsMultipart(size, gzip, threshold)).toBe(multipart);
  });
});

describe('gzip', () => {
  it.each([
    // gzipped length, file length, gzip kept
    [99, 100, true],
    [100, 100, false], // no smaller: the file goes as it is
    [101, 100, false],
    [20, 0, false], // an empty file
  ])('%i bytes gzipped for %i: kept %s', (gz, size, kept) => {
    expect(gzipPays(gz, size)).toBe(kept);
  });

  it.each([
    // gzip wanted, size, stored, gzipped (undefined: the bucket is asked)
    [false, 100, 100, false],
    [false, 100, 50, false], // a user's own Content-Encoding: never gzip's
    [true, 100, 60, true],
    [true, 100, 100, undefined], // as it is, or a gzipped body of exactly that size: cannot tell
    [true, 100, 120, true], // a version that gzipped whatever the result
    [true, 100, undefined, undefined],
  ])('gzip %s, %i bytes stored as %s: gzipped %s', (wanted, size, stored, gzipped) => {
    expect(claimGzipped(wanted, { size, stored })).toBe(gzipped);
  });
});
