// Which local files are uploaded, and under which keys: every static folder of the app and its
// blueprints (staticMounts), walked with globby. Hidden files and hidden folders are skipped unless
// includeHidden; filepathFilterRegex is matched (search semantics) against the path relative to the
// static folder; symlinks are followed only while they stay inside their static folder. Problems with
// the input are ConfigErrors raised here, before anything talks to S3.

import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { type GlobEntry, globby } from 'globby';
import { objectKey, type StaticMount } from '../app.js';
import { setting, settingLabel } from '../config.js';
import { ConfigError } from '../errors.js';

/** One file to upload. */
export interface LocalFile {
  /** Its key in the bucket: prefix + the mount's URL path + relPath. */
  readonly key: string;
  /** Path relative to its static folder, `/`-separated (what filepathFilterRegex and filepathHeaders see). */
  readonly relPath: string;
  /** Absolute path on disk (may be a symlink that resolves inside the static folder). */
  readonly file: string;
  /** The static folder it belongs to. */
  readonly mount: StaticMount;
}

/** What to walk for. */
export interface DiscoverOptions {
  /** Key prefix, already normalised (no slashes at either end). */
  prefix: string;
  /** Also upload hidden files and files inside hidden folders. @default false */
  includeHidden?: boolean;
  /** Only files whose relative path matches (search semantics). */
  filepathFilterRegex?: RegExp | undefined;
}

/** The files found (sorted by key) and warnings about what was skipped. */
export interface Discovery {
  files: LocalFile[];
  warnings: string[];
}

/** S3's limit on key length, in UTF-8 bytes. */
const MAX_KEY_BYTES = 1024;

function isInside(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith(path.sep) ? parent : parent + path.sep);
}

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function unreadable(file: string, err: unknown): ConfigError {
  return new ConfigError(
    'FILE_UNREADABLE',
    `cannot read ${file}: ${errCode(err) ?? (err as Error).message}`,
    { cause: err },
  );
}

/** One discovery: what it collects, and how it decides what to keep. */
interface DiscoveryState {
  options: DiscoverOptions;
  files: LocalFile[];
  warnings: string[];
  /** Files the filter left out (for the warning when it matches none). */
  filteredOut: number;
}

/** Whether a file passes filepathFilterRegex (counted when it does not). */
function passesFilter(state: DiscoveryState, relPath: string): boolean {
  const filter = state.options.filepathFilterRegex;
  if (!filter || filter.test(relPath)) return true;
  state.filteredOut++;
  return false;
}

/**
 * Walk every static folder and return the files to upload with their keys. A missing folder is a
 * warning (every folder missing is a ConfigError); a folder that is a file, an unreadable folder, two
 * files with the same key, or a key S3 cannot store are ConfigErrors.
 */
export async function discoverFiles(
  mounts: readonly StaticMount[],
  options: DiscoverOptions,
): Promise<Discovery> {
  const state: DiscoveryState = { options, files: [], warnings: [], filteredOut: 0 };
  const missing: StaticMount[] = [];
  for (const mount of mounts) {
    const root = await staticFolderRoot(mount, state);
    if (root === undefined) missing.push(mount);
    else await walkFolder(state, { mount, root }, mount.folder, '', []);
  }
  // Not one static folder exists: a wrong root or folder name, not a site without assets. Uploading
  // nothing "successfully" would hide it (and a stale cleanup would then see every object as stale).
  if (mounts.length > 0 && missing.length === mounts.length) {
    throw new ConfigError(
      'CONFIG_STATIC_FOLDER',
      `no static folder exists, so there is nothing to upload: ${missing.map((m) => `${m.endpoint} at ${m.folder}`).join(', ')}; ` +
        `check app.root (or the folder you run from) and the staticFolder of the app and its blueprints`,
      { setting: 'app.staticFolder' },
    );
  }
  const filter = options.filepathFilterRegex;
  if (filter && state.files.length === 0 && state.filteredOut > 0) {
    state.warnings.push(
      `${settingLabel(setting('filepathFilterRegex'))} ${String(filter)} matches none of the ${state.filteredOut} files ` +
        `in the static folders (it is matched against the path relative to the static folder, e.g. css/app.css)`,
    );
  }
  state.files.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  refuseDuplicateKeys(state.files);
  return { files: state.files, warnings: state.warnings };
}

/**
 * The real path of a static folder, or undefined when it does not exist (a warning). A folder that is
 * a file, or cannot be read, is a ConfigError.
 */
