// Entities and character references in XML text: the five named entities and `&#...;` / `&#x...;`;
// anything else after a `&` is an error (xml-error.ts). One grammar for the three readers of it: the
// walk (xml-walk.ts) checks every text without building a string, the consumers decode only the text
// they keep. An entity's name runs from the `&` to the first `;`, `&` or whitespace.

import { malformed } from './xml-error.js';

const REFERENCE = /^#(x[0-9a-fA-F]+|\d+)$/;
const NON_ASCII_SPACE = /\s/;

/** The index of the `;` closing the entity that starts at `amp`; throws when it is unterminated. */
function entityEnd(xml: string, amp: number, end: number): number {
  // The name ends at the first `;`, `&` or whitespace (what `\s` matches): ASCII tested inline, since
  // every ETag holds two entities.
  let j = amp + 1;
  for (; j < end; j++) {
    const c = xml.charCodeAt(j);
    if (c === 59 || c === 38 || c === 32 || (c >= 9 && c <= 13)) break;
    if (c >= 0x80 && NON_ASCII_SPACE.test(xml.charAt(j))) break;
  }
  if (j === end || xml.charCodeAt(j) !== 59)
    throw malformed(`an unterminated entity near "${xml.slice(amp, j)}"`);
  return j;
}

/** What the entity named xml[start, end) stands for (`quot`, `#233`, `#x1F600`); throws when it is unknown. */
function entityValue(xml: string, start: number, end: number): string {
  const length = end - start;
  if (length === 4 && xml.startsWith('quot', start)) return '"';
  if (length === 3 && xml.startsWith('amp', start)) return '&';
  if (length === 2 && xml.startsWith('lt', start)) return '<';
  if (length === 2 && xml.startsWith('gt', start)) return '>';
  if (length === 4 && xml.startsWith('apos', start)) return "'";
  const name = xml.slice(start, end);
  if (!name.startsWith('#')) throw malformed(`an unknown entity &${name};`);
  const code = name[1] === 'x' ? Number.parseInt(name.slice(2), 16) : Number.parseInt(name.slice(1), 10);
  if (!Number.isInteger(code) || code < 0 || code > 0x10ffff || !REFERENCE.test(name))
    throw malformed(`a bad character reference &${name};`);
  return String.fromCodePoint(code);
}

/** Throws unless every entity in xml[start, end) is one this reader knows. */
export function checkEntities(xml: string, start: number, end: number): void {
  for (let amp = xml.indexOf('&', start); amp !== -1 && amp < end; ) {
    const semicolon = entityEnd(xml, amp, end);
    entityValue(xml, amp + 1, semicolon);
    amp = xml.indexOf('&', semicolon + 1);
  }
}

/** xml[start, end) with its entities decoded; throws on an unknown or unterminated one. */
export function decodeText(xml: string, start: number, end: number): string {
  let decoded = '';
  let from = start;
  for (let amp = xml.indexOf('&', start); amp !== -1 && amp < end; amp = xml.indexOf('&', from)) {
    const semicolon = entityEnd(xml, amp, end);
    decoded += xml.slice(from, amp) + entityValue(xml, amp + 1, semicolon);
    from = semicolon + 1;
  }
  return from === start ? xml.slice(start, end) : decoded + xml.slice(from, end);
}

/** `text` with its entities and character references decoded; an unknown entity is an error. */
export function decodeEntities(text: string): string {
  return decodeText(text, 0, text.length);
}
