// The fingerprint manifest: a small JSON file next to the app (manifestPath, relative to app.root) that
// createAll writes after a successful upload with fingerprinting on, and the plugin reads once, at
// initApp, so the running app knows every asset's fingerprinted name and integrity without hashing
// files or talking to S3. Its format, parsing (a bad manifest is a ConfigError at startup, never a
// surprise at render time), and its write (atomic, through src/util/atomic-write.ts).

import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { setting, settingLabel } from '../config.js';
import { ConfigError } from '../errors.js';
import { writeFileAtomically } from '../util/atomic-write.js';

/** Format marker of the manifest JSON. */
export const MANIFEST_FORMAT = 'nunjucks-s3/manifest';
/** Version of the manifest JSON this nunjucks-s3 writes and understands. */
export const MANIFEST_VERSION = 1;

/** One asset in the manifest. */
export interface ManifestEntry {
  /**
   * Its path below the static folder's URL path, as url_for renders it: the fingerprinted name
   * (`css/app.3f2a9c1b0d4e.css`) with `fingerprint: 'filename'`, the plain name with `'query'`.
   */
  path: string;
  /** xxh64 of the file's bytes, 16 hex digits (the upload record's hash). */
  hash: string;
  /** `sha384-<base64>` of the file's bytes: the value of an `integrity` attribute. */
  integrity: string;
  /** Size of the file in bytes. */
  size: number;
  /**
   * The file's modification time (ms) when it was uploaded. With the size, how the plugin notices a file
   * edited since (and then renders the name the next upload will send). Absent in manifests written
   * before it was added: only the size is compared then.
   */
  mtimeMs?: number;
}

/**
 * The manifest file.
 * @example
 * {
 *   "format": "nunjucks-s3/manifest", "version": 1, "fingerprint": "filename",
 *   "bucket": "mybucket", "prefix": "", "createdAt": "2025-01-01T00:00:00.000Z",
 *   "assets": {
 *     "static": { "css/app.css": { "path": "css/app.3f2a9c1b0d4e.css", "hash": "3f2a9c1b0d4e5f60",
 *                                  "integrity": "sha384-...", "size": 1234 } },
 *     "admin.static": { "logo.svg": { ... } }
 *   }
 * }
 */
export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  version: number;
  /** The fingerprint mode the upload was made with; the plugin refuses a manifest made for another. */
  fingerprint: 'filename' | 'query';
  /** Where the assets were uploaded (informative). */
  bucket: string;
  prefix: string;
  /** ISO time of the upload that wrote it. */
  createdAt: string;
  /** By static endpoint (`static`, `admin.static`), then by path relative to the static folder. */
  assets: Record<string, Record<string, ManifestEntry>>;
}

/** The manifest file of an app: manifestPath resolved against app.root (an absolute path stays). */
export function manifestFile(root: string | undefined, manifestPath: string): string {
  return path.resolve(root ?? process.cwd(), manifestPath);
}

const HEX16 = /^[0-9a-f]{16}$/;
const INTEGRITY = /^sha384-[A-Za-z0-9+/]{64}$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A map object without prototype: a path named `__proto__` is just a path. */
function dict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

function bad(file: string, why: string, cause?: unknown): ConfigError {
  const label = settingLabel(setting('manifestPath'));
  return new ConfigError(
    'CONFIG_MANIFEST',
    `the fingerprint manifest ${file} (${label}) ${why}; run createAll again to rewrite it, or delete it ` +
      '(assets are then hashed from the static folders)',
    { setting: label, cause },
  );
}

/**
 * Parse manifest text. Throws a ConfigError naming the file (and the manifestPath setting) when it is not
 * a manifest, is from a newer nunjucks-s3, or has a malformed entry: a manifest is written whole by
 * createAll, so any damage means it cannot be trusted.
 */