async function staticFolderRoot(mount: StaticMount, state: DiscoveryState): Promise<string | undefined> {
  let folderStat: Awaited<ReturnType<typeof stat>>;
  try {
    folderStat = await stat(mount.folder);
  } catch (err) {
    if (errCode(err) === 'ENOENT' || errCode(err) === 'ENOTDIR') {
      state.warnings.push(
        `static folder of ${mount.endpoint} does not exist, nothing uploaded from it: ${mount.folder}`,
      );
      return undefined;
    }
    throw unreadable(mount.folder, err);
  }
  if (!folderStat.isDirectory()) {
    throw new ConfigError(
      'CONFIG_STATIC_FOLDER',
      `static folder of ${mount.endpoint} is not a folder: ${mount.folder}`,
      {
        setting: mount.blueprint
          ? `blueprint ${JSON.stringify(mount.blueprint)}.staticFolder`
          : 'app.staticFolder',
      },
    );
  }
  return await realpath(mount.folder);
}

/** A static folder being walked: its mount and its real path. */
interface FolderWalk {
  mount: StaticMount;
  root: string;
}

/**
 * Walk `dir` (the static folder, or a symlinked folder inside it), whose files have relative paths
 * `relBase + <path in dir>`. `chain` holds the real paths of the symlinked folders we are inside, so a
 * link back to one of them is a loop, not an endless walk.
 */
async function walkFolder(
  state: DiscoveryState,
  walk: FolderWalk,
  dir: string,
  relBase: string,
  chain: readonly string[],
): Promise<void> {
  let entries: GlobEntry[];
  try {
    entries = await globby('**', {
      cwd: dir,
      dot: state.options.includeHidden ?? false,
      onlyFiles: false,
      followSymbolicLinks: false,
      objectMode: true,
      // No stats: an lstat per file triples the walk's time; sizes come from reading the files.
      expandDirectories: false,
      suppressErrors: false,
    });
  } catch (err) {
    const where = (err as NodeJS.ErrnoException).path ?? dir;
    throw unreadable(where, err);
  }
  for (const entry of entries) {
    const relPath = relBase + entry.path;
    const abs = path.join(dir, entry.path);
    if (entry.dirent.isFile()) {
      if (passesFilter(state, relPath))
        state.files.push(makeFile(walk.mount, state.options.prefix, relPath, abs));
    } else if (entry.dirent.isSymbolicLink()) {
      await followSymlink(state, walk, abs, relPath, chain);
    }
    // folders are walked by globby itself; sockets, fifos: skipped
  }
}

/** A symlink inside a static folder: its file, or its folder walked, if it stays inside; else a warning. */
async function followSymlink(
  state: DiscoveryState,
  walk: FolderWalk,
  abs: string,
  relPath: string,
  chain: readonly string[],
): Promise<void> {
  let real: string;
  try {
    real = await realpath(abs);
  } catch (err) {
    state.warnings.push(`skipped ${abs}: symlink target cannot be resolved (${errCode(err) ?? 'error'})`);
    return;
  }
  if (!isInside(real, walk.root)) {
    state.warnings.push(`skipped ${abs}: symlink points outside its static folder (to ${real})`);
    return;
  }
  const target = await stat(real).catch((err: unknown) => {
    throw unreadable(abs, err);
  });
  if (target.isFile()) {
    if (passesFilter(state, relPath))
      state.files.push(makeFile(walk.mount, state.options.prefix, relPath, abs));
  } else if (target.isDirectory()) {
    if (chain.includes(real) || real === walk.root) {
      state.warnings.push(`skipped ${abs}: symlink loop (points to ${real}, which contains it)`);
      return;
    }
    await walkFolder(state, walk, abs, relPath + '/', [...chain, real]);
  }
}

/** Two files with the same key (sorted by key, so they are neighbours) are a ConfigError. */
function refuseDuplicateKeys(files: readonly LocalFile[]): void {
  for (let i = 1; i < files.length; i++) {
    const a = files[i - 1]!;
    const b = files[i]!;
    if (a.key === b.key) {
      throw new ConfigError(
        'CONFIG_DUPLICATE_KEY',
        `${a.file} and ${b.file} would both be uploaded as ${JSON.stringify(a.key)}; give the static folders different URL paths`,
        { setting: 'app.blueprints' },
      );
    }
  }
}

function makeFile(mount: StaticMount, prefix: string, relPath: string, file: string): LocalFile {
  if (relPath.includes('\0') || relPath.split('/').some((s) => s === '..' || s === '.' || s === '')) {
    throw new ConfigError(
      'FILE_NAME',
      `cannot upload ${JSON.stringify(file)}: its path contains NUL or an empty, '.' or '..' segment`,
    );
  }
  const key = objectKey(prefix, mount, relPath);
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw new ConfigError(
      'FILE_NAME',
      `cannot upload ${file}: its key is longer than S3's ${MAX_KEY_BYTES} bytes`,
    );
  }
  return { key, relPath, file, mount };
}
