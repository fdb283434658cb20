// What each object is uploaded with: Content-Type, gzip or not, the FLASKS3_HEADERS /
// FLASKS3_FILEPATH_HEADERS / Cache-Control settings mapped to PutObject fields and user metadata, the
// ACL, and a short signature of all of it (the upload record compares signatures, so changing any
// header re-uploads). Pure: data in, data out; no I/O.

import { createHash } from 'node:crypto';
import path from 'node:path';
import mime from 'mime';
import { type ResolvedConfig, setting, settingLabel } from '../config.js';
import { ConfigError } from '../errors.js';

/**
 * Extensions of formats that are already compressed: gzip makes them bigger or barely smaller and costs
 * CPU on every deploy, so they are not gzipped unless `gzipOnlyExts` lists them explicitly.
 */
export const COMPRESSED_EXTS: ReadonlySet<string> = new Set(
  (
    '.png .jpg .jpeg .jpe .gif .webp .avif .heic .heif .jxl .jp2 ' +
    '.woff .woff2 ' +
    '.gz .tgz .zip .br .zst .bz2 .xz .lz .lz4 .lzma .7z .rar .jar .apk .cab .dmg .z ' +
    '.mp4 .m4v .m4a .mov .webm .mkv .avi .mp3 .ogg .oga .ogv .opus .aac .flac .wma .wmv ' +
    '.pdf .docx .xlsx .pptx .odt .ods .odp .epub'
  ).split(' '),
);

const CHARSET_TYPES = new Set([
  'application/javascript',
  'application/ecmascript',
  'application/json',
  'application/xml',
  'application/xhtml+xml',
  'image/svg+xml',
]);

/** Whether a Content-Type is text and gets `; charset=utf-8`. */
export function isTextType(type: string): boolean {
  return (
    type.startsWith('text/') || CHARSET_TYPES.has(type) || type.endsWith('+json') || type.endsWith('+xml')
  );
}

/**
 * Content-Type of a file from its extension (`mime`): text types carry `; charset=utf-8`; an unknown or
 * missing extension gives `application/octet-stream`. Only the extension counts: a file named `css` is
 * not CSS.
 */
export function contentTypeFor(relPath: string): string {
  const ext = path.posix.extname(relPath).slice(1);
  const type = ext ? mime.getType(ext) : null;
  if (!type) return 'application/octet-stream';
  return isTextType(type) ? `${type}; charset=utf-8` : type;
}

/** Lower-case extension with its dot (`'.css'`), `''` for none. */
export function extensionOf(relPath: string): string {
  return path.posix.extname(relPath).toLowerCase();
}

/**
 * Whether a file is gzipped: gzip is on, and either `gzipOnlyExts` lists its extension, or the list
 * is empty and the format is not already compressed.
 */
export function shouldGzip(relPath: string, config: Pick<ResolvedConfig, 'gzip' | 'gzipOnlyExts'>): boolean {
  if (!config.gzip) return false;
  const ext = extensionOf(relPath);
  if (config.gzipOnlyExts.length > 0) return config.gzipOnlyExts.includes(ext);
  return !COMPRESSED_EXTS.has(ext);
}

/** The PutObject fields headers map to (S3 request fields, not metadata). */
export interface ObjectFields {
  ContentType: string;
  CacheControl?: string;
  ContentDisposition?: string;
  ContentEncoding?: string;
  ContentLanguage?: string;
  ContentMD5?: string;
  Expires?: Date;
}

/** Everything one object is uploaded with. Objects with the same settings share one frozen instance. */
export interface ObjectSettings {
  readonly fields: Readonly<ObjectFields>;
  /** User metadata (`x-amz-meta-<name>`), names lower-case. */
  readonly metadata: Readonly<Record<string, string>>;
  /** The body is gzipped (and `ContentEncoding` is `gzip`). */
  readonly gzip: boolean;
  /** The canned ACL configured (sent unless the server refuses ACLs). */
  readonly acl: string | undefined;
  /** 16 hex digits identifying all of the above; the upload record stores it per key. */
  readonly signature: string;
  /** The same settings as plain JSON data, stored once per signature in the record. */
  readonly canonical: Readonly<Record<string, unknown>>;
}

/** Header names that map to PutObject fields, lower-case. */
const FIELD_OF: Readonly<Record<string, keyof ObjectFields | 'ContentLength'>> = {
  'cache-control': 'CacheControl',
  'content-disposition': 'ContentDisposition',
  'content-encoding': 'ContentEncoding',
  'content-language': 'ContentLanguage',
  'content-length': 'ContentLength',
  'content-md5': 'ContentMD5',
  'content-type': 'ContentType',
  expires: 'Expires',
};

/** The request header of each PutObject field, lower-case (FIELD_OF the other way round). */
export const HEADER_OF_FIELD = Object.freeze(
  Object.fromEntries(
    Object.entries(FIELD_OF)
      .filter(([, field]) => field !== 'ContentLength')
      .map(([header, field]) => [field, header]),
  ),
) as Readonly<Record<keyof ObjectFields, string>>;

/** Printable ASCII and tab: what an HTTP header value can carry without encoding. */
const HEADER_VALUE = /^[\t\x20-\x7e]*$/;

