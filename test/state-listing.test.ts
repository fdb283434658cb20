// listBucket (src/deploy/state/listing.ts) against the real S3 server of the run: every key under the
// prefixes with the ETag the PUT returned and the size, across pages, with and without parallel segments;
// keys outside the prefixes left out. listingSegments is pure: table-driven.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../bench/rng.js';
import {
  compareKeys,
  etagFrom,
  listBucket,
  listingSegments,
  normaliseEtag,
  sortKeys,
  splitKeysOf,
} from '../src/deploy/state/listing.js';
import { runPool } from '../src/util/pool.js';
import { freshBucket, testClient, testStore } from './helpers/s3.js';

const client = testClient();
const store = testStore();
let bucket: string;
/** key -> { etag, size } as the PUTs answered. */
const put = new Map<string, { etag: string; size: number }>();

beforeAll(async () => {
  bucket = await freshBucket('state-list');
  const keys = [
    ...Array.from({ length: 25 }, (_, i) => `app/static/f${String(i).padStart(2, '0')}.txt`),
    'app/.nunjucks-s3/record.json',
    'other/static/x.txt',
    'root.txt',
  ];
  for (const [i, key] of keys.entries()) {
    const body = `body of ${key} ${'x'.repeat(i)}`;
    const out = await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    put.set(key, { etag: normaliseEtag(out.ETag!), size: Buffer.byteLength(body) });
  }
});

const under = (prefix: string) => new Map([...put].filter(([k]) => k.startsWith(prefix)));

/** A listing as ETag and size only (its LastModified, a server clock reading, is checked on its own below). */
const etagsAndSizes = (
  listed: Map<string, { etag: string; size: number; lastModified?: string | undefined }>,
) => new Map([...listed].map(([k, { etag, size }]) => [k, { etag, size }]));

describe('listBucket', () => {
  it('returns every key under the prefix with the ETag its PUT returned and its size, across pages', async () => {
    const listed = await listBucket({ store, bucket, prefixes: ['app/static/'], pageSize: 4 });
    expect(etagsAndSizes(listed)).toEqual(under('app/static/'));
    // Each entry's LastModified is a real time of this run (claims compare it to see a rewrite).
    for (const entry of listed.values()) {
      expect(Math.abs(Date.now() - Date.parse(String(entry.lastModified)))).toBeLessThan(10 * 60_000);
    }
  });

  it('gives the same answer in parallel segments cut at split keys', async () => {
    const splitKeys = ['app/static/f04.txt', 'app/static/f11.txt', 'app/static/f20.txt', 'zzz-not-inside'];
    const listed = await listBucket({ store, bucket, prefixes: ['app/static/'], splitKeys, pageSize: 3 });
    expect(etagsAndSizes(listed)).toEqual(under('app/static/'));
  });

  it('cut from the keys it expects, finds every key, on any server, characters beyond U+FFFF included', async () => {
    const own = await freshBucket('state-list-utf8');
    // In UTF-16 order the emoji (a surrogate pair) sorts before U+FF01; in S3's byte order, after it.
    const keys = [
      'u/a.txt',
      'u/\u00e9.txt',
      'u/\uff01.txt',
      'u/\u{1f600}.txt',
      'u/\u{1f600}b.txt',
      'u/z\uffee.txt',
    ];
    const ascii = Array.from({ length: 2500 }, (_, i) => `u/f${String(i).padStart(4, '0')}`);
    await runPool([...keys, ...ascii], 16, async (key) => {
      await client.send(new PutObjectCommand({ Bucket: own, Key: key, Body: key }));
    });
    const all = [...keys, ...ascii].sort(compareKeys);
    const whole = await listBucket({ store, bucket: own, prefixes: ['u/'] });
    expect([...whole.keys()].sort(compareKeys)).toEqual(all);
    // Expected keys cut the listing (every 1,000th), and one the bucket lacks forces a plain listing.
    for (const expected of [all, ascii, [...keys, 'u/missing']]) {
      const cut = await listBucket({ store, bucket: own, prefixes: ['u/'], expected });
      expect(etagsAndSizes(cut)).toEqual(etagsAndSizes(whole));
    }
  });

  it('a cut listing asks one page per segment of 1,000 expected keys, none beyond', async () => {
    const own = await freshBucket('state-list-pages');
    const keys = Array.from({ length: 2100 }, (_, i) => `p/k${String(i).padStart(4, '0')}`);
    await runPool(keys, 16, async (key) => {
      await client.send(new PutObjectCommand({ Bucket: own, Key: key, Body: key }));
    });
    let requests = 0;
    const counting = {
      ...store,
      listObjects: (...args: Parameters<typeof store.listObjects>) => {
        requests++;
        return store.listObjects(...args);
      },
    };
    const listed = await listBucket({ store: counting, bucket: own, prefixes: ['p/'], expected: keys });
    expect([...listed.keys()].sort()).toEqual(keys);
    expect(requests).toBe(3); // segments ending at the 1,000th and 2,000th key, then the last 100
  });

  it('lists several prefixes, and the whole bucket for the empty prefix', async () => {
    expect(etagsAndSizes(await listBucket({ store, bucket, prefixes: ['app/static/', 'other/'] }))).toEqual(
      new Map([...under('app/static/'), ...under('other/')]),
    );
    expect(etagsAndSizes(await listBucket({ store, bucket, prefixes: [''], pageSize: 7 }))).toEqual(put);
  });
});

