import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config.js';
import {
  checkHeaderSettings,
  contentTypeFor,
  createHeaderResolver,
  shouldGzip,
} from '../src/content/headers.js';
import { ConfigError } from '../src/errors.js';

describe('contentTypeFor', () => {
  it.each([
    ['css/app.css', 'text/css; charset=utf-8'],
    ['js/app.js', 'text/javascript; charset=utf-8'],
    ['js/mod.mjs', 'text/javascript; charset=utf-8'],
    ['data/site.json', 'application/json; charset=utf-8'],
    ['js/app.js.map', 'application/json; charset=utf-8'],
    ['site.webmanifest', 'application/manifest+json; charset=utf-8'],
    ['img/logo.svg', 'image/svg+xml; charset=utf-8'],
    ['feed.xml', 'application/xml; charset=utf-8'],
    ['index.html', 'text/html; charset=utf-8'],
    ['notes.txt', 'text/plain; charset=utf-8'],
    ['img/logo.png', 'image/png'],
    ['img/PHOTO.JPG', 'image/jpeg'],
    ['fonts/inter.woff2', 'font/woff2'],
    ['app.wasm', 'application/wasm'],
    ['model.xyz123', 'application/octet-stream'],
    ['LICENSE', 'application/octet-stream'],
    ['css', 'application/octet-stream'],
    ['.htaccess', 'application/octet-stream'],
  ])('%s is %s', (file, type) => {
    expect(contentTypeFor(file)).toBe(type);
  });
});

describe('shouldGzip', () => {
  const cfg = (gzip: boolean, gzipOnlyExts: string[] = []) =>
    resolveConfig({ FLASKS3_GZIP: gzip, FLASKS3_GZIP_ONLY_EXTS: gzipOnlyExts });
  it.each([
    ['css/app.css', false, [], false],
    ['css/app.css', true, [], true],
    ['js/app.js', true, [], true],
    ['LICENSE', true, [], true],
    ['img/logo.png', true, [], false],
    ['img/photo.JPG', true, [], false],
    ['fonts/a.woff2', true, [], false],
    ['fonts/a.woff', true, [], false],
    ['dist/app.js.gz', true, [], false],
    ['dist/app.js.br', true, [], false],
    ['video/clip.mp4', true, [], false],
    ['doc.pdf', true, [], false],
    ['css/app.css', true, ['.js'], false],
    ['js/app.js', true, ['.js', '.css'], true],
    ['js/APP.JS', true, ['.js'], true],
    ['js/app.js', true, ['JS'], true],
    ['css/app.css', true, ['css'], true],
    // Listed explicitly: gzipped even though the format is already compressed.
    ['img/logo.png', true, ['.png'], true],
    ['LICENSE', true, ['.txt'], false],
  ] as const)('%s with gzip=%s, onlyExts=%j: %s', (file, gzip, exts, expected) => {
    expect(shouldGzip(file, cfg(gzip, [...exts]))).toBe(expected);
  });
});

