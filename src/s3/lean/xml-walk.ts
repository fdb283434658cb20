// The strict XML walk under both readers of the lean path's answers: the tree builder (xml.ts) and the
// ListObjects page reader (listing-page.ts). It checks that the document is well-formed (one root,
// tags closed in order, names and attributes well-formed, every entity known: xml-entities.ts) and tells
// a handler what it meets, in document order, without building anything itself: an element opened
// (attributes and namespaces ignored: S3 puts none we need), text directly inside the open element (as
// offsets, so a handler slices or decodes only the text it keeps), an element closed. Anything not
// well-formed throws a "Deserialization error" (xml-error.ts), at the point where it is met: a handler
// has then seen the document up to there, and its result must be dropped.

import { checkEntities } from './xml-entities.js';
import { malformed } from './xml-error.js';

/** What the walk tells, in document order. */
export interface XmlHandler {
  /** A start tag, or an empty-element tag (`<Empty/>`, closed at once), of an element named `name`. */
  open(name: string): void;
  /**
   * Text directly inside the open element: xml[start, end), never empty. `encoded`: it holds entities,
   * already checked, to decode with decodeText (xml-entities.ts); else it is taken as it is (plain text,
   * or a CDATA section's content).
   */
  text(xml: string, start: number, end: number, encoded: boolean): void;
  /** The end of the open element. */
  close(): void;
}

