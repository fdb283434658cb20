// The S3 client createAll talks through, built from the settings (or injected), and the one retry
// policy for every request: which errors are transient, how long to wait. Also turns SDK errors into
// one-line reasons free of credentials.

import http from 'node:http';
import https from 'node:https';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { type ResolvedConfig, setting, settingLabel } from '../config.js';
import { s3Sdk } from './sdk.js';

type RetryStrategyV2 = Extract<
  NonNullable<S3ClientConfig['retryStrategy']>,
  { acquireInitialRetryToken: unknown }
>;
type RetryToken = Awaited<ReturnType<RetryStrategyV2['acquireInitialRetryToken']>>;

/** Where warnings go. */
export interface WarnLogger {
  warn(message: string): void;
}

/**
 * Flask-S3's legacy location names (`'EU'`, `'USWest'`, `''`/`'DEFAULT'` for US Standard) to AWS
 * region names; anything else is returned as is.
 */
export function normaliseRegion(region: string | undefined): string | undefined {
  if (region === undefined) return undefined;
  const r = region.trim();
  const legacy: Record<string, string> = {
    '': 'us-east-1',
    DEFAULT: 'us-east-1',
    US: 'us-east-1',
    EU: 'eu-west-1',
    USWest: 'us-west-1',
    USWest2: 'us-west-2',
    APSoutheast: 'ap-southeast-1',
    APSoutheast2: 'ap-southeast-2',
    APNortheast: 'ap-northeast-1',
    SAEast: 'sa-east-1',
  };
  return legacy[r] ?? r;
}

/**
 * The region a built client uses: the setting, else AWS_REGION / AWS_DEFAULT_REGION, else us-east-1
 * when an endpoint is set (S3-compatible stores mostly ignore it), else undefined (the SDK's chain:
 * the shared config file's profile).
 */
export function clientRegion(config: Pick<ResolvedConfig, 'region' | 'endpointUrl'>): string | undefined {
  return (
    normaliseRegion(config.region) ??
    (process.env.AWS_REGION ||
      process.env.AWS_DEFAULT_REGION ||
      (config.endpointUrl ? 'us-east-1' : undefined))
  );
}

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

/**
 * The credentials a client signs with (from the settings, an injected client, or the SDK's default
 * chain), to redact from what a server echoes. Resolving them is the first step of the first request
 * anyway (the provider is memoized); without any, [] (the first request then fails, diagnosed).
 */
export async function clientSecrets(client: S3Client): Promise<string[]> {
  try {
    const provider = client.config.credentials as unknown;
    const c = (typeof provider === 'function' ? await provider() : provider) as
      | { accessKeyId?: unknown; secretAccessKey?: unknown; sessionToken?: unknown }
      | undefined;
    return [c?.accessKeyId, c?.secretAccessKey, c?.sessionToken].filter(
      (v): v is string => typeof v === 'string' && v.length >= 4,
    );
  } catch {
    return [];
  }
}

/** Messages of the SDK's own that only make sense to its authors. */
const QUIET = ['non-retryable streaming request'];

/**
 * An S3 client for the settings: region (see {@link clientRegion}), endpoint and path style,
 * credentials only when an access key is given (else the SDK's default chain), checksum options
 * S3-compatible stores need when an endpoint is set, keep-alive sockets sized to the concurrency, a
 * stall timeout (`requestTimeout`: no bytes either way for that long) and the retry policy.
 */
