// CloudFront: one CreateInvalidation per deploy, optionally waited for. The SDK's CloudFront client is
// loaded only here, on first use, and only when a distribution is set (like src/s3/sdk.ts does for S3).

import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as ClientCloudFront from '@aws-sdk/client-cloudfront';
import { type ResolvedConfig, setting, settingLabel } from '../config.js';
import { ConfigError } from '../errors.js';

const load = createRequire(import.meta.url);
let sdk: typeof ClientCloudFront | undefined;

/**
 * Fail before anything is uploaded when a distribution is set but its client is not installed: it is an
 * optional peer dependency (5 MB that only CloudFront users need), not installed with nunjucks-s3.
 */
export function requireCloudFrontClient(): void {
  try {
    load.resolve('@aws-sdk/client-cloudfront');
  } catch {
    const label = settingLabel(setting('cloudfrontDistributionId'));
    throw new ConfigError(
      'CONFIG_CDN',
      `${label} is set, but @aws-sdk/client-cloudfront is not installed: npm install @aws-sdk/client-cloudfront`,
      { setting: label },
    );
  }
}

/** `@aws-sdk/client-cloudfront`, loaded on first use. */
export function cloudfrontSdk(): typeof ClientCloudFront {
  sdk ??= load('@aws-sdk/client-cloudfront') as typeof ClientCloudFront;
  return sdk;
}

/** What CloudFront said about one invalidation. */
export interface CloudFrontInvalidation {
  id: string;
  /** `InProgress`, or `Completed` once waited for. */
  status: string;
}

/** Longest wait for an invalidation to complete (CloudFront usually takes one to a few minutes). */
const MAX_WAIT_SECONDS = 15 * 60;

/**
 * A CloudFront client from the settings: the same credentials as the uploads (or the SDK's chain), the
 * CloudFront endpoint override when set. CloudFront is a global service signed for us-east-1.
 */
export function createCloudFrontClient(config: ResolvedConfig): ClientCloudFront.CloudFrontClient {
  const { CloudFrontClient } = cloudfrontSdk();
  const credentials =
    config.accessKeyId !== undefined && config.secretAccessKey !== undefined
      ? {
          accessKeyId: config.accessKeyId,
          secretAccessKey: config.secretAccessKey,
          ...(config.sessionToken ? { sessionToken: config.sessionToken } : {}),
        }
      : undefined;
  return new CloudFrontClient({
    region: 'us-east-1',
    maxAttempts: config.maxAttempts,
    ...(config.cloudfrontEndpointUrl ? { endpoint: config.cloudfrontEndpointUrl } : {}),
    ...(credentials ? { credentials } : {}),
  });
}

/** Send one invalidation of `paths` to the distribution; with `wait`, resolve once it has completed. */
export async function invalidateCloudFront(options: {
  client: ClientCloudFront.CloudFrontClient;
  distributionId: string;
  paths: readonly string[];
  wait: boolean;
}): Promise<CloudFrontInvalidation> {
  const { client, distributionId, paths, wait } = options;
  const { CreateInvalidationCommand, waitUntilInvalidationCompleted } = cloudfrontSdk();
  // Unique per request: CloudFront answers a repeated CallerReference with the earlier invalidation.
  const callerReference = `nunjucks-s3-${Date.now()}-${randomBytes(4).toString('hex')}`;
  const created = await client.send(
    new CreateInvalidationCommand({
      DistributionId: distributionId,
      InvalidationBatch: {
        CallerReference: callerReference,
        Paths: { Quantity: paths.length, Items: [...paths] },
      },
    }),
  );
  const id = created.Invalidation?.Id ?? '';
  let status = created.Invalidation?.Status ?? 'InProgress';
  if (wait && status !== 'Completed') {
    await waitUntilInvalidationCompleted(
      { client, maxWaitTime: MAX_WAIT_SECONDS, minDelay: 1, maxDelay: 20 },
      { DistributionId: distributionId, Id: id },
    );
    status = 'Completed';
  }
  return { id, status };
}
