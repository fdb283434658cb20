// The listing reader (src/s3/lean/listing-page.ts) reads a ListObjects page without a tree: it must
// report what reading the tree reported (test/helpers/tree-object-page.ts, the reader it replaced), and
// refuse what the tree reader refused with the same "Deserialization error" words, which diagnosis.ts
// reads as "not an S3 API". Hand-written pages, seeded random ones, and real pages from the S3 server
// of the run with hostile keys, whole and cut at every offset.
import { ListObjectsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { Rng } from '../bench/rng.js';
import { LeanS3 } from '../src/s3/lean/lean-client.js';
import { readObjectPage, readWalkedObjectPage } from '../src/s3/lean/listing-page.js';
import { isoTimeOf } from '../src/s3/lean/listing-time.js';
import { readPlainObjectPage } from '../src/s3/lean/plain-listing.js';
import type { ObjectPage } from '../src/s3/object-store.js';
import { randomListing, usualListing } from './helpers/random-listing.js';
import { freshBucket, s3Backend, testClient } from './helpers/s3.js';
import { treeObjectPage } from './helpers/tree-object-page.js';

/** What a reader gave for `xml`: its page, or its error's name and message. */
function outcome(read: (xml: string) => ObjectPage, xml: string): ObjectPage | string {
  try {
    return read(xml);
  } catch (err) {
    return `${(err as Error).name}: ${(err as Error).message}`;
  }
}

const page = (inside: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${inside}</ListBucketResult>`;

describe('the listing reader', () => {
  const when = '2026-12-02T10:50:00.000Z';
  it.each([
    [
      'keys with entities, character references and CDATA, ETags written &quot;',
      page(
        '<IsTruncated>true</IsTruncated><NextMarker>a &amp; b</NextMarker>' +
          '<Contents><Key>a &amp; b/&lt;c&gt; &apos;d&apos;.txt</Key><LastModified>2026-12-02T10:50:00.000Z</LastModified><ETag>&quot;abc&quot;</ETag><Size>3</Size></Contents>' +
          '<Contents><Key>&#233;&#x1F600; +%~ </Key><ETag>"x"</ETag><Size>0</Size></Contents>' +
          '<Contents><Key><![CDATA[raw <key> & more]]></Key></Contents>',
      ),
      {
        objects: [
          { key: `a & b/<c> 'd'.txt`, etag: '"abc"', size: 3, lastModified: when },
          { key: 'é😀 +%~ ', etag: '"x"', size: 0, lastModified: undefined },
          { key: 'raw <key> & more', etag: '', size: 0, lastModified: undefined },
        ],
        isTruncated: true,
        nextMarker: 'a & b',
      },
    ],
    [
      'an empty NextMarker (none), IsTruncated with spaces, a Contents without Key (skipped)',
      page(
        '<IsTruncated> true </IsTruncated><NextMarker></NextMarker><Contents><ETag>"e"</ETag></Contents><Contents/>',
      ),
      { objects: [], isTruncated: true, nextMarker: undefined },
    ],
    [
      'the first Key of a Contents, its own text only (split by a comment, not a nested element)',
      page(
        '<Contents><Owner><Key>owner</Key></Owner><Key>fi<!-- x -->rst<Nested>no</Nested>!</Key><Key>second</Key><Size> 7 </Size></Contents>',
      ),
      {
        objects: [{ key: 'first!', etag: '', size: 7, lastModified: undefined }],
        isTruncated: false,
        nextMarker: undefined,
      },
    ],
    [
      'an empty first Key, a Size that is not a number, a date that is not a date',
      page('<Contents><Key/><Key>later</Key><Size>x</Size><LastModified>soon</LastModified></Contents>'),
      {
        objects: [{ key: '', etag: '', size: Number.NaN, lastModified: undefined }],
        isTruncated: false,
        nextMarker: undefined,
      },
    ],
    [
      'Contents and fields only where the tree reader looked: not nested deeper, not at the root',
      page(
        '<Key>root</Key><Marker><Contents><Key>deep</Key></Contents></Marker><IsTruncated>false</IsTruncated>',
      ),
      { objects: [], isTruncated: false, nextMarker: undefined },
    ],
  ])('reads %s as the tree reader did', (_, xml, expected) => {
    expect(readObjectPage(xml)).toEqual(expected);
    expect(readObjectPage(xml)).toEqual(treeObjectPage(xml));
  });

  const whole = page(
    '<Name>b</Name><Prefix>p/</Prefix><Marker></Marker><IsTruncated>false</IsTruncated>' +
      '<Contents><Key>p/a.txt</Key><LastModified>2026-12-02T10:50:00.000Z</LastModified><ETag>&quot;abc&quot;</ETag><Size>3</Size>' +
      '<Owner><ID>1</ID><DisplayName>me</DisplayName></Owner><StorageClass>STANDARD</StorageClass></Contents>',
  );
  const malformed: [string, string][] = [
    [
      'an HTML page',
      '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Hi</title></head><body></body></html>',
    ],
    ['a second root', `${whole}<ListBucketResult/>`],
    ['a mismatched closing tag', whole.replace('</Size>', '</Key>')],
    ['text outside the root', `${whole}\nmore`],
    ['another root element', '<ListAllMyBucketsResult><Buckets/></ListAllMyBucketsResult>'],
    ['nothing at all', ''],
    ...whole
      .split(/(?<=>)/)
      .map(
        (_, i, parts) =>
          [`the page cut after its tag ${i + 1}`, parts.slice(0, i + 1).join('')] as [string, string],
      )
      .slice(0, -1),
    // A bad entity inside each element, even those whose text the page does not keep.
    ...[
      'Name',
      'Prefix',
      'IsTruncated',
      'Key',
      'LastModified',
      'ETag',
      'Size',
      'ID',
      'DisplayName',
      'StorageClass',
    ].flatMap((name) =>
      ['&nbsp;', '&amp', '&#xZZ;', '& '].map(
        (bad) => [`${bad} in <${name}>`, whole.replace(`</${name}>`, `${bad}</${name}>`)] as [string, string],
      ),
    ),
  ];
  it.each(malformed)('refuses %s in the same words as the tree reader', (_, xml) => {
    const tree = outcome(treeObjectPage, xml);
    expect(tree).toMatch(/^XmlParseError: Deserialization error/);
    expect(outcome(readObjectPage, xml)).toBe(tree);
  });

  it('agrees with the tree reader on 3,000 random pages, well-formed or not', () => {
    const rng = new Rng(20261202);
    let read = 0;
    for (let n = 0; n < 3000; n++) {
      const xml = randomListing(rng);
      const tree = outcome(treeObjectPage, xml);
      expect(outcome(readObjectPage, xml), xml).toEqual(tree);
      if (typeof tree !== 'string') read += tree.objects.length;
    }
    expect(read).toBeGreaterThan(1000); // most pages are well-formed and hold objects
  });
});

// The plain reader answers only pages it reads exactly as the walk does; the rest it leaves to the walk.
describe('the plain reader of usual pages', () => {
  it('reads 2,000 random pages shaped as the servers send them, as the walk does', () => {
    const rng = new Rng(20261203);
    for (let n = 0; n < 2000; n++) {
      const xml = usualListing(rng);
      const plain = readPlainObjectPage(xml);
      expect(plain, xml).toBeDefined();
      expect(plain, xml).toEqual(readWalkedObjectPage(xml));
    }
  });

  it("gives the walk's page or none for 5,000 such pages with one corruption, never its own", () => {
    const rng = new Rng(20261204);
    let leftToTheWalk = 0;
    let readItself = 0;
    for (let n = 0; n < 5000; n++) {
      const xml = usualListing(rng, true);
      const plain = readPlainObjectPage(xml);
      if (plain === undefined) leftToTheWalk++;
      else {
        readItself++;
        expect(plain, xml).toEqual(outcome(readWalkedObjectPage, xml));
      }
      expect(outcome(readObjectPage, xml)).toEqual(outcome(readWalkedObjectPage, xml));
    }
    // Both branches are exercised: a corruption in text often leaves a page well-formed.
    expect(leftToTheWalk).toBeGreaterThan(1000);
    expect(readItself).toBeGreaterThan(500);
  });

  it('leaves CDATA, comments, long character references and other orders to the walk', () => {
    const usual =
      '<Contents><Key>k</Key><LastModified>2026-12-02T10:50:00.000Z</LastModified><ETag>&quot;e&quot;</ETag><Size>1</Size></Contents>';
    expect(readPlainObjectPage(page(usual))).toBeDefined();
    for (const unusual of [
      usual.replace('<Key>k</Key>', '<Key><![CDATA[k]]></Key>'),
      usual.replace('<Size>', '<!-- c --><Size>'),
      usual.replace('<Key>k', '<Key>&#1234567;'),
      usual.replace('<Key>k', '<Key>&#x10FFFF;'),
      usual.replace('<Size>1</Size>', '<Size/>'),
      usual.replace(/<ETag>.*<\/ETag>/, ''),
      '<Contents><ETag>&quot;e&quot;</ETag><Key>k</Key><LastModified>x</LastModified><Size>1</Size></Contents>',
      usual.replace('<Size>1</Size>', '<Size>1</Size><Owner><ID><Deep/></ID></Owner>'),
      `<IsTruncated><x>y</x></IsTruncated>${usual}`,
    ]) {
      expect(readPlainObjectPage(page(unusual)), unusual).toBeUndefined();
      expect(outcome(readObjectPage, page(unusual))).toEqual(outcome(treeObjectPage, page(unusual)));
    }
  });
});

const HOSTILE_KEYS = [
  'hostile/a&amp;b.txt',
  'hostile/&lt;not-a-tag&gt; &#x41;&#65;.txt',
  `hostile/<tag> & "quoted" 'single'.txt`,
  'hostile/]]>end of cdata.txt',
  'hostile/<![CDATA[x]]>.txt',
  'hostile/semi;colon&amp',
  'hostile/ünï cødé/ß.txt',
  'hostile/日本語/キー.txt',
  'hostile/emoji 😀🎉/x.txt',
  'hostile/two  spaces /end .txt',
  'hostile/plus+percent%25~tilde!.txt',
];
const byUtf8 = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

describe("a listing's LastModified", () => {
  /** What Date makes of the text, written by toISOString: the answer the shortcut must give. */
  const throughDate = (text: string) => {
    const ms = Date.parse(text);
    return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
  };

  it('is what Date makes of it, for 20,000 random times from year 0 to 9999, as servers write them', () => {
    const rng = new Rng(11);
    const latest = Date.parse('9999-12-31T23:59:59.999Z');
    const earliest = Date.parse('0000-01-01T00:00:00.000Z');
    for (let i = 0; i < 20_000; i++) {
      const text = new Date(earliest + Math.floor(rng.float() * (latest - earliest))).toISOString();
      expect(isoTimeOf(text)).toBe(text);
    }
  });

  it.each([
    '2026-02-29T10:00:00.000Z',
    '2026-02-30T10:00:00.000Z',
    '2026-04-31T00:00:00.000Z',
    '2024-02-29T23:59:59.999Z',
    '2026-12-02T24:00:00.000Z',
    '2026-12-02T23:59:60.000Z',
    '2026-13-02T10:00:00.000Z',
    '2026-12-02T10:50:00Z',
    '2026-12-02T10:50:00.123456Z',
    '2026-12-02T10:50:00.000+01:00',
    'Wed, 02 Dec 2026 10:50:00 GMT',
    'soon',
    '',
  ])('%j is what Date makes of it', (text) => {
    expect(isoTimeOf(text)).toBe(throughDate(text));
  });
});

describe('real pages from the S3 server', () => {
  it('with hostile keys, page by page, as the tree reader and the SDK read them; cut anywhere, refused alike', async () => {
    const client = testClient();
    const bucket = await freshBucket('listing-page', client);
    for (const [i, key] of HOSTILE_KEYS.entries())
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.from('x'.repeat(i)) }));
    const info = s3Backend();
    const s3 = new LeanS3({
      endpoint: new URL(info.endpoint),
      region: info.region,
      credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey },
      maxSockets: 4,
      connectionTimeout: 10_000,
      socketTimeout: 60_000,
    });
    const rawPage = async (query: Record<string, string>) =>
      (await s3.send({ method: 'GET', bucket, query })).body.toString('utf8');

    // The whole listing in one page: each key, size and ETag as the SDK lists them.
    const xml = await rawPage({ prefix: 'hostile/' });
    const ours = readObjectPage(xml);
    expect(ours).toEqual(treeObjectPage(xml));
    // The server's page is a usual one: the plain reader read it, not the walk.
    expect(readPlainObjectPage(xml)).toEqual(ours);
    expect(ours.objects.map((o) => o.key)).toEqual([...HOSTILE_KEYS].sort(byUtf8));
    const sdk = await client.send(new ListObjectsCommand({ Bucket: bucket, Prefix: 'hostile/' }));
    expect(ours.objects.map((o) => [o.key, o.size, o.etag])).toEqual(
      (sdk.Contents ?? []).map((c) => [c.Key, c.Size, c.ETag]),
    );
    // LastModified as toISOString writes the SDK's Date: the text a claim's time is compared with.
    expect(ours.objects.map((o) => o.lastModified)).toEqual(
      (sdk.Contents ?? []).map((c) => c.LastModified?.toISOString()),
    );

    // Two keys a page, following the marker: truncated pages agree too.
    const keys: string[] = [];
    let marker: string | undefined;
    for (let pages = 0; pages < HOSTILE_KEYS.length; pages++) {
      const part = await rawPage({ prefix: 'hostile/', 'max-keys': '2', ...(marker ? { marker } : {}) });
      const read = readObjectPage(part);
      expect(read).toEqual(treeObjectPage(part));
      keys.push(...read.objects.map((o) => o.key));
      if (!read.isTruncated) break;
      marker = read.nextMarker ?? read.objects.at(-1)?.key;
    }
    expect(keys).toEqual([...HOSTILE_KEYS].sort(byUtf8));

    // The real page cut at every offset: what the tree reader said, said alike.
    for (let cut = 0; cut < xml.length; cut++) {
      const tree = outcome(treeObjectPage, xml.slice(0, cut));
      expect(outcome(readObjectPage, xml.slice(0, cut)), `cut at ${cut}`).toEqual(tree);
    }
    expect(outcome(readObjectPage, xml.slice(0, xml.lastIndexOf('<')))).toMatch(/is never closed/);
  });
});
