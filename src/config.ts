// Checking the configuration: resolveConfig() checks a raw config once (at plugin init or before an
// upload) and returns a frozen, normalised ResolvedConfig. The settings themselves (names, types,
// defaults, documentation) are the table in settings.ts, re-exported here for the modules that import
// them with the checks. Pure: no I/O.

import { distance, suggestFlaskName } from './closest-name.js';
import { ConfigError } from './errors.js';
import { checkValue, compileRegex, describe, isPlainObject, sameValue } from './setting-checks.js';
import {
  type FingerprintMode,
  findSetting,
  type NunjucksS3Config,
  type NunjucksS3Settings,
  type ObjectAcl,
  SETTINGS,
  type SettingSpec,
  setting,
  settingLabel,
} from './settings.js';

export { closestName, suggestFlaskName } from './closest-name.js';
export { parseSettingString } from './setting-strings.js';
export type {
  FingerprintMode,
  FlaskS3Settings,
  NunjucksS3Config,
  NunjucksS3Settings,
  ObjectAcl,
  SettingSpec,
} from './settings.js';
export { findSetting, SETTINGS, setting, settingLabel } from './settings.js';

/** A FLASKS3_FILEPATH_HEADERS entry, compiled once. */
export interface FilepathHeaderRule {
  readonly source: string;
  readonly regex: RegExp;
  readonly headers: Readonly<Record<string, string>>;
}

/** The checked, normalised, frozen configuration. Credentials are non-enumerable: logging it shows none. */
export interface ResolvedConfig {
  readonly bucketName: string | undefined;
  readonly bucketDomain: string;
  readonly cdnDomain: string;
  readonly urlStyle: 'host' | 'path';
  readonly useHttps: boolean;
  /** Without slashes at either end; `''` for none. */
  readonly prefix: string;
  readonly active: boolean;
  readonly debug: boolean;
  readonly overrideTesting: boolean;
  readonly inlineUrls: boolean;
  readonly region: string | undefined;
  readonly endpointUrl: string | undefined;
  readonly forcePathStyle: boolean;
  readonly headers: Readonly<Record<string, string>>;
  readonly filepathHeaders: readonly FilepathHeaderRule[];
  readonly cacheControl: string | undefined;
  readonly useCacheControl: boolean;
  readonly onlyModified: boolean;
  readonly hashCache: boolean;
  readonly gzip: boolean;
  /** Lower-case, each with a leading dot. */
  readonly gzipOnlyExts: readonly string[];
  readonly forceMimetype: boolean;
  readonly accessKeyId: string | undefined;
  readonly secretAccessKey: string | undefined;
  readonly sessionToken: string | undefined;
  readonly objectAcl: Exclude<ObjectAcl, 'none'> | undefined;
  readonly putBucketAcl: boolean;
  readonly includeHidden: boolean;
  readonly filepathFilterRegex: RegExp | undefined;
  readonly concurrency: number;
  readonly multipartThreshold: number;
  readonly maxAttempts: number;
  readonly requestTimeout: number;
  readonly fingerprint: FingerprintMode;
  readonly fingerprintStrict: boolean;
  readonly manifestPath: string;
  readonly deleteStale: boolean;
  readonly maxDeletes: number;
  readonly keepDeploys: number;

  // --- The CDN in front (src/cdn/). ---
  readonly cloudfrontDistributionId: string | undefined;
  readonly cloudfrontEndpointUrl: string | undefined;
  readonly cdnWait: boolean;
  readonly cloudflareZoneId: string | undefined;
  /** Non-enumerable, like the AWS credentials. */
  readonly cloudflareApiToken: string | undefined;
  readonly cloudflareApiUrl: string;

  // --- Trust, part B (sharing). ---
  readonly leaseWait: number;
  // --- Trust, part A (claims). ---
  readonly trustRecord: boolean;
}

/** Lower-case, leading dot: `'CSS'` and `'.css'` both give `'.css'`. */
export function normaliseExt(ext: string): string {
  const e = ext.trim().toLowerCase();
  return e.startsWith('.') ? e : `.${e}`;
}

