// The upload side of fingerprinting: with `fingerprint: 'filename'`, every file is stored twice, under
// its own key (so relative references inside CSS and JS, source maps and old links keep working) and
// under its fingerprinted key (`static/css/app.3f2a9c1b0d4e.css`, a server-side copy of the own key where
// the server allows: fingerprint-copy.ts), which never changes content and so is served
// `Cache-Control: public, max-age=31536000, immutable` unless the user set a Cache-Control. After a
// successful upload (either mode), the manifest the plugin reads is written; the deploy's fingerprinted
// keys go into the record's deploy history, which stale cleanup keeps for keepDeploys deploys.

import { randomBytes } from 'node:crypto';
import { objectKey } from '../app.js';
import type { FingerprintMode } from '../config.js';
import { fingerprintedPath } from '../content/fingerprint.js';
import { type ObjectSettings, settingsSignature } from '../content/headers.js';
import {
  MANIFEST_FORMAT,
  MANIFEST_VERSION,
  type Manifest,
  type ManifestEntry,
  readManifestSync,
  writeManifest,
} from '../content/manifest.js';
import { ConfigError } from '../errors.js';
import type { RecordedDeploy } from './record.js';
import type { DeployItem } from './types.js';

/** Cache-Control of fingerprinted objects: a year, and `immutable`: browsers need not revalidate. */
export const IMMUTABLE_CACHE_CONTROL = 'public, max-age=31536000, immutable';

const immutable = new WeakMap<ObjectSettings, ObjectSettings>();

/**
 * The settings a fingerprinted copy is uploaded with: the file's own, with {@link IMMUTABLE_CACHE_CONTROL}
 * when the user set no Cache-Control (`headers`, `filepathHeaders`, or `cacheControl` with
 * `useCacheControl`); a user's Cache-Control wins. Its own signature, so the record tells them apart.
 */
export function immutableSettings(settings: ObjectSettings): ObjectSettings {
  if (settings.fields.CacheControl !== undefined) return settings;
  let out = immutable.get(settings);
  if (out === undefined) {
    const canonical = Object.freeze({ ...settings.canonical, CacheControl: IMMUTABLE_CACHE_CONTROL });
    out = Object.freeze({
      ...settings,
      fields: Object.freeze({ ...settings.fields, CacheControl: IMMUTABLE_CACHE_CONTROL }),
      canonical,
      signature: settingsSignature(canonical),
    });
    immutable.set(settings, out);
  }
  return out;
}

/** What fingerprinting needs of a deploy item. */
export type FingerprintItem = Pick<DeployItem, 'file' | 'key' | 'hash' | 'settings' | 'signature'>;

/**
 * The items to upload: with `'filename'`, each file's own item plus a fingerprinted copy (same file,
 * fingerprinted key, immutable caching); otherwise the items as they are. Throws a ConfigError when a
 * fingerprinted key is also the key of another file (a file already named like `app.3f2a9c1b0d4e.css`
 * with other content).
 */
export function withFingerprintedKeys<T extends FingerprintItem>(
  items: readonly T[],
  prefix: string,
  mode: FingerprintMode,
): T[] {
  if (mode !== 'filename') return [...items];
  const out = [...items];
  const byKey = new Map<string, T>(items.map((i) => [i.key, i]));
  for (const item of items) {
    const key = objectKey(prefix, item.file.mount, fingerprintedPath(item.file.relPath, item.hash));
    const other = byKey.get(key);
    if (other !== undefined) {
      if (other.hash === item.hash) continue; // the same bytes under that name already: upload once
      throw new ConfigError(
        'CONFIG_DUPLICATE_KEY',
        `${item.file.file} fingerprinted is ${JSON.stringify(key)}, the key of ${other.file.file} too; rename one`,
        { setting: 'fingerprint / FLASKS3_FINGERPRINT' },
      );
    }
    const settings = immutableSettings(item.settings);
    const copy: T = { ...item, key, settings, signature: settings.signature };
    byKey.set(key, copy);
    out.push(copy);
  }
  return out;
}

/** Whether an item is a fingerprinted copy (its key is not its file's own key). */
export function isFingerprintedCopy(item: { key: string; file: { key: string } }): boolean {
  return item.key !== item.file.key;
}

/** The fingerprinted keys of a deploy, sorted. */
export function fingerprintedKeys(items: readonly { key: string; file: { key: string } }[]): string[] {
  return items
    .filter(isFingerprintedCopy)
    .map((i) => i.key)
    .sort();
}

/** A deploy entry for the record's history. */
export function deployEntry(keys: string[], now = new Date()): RecordedDeploy {
  return { id: `${now.toISOString()}-${randomBytes(3).toString('hex')}`, at: now.toISOString(), keys };
}

/** What the manifest needs of a deploy item: its own item carries the integrity computed while hashing. */
export type ManifestItem = Pick<DeployItem, 'file' | 'key' | 'hash' | 'size' | 'integrity'> & {
  stamp?: { mtimeMs: number } | undefined;
};

/**
 * The manifest of a deploy: one entry per file (fingerprinted copies are not files of their own). With
 * `previous` (a filtered run, which saw only some files), the previous manifest's entries for the other
 * files are kept.
 */
export function buildManifest(
  items: readonly ManifestItem[],
  mode: 'filename' | 'query',
  where: { bucket: string; prefix: string },
  previous?: Manifest,
  now = new Date(),
): Manifest {
  const assets: Record<string, Record<string, ManifestEntry>> = Object.create(null);
  if (previous !== undefined && previous.fingerprint === mode) {
    for (const [endpoint, files] of Object.entries(previous.assets)) {
      assets[endpoint] = Object.assign(Object.create(null), files);
    }
  }
  for (const item of items) {
    if (item.key !== item.file.key) continue;
    if (item.integrity === undefined)
      throw new Error(`no integrity for ${item.key} (a bug: hashed without it)`);
    const endpoint = item.file.mount.endpoint;
    assets[endpoint] ??= Object.create(null);
    assets[endpoint]![item.file.relPath] = {
      path: mode === 'filename' ? fingerprintedPath(item.file.relPath, item.hash) : item.file.relPath,
      hash: item.hash,
      integrity: item.integrity,
      size: item.size,
      ...(item.stamp ? { mtimeMs: item.stamp.mtimeMs } : {}),
    };
  }
  return {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    fingerprint: mode,
    bucket: where.bucket,
    prefix: where.prefix,
    createdAt: now.toISOString(),
    assets,
  };
}

/**
 * Write the deploy's manifest to `file` (atomically). A filtered run merges into the manifest already
 * there (when it is readable and for the same mode); a full run replaces it.
 */
export async function writeDeployManifest(
  file: string,
  items: readonly ManifestItem[],
  mode: 'filename' | 'query',
  where: { bucket: string; prefix: string },
  filtered: boolean,
): Promise<Manifest> {
  let previous: Manifest | undefined;
  if (filtered) {
    try {
      previous = readManifestSync(file);
    } catch {
      previous = undefined; // damaged: this run's files are what can be vouched for
    }
  }
  const manifest = buildManifest(items, mode, where, previous);
  await writeManifest(file, manifest);
  return manifest;
}
