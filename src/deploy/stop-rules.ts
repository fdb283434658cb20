// When a deploy stops taking new uploads before the list is done: after an error that no other request
// can survive (bad credentials, a missing bucket: every file would fail the same way, slowly), or after
// as many transient failures in a row as there are upload slots (at least 4): the server is down or
// throttling hard, and each further file would only wait through its retries. An abort stops too, but
// is the caller's, not a rule's. Pure: feed it outcomes, ask it whether to stop and why.

import { describeError, errorCode, isTransient } from '../s3/errors.js';
import { isMissingChecksumRefusal } from './object-lock.js';

/** Errors after which no other request can succeed: stop instead of failing every file slowly. */
const FATAL = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'NoSuchBucket',
  'AllAccessDisabled',
  'AccountProblem',
  'PermanentRedirect',
  'AuthorizationHeaderMalformed',
  'InvalidBucketName',
  'CredentialsProviderError',
]);

/** Whether an error means no other request of this deploy can succeed. */
export function failsEveryRequest(err: unknown): boolean {
  const code = errorCode(err);
  return code !== undefined && FATAL.has(code);
}

/** The same refusal (not transient) this many times in a row, before any file succeeded, stops the transfer. */
export const SAME_REFUSAL_LIMIT = 4;

/** The stop rules of one transfer (see the top of this file). */
export class StopRules {
  /** Why the transfer stopped taking new files; undefined while it goes on. */
  reason: string | undefined;
  private transientStreak = 0;
  private anySucceeded = false;
  /** The code of the last refusal, and how many files in a row got it. */
  private refusal: { code: string; count: number } | undefined;

  constructor(
    private readonly rules: { concurrency: number; maxAttempts: number; secrets: readonly string[] },
  ) {}

  /** Transient failures in a row after which the transfer stops. */
  get streakLimit(): number {
    return Math.max(this.rules.concurrency, 4);
  }

  /** A file was uploaded: the streak of transient failures is broken. */
  succeeded(): void {
    this.transientStreak = 0;
    this.anySucceeded = true;
    this.refusal = undefined;
  }

  /** A file failed with `err` (after its retries); `aborted`: the caller aborted, no rule applies. */
  failed(err: unknown, aborted: boolean): void {
    if (aborted) return;
    const { secrets } = this.rules;
    if (failsEveryRequest(err)) this.reason ??= describeError(err, secrets);
    // A file reaches here refused for want of a checksum only when it carried a Content-MD5 (object-lock.ts
    // sends it again with one otherwise): the bucket wants a checksum nunjucks-s3 does not send.
    if (isMissingChecksumRefusal(err)) {
      this.reason ??=
        `${describeError(err, secrets)}: the bucket has Object Lock default retention and refused a PUT that ` +
        'carried a Content-MD5 header; upload to a bucket without default retention';
    }
    this.countRefusal(err);
    if (isTransient(err) && ++this.transientStreak >= this.streakLimit) {
      this.reason ??= `${this.transientStreak} files in a row failed after ${this.rules.maxAttempts} attempts each (last: ${describeError(err, secrets)})`;
    }
  }

  /**
   * The same refusal for every file so far (AccessDenied on each PUT: a policy that denies the whole
   * prefix): after a few, the rest would only be refused too. Once a file went through, refusals are the
   * files' own (a policy on some paths) and every file is still tried.
   */
  private countRefusal(err: unknown): void {
    const code = errorCode(err);
    if (this.anySucceeded || isTransient(err) || code === undefined) return;
    this.refusal = this.refusal?.code === code ? { code, count: this.refusal.count + 1 } : { code, count: 1 };
    if (this.refusal.count >= SAME_REFUSAL_LIMIT) {
      this.reason ??= `the first ${this.refusal.count} files were all refused (${describeError(err, this.rules.secrets)})`;
    }
  }

  /** Whether no new file should be started. */
  get stopped(): boolean {
    return this.reason !== undefined;
  }
}
