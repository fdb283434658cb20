// src/cdn/paths.ts: which keys a deploy made stale, their CDN paths, and the folding into wildcards.
import { describe, expect, it } from 'vitest';
import { cdnBasePath, cdnPath, foldPaths, overwrittenKeys } from '../src/cdn/paths.js';

describe('overwrittenKeys', () => {
  it('keeps changed, settings-changed and not-recorded keys; drops new, unchanged and fingerprinted ones', () => {
    const uploaded = [
      { key: 's/c.css', reason: 'changed' as const },
      { key: 's/h.css', reason: 'settings-changed' as const },
      { key: 's/n.css', reason: 'new' as const },
      { key: 's/r.css', reason: 'not-recorded' as const },
      { key: 's/c.0123456789ab.css', reason: 'settings-changed' as const },
    ];
    expect(overwrittenKeys(uploaded, new Set(['s/c.0123456789ab.css']))).toEqual([
      's/c.css',
      's/h.css',
      's/r.css',
    ]);
  });
});

describe('cdnBasePath and cdnPath', () => {
  it.each([
    ['', ''],
    ['cdn.example.com', ''],
    ['https://cdn.example.com/', ''],
    ['cdn.example.com/assets', '/assets'],
    ['//cdn.example.com:8080/a/b/', '/a/b'],
  ])('%j -> %j', (domain, base) => {
    expect(cdnBasePath(domain)).toBe(base);
  });
  it('encodes the key as url_for does', () => {
    expect(cdnPath('p/static/a b+ü.css', '/assets')).toBe('/assets/p/static/a%20b%2B%C3%BC.css');
  });
});

describe('foldPaths', () => {
  const many = (n: number, folder: (i: number) => string) =>
    Array.from({ length: n }, (_, i) => `${folder(i)}/f${i}`);
  it('keeps exact paths up to the threshold', () => {
    const paths = many(100, () => '/static/css');
    expect(foldPaths(paths)).toEqual(paths);
  });
  it('above it, one wildcard per folder at the deepest level with at most 15', () => {
    expect(foldPaths(many(101, (i) => `/static/${i % 2 ? 'a' : 'b'}`))).toEqual([
      '/static/a/*',
      '/static/b/*',
    ]);
    expect(foldPaths(many(101, (i) => `/static/x/${i % 20}`))).toEqual(['/static/x/*']);
    expect(foldPaths(many(101, (i) => `/p/static/${i % 3}/deep/${i % 20}`))).toEqual([
      '/p/static/0/deep/*',
      '/p/static/1/deep/*',
      '/p/static/2/deep/*',
    ]);
  });
  it('never goes above the folder all paths share', () => {
    expect(
      foldPaths(
        many(101, (i) => `/p/static/${i}`),
        100,
        15,
      ),
    ).toEqual(['/p/static/*']);
    expect(foldPaths(['/a/x', '/b/y', '/c/z'], 2, 2)).toEqual(['/*']);
  });
});
