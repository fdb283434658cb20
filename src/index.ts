// Public API: re-exports only.
export * from './errors.js';
export type { NunjucksS3Config, ResolvedConfig, ObjectAcl, FingerprintMode, SettingSpec } from './config.js';
export { resolveConfig, SETTINGS } from './config.js';
export type { AppLike, Blueprint, Router, StaticMount, UrlValues } from './app.js';
export { staticMounts, objectKey } from './app.js';
export type { UrlFor, UrlForValues } from './plugin.js';
export { NunjucksS3 } from './plugin.js';
export { encodeQueryComponent, encodeUrlPath, formatQuery } from './url.js';
