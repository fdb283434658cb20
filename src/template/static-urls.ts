// What a static endpoint renders: `url_for('static', filename=...)` as a bucket, CDN or local URL (with
// its fingerprint, when on), and `static_integrity(...)` as the file's SRI value; and the errors that
// say which static folder or file was not found.

import type { UrlValues } from '../app.js';
import { setting, settingLabel } from '../config.js';
import { shortHash } from '../content/fingerprint.js';
import { UrlBuildError } from '../errors.js';
import { integrityArguments, splitStaticValues } from './arguments.js';
import type { AssetInfo } from './assets.js';
import type { PluginState, StaticEntry } from './state.js';
import {
  callName,
  checkScheme,
  encodeFragment,
  encodeUrlPath,
  normaliseFilename,
  printValue,
} from './url.js';

/** The URL of a file of one static mount, as url_for renders it. */
export function staticUrl(
  state: PluginState,
  entry: StaticEntry,
  endpoint: string,
  values: UrlValues,
): string {
  const split = splitStaticValues(values, endpoint);
  const { filename, scheme, anchor } = split;
  let query = split.query;
  if (filename === undefined || filename === null) {
    throw new UrlBuildError(
      'URL_MISSING_FILENAME',
      endpoint,
      `${callName(endpoint)} needs a filename, e.g. url_for('${endpoint}', filename='css/site.css')`,
    );
  }
  if (typeof filename !== 'string' && typeof filename !== 'number') {
    throw new UrlBuildError(
      'URL_BAD_FILENAME',
      endpoint,
      `${callName(endpoint)}: filename must be a string, got ${Array.isArray(filename) ? 'a list' : typeof filename}`,
    );
  }
  const relPath = normaliseFilename(String(filename), endpoint);
  let keyPath = relPath;
  // A folder URL ('' or 'css/') names no file: nothing to fingerprint.
  if (state.fingerprint !== false && relPath !== '' && !relPath.endsWith('/')) {
    const asset = fingerprintedAsset(state, entry, relPath, endpoint);
    if (asset !== undefined) {
      if (state.fingerprint === 'filename') keyPath = asset.path;
      // A `v` the template gives wins: it asked for that value on purpose.
      else if (values['v'] === undefined || values['v'] === null)
        query = query === '' ? 'v=' + shortHash(asset.hash) : query + '&v=' + shortHash(asset.hash);
    }
  }
  const path = encodeUrlPath(keyPath, endpoint);

  let url: string;
  if (state.active) {
    const s = checkScheme(scheme, endpoint);
    url =
      (s === undefined ? entry.base : s === '' ? entry.schemeRelative : `${s}:${entry.schemeRelative}`) +
      path;
  } else {
    checkScheme(scheme, endpoint); // same rules either way, so a bad _scheme fails in development too
    url = entry.base + path;
  }
  if (query !== '') url += '?' + query;
  const fragment = printValue(anchor, '_anchor', endpoint);
  if (fragment !== undefined) url += '#' + encodeFragment(fragment, endpoint);
  return url;
}

/**
 * The asset a fingerprinted url_for names: from the manifest or the static folder; undefined (the
 * plain URL) when in neither, or a UrlBuildError naming the file with fingerprintStrict.
 */
function fingerprintedAsset(
  state: PluginState,
  entry: StaticEntry,
  relPath: string,
  endpoint: string,
): AssetInfo | undefined {
  const asset = entry.assets.lookup(relPath, 'url_for');
  if (asset === undefined && state.config.fingerprintStrict) {
    throw new UrlBuildError(
      'URL_UNKNOWN_ASSET',
      endpoint,
      `${callName(endpoint)}: ${JSON.stringify(relPath)} is ${whereNotFound(state, entry)}, so it has no ` +
        `fingerprint (${settingLabel(setting('fingerprintStrict'))} is on)`,
    );
  }
  return asset;
}

/** What static_integrity(...) returns: the SRI value of the file its arguments name; never empty. */
export function staticIntegrityOf(state: PluginState | undefined, args: unknown[]): string {
  const { endpoint, filename } = integrityArguments(args, state?.statics);
  const say = `static_integrity('${endpoint}', ${JSON.stringify(filename ?? null)})`;
  if (state === undefined) {
    throw new UrlBuildError(
      'URL_NOT_INITIALISED',
      endpoint,
      `${say}: NunjucksS3 has no app yet; pass it to the constructor or call initApp(app)`,
    );
  }
  const entry = state.statics.get(endpoint);
  if (entry === undefined) {
    if (endpoint === 'static' || endpoint.endsWith('.static')) throw unknownStatic(state, endpoint, say);
    throw new UrlBuildError(
      'URL_BAD_ENDPOINT',
      endpoint,
      `${say}: ${JSON.stringify(endpoint)} is not a static endpoint ('static' or '<blueprint>.static')`,
    );
  }
  if (filename === undefined) {
    throw new UrlBuildError(
      'URL_MISSING_FILENAME',
      endpoint,
      `static_integrity('${endpoint}') needs a filename, e.g. static_integrity('${endpoint}', 'css/site.css')`,
    );
  }
  const relPath = normaliseFilename(filename, endpoint);
  const asset =
    relPath === '' || relPath.endsWith('/') ? undefined : entry.assets.lookup(relPath, 'static_integrity');
  if (asset === undefined) {
    // Always an error: an empty integrity attribute would silently turn the browser's check off.
    throw new UrlBuildError(
      'URL_UNKNOWN_ASSET',
      endpoint,
      `${say}: ${JSON.stringify(relPath)} is ${whereNotFound(state, entry)}, so its integrity is unknown`,
    );
  }
  return asset.integrity;
}

/** Where a file was looked for and not found, for error messages. */
function whereNotFound(state: PluginState, entry: StaticEntry): string {
  const folder = `the static folder ${entry.assets.folder}`;
  return entry.assets.fromManifest
    ? `in neither the fingerprint manifest ${state.manifestFile} nor ${folder}`
    : `not a file in ${folder} (it may be hidden, or a symlink leaving the folder)`;
}

export function unknownStatic(state: PluginState, endpoint: string, say: string): UrlBuildError {
  if (endpoint === 'static') {
    return new UrlBuildError(
      'URL_NO_STATIC_FOLDER',
      endpoint,
      `${say}: the app has no static folder (app.staticFolder is null)`,
    );
  }
  const blueprint = endpoint.slice(0, -'.static'.length);
  if (blueprint === '') {
    return new UrlBuildError(
      'URL_UNKNOWN_BLUEPRINT',
      endpoint,
      `${say}: relative endpoints need a current blueprint, which templates do not have; name the blueprint ('admin.static')`,
    );
  }
  const known = [...state.statics.values()].map((e) => e.mount.blueprint).filter((b) => b !== undefined);
  return new UrlBuildError(
    'URL_UNKNOWN_BLUEPRINT',
    endpoint,
    `${say}: no blueprint ${JSON.stringify(blueprint)} with a static folder (${known.length ? `blueprints with static folders: ${known.join(', ')}` : 'the app has no blueprint static folders'})`,
  );
}
