// What an S3 error is: its status and code, whether it is worth another attempt (the one definition of
// "transient" that the SDK's retry strategy and our own retry loop share), and one line saying why a
// request failed, free of credentials.

import { redact } from './redact.js';

/** The HTTP status of an SDK error, if it got a response. */
export function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

/** The S3 error code (`NoSuchKey`, `AccessDenied`) or Node error code (`ECONNRESET`) of an error. */
export function errorCode(err: unknown): string | undefined {
  const e = err as { Code?: unknown; code?: unknown; name?: unknown } | undefined;
  for (const c of [e?.Code, e?.code, e?.name])
    if (typeof c === 'string' && c !== '' && c !== 'Error') return c;
  return undefined;
}

const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'TransactionInProgressException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'LimitExceededException',
  'RequestThrottled',
  'SlowDown',
  'PriorRequestNotComplete',
  'EC2ThrottledException',
]);

const TRANSIENT = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'ServiceUnavailable',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** Throttling: retried, with a longer backoff. */
export function isThrottling(err: unknown): boolean {
  const code = errorCode(err);
  return httpStatus(err) === 429 || (code !== undefined && THROTTLING.has(code));
}

/**
 * Whether a failed request may succeed when sent again: throttling, 5xx (but not 501 Not Implemented,
 * which is permanent), timeouts, and dropped connections. Aborts never are.
 */
export function isTransient(err: unknown): boolean {
  const e = err as
    | { name?: string; $retryable?: unknown; cause?: unknown; $metadata?: { clockSkewCorrected?: unknown } }
    | undefined;
  if (e?.name === 'AbortError') return false;
  if (isThrottling(err)) return true;
  // The local clock was off and the client has just corrected its offset from the server's Date: the
  // next attempt is signed with the right time (as the SDK's own retry strategies do).
  if (e?.$metadata?.clockSkewCorrected === true) return true;
  const status = httpStatus(err);
  if (status === 501) return false;
  if (status !== undefined && status >= 500) return true;
  const code = errorCode(err);
  if (code !== undefined && TRANSIENT.has(code)) return true;
  if (e?.$retryable) return true;
  const causeCode = errorCode(e?.cause);
  return causeCode !== undefined && TRANSIENT.has(causeCode);
}

/**
 * One line saying why a request failed: `AccessDenied (HTTP 403): Access Denied`. Never includes
 * credentials (the SDK's messages do not; `redact` removes any that a server echoed).
 */
export function describeError(err: unknown, secrets: readonly string[] = []): string {
  const e = err as { message?: unknown } | undefined;
  const code = errorCode(err) ?? 'Error';
  const status = httpStatus(err);
  let message = typeof e?.message === 'string' ? e.message : String(err);
  if (message === code || message === 'UnknownError' || message === '') message = '';
  // The SDK's timeout messages name its internals; the setting behind them is requestTimeout.
  message = message
    .replace(/^@smithy\/[\w-]+ - /, '')
    .replace(/ \(configured by client requestHandler\)\.?$/, '');
  // Node's system errors start their message with their code (`ENOENT: no such file...`): said once.
  if (message.startsWith(`${code}: `)) message = message.slice(code.length + 2);
  const line = `${code}${status ? ` (HTTP ${status})` : ''}${message ? `: ${message}` : ''}`;
  return redact(line.replace(/\s+/g, ' ').trim(), secrets);
}
