// The Nunjucks adapter: NunjucksS3 reads the app once (initApp), precomputes one URL base per static
// mount, installs `url_for` into app.env, and dispatches each call: static endpoints to S3/CDN (or
// local, when inactive) URLs, every other endpoint to the host router. A call does argument splitting,
// filename checks, encoding and string concatenation; nothing that depends only on config. With
// fingerprinting on, a static call also looks the file up (a Map lookup once the file is known: from the
// manifest read at init, or hashed on first use). `static_integrity` gives a file's SRI value.

import type { AppLike, StaticMount, UrlValues } from '../app.js';
import { staticMounts } from '../app.js';
import { type ResolvedConfig, requireBucketName, resolveConfig, setting, settingLabel } from '../config.js';
import { shortHash } from '../content/fingerprint.js';
import { type Manifest, manifestFile, readManifestSync } from '../content/manifest.js';
import { ConfigError, UrlBuildError } from '../errors.js';
import { type AssetInfo, MountAssets } from './assets.js';
import { type InlineOptions, inlineStaticCalls } from './inline.js';
import { compileRouter, type RouteBuilder } from './router.js';
import {
  appendQuery,
  assetOrigin,
  callName,
  checkScheme,
  encodeFragment,
  encodeUrlPath,
  localUrlBase,
  normaliseFilename,
  printValue,
  staticUrlBase,
} from './url.js';

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

/** What a url_for call needs of one static mount, computed once at init. */
interface StaticEntry {
  readonly mount: StaticMount;
  /** Active: `https://bucket.s3.amazonaws.com/prefix/static/`; inactive: `/static/`. */
  readonly base: string;
  /** Active: `//bucket.s3.amazonaws.com/prefix/static/`, for `_scheme`; inactive: unused. */
  readonly schemeRelative: string;
  /** The folder's files: fingerprints and integrity, from the manifest or hashed on first use. */
  readonly assets: MountAssets;
}

/** Everything initApp derives from the app; replaced as a whole, so a failed initApp changes nothing. */
interface State {
  readonly app: AppLike;
  readonly config: ResolvedConfig;
  readonly active: boolean;
  readonly statics: ReadonlyMap<string, StaticEntry>;
  readonly route: RouteBuilder;
  /** How static URLs carry content hashes: the setting when active, always false when inactive. */
  readonly fingerprint: 'filename' | 'query' | false;
  /** The manifest file, and what it held (undefined: none, or not read because fingerprinting is off). */
  readonly manifestFile: string;
  readonly manifest: Manifest | undefined;
}

const NUNJUCKS_KEYWORDS = '__keywords';

/** The name of the preprocessing extension `inlineUrls` adds to the Environment. */
const INLINE_EXTENSION = 'nunjucks-s3-inline';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Serves a Nunjucks app's static assets from S3 (or a CDN): the `url_for` template global.
 *
 * ```ts
 * const s3 = new NunjucksS3(app);       // or: const s3 = new NunjucksS3(); s3.initApp(app);
 * s3.urlFor('static', { filename: 'css/a.css' }); // what {{ url_for('static', filename='css/a.css') }} renders
 * ```
 *
 * The configuration, the app's debug/testing flags and its static folders are read once, by initApp:
 * change them afterwards and call initApp(app) again to apply the change.
 */
export class NunjucksS3 {
  /**
   * The `url_for` function, bound to this instance: `env.addGlobal('url_for', s3.urlFor)` works, and a
   * JS call gives exactly what a template renders.
   */
  readonly urlFor: UrlFor;

  /**
   * The `static_integrity` function, bound to this instance (see {@link StaticIntegrity}): the same
   * function templates call.
   */
  readonly staticIntegrity: StaticIntegrity;

  #state: State | undefined;

  constructor(app?: AppLike) {
    const urlFor: UrlFor = (endpoint, ...values) => this.#urlFor(endpoint, values);
    this.urlFor = urlFor;
    const staticIntegrity: StaticIntegrity = (...args) => this.#staticIntegrity(args);
    this.staticIntegrity = staticIntegrity;
    if (app !== undefined) this.initApp(app);
  }

  /** Whether static URLs point at S3/CDN (true) or at the app itself (false), as decided by initApp. */
  get active(): boolean {
    return this.#state?.active ?? false;
  }

  /** The resolved configuration (credentials are not enumerable), or undefined before initApp. */
  get config(): ResolvedConfig | undefined {
    return this.#state?.config;
  }