const NAME = /^[A-Za-z_][\w.:-]*$/;
const ATTRIBUTES = /^(?:\s+[\w.:-]+\s*=\s*(?:"[^"]*"|'[^']*'))*\s*$/;
const CDATA_START = '<![CDATA[';
const CDATA_END = ']]>';
const SKIPPED: readonly (readonly [start: string, end: string])[] = [
  ['<?', '?>'],
  ['<!--', '-->'],
  ['<!DOCTYPE', '>'],
];

/**
 * Walks `xml`, telling `handler` what it meets; returns the root element's name. One loop from '<' to
 * '<' (indexOf), the usual tags handled in it and the rest in helpers: a deploy reads about ten pages,
 * mostly before V8 optimises this code, when every call counts.
 */
export function walkXml(xml: string, handler: XmlHandler): string {
  const startTags = new StartTags();
  /** The names of the open elements, innermost last. */
  const open: string[] = [];
  let root: string | undefined;
  /** Where the next '&' is, found again only once passed: text without one needs no entity check. */
  let nextAmp = -1;
  let i = 0;
  while (i < xml.length) {
    let lt = xml.indexOf('<', i);
    if (lt === -1) lt = xml.length;
    if (lt > i) {
      if (open.length === 0) checkOutsideText(xml, i, lt);
      else {
        if (nextAmp < i) nextAmp = ampersandFrom(xml, i);
        const encoded = nextAmp < lt;
        if (encoded) checkEntities(xml, i, lt);
        handler.text(xml, i, lt, encoded);
      }
    }
    if (lt === xml.length) break;
    const next = xml.charCodeAt(lt + 1);
    if (next === 47 /* / */) {
      // The usual `</Name>` of the open element is compared in place; any other is cut out and trimmed.
      const expected = open.length > 0 ? open[open.length - 1]! : '';
      let gt = lt + 2 + expected.length;
      if (expected === '' || xml.charCodeAt(gt) !== 62 || !xml.startsWith(expected, lt + 2))
        gt = unusualEndTag(xml, lt, open);
      open.pop();
      handler.close();
      i = gt + 1;
      continue;
    }
    if (next === 33 /* ! */ || next === 63 /* ? */) {
      if (xml.startsWith(CDATA_START, lt)) {
        const close = cdataEnd(xml, lt, open.length);
        if (close > lt + CDATA_START.length) handler.text(xml, lt + CDATA_START.length, close, false);
        i = close + CDATA_END.length;
        continue;
      }
      const after = skipMarkup(xml, lt);
      if (after !== lt) {
        i = after;
        continue;
      }
    }
    const gt = tagEnd(xml, lt);
    const selfClosing = xml.charCodeAt(gt - 1) === 47 /* / */;
    const name = startTags.nameAt(xml, lt + 1, selfClosing ? gt - 1 : gt);
    if (root !== undefined && open.length === 0) throw malformed('a second root element');
    root ??= name;
    handler.open(name);
    if (selfClosing) handler.close();
    else open.push(name);
    i = gt + 1;
  }
  if (open.length > 0) throw malformed(`<${open[open.length - 1]}> is never closed`);
  if (root === undefined) throw malformed('no root element');
  return root;
}

/** Throws unless xml[start, end), outside the root element, is only whitespace. */
function checkOutsideText(xml: string, start: number, end: number): void {
  if (xml.slice(start, end).trim() !== '') throw malformed('text outside the root element');
}

/** Where the CDATA section starting at `lt` ends (its `]]>`); throws outside an element, or unterminated. */
function cdataEnd(xml: string, lt: number, depth: number): number {
  const close = xml.indexOf(CDATA_END, lt);
  if (close === -1 || depth === 0) throw malformed('a CDATA section outside an element, or unterminated');
  return close;
}

/** Where the end tag at `lt` ends, when it is not `</Name>` of the open element; throws unless it closes that one. */
function unusualEndTag(xml: string, lt: number, open: readonly string[]): number {
  const expected = open.length > 0 ? open[open.length - 1] : undefined;
  const gt = tagEnd(xml, lt);
  const name = xml.slice(lt + 2, gt).trimEnd();
  if (expected !== name) throw malformed(`</${name}> closes <${expected ?? 'nothing'}>`);
  return gt;
}

/** The index of the first '&' at or after `from`, or the document's length when there is none. */
function ampersandFrom(xml: string, from: number): number {
  const amp = xml.indexOf('&', from);
  return amp === -1 ? xml.length : amp;
}

/**
 * The element names of a document's start tags, each distinct tag checked once: a listing page repeats
 * the same dozen tags a thousand times. A tag already met is recognised in place, by its length and first
 * character, then compared whole, without cutting it out of the document.
 */
class StartTags {
  readonly #known = new Map<number, { inside: string; name: string }[]>();

  /** The name of the element whose start tag's inside (`Key`, `ListBucketResult xmlns="..."`) is xml[start, end). */
  nameAt(xml: string, start: number, end: number): string {
    const key = (end - start) * 0x10000 + xml.charCodeAt(start);
    const candidates = this.#known.get(key);
    if (candidates !== undefined)
      for (let c = 0; c < candidates.length; c++)
        if (xml.startsWith(candidates[c]!.inside, start)) return candidates[c]!.name;
    const inside = xml.slice(start, end);
    const name = checkedName(inside, start - 1);
    if (candidates !== undefined) candidates.push({ inside, name });
    else this.#known.set(key, [{ inside, name }]);
    return name;
  }
}

/** The element name in a start tag's inside; throws when the name or the attributes are not well-formed. */
function checkedName(inside: string, offset: number): string {
  const nameEnd = inside.search(/[\s]|$/);
  const name = inside.slice(0, nameEnd);
  if (!NAME.test(name) || !ATTRIBUTES.test(inside.slice(nameEnd)))
    throw malformed(`a bad tag at offset ${offset}`);
  return name;
}

const TAG_STOP = /[<>"']/g;

/** Where the tag starting at `lt` ends (its `>`), quoted attribute values skipped. */
function tagEnd(xml: string, lt: number): number {
  TAG_STOP.lastIndex = lt + 1;
  if (TAG_STOP.test(xml) && xml.charCodeAt(TAG_STOP.lastIndex - 1) === 62) return TAG_STOP.lastIndex - 1;
  let quote = 0;
  for (let j = lt + 1; j < xml.length; j++) {
    const c = xml.charCodeAt(j);
    if (quote !== 0) {
      if (c === quote) quote = 0;
    } else if (c === 34 || c === 39) quote = c;
    else if (c === 62) return j;
    else if (c === 60) break;
  }
  throw malformed(`an unterminated tag at offset ${lt}`);
}

/** After a declaration, comment or doctype starting at `lt`, or `lt` when there is none. */
function skipMarkup(xml: string, lt: number): number {
  for (const [start, end] of SKIPPED) {
    if (!xml.startsWith(start, lt)) continue;
    const close = xml.indexOf(end, lt + start.length);
    if (close === -1) throw malformed(`an unterminated ${start}`);
    return close + end.length;
  }
  return lt;
}
