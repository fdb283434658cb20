// The CLI's config file: finding it (the current folder, then each parent, or --config) and loading
// the app description from it (JSON, or a JS module's default export), checked before it is used.

import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AppLike } from '../app.js';
import { findEleventyConfig } from '../eleventy/load-config.js';
import { ConfigError } from '../errors.js';

/** Config file names, in the order they are looked for in each directory. */
export const CONFIG_FILE_NAMES = [
  'nunjucks-s3.config.js',
  'nunjucks-s3.config.mjs',
  'nunjucks-s3.config.json',
] as const;

/** Find the config file: the first of CONFIG_FILE_NAMES in `startDir` or any parent. */
export function findConfigFile(startDir: string): string | undefined {
  let dir = path.resolve(startDir);
  for (;;) {
    for (const name of CONFIG_FILE_NAMES) {
      const file = path.join(dir, name);
      if (existsSync(file) && statSync(file).isFile()) return file;
    }
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** The config file to use: `--config` (must exist), else the one found from `cwd` upward. */
export function locateConfigFile(cwd: string, explicit: string | undefined): string {
  if (explicit !== undefined) {
    const file = path.resolve(cwd, explicit);
    if (!existsSync(file)) {
      throw new ConfigError('CONFIG_FILE', `--config ${explicit}: no such file (${file})`, {
        setting: '--config',
      });
    }
    if (!statSync(file).isFile()) {
      throw new ConfigError('CONFIG_FILE', `--config ${explicit}: not a file (${file})`, {
        setting: '--config',
      });
    }
    return file;
  }
  const found = findConfigFile(cwd);
  if (!found) throw new ConfigError('CONFIG_FILE', noConfigFileFound(cwd), { setting: '--config' });
  return found;
}

/** What the CLI says when it needs a config file and none is found: where it looked, and what to create. */
export function noConfigFileFound(cwd: string): string {
  return (
    `no ${CONFIG_FILE_NAMES.join(', ')} found from ${path.resolve(cwd)} upward; create one ` +
    `(export default { staticFolder: 'static', config: { FLASKS3_BUCKET_NAME: 'my-bucket' } }) or pass --config <path>`
  );
}

/** The `file` of a run without a config file (flags and environment only, the app's defaults). */
export const NO_CONFIG_FILE = '(no config file: the defaults, static/ in the current folder)';

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'function') return 'a function';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A JSON config file's app object (not yet checked). */
async function readJsonConfig(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError('CONFIG_FILE', `cannot read ${file}: ${(err as Error).message}`, {
      setting: file,
      cause: err,
    });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ConfigError('CONFIG_FILE', `${file} is not valid JSON: ${(err as Error).message}`, {
      setting: file,
      cause: err,
    });
  }
}

/** A JS config file's default export, called when it is a function (not yet checked). */
async function importJsConfig(file: string): Promise<unknown> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    const msg = (err as Error)?.message ?? String(err);
    const esmHint =
      err instanceof SyntaxError && /export|import/.test(msg) && file.endsWith('.js')
        ? `; a .js file that uses export/import needs "type": "module" in the nearest package.json, or rename it to .mjs`
        : '';
    throw new ConfigError('CONFIG_FILE', `cannot load ${file}: ${msg}${esmHint}`, {
      setting: file,
      cause: err,
    });
  }
  if (!('default' in mod)) {
    throw new ConfigError(
      'CONFIG_FILE',
      `${file} has no default export; write export default { staticFolder: 'static', config: { ... } } (or module.exports = ... in CommonJS)`,
      { setting: file },
    );
  }
  if (typeof mod.default !== 'function') return mod.default;
  try {
    return await (mod.default as () => unknown)();
  } catch (err) {
    throw new ConfigError(
      'CONFIG_FILE',
      `the function exported by ${file} threw: ${(err as Error)?.message ?? err}`,
      {
        setting: file,
        cause: err,
      },
    );
  }
}

/** The exported value, checked to be an app description: an object, with a string root and an object config. */
function checkApp(exported: unknown, file: string): AppLike {
  if (!isPlainObject(exported)) {
    throw new ConfigError(
      'CONFIG_FILE',
      `${file} must export the app description (an object with root, staticFolder, blueprints, config), got ${describe(exported)}`,
      { setting: file },
    );
  }
  const app = exported as AppLike;
  if (app.root !== undefined && typeof app.root !== 'string') {
    throw new ConfigError(
      'CONFIG_TYPE',
      `${file}: root must be a folder path (string), got ${describe(app.root)}`,
      {
        setting: 'app.root',
      },
    );
  }
  if (app.config !== undefined && !isPlainObject(app.config)) {
    throw new ConfigError(
      'CONFIG_TYPE',
      `${file}: config must be an object of settings, got ${describe(app.config)}`,
      {
        setting: 'app.config',
      },
    );
  }
  return app;
}

/**
 * Load the app description from a config file. A JS file default-exports the app object or a (possibly
 * async) function returning it; a JSON file is the app object. `root` defaults to the file's directory,
 * and a relative `root` is relative to it, so the CLI works the same from any subdirectory.
 */
export async function loadConfigFile(file: string): Promise<AppLike> {
  const exported = file.endsWith('.json') ? await readJsonConfig(file) : await importJsConfig(file);
  const app = checkApp(exported, file);
  return { ...app, root: path.resolve(path.dirname(file), app.root ?? '.') };
}

/**
 * The app the CLI works on, and the file it came from: the `--config` file, else a nunjucks-s3.config file
 * found from `cwd` upward, else an Eleventy site's config in `cwd` whose nunjucks-s3 plugin holds the
 * settings (so an Eleventy site needs no second file). Without any of them, the defaults
 * ({@link NO_CONFIG_FILE}).
 */
export async function loadApp(
  cwd: string,
  explicit: string | undefined,
): Promise<{ app: AppLike; file: string }> {
  const eleventyFile = explicit || findConfigFile(cwd) ? undefined : findEleventyConfig(cwd);
  if (eleventyFile) {
    const { appFromEleventyConfig } = await import('../eleventy/load-config.js');
    const exported = await appFromEleventyConfig(cwd);
    if (exported) {
      const app = checkApp(exported, eleventyFile);
      return { app: { ...app, root: path.resolve(cwd, app.root ?? '.') }, file: eleventyFile };
    }
  }
  // Without a config file, flags and environment variables may give every setting: the app is then
  // the defaults (static/ in the current folder). A missing bucket still says what to create.
  if (explicit === undefined && findConfigFile(cwd) === undefined) {
    return { app: { root: path.resolve(cwd) }, file: NO_CONFIG_FILE };
  }
  const file = locateConfigFile(cwd, explicit);
  return { app: await loadConfigFile(file), file };
}