  /**
   * Read the app: check its configuration, compute every static mount's URL base and the router, and
   * install `url_for` into `app.env` when there is one. Throws a ConfigError, and changes nothing, when
   * a setting is wrong, or when the plugin is active and has no bucket name.
   *
   * Active means: `active` (FLASKS3_ACTIVE) is true, the app is not in debug mode unless `debug`
   * (FLASKS3_DEBUG) is true, and the app is not testing with `overrideTesting` (FLASKS3_OVERRIDE_TESTING)
   * false. Decided here, once; inactive, static endpoints give the app's own `/static/...` URLs.
   *
   * Fingerprinting (`fingerprint`, FLASKS3_FINGERPRINT) applies only while active (the host serves
   * its files under their real names). When on, the manifest (`manifestPath`, FLASKS3_MANIFEST,
   * relative to `app.root`) is read here, synchronously, once; a missing manifest is fine (files are
   * hashed on first use), a damaged one or one written for the other fingerprint mode is a ConfigError.
   * `static_integrity` is installed too, fingerprinting or not.
   *
   * Call it again with the same app to re-read changed settings. An instance serves one app.
   */
  initApp(app: AppLike): this {
    if (typeof app !== 'object' || app === null || Array.isArray(app)) {
      const got = app === null ? 'null' : Array.isArray(app) ? 'an array' : typeof app;
      throw new ConfigError('CONFIG_TYPE', `initApp(app) needs the app object, got ${got}`, {
        setting: 'app',
      });
    }
    if (this.#state !== undefined && this.#state.app !== app) {
      throw new ConfigError(
        'CONFIG_APP',
        'this NunjucksS3 is already initialised for another app; create one NunjucksS3 per app',
        { setting: 'app' },
      );
    }
    const env = app.env;
    if (env != null && typeof (env as { addGlobal?: unknown }).addGlobal !== 'function') {
      const message = 'app.env must be a Nunjucks Environment (it has no addGlobal method)';
      throw new ConfigError('CONFIG_TYPE', message, { setting: 'app.env' });
    }
    const config = resolveConfig(app.config ?? {});
    const active =
      config.active && (!app.debug || config.debug) && !(Boolean(app.testing) && !config.overrideTesting);
    const mounts = staticMounts(app);
    const route = compileRouter(app.router);
    const fingerprint = active ? config.fingerprint : false;
    const mFile = manifestFile(app.root, config.manifestPath);
    const manifest = fingerprint === false ? undefined : readManifestSync(mFile);
    if (manifest !== undefined && manifest.fingerprint !== fingerprint) {
      const label = settingLabel(setting('fingerprint'));
      throw new ConfigError(
        'CONFIG_MANIFEST',
        `the fingerprint manifest ${mFile} was written for fingerprint '${manifest.fingerprint}', but ${label} ` +
          `is '${fingerprint}': its URLs would name objects that were not uploaded. Run createAll again ` +
          '(it rewrites the manifest), or delete the manifest',
        { setting: label },
      );
    }
    const assetsOf = (mount: (typeof mounts)[number]) =>
      new MountAssets({
        mount,
        mode: fingerprint,
        entries: manifest ? (manifest.assets[mount.endpoint] ?? {}) : undefined,
        includeHidden: config.includeHidden,
        revalidate: !active,
      });

    const statics = new Map<string, StaticEntry>();
    if (active) {
      const why =
        'while nunjucks-s3 is active (it is part of every asset URL; active: false gives local URLs)';
      const bucket = requireBucketName(config, why);
      const origin = assetOrigin(config, bucket);
      for (const mount of mounts) {
        const base = staticUrlBase(origin, config.prefix, mount);
        statics.set(mount.endpoint, {
          mount,
          base: base.absolute,
          schemeRelative: base.schemeRelative,
          assets: assetsOf(mount),
        });
      }
    } else {
      for (const mount of mounts)
        statics.set(mount.endpoint, {
          mount,
          base: localUrlBase(mount),
          schemeRelative: '',
          assets: assetsOf(mount),
        });
    }

    this.#state = { app, config, active, statics, route, fingerprint, manifestFile: mFile, manifest };
    if (env) {
      env.addGlobal('url_for', this.urlFor);
      env.addGlobal('static_integrity', this.staticIntegrity);
      this.#installInlining(env, config.inlineUrls);
    }
    return this;
  }

  /**
   * With `inlineUrls`, add the preprocessor that compiles literal calls into templates (src/inline.ts);
   * without, remove it. Either way, templates compiled under the previous state are dropped from the
   * loaders' caches (`invalidateCache`), so the next render compiles with what initApp just read.
   */
  #installInlining(env: NonNullable<AppLike['env']>, on: boolean): void {
    const had = env.hasExtension(INLINE_EXTENSION);
    if (had) env.removeExtension(INLINE_EXTENSION);
    if (on) {
      const options = (env as unknown as { opts?: InlineOptions }).opts ?? {};
      const preprocess = (source: string) =>
        inlineStaticCalls(source, options, (name, args) => this.#fold(name, args));
      env.addExtension(INLINE_EXTENSION, { tags: [], parse: () => undefined, preprocess } as never);
    }
    if (had || on) (env as unknown as { invalidateCache?: () => void }).invalidateCache?.();
  }

