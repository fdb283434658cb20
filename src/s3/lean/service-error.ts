// What a failed answer of the lean path throws: an error shaped as the SDK's service errors (name and
// Code, message, $fault, $metadata with httpStatusCode and requestId, Region, and the server's
// Retry-After as $retryAfterMs), so retry.ts, errors.ts, diagnosis.ts and redact.ts treat both paths
// alike. Also the clock-skew correction the SDK applies after each answer, on the offset both share.

import { childText, parseXml, type XmlElement } from './xml.js';

/** The local clock's correction, in ms: shared by the lean path and the SDK client (its `config`). */
export interface ClockOffset {
  systemClockOffset?: number;
}

/**
 * As the SDK does after each answer: when the server's Date says the local clock is off by 4 minutes or
 * more (S3 refuses signatures more than 15 minutes off), correct the offset. Returns whether it changed,
 * which makes a RequestTimeTooSkewed error worth another attempt.
 */
export function sampleClock(clock: ClockOffset, headers: Record<string, string>): boolean {
  const date = headers['date'];
  if (date === undefined || headers['age'] !== undefined) return false;
  const server = Date.parse(date);
  if (Number.isNaN(server)) return false;
  const offset = server - Date.now();
  if (Math.abs(offset - (clock.systemClockOffset ?? 0)) < 240_000) return false;
  clock.systemClockOffset = offset;
  return true;
}

/** Names the SDK gives errors whose answer has no S3 error code. */
const STATUS_NAMES: Readonly<Record<number, string>> = {
  301: 'PermanentRedirect',
  400: 'BadRequest',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  411: 'MissingContentLength',
  412: 'PreconditionFailed',
  429: 'TooManyRequests',
  500: 'InternalError',
  501: 'NotImplemented',
  502: 'BadGateway',
  503: 'ServiceUnavailable',
  504: 'GatewayTimeout',
};

/** The error body's <Error> element, or undefined when there is none; any other body throws (not S3's XML). */
function errorBody(text: string): XmlElement | undefined {
  if (text.trim() === '') return undefined;
  const root = parseXml(text);
  if (root.name !== 'Error')
    throw new Error(`Deserialization error: the answer is not S3's XML (<${root.name}>, not <Error>)`);
  return root;
}

/** The wait a Retry-After header asks for, in ms (capped at 20 s), or undefined. */
function retryAfter(headers: Record<string, string>): number | undefined {
  const value = headers['retry-after']?.trim();
  if (!value) return undefined;
  // Seconds, or an HTTP date.
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - Date.now();
  return Number.isFinite(ms) && ms > 0 ? Math.min(20_000, ms) : undefined;
}

/** The error for an answer with status `status` (not 2xx): see the top of this file. */
export function serviceError(
  status: number,
  headers: Record<string, string>,
  text: string,
  clockSkewCorrected: boolean,
): Error {
  let body: XmlElement | undefined;
  let unparsable: Error | undefined;
  try {
    body = errorBody(text);
  } catch (err) {
    unparsable = err as Error;
  }
  const field = (name: string) => (body ? childText(body, name) : undefined);
  const code = field('Code') ?? STATUS_NAMES[status] ?? `Http${status}`;
  const message = unparsable?.message ?? field('Message') ?? code;
  const err = new Error(message) as Error & Record<string, unknown>;
  err.name = code;
  err['Code'] = code;
  err['$fault'] = status >= 500 ? 'server' : 'client';
  err['$metadata'] = {
    httpStatusCode: status,
    requestId: headers['x-amz-request-id'] ?? field('RequestId'),
    ...(clockSkewCorrected ? { clockSkewCorrected: true } : {}),
  };
  const region = headers['x-amz-bucket-region'] ?? field('Region');
  if (region) err['Region'] = region;
  const endpoint = field('Endpoint');
  if (endpoint) err['Endpoint'] = endpoint;
  const wait = retryAfter(headers);
  if (wait !== undefined) err['$retryAfterMs'] = wait;
  return err;
}
