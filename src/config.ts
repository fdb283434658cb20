// The configuration: every setting's type, default and documentation, the one table that maps the
// documented FLASKS3_* names to camelCase, and resolveConfig(), which checks a raw config once (at
// plugin init or before an upload) and returns a frozen, normalised ResolvedConfig. Pure: no I/O.

import { ConfigError } from './errors.js';

/** Canned object ACLs S3 understands, plus `'none'` (send no ACL at all). */
export type ObjectAcl =
  | 'public-read'
  | 'private'
  | 'authenticated-read'
  | 'bucket-owner-read'
  | 'bucket-owner-full-control'
  | 'none';

/** How asset URLs carry a content hash. */
export type FingerprintMode = 'filename' | 'query' | false;

/**
 * Settings, by their camelCase names. Each is also accepted under its documented `FLASKS3_*` name
 * (see {@link SETTINGS}); giving both spellings with different values is an error.
 */
export interface NunjucksS3Config {
  /** The bucket assets live in; part of every URL. Required when active and for uploads. `FLASKS3_BUCKET_NAME`. */
  bucketName?: string;
  /** Domain part of bucket URLs; may carry a port (`127.0.0.1:9000`). `FLASKS3_BUCKET_DOMAIN`. @default 's3.amazonaws.com' */
  bucketDomain?: string;
  /**
   * A CDN (CloudFront, Cloudflare...) in front of the bucket: replaces bucket and domain in URLs. May carry a
   * path (`cdn.example.com/assets`) and a scheme (`https://cdn.example.com`). `FLASKS3_CDN_DOMAIN`. @default ''
   */
  cdnDomain?: string;
  /** `'host'`: `bucket.domain`; `'path'`: `domain/bucket`. `FLASKS3_URL_STYLE`. @default 'host' */
  urlStyle?: 'host' | 'path';
  /** https or http URLs; `_scheme` overrides per call. `FLASKS3_USE_HTTPS`. @default true */
  useHttps?: boolean;
  /** Path prefix of every URL and key; slashes at either end are dropped, case is kept. `FLASKS3_PREFIX`. @default '' */
  prefix?: string;
  /** false: templates get local `/static/...` URLs. `FLASKS3_ACTIVE`. @default true */
  active?: boolean;
  /** true: stay active when the app is in debug mode. `FLASKS3_DEBUG`. @default false */
  debug?: boolean;
  /** false: local URLs when the app is testing. `FLASKS3_OVERRIDE_TESTING`. @default true */
  overrideTesting?: boolean;
  /**
   * Replace `url_for`/`static_integrity` calls whose arguments are all literals with their output when a
   * template is compiled, so they cost nothing per render. Off by default: an inlined call no longer sees
   * a render-context `url_for` variable, or one defined by a template that includes or extends
   * this one.
   * `FLASKS3_INLINE_URLS`. @default false
   */
  inlineUrls?: boolean;
  /** AWS region of the client and of a created bucket. `FLASKS3_REGION`. @default the SDK's (AWS_REGION), else us-east-1 */
  region?: string;
  /** S3 API endpoint for uploads (MinIO, Ceph, R2...); never used in URLs. `FLASKS3_ENDPOINT_URL`. */
  endpointUrl?: string;
  /** Path-style requests to the S3 API. `FLASKS3_FORCE_PATH_STYLE`. @default true when endpointUrl is set */
  forcePathStyle?: boolean;
  /** Headers on every object. `FLASKS3_HEADERS`. @default {} */
  headers?: Record<string, string>;
  /**
   * `{ regex: { header: value } }` for objects whose path (relative to its static folder) matches; later
   * matches win over earlier and over `headers`. `FLASKS3_FILEPATH_HEADERS`. @default {}
   * @example { '\\.txt$': { 'Texted-Up-By': 'Mister Foo' } }
   */
  filepathHeaders?: Record<string, Record<string, string>>;
  /** Cache-Control of every object, when useCacheControl is true. `FLASKS3_CACHE_CONTROL`. @example 'max-age=86400' */
  cacheControl?: string;
  /** Send cacheControl. `FLASKS3_USE_CACHE_CONTROL`. @default false */
  useCacheControl?: boolean;
  /** Skip files unchanged since the last upload (content and headers). `FLASKS3_ONLY_MODIFIED`. @default false */
  onlyModified?: boolean;
  /**
   * Remember each file's hash with its size, mtime, ctime and inode in a local cache
   * (`node_modules/.cache/nunjucks-s3/`), so an unchanged re-deploy (onlyModified, fingerprint) reads no
   * file; any write to a file changes its ctime, so a change is never missed. `FLASKS3_HASH_CACHE`. @default true
   */
  hashCache?: boolean;
  /** Gzip bodies and set `Content-Encoding: gzip`. `FLASKS3_GZIP`. @default false */
  gzip?: boolean;
  /** With gzip: only these extensions (case-insensitive, dot optional). `FLASKS3_GZIP_ONLY_EXTS`. @default [] (all but already-compressed formats) */
  gzipOnlyExts?: string[];
  /** Kept for compatibility: nunjucks-s3 always sends a correct Content-Type. `FLASKS3_FORCE_MIMETYPE`. @default false */
  forceMimetype?: boolean;
  /** Access key id; otherwise the SDK's default credential chain. `AWS_ACCESS_KEY_ID`. */
  accessKeyId?: string;
  /** Secret access key. `AWS_SECRET_ACCESS_KEY`. */
  secretAccessKey?: string;
  /** Session token of temporary credentials. `AWS_SESSION_TOKEN`. */
  sessionToken?: string;
  /** Canned ACL of each object; refused ACLs are skipped with one warning. `FLASKS3_OBJECT_ACL`. @default 'public-read' */
  objectAcl?: ObjectAcl | null;
  /** Set the bucket ACL to public-read (best effort). `FLASKS3_PUT_BUCKET_ACL`. @default true */
  putBucketAcl?: boolean;
  /** Upload hidden files and folders (`.env`, `.well-known/`). `FLASKS3_INCLUDE_HIDDEN`. @default false */
  includeHidden?: boolean;
  /** Upload only files whose path relative to its static folder matches (search semantics). `FLASKS3_FILEPATH_FILTER_REGEX`. @example '^css' */
  filepathFilterRegex?: string | RegExp;
  /** Uploads in flight at once. `FLASKS3_CONCURRENCY`. @default 32 (chosen by measurement: bench/results/latest.md) */
  concurrency?: number;
  /** Files this size or larger go up as multipart uploads (bytes, >= 5 MiB). `FLASKS3_MULTIPART_THRESHOLD`. @default 16 MiB */
  multipartThreshold?: number;
  /** Attempts per request, including the first, for throttling, 5xx and resets. `FLASKS3_MAX_ATTEMPTS`. @default 5 */
  maxAttempts?: number;
  /** Milliseconds a request may stall (no response, no progress) before it is retried. `FLASKS3_REQUEST_TIMEOUT`. @default 60000 */
  requestTimeout?: number;
  /** Content hashes in URLs: `'filename'` (`app.3f2a9c1b.css`) or `'query'` (`?v=3f2a9c1b`). `FLASKS3_FINGERPRINT`. @default false */
  fingerprint?: FingerprintMode;
  /** With fingerprint: a file in neither the manifest nor the static folder is an error. `FLASKS3_FINGERPRINT_STRICT`. @default false */
  fingerprintStrict?: boolean;
  /** Manifest file written by uploads and read by the plugin, relative to root. `FLASKS3_MANIFEST`. @default 'nunjucks-s3-manifest.json' */
  manifestPath?: string;
  /** After a successful upload, delete objects under the app's prefixes that no longer exist locally. `FLASKS3_DELETE_STALE`. @default false */
  deleteStale?: boolean;
  /** Refuse (and explain) rather than delete more than this many objects. `FLASKS3_MAX_DELETES`. @default 500 */
  maxDeletes?: number;
  /** Fingerprinted files of this many previous deploys are kept by deleteStale. `FLASKS3_KEEP_DEPLOYS`. @default 3 */
  keepDeploys?: number;

