// Static URL building, pure: filename checks, the three encoders (path, query, fragment) and the URL
// bases that depend only on configuration. The plugin computes a base per static mount once, at init,
// so a url_for call is: check the filename, encode it, concatenate. The key part of every URL comes
// from objectKey() (app.ts), the function the uploader uses, so a URL always names the uploaded key.

import { objectKey, type StaticMount } from '../app.js';
import { type ResolvedConfig, setting, settingLabel } from '../config.js';
import { ConfigError, UrlBuildError } from '../errors.js';

// ---------------------------------------------------------------------------------------------------
// Encoders. Each is a fast path (a regex test: most inputs need no work) and a slow path built on
// encodeURIComponent (UTF-8, upper-case hex), with the few characters it escapes but we keep put back.
// ---------------------------------------------------------------------------------------------------

/**
 * Path characters kept as they are: Werkzeug's set (`A-Za-z0-9` and `!$'()*,-./:;_~`) less `+`, which
 * AWS S3 decodes as a space in URL paths (so `c++.svg` would 404 there); `+` is sent as `%2B`, which every
 * S3 implementation and browser decodes back to `+`.
 */
const PATH_SAFE = /^[A-Za-z0-9!$'()*,\-./:;_~]*$/;
/** encodeURIComponent escapes these path-safe characters: `$ , / : ;`. */
const PATH_RESTORE = /%(?:24|2C|2F|3A|3B)/g;

/** Form-encoding characters kept as they are: `A-Za-z0-9` and `!$'()*,-._~`. */
const QUERY_SAFE = /^[A-Za-z0-9!$'()*,\-._~]*$/;
/** encodeURIComponent escapes these query-safe characters: `$ ,`; space becomes `+` separately. */
const QUERY_RESTORE = /%(?:24|2C)/g;

/**
 * Fragment characters kept (RFC 3986 `fragment`): unreserved, sub-delims, `: @ / ?`. `#` and `%` are
 * escaped, so an anchor can never end the fragment or read as an escape it was not meant to be.
 */
const FRAGMENT_SAFE = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?]*$/;
/** encodeURIComponent escapes these fragment-safe characters: `$ & + , ; = : @ / ?`. */
const FRAGMENT_RESTORE = /%(?:24|26|2B|2C|3B|3D|3A|40|2F|3F)/g;

/** How error messages name a call, the way a template writes it: `url_for('admin.static')`. */
export function callName(endpoint: string): string {
  return /^[\w.-]*$/.test(endpoint) ? `url_for('${endpoint}')` : `url_for(${JSON.stringify(endpoint)})`;
}

function restore(match: string): string {
  return decodeURIComponent(match);
}

/** encodeURIComponent, with a UrlBuildError instead of a URIError for lone surrogates. */
function utf8Escape(value: string, endpoint: string): string {
  try {
    return encodeURIComponent(value);
  } catch (err) {
    throw new UrlBuildError(
      'URL_BAD_UNICODE',
      endpoint,
      `${callName(endpoint)}: ${JSON.stringify(value)} is not valid Unicode (it contains a lone surrogate)`,
      { cause: err },
    );
  }
}

/**
 * Percent-encode a URL path (or an S3 key used as one): keeps `A-Za-z0-9` and `!$'()*+,-./:;_~`,
 * space is `%20`, everything else is `%XX` of its UTF-8 bytes (`ü` gives `%C3%BC`).
 * @example encodeUrlPath('css/my site.css') // 'css/my%20site.css'
 */
export function encodeUrlPath(path: string, endpoint = ''): string {
  if (PATH_SAFE.test(path)) return path;
  return utf8Escape(path, endpoint).replace(PATH_RESTORE, restore);
}

/** Like {@link encodeUrlPath}, for one segment: `/` is escaped too (`%2F`). */
export function encodeUrlSegment(segment: string, endpoint = ''): string {
  return encodeUrlPath(segment, endpoint).replaceAll('/', '%2F');
}

/**
 * Form-encode a query-string key or value: space is `+`; keeps `A-Za-z0-9` and `!$'()*,-._~`;
 * everything else is `%XX` of its UTF-8 bytes.
 */
export function encodeQueryComponent(value: string, endpoint = ''): string {
  if (QUERY_SAFE.test(value)) return value;
  return utf8Escape(value, endpoint).replace(QUERY_RESTORE, restore).replaceAll('%20', '+');
}

/** Encode an `_anchor` for use after `#` (space is `%20`; `#` and `%` are escaped). */
export function encodeFragment(fragment: string, endpoint = ''): string {
  if (FRAGMENT_SAFE.test(fragment)) return fragment;
  return utf8Escape(fragment, endpoint).replace(FRAGMENT_RESTORE, restore);
}

// ---------------------------------------------------------------------------------------------------
// Values: how url_for prints a keyword's value, as Jinja would.
// ---------------------------------------------------------------------------------------------------

/** Nunjucks' SafeString, URL, Date...: objects that say how they print. Arrays are lists, not this. */
function hasOwnText(value: object): boolean {
  const print = (value as { toString?: unknown }).toString;
  return typeof print === 'function' && print !== Object.prototype.toString && !Array.isArray(value);
}

function isList(value: object): value is Iterable<unknown> {
  return (
    Array.isArray(value) ||
    (!hasOwnText(value) && typeof (value as Partial<Iterable<unknown>>)[Symbol.iterator] === 'function')
  );
}

/**
 * A keyword's value as url_for prints it: strings as they are, numbers and bigints in decimal,
 * booleans as `True`/`False` (as Jinja prints them), objects with their own `toString` (Nunjucks'
 * SafeString, URL, Date...) through it. `null`/`undefined` give `undefined` (dropped). Plain objects,
 * lists and functions have no sensible single text and are a UrlBuildError naming the keyword.
 */
export function printValue(value: unknown, key: string, endpoint = ''): string | undefined {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'bigint':
      return String(value);
    case 'boolean':
      return value ? 'True' : 'False';
    case 'undefined':
      return undefined;
    case 'object':
      if (value === null) return undefined;
      if (hasOwnText(value)) return String(value);
      break;
  }
  const what =
    typeof value === 'object' ? (isList(value as object) ? 'a list' : 'an object') : `a ${typeof value}`;
  throw new UrlBuildError(
    'URL_BAD_VALUE',
    endpoint,
    `${callName(endpoint)}: ${key} is ${what}; give a string, number or boolean`,
  );
}

