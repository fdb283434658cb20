// The tree reader for the answers of the lean S3 path: ListMultipartUploads results and error bodies
// (ListObjects pages are read without a tree, by listing-page.ts). It builds a tree of elements on the
// strict walk of xml-walk.ts, which throws on anything that is not well-formed, with the SDK's
// "Deserialization error" wording (xml-error.ts), which diagnosis.ts recognises as "not an S3 API".

import { decodeText } from './xml-entities.js';
import { walkXml } from './xml-walk.js';

export { decodeEntities } from './xml-entities.js';

/** One element: its name, its child elements, and its text (the decoded text directly inside it). */
export interface XmlElement {
  name: string;
  children: XmlElement[];
  text: string;
}

/** The document's root element. */
export function parseXml(xml: string): XmlElement {
  const open: XmlElement[] = [];
  let root: XmlElement | undefined;
  walkXml(xml, {
    open(name) {
      const element: XmlElement = { name, children: [], text: '' };
      const parent = open.at(-1);
      if (parent !== undefined) parent.children.push(element);
      else root = element;
      open.push(element);
    },
    text(xml, start, end, encoded) {
      open.at(-1)!.text += encoded ? decodeText(xml, start, end) : xml.slice(start, end);
    },
    close() {
      open.pop();
    },
  });
  return root!;
}

/** The children named `name`. */
export function childrenNamed(element: XmlElement, name: string): XmlElement[] {
  return element.children.filter((c) => c.name === name);
}

/** The text of the first child named `name`, or undefined when there is none. */
export function childText(element: XmlElement, name: string): string | undefined {
  return element.children.find((c) => c.name === name)?.text;
}
