// What the template side knows about each static file of one static folder: its fingerprinted path,
// content hash and integrity, from the manifest when there is one, otherwise hashed from the local file
// the first time a template asks (then cached, so a render costs a Map lookup). Files createAll would
// not upload (hidden files without includeHidden, symlinks leaving the folder) are not found here
// either, so a template never gets a fingerprint for an object that is not in the bucket.

import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import type { StaticMount } from '../app.js';
import type { FingerprintMode } from '../config.js';
import { factsOfFileSync, fingerprintedPath } from '../content/fingerprint.js';
import type { ManifestEntry } from '../content/manifest.js';
import { UrlBuildError } from '../errors.js';

/** One static file as templates see it. */
export interface AssetInfo {
  /** Its path below the static folder's URL path in URLs: fingerprinted with `fingerprint: 'filename'`. */
  readonly path: string;
  /** xxh64 of its bytes, 16 hex digits. */
  readonly hash: string;
  /** `sha384-<base64>` of its bytes. */
  readonly integrity: string;
}

/** How one static folder's assets are found. */
export interface MountAssetsOptions {
  readonly mount: StaticMount;
  /** How `path` is made for a file hashed locally. */
  readonly mode: FingerprintMode;
  /** The manifest's entries for this static endpoint; they win over the local files. */
  readonly entries?: Readonly<Record<string, ManifestEntry>> | undefined;
  /** Hidden files and folders count (as createAll's includeHidden). */
  readonly includeHidden: boolean;
  /**
   * Re-hash a file when its size or modification time changed since it was hashed (one stat per call).
   * For local URLs (inactive, i.e. development), where files are edited while the app runs and a stale
   * integrity value would make the browser block the edited file.
   */
  readonly revalidate: boolean;
  /**
   * A local file that differs from its manifest entry (edited since the upload): a UrlBuildError instead
   * of the warning and the name the next upload will send (fingerprintStrict).
   */
  readonly strict?: boolean;
  /** Where the warning about such a file goes (once per file). @default console.warn */
  readonly warn?: (message: string) => void;
}

interface Cached {
  readonly info: AssetInfo;
  /** From the manifest, not yet compared with the local file (done once, on first use). */
  readonly unchecked?: ManifestEntry;
  /** For revalidation: what the file looked like when hashed. */
  readonly mtimeMs?: number;
  readonly size?: number;
}

/** Missing names remembered (so a template naming a missing file does not stat it on every render). */
const MISSES_KEPT = 10_000;

function isHidden(relPath: string): boolean {
  return relPath.startsWith('.') || relPath.includes('/.');
}

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

const MISSING = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'ELOOP', 'ENAMETOOLONG']);

/** The assets of one static folder. `relPath` is always a normalised filename (url.ts). */
export class MountAssets {
  readonly #options: MountAssetsOptions;
  readonly #cache = new Map<string, Cached>();
  readonly #misses = new Set<string>();
  #folderReal: string | null | undefined;

