// The host app's description (the README's "The app description" table) and the one place that
// decides where each static folder lives in URLs and in the bucket. url_for and createAll both call staticMounts() and objectKey(), so a key
// and the URL that points at it cannot disagree (the original's blueprint-prefix bug).

import path from 'node:path';
import { ConfigError } from './errors.js';
import type { NunjucksS3Settings } from './settings.js';

/**
 * The part of a Nunjucks `Environment` that nunjucks-s3 calls. Declared here rather than imported from
 * nunjucks' type package, so a project compiles against this package's types without installing
 * `@types/nunjucks`; every real Environment has these methods.
 */
export interface NunjucksEnvironment {
  addGlobal(name: string, value: unknown): unknown;
  addExtension(name: string, extension: object): unknown;
  hasExtension(name: string): boolean;
  removeExtension(name: string): unknown;
}

/** Values passed to `url_for`, keywords included (without Nunjucks' `__keywords` marker). */
export type UrlValues = Record<string, unknown>;

/**
 * The host app's router for non-static endpoints: a function, or a table of endpoint names to path
 * patterns (`{ 'user.profile': '/users/:id' }`); values not used by the pattern become the query string.
 */
export type Router = ((endpoint: string, values: UrlValues) => string) | Record<string, string>;

/** A Flask-style blueprint: another static folder, served under its own URL prefix. */
export interface Blueprint {
  /** Endpoint name: its static files are `url_for('<name>.static', ...)`. No dots. */
  name: string;
  /** Its static folder, relative to `app.root`; null or absent: the blueprint has no static files. */
  staticFolder?: string | null;
  /** Mount point of the blueprint, e.g. `'/admin'`. @default '' */
  urlPrefix?: string;
  /** Where its static files are served below urlPrefix. @default '/' + basename(staticFolder) */
  staticUrlPath?: string;
  /** Nested blueprints: endpoint `<parent>.<child>.static`, URL prefix parent + child. */
  blueprints?: Blueprint[];
}

/** The app nunjucks-s3 serves: its Nunjucks environment, static folders, router and settings. */
export interface AppLike {
  /** The Nunjucks Environment to install `url_for` into. */
  env?: NunjucksEnvironment;
  /** Base of relative folders. @default process.cwd() */
  root?: string;
  /** The app's static folder; null: none. @default 'static' */
  staticFolder?: string | null;
  /** URL path of the app's static folder. @default '/static' */
  staticUrlPath?: string;
  blueprints?: Blueprint[];
  /** Like Flask's app.debug: the plugin is inactive unless FLASKS3_DEBUG. @default false */
  debug?: boolean;
  /** Like Flask's app.testing: the plugin is inactive when FLASKS3_OVERRIDE_TESTING is false. @default false */
  testing?: boolean;
  router?: Router;
  /**
   * Settings: `FLASKS3_*` names or camelCase (see NunjucksS3Config). An object literal may hold only
   * settings (a misspelt name is a type error); a config object shared with the host app may carry the
   * host's own keys too, which are ignored.
   */
  config?: NunjucksS3Settings;
}

/** One static folder and where it is served: the app's (`static`) or a blueprint's (`admin.static`). */
export interface StaticMount {
  /** `'static'` or `'<blueprint>.static'`. */
  readonly endpoint: string;
  /** The blueprint's dotted name; undefined for the app. */
  readonly blueprint: string | undefined;
  /** Absolute path of the folder (it may not exist; the uploader warns). */
  readonly folder: string;
  /** URL path the folder is served at, `'/static'` or `'/admin/static'`; `''` at the site root. */
  readonly urlPath: string;
}

/** `'admin/'`, `'/admin'`, `'admin'` all give `'/admin'`; `''` and `'/'` give `''`. */
export function joinUrlPath(...parts: (string | undefined)[]): string {
  const segs = parts.flatMap((p) => (p ?? '').split('/')).filter((s) => s !== '');
  return segs.length ? '/' + segs.join('/') : '';
}

