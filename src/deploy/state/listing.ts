// What the bucket holds under a set of key prefixes: key -> { etag, size }, the facts a deploy state
// confirms its claims against (docs/deploy-state.md, "A claim is relied on only when the bucket confirms
// it"). Uses ListObjects (v1) with Marker, which pages on every server the suite runs against (s3rver
// fails a truncated ListObjectsV2 page). Pages of one prefix can run in parallel when the caller knows
// split keys (for example every 1,000th key of its previous state): each segment starts at its split key.

import type { ObjectStore } from '../../s3/object-store.js';

/** What a listing says about one object. */
export interface ListedObject {
  /** The ETag without quotes (servers differ: RGW's CopyObject answers one without). */
  etag: string;
  size: number;
  /** The object's LastModified (ISO), when the server gave one. */
  lastModified?: string | undefined;
}

export interface ListBucketOptions {
  store: ObjectStore;
  bucket: string;
  /** Key prefixes to list ('' = the whole bucket). Overlapping prefixes are listed once per key. */
  prefixes: readonly string[];
  /**
   * Sorted keys to start parallel segments at: segment i lists the keys after splitKeys[i-1] up to and
   * including splitKeys[i]. Keys outside the prefixes are ignored. @default [] (one segment per prefix)
   */
  splitKeys?: readonly string[];
  /**
   * Keys the caller expects to find (the previous deploy's, or this deploy's): the listing is cut into
   * parallel segments of about 1,000 of them each. Should a cut listing miss one of them, the prefixes are
   * listed again in one stream: a server whose order is not S3's byte order (s3rver's, for non-ASCII keys)
   * can make a segment stop early, and a missing key must mean the bucket lacks it.
   */
  expected?: readonly string[];
  /** Segments listed at once. @default 8 */
  concurrency?: number;
  /** Keys per page asked of the server (the server may return fewer). @default 1000 */
  pageSize?: number;
}

/** An ETag as listings and PUTs compare it: without surrounding quotes. */
export function normaliseEtag(etag: string): string {
  const quoted = etag.length >= 2 && etag.charCodeAt(0) === 34 && etag.charCodeAt(etag.length - 1) === 34;
  return quoted ? etag.slice(1, -1) : etag;
}

/**
 * The ETag of a response as claims keep it: without quotes (RGW's CopyObject answers one without, most
 * servers one with), and none when the server sent none or an empty one (Ceph RGW 16.2 does for
 * CompleteMultipartUpload): the final listing then supplies it (final-verification.ts).
 */
export function etagFrom(etag: string | undefined): string | undefined {
  return etag === undefined ? undefined : normaliseEtag(etag) || undefined;
}

/**
 * Keys in the order S3 lists them: by their UTF-8 bytes, which is code point order. JavaScript's own
 * comparison orders UTF-16 code units, which differs only between a surrogate pair (a code point above
 * U+FFFF) and a character from U+E000 to U+FFFF.
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** A UTF-16 code unit's place in code point order: surrogates (U+D800-DFFF) after U+E000-FFFF. */
function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit < 0xe000 ? unit + 0x2000 : unit - 0x800;
}

/** A code unit from U+D800 up: only keys holding one can sort differently in code point order. */
const HIGH_UNIT = /[\uD800-\uFFFF]/;

/**
 * `keys` sorted in place as S3 lists them (compareKeys). Keys without a code unit from U+D800 up sort
 * the same either way, so they take the engine's own sort: 10,000 keys through a JavaScript comparator
 * cost an unchanged deploy about 10 ms.
 */
export function sortKeys(keys: string[]): string[] {
  return keys.some((k) => HIGH_UNIT.test(k)) ? keys.sort(compareKeys) : keys.sort();
}

/** Every `every`th of `sorted`, but the last key: where parallel segments of about `every` keys start. */
function everyNth(sorted: readonly string[], every: number): string[] {
  const out: string[] = [];
  for (let i = every - 1; i < sorted.length - 1; i += every) out.push(sorted[i]!);
  return out;
}

