// The Nunjucks adapter: NunjucksS3 reads the app once (initApp; what it derives is state.ts), installs
// `url_for` and `static_integrity` into app.env (and, unless inlineUrls is false, the compile-time inliner), and
// dispatches each call: static endpoints to static-urls.ts (S3/CDN URLs, or local ones when inactive),
// every other endpoint to the host router (router.ts). Arguments are merged and split by arguments.ts.
// A call does argument splitting, filename checks, encoding and string concatenation; nothing that
// depends only on config.

import type { AppLike } from '../app.js';
import type { ResolvedConfig } from '../config.js';
import { ConfigError, UrlBuildError } from '../errors.js';
import { mergeValues, type StaticIntegrity, type UrlFor, withoutMarker } from './arguments.js';
import { INLINE_FALLBACK_EXTENSION, type InlineOptions, inlineExtension, inlineFallback } from './inline.js';
import { createPluginState, type PluginState } from './state.js';
import { staticIntegrityOf, staticUrl, unknownStatic } from './static-urls.js';
import { callName } from './url.js';

export type { StaticIntegrity, UrlFor, UrlForValues } from './arguments.js';

/** The name of the preprocessing extension `inlineUrls` adds to the Environment. */
const INLINE_EXTENSION = 'nunjucks-s3-inline';

/**
 * The property inlined branches check on `url_for` / `static_integrity` at render time (inline.ts): it
 * holds the token of the settings the inlined text was computed with.
 */
const INLINE_TOKEN_PROPERTY = 'nunjucksS3InlineToken';

/** Numbers each initApp of every instance, so no two states share an inlining token. */
let inlineGenerations = 0;

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

  #state: PluginState | undefined;

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
    const state = createPluginState(app);
    this.#state = state;
    if (env) {
      env.addGlobal('url_for', this.urlFor);
      env.addGlobal('static_integrity', this.staticIntegrity);
      this.#installInlining(env, state.config.inlineUrls);
    }
    return this;
  }

  /**
   * With `inlineUrls`, add the extension that compiles literal calls into templates (inline.ts);
   * without, remove it. The fallback extension the compiled checks call when they fail is added once
   * and stays. Either way, templates compiled under the previous state are dropped from the
   * loaders' caches (`invalidateCache`), so the next render compiles with what initApp just read; and
   * the functions get a new token, so a template compiled earlier and kept elsewhere calls them rather
   * than print text computed under the previous settings.
   */
  #installInlining(env: NonNullable<AppLike['env']>, on: boolean): void {
    const token = `s3.${++inlineGenerations}`;
    for (const fn of [this.urlFor, this.staticIntegrity])
      Object.defineProperty(fn, INLINE_TOKEN_PROPERTY, { value: token, configurable: true });
    if (!env.hasExtension(INLINE_FALLBACK_EXTENSION))
      env.addExtension(INLINE_FALLBACK_EXTENSION, inlineFallback as never);
    const had = env.hasExtension(INLINE_EXTENSION);
    if (had) env.removeExtension(INLINE_EXTENSION);
    if (on) {
      const options = (env as unknown as { opts?: InlineOptions }).opts ?? {};
      const inliner = {
        fold: (name: 'url_for' | 'static_integrity', args: unknown[]) => this.#fold(name, args),
        guard: { property: INLINE_TOKEN_PROPERTY, token },
      };
      env.addExtension(INLINE_EXTENSION, inlineExtension(options, inliner) as never);
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
    if (entry !== undefined) return staticUrl(state, entry, endpoint, values);
    if (endpoint === 'static' || endpoint.endsWith('.static'))
      throw unknownStatic(state, endpoint, callName(endpoint));
    return state.route(endpoint, withoutMarker(values));
  }

  #staticIntegrity(args: unknown[]): string {
    return staticIntegrityOf(this.#state, args);
  }
}
