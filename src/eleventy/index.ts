// `nunjucks-s3/eleventy`: the Eleventy plugin. `eleventyConfig.addPlugin(nunjucksS3, options)` installs
// url_for and static_integrity into Eleventy's Nunjucks environment (and as shortcodes for Liquid,
// JavaScript templates and Nunjucks tags), copies each static folder into the output from the same
// options, and, with `upload`, deploys after a build. The options are recorded as the plugin runs, so
// appFromEleventyConfig (load-config.ts) can give the CLI the same app without a second file.

import type { AppLike, NunjucksEnvironment } from '../app.js';
import { staticMounts } from '../app.js';
import { NunjucksS3 } from '../template/plugin.js';
import { deployBuild, deploySummary, outputFolder } from './deploy.js';
import { ignoringManifest, staleManifest } from './manifest-freshness.js';
import { type CheckedOptions, checkOptions, type EleventyPluginOptions, withPathPrefix } from './options.js';
import { recordOptions } from './recorded.js';
import { passthroughCopies, shortcodeIntegrity, shortcodeUrlFor } from './shortcodes.js';

export type { DeployBuildResult } from './deploy.js';
export { appFromEleventyConfig } from './load-config.js';
export type { EleventyPluginOptions, UploadPagesOptions } from './options.js';

/** The part of Eleventy's `eleventyConfig` the plugin uses. */
export interface EleventyConfigLike {
  pathPrefix?: string;
  amendLibrary(engine: string, callback: (library: NunjucksEnvironment) => void): unknown;
  addShortcode(name: string, callback: (...args: unknown[]) => unknown): unknown;
  addPassthroughCopy(mapping: Record<string, string>): unknown;
  on(event: string, callback: (event: EleventyAfterEvent) => unknown): unknown;
}

/** The `eleventy.after` event's argument, as far as the plugin reads it. */
export interface EleventyAfterEvent {
  directories?: { output?: string };
  runMode?: string;
  outputMode?: string;
}

/** `--serve` and `--watch` render local URLs (the app is in `debug`) and never upload. */
function runMode(): string {
  return process.env['ELEVENTY_RUN_MODE'] ?? 'build';
}

/**
 * The description templates render with: local URLs below pathPrefix while serving (or when the
 * settings make the plugin inactive), and local hashes when the manifest is older than a static file.
 */
function renderApp(checked: CheckedOptions, pathPrefix: string, serving: boolean): Omit<AppLike, 'env'> {
  const assets: Omit<AppLike, 'env'> = { ...checked.app, debug: serving };
  const stale = staleManifest(assets);
  const rendering = stale === undefined ? assets : ignoringManifest(assets, stale);
  // Decided here, once, as NunjucksS3 decides it: active URLs name bucket keys, local ones the site.
  return new NunjucksS3(rendering).active ? rendering : withPathPrefix(rendering, pathPrefix);
}

/**
 * The Eleventy plugin: `eleventyConfig.addPlugin(nunjucksS3, { staticFolder: 'static', config: {...} })`.
 * Bad options and settings throw a ConfigError here, before anything is built or uploaded.
 */
export function nunjucksS3(eleventyConfig: EleventyConfigLike, options?: EleventyPluginOptions): void {
  const checked = checkOptions(options);
  const app: Omit<AppLike, 'env'> = { ...checked.app, root: checked.app.root ?? process.cwd() };
  const withRoot = { ...checked, app };
  recordOptions(app);
  const pathPrefix = eleventyConfig.pathPrefix ?? '/';
  const serving = runMode() !== 'build';
  const rendering = renderApp(withRoot, pathPrefix, serving);

  const forShortcodes = new NunjucksS3(rendering);
  eleventyConfig.amendLibrary('njk', (env) => {
    new NunjucksS3({ ...rendering, env });
  });
  eleventyConfig.addShortcode('url_for', shortcodeUrlFor(forShortcodes));
  eleventyConfig.addShortcode('static_integrity', shortcodeIntegrity(forShortcodes));
  eleventyConfig.addPassthroughCopy(passthroughCopies(staticMounts(app)));

  const upload = checked.upload;
  if (upload === undefined) return;
  eleventyConfig.on('eleventy.after', async (event) => {
    if ((event.runMode ?? runMode()) !== 'build' || (event.outputMode ?? 'fs') !== 'fs') return;
    const result = await deployBuild({
      app,
      upload,
      uploadPages: checked.uploadPages,
      outputDir: outputFolder(event.directories),
      pathPrefix,
    });
    console.log(deploySummary(result));
  });
}

export default nunjucksS3;