/** `'/a/b/'` gives `'a/b'`; case is kept (the original lower-cased URLs but not keys: broken links). */
export function normalisePrefix(prefix: string): string {
  return prefix.replace(/^\/+|\/+$/g, '');
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** S3's bucket naming rules; returns the reason a name breaks them, or undefined. */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return 'must be 3 to 63 characters long';
  if (!BUCKET_NAME.test(name)) {
    return 'may contain only lower-case letters, digits, dots and hyphens, and must start and end with a letter or digit';
  }
  if (name.includes('..')) return 'must not contain two dots in a row';
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return 'must not look like an IP address';
  return undefined;
}

/** A setting's value as given, and the key it was given under (either spelling). */
interface GivenValue {
  readonly key: string;
  readonly value: unknown;
}

/**
 * A key that is not a setting: ignored (it belongs to the host app) unless it is a `FLASKS3_*` key or a
 * camelCase key one typo away from a setting, which throw naming the closest setting.
 */
function checkUnknownKey(key: string): void {
  const isFlaskKey = key.startsWith('FLASKS3_');
  const guess = isFlaskKey
    ? suggestFlaskName(
        key,
        SETTINGS.map((s) => s.flask),
      )
    : nearCamel(key);
  if (isFlaskKey || guess) {
    const hint = guess ? `; did you mean ${guess}?` : '';
    throw new ConfigError('CONFIG_UNKNOWN', `unknown setting ${key}${hint}`, { setting: key });
  }
}

/**
 * The settings one object gives, checked one by one; both spellings of one setting in the same object
 * must agree. `undefined` values count as not given.
 */
function settingsGivenIn(source: Record<string, unknown>): Map<SettingSpec, GivenValue> {
  const seen = new Map<SettingSpec, GivenValue>();
  for (const [key, value] of Object.entries(source)) {
    const spec = findSetting(key);
    if (!spec) {
      checkUnknownKey(key);
      continue;
    }
    if (value === undefined) continue;
    const checked = checkValue(spec, value);
    const prev = seen.get(spec);
    if (prev && !sameValue(prev.value, checked)) {
      throw new ConfigError(
        'CONFIG_CONFLICT',
        `${settingLabel(spec)} is set twice with different values (${prev.key} and ${key}); keep one`,
        { setting: settingLabel(spec) },
      );
    }
    seen.set(spec, { key, value: checked });
  }
  return seen;
}

/** A setting's given value, else a fresh copy of its default (so no resolved config shares one). */
type SettingReader = <T>(camel: keyof NunjucksS3Config) => T;

function readerOf(given: ReadonlyMap<SettingSpec, GivenValue>): SettingReader {
  return <T>(camel: keyof NunjucksS3Config): T => {
    const spec = setting(camel);
    const v = given.get(spec);
    if (v !== undefined) return v.value as T;
    const d = spec.default;
    return (Array.isArray(d) ? [...d] : isPlainObject(d) ? { ...d } : d) as T;
  };
}

function checkBucketName(bucketName: string | undefined): void {
  if (bucketName === undefined) return;
  const problem = bucketNameProblem(bucketName);
  if (problem) {
    const label = settingLabel(setting('bucketName'));
    throw new ConfigError('CONFIG_BUCKET_NAME', `${label}: ${JSON.stringify(bucketName)} ${problem}`, {
      setting: label,
    });
  }
}

function checkEndpointUrl(endpointUrl: string | undefined): void {
  if (endpointUrl === undefined) return;
  let ok = false;
  try {
    const u = new URL(endpointUrl);
    ok = u.protocol === 'http:' || u.protocol === 'https:';
  } catch {}
  if (!ok) {
    throw new ConfigError(
      'CONFIG_ENDPOINT',
      `${settingLabel(setting('endpointUrl'))} must be an http:// or https:// URL, got ${JSON.stringify(endpointUrl)}`,
      { setting: settingLabel(setting('endpointUrl')) },
    );
  }
}

function filepathHeaderRules(get: SettingReader): FilepathHeaderRule[] {
  const spec = setting('filepathHeaders');
  return Object.entries(get<Record<string, Record<string, string>>>('filepathHeaders')).map(
    ([source, headers]): FilepathHeaderRule =>
      Object.freeze({
        source,
        regex: compileRegex(spec, source, 'the key'),
        headers: Object.freeze({ ...headers }),
      }),
  );
}

/**
 * A region is letters, digits and hyphens (`eu-west-1`, or Flask-S3's legacy `EU`, `USWest`): anything
 * else (`eu west 1`, a pasted URL) is a typo that S3 would answer, after the deploy started, with an
 * error no retry can fix.
 */