describe('createHeaderResolver', () => {
  const resolver = (config: Record<string, unknown>) => createHeaderResolver(resolveConfig(config));

  it('sends a correct Content-Type with no settings at all, and the default ACL', () => {
    const s = resolver({})('css/app.css');
    expect(s.fields).toEqual({ ContentType: 'text/css; charset=utf-8' });
    expect(s.metadata).toEqual({});
    expect(s.gzip).toBe(false);
    expect(s.acl).toBe('public-read');
  });

  it.each([
    ['FLASKS3_HEADERS alone', { FLASKS3_HEADERS: { 'Cache-Control': 'max-age=10' } }, 'a.txt', 'max-age=10'],
    [
      'a matching filepath rule wins over FLASKS3_HEADERS',
      {
        FLASKS3_HEADERS: { 'Cache-Control': 'max-age=10' },
        FLASKS3_FILEPATH_HEADERS: { '\\.txt$': { 'cache-control': 'max-age=20' } },
      },
      'a.txt',
      'max-age=20',
    ],
    [
      'a rule that does not match changes nothing',
      {
        FLASKS3_HEADERS: { 'Cache-Control': 'max-age=10' },
        FLASKS3_FILEPATH_HEADERS: { '\\.css$': { 'Cache-Control': 'max-age=20' } },
      },
      'a.txt',
      'max-age=10',
    ],
    [
      'later rules win over earlier ones',
      {
        FLASKS3_FILEPATH_HEADERS: { txt: { 'Cache-Control': 'first' }, '^a': { 'CACHE-CONTROL': 'second' } },
      },
      'a.txt',
      'second',
    ],
    [
      'rules match with search semantics anywhere in the relative path',
      { FLASKS3_FILEPATH_HEADERS: { 'data/': { 'Cache-Control': 'data' } } },
      'static-like/data/x.json',
      'data',
    ],
    [
      'cacheControl with useCacheControl wins over headers and rules',
      {
        FLASKS3_HEADERS: { 'Cache-Control': 'h' },
        FLASKS3_FILEPATH_HEADERS: { txt: { 'Cache-Control': 'rule' } },
        FLASKS3_CACHE_CONTROL: 'max-age=99',
        FLASKS3_USE_CACHE_CONTROL: true,
      },
      'a.txt',
      'max-age=99',
    ],
    [
      'cacheControl without useCacheControl is not sent',
      { FLASKS3_CACHE_CONTROL: 'max-age=99' },
      'a.txt',
      undefined,
    ],
  ])('Cache-Control: %s', (_name, config, file, expected) => {
    expect(resolver(config)(file).fields.CacheControl).toBe(expected);
  });

  it.each(['Content-Type', 'content-type', 'CONTENT-TYPE'])(
    'a user %s wins over the detected type',
    (name) => {
      expect(resolver({ FLASKS3_HEADERS: { [name]: 'text/x-custom' } })('a.css').fields.ContentType).toBe(
        'text/x-custom',
      );
      expect(
        resolver({ FLASKS3_FILEPATH_HEADERS: { '\\.bin$': { [name]: 'application/x-thing' } } })(
          'x/model.bin',
        ).fields.ContentType,
      ).toBe('application/x-thing');
    },
  );

  it('maps the eight standard headers to fields and everything else to metadata', () => {
    const s = resolver({
      FLASKS3_HEADERS: {
        'Cache-Control': 'max-age=1',
        'Content-Disposition': 'attachment; filename="a.txt"',
        'Content-Language': 'de',
        'Content-MD5': 'XUFAKrxLKna5cZ2REBfFkg==',
        Expires: 'Wed, 21 Oct 2026 07:28:00 GMT',
        'Texted-Up-By': 'Mister Foo',
        'x-amz-meta-Owner': 'team',
      },
    })('a.txt');
    expect(s.fields).toEqual({
      ContentType: 'text/plain; charset=utf-8',
      CacheControl: 'max-age=1',
      ContentDisposition: 'attachment; filename="a.txt"',
      ContentLanguage: 'de',
      ContentMD5: 'XUFAKrxLKna5cZ2REBfFkg==',
      Expires: new Date('Wed, 21 Oct 2026 07:28:00 GMT'),
    });
    expect(s.metadata).toEqual({ 'texted-up-by': 'Mister Foo', owner: 'team' });
  });

  it('ignores a user Content-Length (the real length is always sent)', () => {
    const s = resolver({ FLASKS3_HEADERS: { 'Content-Length': '5' } })('a.txt');
    expect(s.fields).toEqual({ ContentType: 'text/plain; charset=utf-8' });
    expect(s.metadata).toEqual({});
  });

  it('gzip sets Content-Encoding and drops a user Content-MD5 (it describes the uncompressed file)', () => {
    const s = resolver({
      FLASKS3_GZIP: true,
      FLASKS3_HEADERS: { 'Content-MD5': 'XUFAKrxLKna5cZ2REBfFkg==' },
    })('a.css');
    expect(s.gzip).toBe(true);
    expect(s.fields).toEqual({ ContentType: 'text/css; charset=utf-8', ContentEncoding: 'gzip' });
  });

  it('a file with a user Content-Encoding is already encoded: sent as is, not gzipped', () => {
    const r = resolver({
      FLASKS3_GZIP: true,
      FLASKS3_FILEPATH_HEADERS: { '\\.br$': { 'Content-Encoding': 'br' } },
    });
    expect(r('app.js.br').gzip).toBe(false);
    expect(r('app.js.br').fields.ContentEncoding).toBe('br');
    expect(r('app.js').gzip).toBe(true);
  });

  it('objectAcl none sends no ACL', () => {
    expect(resolver({ FLASKS3_OBJECT_ACL: 'none' })('a.css').acl).toBeUndefined();
    expect(resolver({ objectAcl: null })('a.css').acl).toBeUndefined();
    expect(resolver({ objectAcl: 'private' })('a.css').acl).toBe('private');
  });

  it('the signature changes with every setting the object is uploaded with, and only then', () => {
    const sig = (config: Record<string, unknown>, file = 'a.css') => resolver(config)(file).signature;
    const base = sig({});
    expect(base).toMatch(/^[0-9a-f]{16}$/);
    expect(sig({})).toBe(base);
    expect(sig({ FLASKS3_CACHE_CONTROL: 'max-age=1' })).toBe(base); // not used without useCacheControl
    expect(sig({ FLASKS3_HEADERS: { 'X-A': '1', 'X-B': '2' } })).toBe(
      sig({ FLASKS3_HEADERS: { 'x-b': '2', 'x-a': '1' } }),
    );
    const variants = [
      sig({ FLASKS3_CACHE_CONTROL: 'max-age=1', FLASKS3_USE_CACHE_CONTROL: true }),
      sig({ FLASKS3_CACHE_CONTROL: 'max-age=2', FLASKS3_USE_CACHE_CONTROL: true }),
      sig({ FLASKS3_GZIP: true }),
      sig({ FLASKS3_OBJECT_ACL: 'private' }),
      sig({ FLASKS3_OBJECT_ACL: 'none' }),
      sig({ FLASKS3_HEADERS: { 'X-A': '1' } }),
      sig({ FLASKS3_HEADERS: { 'X-A': '2' } }),
      sig({}, 'a.js'),
    ];
    expect(new Set([base, ...variants]).size).toBe(variants.length + 1);
  });

  it('objects with the same settings share one instance', () => {
    const r = resolver({ FLASKS3_FILEPATH_HEADERS: { '^img/': { 'Cache-Control': 'img' } } });
    expect(r('img/a.png')).toBe(r('img/b.PNG'));
    expect(r('img/a.png')).not.toBe(r('other/a.png'));
  });
});

