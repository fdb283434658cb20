// After a successful deploy: tell the CDN in front which URLs the deploy made stale. CloudFront (one
// invalidation, wildcards only above a threshold), Cloudflare (purge by URL) and a hook for any other
// CDN, each only when configured. A failure here is reported, never thrown: the deploy stays done.

import { type ResolvedConfig, setting, settingLabel } from '../config.js';
import type { UploadReason } from '../deploy/plan.js';
import { ConfigError } from '../errors.js';
import { assetOrigin, encodeUrlPath } from '../template/url.js';
import { purgeCloudflare } from './cloudflare.js';
import { requireCloudFrontClient } from './cloudfront.js';
import { cdnBasePath, cdnPath, foldPaths, overwrittenKeys } from './paths.js';

/** Called with the absolute URLs (as url_for renders them) a deploy made stale; may return a promise. */
export type OnInvalidate = (urls: string[]) => void | Promise<void>;

/** What was asked of each CDN; `error` says why one failed (the deploy itself succeeded). */
export interface InvalidationReport {
  /** Nothing was sent: the paths are what a real run would invalidate. */
  dryRun: boolean;
  /** URL paths of the keys the deploy overwrote, sorted (before any folding into wildcards). */
  paths: string[];
  cloudfront?: { distributionId: string; paths: string[]; id?: string; status?: string; error?: string };
  cloudflare?: { zoneId: string; urls: string[]; requests: number; error?: string };
  hook?: { urls: string[]; error?: string };
  /** Whether any CDN failed to invalidate. */
  failed: boolean;
}

/** What the deploy hands over. */
export interface InvalidateInput {
  config: ResolvedConfig;
  bucket: string;
  uploaded: readonly { key: string; reason: UploadReason }[];
  /** Keys that carry a content hash in their name: never stale. */
  fingerprinted: readonly string[];
  dryRun: boolean;
  onInvalidate?: OnInvalidate | undefined;
  warn(message: string): void;
  info?(message: string): void;
}

/**
 * The CDN settings that only make sense together: a Cloudflare zone needs its token and the CDN domain
 * (the URLs it purges), and the domains must be usable in URLs. Throws a ConfigError naming the setting;
 * createAll calls it before any request (`withHook`: an onInvalidate hook is given). Each setting alone is
 * checked by resolveConfig.
 */
export function checkCdnSettings(config: ResolvedConfig, withHook = false): void {
  const zone = config.cloudflareZoneId;
  const token = config.cloudflareApiToken;
  if ((zone === undefined) !== (token === undefined)) {
    const missing = setting(zone === undefined ? 'cloudflareZoneId' : 'cloudflareApiToken');
    throw new ConfigError(
      'CONFIG_CDN',
      `${settingLabel(missing)} is missing: a Cloudflare purge needs both the zone id and the API token`,
      { setting: settingLabel(missing) },
    );
  }
  // The paths and URLs come from the same origin url_for uses: a domain it cannot use fails now, not after
  // the upload.
  if (zone !== undefined || config.cloudfrontDistributionId !== undefined || withHook) {
    assetOrigin(config, config.bucketName ?? 'bucket');
  }
  if (config.cloudfrontDistributionId !== undefined) requireCloudFrontClient();
  if (zone !== undefined && config.cdnDomain === '') {
    const label = settingLabel(setting('cdnDomain'));
    throw new ConfigError(
      'CONFIG_CDN',
      `${label} is required with ${settingLabel(setting('cloudflareZoneId'))}: Cloudflare purges the URLs served from the CDN domain`,
      { setting: label },
    );
  }
}

/**
 * Invalidate, on every configured CDN, the URLs of the keys this deploy overwrote. Resolves to undefined
 * when no CDN is configured; sends nothing when no key was overwritten.
 */
