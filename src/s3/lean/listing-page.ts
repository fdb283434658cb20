// A ListObjects (v1) page read straight from the answer, without a tree: the strict walk of xml-walk.ts
// (every well-formedness and entity check, the same errors as parseXml) with a handler that keeps only
// what an ObjectPage holds: each <Contents>' Key, ETag, Size and LastModified, and the root's
// IsTruncated and NextMarker. A listing of 1,000 keys is about 300 KB; other text is never sliced.
// What it reports is what reading the tree gave: the first child of a name counts, its direct text only
// (entities decoded, CDATA as is), a <Contents> without <Key> is skipped, Size defaults to 0, an empty
// NextMarker is none.

import type { ObjectPage, StoredObject } from '../object-store.js';
import { isoTimeOf } from './listing-time.js';
import { readPlainObjectPage } from './plain-listing.js';
import { decodeText } from './xml-entities.js';
import { unexpectedRoot } from './xml-error.js';
import { walkXml, type XmlHandler } from './xml-walk.js';

/** The elements whose text a page keeps: the root's (depth 2) and a <Contents>' (depth 3). */
type Kept = 'IsTruncated' | 'NextMarker' | 'Key' | 'ETag' | 'Size' | 'LastModified';
const ROOT_FIELDS: ReadonlySet<string> = new Set<Kept>(['IsTruncated', 'NextMarker']);
const CONTENTS_FIELDS: ReadonlySet<string> = new Set<Kept>(['Key', 'ETag', 'Size', 'LastModified']);

/** The text of the kept elements met so far, by name: absent until the first one opens. */
type Texts = Partial<Record<Kept, string>>;

/**
 * The page in `xml`, the body of a ListObjects answer; throws a "Deserialization error" as parseXml does.
 * The usual page is read by plain-listing.ts; this walk reads what that one leaves.
 */
export function readObjectPage(xml: string): ObjectPage {
  return readPlainObjectPage(xml) ?? readWalkedObjectPage(xml);
}

/** The page in `xml`, read by the strict walk. */
export function readWalkedObjectPage(xml: string): ObjectPage {
  const reader = new PageReader();
  const root = walkXml(xml, reader);
  if (root !== 'ListBucketResult') throw unexpectedRoot('ListBucketResult', root);
  return {
    objects: reader.objects,
    isTruncated: reader.root.IsTruncated?.trim() === 'true',
    nextMarker: reader.root.NextMarker || undefined,
  };
}

/** The walk's handler: follows the depth, and collects the text of kept elements at theirs. */
class PageReader implements XmlHandler {
  readonly objects: StoredObject[] = [];
  readonly root: Texts = {};
  /** The open <Contents>' texts, or undefined outside one. */
  private contents: Texts | undefined;
  private depth = 0;
  /** The kept element being read, in `target`, and its depth (0: none). */
  private kept: Kept | undefined;
  private target: Texts = {};
  private keptDepth = 0;

  open(name: string): void {
    this.depth++;
    if (this.depth === 2 && name === 'Contents') this.contents = {};
    else if (this.depth === 2 && ROOT_FIELDS.has(name)) this.keep(this.root, name as Kept);
    else if (this.depth === 3 && this.contents !== undefined && CONTENTS_FIELDS.has(name))
      this.keep(this.contents, name as Kept);
  }

  text(xml: string, start: number, end: number, encoded: boolean): void {
    if (this.depth !== this.keptDepth || this.kept === undefined) return;
    this.target[this.kept] += encoded ? decodeText(xml, start, end) : xml.slice(start, end);
  }

  close(): void {
    if (this.depth === this.keptDepth) this.keptDepth = 0;
    if (this.depth === 2 && this.contents !== undefined) {
      const object = storedObject(this.contents);
      if (object !== undefined) this.objects.push(object);
      this.contents = undefined;
    }
    this.depth--;
  }

  /** Reads the element `name` just opened into `texts`, unless an earlier one of that name was read. */
  private keep(texts: Texts, name: Kept): void {
    if (texts[name] !== undefined) return;
    texts[name] = '';
    this.kept = name;
    this.target = texts;
    this.keptDepth = this.depth;
  }
}

/** The object a <Contents> describes, or undefined when it has no <Key>. */
function storedObject(texts: Texts): StoredObject | undefined {
  if (texts.Key === undefined) return undefined;
  return {
    key: texts.Key,
    etag: texts.ETag ?? '',
    size: Number(texts.Size ?? 0),
    lastModified: isoTimeOf(texts.LastModified),
  };
}
