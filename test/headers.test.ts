import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config.js';
import {
  checkHeaderSettings,
  contentTypeFor,
  createHeaderResolver,
  HEADER_OF_FIELD,
  isTextType,
  settingsSignature,
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

  it('with more than ten path rules, files matching rules 1 and 2 and a file matching rule 12 keep their own headers', () => {
    const rules = Object.fromEntries(
      Array.from({ length: 13 }, (_, i) => [`(^|/)d${i}/`, { 'X-Rule': `${i}` }]),
    );
    const r = resolver({ FLASKS3_FILEPATH_HEADERS: rules });
    expect(r('d1/d2/a.css').metadata).toEqual({ 'x-rule': '2' });
    expect(r('d12/b.css').metadata).toEqual({ 'x-rule': '12' });
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

describe('a pre-compressed file whose Content-Encoding the user set', () => {
  const resolver = (config: Record<string, unknown>) => createHeaderResolver(resolveConfig(config));

  it.each<[string, Record<string, unknown>]>([
    ['for every object', { FLASKS3_HEADERS: { 'Content-Encoding': 'br' } }],
    [
      'for app.js by a path rule',
      { FLASKS3_FILEPATH_HEADERS: { 'app\\.js$': { 'content-encoding': 'br' } } },
    ],
  ])(
    'app.js with Content-Encoding: br %s is sent as is with gzip on: never gzipped over br',
    (_how, headers) => {
      const s = resolver({ FLASKS3_GZIP: true, ...headers })('js/app.js');
      expect(s.gzip).toBe(false);
      expect(s.fields).toEqual({ ContentType: 'text/javascript; charset=utf-8', ContentEncoding: 'br' });
      expect(s.canonical).toMatchObject({ ContentEncoding: 'br', gzip: false });
    },
  );

  it('keeps a user Content-MD5, which still describes the bytes sent', () => {
    const s = resolver({
      FLASKS3_GZIP: true,
      FLASKS3_HEADERS: { 'Content-Encoding': 'br', 'Content-MD5': 'XUFAKrxLKna5cZ2REBfFkg==' },
    })('app.js');
    expect(s.fields.ContentMD5).toBe('XUFAKrxLKna5cZ2REBfFkg==');
    expect(s.gzip).toBe(false);
  });

  it('the other files are gzipped as usual', () => {
    const r = resolver({
      FLASKS3_GZIP: true,
      FLASKS3_FILEPATH_HEADERS: { 'app\\.js$': { 'Content-Encoding': 'br' } },
    });
    expect(r('js/other.js').fields.ContentEncoding).toBe('gzip');
    expect(r('js/other.js').gzip).toBe(true);
  });
});

describe('the settings signature is pinned', () => {
  // The upload record stores each object's signature; an unchanged file whose signature differs from the
  // recorded one is uploaded again. A change to how the signature is computed (the canonical form, the
  // hash, its length, a field added) therefore re-uploads every object of every site after an upgrade:
  // it is a breaking change, to be made on purpose and said in the release notes, never by accident.
  const resolver = (config: Record<string, unknown>) => createHeaderResolver(resolveConfig(config));

  it('for the default settings', () => {
    expect(resolver({})('css/app.css').signature).toBe('67e23a66cd4de9ae');
  });

  it('for gzip, Cache-Control, Expires, metadata and an ACL', () => {
    const s = resolver({
      FLASKS3_GZIP: true,
      FLASKS3_USE_CACHE_CONTROL: true,
      FLASKS3_CACHE_CONTROL: 'max-age=86400',
      FLASKS3_HEADERS: { Expires: 'Wed, 21 Oct 2026 07:28:00 GMT', 'X-Site': 'docs' },
      FLASKS3_OBJECT_ACL: 'private',
    })('js/app.js');
    expect(s.canonical).toEqual({
      ContentType: 'text/javascript; charset=utf-8',
      Expires: 'Wed, 21 Oct 2026 07:28:00 GMT',
      CacheControl: 'max-age=86400',
      ContentEncoding: 'gzip',
      Metadata: { 'x-site': 'docs' },
      gzip: true,
      ACL: 'private',
    });
    expect(s.signature).toBe('20f3a845de2e5798');
  });

  it('is sorted-key JSON: key order and undefined fields do not count, arrays keep their order', () => {
    const sig = settingsSignature({ b: [1, { y: 2, x: 1 }], a: 'x', c: undefined, d: null });
    expect(settingsSignature({ a: 'x', d: null, b: [1, { x: 1, y: 2 }] })).toBe(sig);
    expect(settingsSignature({ a: 'x', d: null, b: [{ x: 1, y: 2 }, 1] })).not.toBe(sig);
    expect(settingsSignature({ a: 'x', b: [1, { x: 1, y: 2 }] })).not.toBe(sig);
    // sha256 of the sorted-key JSON text, first 16 hex digits.
    expect(settingsSignature({ b: 1, a: 'x' })).toBe(
      createHash('sha256').update('{"a":"x","b":1}').digest('hex').slice(0, 16),
    );
    expect(settingsSignature({ b: [1, 2], a: { d: 1, c: [] } })).toBe(
      createHash('sha256').update('{"a":{"c":[],"d":1},"b":[1,2]}').digest('hex').slice(0, 16),
    );
  });
});

describe('header names and values', () => {
  it('Expires becomes a date field; every standard header has its field', () => {
    const s = createHeaderResolver(
      resolveConfig({
        FLASKS3_HEADERS: { EXPIRES: 'Wed, 21 Oct 2026 07:28:00 GMT', 'X-Amz-Meta-Team': 'web' },
      }),
    )('a.txt');
    expect(s.fields.Expires).toEqual(new Date('Wed, 21 Oct 2026 07:28:00 GMT'));
    expect(s.metadata).toEqual({ team: 'web' });
    expect(HEADER_OF_FIELD).toEqual({
      CacheControl: 'cache-control',
      ContentDisposition: 'content-disposition',
      ContentEncoding: 'content-encoding',
      ContentLanguage: 'content-language',
      ContentMD5: 'content-md5',
      ContentType: 'content-type',
      Expires: 'expires',
    });
  });

  it.each<[string, boolean]>([
    ['text/css', true],
    ['application/json', true],
    ['application/ld+json', true],
    ['application/rss+xml', true],
    ['image/svg+xml', true],
    ['application/xhtml+xml', true],
    ['application/wasm', false],
    ['image/png', false],
    ['application/jsonx', false],
  ])('%s is text: %s', (type, text) => {
    expect(isTextType(type)).toBe(text);
  });

  it.each<[Record<string, unknown>, string]>([
    [
      { FLASKS3_HEADERS: { 'X-Name': 'Grüße' } },
      'headers / FLASKS3_HEADERS: the value of header "X-Name" must be printable ASCII (HTTP headers cannot carry other characters; for a download name use filename*=UTF-8\'\'<percent-encoded>)',
    ],
    [
      { FLASKS3_FILEPATH_HEADERS: { '\\.pdf$': { Expires: 'soon' } } },
      'filepathHeaders / FLASKS3_FILEPATH_HEADERS: header "Expires" (under "\\\\.pdf$") must be an HTTP date (e.g. "Wed, 21 Oct 2026 07:28:00 GMT"), got "soon"',
    ],
  ])('a bad value is a CONFIG_HEADER error naming the setting: %j', (config, message) => {
    let error: unknown;
    try {
      checkHeaderSettings(resolveConfig(config));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const e = error as ConfigError;
    expect([e.code, e.setting, e.message]).toEqual(['CONFIG_HEADER', message.split(': ')[0], message]);
  });

  it('tabs are fine in a value; a valid Expires passes', () => {
    expect(
      checkHeaderSettings(
        resolveConfig({ FLASKS3_HEADERS: { 'X-A': 'a\tb', Expires: 'Wed, 21 Oct 2026 07:28:00 GMT' } }),
      ),
    ).toEqual([]);
  });

  it('says which headers are ignored or kept as metadata, and where they were set', () => {
    const warnings = checkHeaderSettings(
      resolveConfig({
        FLASKS3_HEADERS: { 'X-Amz-Storage-Class': 'GLACIER', 'x-amz-meta-ok': '1' },
        FLASKS3_FILEPATH_HEADERS: { css$: { 'content-length': '1', 'x-amz-acl': 'private' } },
      }),
    );
    expect(warnings).toEqual([
      'headers / FLASKS3_HEADERS: header "X-Amz-Storage-Class" is not a standard header and is stored as user metadata x-amz-meta-x-amz-storage-class',
      'filepathHeaders / FLASKS3_FILEPATH_HEADERS: header "content-length" (under "css$") is ignored; the real length of each body is sent',
      'filepathHeaders / FLASKS3_FILEPATH_HEADERS: header "x-amz-acl" (under "css$") is not a standard header and is stored as user metadata x-amz-meta-x-amz-acl; set the ACL with objectAcl / FLASKS3_OBJECT_ACL',
    ]);
  });
});