  // --- The CDN in front: invalidation after a deploy (src/cdn/). One block, kept together. ---
  /** CloudFront distribution to invalidate after a deploy, for exactly the keys it overwrote. `FLASKS3_CLOUDFRONT_DISTRIBUTION_ID`. */
  cloudfrontDistributionId?: string;
  /** CloudFront API endpoint (a stand-in for tests, or a proxy). `FLASKS3_CLOUDFRONT_ENDPOINT_URL`. @default the AWS endpoint */
  cloudfrontEndpointUrl?: string;
  /** Wait until each CloudFront invalidation completes (minutes, usually). `FLASKS3_CDN_WAIT`. @default false */
  cdnWait?: boolean;
  /** Cloudflare zone whose cache is purged by URL after a deploy (needs cdnDomain). `FLASKS3_CLOUDFLARE_ZONE_ID`. */
  cloudflareZoneId?: string;
  /** API token with Cache Purge permission on that zone; a secret, never printed. `FLASKS3_CLOUDFLARE_API_TOKEN`. */
  cloudflareApiToken?: string;
  /** Cloudflare API base URL (a stand-in for tests). `FLASKS3_CLOUDFLARE_API_URL`. @default 'https://api.cloudflare.com/client/v4' */
  cloudflareApiUrl?: string;
}