function checkPathSetting(value: unknown, what: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    throw new ConfigError(
      'CONFIG_TYPE',
      `${what} must be a string, got ${value === null ? 'null' : typeof value}`,
      { setting: what },
    );
  }
  if (value.split('/').some((s) => s === '..' || s === '.') || value.includes('\0')) {
    throw new ConfigError(
      'CONFIG_PATH',
      `${what} must not contain '.', '..' segments or NUL: ${JSON.stringify(value)}`,
      {
        setting: what,
      },
    );
  }
  return value;
}

/**
 * Every static folder of the app and its blueprints, with the URL path each is served at. This is the
 * only function that computes a static URL path; the URL builder and the uploader both use it.
 */
export function staticMounts(app: AppLike): StaticMount[] {
  const root = path.resolve(app.root ?? process.cwd());
  const mounts: StaticMount[] = [];
  const folderOf = (folder: unknown, what: string): string => {
    if (typeof folder !== 'string' || folder === '') {
      throw new ConfigError('CONFIG_TYPE', `${what} must be a folder path (string) or null`, {
        setting: what,
      });
    }
    return path.resolve(root, folder);
  };

  const appFolder = app.staticFolder === undefined ? 'static' : app.staticFolder;
  if (appFolder !== null) {
    const urlPath = checkPathSetting(app.staticUrlPath, 'app.staticUrlPath');
    mounts.push({
      endpoint: 'static',
      blueprint: undefined,
      folder: folderOf(appFolder, 'app.staticFolder'),
      urlPath: joinUrlPath(urlPath ?? '/static'),
    });
  }

  const seen = new Set<string>();
  const walk = (list: unknown, parentName: string, parentPrefix: string) => {
    if (list === undefined) return;
    if (!Array.isArray(list))
      throw new ConfigError('CONFIG_TYPE', 'app.blueprints must be an array', { setting: 'app.blueprints' });
    for (const bp of list as Blueprint[]) {
      const label = `blueprint ${JSON.stringify(bp?.name)}`;
      if (typeof bp?.name !== 'string' || !/^[A-Za-z0-9_-]+$/.test(bp.name)) {
        throw new ConfigError(
          'CONFIG_BLUEPRINT',
          `${label}: name must be a non-empty string of letters, digits, '_' or '-' (no dots)`,
          { setting: 'app.blueprints' },
        );
      }
      const name = parentName ? `${parentName}.${bp.name}` : bp.name;
      if (seen.has(name)) {
        throw new ConfigError('CONFIG_BLUEPRINT', `blueprint ${JSON.stringify(name)} is registered twice`, {
          setting: 'app.blueprints',
        });
      }
      seen.add(name);
      const prefix = joinUrlPath(parentPrefix, checkPathSetting(bp.urlPrefix, `${label}.urlPrefix`));
      if (bp.staticFolder !== undefined && bp.staticFolder !== null) {
        const folder = folderOf(bp.staticFolder, `${label}.staticFolder`);
        const own =
          checkPathSetting(bp.staticUrlPath, `${label}.staticUrlPath`) ?? '/' + path.basename(folder);
        mounts.push({
          endpoint: `${name}.static`,
          blueprint: name,
          folder,
          urlPath: joinUrlPath(prefix, own),
        });
      }
      walk(bp.blueprints, name, prefix);
    }
  };
  walk(app.blueprints, '', '');
  return mounts;
}

/**
 * The bucket key of a file: prefix + the mount's URL path + the path relative to its static folder,
 * joined with `/` on every OS. `relPath` must already be checked (no `..`, no NUL).
 */
export function objectKey(prefix: string, mount: StaticMount, relPath: string): string {
  return [prefix, mount.urlPath.slice(1), relPath.replace(/^\/+/, '')].filter((s) => s !== '').join('/');
}
