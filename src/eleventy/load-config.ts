// The CLI's door into an Eleventy site: run the site's own Eleventy config (with the site's own
// @11ty/eleventy, as `npx @11ty/eleventy` would) far enough for its plugins to run, and return the app
// description the nunjucks-s3 plugin was given. The site then needs no nunjucks-s3.config file.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AppLike } from '../app.js';
import { ConfigError } from '../errors.js';
import { recordWhile } from './recorded.js';

/** Eleventy's config file names, in the order Eleventy looks for them. */
export const ELEVENTY_CONFIG_FILES = [
  '.eleventy.js',
  'eleventy.config.js',
  'eleventy.config.mjs',
  'eleventy.config.cjs',
  'eleventy.config.mts',
  'eleventy.config.cts',
] as const;

/** The Eleventy config file in `dir`, or undefined. */
export function findEleventyConfig(dir: string): string | undefined {
  return ELEVENTY_CONFIG_FILES.map((name) => path.join(dir, name)).find((file) => existsSync(file));
}

/** The site's own @11ty/eleventy entry (its `import` export), found from `dir` upward. */
function eleventyEntry(dir: string): string | undefined {
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    const pkgDir = path.join(at, 'node_modules', '@11ty', 'eleventy');
    const pkgFile = path.join(pkgDir, 'package.json');
    if (existsSync(pkgFile)) {
      const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { exports?: { '.'?: { import?: string } } };
      return path.join(pkgDir, pkg.exports?.['.']?.import ?? 'src/Eleventy.js');
    }
    if (path.dirname(at) === at) return undefined;
  }
}

interface EleventyLike {
  initializeConfig(): Promise<unknown>;
}

type EleventyClass = new (
  input: string | undefined,
  output: string | undefined,
  options: Record<string, unknown>,
) => EleventyLike;

/** Runs the config file and its plugins; Eleventy resolves the site's folders against the process's cwd. */
async function runEleventyConfig(dir: string, configFile: string, entry: string): Promise<void> {
  const { Eleventy } = (await import(pathToFileURL(entry).href)) as { Eleventy: EleventyClass };
  const cwd = process.cwd();
  if (path.resolve(dir) !== cwd) process.chdir(dir);
  try {
    const eleventy = new Eleventy(undefined, undefined, { configPath: configFile, quietMode: true });
    // Runs the config file, then its plugins (Eleventy merges the config before it builds anything).
    await eleventy.initializeConfig();
  } finally {
    if (process.cwd() !== cwd) process.chdir(cwd);
  }
}

/** An error's message and those of the errors it wraps (Eleventy keeps them as originalError). */
function messages(error: unknown): string {
  const out: string[] = [];
  for (let e = error; e instanceof Error; e = e.cause ?? (e as { originalError?: unknown }).originalError)
    out.push(e.message);
  return out.join(': ') || String(error);
}

/**
 * The app description an Eleventy site gives the nunjucks-s3 plugin, read from its Eleventy config in
 * `dir` (`eleventy.config.js` and the other names Eleventy accepts), with `root` set: what the CLI
 * uploads. Resolves to undefined when `dir` has no Eleventy config; rejects with a ConfigError when it
 * has one that does not add the plugin (or adds it twice), or when @11ty/eleventy is not installed.
 */
export async function appFromEleventyConfig(dir: string = process.cwd()): Promise<AppLike | undefined> {
  const configFile = findEleventyConfig(dir);
  if (configFile === undefined) return undefined;
  const entry = eleventyEntry(dir);
  if (entry === undefined) {
    throw new ConfigError(
      'CONFIG_ELEVENTY',
      `${configFile} is an Eleventy config, but @11ty/eleventy is not installed in ${dir} (npm install @11ty/eleventy)`,
      { setting: 'eleventy config' },
    );
  }
  const apps = await recordWhile(() => runEleventyConfig(dir, configFile, entry)).catch((err: unknown) => {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError('CONFIG_ELEVENTY', `could not load ${configFile}: ${messages(err)}`, {
      setting: 'eleventy config',
      cause: err,
    });
  });
  if (apps.length !== 1) {
    throw new ConfigError(
      'CONFIG_ELEVENTY',
      apps.length === 0
        ? `${configFile} does not add the nunjucks-s3 plugin (eleventyConfig.addPlugin(nunjucksS3, options), from 'nunjucks-s3/eleventy')`
        : `${configFile} adds the nunjucks-s3 plugin ${apps.length} times; add it once`,
      { setting: 'eleventy config' },
    );
  }
  const app = apps[0] as AppLike;
  return { ...app, root: path.resolve(dir, app.root ?? '.') };
}