type Kind =
  | { type: 'string'; nonEmpty?: boolean }
  | { type: 'boolean' }
  | { type: 'number'; min: number; max: number; integer: boolean }
  | { type: 'enum'; values: readonly (string | false | null)[] }
  | { type: 'stringArray' }
  | { type: 'headers' }
  | { type: 'filepathHeaders' }
  | { type: 'regex' };

/** One setting: its two spellings, type, default, and whether its value is secret (never printed). */
export interface SettingSpec {
  readonly flask: string;
  readonly camel: keyof NunjucksS3Config;
  readonly kind: Kind;
  readonly default: unknown;
  readonly secret?: boolean;
}

const MiB = 1024 * 1024;
const ACLS = [
  'public-read',
  'private',
  'authenticated-read',
  'bucket-owner-read',
  'bucket-owner-full-control',
  'none',
  null,
] as const;

/** The one table of settings: documented FLASKS3_* name <-> camelCase name, type, default. */
export const SETTINGS: readonly SettingSpec[] = [
  {
    flask: 'FLASKS3_BUCKET_NAME',
    camel: 'bucketName',
    kind: { type: 'string', nonEmpty: true },
    default: undefined,
  },
  {
    flask: 'FLASKS3_BUCKET_DOMAIN',
    camel: 'bucketDomain',
    kind: { type: 'string', nonEmpty: true },
    default: 's3.amazonaws.com',
  },
  { flask: 'FLASKS3_CDN_DOMAIN', camel: 'cdnDomain', kind: { type: 'string' }, default: '' },
  {
    flask: 'FLASKS3_URL_STYLE',
    camel: 'urlStyle',
    kind: { type: 'enum', values: ['host', 'path'] },
    default: 'host',
  },
  { flask: 'FLASKS3_USE_HTTPS', camel: 'useHttps', kind: { type: 'boolean' }, default: true },
  { flask: 'FLASKS3_PREFIX', camel: 'prefix', kind: { type: 'string' }, default: '' },
  { flask: 'FLASKS3_ACTIVE', camel: 'active', kind: { type: 'boolean' }, default: true },
  { flask: 'FLASKS3_DEBUG', camel: 'debug', kind: { type: 'boolean' }, default: false },
  { flask: 'FLASKS3_OVERRIDE_TESTING', camel: 'overrideTesting', kind: { type: 'boolean' }, default: true },
  { flask: 'FLASKS3_INLINE_URLS', camel: 'inlineUrls', kind: { type: 'boolean' }, default: false },
  { flask: 'FLASKS3_REGION', camel: 'region', kind: { type: 'string' }, default: undefined },
  { flask: 'FLASKS3_ENDPOINT_URL', camel: 'endpointUrl', kind: { type: 'string' }, default: undefined },
  {
    flask: 'FLASKS3_FORCE_PATH_STYLE',
    camel: 'forcePathStyle',
    kind: { type: 'boolean' },
    default: undefined,
  },
  { flask: 'FLASKS3_HEADERS', camel: 'headers', kind: { type: 'headers' }, default: {} },
  {
    flask: 'FLASKS3_FILEPATH_HEADERS',
    camel: 'filepathHeaders',
    kind: { type: 'filepathHeaders' },
    default: {},
  },
  { flask: 'FLASKS3_CACHE_CONTROL', camel: 'cacheControl', kind: { type: 'string' }, default: undefined },
  { flask: 'FLASKS3_USE_CACHE_CONTROL', camel: 'useCacheControl', kind: { type: 'boolean' }, default: false },
  { flask: 'FLASKS3_ONLY_MODIFIED', camel: 'onlyModified', kind: { type: 'boolean' }, default: false },
  { flask: 'FLASKS3_HASH_CACHE', camel: 'hashCache', kind: { type: 'boolean' }, default: true },
  { flask: 'FLASKS3_GZIP', camel: 'gzip', kind: { type: 'boolean' }, default: false },
  { flask: 'FLASKS3_GZIP_ONLY_EXTS', camel: 'gzipOnlyExts', kind: { type: 'stringArray' }, default: [] },
  { flask: 'FLASKS3_FORCE_MIMETYPE', camel: 'forceMimetype', kind: { type: 'boolean' }, default: false },
  {
    flask: 'AWS_ACCESS_KEY_ID',
    camel: 'accessKeyId',
    kind: { type: 'string' },
    default: undefined,
    secret: true,
  },
  {
    flask: 'AWS_SECRET_ACCESS_KEY',
    camel: 'secretAccessKey',
    kind: { type: 'string' },
    default: undefined,
    secret: true,
  },
  {
    flask: 'AWS_SESSION_TOKEN',
    camel: 'sessionToken',
    kind: { type: 'string' },
    default: undefined,
    secret: true,
  },
  {
    flask: 'FLASKS3_OBJECT_ACL',
    camel: 'objectAcl',
    kind: { type: 'enum', values: ACLS },
    default: 'public-read',
  },
  { flask: 'FLASKS3_PUT_BUCKET_ACL', camel: 'putBucketAcl', kind: { type: 'boolean' }, default: true },
  { flask: 'FLASKS3_INCLUDE_HIDDEN', camel: 'includeHidden', kind: { type: 'boolean' }, default: false },
  {
    flask: 'FLASKS3_FILEPATH_FILTER_REGEX',
    camel: 'filepathFilterRegex',
    kind: { type: 'regex' },
    default: undefined,
  },
  {
    flask: 'FLASKS3_CONCURRENCY',
    camel: 'concurrency',
    kind: { type: 'number', min: 1, max: 256, integer: true },
    default: 32,
  },
  {
    flask: 'FLASKS3_MULTIPART_THRESHOLD',
    camel: 'multipartThreshold',
    kind: { type: 'number', min: 5 * MiB, max: 5 * 1024 * MiB, integer: true },
    default: 16 * MiB,
  },
  {
    flask: 'FLASKS3_MAX_ATTEMPTS',
    camel: 'maxAttempts',
    kind: { type: 'number', min: 1, max: 20, integer: true },
    default: 5,
  },
  {
    flask: 'FLASKS3_REQUEST_TIMEOUT',
    camel: 'requestTimeout',
    kind: { type: 'number', min: 100, max: 3_600_000, integer: true },
    default: 60_000,
  },
  {
    flask: 'FLASKS3_FINGERPRINT',
    camel: 'fingerprint',
    kind: { type: 'enum', values: ['filename', 'query', false] },
    default: false,
  },
  {
    flask: 'FLASKS3_FINGERPRINT_STRICT',
    camel: 'fingerprintStrict',
    kind: { type: 'boolean' },
    default: false,
  },
  {
    flask: 'FLASKS3_MANIFEST',
    camel: 'manifestPath',
    kind: { type: 'string', nonEmpty: true },
    default: 'nunjucks-s3-manifest.json',
  },
  { flask: 'FLASKS3_DELETE_STALE', camel: 'deleteStale', kind: { type: 'boolean' }, default: false },
  {
    flask: 'FLASKS3_MAX_DELETES',
    camel: 'maxDeletes',
    kind: { type: 'number', min: 0, max: 1e9, integer: true },
    default: 500,
  },
  {
    flask: 'FLASKS3_KEEP_DEPLOYS',
    camel: 'keepDeploys',
    kind: { type: 'number', min: 0, max: 1000, integer: true },
    default: 3,
  },

  // --- The CDN in front: invalidation after a deploy (src/cdn/). One block, kept together. ---
  {
    flask: 'FLASKS3_CLOUDFRONT_DISTRIBUTION_ID',
    camel: 'cloudfrontDistributionId',
    kind: { type: 'string' },
    default: undefined,
  },
  {
    flask: 'FLASKS3_CLOUDFRONT_ENDPOINT_URL',
    camel: 'cloudfrontEndpointUrl',
    kind: { type: 'string' },
    default: undefined,
  },
  { flask: 'FLASKS3_CDN_WAIT', camel: 'cdnWait', kind: { type: 'boolean' }, default: false },
  {
    flask: 'FLASKS3_CLOUDFLARE_ZONE_ID',
    camel: 'cloudflareZoneId',
    kind: { type: 'string' },
    default: undefined,
  },
  {
    flask: 'FLASKS3_CLOUDFLARE_API_TOKEN',
    camel: 'cloudflareApiToken',
    kind: { type: 'string' },
    default: undefined,
    secret: true,
  },
  {
    flask: 'FLASKS3_CLOUDFLARE_API_URL',
    camel: 'cloudflareApiUrl',
    kind: { type: 'string', nonEmpty: true },
    default: 'https://api.cloudflare.com/client/v4',
  },
];

