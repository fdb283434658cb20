// Public API: re-exports only.
export * from './errors.js';
export type { NunjucksS3Config, ResolvedConfig, ObjectAcl, FingerprintMode, SettingSpec } from './config.js';
export { resolveConfig, SETTINGS } from './config.js';
export type { AppLike, Blueprint, Router, StaticMount, UrlValues } from './app.js';
export { staticMounts, objectKey } from './app.js';