function checkHeaderValues(
  headers: Readonly<Record<string, string>>,
  where: string,
  label: string,
  warnings: string[],
): void {
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (!HEADER_VALUE.test(value)) {
      throw new ConfigError(
        'CONFIG_HEADER',
        `${label}: the value of header ${JSON.stringify(name)}${where} must be printable ASCII ` +
          `(HTTP headers cannot carry other characters; for a download name use filename*=UTF-8''<percent-encoded>)`,
        { setting: label },
      );
    }
    if (lower === 'expires' && Number.isNaN(Date.parse(value))) {
      throw new ConfigError(
        'CONFIG_HEADER',
        `${label}: header ${JSON.stringify(name)}${where} must be an HTTP date (e.g. "Wed, 21 Oct 2026 07:28:00 GMT"), got ${JSON.stringify(value)}`,
        { setting: label },
      );
    }
    if (lower === 'content-length') {
      warnings.push(
        `${label}: header ${JSON.stringify(name)}${where} is ignored; the real length of each body is sent`,
      );
    } else if (lower.startsWith('x-amz-') && !lower.startsWith('x-amz-meta-')) {
      warnings.push(
        `${label}: header ${JSON.stringify(name)}${where} is not a standard header and is stored as user metadata ` +
          `x-amz-meta-${lower}` +
          (lower === 'x-amz-acl' ? `; set the ACL with ${settingLabel(setting('objectAcl'))}` : ''),
      );
    }
  }
}

/**
 * Check the header settings once, before anything is uploaded: values must be printable ASCII and
 * `Expires` a date. Returns warnings for headers that are ignored or stored in an unexpected way.
 */
export function checkHeaderSettings(config: Pick<ResolvedConfig, 'headers' | 'filepathHeaders'>): string[] {
  const warnings: string[] = [];
  checkHeaderValues(config.headers, '', settingLabel(setting('headers')), warnings);
  for (const rule of config.filepathHeaders) {
    checkHeaderValues(
      rule.headers,
      ` (under ${JSON.stringify(rule.source)})`,
      settingLabel(setting('filepathHeaders')),
      warnings,
    );
  }
  return warnings;
}

/** Sorted-key JSON: the same settings always give the same text, whatever order they were written in. */
function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

/** The 16-hex-digit signature of a settings object (sha256, truncated; not a security boundary). */
export function settingsSignature(canonical: Readonly<Record<string, unknown>>): string {
  return createHash('sha256').update(canonicalJson(canonical)).digest('hex').slice(0, 16);
}

/** Returns the settings of the object at `relPath` (relative to its static folder). */
export type HeaderResolver = (relPath: string) => ObjectSettings;

/**
 * A resolver of {@link ObjectSettings} for this configuration. Precedence, later wins: `headers`, then
 * every `filepathHeaders` rule whose regex matches the relative path (search semantics, in order), then
 * `cacheControl` when `useCacheControl`. Header names are case-insensitive. A Content-Type given in any
 * of them wins over the detected one; a Content-Encoding given for a file means the file is already
 * encoded, so it is sent as is (not gzipped). Results are cached per extension and matching rules.
 * Call {@link checkHeaderSettings} first: this function assumes valid values.
 */
export function createHeaderResolver(
  config: Pick<
    ResolvedConfig,
    'headers' | 'filepathHeaders' | 'cacheControl' | 'useCacheControl' | 'gzip' | 'gzipOnlyExts' | 'objectAcl'
  >,
): HeaderResolver {
  const cache = new Map<string, ObjectSettings>();
  const rules = config.filepathHeaders;
  const cacheControl = config.useCacheControl && config.cacheControl ? config.cacheControl : undefined;

  const build = (relPath: string, matched: number[]): ObjectSettings => {
    const merged = new Map<string, string>();
    for (const [name, value] of Object.entries(config.headers)) merged.set(name.toLowerCase(), value);
    for (const i of matched) {
      for (const [name, value] of Object.entries(rules[i]!.headers)) merged.set(name.toLowerCase(), value);
    }
    if (cacheControl !== undefined) merged.set('cache-control', cacheControl);

    const fields: ObjectFields = { ContentType: merged.get('content-type') ?? contentTypeFor(relPath) };
    const metadata: Record<string, string> = {};
    for (const [name, value] of merged) {
      const field = FIELD_OF[name];
      if (field === 'ContentLength' || field === 'ContentType') continue;
      if (field === 'Expires') fields.Expires = new Date(value);
      else if (field) fields[field] = value;
      else metadata[name.startsWith('x-amz-meta-') ? name.slice('x-amz-meta-'.length) : name] = value;
    }
    const gzip = fields.ContentEncoding === undefined && shouldGzip(relPath, config);
    if (gzip) {
      fields.ContentEncoding = 'gzip';
      // A user Content-MD5 describes the file, not the gzipped body: S3 would refuse it as BadDigest.
      delete fields.ContentMD5;
    }
    const canonical = {
      ...fields,
      Expires: fields.Expires?.toUTCString(),
      Metadata: Object.keys(metadata).length ? metadata : undefined,
      gzip,
      ACL: config.objectAcl,
    };
    return Object.freeze({
      fields: Object.freeze(fields),
      metadata: Object.freeze(metadata),
      gzip,
      acl: config.objectAcl,
      signature: settingsSignature(canonical),
      canonical: Object.freeze(JSON.parse(JSON.stringify(canonical)) as Record<string, unknown>),
    });
  };

  return (relPath) => {
    const matched: number[] = [];
    for (let i = 0; i < rules.length; i++) if (rules[i]!.regex.test(relPath)) matched.push(i);
    // Content-Type and gzip depend on the (case-insensitive) extension only, headers on the matching rules.
    const cacheKey = `${extensionOf(relPath)}|${matched.join(',')}`;
    let settings = cache.get(cacheKey);
    if (!settings) {
      settings = build(relPath, matched);
      cache.set(cacheKey, settings);
    }
    return settings;
  };
}
