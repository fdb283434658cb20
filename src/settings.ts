// The settings table: every setting's two spellings (the documented FLASKS3_* name and camelCase), its
// type, default and documentation, and the lookups by either name. Declarative: no checking here (that
// is config.ts) and no I/O, so every layer may import it.
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
   * Compile `url_for`/`static_integrity` calls whose arguments are all literals into the template, so
   * they cost almost nothing per render. Each inlined call checks at render time that the name still
   * resolves to the installed function, and calls whatever it resolves to otherwise (a render-context
   * `url_for`, or one bound by a template that includes or extends this one, still shadows the global).
   * false: every call runs at render time. `FLASKS3_INLINE_URLS`. @default true
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
  /** Gzip bodies, with `Content-Encoding: gzip`, where that makes them smaller. `FLASKS3_GZIP`. @default false */
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

  // --- Trust, part B (sharing). ---
  /**
   * Seconds a deploy waits for another deploy to the same bucket and prefix to finish (it prints who holds
   * the lease every few seconds), before it gives up with a DeployLockedError. `FLASKS3_LEASE_WAIT`.
   * @default 600
   */
  leaseWait?: number;
  // --- Trust, part A (claims): what onlyModified relies on (src/deploy/consult-record.ts). ---
  /** Skip files on the upload record's word alone, without listing the bucket to confirm it: fast, but blind to hand edits. `FLASKS3_TRUST_RECORD`. @default false */
  trustRecord?: boolean;
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

/**
 * The table's rows with their literal names kept (`as const`), so the FLASKS3_* spelling of every setting
 * can be typed from it ({@link FlaskS3Settings}); `satisfies` still checks each row against SettingSpec.
 */
const SETTING_ROWS = [
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
  { flask: 'FLASKS3_INLINE_URLS', camel: 'inlineUrls', kind: { type: 'boolean' }, default: true },
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

  // --- Trust, part B (sharing): the lease on a prefix (src/deploy/deploy-lease.ts). ---
  {
    flask: 'FLASKS3_LEASE_WAIT',
    camel: 'leaseWait',
    kind: { type: 'number', min: 0, max: 86_400, integer: true },
    default: 600,
  },
  // --- Trust, part A (claims). ---
  { flask: 'FLASKS3_TRUST_RECORD', camel: 'trustRecord', kind: { type: 'boolean' }, default: false },
] as const satisfies readonly SettingSpec[];

/** The one table of settings: documented FLASKS3_* name <-> camelCase name, type, default. */
export const SETTINGS: readonly SettingSpec[] = SETTING_ROWS;

type SettingRow = (typeof SETTING_ROWS)[number];

/**
 * Every setting under its documented name (`FLASKS3_BUCKET_NAME`, `AWS_ACCESS_KEY_ID`, ...), typed as its
 * camelCase twin in {@link NunjucksS3Config}: derived from the settings table, so a setting added there is
 * typed here too.
 */
export type FlaskS3Settings = {
  [Row in SettingRow as Row['flask']]?: NunjucksS3Config[Row['camel']];
};

/**
 * Settings in either spelling, as `app.config` and createAll's options take them: `{ gzip: true }` and
 * `{ FLASKS3_GZIP: true }` alike. A misspelt name in an object literal is a type error.
 */
export type NunjucksS3Settings = NunjucksS3Config & FlaskS3Settings;

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
