// Fingerprinted names in an Eleventy build must be those the next upload sends, whether the site is
// built before or after that upload. The manifest (written by the last upload) wins over the local
// files in the template half; once a static file is newer than it, the manifest describes the previous
// deploy, so the build renders from the local files instead (hashed as the upload hashes them).

import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { AppLike } from '../app.js';
import { staticMounts } from '../app.js';
import { resolveConfig } from '../config.js';
import { manifestFile } from '../content/manifest.js';

function modifiedMs(file: string): number | undefined {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Whether any file under `folder` was modified after `sinceMs`. */
function changedSince(folder: string, sinceMs: number): boolean {
  let names: string[];
  try {
    names = readdirSync(folder, { recursive: true, encoding: 'utf8' });
  } catch {
    return false;
  }
  return names.some((name) => (modifiedMs(path.join(folder, name)) ?? 0) > sinceMs);
}

/** The manifest file of `app`, when fingerprinting is on and it exists but is older than a static file. */
export function staleManifest(app: Omit<AppLike, 'env'>): string | undefined {
  const config = resolveConfig(app.config ?? {});
  if (config.fingerprint === false) return undefined;
  const file = manifestFile(app.root, config.manifestPath);
  const written = modifiedMs(file);
  if (written === undefined) return undefined;
  return staticMounts(app).some((mount) => changedSince(mount.folder, written)) ? file : undefined;
}

/**
 * `app` rendering from its local files: its manifest setting (either spelling) points at a file beside
 * the stale one that is never written, so the template half hashes each file on first use.
 */
export function ignoringManifest(app: Omit<AppLike, 'env'>, stale: string): Omit<AppLike, 'env'> {
  const { FLASKS3_MANIFEST: _either, manifestPath: _spelling, ...config } = app.config ?? {};
  return { ...app, config: { ...config, manifestPath: `${stale}.older-than-static-files` } };
}