/**
 * Append one keyword to a query string (without `?`): `none`/`null`/`undefined` are dropped, a list
 * (an array, a Set, any iterable object that does not print itself) repeats the key once per item,
 * skipping `none` items.
 * @example appendQuery('v=3', 'tag', ['a', 'b c']) // 'v=3&tag=a&tag=b+c'
 */
export function appendQuery(query: string, key: string, value: unknown, endpoint = ''): string {
  if (value === undefined || value === null) return query;
  if (typeof value === 'object' && isList(value)) {
    let out = query;
    for (const item of value) {
      if (item !== null && typeof item === 'object' && isList(item)) {
        throw new UrlBuildError(
          'URL_BAD_VALUE',
          endpoint,
          `${callName(endpoint)}: ${key} is a list of lists; give a flat list`,
        );
      }
      out = appendQuery(out, key, item, endpoint);
    }
    return out;
  }
  const printed = printValue(value, key, endpoint);
  if (printed === undefined) return query;
  const pair = encodeQueryComponent(key, endpoint) + '=' + encodeQueryComponent(printed, endpoint);
  return query === '' ? pair : query + '&' + pair;
}

/**
 * A query string (without `?`) from an object, in insertion order, with url_for's rules (see
 * {@link appendQuery}). Handy for a function `app.router` that wants the same encoding.
 * @example formatQuery({ page: 2, q: 'a b', draft: false, x: null }) // 'page=2&q=a+b&draft=False'
 */