function checkRegion(region: string | undefined): string | undefined {
  if (region === undefined || /^[A-Za-z0-9-]*$/.test(region)) return region;
  const label = settingLabel(setting('region'));
  throw new ConfigError(
    'CONFIG_TYPE',
    `${label}: ${JSON.stringify(region)} is not a region name (letters, digits and hyphens, e.g. eu-west-1)`,
    { setting: label },
  );
}

/**
 * The prefix is the first part of every key and URL path: a `.` or `..` segment would make keys like
 * `../static/a.css` that no URL reaches (browsers collapse dot segments), so it is refused, as a
 * blueprint's staticUrlPath is (app.ts).
 */
function checkPrefix(prefix: string): string {
  if (prefix.split('/').some((s) => s === '.' || s === '..') || prefix.includes('\0')) {
    const label = settingLabel(setting('prefix'));
    throw new ConfigError(
      'CONFIG_PATH',
      `${label} must not contain '.' or '..' segments or NUL: ${JSON.stringify(prefix)}`,
      { setting: label },
    );
  }
  return prefix;
}

/** The resolved values, from the checked settings; credentials are added (hidden) by the caller. */
function resolvedValues(
  get: SettingReader,
): Omit<ResolvedConfig, 'accessKeyId' | 'secretAccessKey' | 'sessionToken' | 'cloudflareApiToken'> {
  const bucketName = get<string | undefined>('bucketName');
  checkBucketName(bucketName);
  const endpointUrl = get<string | undefined>('endpointUrl');
  checkEndpointUrl(endpointUrl);
  const filter = get<string | RegExp | undefined>('filepathFilterRegex');
  const acl = get<ObjectAcl | null>('objectAcl');
  return {
    bucketName,
    bucketDomain: get<string>('bucketDomain').trim(),
    cdnDomain: get<string>('cdnDomain').trim(),
    urlStyle: get<'host' | 'path'>('urlStyle'),
    useHttps: get<boolean>('useHttps'),
    prefix: checkPrefix(normalisePrefix(get<string>('prefix'))),
    active: get<boolean>('active'),
    debug: get<boolean>('debug'),
    overrideTesting: get<boolean>('overrideTesting'),
    inlineUrls: get<boolean>('inlineUrls'),
    region: checkRegion(get<string | undefined>('region')) || undefined,
    endpointUrl,
    forcePathStyle: get<boolean | undefined>('forcePathStyle') ?? endpointUrl !== undefined,
    headers: Object.freeze(get<Record<string, string>>('headers')),
    filepathHeaders: Object.freeze(filepathHeaderRules(get)),
    cacheControl: get<string | undefined>('cacheControl'),
    useCacheControl: get<boolean>('useCacheControl'),
    onlyModified: get<boolean>('onlyModified'),
    hashCache: get<boolean>('hashCache'),
    gzip: get<boolean>('gzip'),
    gzipOnlyExts: Object.freeze(get<string[]>('gzipOnlyExts').map(normaliseExt)),
    forceMimetype: get<boolean>('forceMimetype'),
    objectAcl: acl === null || acl === 'none' ? undefined : acl,
    putBucketAcl: get<boolean>('putBucketAcl'),
    includeHidden: get<boolean>('includeHidden'),
    filepathFilterRegex:
      typeof filter === 'string'
        ? compileRegex(setting('filepathFilterRegex'), filter, 'the pattern')
        : filter,
    concurrency: get<number>('concurrency'),
    multipartThreshold: get<number>('multipartThreshold'),
    maxAttempts: get<number>('maxAttempts'),
    requestTimeout: get<number>('requestTimeout'),
    fingerprint: get<FingerprintMode>('fingerprint'),
    fingerprintStrict: get<boolean>('fingerprintStrict'),
    manifestPath: get<string>('manifestPath'),
    deleteStale: get<boolean>('deleteStale'),
    maxDeletes: get<number>('maxDeletes'),
    keepDeploys: get<number>('keepDeploys'),
    // --- The CDN in front (src/cdn/). ---
    ...cdnSettings(get),
    // --- Trust, part B (sharing). ---
    leaseWait: get<number>('leaseWait'),
    // --- Trust, part A (claims). ---
    trustRecord: get<boolean>('trustRecord'),
  };
}

