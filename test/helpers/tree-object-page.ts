// The reference for the listing reader (src/s3/lean/listing-page.ts): a ListObjects page read the way
// lean-store.ts read it before that reader existed, from the whole tree parseXml builds. Tests and
// bench/xml-listing.ts compare the two; keep this as it is, it is the behaviour the reader must keep.

import { childrenNamed, childText, parseXml } from '../../src/s3/lean/xml.js';
import type { ObjectPage } from '../../src/s3/object-store.js';

const isTrue = (text: string | undefined) => text?.trim() === 'true';
// LastModified was a Date then; pages now carry it as toISOString writes that Date.
const isoTimeOf = (text: string | undefined) => {
  const ms = text === undefined ? Number.NaN : Date.parse(text);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
};

/** The page in `xml`, or the error lean-store.ts threw for it. */
export function treeObjectPage(xml: string): ObjectPage {
  const root = parseXml(xml);
  if (root.name !== 'ListBucketResult')
    throw Object.assign(new Error(`Deserialization error: expected <ListBucketResult>, got <${root.name}>`), {
      name: 'XmlParseError',
    });
  return {
    objects: childrenNamed(root, 'Contents').flatMap((c) => {
      const key = childText(c, 'Key');
      if (key === undefined) return [];
      return [
        {
          key,
          etag: childText(c, 'ETag') ?? '',
          size: Number(childText(c, 'Size') ?? 0),
          lastModified: isoTimeOf(childText(c, 'LastModified')),
        },
      ];
    }),
    isTruncated: isTrue(childText(root, 'IsTruncated')),
    nextMarker: childText(root, 'NextMarker') || undefined,
  };
}