export function formatQuery(values: Record<string, unknown>): string {
  let query = '';
  for (const key of Object.keys(values)) {
    if (key !== '__keywords') query = appendQuery(query, key, values[key]);
  }
  return query;
}

// ---------------------------------------------------------------------------------------------------
// Filenames.
// ---------------------------------------------------------------------------------------------------

/** A leading `/`, an empty segment, or a `.`/`..` segment (`\` counts as a separator for `..`). */
const NEEDS_NORMALISING = /^\/|\/\/|(?:^|[/\\])\.\.?(?:$|[/\\])/;

/**
 * Check and normalise a static `filename` (relative to its static folder) into the key path it names.
 * Rejects NUL and `..` segments (they would escape the prefix once a browser normalises the URL);
 * drops leading `/`, empty and `.` segments, which a browser or the uploaded keys would not have
 * (`/css//./a.css` gives `css/a.css`). A trailing `/` is kept; `''` stays `''` (the folder's URL).
 */
export function normaliseFilename(filename: string, endpoint = 'static'): string {
  if (filename.includes('\0')) {
    throw new UrlBuildError(
      'URL_BAD_FILENAME',
      endpoint,
      `${callName(endpoint)}: filename contains a NUL character: ${JSON.stringify(filename)}`,
    );
  }
  if (!NEEDS_NORMALISING.test(filename)) return filename;
  const kept: string[] = [];
  for (const segment of filename.split('/')) {
    if (segment === '..' || segment.split('\\').includes('..')) {
      throw new UrlBuildError(
        'URL_BAD_FILENAME',
        endpoint,
        `${callName(endpoint)}: filename must not contain '..' segments: ${JSON.stringify(filename)}`,
      );
    }
    if (segment !== '' && segment !== '.') kept.push(segment);
  }
  const path = kept.join('/');
  return path !== '' && /(?:^|\/)\.?$/.test(filename) ? path + '/' : path;
}

// ---------------------------------------------------------------------------------------------------
// Bases: everything a static URL needs that depends only on configuration.
// ---------------------------------------------------------------------------------------------------

/** Where assets are served from, parsed from cdnDomain or bucketName + bucketDomain + urlStyle. */
export interface AssetOrigin {
  /** The scheme of URLs when url_for gets no `_scheme`: the CDN's or bucket domain's own, else by useHttps. */
  readonly scheme: 'http' | 'https';
  /** `//host[:port][/path]`, host lower-cased, no trailing slash. */
  readonly authority: string;
}