/**
 * Check a raw configuration (Flask-style keys, camelCase keys, or both) and return it resolved.
 * Keys that are neither a setting nor close to one belong to the host app and are ignored; an unknown
 * `FLASKS3_*` key, or a camelCase key one typo away from a setting, is an error naming the closest setting.
 * `overrides` (e.g. createAll's options, CLI flags) win over `raw` without counting as a conflict.
 */
export function resolveConfig(
  raw: NunjucksS3Settings | Record<string, unknown> = {},
  overrides: NunjucksS3Settings | Record<string, unknown> = {},
): ResolvedConfig {
  if (!isPlainObject(raw)) {
    throw new ConfigError('CONFIG_TYPE', `app.config must be an object of settings, got ${describe(raw)}`, {
      setting: 'config',
    });
  }
  const given = settingsGivenIn(raw);
  if (!isPlainObject(overrides))
    throw new ConfigError('CONFIG_TYPE', 'options must be an object', { setting: 'options' });
  for (const [spec, v] of settingsGivenIn(overrides)) given.set(spec, v);

  const get = readerOf(given);
  const resolved = resolvedValues(get);
  // Credentials are there for the uploader, but never shown by console.log, JSON.stringify or a spread.
  // Getters, not values: console.log('%o') and inspect({ showHidden }) list non-enumerable values too,
  // but print a getter as [Getter] without calling it.
  for (const camel of ['accessKeyId', 'secretAccessKey', 'sessionToken', 'cloudflareApiToken'] as const) {
    const secret = get<string | undefined>(camel);
    Object.defineProperty(resolved, camel, { get: () => secret, enumerable: false });
  }
  return Object.freeze(resolved) as ResolvedConfig;
}

/** camelCase setting names, for "did you mean" on near-miss keys. */
const SETTING_CAMEL_NAMES: readonly string[] = SETTINGS.map((s) => s.camel);

/** A camelCase key one or two edits from a setting's name (`bucketname`, `cdnDomian`). */
function nearCamel(key: string): string | undefined {
  if (key.length < 4) return undefined;
  const lower = key.toLowerCase();
  for (const camel of SETTING_CAMEL_NAMES) {
    if (lower === camel.toLowerCase()) return camel;
  }
  for (const camel of SETTING_CAMEL_NAMES) {
    const edits = camel.length > 8 ? 2 : 1;
    // Names whose lengths differ by more than that are further apart: no distance to compute (every
    // key of the host app's config, or of the environment, comes through here).
    if (Math.abs(lower.length - camel.length) > edits) continue;
    if (distance(lower, camel.toLowerCase()) <= edits) return camel;
  }
  return undefined;
}

/** The bucket name, or a ConfigError saying how to set it. */
export function requireBucketName(config: ResolvedConfig, why: string): string {
  if (config.bucketName) return config.bucketName;
  const label = settingLabel(setting('bucketName'));
  throw new ConfigError('CONFIG_MISSING_BUCKET', `${label} is required ${why}; set it in app.config`, {
    setting: label,
  });
}

// --- The CDN in front (src/cdn/): its settings. One block, kept together. ---

/** The CDN settings, each checked (src/cdn/invalidate.ts checks them together); the token is added, hidden, by resolveConfig. */
function cdnSettings(get: SettingReader) {
  const httpUrl = (camel: 'cloudfrontEndpointUrl' | 'cloudflareApiUrl') => {
    const value = get<string | undefined>(camel);
    if (value === undefined) return undefined;
    let ok = false;
    try {
      ok = /^https?:$/.test(new URL(value).protocol);
    } catch {}
    if (!ok) {
      const label = settingLabel(setting(camel));
      throw new ConfigError(
        'CONFIG_ENDPOINT',
        `${label} must be an http:// or https:// URL, got ${JSON.stringify(value)}`,
        {
          setting: label,
        },
      );
    }
    return value.replace(/\/+$/, '');
  };
  const zone = get<string | undefined>('cloudflareZoneId') || undefined;
  return {
    cloudfrontDistributionId: get<string | undefined>('cloudfrontDistributionId')?.trim() || undefined,
    cloudfrontEndpointUrl: httpUrl('cloudfrontEndpointUrl'),
    cdnWait: get<boolean>('cdnWait'),
    cloudflareZoneId: zone,
    cloudflareApiUrl: httpUrl('cloudflareApiUrl') as string,
  };
}
