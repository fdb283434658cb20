// Which local files are uploaded, and under which keys: every static folder of the app and its
// blueprints (staticMounts), walked with fs.readdirSync. Hidden files and hidden folders are skipped unless
// includeHidden; filepathFilterRegex is matched (search semantics) against the path relative to the
// static folder; symlinks are followed only while they stay inside their static folder. Problems with
// the input are ConfigErrors raised here, before anything talks to S3.
//
// Each real folder is walked once, by its real path, so folders that link to each other cannot multiply
// the files (six folders each linking to the other five would otherwise give thousands of keys). The
// rule for which path a file gets: folders are walked first under their own paths; then each symlink to
// a folder, in the order they were met (sorted by name, folder by folder), adds its target's files under
// the link's path only if that real folder was not walked yet (a link to a hidden folder, say), and is
// otherwise skipped, with one warning for all such links. A symlink to a file is a file, under its own
// name.

import { type Dirent, readdirSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
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
    else await walkStaticFolder(state, mount, root);
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

/** A static folder being walked: its mount, its real path, and what the walk has met so far. */
interface FolderWalk {
  mount: StaticMount;
  /** The key every file's relative path is appended to: prefix and URL path (objectKey of ''). */
  keyBase: string;
  root: string;
  /** Real paths of the folders walked. */
  walked: Set<string>;
  /** Symlinks to folders inside the static folder, to walk after the real folders: in the order met. */
  linkedFolders: { abs: string; relPath: string; real: string }[];
  /** Links skipped because their folder was walked already (`link -> target`), for one warning. */
  skippedLinks: string[];
}

/** Walk a static folder (see the top of this file for which path each file gets). */
async function walkStaticFolder(state: DiscoveryState, mount: StaticMount, root: string): Promise<void> {
  const walk: FolderWalk = {
    mount,
    keyBase: objectKey(state.options.prefix, mount, ''),
    root,
    walked: new Set([root]),
    linkedFolders: [],
    skippedLinks: [],
  };
  await walkFolder(state, walk, { dir: mount.folder, real: root, relBase: '' });
  // The queue grows while it is walked: a linked folder may hold links of its own.
  for (let i = 0; i < walk.linkedFolders.length; i++) {
    const link = walk.linkedFolders[i]!;
    if (walk.walked.has(link.real)) {
      walk.skippedLinks.push(`${link.abs} -> ${link.real}`);
      continue;
    }
    walk.walked.add(link.real);
    await walkFolder(state, walk, { dir: link.abs, real: link.real, relBase: link.relPath + '/' });
  }
  if (walk.skippedLinks.length > 0) {
    const shown = walk.skippedLinks.slice(0, 5).join(', ');
    const more = walk.skippedLinks.length > 5 ? ` and ${walk.skippedLinks.length - 5} more` : '';
    state.warnings.push(
      `skipped ${walk.skippedLinks.length} symlink(s) to folders already uploaded under their own path ` +
        `(each real folder is uploaded once): ${shown}${more}`,
    );
  }
}

/**
 * The entries of a folder, sorted by name; an unreadable folder is a ConfigError naming it. Read
 * synchronously: a walk is one readdir per folder, and a round trip to the thread pool for each doubled
 * the time to walk 10,000 files in a fresh process, before anything else can start anyway.
 */
function folderEntries(dir: string): Dirent[] {
  try {
    const entries = readdirSync(dir, { withFileTypes: true });
    return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch (err) {
    throw unreadable(dir, err);
  }
}

/** A folder to walk: where it is, its real path, and the relative path its entries' paths start with. */
interface Folder {
  dir: string;
  real: string;
  relBase: string;
}

/**
 * Walk a folder of the static folder (or a symlinked folder inside it): its files are kept, its real
 * folders walked at once, its symlinks resolved (folders queued for later).
 */
async function walkFolder(state: DiscoveryState, walk: FolderWalk, folder: Folder): Promise<void> {
  const { dir, real, relBase } = folder;
  for (const entry of folderEntries(dir)) {
    if (!state.options.includeHidden && entry.name.startsWith('.')) continue;
    const relPath = relBase + entry.name;
    const abs = childPath(dir, entry.name);
    if (entry.isFile()) {
      if (passesFilter(state, relPath)) state.files.push(makeFile(walk, relPath, abs));
    } else if (entry.isDirectory()) {
      // Not a link, so its real path is its parent's real path and its name.
      const realChild = childPath(real, entry.name);
      walk.walked.add(realChild);
      await walkFolder(state, walk, { dir: abs, real: realChild, relBase: relPath + '/' });
    } else if (entry.isSymbolicLink()) {
      await followSymlink(state, walk, abs, relPath);
    }
    // sockets, fifos, devices: skipped
  }
}

/**
 * A symlink inside a static folder: its file, or its folder queued, if it stays inside; else a
 * warning.
 */
async function followSymlink(
  state: DiscoveryState,
  walk: FolderWalk,
  abs: string,
  relPath: string,
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
    if (passesFilter(state, relPath)) state.files.push(makeFile(walk, relPath, abs));
  } else if (target.isDirectory()) {
    walk.linkedFolders.push({ abs, relPath, real });
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

/**
 * A path inside a folder: `path.join(dir, name)` for the absolute, normalised folders the walk has and
 * the plain names readdir gives, without normalising the whole path again for each of 10,000 files.
 */
function childPath(dir: string, name: string): string {
  return dir.endsWith(path.sep) ? dir + name : dir + path.sep + name;
}

/**
 * A file found by the walk, with its key (objectKey of the prefix, the mount and its relative path). Its
 * relative path is made of names readdir gave, so it can hold no empty, '.' or '..' segment; NUL is
 * refused anyway, as a line break is.
 */
function makeFile(walk: FolderWalk, relPath: string, file: string): LocalFile {
  if (relPath.includes('\0')) {
    throw new ConfigError('FILE_NAME', `cannot upload ${JSON.stringify(file)}: its path contains NUL`);
  }
  // S3 stores such a key, but its XML listings and most tools mangle it, and a skipped file would leave
  // a page linking to nothing: refuse it up front, by name.
  if (/[\r\n]/.test(relPath)) {
    throw new ConfigError(
      'FILE_NAME',
      `cannot upload ${JSON.stringify(file)}: its name contains a line break; rename it, or leave it out with ${settingLabel(setting('filepathFilterRegex'))}`,
    );
  }
  const key = walk.keyBase === '' ? relPath : `${walk.keyBase}/${relPath}`;
  // A UTF-16 unit is at most 3 UTF-8 bytes: only a long key needs counting.
  if (key.length * 3 > MAX_KEY_BYTES && Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw new ConfigError(
      'FILE_NAME',
      `cannot upload ${file}: its key is longer than S3's ${MAX_KEY_BYTES} bytes`,
    );
  }
  return { key, relPath, file, mount: walk.mount };
}