  /**
   * A literal call's output at compile time; undefined (left to render time) for non-static endpoints,
   * and for static_integrity while inactive: then files are re-hashed when they change (an edited
   * stylesheet must not be blocked by the integrity value of its previous version), and a compiled
   * template would keep the old value.
   */
  #fold(name: 'url_for' | 'static_integrity', args: unknown[]): string | undefined {
    if (name === 'static_integrity') return this.#state?.active ? this.#staticIntegrity(args) : undefined;
    const [endpoint, ...values] = args;
    // Only static URLs: other endpoints go to the host's router, which may depend on more than its input.
    if (typeof endpoint !== 'string' || !this.#state?.statics.has(endpoint)) return undefined;
    return this.#urlFor(endpoint, values);
  }

  #urlFor(endpoint: unknown, args: unknown[]): string {
    const state = this.#state;
    if (typeof endpoint !== 'string' || endpoint === '') {
      throw new UrlBuildError(
        'URL_BAD_ENDPOINT',
        String(endpoint),
        `url_for needs an endpoint name as its first argument (like 'static'), got ${typeof endpoint === 'string' ? "''" : typeof endpoint}`,
      );
    }
    if (state === undefined) {
      throw new UrlBuildError(
        'URL_NOT_INITIALISED',
        endpoint,
        `${callName(endpoint)}: NunjucksS3 has no app yet; pass it to the constructor or call initApp(app)`,
      );
    }
    const values = mergeValues(endpoint, args);
    const entry = state.statics.get(endpoint);
    if (entry !== undefined) return this.#staticUrl(state, entry, endpoint, values);
    if (endpoint === 'static' || endpoint.endsWith('.static'))
      throw unknownStatic(state, endpoint, callName(endpoint));
    return state.route(endpoint, withoutMarker(values));
  }

  #staticUrl(state: State, entry: StaticEntry, endpoint: string, values: UrlValues): string {
    let filename: unknown;
    let scheme: unknown;
    let anchor: unknown;
    let query = '';
    for (const key in values) {
      if (!Object.hasOwn(values, key)) continue;
      switch (key) {
        case 'filename':
          filename = values[key];
          break;
        case '_scheme':
          scheme = values[key];
          break;
        case '_anchor':
          anchor = values[key];
          break;
        case '_external': // S3 URLs are always absolute, local ones root-relative.
        case '_method':
        case NUNJUCKS_KEYWORDS:
          break;
        default:
          query = appendQuery(query, key, values[key], endpoint);
      }
    }
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
      const asset = this.#asset(state, entry, relPath, endpoint);
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
  #asset(state: State, entry: StaticEntry, relPath: string, endpoint: string): AssetInfo | undefined {
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

  #staticIntegrity(args: unknown[]): string {
    const state = this.#state;
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
}

/** Where a file was looked for and not found, for error messages. */
function whereNotFound(state: State, entry: StaticEntry): string {
  const folder = `the static folder ${entry.assets.folder}`;
  return entry.assets.fromManifest
    ? `in neither the fingerprint manifest ${state.manifestFile} nor ${folder}`
    : `not a file in ${folder} (it may be hidden, or a symlink leaving the folder)`;
}

/**
 * static_integrity's arguments: strings are positional (`filename`, or `endpoint, filename`), objects are
 * keywords as for url_for (only `filename` matters). One string alone is the endpoint when keywords
 * come with it (`('admin.static', filename=f)`) or when it names a static endpoint; otherwise the filename.
 */
function integrityArguments(
  args: unknown[],
  statics: ReadonlyMap<string, StaticEntry> | undefined,
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
    return keywords || statics?.has(only)
      ? { endpoint: only, filename: kw }
      : { endpoint: 'static', filename: only };
  }
  return { endpoint: 'static', filename: kw };
}

/**
 * One values object from url_for's arguments after the endpoint: keyword objects and plain objects,
 * merged in order; `undefined`/`null` (an unset template variable) count as no values.
 */
function mergeValues(endpoint: string, args: unknown[]): UrlValues {
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
function withoutMarker(values: UrlValues): UrlValues {
  if (!Object.hasOwn(values, NUNJUCKS_KEYWORDS)) return values;
  const { [NUNJUCKS_KEYWORDS]: _marker, ...rest } = values;
  return rest;
}

function unknownStatic(state: State, endpoint: string, say: string): UrlBuildError {
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
