// What the plugin derives from the app, once, at initApp: the checked configuration, whether it is
// active, one URL base per static mount, the compiled router and the fingerprint manifest. A url_for
// call then does no work that depends only on the configuration.

import { statSync } from 'node:fs';
import type { AppLike, StaticMount } from '../app.js';
import { staticMounts } from '../app.js';
import { type ResolvedConfig, requireBucketName, resolveConfig, setting, settingLabel } from '../config.js';
import { type Manifest, manifestFile, readManifestSync } from '../content/manifest.js';
import { ConfigError } from '../errors.js';
import { MountAssets } from './assets.js';
import { compileRouter, type RouteBuilder } from './router.js';
import { assetOrigin, localUrlBase, staticUrlBase } from './url.js';

/** What a url_for call needs of one static mount, computed once at init. */
export interface StaticEntry {
  readonly mount: StaticMount;
  /** Active: `https://bucket.s3.amazonaws.com/prefix/static/`; inactive: `/static/`. */
  readonly base: string;
  /** Active: `//bucket.s3.amazonaws.com/prefix/static/`, for `_scheme`; inactive: unused. */
  readonly schemeRelative: string;
  /** The folder's files: fingerprints and integrity, from the manifest or hashed on first use. */
  readonly assets: MountAssets;
}

/** Everything initApp derives from the app; replaced as a whole, so a failed initApp changes nothing. */
export interface PluginState {
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

/** Whether static URLs point at the bucket: active, not in debug (unless `debug`), not testing (unless overridden). */
function isActive(app: AppLike, config: ResolvedConfig): boolean {
  return config.active && (!app.debug || config.debug) && !(Boolean(app.testing) && !config.overrideTesting);
}

/** The manifest, when fingerprinting is on; one written for the other fingerprint mode is an error. */
function readManifest(file: string, fingerprint: PluginState['fingerprint']): Manifest | undefined {
  const manifest = fingerprint === false ? undefined : readManifestSync(file);
  if (manifest !== undefined && manifest.fingerprint !== fingerprint) {
    const label = settingLabel(setting('fingerprint'));
    throw new ConfigError(
      'CONFIG_MANIFEST',
      `the fingerprint manifest ${file} was written for fingerprint '${manifest.fingerprint}', but ${label} ` +
        `is '${fingerprint}': its URLs would name objects that were not uploaded. Run createAll again ` +
        '(it rewrites the manifest), or delete the manifest',
      { setting: label },
    );
  }
  return manifest;
}

/** One entry per static mount: its URL bases (bucket or CDN when active, the app's own when not) and files. */
function staticEntries(
  mounts: readonly StaticMount[],
  config: ResolvedConfig,
  active: boolean,
  assetsOf: (mount: StaticMount) => MountAssets,
): Map<string, StaticEntry> {
  const statics = new Map<string, StaticEntry>();
  if (!active) {
    for (const mount of mounts)
      statics.set(mount.endpoint, {
        mount,
        base: localUrlBase(mount),
        schemeRelative: '',
        assets: assetsOf(mount),
      });
    return statics;
  }
  const why = 'while nunjucks-s3 is active (it is part of every asset URL; active: false gives local URLs)';
  const origin = assetOrigin(config, requireBucketName(config, why));
  for (const mount of mounts) {
    const base = staticUrlBase(origin, config.prefix, mount);
    statics.set(mount.endpoint, {
      mount,
      base: base.absolute,
      schemeRelative: base.schemeRelative,
      assets: assetsOf(mount),
    });
  }
  return statics;
}

/**
 * A static folder that is not there is a typo in the app description (or a run from the wrong folder):
 * said at init, naming the folder, rather than at the first url_for of a file in it or by an upload
 * that finds nothing. `staticFolder: null` is how an app (or a blueprint, by leaving it out) has none.
 */
function checkStaticFolder(mount: StaticMount): void {
  const isFolder = statSync(mount.folder, { throwIfNoEntry: false })?.isDirectory() ?? false;
  if (isFolder) return;
  const what = mount.blueprint
    ? `blueprint ${JSON.stringify(mount.blueprint)}.staticFolder`
    : 'app.staticFolder';
  throw new ConfigError(
    'CONFIG_STATIC_FOLDER',
    `${what}: the static folder ${mount.folder} does not exist or is not a folder; create it, fix the path ` +
      `(relative folders start at app.root, else the current folder), or set it to null for none`,
    { setting: what },
  );
}

/** Read the app: check its configuration and derive everything url_for needs. Throws a ConfigError. */
export function createPluginState(app: AppLike): PluginState {
  const config = resolveConfig(app.config ?? {});
  const active = isActive(app, config);
  const mounts = staticMounts(app);
  const route = compileRouter(app.router);
  const fingerprint = active ? config.fingerprint : false;
  const mFile = manifestFile(app.root, config.manifestPath);
  const manifest = readManifest(mFile, fingerprint);
  const assetsOf = (mount: StaticMount) =>
    new MountAssets({
      mount,
      mode: fingerprint,
      entries: manifest ? (manifest.assets[mount.endpoint] ?? {}) : undefined,
      includeHidden: config.includeHidden,
      revalidate: !active,
      strict: config.fingerprintStrict,
    });
  const statics = staticEntries(mounts, config, active, assetsOf);
  for (const mount of mounts) checkStaticFolder(mount);
  return { app, config, active, statics, route, fingerprint, manifestFile: mFile, manifest };
}