export function createS3Client(
  config: Pick<
    ResolvedConfig,
    | 'region'
    | 'endpointUrl'
    | 'forcePathStyle'
    | 'accessKeyId'
    | 'secretAccessKey'
    | 'sessionToken'
    | 'concurrency'
    | 'requestTimeout'
    | 'maxAttempts'
  >,
  logger?: WarnLogger,
): S3Client {
  // Part uploads of large files run 4 at a time inside one slot, plus the record checkpoints.
  const agentOptions = {
    keepAlive: true,
    maxSockets: config.concurrency + 8,
    maxFreeSockets: config.concurrency + 8,
  };
  const nonAws = config.endpointUrl !== undefined;
  // createAll reports failures itself; the SDK's string warnings (e.g. a misconfiguration) are passed on.
  const warn = (...args: unknown[]) => {
    if (!logger || !args.every((a) => typeof a === 'string')) return;
    const message = args.join(' ');
    if (!QUIET.some((q) => message.includes(q))) logger.warn(message);
  };
  return new (s3Sdk().S3Client)({
    region: clientRegion(config),
    endpoint: config.endpointUrl,
    forcePathStyle: config.forcePathStyle,
    credentials: config.accessKeyId
      ? {
          accessKeyId: config.accessKeyId,
          secretAccessKey: config.secretAccessKey ?? '',
          ...(config.sessionToken ? { sessionToken: config.sessionToken } : {}),
        }
      : undefined,
    // Off AWS, the SDK's default CRC trailers (aws-chunked bodies) break stores: s3rver keeps the framing
    // in the object, Ceph RGW answers 411.
    ...(nonAws
      ? { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' }
      : {}),
    maxAttempts: config.maxAttempts,
    retryStrategy: uploaderRetryStrategy(config.maxAttempts),
    requestHandler: {
      httpAgent: new http.Agent(agentOptions),
      httpsAgent: new https.Agent(agentOptions),
      connectionTimeout: Math.min(config.requestTimeout, 10_000),
      socketTimeout: config.requestTimeout,
    },
    // No info/error methods: the SDK calls them as logger.info?.(...) after filtering every request's
    // input for logging, which costs measurable CPU per request when they exist.
    logger: { debug() {}, warn } as unknown as S3ClientConfig['logger'],
  });
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
  const line = `${code}${status ? ` (HTTP ${status})` : ''}${message ? `: ${message}` : ''}`;
  return redact(line.replace(/\s+/g, ' ').trim(), secrets);
}

/** `text` with every secret replaced by `[redacted]`. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('[redacted]');
  return out;
}

/**
 * Remove credentials from an error in place (own string properties, including message and fields a
 * server echoed such as AWSAccessKeyId or StringToSign), so it can be kept as a `cause`. The SDK's
 * `$response` keeps its status and headers but loses its body: the raw response stream, whose request
 * (`util.inspect(err, { showHidden: true })` shows it) carries the signed request headers, session token
 * included, and which holds a socket for as long as the error is kept.
 */
export function scrubError<T>(err: T, secrets: readonly string[]): T {
  if (typeof err !== 'object' || err === null) return err;
  const seen = new Set<object>();
  const scrub = (obj: object, depth: number) => {
    if (seen.has(obj) || depth > 3) return;
    seen.add(obj);
    for (const name of Object.getOwnPropertyNames(obj)) {
      const desc = Object.getOwnPropertyDescriptor(obj, name);
      if (!desc || !('value' in desc)) continue;
      const v = desc.value as unknown;
      if (name === '$response' && typeof v === 'object' && v !== null) {
        stripResponse(v, secrets);
      } else if (typeof v === 'string') {
        const clean = redact(v, secrets);
        if (clean !== v && desc.writable) (obj as Record<string, unknown>)[name] = clean;
      } else if (typeof v === 'object' && v !== null) {
        scrub(v, depth + 1);
      }
    }
  };
  scrub(err as object, 0);
  return err;
}

/**
 * An SDK error's `$response` (a read-only property) reduced in place to status and headers: its body, the
 * raw response stream, goes (with its socket and its request).
 */
function stripResponse(response: object, secrets: readonly string[]): void {
  const r = response as { body?: unknown; headers?: Record<string, unknown> };
  try {
    if (r.body !== undefined) r.body = undefined;
    for (const [name, value] of Object.entries(r.headers ?? {})) {
      if (typeof value === 'string') r.headers![name] = redact(value, secrets);
    }
  } catch {
    // A frozen response: nothing more we can do than not walk into it.
  }
}

/** Connection errors after which the endpoint is, as far as we can tell, not there. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_NONAME',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ECONNRESET',
  'EPIPE',
  'EPROTO',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);

/** What a failed first request says about the settings, and which one to check. */
export interface FailureDiagnosis {
  /** credentials: the server refused who we are; region: the bucket lives elsewhere; endpoint: nothing
   * answers there; timeout: something accepted the connection but did not answer in time. */
  kind: 'credentials' | 'region' | 'endpoint' | 'timeout';
  /** The setting to check, both spellings. */
  setting: string;
  /** What to do, one sentence naming the setting (never a credential). */
  hint: string;
}

/** The region a 301/400 region error names: header, XML field, endpoint host or message. */
export function bucketRegionOf(err: unknown): string | undefined {
  const e = err as
    | {
        Region?: unknown;
        Endpoint?: unknown;
        message?: unknown;
        $response?: { headers?: Record<string, string | undefined> };
      }
    | undefined;
  const candidates = [
    e?.$response?.headers?.['x-amz-bucket-region'],
    e?.Region,
    typeof e?.Endpoint === 'string'
      ? /(?:^|\.)s3[.-]([a-z]{2}(?:-[a-z]+)+-\d)\./.exec(e.Endpoint)?.[1]
      : undefined,
    typeof e?.message === 'string' ? /expecting '([a-z]{2}(?:-[a-z]+)+-\d)'/.exec(e.message)?.[1] : undefined,
  ];
  return candidates.find((c): c is string => typeof c === 'string' && /^[a-z]{2}(-[a-z]+)+-\d$/.test(c));
}

function causeCodes(err: unknown): string[] {
  const codes: string[] = [];
  let e: unknown = err;
  for (let i = 0; i < 4 && e; i++) {
    const c = errorCode(e);
    if (c) codes.push(c);
    e = (e as { cause?: unknown }).cause;
  }
  return codes;
}

/**
 * Why the first request of a deploy failed, when the reason is in the settings (wrong credentials, a
 * bucket in another region, an endpoint nothing answers at) or is a server that accepted the connection
 * and never answered. Undefined for anything else (a 500, a denied read...).
 */
export function diagnoseFailure(
  err: unknown,
  config: Pick<ResolvedConfig, 'endpointUrl' | 'region' | 'requestTimeout' | 'accessKeyId'>,
): FailureDiagnosis | undefined {
  const label = (camel: Parameters<typeof setting>[0]) => settingLabel(setting(camel));
  const codes = causeCodes(err);
  const has = (...names: string[]) => codes.some((c) => names.includes(c));
  const fromChain = config.accessKeyId
    ? ''
    : ` (not set here: the AWS SDK's default chain supplied the credentials: environment, AWS_PROFILE, ~/.aws)`;
  if (has('InvalidAccessKeyId', 'InvalidClientTokenId', 'UnrecognizedClientException')) {
    const s = label('accessKeyId');
    return {
      kind: 'credentials',
      setting: s,
      hint: `the server does not know this access key id: check ${s}${fromChain}`,
    };
  }
  if (has('SignatureDoesNotMatch')) {
    const s = label('secretAccessKey');
    return {
      kind: 'credentials',
      setting: s,
      hint: `the secret access key does not match the access key id: check ${s}${fromChain}`,
    };
  }
  if (has('ExpiredToken', 'InvalidToken', 'TokenRefreshRequired', 'ExpiredTokenException')) {
    const s = label('sessionToken');
    return {
      kind: 'credentials',
      setting: s,
      hint: `the session token is expired or invalid: check ${s}${fromChain}`,
    };
  }
  if (has('CredentialsProviderError')) {
    const s = `${label('accessKeyId')} and ${label('secretAccessKey')}`;
    return {
      kind: 'credentials',
      setting: s,
      hint: `no credentials were found: set ${s}, or configure the AWS SDK's default credential chain`,
    };
  }
  if (
    has('PermanentRedirect', 'AuthorizationHeaderMalformed', 'IllegalLocationConstraintException') ||
    httpStatus(err) === 301
  ) {
    const s = label('region');
    const region = bucketRegionOf(err);
    const now = clientRegion(config) ?? 'the SDK default';
    return {
      kind: 'region',
      setting: s,
      hint: region
        ? `the bucket is in region ${region}, not ${now}: set ${s} to ${region}`
        : `the bucket is in another region than ${now}: set ${s} to the bucket's region`,
    };
  }
  const where = config.endpointUrl ?? 'S3';
  const endpoint = label('endpointUrl');
  const unreachable = codes.find((c) => UNREACHABLE.has(c));
  if (unreachable) {
    return {
      kind: 'endpoint',
      setting: endpoint,
      hint: config.endpointUrl
        ? `nothing answers S3 requests at ${where} (${unreachable}): check ${endpoint} and that the server is running`
        : `cannot connect to S3 (${unreachable}): check the network and ${label('region')}, or set ${endpoint} for an S3-compatible store`,
    };
  }
  if (has('TimeoutError', 'ETIMEDOUT', 'ESOCKETTIMEDOUT')) {
    const s = label('requestTimeout');
    return {
      kind: 'timeout',
      setting: s,
      hint: `no answer from ${where} within ${s} (${config.requestTimeout} ms), on every attempt: check ${endpoint}, or raise ${s}`,
    };
  }
  return undefined;
}
