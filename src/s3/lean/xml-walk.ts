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

/** Walks `xml`, telling `handler` what it meets; returns the root element's name. Scans with indexOf. */
export function walkXml(xml: string, handler: XmlHandler): string {
  // A listing page repeats the same dozen tags a thousand times: each is checked once.
  const checkedTags = new Map<string, string>();
  const open: string[] = [];
  let root: string | undefined;
  // Where the next '&' is, found again only once passed: text without one needs no entity check.
  let nextAmp = -1;
  let i = 0;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const end = lt === -1 ? xml.length : lt;
    if (end > i) {
      if (open.length === 0) {
        if (xml.slice(i, end).trim() !== '') throw malformed('text outside the root element');
      } else {
        if (nextAmp < i) nextAmp = ampersandFrom(xml, i);
        const encoded = nextAmp < end;
        if (encoded) checkEntities(xml, i, end);
        handler.text(xml, i, end, encoded);
      }
    }
    if (lt === -1) break;
    if (xml.startsWith(CDATA_START, lt)) {
      const close = xml.indexOf(CDATA_END, lt);
      if (close === -1 || open.length === 0)
        throw malformed('a CDATA section outside an element, or unterminated');
      if (close > lt + CDATA_START.length) handler.text(xml, lt + CDATA_START.length, close, false);
      i = close + CDATA_END.length;
      continue;
    }
    i = skipMarkup(xml, lt);
    if (i !== lt) continue;
    const gt = tagEnd(xml, lt);
    i = gt + 1;
    if (xml.charCodeAt(lt + 1) === 47 /* / */) {
      closeTag(xml, lt, gt, open);
      handler.close();
      continue;
    }
    const selfClosing = xml.charCodeAt(gt - 1) === 47;
    const name = tagName(xml.slice(lt + 1, selfClosing ? gt - 1 : gt), checkedTags, lt);
    if (root !== undefined && open.length === 0) throw malformed('a second root element');
    root ??= name;
    handler.open(name);
    if (selfClosing) handler.close();
    else open.push(name);
  }
  if (open.length > 0) throw malformed(`<${open.at(-1)}> is never closed`);
  if (root === undefined) throw malformed('no root element');
  return root;
}

/** The index of the first '&' at or after `from`, or the document's length when there is none. */
function ampersandFrom(xml: string, from: number): number {
  const amp = xml.indexOf('&', from);
  return amp === -1 ? xml.length : amp;
}

/** Checks the end tag xml[lt, gt] against the open element, and pops it. */
function closeTag(xml: string, lt: number, gt: number, open: string[]): void {
  const expected = open.at(-1);
  // Compared in place; only a tag that differs, or has spaces before its '>', is cut out and trimmed.
  const exact = expected !== undefined && gt - lt - 2 === expected.length && xml.startsWith(expected, lt + 2);
  if (!exact) {
    const name = xml.slice(lt + 2, gt).trimEnd();
    if (expected !== name) throw malformed(`</${name}> closes <${expected ?? 'nothing'}>`);
  }
  open.pop();
}

/** The element name of a start tag's inside (`Key`, `ListBucketResult xmlns="..."`), checked once per document. */
function tagName(inside: string, checked: Map<string, string>, offset: number): string {
  const known = checked.get(inside);
  if (known !== undefined) return known;
  const nameEnd = inside.search(/[\s]|$/);
  const name = inside.slice(0, nameEnd);
  if (!NAME.test(name) || !ATTRIBUTES.test(inside.slice(nameEnd)))
    throw malformed(`a bad tag at offset ${offset}`);
  checked.set(inside, name);
  return name;
}

/** Where the tag starting at `lt` ends (its `>`), quoted attribute values skipped. */
function tagEnd(xml: string, lt: number): number {
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
  const next = xml.charCodeAt(lt + 1);
  if (next !== 63 /* ? */ && next !== 33 /* ! */) return lt;
  for (const [start, end] of SKIPPED) {
    if (!xml.startsWith(start, lt)) continue;
    const close = xml.indexOf(end, lt + start.length);
    if (close === -1) throw malformed(`an unterminated ${start}`);
    return close + end.length;
  }
  return lt;
}