const BY_FLASK = new Map(SETTINGS.map((s) => [s.flask, s]));
const BY_CAMEL = new Map(SETTINGS.map((s) => [s.camel as string, s]));

/** `bucketName / FLASKS3_BUCKET_NAME`: how errors name a setting. */
export function settingLabel(spec: SettingSpec): string {
  return `${spec.camel} / ${spec.flask}`;
}

/** The setting for either spelling, or undefined. */
export function findSetting(name: string): SettingSpec | undefined {
  return BY_FLASK.get(name) ?? BY_CAMEL.get(name);
}

/** Look a setting up by camelCase name; throws on a name not in the table (a bug, not user input). */
export function setting(camel: keyof NunjucksS3Config): SettingSpec {
  const spec = BY_CAMEL.get(camel);
  if (!spec) throw new Error(`unknown setting ${camel}`);
  return spec;
}

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
}

/** Edit distance, for "did you mean" on mistyped setting names. */
function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/**
 * The candidate nearest to a mistyped name (case-insensitive edit distance), when it is near enough to be
 * a plausible typo: within a third of the name's length, and never further than `maxDistance`.
 */
export function closestName(name: string, candidates: Iterable<string>, maxDistance = 3): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const lower = name.toLowerCase();
  for (const c of candidates) {
    const d = distance(lower, c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return bestD <= Math.max(maxDistance, Math.floor(name.length / 3)) ? best : undefined;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof RegExp) return 'a RegExp';
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 60 ? value.slice(0, 57) + '...' : value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

function typeError(spec: SettingSpec, expected: string, value: unknown): ConfigError {
  const got = spec.secret ? typeof value : describe(value);
  return new ConfigError('CONFIG_TYPE', `${settingLabel(spec)} must be ${expected}, got ${got}`, {
    setting: settingLabel(spec),
  });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof RegExp);
}

