// The Eleventy plugin's options, checked once when the plugin is added, and the two app descriptions
// made from them: the one the assets are uploaded from (its URL paths are bucket keys), and the one
// templates render with (local URLs carry Eleventy's pathPrefix, because the dev server and the host
// serve the built site below it). Pure: options in, descriptions out.

import type { AppLike, Blueprint, Router } from '../app.js';
import { joinUrlPath } from '../app.js';
import type { NunjucksS3Settings } from '../config.js';
import type { CreateAllOptions } from '../deploy/upload.js';
import { ConfigError } from '../errors.js';

/** What uploading the built pages means (`uploadPages`). */
export interface UploadPagesOptions {
  /** Cache-Control of every page object. @default 'no-cache' (a visitor revalidates; assets stay immutable) */
  cacheControl?: string;
}

/**
 * `eleventyConfig.addPlugin(nunjucksS3, options)`: the app description nunjucks-s3 uses everywhere
 * (static folders, blueprints, router, settings), less `env` (Eleventy's own Nunjucks environment gets
 * `url_for`), plus what to do after a build.
 */
export interface EleventyPluginOptions {
  /** Base of relative folders. @default process.cwd(), Eleventy's project root */
  root?: string;
  /** The static folder, copied into the output at staticUrlPath and uploaded. @default 'static' */
  staticFolder?: string | null;
  /** Where its files are served (below Eleventy's pathPrefix locally). @default '/static' */
  staticUrlPath?: string;
  blueprints?: Blueprint[];
  router?: Router;
  /** Settings: `FLASKS3_*` names or camelCase (README, Configuration). */
  config?: NunjucksS3Settings;
  /**
   * Upload the assets after each `build` run (never under `--serve`/`--watch`): `true`, or createAll's
   * options. @default false
   */
  upload?: boolean | CreateAllOptions;
  /**
   * Upload the built pages too, after every asset is in the bucket (needs `upload`), under Eleventy's
   * pathPrefix: `true` or `{ cacheControl }`. @default false
   */
  uploadPages?: boolean | UploadPagesOptions;
}

/** Options, checked, with defaults applied once. */
export interface CheckedOptions {
  readonly app: Omit<AppLike, 'env'>;
  /** createAll's options, or undefined when nothing is uploaded after a build. */
  readonly upload: CreateAllOptions | undefined;
  readonly uploadPages: Required<UploadPagesOptions> | undefined;
}

const APP_KEYS = ['root', 'staticFolder', 'staticUrlPath', 'blueprints', 'router', 'config'] as const;
const KNOWN = new Set<string>([...APP_KEYS, 'upload', 'uploadPages']);

function optionError(option: string, message: string): ConfigError {
  return new ConfigError('CONFIG_ELEVENTY', `nunjucks-s3 Eleventy plugin option ${option}: ${message}`, {
    setting: option,
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkUploadPages(value: unknown, upload: unknown): Required<UploadPagesOptions> | undefined {
  if (value === undefined || value === false) return undefined;
  if (value !== true && !isObject(value))
    throw optionError('uploadPages', 'must be true or { cacheControl }');
  if (!upload) {
    throw optionError('uploadPages', 'needs upload: true (pages are uploaded after their assets)');
  }
  const cacheControl = value === true ? undefined : value['cacheControl'];
  if (cacheControl !== undefined && (typeof cacheControl !== 'string' || cacheControl === '')) {
    throw optionError('uploadPages.cacheControl', 'must be a non-empty string');
  }
  const unknown = value === true ? [] : Object.keys(value).filter((k) => k !== 'cacheControl');
  if (unknown.length > 0) throw optionError('uploadPages', `unknown key ${unknown[0]} (known: cacheControl)`);
  return { cacheControl: cacheControl ?? 'no-cache' };
}

/** Checks the plugin's own options; the app's settings are checked by NunjucksS3 and createAll. */
export function checkOptions(options: unknown): CheckedOptions {
  if (options === undefined) options = {};
  if (!isObject(options)) throw optionError('options', 'must be an object like { staticFolder, config }');
  const unknown = Object.keys(options).filter((k) => !KNOWN.has(k));
  if (unknown.length > 0) {
    throw optionError(
      unknown[0] as string,
      `unknown option (known: ${[...KNOWN].join(', ')}; settings go in config)`,
    );
  }
  const { upload } = options;
  if (upload !== undefined && typeof upload !== 'boolean' && !isObject(upload)) {
    throw optionError('upload', "must be true, false or createAll's options ({ onlyModified: true, ... })");
  }
  const app: Record<string, unknown> = {};
  for (const key of APP_KEYS) if (options[key] !== undefined) app[key] = options[key];
  return {
    app: app as Omit<AppLike, 'env'>,
    upload: upload === true ? {} : isObject(upload) ? (upload as CreateAllOptions) : undefined,
    uploadPages: checkUploadPages(options['uploadPages'], upload),
  };
}

/**
 * The description templates render with when URLs are local: every URL path below `pathPrefix`
 * (Eleventy's, `'/'` when none), as the built site is served. Top-level blueprints carry it in their
 * urlPrefix; nested ones inherit it from their parent.
 */
export function withPathPrefix(app: Omit<AppLike, 'env'>, pathPrefix: string): Omit<AppLike, 'env'> {
  if (joinUrlPath(pathPrefix) === '') return app;
  return {
    ...app,
    staticUrlPath: joinUrlPath(pathPrefix, app.staticUrlPath ?? '/static'),
    ...(app.blueprints && {
      blueprints: app.blueprints.map((bp) => ({ ...bp, urlPrefix: joinUrlPath(pathPrefix, bp.urlPrefix) })),
    }),
  };
}
