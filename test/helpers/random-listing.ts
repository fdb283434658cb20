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

const USUAL_KEYS = [
  'static/a b.css',
  'ünï/ß.js',
  '😀.svg',
  'a&amp;b.txt',
  '&lt;tag&gt;',
  '&quot;q&apos;',
  '&#x27;s3rver&#39;',
  'x',
];

/**
 * A page shaped as the servers send it (what plain-listing.ts reads itself): every <Contents> with Key,
 * LastModified, ETag written &quot;...&quot;, sometimes other fields before Size, then Size, StorageClass
 * and an Owner holding fields; root fields before and after. With `corrupt`, one corruption.
 */
export function usualListing(rng: Rng, corrupted = false): string {
  const pick = <T>(items: readonly T[]) => items[rng.int(0, items.length - 1)]!;
  const gap = () => pick(['', '', '\n  ']);
  const contents = () =>
    `<Contents>${gap()}<Key>${pick(USUAL_KEYS)}${rng.int(0, 999)}</Key><LastModified>${pick(['2026-12-02T10:50:00.000Z', 'soon'])}</LastModified>` +
    `<ETag>&quot;${rng.int(0, 1e9).toString(16)}&quot;</ETag>${rng.float() < 0.2 ? '<ChecksumAlgorithm>CRC32</ChecksumAlgorithm>' : ''}` +
    `<Size>${pick(['12', ' 7 ', '0', ''])}</Size>${gap()}<StorageClass>STANDARD</StorageClass>` +
    `${rng.float() < 0.7 ? '<Owner><ID>abc</ID><DisplayName>me</DisplayName></Owner>' : ''}${gap()}</Contents>`;
  const field = () => {
    const name = pick(['Name', 'Prefix', 'Marker', 'MaxKeys', 'IsTruncated', 'NextMarker', 'EncodingType']);
    return rng.float() < 0.1
      ? `<${name}/>`
      : `<${name}>${pick(['', 'true', 'false', ' true ', 'a&amp;b', 'p/'])}</${name}>`;
  };
  const children = [
    ...Array.from({ length: rng.int(0, 3) }, field),
    ...Array.from({ length: rng.int(0, 8) }, contents),
    ...Array.from({ length: rng.int(0, 2) }, field),
    rng.float() < 0.2 ? '<CommonPrefixes><Prefix>p/</Prefix></CommonPrefixes>' : '',
  ];
  const page = `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${children.join(gap())}</ListBucketResult>${gap()}`;
  return corrupted ? corrupt(page, rng) : page;
}