export async function invalidateAfterDeploy(input: InvalidateInput): Promise<InvalidationReport | undefined> {
  const { config, dryRun } = input;
  const distributionId = config.cloudfrontDistributionId;
  const zoneId = config.cloudflareZoneId;
  if (distributionId === undefined && zoneId === undefined && input.onInvalidate === undefined)
    return undefined;

  const keys = overwrittenKeys(input.uploaded, new Set(input.fingerprinted));
  const base = cdnBasePath(config.cdnDomain);
  const origin = assetOrigin(config, input.bucket);
  const paths = keys.map((k) => cdnPath(k, base));
  // The URL url_for renders: the origin (CDN domain with its path, or the bucket) and the encoded key.
  const urls = keys.map((k) => `${origin.scheme}:${origin.authority}/${encodeUrlPath(k)}`);
  const report: InvalidationReport = { dryRun, paths, failed: false };
  if (keys.length === 0) {
    input.info?.('CDN: no key was overwritten, nothing to invalidate');
    return report;
  }
  const fail = (what: string, err: unknown) => {
    report.failed = true;
    const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    input.warn(`${what} failed (the deploy itself succeeded; invalidate by hand or run again): ${message}`);
    return message;
  };
  if (distributionId !== undefined)
    report.cloudfront = await toCloudFront(input, distributionId, paths, fail);
  if (zoneId !== undefined) report.cloudflare = await toCloudflare(input, zoneId, urls, fail);
  if (input.onInvalidate !== undefined) {
    report.hook = { urls };
    if (!dryRun) {
      try {
        await input.onInvalidate([...urls]);
      } catch (err) {
        report.hook.error = fail('onInvalidate', err);
      }
    }
  }
  return report;
}

/** Reports a failure (a warning) and returns its message. */
type Fail = (what: string, err: unknown) => string;

/** One CloudFront invalidation of the paths, folded into wildcards above the threshold (paths.ts). */
async function toCloudFront(
  input: InvalidateInput,
  distributionId: string,
  paths: readonly string[],
  fail: Fail,
): Promise<NonNullable<InvalidationReport['cloudfront']>> {
  const sent = foldPaths(paths);
  const out: NonNullable<InvalidationReport['cloudfront']> = { distributionId, paths: sent };
  const verb = input.dryRun ? 'would invalidate' : 'invalidating';
  input.info?.(
    `CloudFront ${distributionId}: ${verb} ${sent.length} paths:\n${sent.map((p) => `  ${p}`).join('\n')}`,
  );
  if (input.dryRun) return out;
  try {
    const { createCloudFrontClient, invalidateCloudFront } = await import('./cloudfront.js');
    const client = createCloudFrontClient(input.config);
    try {
      Object.assign(
        out,
        await invalidateCloudFront({ client, distributionId, paths: sent, wait: input.config.cdnWait }),
      );
    } finally {
      client.destroy();
    }
  } catch (err) {
    out.error = fail(`CloudFront invalidation of distribution ${distributionId}`, err);
  }
  return out;
}

/** Cloudflare purges of the URLs, 30 to a request (cloudflare.ts). */
async function toCloudflare(
  input: InvalidateInput,
  zoneId: string,
  urls: readonly string[],
  fail: Fail,
): Promise<NonNullable<InvalidationReport['cloudflare']>> {
  const out: NonNullable<InvalidationReport['cloudflare']> = { zoneId, urls: [...urls], requests: 0 };
  input.info?.(`Cloudflare zone ${zoneId}: ${input.dryRun ? 'would purge' : 'purging'} ${urls.length} URLs`);
  if (input.dryRun) return out;
  try {
    out.requests = await purgeCloudflare({
      apiUrl: input.config.cloudflareApiUrl,
      zoneId,
      token: input.config.cloudflareApiToken ?? '',
      urls,
      timeoutMs: input.config.requestTimeout,
    });
  } catch (err) {
    out.error = fail(`Cloudflare purge of zone ${zoneId}`, err);
  }
  return out;
}
