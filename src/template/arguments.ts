// url_for's and static_integrity's arguments as Nunjucks passes them: keyword objects marked
// `__keywords`, plain objects, positional strings; merged, checked and split here, so the plugin and the
// URL builders see one values object.

import type { UrlValues } from '../app.js';
import { UrlBuildError } from '../errors.js';
import { appendQuery, callName } from './url.js';

/**
 * Keywords of `url_for`, as in Flask. Any other keyword becomes a query-string parameter (`v: 3` gives
 * `?v=3`; a list repeats the key; `null`/`undefined` are dropped; booleans print as `True`/`False`).
 */
export interface UrlForValues {
  /** Static endpoints: the file, relative to its static folder (`'css/site.css'`). */
  filename?: string;
  /** `'http'`, `'https'`, or `''` for a protocol-relative URL (`//host/...`). @default the configured scheme */
  _scheme?: 'http' | 'https' | '' | null;
  /** Accepted for Flask compatibility. S3 URLs are always absolute; local URLs are always root-relative. */
  _external?: boolean | null;
  /** Appended as `#anchor`, encoded. */
  _anchor?: string | null;
  [key: string]: unknown;
}

/**
 * `url_for(endpoint, values...)`: the template global and `s3.urlFor` are this same function. Values
 * are keyword objects (Nunjucks passes keywords as a last object marked `__keywords`) or plain objects;
 * several are merged, later keys winning.
 */
export type UrlFor = (endpoint: string, ...values: (UrlForValues | undefined)[]) => string;

/**
 * `static_integrity(...)`: the subresource-integrity value (`sha384-<base64>`) of a static file, for an
 * `integrity` attribute. Takes url_for's arguments, plus a short form:
 * - `static_integrity('css/app.css')`: a file of the app's static folder;
 * - `static_integrity('admin.static', 'logo.svg')`: endpoint and filename;
 * - `static_integrity('static', filename='css/app.css')` (JS: `('static', { filename })`): as url_for.
 *
 * Other keywords (`_scheme`, `v`...) are ignored, so a url_for call can be copied as it is.
 */
export type StaticIntegrity = (...args: (string | UrlForValues | undefined)[]) => string;

/** The key Nunjucks marks keyword arguments with; never part of a URL. */
export const NUNJUCKS_KEYWORDS = '__keywords';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * static_integrity's arguments: strings are positional (`filename`, or `endpoint, filename`), objects are
 * keywords as for url_for (only `filename` matters). One string alone is the endpoint when keywords
 * come with it (`('admin.static', filename=f)`) or when it names a static endpoint; otherwise the filename.
 */
export function integrityArguments(
  args: unknown[],
  staticEndpoints: { has(endpoint: string): boolean } | undefined,
): { endpoint: string; filename: string | undefined } {
  const positional: string[] = [];
  let keywords = false;
  let keywordFilename: unknown;
  for (const arg of args) {
    if (arg === undefined || arg === null) continue;
    if (typeof arg === 'string' || typeof arg === 'number') positional.push(String(arg));
    else if (isObject(arg)) {
      keywords = true;
      if (arg['filename'] !== undefined && arg['filename'] !== null) keywordFilename = arg['filename'];
    } else {
      throw new UrlBuildError(
        'URL_BAD_ARGUMENTS',
        'static',
        `static_integrity: arguments are an endpoint and a filename (strings) or keywords, got ${Array.isArray(arg) ? 'a list' : typeof arg}`,
      );
    }
  }
  if (
    keywordFilename !== undefined &&
    typeof keywordFilename !== 'string' &&
    typeof keywordFilename !== 'number'
  ) {
    throw new UrlBuildError(
      'URL_BAD_FILENAME',
      positional[0] ?? 'static',
      `static_integrity: filename must be a string, got ${Array.isArray(keywordFilename) ? 'a list' : typeof keywordFilename}`,
    );
  }
  const kw = keywordFilename === undefined ? undefined : String(keywordFilename);
  if (positional.length > 2 || (positional.length === 2 && kw !== undefined)) {
    throw new UrlBuildError(
      'URL_BAD_ARGUMENTS',
      positional[0] ?? 'static',
      "static_integrity takes an endpoint and one filename: static_integrity('admin.static', 'logo.svg')",
    );
  }
  if (positional.length === 2) return { endpoint: positional[0]!, filename: positional[1] };
  if (positional.length === 1) {
    const only = positional[0]!;
    return keywords || staticEndpoints?.has(only)
      ? { endpoint: only, filename: kw }
      : { endpoint: 'static', filename: only };
  }
  return { endpoint: 'static', filename: kw };
}

/**
 * One values object from url_for's arguments after the endpoint: keyword objects and plain objects,
 * merged in order; `undefined`/`null` (an unset template variable) count as no values.
 */
export function mergeValues(endpoint: string, args: unknown[]): UrlValues {
  let single: UrlValues | undefined;
  let merged: UrlValues | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === undefined || arg === null) continue;
    if (!isObject(arg)) {
      throw new UrlBuildError(
        'URL_BAD_ARGUMENTS',
        endpoint,
        `${callName(endpoint)}: argument ${i + 2} is ${Array.isArray(arg) ? 'a list' : typeof arg}; ` +
          `give keyword arguments (filename='x') or an object ({ filename: 'x' })`,
      );
    }
    if (single === undefined) single = arg;
    else merged = Object.assign(merged ?? { ...single }, arg);
  }
  return merged ?? single ?? {};
}

/** The values without Nunjucks' keyword marker: what a router sees. */
export function withoutMarker(values: UrlValues): UrlValues {
  if (!Object.hasOwn(values, NUNJUCKS_KEYWORDS)) return values;
  const { [NUNJUCKS_KEYWORDS]: _marker, ...rest } = values;
  return rest;
}

/** A static endpoint's values: Flask's keywords apart, every other keyword already in the query string. */
export interface StaticValues {
  filename: unknown;
  scheme: unknown;
  anchor: unknown;
  /** `a=1&b=2`, encoded; `''` for none. */
  query: string;
}

/** Split a static endpoint's values into filename, `_scheme`, `_anchor` and the query string. */
export function splitStaticValues(values: UrlValues, endpoint: string): StaticValues {
  const out: StaticValues = { filename: undefined, scheme: undefined, anchor: undefined, query: '' };
  for (const key in values) {
    if (!Object.hasOwn(values, key)) continue;
    switch (key) {
      case 'filename':
        out.filename = values[key];
        break;
      case '_scheme':
        out.scheme = values[key];
        break;
      case '_anchor':
        out.anchor = values[key];
        break;
      case '_external': // S3 URLs are always absolute, local ones root-relative.
      case '_method':
      case NUNJUCKS_KEYWORDS:
        break;
      default:
        out.query = appendQuery(out.query, key, values[key], endpoint);
    }
  }
  return out;
}
