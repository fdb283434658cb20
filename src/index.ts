// Public API: re-exports only.

export type { AppLike, Blueprint, Router, StaticMount, UrlValues } from './app.js';
export { objectKey, staticMounts } from './app.js';
export { createS3Client } from './client.js';
export type { FingerprintMode, NunjucksS3Config, ObjectAcl, ResolvedConfig, SettingSpec } from './config.js';
export { parseSettingString, resolveConfig, SETTINGS, settingLabel } from './config.js';
export type { DiscoverOptions, Discovery, LocalFile } from './discover.js';
export { discoverFiles } from './discover.js';
export * from './errors.js';
export { FINGERPRINT_LENGTH, fingerprintedPath } from './fingerprint.js';
export type { Hasher } from './hash.js';
export { contentHash, createHasher } from './hash.js';
export type { ObjectFields, ObjectSettings } from './headers.js';
export { COMPRESSED_EXTS, contentTypeFor, createHeaderResolver, shouldGzip } from './headers.js';
export type { Manifest, ManifestEntry } from './manifest.js';
export { MANIFEST_FORMAT } from './manifest.js';
export type { UploadPlan, UploadReason } from './plan.js';
export { planUploads } from './plan.js';
export type { StaticIntegrity, UrlFor, UrlForValues } from './plugin.js';
export { NunjucksS3 } from './plugin.js';
export type { RecordedDeploy, RecordedObject, UploadRecord } from './record.js';
export { recordKey } from './record.js';
export type { CreateAllOptions, ProgressEvent, ReportEntry, UploadReport } from './upload.js';
export { createAll, publicReadPolicy } from './upload.js';
export { encodeQueryComponent, encodeUrlPath, formatQuery } from './url.js';