function compileRegex(spec: SettingSpec, source: string, what: string): RegExp {
  try {
    return new RegExp(source);
  } catch (err) {
    throw new ConfigError(
      'CONFIG_REGEX',
      `${settingLabel(spec)}: ${what} ${JSON.stringify(source)} is not a valid regular expression (${(err as Error).message})`,
      { setting: settingLabel(spec), cause: err },
    );
  }
}

function checkHeaders(spec: SettingSpec, value: unknown, where = ''): Record<string, string> {
  if (!isPlainObject(value))
    throw typeError(spec, `an object of header names to string values${where}`, value);
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(value)) {
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
      throw new ConfigError(
        'CONFIG_TYPE',
        `${settingLabel(spec)}: ${JSON.stringify(name)}${where} is not a valid HTTP header name`,
        {
          setting: settingLabel(spec),
        },
      );
    }
    if (typeof v !== 'string' && typeof v !== 'number') {
      throw typeError(spec, `string header values (header ${JSON.stringify(name)}${where})`, v);
    }
    out[name] = String(v);
  }
  return out;
}

/** Check one value against its setting's type; returns the value to store (copied, never shared). */
function checkValue(spec: SettingSpec, value: unknown): unknown {
  const kind = spec.kind;
  switch (kind.type) {
    case 'string':
      if (typeof value !== 'string') throw typeError(spec, 'a string', value);
      if (kind.nonEmpty && value.trim() === '') throw typeError(spec, 'a non-empty string', value);
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') throw typeError(spec, 'true or false', value);
      return value;
    case 'number':
      if (typeof value !== 'number' || Number.isNaN(value)) throw typeError(spec, 'a number', value);
      if (kind.integer && !Number.isInteger(value)) throw typeError(spec, 'a whole number', value);
      if (value < kind.min || value > kind.max)
        throw typeError(spec, `between ${kind.min} and ${kind.max}`, value);
      return value;
    case 'enum':
      if (!kind.values.includes(value as string)) {
        throw typeError(
          spec,
          `one of ${kind.values.map((v) => (typeof v === 'string' ? `'${v}'` : String(v))).join(', ')}`,
          value,
        );
      }
      return value;
    case 'stringArray':
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
        throw typeError(spec, 'an array of strings', value);
      return [...value];
    case 'headers':
      return checkHeaders(spec, value);
    case 'filepathHeaders': {
      if (!isPlainObject(value)) throw typeError(spec, 'an object of path regexes to header objects', value);
      const out: Record<string, Record<string, string>> = {};
      for (const [re, headers] of Object.entries(value))
        out[re] = checkHeaders(spec, headers, ` (under ${JSON.stringify(re)})`);
      return out;
    }
    case 'regex':
      if (value instanceof RegExp) return new RegExp(value.source, value.flags.replace(/[gy]/g, ''));
      if (typeof value !== 'string') throw typeError(spec, 'a regular expression (string or RegExp)', value);
      return value;
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof RegExp && b instanceof RegExp) return a.source === b.source && a.flags === b.flags;
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Convert a string from the environment or a command line to a setting's type (for the CLI). */
export function parseSettingString(spec: SettingSpec, raw: string): unknown {
  const kind = spec.kind;
  const fail = (expected: string) =>
    new ConfigError(
      'CONFIG_TYPE',
      `${settingLabel(spec)} must be ${expected}, got ${spec.secret ? 'a string' : JSON.stringify(raw)}`,
      {
        setting: settingLabel(spec),
      },
    );
  switch (kind.type) {
    case 'string':
    case 'regex':
      return raw;
    case 'boolean': {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
      throw fail('true or false (1/0, yes/no, on/off)');
    }
    case 'number': {
      const n = Number(raw.trim());
      if (raw.trim() === '' || Number.isNaN(n)) throw fail('a number');
      return n;
    }
    case 'enum': {
      const v = raw.trim();
      if (kind.values.includes(false) && ['false', '0', 'off', 'no', ''].includes(v.toLowerCase()))
        return false;
      if (kind.values.includes(null) && v.toLowerCase() === 'none') return 'none';
      return v;
    }
    case 'stringArray': {
      const v = raw.trim();
      if (v.startsWith('[')) {
        try {
          return JSON.parse(v);
        } catch {
          throw fail('a JSON array or a comma-separated list');
        }
      }
      return v === ''
        ? []
        : v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean);
    }
    case 'headers':
    case 'filepathHeaders':
      try {
        return JSON.parse(raw);
      } catch {
        throw fail('a JSON object');
      }
  }
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

/**
 * Check a raw configuration (Flask-style keys, camelCase keys, or both) and return it resolved.
 * Keys that are neither a setting nor close to one belong to the host app and are ignored; an unknown
 * `FLASKS3_*` key, or a camelCase key one typo away from a setting, is an error naming the closest setting.
 * `overrides` (e.g. createAll's options, CLI flags) win over `raw` without counting as a conflict.
 */
export function resolveConfig(
  raw: Record<string, unknown> = {},
  overrides: Record<string, unknown> = {},
): ResolvedConfig {
  if (!isPlainObject(raw)) {
    throw new ConfigError('CONFIG_TYPE', `app.config must be an object of settings, got ${describe(raw)}`, {
      setting: 'config',
    });
  }
  const given = new Map<SettingSpec, { key: string; value: unknown }>();
  const collect = (source: Record<string, unknown>, isOverride: boolean) => {
    const seen = new Map<SettingSpec, { key: string; value: unknown }>();
    for (const [key, value] of Object.entries(source)) {
      const spec = findSetting(key);
      if (!spec) {
        const isFlaskKey = key.startsWith('FLASKS3_');
        const guess = isFlaskKey ? closestName(key, BY_FLASK.keys()) : nearCamel(key);
        if (isFlaskKey || guess) {
          const hint = guess ? `; did you mean ${guess}?` : '';
          throw new ConfigError('CONFIG_UNKNOWN', `unknown setting ${key}${hint}`, { setting: key });
        }
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
    for (const [spec, v] of seen) if (isOverride || !given.has(spec)) given.set(spec, v);
  };
  collect(raw, false);
  if (!isPlainObject(overrides))
    throw new ConfigError('CONFIG_TYPE', 'options must be an object', { setting: 'options' });
  collect(overrides, true);

  const get = <T>(camel: keyof NunjucksS3Config): T => {
    const spec = setting(camel);
    const v = given.get(spec);
    if (v !== undefined) return v.value as T;
    const d = spec.default;
    return (Array.isArray(d) ? [...d] : isPlainObject(d) ? { ...d } : d) as T;
  };

  const bucketName = get<string | undefined>('bucketName');
  if (bucketName !== undefined) {
    const problem = bucketNameProblem(bucketName);
    if (problem) {
      throw new ConfigError(
        'CONFIG_BUCKET_NAME',
        `${settingLabel(setting('bucketName'))}: ${JSON.stringify(bucketName)} ${problem}`,
        {
          setting: settingLabel(setting('bucketName')),
        },
      );
    }
  }

  const endpointUrl = get<string | undefined>('endpointUrl');
  if (endpointUrl !== undefined) {
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

  const filterSpec = setting('filepathFilterRegex');
  const filter = get<string | RegExp | undefined>('filepathFilterRegex');
  const filepathFilterRegex =
    typeof filter === 'string' ? compileRegex(filterSpec, filter, 'the pattern') : filter;

  const fhSpec = setting('filepathHeaders');
  const filepathHeaders = Object.entries(get<Record<string, Record<string, string>>>('filepathHeaders')).map(
    ([source, headers]): FilepathHeaderRule =>
      Object.freeze({
        source,
        regex: compileRegex(fhSpec, source, 'the key'),
        headers: Object.freeze({ ...headers }),
      }),
  );

  const acl = get<ObjectAcl | null>('objectAcl');
  const resolved = {
    bucketName,
    bucketDomain: get<string>('bucketDomain').trim(),
    cdnDomain: get<string>('cdnDomain').trim(),
    urlStyle: get<'host' | 'path'>('urlStyle'),
    useHttps: get<boolean>('useHttps'),
    prefix: normalisePrefix(get<string>('prefix')),
    active: get<boolean>('active'),
    debug: get<boolean>('debug'),
    overrideTesting: get<boolean>('overrideTesting'),
    inlineUrls: get<boolean>('inlineUrls'),
    region: get<string | undefined>('region') || undefined,
    endpointUrl,
    forcePathStyle: get<boolean | undefined>('forcePathStyle') ?? endpointUrl !== undefined,
    headers: Object.freeze(get<Record<string, string>>('headers')),
    filepathHeaders: Object.freeze(filepathHeaders),
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
    filepathFilterRegex,
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
  };
  // Credentials are there for the uploader, but never shown by console.log, JSON.stringify or a spread.
  // Getters, not values: console.log('%o') and inspect({ showHidden }) list non-enumerable values too,
  // but print a getter as [Getter] without calling it.
  for (const camel of ['accessKeyId', 'secretAccessKey', 'sessionToken', 'cloudflareApiToken'] as const) {
    const secret = get<string | undefined>(camel);
    Object.defineProperty(resolved, camel, { get: () => secret, enumerable: false });
  }
  return Object.freeze(resolved) as ResolvedConfig;
}

/** A camelCase key one or two edits from a setting's name (`bucketname`, `cdnDomian`). */
function nearCamel(key: string): string | undefined {
  if (key.length < 4) return undefined;
  for (const camel of BY_CAMEL.keys()) {
    if (key.toLowerCase() === camel.toLowerCase()) return camel;
  }
  for (const camel of BY_CAMEL.keys()) {
    if (distance(key.toLowerCase(), camel.toLowerCase()) <= (camel.length > 8 ? 2 : 1)) return camel;
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
function cdnSettings(get: <T>(camel: keyof NunjucksS3Config) => T) {
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
