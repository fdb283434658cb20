// Random ListObjects pages for comparing the listing reader with the tree reader
// (test/listing-page.test.ts): shaped like the servers' answers, but with what a page may also hold:
// entities, CDATA, comments, repeated or missing fields, nested elements, odd sizes and dates, and,
// for some, one corruption (a character cut or inserted, the end cut off) so they are not well-formed.
import type { Rng } from '../../bench/rng.js';

const TEXTS = [
  'static/a b.css',
  'ünï/ß',
  '😀',
  '&amp;',
  '&lt;tag&gt;',
  '&quot;',
  '&apos;',
  '&#233;',
  '&#x1F600;',
  '<![CDATA[raw <key> & ]]>',
  '<!-- note -->',
  '<Nested>inner</Nested>',
  '<Key>deeper</Key>',
  '<Empty/>',
  ' ',
  '\n  ',
  'true',
  ' true ',
  'false',
  '12',
  ' 7 ',
  'x',
  '2026-12-02T10:50:00.000Z',
  'Wed, 02 Dec 2026 10:50:00 GMT',
  'not a date',
  '"d41d8cd98f00b204e9800998ecf8427e"',
];
const CORRUPTIONS = [
  '<',
  '>',
  '&',
  '&bogus;',
  '&#;',
  '&#xZZ;',
  '</Key>',
  '<Key>',
  ']]>',
  '<![CDATA[',
  '<!--',
  '"',
];

/** A page of up to a few <Contents>, well-formed unless `corrupt` picked a corruption. */
export function randomListing(rng: Rng): string {
  const pick = <T>(items: readonly T[]) => items[rng.int(0, items.length - 1)]!;
  const text = () => Array.from({ length: rng.int(0, 3) }, () => pick(TEXTS)).join('');
  const element = (name: string) => (rng.float() < 0.1 ? `<${name}/>` : `<${name}>${text()}</${name}>`);
  const some = (names: readonly string[], most: number) =>
    Array.from({ length: rng.int(0, most) }, () => element(pick(names))).join(pick(['', '\n  ']));
  const contents = () =>
    rng.float() < 0.05
      ? '<Contents/>'
      : `<Contents>${some(['Key', 'Key', 'ETag', 'Size', 'LastModified', 'Owner', 'StorageClass'], 7)}</Contents>`;
  const children = Array.from({ length: rng.int(0, 6) }, () =>
    rng.float() < 0.5 ? contents() : some(['Name', 'Prefix', 'IsTruncated', 'NextMarker', 'Marker'], 2),
  );
  const root = rng.float() < 0.95 ? 'ListBucketResult' : pick(['Error', 'ListAllMyBucketsResult', 'html']);
  const page = `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${children.join('')}</${root}>`;
  return rng.float() < 0.3 ? corrupt(page, rng) : page;
}

/** `page` with one corruption: a character cut, a piece inserted, or the end cut off. */
function corrupt(page: string, rng: Rng): string {
  const at = rng.int(0, page.length - 1);
  const kind = rng.int(0, 2);
  if (kind === 0) return page.slice(0, at) + page.slice(at + 1);
  if (kind === 1) return page.slice(0, at) + CORRUPTIONS[rng.int(0, CORRUPTIONS.length - 1)] + page.slice(at);
  return page.slice(0, at);
}
