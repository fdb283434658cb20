// The S3 client createAll talks through, built from the settings (or injected by the caller). Which
// errors are retried and how is in retry.ts; what errors mean is in errors.ts and diagnosis.ts.

import http from 'node:http';
import https from 'node:https';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import type { ResolvedConfig } from '../config.js';
import { clientRegion, regionFromProfileOrDefault } from './region.js';
import { uploaderRetryStrategy } from './retry.js';
import { s3Sdk } from './sdk.js';

/** Where warnings go. */
export interface WarnLogger {
  warn(message: string): void;
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
  // The SDK asks a region provider at every request: look the profile up once.
  let profileRegion: Promise<string> | undefined;
  const region =
    clientRegion(config) ??
    (() => {
      profileRegion ??= regionFromProfileOrDefault(() => new (s3Sdk().S3Client)({}));
      return profileRegion;
    });
  return new (s3Sdk().S3Client)({
    region,
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