/** The keys under one of `prefixes`. */
function keysInside(keys: Iterable<string>, prefixes: readonly string[]): string[] {
  const inside: string[] = [];
  for (const k of keys) if (prefixes.some((p) => k.startsWith(p))) inside.push(k);
  return inside;
}

/**
 * Every `every`th of the keys under `prefixes`, in listing order: where parallel segments of a listing of
 * about `every` keys each can start (for example from the keys of the previous deploy's record).
 */
export function splitKeysOf(keys: Iterable<string>, prefixes: readonly string[], every = 1000): string[] {
  return everyNth(sortKeys(keysInside(keys, prefixes)), every);
}

interface Segment {
  prefix: string;
  /** List keys after this one (exclusive). */
  after: string | undefined;
  /** Stop after this key (inclusive); undefined: to the end of the prefix. */
  last: string | undefined;
}

/** The prefixes cut at the split keys that fall inside them. */
export function listingSegments(prefixes: readonly string[], splitKeys: readonly string[] = []): Segment[] {
  const out: Segment[] = [];
  for (const prefix of new Set(prefixes)) {
    const inside = splitKeys.filter((k) => k.startsWith(prefix));
    let after: string | undefined;
    for (const split of inside) {
      out.push({ prefix, after, last: split });
      after = split;
    }
    out.push({ prefix, after, last: undefined });
  }
  return out;
}

/**
 * How many of a page's objects (in key order) come up to `last`, inclusive: found by halving, since a page
 * holds up to 1,000 keys and only the first of a segment's pages usually reaches its last key. On a page
 * out of order (s3rver's, for non-ASCII keys) it may keep a key past `last` or stop early: what it keeps
 * was listed all the same, and a key missed makes listBucket list again in one stream.
 */
function keptUpTo(objects: readonly { key: string }[], last: string): number {
  let low = 0;
  let high = objects.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (compareKeys(objects[mid]!.key, last) <= 0) low = mid + 1;
    else high = mid;
  }
  return low;
}

async function listSegment(
  options: ListBucketOptions,
  segment: Segment,
  into: Map<string, ListedObject>,
): Promise<void> {
  let marker = segment.after;
  for (;;) {
    const page = await options.store.listObjects({
      bucket: options.bucket,
      prefix: segment.prefix,
      marker,
      maxKeys: options.pageSize ?? 1000,
    });
    const { objects } = page;
    const kept = segment.last === undefined ? objects.length : keptUpTo(objects, segment.last);
    for (let i = 0; i < kept; i++) {
      const o = objects[i]!;
      into.set(o.key, { etag: etagFrom(o.etag) ?? '', size: o.size, lastModified: o.lastModified });
    }
    // The segment's last key reached: done, without asking for a page beyond it.
    if (kept < objects.length || (kept > 0 && objects[kept - 1]!.key === segment.last)) return;
    const next = page.nextMarker ?? page.objects.at(-1)?.key;
    if (!page.isTruncated || next === undefined || next === marker) return;
    marker = next;
  }
}

/**
 * Every object under `prefixes`, by key (in no particular order). Requests: about one per 1,000 keys,
 * plus one per segment.
 */
export async function listBucket(options: ListBucketOptions): Promise<Map<string, ListedObject>> {
  const { expected } = options;
  if (expected === undefined) return listSegments(options, options.splitKeys);
  // Filtered and sorted once: the split keys are every 1,000th of these.
  const inside = sortKeys(keysInside(expected, options.prefixes));
  const splitKeys = everyNth(inside, 1000);
  if (splitKeys.length === 0) return listSegments(options, []);
  const cut = await listSegments(options, splitKeys);
  return inside.every((k) => cut.has(k)) ? cut : listSegments(options, []);
}

async function listSegments(
  options: ListBucketOptions,
  splitKeys: readonly string[] | undefined,
): Promise<Map<string, ListedObject>> {
  const segments = listingSegments(options.prefixes, splitKeys);
  // Segments hold distinct keys: they fill one map, in the order their pages come.
  const out = new Map<string, ListedObject>();
  let next = 0;
  const worker = async () => {
    while (next < segments.length) await listSegment(options, segments[next++]!, out);
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 8, segments.length) }, worker));
  return out;
}
