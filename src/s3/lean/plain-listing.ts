// The usual ListObjects page, read with a few sticky regular expressions instead of the strict walk
// (xml-walk.ts): what every server here and AWS send, <Contents> after <Contents>, each
// `Key, LastModified, ETag, (other fields), Size, (other fields)` with plain text, the five named
// entities and short character references. A deploy reads its ten or so pages before V8 has optimised
// any JavaScript, and a regular expression runs as native code from the start: this reads ten pages of
// 1,000 keys four times faster than the walk in a fresh process (bench/xml-listing.ts).
//
// It accepts only documents it can read exactly as listing-page.ts reads them: well-formed (every
// element closed by its own name, text without markup, entities known) and shaped as above. Anything
// else (CDATA, comments, long character references, empty-element fields, other orders, deeper nesting,
// something malformed) makes it answer undefined, and the caller reads the page with the strict walk,
// which gives the same page or the same error it always gave.

import type { ObjectPage, StoredObject } from '../object-store.js';
import { isoTimeOf } from './listing-time.js';
import { decodeText } from './xml-entities.js';

const NAME = '[A-Za-z_][\\w.:-]*';
/**
 * Text without markup: no '<', and '&' only as one of the five named entities or a character reference
 * short enough to be a valid one whatever its digits (at most 0xFFFFF or 999999: below 0x10FFFF).
 */
const TEXT = '[^<&]*(?:&(?:quot|amp|lt|gt|apos|#x[0-9a-fA-F]{1,5}|#[0-9]{1,6});[^<&]*)*';
/** An element holding text only; `n` is the number of its name's group, for the end tag. */
const simple = (n: number) => `<(${NAME})>${TEXT}</\\${n}>`;

const PROLOGUE = /\s*(?:<\?xml[^<>?]*\?>\s*)?<ListBucketResult(?:\s+[\w.:-]+\s*=\s*"[^"<&]*")*\s*>/y;
/**
 * One <Contents>: groups 1-3 Key, LastModified and ETag, 5 Size. Between ETag and Size any other field
 * but Size (so the Size read is the first); after Size any fields, and elements holding fields (Owner).
 */
const CONTENTS = new RegExp(
  `\\s*<Contents>\\s*<Key>(${TEXT})</Key>\\s*<LastModified>(${TEXT})</LastModified>\\s*<ETag>(${TEXT})</ETag>` +
    `(?:\\s*(?!<Size>)${simple(4)})*?\\s*<Size>(${TEXT})</Size>` +
    `(?:\\s*${simple(6)}|\\s*<(${NAME})>(?:\\s*${simple(8)})*\\s*</\\7>)*\\s*</Contents>`,
  'y',
);
/** Any other child of the root: groups 1-2 a field and its text, 3 an empty one, 4 one holding fields. */
const ROOT_CHILD = new RegExp(
  `\\s*(?:<(${NAME})>(${TEXT})</\\1>|<(${NAME})/>|<(${NAME})>(?:\\s*${simple(5)})+\\s*</\\4>)`,
  'y',
);
const END = /\s*<\/ListBucketResult>\s*$/y;

/** The root's fields a page keeps: the first of each name counts. */
interface RootFields {
  isTruncated: string | undefined;
  nextMarker: string | undefined;
}

/** The page in `xml`, when it is the usual page; undefined for anything else (see the top of this file). */
export function readPlainObjectPage(xml: string): ObjectPage | undefined {
  PROLOGUE.lastIndex = 0;
  if (!PROLOGUE.test(xml)) return undefined;
  const objects: StoredObject[] = [];
  const root: RootFields = { isTruncated: undefined, nextMarker: undefined };
  let at = PROLOGUE.lastIndex;
  for (;;) {
    CONTENTS.lastIndex = at;
    const contents = CONTENTS.exec(xml);
    if (contents !== null) {
      objects.push(storedObject(contents));
      at = CONTENTS.lastIndex;
      continue;
    }
    ROOT_CHILD.lastIndex = at;
    const child = ROOT_CHILD.exec(xml);
    if (child === null) break;
    if (!keepRootField(root, child)) return undefined;
    at = ROOT_CHILD.lastIndex;
  }
  END.lastIndex = at;
  if (!END.test(xml)) return undefined;
  return {
    objects,
    isTruncated: root.isTruncated?.trim() === 'true',
    nextMarker: root.nextMarker || undefined,
  };
}

/** Keeps a root child's text when it is a field the page reads; false when this reader cannot tell. */
function keepRootField(root: RootFields, child: RegExpExecArray): boolean {
  const holder = child[4];
  // A <Contents> not shaped as CONTENTS expects, or a kept field holding elements: the walk decides.
  if (holder !== undefined)
    return holder !== 'Contents' && holder !== 'IsTruncated' && holder !== 'NextMarker';
  const name = child[1] ?? child[3];
  if (name === 'Contents') return false;
  const text = child[2] === undefined ? '' : plain(child[2]);
  if (name === 'IsTruncated') root.isTruncated ??= text;
  else if (name === 'NextMarker') root.nextMarker ??= text;
  return true;
}

function storedObject(match: RegExpExecArray): StoredObject {
  return {
    key: plain(match[1]!),
    etag: plain(match[3]!),
    size: Number(plain(match[5]!)),
    lastModified: isoTimeOf(plain(match[2]!)),
  };
}

/**
 * Text as matched by TEXT, its entities decoded: `&quot;` first (every ETag holds two), `&amp;` last, so
 * the '&' it gives back never starts another entity. Character references (s3rver writes `'` as
 * `&#x27;`) are left to the walk's decoder.
 */
function plain(text: string): string {
  if (!text.includes('&')) return text;
  if (text.includes('&#')) return decodeText(text, 0, text.length);
  const unquoted = text.replaceAll('&quot;', '"');
  if (!unquoted.includes('&')) return unquoted;
  return unquoted
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&apos;', "'")
    .replaceAll('&amp;', '&');
}
