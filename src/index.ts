// Public API: re-exports only, plus thin doors into the deploy half and verify. Everything re-exported
// statically here belongs to the template half or is pure, so `import { NunjucksS3 } from 'nunjucks-s3'`
// never loads the AWS SDK, the file walker or the CLI's progress line; `createAll` and `discoverFiles` load the
// deploy half on their first call.

import type { AppLike, StaticMount } from './app.js';
import type { DiscoverOptions, Discovery } from './deploy/discover.js';
import type { CreateAllOptions, UploadReport } from './deploy/upload.js';
import type { VerifyOptions, VerifyReport } from './verify/verify.js';

export type { AppLike, Blueprint, NunjucksEnvironment, Router, StaticMount, UrlValues } from './app.js';
export { objectKey, staticMounts } from './app.js';
export type { InvalidationReport, OnInvalidate } from './cdn/invalidate.js';
export type {
  FingerprintMode,
  FlaskS3Settings,
  NunjucksS3Config,
  NunjucksS3Settings,
  ObjectAcl,
  ResolvedConfig,
  SettingSpec,
} from './config.js';
export { parseSettingString, resolveConfig, SETTINGS, settingLabel } from './config.js';
export { FINGERPRINT_LENGTH, fingerprintedPath } from './content/fingerprint.js';
export type { Hasher } from './content/hash.js';
export { contentHash, createHasher } from './content/hash.js';
export type { ObjectFields, ObjectSettings } from './content/headers.js';
export { COMPRESSED_EXTS, contentTypeFor, createHeaderResolver, shouldGzip } from './content/headers.js';
export type { Manifest, ManifestEntry } from './content/manifest.js';
export { MANIFEST_FORMAT } from './content/manifest.js';
export type { DiscoverOptions, Discovery, LocalFile } from './deploy/discover.js';
export type { UploadPlan, UploadReason } from './deploy/plan.js';
export { planUploads } from './deploy/plan.js';
export type { RecordedDeploy, RecordedObject, UploadRecord } from './deploy/record.js';
export { recordKey } from './deploy/record.js';
export type { CreateAllOptions, ProgressEvent, ReportEntry, UploadReport } from './deploy/upload.js';
export * from './errors.js';
export { publicReadPolicy } from './s3/bucket-policy.js';
export { createS3Client } from './s3/client.js';
export type { StaticIntegrity, UrlFor, UrlForValues } from './template/plugin.js';
export { NunjucksS3 } from './template/plugin.js';
export { encodeQueryComponent, encodeUrlPath, formatQuery } from './template/url.js';
export type {
  VerifiedFile,
  VerifyCheck,
  VerifyMismatch,
  VerifyOptions,
  VerifyReport,
} from './verify/verify.js';

/**
 * Upload every static asset of `app` to its bucket, under the keys url_for renders. Resolves to a
 * report; rejects with a ConfigError on bad input (before any request; or after the first one, when it
 * shows the credentials, region or endpoint are wrong: nothing is uploaded), and with an UploadError
 * (`failures`, `report`) when any file failed or the run was aborted, after uploading and recording
 * everything it could.
 */
export async function createAll(app: AppLike, options?: CreateAllOptions): Promise<UploadReport> {
  const deploy = await import('./deploy/upload.js');
  return deploy.createAll(app, options);
}

/** Lists the files of the given static mounts that `createAll` would upload, with the key each one gets. */
export async function discoverFiles(
  mounts: readonly StaticMount[],
  options: DiscoverOptions,
): Promise<Discovery> {
  const discover = await import('./deploy/discover.js');
  return discover.discoverFiles(mounts, options);
}

/**
 * Fetch every static file of `app` at the URL url_for renders (the CDN domain when set, else the bucket)
 * and compare status, Content-Type, Content-Encoding, Cache-Control, the decoded bytes and the SRI value
 * with the local file and the settings. `ok` is false on any mismatch.
 */
export async function verify(app: AppLike, options?: VerifyOptions): Promise<VerifyReport> {
  const module = await import('./verify/verify.js');
  return module.verify(app, options);
}
