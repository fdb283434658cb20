// Which CDN paths a deploy made stale, and how to ask for them. Pure: data in, data out.
//
// A deploy makes a cached URL stale only where it overwrote a key in place: a new key was never cached,
// and a fingerprinted key never changes its bytes. The paths are the URL paths url_for renders (the CDN
// domain's own path, the prefix, the static URL path, the key encoded the way url_for encodes it), so
// the CDN evicts exactly what visitors asked for. docs/cdn.md says why the wildcard threshold is what it is.

import type { UploadReason } from '../deploy/plan.js';
import { encodeUrlPath } from '../template/url.js';

/**
 * Up to this many paths go to CloudFront one by one; above it they are folded into wildcards. A wildcard
 * is billed as one path but evicts every object under its folder, and at most 15 wildcard paths may be in
 * progress per distribution; exact paths cost $0.005 each beyond the 1,000 free a month. 100 exact paths
 * lets ten such deploys a month stay within the free paths.
 */
export const WILDCARD_THRESHOLD = 100;
/** CloudFront's limit on wildcard paths in progress at once per distribution. */
export const MAX_WILDCARDS = 15;

/** What the paths are computed from: an uploaded report entry. */
export interface UploadedKey {
  key: string;
  reason: UploadReason;
}

/**
 * The keys a deploy overwrote: uploaded as `changed` or `settings-changed`, or `not-recorded` (no record
 * to tell a new key from an old one: it may have been cached). Never `new` keys, never fingerprinted ones.
 */
export function overwrittenKeys(
  uploaded: readonly UploadedKey[],
  fingerprinted: ReadonlySet<string>,
): string[] {
  const out = new Set<string>();
  for (const { key, reason } of uploaded) {
    if (reason === 'new' || reason === 'unchanged' || fingerprinted.has(key)) continue;
    out.add(key);
  }
  return [...out].sort();
}

/** The URL path of a key as url_for renders it: the CDN domain's path, then the encoded key. */
export function cdnPath(key: string, cdnBasePath: string): string {
  return `${cdnBasePath}/${encodeUrlPath(key)}`;
}

/** The path part of a cdnDomain (`cdn.example.com/assets` gives `/assets`), without a trailing slash. */
export function cdnBasePath(cdnDomain: string): string {
  const m = /^(?:[A-Za-z][A-Za-z0-9+.-]*:\/\/|\/\/)?[^/]*(\/.*)?$/.exec(cdnDomain.trim());
  return (m?.[1] ?? '').replace(/\/+$/, '');
}

/** The folder of a path, without the trailing slash (`/a/b/c.css` gives `/a/b`). */
function folderOf(path: string): string {
  return path.slice(0, path.lastIndexOf('/'));
}

/**
 * The paths to send to CloudFront: the exact paths when there are at most `threshold`, else wildcards
 * (`/folder/*`), one per folder at the deepest level that needs no more than `maxWildcards` of them,
 * never above the folder all the paths share (so a deploy never evicts what is not its own).
 */
export function foldPaths(
  paths: readonly string[],
  threshold = WILDCARD_THRESHOLD,
  maxWildcards = MAX_WILDCARDS,
): string[] {
  if (paths.length <= threshold) return [...paths];
  const folders = [...new Set(paths.map(folderOf))];
  const floor = commonFolder(folders);
  const deepest = Math.max(...folders.map((f) => depth(f)));
  for (let d = deepest; d > depth(floor); d--) {
    const groups = new Set(folders.map((f) => truncate(f, d)));
    if (groups.size <= maxWildcards) return [...groups].sort().map((g) => `${g}/*`);
  }
  return [`${floor}/*`];
}

function depth(folder: string): number {
  return folder === '' ? 0 : folder.split('/').length - 1;
}

/** The first `d` segments of a folder (`/a/b/c`, 2 gives `/a/b`). */
function truncate(folder: string, d: number): string {
  return folder
    .split('/')
    .slice(0, d + 1)
    .join('/');
}

/** The longest folder every folder is in (or is). */
function commonFolder(folders: readonly string[]): string {
  let common = folders[0]!.split('/');
  for (const f of folders.slice(1)) {
    const parts = f.split('/');
    let i = 0;
    while (i < common.length && i < parts.length && common[i] === parts[i]) i++;
    common = common.slice(0, i);
  }
  return common.join('/');
}
