// When a deploy stops taking new uploads before the list is done: after an error that no other request
// can survive (bad credentials, a missing bucket: every file would fail the same way, slowly), or after
// as many transient failures in a row as there are upload slots (at least 4): the server is down or
// throttling hard, and each further file would only wait through its retries. An abort stops too, but
// is the caller's, not a rule's. Pure: feed it outcomes, ask it whether to stop and why.

import { describeError, errorCode, isTransient } from '../s3/errors.js';

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

/** The stop rules of one transfer (see the top of this file). */
export class StopRules {
  /** Why the transfer stopped taking new files; undefined while it goes on. */
  reason: string | undefined;
  private transientStreak = 0;

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
  }

  /** A file failed with `err` (after its retries); `aborted`: the caller aborted, no rule applies. */
  failed(err: unknown, aborted: boolean): void {
    if (aborted) return;
    const { secrets } = this.rules;
    if (failsEveryRequest(err)) this.reason ??= describeError(err, secrets);
    if (isTransient(err) && ++this.transientStreak >= this.streakLimit) {
      this.reason ??= `${this.transientStreak} files in a row failed after ${this.rules.maxAttempts} attempts each (last: ${describeError(err, secrets)})`;
    }
  }

  /** Whether no new file should be started. */
  get stopped(): boolean {
    return this.reason !== undefined;
  }
}
