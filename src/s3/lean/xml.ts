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

/** What may follow a tag's name: attributes, then the closing bracket. */
const TAG = /<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[\w.:-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/y;

/** The document's root element. */
export function parseXml(xml: string): XmlElement {
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let i = 0;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = xml.slice(i, lt === -1 ? xml.length : lt);
    if (text.trim() !== '' && stack.length === 0) throw malformed('text outside the root element');
    if (stack.length > 0) stack.at(-1)!.text += decodeEntities(text);
    if (lt === -1) break;
    if (xml.startsWith('<![CDATA[', lt)) {
      const close = xml.indexOf(']]>', lt);
      if (close === -1 || stack.length === 0)
        throw malformed('a CDATA section outside an element, or unterminated');
      stack.at(-1)!.text += xml.slice(lt + 9, close);
      i = close + 3;
      continue;
    }
    i = skipMarkup(xml, lt);
    if (i !== lt) continue;
    TAG.lastIndex = lt;
    const m = TAG.exec(xml);
    if (!m) throw malformed(`a bad tag at offset ${lt}`);
    i = TAG.lastIndex;
    const [, closing, name, , selfClosing] = m;
    if (closing) {
      const open = stack.pop();
      if (open?.name !== name) throw malformed(`</${name}> closes <${open?.name ?? 'nothing'}>`);
      continue;
    }
    if (root !== undefined && stack.length === 0) throw malformed('a second root element');
    const element: XmlElement = { name: name!, children: [], text: '' };
    if (stack.length > 0) stack.at(-1)!.children.push(element);
    else root = element;
    if (!selfClosing) stack.push(element);
  }
  if (stack.length > 0) throw malformed(`<${stack.at(-1)!.name}> is never closed`);
  if (root === undefined) throw malformed('no root element');
  return root;
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