const DOMAIN = /^(?:([A-Za-z][A-Za-z0-9+.-]*):\/\/|\/\/)?([^/?#]*)(\/[^?#]*)?$/;
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?)(?::\d{1,5})?$/;
/** A CDN path is URL text already: path-safe characters and `%XX` escapes. */
const CDN_PATH = /^(?:[A-Za-z0-9!$'()*+,\-./:;_~@=&]|%[0-9A-Fa-f]{2})*$/;

function parseDomain(
  value: string,
  camel: 'cdnDomain' | 'bucketDomain',
  allowPath: boolean,
): { scheme: 'http' | 'https' | undefined; host: string; path: string } {
  const label = settingLabel(setting(camel));
  const fail = (why: string) =>
    new ConfigError('CONFIG_DOMAIN', `${label}: ${JSON.stringify(value)} ${why}`, { setting: label });
  const m = DOMAIN.exec(value);
  if (!m) throw fail('must be a host name, optionally with a scheme and port, and no query or fragment');
  const [, scheme, host = '', rawPath = ''] = m;
  const lowerScheme = scheme?.toLowerCase();
  if (lowerScheme !== undefined && lowerScheme !== 'http' && lowerScheme !== 'https') {
    throw fail(`has the scheme ${JSON.stringify(scheme)}; only http:// and https:// are served to browsers`);
  }
  if (!HOST.test(host))
    throw fail('does not start with a valid host name (letters, digits, dots, hyphens, optional :port)');
  const path = rawPath.replace(/\/+$/, '');
  if (path !== '' && !allowPath)
    throw fail('must be a host name (with optional port) without a path; put a path in cdnDomain');
  if (!CDN_PATH.test(path)) throw fail('has a path with characters that must be percent-encoded');
  // Browsers collapse `.` and `..` segments (written plainly or as %2e), so such a path would serve URLs
  // outside the folder the keys are in.
  if (path.split('/').some((s) => /^(?:\.|%2e){1,2}$/i.test(s))) {
    throw fail("has a '.' or '..' segment in its path: browsers collapse those, so the URLs would 404");
  }
  return { scheme: lowerScheme as 'http' | 'https' | undefined, host: host.toLowerCase(), path };
}

/**
 * The origin of every asset URL, from the configuration: the CDN domain when set (bucket and URL style
 * ignored), else `bucket.domain` (host style) or `domain/bucket` (path style). A scheme written in the
 * domain (`https://cdn.example.com`) wins over useHttps. Throws a ConfigError naming the setting when
 * a domain cannot be used in a URL; the caller checks that bucketName is set.
 */
export function assetOrigin(config: ResolvedConfig, bucketName: string): AssetOrigin {
  const fallback = config.useHttps ? 'https' : 'http';
  if (config.cdnDomain !== '') {
    const cdn = parseDomain(config.cdnDomain, 'cdnDomain', true);
    return { scheme: cdn.scheme ?? fallback, authority: `//${cdn.host}${cdn.path}` };
  }
  const domain = parseDomain(config.bucketDomain, 'bucketDomain', false);
  const bucket = bucketName.toLowerCase();
  const authority = config.urlStyle === 'path' ? `//${domain.host}/${bucket}` : `//${bucket}.${domain.host}`;
  return { scheme: domain.scheme ?? fallback, authority };
}

/** A static mount's URL base: a url_for call appends the encoded filename, query and anchor. */
export interface StaticUrlBase {
  /** With the default scheme: `https://bucket.s3.amazonaws.com/prefix/static/`. */
  readonly absolute: string;
  /** Without a scheme, for `_scheme`: `//bucket.s3.amazonaws.com/prefix/static/`. */
  readonly schemeRelative: string;
}

/**
 * The URL base of one static mount: origin + `/` + the encoded key of the mount's folder (prefix and
 * static URL path, from objectKey) + `/`. Appending an encoded, normalised filename `f` gives the URL
 * of the object `objectKey(prefix, mount, f)`.
 */
export function staticUrlBase(origin: AssetOrigin, prefix: string, mount: StaticMount): StaticUrlBase {
  const folderKey = objectKey(prefix, mount, '');
  const schemeRelative = `${origin.authority}/${folderKey === '' ? '' : encodeUrlPath(folderKey) + '/'}`;
  return { absolute: `${origin.scheme}:${schemeRelative}`, schemeRelative };
}

/** The local URL base of a mount, as the host serves it when the plugin is inactive: `/static/`. */
export function localUrlBase(mount: StaticMount): string {
  return encodeUrlPath(mount.urlPath) + '/';
}

/**
 * Check an `_scheme` keyword: `'http'`, `'https'` (any case), or `''` for a protocol-relative URL.
 * `null`/`undefined` give `undefined` (the default scheme).
 */
export function checkScheme(value: unknown, endpoint: string): 'http' | 'https' | '' | undefined {
  if (value === undefined || value === null) return undefined;
  const lower = typeof value === 'string' ? value.toLowerCase() : value;
  if (lower === 'http' || lower === 'https' || lower === '') return lower;
  throw new UrlBuildError(
    'URL_BAD_SCHEME',
    endpoint,
    `${callName(endpoint)}: _scheme must be 'http', 'https' or '' (protocol-relative), got ${JSON.stringify(value) ?? String(value)}`,
  );
}
