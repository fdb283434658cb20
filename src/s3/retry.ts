// The one retry policy of every request a deploy makes: which errors are retried (isTransient, in
// errors.ts), how long to wait (retryDelay: exponential backoff with full jitter, longer when throttled,
// a server's Retry-After honoured), how many attempts (maxAttempts). The SDK applies it to the requests
// it retries itself (uploaderRetryStrategy); withRetries applies it to those it does not (streamed
// bodies, multipart parts, direct PUTs).

import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { isThrottling, isTransient } from './errors.js';

type RetryStrategyV2 = Extract<
  NonNullable<S3ClientConfig['retryStrategy']>,
  { acquireInitialRetryToken: unknown }
>;
type RetryToken = Awaited<ReturnType<RetryStrategyV2['acquireInitialRetryToken']>>;

/**
 * Milliseconds to wait before attempt `attempt + 1` (attempt counts from 1): exponential backoff with
 * full jitter, 100 ms base (500 ms when throttled), capped at 5 s (20 s when throttled).
 */
export function retryDelay(attempt: number, err: unknown, random = Math.random): number {
  const throttled = isThrottling(err);
  const base = throttled ? 500 : 100;
  const cap = throttled ? 20_000 : 5_000;
  return Math.round(random() * Math.min(cap, base * 2 ** (attempt - 1)));
}

/**
 * The SDK retry strategy of clients createAll builds: up to `maxAttempts` attempts for transient
 * errors ({@link isTransient}), no retry quota (a deploy of thousands of files facing a flaky server
 * should keep retrying each file, not give up globally after a few hundred retries), honouring a
 * server's Retry-After. The SDK never retries requests with a streamed body; createAll does.
 */
export function uploaderRetryStrategy(maxAttempts: number): RetryStrategyV2 {
  const token = (count: number, delay: number): RetryToken => ({
    getRetryCount: () => count,
    getRetryDelay: () => delay,
  });
  return {
    acquireInitialRetryToken: async () => token(0, 0),
    refreshRetryTokenForRetry: async (previous, info) => {
      const attempt = previous.getRetryCount() + 1;
      if (attempt >= maxAttempts || !isTransient(info.error)) throw info.error ?? new Error('retry refused');
      const hint = info.retryAfterHint
        ? Math.min(20_000, Math.max(0, info.retryAfterHint.getTime() - Date.now()))
        : 0;
      return token(attempt, Math.max(hint, retryDelay(attempt, info.error)));
    },
    recordSuccess: () => {},
  };
}

/** The wait a server asked for (Retry-After) on a direct-PUT error, in ms; 0 when none. */
export function retryAfterMs(err: unknown): number {
  const v = (err as { $retryAfterMs?: unknown } | undefined)?.$retryAfterMs;
  return typeof v === 'number' ? v : 0;
}

/** Wait `ms`, or less when `signal` aborts meanwhile (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** The error an aborted signal stands for: its reason when that is an Error, else an AbortError. */
export function abortError(signal: AbortSignal): Error {
  const reason = signal.reason as unknown;
  return reason instanceof Error ? reason : Object.assign(new Error('aborted'), { name: 'AbortError' });
}

/**
 * `attempt()` until it succeeds, up to `maxAttempts` times while it fails with a transient error
 * ({@link isTransient}), waiting {@link retryDelay} (or a server's Retry-After, when longer) between
 * attempts; an abort of `signal` ends the waiting. For requests the SDK does not retry itself (streamed
 * bodies, parts, direct PUTs): the same policy as {@link uploaderRetryStrategy}.
 */
export async function withRetries<T>(
  maxAttempts: number,
  signal: AbortSignal | undefined,
  attempt: () => Promise<T>,
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (n >= maxAttempts || signal?.aborted || !isTransient(err)) throw err;
      await sleep(Math.max(retryAfterMs(err), retryDelay(n, err)), signal);
      if (signal?.aborted) throw abortError(signal);
    }
  }
}
