import { describe, expect, it } from 'vitest';
import { confirmClaims, contradiction, modifiedSince } from '../src/deploy/confirm-claims.js';
import type { RecordedObject } from '../src/deploy/record.js';
import type { ListedObject } from '../src/deploy/state/listing.js';

const H = '0123456789abcdef';
const S = 'fedcba9876543210';
const T0 = '2026-12-02T08:00:00.000Z';
const T1 = '2026-12-02T08:00:01.000Z';

const claim = (extra: Partial<RecordedObject> = {}): RecordedObject => ({
  hash: H,
  settings: S,
  size: 10,
  etag: 'abc',
  stored: 10,
  modified: T0,
  ...extra,
});
const listed = (extra: Partial<ListedObject> = {}): ListedObject => ({
  etag: 'abc',
  size: 10,
  lastModified: T0,
  ...extra,
});

describe('contradiction: does the listing bear a claim out?', () => {
  it.each<[string, RecordedObject, ListedObject | undefined, ReturnType<typeof contradiction>]>([
    ['the same ETag, size and LastModified', claim(), listed(), undefined],
    ['deleted', claim(), undefined, 'missing'],
    ['overwritten with other bytes (ETag)', claim(), listed({ etag: 'def' }), 'other-bytes'],
    ['cut short (size)', claim(), listed({ size: 4 }), 'other-bytes'],
    ['rewritten later with the same bytes (headers)', claim(), listed({ lastModified: T1 }), 'rewritten'],
    ['an earlier LastModified is not a rewrite', claim({ modified: T1 }), listed(), undefined],
    [
      'a claim not yet listed after its upload: ETag and size decide',
      claim({ modified: undefined }),
      listed({ lastModified: T1 }),
      undefined,
    ],
    [
      'a gzipped object: the stored size counts, not the local one',
      claim({ size: 100, stored: 10 }),
      listed(),
      undefined,
    ],
    [
      'a version 1 claim with nothing to compare: does not hold',
      claim({ etag: undefined, stored: undefined }),
      listed(),
      'other-bytes',
    ],
  ])('%s', (_what, c, l, expected) => {
    expect(contradiction(c, l)).toBe(expected);
  });

  it('a version 1 claim holds when the local file would be stored with the listed ETag and size', () => {
    const legacy = claim({ etag: undefined, stored: undefined, modified: undefined });
    expect(contradiction(legacy, listed(), { etag: 'abc', size: 10 })).toBeUndefined();
    expect(contradiction(legacy, listed(), { etag: 'zzz', size: 10 })).toBe('other-bytes');
  });
});

describe('modifiedSince', () => {
  it.each([
    [T1, T0, true],
    [T0, T0, false],
    [T0, T1, false],
    [undefined, T0, false],
    [T1, undefined, false],
    // Times not as toISOString writes them are compared as dates.
    ['2026-12-02T10:50:01Z', '2026-12-02T10:50:00.500Z', true],
    ['2026-12-02T10:50:00Z', '2026-12-02T10:50:00.500Z', false],
    ['Wed, 02 Dec 2026 10:50:01 GMT', '2026-12-02T10:50:00.000Z', true],
    ['+010000-01-01T00:00:00.000Z', '2026-12-02T10:50:00.000Z', true],
  ])('%s after %s: %s', (a, b, expected) => {
    expect(modifiedSince(a, b)).toBe(expected);
  });
});

describe('confirmClaims', () => {
  it('sorts a record into contradicted claims (with why) and upgraded version 1 claims', () => {
    const objects: Record<string, RecordedObject> = {
      'static/kept.css': claim(),
      'static/gone.css': claim(),
      'static/edited.css': claim(),
      'static/old.css': claim({ etag: undefined, stored: undefined, modified: undefined }),
      'static/old-wrong.css': claim({ etag: undefined, stored: undefined, modified: undefined }),
    };
    const bucket = new Map<string, ListedObject>([
      ['static/kept.css', listed()],
      ['static/edited.css', listed({ etag: 'def' })],
      ['static/old.css', listed({ etag: 'md5', size: 10 })],
      ['static/old-wrong.css', listed({ etag: 'other', size: 10 })],
    ]);
    const out = confirmClaims(objects, bucket, () => ({ etag: 'md5', size: 10 }));
    expect(Object.fromEntries(out.contradicted)).toEqual({
      'static/gone.css': 'missing',
      'static/edited.css': 'other-bytes',
      'static/old-wrong.css': 'other-bytes',
    });
    expect(Object.fromEntries(out.upgraded)).toEqual({
      'static/old.css': { hash: H, settings: S, size: 10, etag: 'md5', stored: 10, modified: undefined },
    });
  });
});