export function parseManifest(text: string, file: string): Manifest {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw bad(file, 'is not valid JSON', err);
  }
  if (!isObject(data) || data.format !== MANIFEST_FORMAT) throw bad(file, `is not a ${MANIFEST_FORMAT} file`);
  if (typeof data.version !== 'number' || data.version > MANIFEST_VERSION) {
    throw bad(
      file,
      `has version ${String(data.version)}, newer than this nunjucks-s3 understands (${MANIFEST_VERSION})`,
    );
  }
  if (data.fingerprint !== 'filename' && data.fingerprint !== 'query') {
    throw bad(file, `has fingerprint ${JSON.stringify(data.fingerprint)}, not 'filename' or 'query'`);
  }
  if (!isObject(data.assets)) throw bad(file, 'has no assets object');
  const assets = dict<Record<string, ManifestEntry>>();
  for (const [endpoint, files] of Object.entries(data.assets)) {
    if (!isObject(files)) throw bad(file, `has assets[${JSON.stringify(endpoint)}] that is not an object`);
    const entries = dict<ManifestEntry>();
    for (const [relPath, e] of Object.entries(files)) {
      if (
        !isObject(e) ||
        typeof e.path !== 'string' ||
        e.path === '' ||
        typeof e.hash !== 'string' ||
        !HEX16.test(e.hash) ||
        typeof e.integrity !== 'string' ||
        !INTEGRITY.test(e.integrity) ||
        typeof e.size !== 'number' ||
        (e.mtimeMs !== undefined && typeof e.mtimeMs !== 'number')
      ) {
        throw bad(
          file,
          `has a malformed entry for ${JSON.stringify(relPath)} of ${JSON.stringify(endpoint)}`,
        );
      }
      entries[relPath] = { path: e.path, hash: e.hash, integrity: e.integrity, size: e.size };
      if (typeof e.mtimeMs === 'number') entries[relPath]!.mtimeMs = e.mtimeMs;
    }
    assets[endpoint] = entries;
  }
  return {
    format: MANIFEST_FORMAT,
    version: data.version,
    fingerprint: data.fingerprint,
    bucket: typeof data.bucket === 'string' ? data.bucket : '',
    prefix: typeof data.prefix === 'string' ? data.prefix : '',
    createdAt: typeof data.createdAt === 'string' ? data.createdAt : '',
    assets,
  };
}

/**
 * Read the manifest synchronously (the plugin reads it once, in initApp). A missing file gives
 * undefined (assets are then hashed from the static folders); an unreadable or malformed one is a
 * ConfigError.
 */
export function readManifestSync(file: string): Manifest | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw bad(file, `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, err);
  }
  return parseManifest(text, file);
}

/** The manifest as written: stable key order (endpoints and paths sorted), one asset per line. */
export function serializeManifest(manifest: Manifest): string {
  const endpoints = Object.keys(manifest.assets).sort();
  const lines: string[] = [];
  for (const endpoint of endpoints) {
    const files = manifest.assets[endpoint]!;
    const rows = Object.keys(files)
      .sort()
      .map((p) => `      ${JSON.stringify(p)}: ${JSON.stringify(files[p])}`);
    lines.push(`    ${JSON.stringify(endpoint)}: {${rows.length ? `\n${rows.join(',\n')}\n    ` : ''}}`);
  }
  const head = {
    format: manifest.format,
    version: manifest.version,
    fingerprint: manifest.fingerprint,
    bucket: manifest.bucket,
    prefix: manifest.prefix,
    createdAt: manifest.createdAt,
  };
  const headText = JSON.stringify(head, null, 2).slice(0, -2);
  return `${headText},\n  "assets": {${lines.length ? `\n${lines.join(',\n')}\n  ` : ''}}\n}\n`;
}

/**
 * Write the manifest atomically: to a temporary file in the same folder, then renamed over the old one,
 * so an app starting meanwhile reads the old manifest or the new one, never a part of either.
 */
export async function writeManifest(file: string, manifest: Manifest): Promise<void> {
  try {
    await writeFileAtomically(file, serializeManifest(manifest));
  } catch (err) {
    await removeStaleManifest(file, err);
    throw err;
  }
}

/**
 * After a failed write (a full disk), the old manifest would still name the previous deploy's files, and
 * an app started now would render those names for files that changed. Without a manifest the plugin
 * hashes the local files itself, which are the ones just uploaded; so the old one goes. Removing needs
 * no space; if it fails all the same, the error says the old manifest is still there.
 */
async function removeStaleManifest(file: string, writeError: unknown): Promise<void> {
  try {
    await rm(file, { force: true });
  } catch (rmError) {
    // Nothing to remove: the path leads through a file, or is a folder (no manifest was ever there).
    if (['ENOTDIR', 'EISDIR', 'ERR_FS_EISDIR'].includes((rmError as NodeJS.ErrnoException).code ?? ''))
      return;
    const code = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new Error(
      `${code(writeError)}; and the previous manifest ${file} could not be removed (${code(rmError)}): it ` +
        `still names the previous deploy's files; delete it`,
      { cause: writeError },
    );
  }
}