  constructor(options: MountAssetsOptions) {
    this.#options = options;
    if (options.entries) {
      for (const [relPath, e] of Object.entries(options.entries)) {
        this.#cache.set(relPath, {
          info: { path: e.path, hash: e.hash, integrity: e.integrity },
          unchecked: e,
        });
      }
    }
  }

  /** Whether the manifest covers this folder (for error messages). */
  get fromManifest(): boolean {
    return this.#options.entries !== undefined;
  }

  /** The static folder on disk. */
  get folder(): string {
    return this.#options.mount.folder;
  }

  /**
   * The asset, or undefined when neither the manifest nor the static folder has it (or it is not a
   * file createAll would upload). Throws a UrlBuildError when the file exists but cannot be read.
   */
  lookup(relPath: string, caller: 'url_for' | 'static_integrity'): AssetInfo | undefined {
    const hit = this.#cache.get(relPath);
    if (hit?.unchecked !== undefined) return this.#checkedAgainstManifest(relPath, hit, caller);
    if (hit !== undefined && (!this.#options.revalidate || hit.mtimeMs === undefined)) return hit.info;
    if (hit === undefined && this.#misses.has(relPath)) return undefined;
    return this.#fromDisk(relPath, hit, caller);
  }

  /**
   * A manifest entry, on its first use, against the local file: the manifest must never hide a file
   * edited since the upload that wrote it (its URL would serve the old bytes). Same size and mtime: the
   * manifest holds. No local file (a server that ships only the manifest): the manifest holds. Otherwise
   * the file is hashed; the same hash (a fresh checkout changes mtimes, not bytes) keeps the manifest's
   * name, a different one gives the name the next upload will send, with one warning (or an error in
   * strict mode).
   */
  #checkedAgainstManifest(relPath: string, hit: Cached, caller: string): AssetInfo | undefined {
    const entry = hit.unchecked!;
    const trusted: Cached = { info: hit.info };
    const st = statSync(path.join(this.#options.mount.folder, relPath), { throwIfNoEntry: false });
    const same = st?.size === entry.size && (entry.mtimeMs === undefined || st.mtimeMs === entry.mtimeMs);
    if (!st?.isFile() || same) {
      this.#cache.set(relPath, trusted);
      return hit.info;
    }
    const local = this.#fromDisk(relPath, undefined, caller);
    if (local === undefined || local.hash === entry.hash) {
      this.#cache.set(relPath, trusted);
      return hit.info;
    }
    const { mount, strict, warn = console.warn } = this.#options;
    const what =
      `${caller}('${mount.endpoint}', ${JSON.stringify(relPath)}): ${path.join(mount.folder, relPath)} changed ` +
      `since the upload that wrote the fingerprint manifest`;
    if (strict) {
      this.#cache.set(relPath, hit); // checked again next time: the file may be restored or uploaded
      throw new UrlBuildError(
        'URL_CHANGED_SINCE_UPLOAD',
        mount.endpoint,
        `${what}; its manifest name ${entry.path} serves the old bytes. Upload before rendering (fingerprintStrict is on)`,
      );
    }
    warn(
      `nunjucks-s3: ${what}: rendering ${local.path}, the name the next upload sends (not yet in the bucket ` +
        `until then); upload before rendering`,
    );
    return local;
  }

  #fromDisk(relPath: string, hit: Cached | undefined, caller: string): AssetInfo | undefined {
    const { mount, includeHidden, revalidate, mode } = this.#options;
    const miss = () => {
      // In development a missing file may be created any moment: only production remembers misses.
      if (!revalidate) {
        if (this.#misses.size >= MISSES_KEPT) this.#misses.clear();
        this.#misses.add(relPath);
      }
      this.#cache.delete(relPath);
      return undefined;
    };
    if (relPath === '' || relPath.endsWith('/') || (!includeHidden && isHidden(relPath))) return miss();
    const file = path.join(mount.folder, relPath);
    try {
      const st = statSync(file);
      if (!st.isFile()) return miss();
      if (hit !== undefined && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit.info;
      // createAll skips symlinks that leave the static folder: they have no object, so no fingerprint.
      this.#folderReal ??= realOrNull(mount.folder);
      const real = realpathSync(file);
      if (this.#folderReal === null || !real.startsWith(this.#folderReal + path.sep)) return miss();
      const facts = factsOfFileSync(real);
      const info: AssetInfo = {
        path: mode === 'filename' ? fingerprintedPath(relPath, facts.hash) : relPath,
        hash: facts.hash,
        integrity: facts.integrity,
      };
      this.#cache.set(relPath, revalidate ? { info, mtimeMs: st.mtimeMs, size: st.size } : { info });
      return info;
    } catch (err) {
      if (MISSING.has(errCode(err) ?? '')) return miss();
      throw new UrlBuildError(
        'URL_ASSET_UNREADABLE',
        mount.endpoint,
        `${caller}('${mount.endpoint}', ${JSON.stringify(relPath)}): cannot read ${file} to hash it (${errCode(err) ?? (err as Error).message})`,
        { cause: err },
      );
    }
  }
}

function realOrNull(folder: string): string | null {
  try {
    return realpathSync(folder);
  } catch {
    return null;
  }
}
