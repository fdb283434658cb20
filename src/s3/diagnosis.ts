// Why the first request of a deploy failed, when the reason is in the settings: wrong credentials, a
// bucket in another region, an endpoint nothing answers at, a server that never answers. createAll turns
// a diagnosis into one ConfigError naming the setting, instead of the same failure for every file.

import { type ResolvedConfig, setting, settingLabel } from '../config.js';
import { errorCode, httpStatus } from './errors.js';
import { clientRegion } from './region.js';

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
   * answers there; timeout: something accepted the connection but did not answer in time; not-s3: an HTTP
   * server answers, but not the S3 API; bucket: the bucket cannot be read or created with these settings. */
  kind: 'credentials' | 'region' | 'endpoint' | 'timeout' | 'not-s3' | 'bucket';
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
export function diagnoseFailure(err: unknown, config: DiagnosisSettings): FailureDiagnosis | undefined {
  const codes = causeCodes(err);
  return (
    credentialsDiagnosis(codes, config) ??
    placeDiagnosis(err, codes, config) ??
    notS3Diagnosis(err, codes, config) ??
    bucketDiagnosis(codes)
  );
}

/**
 * An HTTP server that is not an S3 API: 501 to a GET or PUT of an object (which every S3 store
 * implements), or a body that is not S3's XML (an HTML page: the SDK cannot parse it).
 */
function notS3Diagnosis(
  err: unknown,
  codes: readonly string[],
  config: DiagnosisSettings,
): FailureDiagnosis | undefined {
  const notImplemented = httpStatus(err) === 501 || codes.includes('NotImplemented');
  const message = String((err as { message?: unknown } | undefined)?.message ?? '');
  const unparsable = /Deserialization error|char '<'|Unexpected token|not well-formed|<html/i.test(message);
  if (!notImplemented && !unparsable) return undefined;
  const s = label('endpointUrl');
  const where = config.endpointUrl ?? 'S3';
  return {
    kind: 'not-s3',
    setting: s,
    hint: notImplemented
      ? `the endpoint ${where} is not an S3 API: it answered a basic S3 request with 501 Not Implemented; check ${s}`
      : `the endpoint ${where} is not an S3 API: its answer is not S3's XML (an HTML page?); check ${s}`,
  };
}

/** Codes that say this bucket cannot be read or created with these settings, whatever is retried. */
const BUCKET_REFUSALS = new Set([
  'AccessDenied',
  'AllAccessDisabled',
  'BucketAlreadyExists',
  'InvalidBucketName',
  'InvalidLocationConstraint',
  'InvalidRegion',
  'TooManyBuckets',
]);

/** The bucket is refused to us (denied, someone else's, a location S3 does not know): which setting to check. */
function bucketDiagnosis(codes: readonly string[]): FailureDiagnosis | undefined {
  const code = codes.find((c) => BUCKET_REFUSALS.has(c));
  if (!code) return undefined;
  if (code === 'InvalidLocationConstraint' || code === 'InvalidRegion') {
    const s = label('region');
    return { kind: 'bucket', setting: s, hint: `the server does not know this region (${code}): check ${s}` };
  }
  const s = label('bucketName');
  const why =
    code === 'BucketAlreadyExists'
      ? 'the bucket name is taken by another account: choose another'
      : `the bucket cannot be used with these credentials (${code}): check ${s}, and that the credentials may read, create and write it`;
  return { kind: 'bucket', setting: s, hint: why };
}

/** The settings a diagnosis names. */
type DiagnosisSettings = Pick<ResolvedConfig, 'endpointUrl' | 'region' | 'requestTimeout' | 'accessKeyId'>;

function label(camel: Parameters<typeof setting>[0]): string {
  return settingLabel(setting(camel));
}

/** The server refused who we are: which credential to check. */
function credentialsDiagnosis(
  codes: readonly string[],
  config: DiagnosisSettings,
): FailureDiagnosis | undefined {
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
  return undefined;
}

/** The bucket is elsewhere, nothing answers, or nothing answers in time: which setting to check. */
function placeDiagnosis(
  err: unknown,
  codes: readonly string[],
  config: DiagnosisSettings,
): FailureDiagnosis | undefined {
  const has = (...names: string[]) => codes.some((c) => names.includes(c));
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