describe('checkHeaderSettings', () => {
  it.each([
    [{ FLASKS3_HEADERS: { 'X-Name': 'Grüße' } }, /headers \/ FLASKS3_HEADERS.*"X-Name".*printable ASCII/],
    [
      { FLASKS3_FILEPATH_HEADERS: { '\\.pdf$': { 'Content-Disposition': 'attachment; filename="ü.pdf"' } } },
      /filepathHeaders \/ FLASKS3_FILEPATH_HEADERS.*under "\\\\.pdf\$"/,
    ],
    [{ FLASKS3_HEADERS: { Expires: 'next week' } }, /"Expires".*HTTP date/],
  ])('rejects %j', (config, message) => {
    expect(() => checkHeaderSettings(resolveConfig(config))).toThrow(ConfigError);
    expect(() => checkHeaderSettings(resolveConfig(config))).toThrow(message);
  });

  it('warns about headers that are ignored or stored as metadata', () => {
    const warnings = checkHeaderSettings(
      resolveConfig({
        FLASKS3_HEADERS: { 'Content-Length': '3', 'x-amz-acl': 'public-read', 'X-Fine': 'y' },
      }),
    );
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/Content-Length.*ignored/);
    expect(warnings[1]).toMatch(/x-amz-acl.*metadata.*objectAcl/);
  });
});