describe('listingSegments', () => {
  it.each([
    { prefixes: ['a/'], split: [], want: [['a/', undefined, undefined]] },
    {
      prefixes: ['a/'],
      split: ['a/k', 'b/z'],
      want: [
        ['a/', undefined, 'a/k'],
        ['a/', 'a/k', undefined],
      ],
    },
    { prefixes: ['a/', 'a/'], split: [], want: [['a/', undefined, undefined]] },
  ])('$prefixes cut at $split', ({ prefixes, split, want }) => {
    expect(listingSegments(prefixes, split).map((s) => [s.prefix, s.after, s.last])).toEqual(want);
  });

  it('splitKeysOf takes every nth key under the prefixes in byte order, never the last', () => {
    const keys = ['a/3', 'a/1', 'b/9', 'a/2', 'a/\u{1f600}', 'a/\uff01', 'a/4'];
    expect(splitKeysOf(keys, ['a/'], 2)).toEqual(['a/2', 'a/4']);
    expect(splitKeysOf(keys, ['a/'], 1)).toEqual(['a/1', 'a/2', 'a/3', 'a/4', 'a/\uff01']);
    expect(splitKeysOf(keys, ['a/'], 6)).toEqual([]);
    expect(compareKeys('a\uff01', 'a\u{1f600}')).toBeLessThan(0);
    expect('a\uff01' < 'a\u{1f600}').toBe(false); // JavaScript's own order differs
  });

  it("sortKeys gives S3's byte order, with and without keys past U+D800", () => {
    const rng = new Rng(20261205);
    const units = [
      'a',
      'b',
      '/',
      '.',
      'Z',
      '\u00e9',
      '\ud7ff',
      '\uff01',
      '\ue000',
      '\u{1f600}',
      '\u{10ffff}',
    ];
    for (let round = 0; round < 200; round++) {
      const ascii = round % 2 === 0;
      const pool = ascii ? units.slice(0, 6) : units;
      const keys = Array.from({ length: 40 }, () =>
        Array.from({ length: rng.int(1, 5) }, () => pool[rng.int(0, pool.length - 1)]).join(''),
      );
      const byBytes = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      expect(sortKeys([...keys])).toEqual(byBytes);
    }
  });

  it('normalises quoted and bare ETags alike', () => {
    expect(normaliseEtag('"abc"')).toBe('abc');
    expect(normaliseEtag('abc')).toBe('abc');
    expect(normaliseEtag('"')).toBe('"');
    expect(normaliseEtag('""')).toBe('');
    expect(normaliseEtag('"a"b')).toBe('"a"b');
  });

  it.each([
    ['"abc"', 'abc'],
    ['abc', 'abc'], // RGW's CopyObject
    ['"abc-3"', 'abc-3'],
    ['', undefined], // Ceph RGW 16.2's CompleteMultipartUpload
    ['""', undefined],
    [undefined, undefined],
  ])('the ETag of a response %j is kept as %j', (given, kept) => {
    expect(etagFrom(given)).toBe(kept);
  });
});
