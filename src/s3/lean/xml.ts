// A small, strict XML reader for the answers of the lean S3 path: ListObjects (v1) results,
// ListMultipartUploads results and error bodies. It builds a tree of elements (attributes and
// namespaces ignored: S3 puts none we need), decodes the five named entities and numeric character
// references, and throws on anything that is not well-formed, with the SDK's "Deserialization error"
// wording, which diagnosis.ts recognises as "not an S3 API" (an HTML page, for example).

/** One element: its name, its child elements, and its text (the decoded text directly inside it). */
export interface XmlElement {
  name: string;
  children: XmlElement[];
  text: string;
}

const NAMED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function malformed(why: string): Error {
  return Object.assign(new Error(`Deserialization error: the answer is not well-formed XML (${why})`), {
    name: 'XmlParseError',
  });
}

/** Text with its entities and character references decoded; an unknown entity is an error. */
export function decodeEntities(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&([^;&\s]*);?/g, (whole, name: string) => {
    if (!whole.endsWith(';')) throw malformed(`an unterminated entity near "${whole}"`);
    if (name.startsWith('#')) {
      const code = name[1] === 'x' ? Number.parseInt(name.slice(2), 16) : Number.parseInt(name.slice(1), 10);
      if (!Number.isInteger(code) || code < 0 || code > 0x10ffff || !/^#(x[0-9a-fA-F]+|\d+)$/.test(name))
        throw malformed(`a bad character reference &${name};`);
      return String.fromCodePoint(code);
    }
    const named = NAMED[name];
    if (named === undefined) throw malformed(`an unknown entity &${name};`);
    return named;
  });
}

const NAME = /^[A-Za-z_][\w.:-]*$/;
const ATTRIBUTES = /^(?:\s+[\w.:-]+\s*=\s*(?:"[^"]*"|'[^']*'))*\s*$/;

/** The document's root element. Scans with indexOf (a listing page of 1,000 keys is about 300 KB). */
export function parseXml(xml: string): XmlElement {
  // A listing page repeats the same dozen tags a thousand times: each is checked once.
  const checkedTags = new Map<string, string>();
  const stack: XmlElement[] = [];
  let top: XmlElement | undefined;
  let root: XmlElement | undefined;
  let i = 0;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = xml.slice(i, lt === -1 ? xml.length : lt);
    if (top !== undefined) {
      if (text !== '') top.text += decodeEntities(text);
    } else if (text.trim() !== '') throw malformed('text outside the root element');
    if (lt === -1) break;
    if (xml.startsWith('<![CDATA[', lt)) {
      const close = xml.indexOf(']]>', lt);
      if (close === -1 || top === undefined)
        throw malformed('a CDATA section outside an element, or unterminated');
      top.text += xml.slice(lt + 9, close);
      i = close + 3;
      continue;
    }
    i = skipMarkup(xml, lt);
    if (i !== lt) continue;
    const gt = tagEnd(xml, lt);
    i = gt + 1;
    if (xml.charCodeAt(lt + 1) === 47 /* / */) {
      const name = xml.slice(lt + 2, gt).trimEnd();
      if (top?.name !== name) throw malformed(`</${name}> closes <${top?.name ?? 'nothing'}>`);
      stack.pop();
      top = stack.at(-1);
      continue;
    }
    const selfClosing = xml.charCodeAt(gt - 1) === 47;
    const name = tagName(xml.slice(lt + 1, selfClosing ? gt - 1 : gt), checkedTags, lt);
    if (root !== undefined && top === undefined) throw malformed('a second root element');
    const element: XmlElement = { name, children: [], text: '' };
    if (top !== undefined) top.children.push(element);
    else root = element;
    if (!selfClosing) {
      stack.push(element);
      top = element;
    }
  }
  if (top !== undefined) throw malformed(`<${top.name}> is never closed`);
  if (root === undefined) throw malformed('no root element');
  return root;
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
  const ends: [string, string][] = [
    ['<?', '?>'],
    ['<!--', '-->'],
    ['<!DOCTYPE', '>'],
  ];
  for (const [start, end] of ends) {
    if (!xml.startsWith(start, lt)) continue;
    const close = xml.indexOf(end, lt + start.length);
    if (close === -1) throw malformed(`an unterminated ${start}`);
    return close + end.length;
  }
  return lt;
}

/** The children named `name`. */
export function childrenNamed(element: XmlElement, name: string): XmlElement[] {
  return element.children.filter((c) => c.name === name);
}

/** The text of the first child named `name`, or undefined when there is none. */
export function childText(element: XmlElement, name: string): string | undefined {
  return element.children.find((c) => c.name === name)?.text;
}
