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
  /** Segments listed at once. @default 8 */
  concurrency?: number;
  /** Keys per page asked of the server (the server may return fewer). @default 1000 */
  pageSize?: number;
}

/** An ETag as listings and PUTs compare it: without surrounding quotes. */
export function normaliseEtag(etag: string): string {
  return etag.replace(/^"(.*)"$/, '$1');
}

/**
 * The ETag of a response as claims keep it: without quotes (RGW's CopyObject answers one without, most
 * servers one with), and none when the server sent none or an empty one (Ceph RGW 16.2 does for
 * CompleteMultipartUpload): the final listing then supplies it (final-verification.ts).
 */
export function etagFrom(etag: string | undefined): string | undefined {
  return etag === undefined ? undefined : normaliseEtag(etag) || undefined;
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
    for (const o of page.objects) {
      if (segment.last !== undefined && o.key > segment.last) return;
      into.set(o.key, {
        etag: etagFrom(o.etag) ?? '',
        size: o.size,
        lastModified: o.lastModified?.toISOString(),
      });
    }
    const next = page.nextMarker ?? page.objects.at(-1)?.key;
    if (!page.isTruncated || next === undefined || next === marker) return;
    marker = next;
  }
}

/** Every object under `prefixes`, by key. Requests: about one per 1,000 keys, plus one per segment. */
export async function listBucket(options: ListBucketOptions): Promise<Map<string, ListedObject>> {
  const segments = listingSegments(options.prefixes, options.splitKeys);
  const results = segments.map(() => new Map<string, ListedObject>());
  let next = 0;
  const worker = async () => {
    while (next < segments.length) {
      const i = next++;
      await listSegment(options, segments[i]!, results[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 8, segments.length) }, worker));
  const out = new Map<string, ListedObject>();
  for (const r of results) for (const [k, v] of r) out.set(k, v);
  return out;
}
