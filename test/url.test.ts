// url.ts, table-driven: the encoders, value printing, filename checks and the per-config URL bases.
import { describe, expect, it } from 'vitest';
import { objectKey, type StaticMount } from '../src/app.js';
import { resolveConfig } from '../src/config.js';
import { ConfigError, UrlBuildError } from '../src/errors.js';
import {
  appendQuery,
  assetOrigin,
  callName,
  checkScheme,
  encodeFragment,
  encodeQueryComponent,
  encodeUrlPath,
  encodeUrlSegment,
  formatQuery,
  localUrlBase,
  normaliseFilename,
  printValue,
  staticUrlBase,
} from '../src/template/url.js';

/** Every printable ASCII character but letters and digits. */
const PUNCTUATION = ' !"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';

describe('encodeUrlPath', () => {
  it.each([
    ['css/site.css', 'css/site.css'],
    ['my file.css', 'my%20file.css'],
    ['ü.css', '%C3%BC.css'],
    ['日本/語.txt', '%E6%97%A5%E6%9C%AC/%E8%AA%9E.txt'],
    ['emoji-😀.png', 'emoji-%F0%9F%98%80.png'],
    ["keep!$'()*,-./:;_~", "keep!$'()*,-./:;_~"],
    // AWS S3 reads '+' in a path as a space: always %2B.
    ['c++.svg', 'c%2B%2B.svg'],
    ['a%20b', 'a%2520b'], // a literal percent is data, never an escape
    ['a?b#c', 'a%3Fb%23c'],
    ['tab\tnl\n', 'tab%09nl%0A'],
    ['', ''],
  ])('%j -> %j', (input, expected) => {
    expect(encodeUrlPath(input)).toBe(expected);
  });

  it("escapes exactly the characters the behaviour doc lists, plus '+' (AWS reads it as a space), as %XX", () => {
    const escaped = [...PUNCTUATION].filter((c) => encodeUrlPath(c) !== c);
    expect(escaped.join('')).toBe(' "#%&+<=>?@[\\]^`{|}');
    for (const c of escaped) {
      expect(encodeUrlPath(c)).toBe('%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
    }
  });

  it('keeps every letter and digit', () => {
    const alnum = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    expect(encodeUrlPath(alnum)).toBe(alnum);
  });

  it('refuses a lone surrogate with a UrlBuildError, not a URIError', () => {
    expect(() => encodeUrlPath('bad\ud800.css', 'static')).toThrow(UrlBuildError);
    expect(() => encodeUrlPath('bad\ud800.css', 'static')).toThrow(/not valid Unicode/);
  });

  it('encodeUrlSegment also escapes /', () => {
    expect(encodeUrlSegment('a/b c')).toBe('a%2Fb%20c');
  });
});

describe('encodeQueryComponent (form encoding)', () => {
  it.each([
    ['plain', 'plain'],
    ['a b', 'a+b'],
    ['a+b', 'a%2Bb'],
    ['a&b=c', 'a%26b%3Dc'],
    ['ü', '%C3%BC'],
    ["keep!$'()*,-._~", "keep!$'()*,-._~"],
    ['/:;?@#%', '%2F%3A%3B%3F%40%23%25'],
  ])('%j -> %j', (input, expected) => {
    expect(encodeQueryComponent(input)).toBe(expected);
  });

  it("keeps exactly !$'()*,-._~ of the punctuation", () => {
    const kept = [...PUNCTUATION].filter((c) => encodeQueryComponent(c) === c);
    expect(kept.join('')).toBe("!$'()*,-._~");
  });
});

describe('encodeFragment', () => {
  it.each([
    ['section-2', 'section-2'],
    ['a b', 'a%20b'],
    ['ü', '%C3%BC'],
    ['x#y', 'x%23y'],
    ['100%', '100%25'],
    ["q?a=1&b=2/c:d@e!$'()*+,;", "q?a=1&b=2/c:d@e!$'()*+,;"],
    ['<tag>"', '%3Ctag%3E%22'],
  ])('%j -> %j', (input, expected) => {
    expect(encodeFragment(input)).toBe(expected);
  });
});

describe('printValue', () => {
  it.each<[unknown, string | undefined]>([
    ['s', 's'],
    ['', ''],
    [3, '3'],
    [1.5, '1.5'],
    [-0.25, '-0.25'],
    [10n, '10'],
    [true, 'True'],
    [false, 'False'],
    [null, undefined],
    [undefined, undefined],
    [new URL('http://x.test/a'), 'http://x.test/a'],
    [{ toString: () => 'custom' }, 'custom'],
  ])('%o prints as %j', (value, expected) => {
    expect(printValue(value, 'v')).toBe(expected);
  });

  it.each<[unknown, RegExp]>([
    [{ a: 1 }, /v is an object/],
    [Object.create(null), /v is an object/],
    [[1, 2], /v is a list/],
    [() => 1, /v is a function/],
    [Symbol('s'), /v is a symbol/],
  ])('%o is a UrlBuildError naming the keyword', (value, message) => {
    expect(() => printValue(value, 'v', 'static')).toThrow(UrlBuildError);
    expect(() => printValue(value, 'v', 'static')).toThrow(message);
  });
});

describe('appendQuery / formatQuery', () => {
  it.each<[Record<string, unknown>, string]>([
    [{}, ''],
    [{ v: 3 }, 'v=3'],
    [{ b: 2, a: 1, c: 3 }, 'b=2&a=1&c=3'], // insertion order, not sorted
    [{ n: null, u: undefined, v: 1 }, 'v=1'],
    [{ tag: ['a', 'b c'] }, 'tag=a&tag=b+c'],
    [{ tag: ['a', null, undefined, 'b'] }, 'tag=a&tag=b'],
    [{ tag: [] }, ''],
    [{ tag: new Set(['x', 'y']) }, 'tag=x&tag=y'],
    [{ t: true, f: false }, 't=True&f=False'],
    [{ 'a key': 'a value' }, 'a+key=a+value'],
    [{ q: 'a&b=c' }, 'q=a%26b%3Dc'],
    [{ name: 'Jürgen' }, 'name=J%C3%BCrgen'],
    [{ e: '' }, 'e='],
    [{ __keywords: true, v: 1 }, 'v=1'], // Nunjucks' marker never leaks
  ])('%o -> %j', (values, expected) => {
    expect(formatQuery(values)).toBe(expected);
  });

  it('appends to an existing query with &', () => {
    expect(appendQuery('v=3', 'x', 'y')).toBe('v=3&x=y');
    expect(appendQuery('v=3', 'x', null)).toBe('v=3');
  });

  it('prints a Nunjucks SafeString as its text, not as a list of characters', async () => {
    const { default: nunjucks } = await import('nunjucks');
    expect(formatQuery({ s: new nunjucks.runtime.SafeString('a b') })).toBe('s=a+b');
  });

  it('rejects lists of lists and objects, naming the keyword', () => {
    expect(() => formatQuery({ grid: [[1]] })).toThrow(/grid is a list of lists/);
    expect(() => formatQuery({ opts: { a: 1 } })).toThrow(/opts is an object/);
  });
});

describe('normaliseFilename', () => {
  it.each([
    ['css/site.css', 'css/site.css'],
    ['/css/site.css', 'css/site.css'], // a leading / never produces //
    ['///css/site.css', 'css/site.css'],
    ['css//site.css', 'css/site.css'],
    ['./css/site.css', 'css/site.css'], // what a browser would request, and the uploaded key
    ['css/./site.css', 'css/site.css'],
    ['css/', 'css/'],
    ['/css/', 'css/'], // a folder's URL keeps its slash on the normalising path too
    ['/css/.', 'css/'],
    ['', ''],
    ['/', ''],
    ['.', ''],
    ['...', '...'],
    ['..a/b..', '..a/b..'],
    ['.well-known/x', '.well-known/x'],
    ['a\\b.css', 'a\\b.css'],
  ])('%j -> %j', (input, expected) => {
    expect(normaliseFilename(input)).toBe(expected);
  });

  it.each([
    ['../secret.txt', /'\.\.' segments/],
    ['css/../../secret.txt', /'\.\.' segments/],
    ['/..', /'\.\.' segments/],
    ['a/..', /'\.\.' segments/],
    ['..\\secret.txt', /'\.\.' segments/],
    ['a\\..\\b', /'\.\.' segments/],
    ['a\0b', /NUL/],
  ])('rejects %j', (input, message) => {
    let error: unknown;
    try {
      normaliseFilename(input, 'admin.static');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UrlBuildError);
    expect((error as UrlBuildError).code).toBe('URL_BAD_FILENAME');
    expect((error as UrlBuildError).endpoint).toBe('admin.static');
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain("url_for('admin.static')");
  });
});

describe('assetOrigin', () => {
  const origin = (config: Record<string, unknown>) => {
    const resolved = resolveConfig({ bucketName: 'mybucket', ...config });
    return assetOrigin(resolved, resolved.bucketName!);
  };

  it.each<[string, Record<string, unknown>, string, string]>([
    ['host style (default)', {}, 'https', '//mybucket.s3.amazonaws.com'],
    ['path style', { urlStyle: 'path' }, 'https', '//s3.amazonaws.com/mybucket'],
    ['http', { useHttps: false }, 'http', '//mybucket.s3.amazonaws.com'],
    [
      'regional domain',
      { bucketDomain: 's3.eu-west-1.amazonaws.com' },
      'https',
      '//mybucket.s3.eu-west-1.amazonaws.com',
    ],
    [
      'domain with port',
      { bucketDomain: '127.0.0.1:9000', urlStyle: 'path', useHttps: false },
      'http',
      '//127.0.0.1:9000/mybucket',
    ],
    ['domain upper-cased', { bucketDomain: 'S3.Example.COM' }, 'https', '//mybucket.s3.example.com'],
    [
      'domain with a scheme',
      { bucketDomain: 'http://localhost:4569', urlStyle: 'path' },
      'http',
      '//localhost:4569/mybucket',
    ],
    ['IPv6 domain', { bucketDomain: '[::1]:9000', urlStyle: 'path' }, 'https', '//[::1]:9000/mybucket'],
    ['CDN', { cdnDomain: 'cdn.example.com' }, 'https', '//cdn.example.com'],
    [
      'CDN ignores bucket and style',
      { cdnDomain: 'cdn.example.com', urlStyle: 'path' },
      'https',
      '//cdn.example.com',
    ],
    ['CDN, http', { cdnDomain: 'cdn.example.com', useHttps: false }, 'http', '//cdn.example.com'],
    [
      'CDN with https:// (no https://https://)',
      { cdnDomain: 'https://cdn.example.com' },
      'https',
      '//cdn.example.com',
    ],
    [
      'CDN scheme wins over useHttps',
      { cdnDomain: 'http://cdn.example.com', useHttps: true },
      'http',
      '//cdn.example.com',
    ],
    [
      'CDN scheme wins, other way',
      { cdnDomain: 'HTTPS://cdn.example.com', useHttps: false },
      'https',
      '//cdn.example.com',
    ],
    ['CDN protocol-relative', { cdnDomain: '//cdn.example.com' }, 'https', '//cdn.example.com'],
    ['CDN with path', { cdnDomain: 'cdn.example.com/assets' }, 'https', '//cdn.example.com/assets'],
    [
      'CDN with path, trailing /',
      { cdnDomain: 'https://cdn.example.com/assets/v2/' },
      'https',
      '//cdn.example.com/assets/v2',
    ],
    [
      'CDN host lower-cased, path case kept',
      { cdnDomain: 'CDN.Example.com/Assets' },
      'https',
      '//cdn.example.com/Assets',
    ],
    ['CDN with port', { cdnDomain: 'localhost:8080' }, 'https', '//localhost:8080'],
  ])('%s', (_name, config, scheme, authority) => {
    expect(origin(config)).toEqual({ scheme, authority });
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    [
      'CDN with ftp://',
      { cdnDomain: 'ftp://cdn.example.com' },
      /cdnDomain \/ FLASKS3_CDN_DOMAIN.*only http:\/\/ and https:\/\//,
    ],
    ['CDN with a query', { cdnDomain: 'cdn.example.com/?x=1' }, /cdnDomain \/ FLASKS3_CDN_DOMAIN/],
    [
      'CDN with a space',
      { cdnDomain: 'cdn example.com' },
      /cdnDomain \/ FLASKS3_CDN_DOMAIN.*valid host name/,
    ],
    ['CDN path needing escapes', { cdnDomain: 'cdn.example.com/my assets' }, /percent-encoded/],
    ['CDN scheme only', { cdnDomain: 'https://' }, /valid host name/],
    [
      'bucket domain with a path',
      { bucketDomain: 's3.example.com/x' },
      /bucketDomain \/ FLASKS3_BUCKET_DOMAIN.*without a path/,
    ],
    [
      'bucket domain with credentials',
      { bucketDomain: 'user:pw@s3.example.com' },
      /bucketDomain \/ FLASKS3_BUCKET_DOMAIN/,
    ],
  ])('rejects %s with a ConfigError naming the setting', (_name, config, message) => {
    expect(() => origin(config)).toThrow(ConfigError);
    expect(() => origin(config)).toThrow(message);
  });
});

describe('staticUrlBase and localUrlBase', () => {
  const app: StaticMount = {
    endpoint: 'static',
    blueprint: undefined,
    folder: '/srv/static',
    urlPath: '/static',
  };
  const admin: StaticMount = {
    endpoint: 'admin.static',
    blueprint: 'admin',
    folder: '/srv/a',
    urlPath: '/admin/static',
  };
  const root: StaticMount = { endpoint: 'static', blueprint: undefined, folder: '/srv/static', urlPath: '' };
  const origin = { scheme: 'https', authority: '//b.s3.amazonaws.com' } as const;

  it.each<[StaticMount, string, string]>([
    [app, '', 'https://b.s3.amazonaws.com/static/'],
    [app, 'Assets/V1', 'https://b.s3.amazonaws.com/Assets/V1/static/'], // prefix case kept
    [admin, '', 'https://b.s3.amazonaws.com/admin/static/'],
    [admin, 'p', 'https://b.s3.amazonaws.com/p/admin/static/'],
    [root, '', 'https://b.s3.amazonaws.com/'],
    [root, 'p', 'https://b.s3.amazonaws.com/p/'],
    [app, 'my prefix', 'https://b.s3.amazonaws.com/my%20prefix/static/'],
  ])('%o with prefix %j', (mount, prefix, expected) => {
    const base = staticUrlBase(origin, prefix, mount);
    expect(base.absolute).toBe(expected);
    expect(base.schemeRelative).toBe(expected.slice('https:'.length));
  });

  it('appending a filename gives the URL of objectKey(prefix, mount, filename)', () => {
    for (const mount of [app, admin, root]) {
      for (const prefix of ['', 'Assets/v1', 'a b']) {
        for (const file of ['css/site.css', 'img/ü ñ.png', "we!rd$'()*,;:~_.txt", 'a#b?c%d.js']) {
          const url = new URL(staticUrlBase(origin, prefix, mount).absolute + encodeUrlPath(file));
          expect(decodeURIComponent(url.pathname.slice(1))).toBe(objectKey(prefix, mount, file));
          expect(url.search).toBe('');
          expect(url.hash).toBe('');
        }
      }
    }
  });

  it.each<[StaticMount, string]>([
    [app, '/static/'],
    [admin, '/admin/static/'],
    [root, '/'],
  ])('local base of %o is %j', (mount, expected) => {
    expect(localUrlBase(mount)).toBe(expected);
  });
});

describe('checkScheme', () => {
  it.each<[unknown, string | undefined]>([
    ['http', 'http'],
    ['https', 'https'],
    ['HTTPS', 'https'],
    ['', ''],
    [null, undefined],
    [undefined, undefined],
  ])('%j -> %j', (input, expected) => {
    expect(checkScheme(input, 'static')).toBe(expected);
  });

  it.each<unknown>(['ftp', 'javascript', true, 1])('rejects %j', (input) => {
    expect(() => checkScheme(input, 'static')).toThrow(/_scheme must be 'http', 'https' or ''/);
  });
});

describe('callName', () => {
  it('names the call as a template writes it', () => {
    expect(callName('admin.static')).toBe("url_for('admin.static')");
    expect(callName("it's")).toBe('url_for("it\'s")');
  });
});

const DOT_SEGMENT = "has a '.' or '..' segment in its path: browsers collapse those, so the URLs would 404";

describe('a CDN path that is URL text already', () => {
  const origin = (cdnDomain: string) => {
    const resolved = resolveConfig({ bucketName: 'mybucket', cdnDomain });
    return assetOrigin(resolved, 'mybucket');
  };

  it.each<[string, string]>([
    ['cdn.example.com/my%20assets', '//cdn.example.com/my%20assets'],
    ['cdn.example.com/a%2Fb/%C3%BC/', '//cdn.example.com/a%2Fb/%C3%BC'],
    ["cdn.example.com/v=1;x&y@z!$'()*+,~", "//cdn.example.com/v=1;x&y@z!$'()*+,~"],
  ])('%j is kept as written, not escaped again', (cdnDomain, authority) => {
    expect(origin(cdnDomain)).toEqual({ scheme: 'https', authority });
    const base = staticUrlBase(origin(cdnDomain), '', {
      endpoint: 'static',
      blueprint: undefined,
      folder: '/srv/static',
      urlPath: '/static',
    });
    expect(base.absolute).toBe(`https:${authority}/static/`);
  });

  it.each<[string, string]>([
    ['cdn.example.com/my assets', 'has a path with characters that must be percent-encoded'],
    ['cdn.example.com/100%', 'has a path with characters that must be percent-encoded'],
    ['cdn.example.com/%2', 'has a path with characters that must be percent-encoded'],
    ['cdn.example.com/%zz', 'has a path with characters that must be percent-encoded'],
    ['cdn.example.com/a"b', 'has a path with characters that must be percent-encoded'],
    ['gopher://cdn.example.com', 'has the scheme "gopher"; only http:// and https:// are served to browsers'],
    [
      'cdn.example.com#top',
      'must be a host name, optionally with a scheme and port, and no query or fragment',
    ],
    [
      '-cdn.example.com',
      'does not start with a valid host name (letters, digits, dots, hyphens, optional :port)',
    ],
    [
      'cdn.example.com.',
      'does not start with a valid host name (letters, digits, dots, hyphens, optional :port)',
    ],
    [
      'cdn.example.com:123456',
      'does not start with a valid host name (letters, digits, dots, hyphens, optional :port)',
    ],
    // Browsers collapse these segments, so every URL under them would 404.
    ['cdn.example.com/..', DOT_SEGMENT],
    ['cdn.example.com/a/../b', DOT_SEGMENT],
    ['cdn.example.com/./x', DOT_SEGMENT],
    ['cdn.example.com/x/.', DOT_SEGMENT],
    ['cdn.example.com/%2e%2E/x', DOT_SEGMENT],
    ['cdn.example.com/a/.%2e/', DOT_SEGMENT],
  ])('%j is refused: CONFIG_DOMAIN naming cdnDomain', (cdnDomain, why) => {
    let error: unknown;
    try {
      origin(cdnDomain);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const e = error as ConfigError;
    expect([e.code, e.setting, e.message]).toEqual([
      'CONFIG_DOMAIN',
      'cdnDomain / FLASKS3_CDN_DOMAIN',
      `cdnDomain / FLASKS3_CDN_DOMAIN: ${JSON.stringify(cdnDomain)} ${why}`,
    ]);
  });

  it.each<[string, { scheme: string; authority: string }]>([
    ['//cdn.example.com', { scheme: 'https', authority: '//cdn.example.com' }],
    ['cdn_1.example.com', { scheme: 'https', authority: '//cdn_1.example.com' }],
    ['a', { scheme: 'https', authority: '//a' }],
    ['[2001:db8::1]:8443/x', { scheme: 'https', authority: '//[2001:db8::1]:8443/x' }],
    ['http://CDN.example.com:8080/Path/', { scheme: 'http', authority: '//cdn.example.com:8080/Path' }],
    // Every trailing slash goes, so url_for never renders `//static/`.
    ['cdn.example.com/assets///', { scheme: 'https', authority: '//cdn.example.com/assets' }],
    ['cdn.example.com//', { scheme: 'https', authority: '//cdn.example.com' }],
    // Dots inside a segment, or three of them, are names browsers keep.
    [
      'cdn.example.com/.well-known/v1./a.b/...',
      { scheme: 'https', authority: '//cdn.example.com/.well-known/v1./a.b/...' },
    ],
  ])('%j', (cdnDomain, expected) => {
    expect(origin(cdnDomain)).toEqual(expected);
  });

  it('a bucket domain with a path names bucketDomain and says where a path goes', () => {
    let error: unknown;
    try {
      assetOrigin(resolveConfig({ bucketDomain: 's3.example.com/x' }), 'b');
    } catch (err) {
      error = err;
    }
    const e = error as ConfigError;
    expect([e.code, e.setting, e.message]).toEqual([
      'CONFIG_DOMAIN',
      'bucketDomain / FLASKS3_BUCKET_DOMAIN',
      'bucketDomain / FLASKS3_BUCKET_DOMAIN: "s3.example.com/x" must be a host name (with optional port) without a path; put a path in cdnDomain',
    ]);
    // A trailing slash is no path.
    expect(assetOrigin(resolveConfig({ bucketDomain: 's3.example.com/' }), 'B').authority).toBe(
      '//b.s3.example.com',
    );
  });
});

describe('url_for errors: the code and endpoint users branch on', () => {
  function urlError(fn: () => unknown): UrlBuildError {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(UrlBuildError);
      return err as UrlBuildError;
    }
    throw new Error('expected a UrlBuildError, none was thrown');
  }

  it.each<[string, () => unknown, string, string]>([
    [
      'a lone surrogate in a path',
      () => encodeUrlPath('a\ud800.css', 'static'),
      'URL_BAD_UNICODE',
      `url_for('static'): "a\\ud800.css" is not valid Unicode (it contains a lone surrogate)`,
    ],
    [
      'a lone surrogate in a query value',
      () => formatQuery({ q: '\udc00' }),
      'URL_BAD_UNICODE',
      `url_for(''): "\\udc00" is not valid Unicode (it contains a lone surrogate)`,
    ],
    [
      'a lone surrogate in an anchor',
      () => encodeFragment('#\ud800', 'admin.static'),
      'URL_BAD_UNICODE',
      `url_for('admin.static'): "#\\ud800" is not valid Unicode (it contains a lone surrogate)`,
    ],
    [
      'an object value',
      () => printValue({ a: 1 }, 'opts', 'static'),
      'URL_BAD_VALUE',
      "url_for('static'): opts is an object; give a string, number or boolean",
    ],
    [
      'a list where one value goes',
      () => printValue(['a'], 'v', 'static'),
      'URL_BAD_VALUE',
      "url_for('static'): v is a list; give a string, number or boolean",
    ],
    [
      'a list of lists',
      () => appendQuery('', 'grid', [new Set([1])], 'static'),
      'URL_BAD_VALUE',
      "url_for('static'): grid is a list of lists; give a flat list",
    ],
    [
      'a NUL in a filename',
      () => normaliseFilename('a\0b'),
      'URL_BAD_FILENAME',
      `url_for('static'): filename contains a NUL character: "a\\u0000b"`,
    ],
    [
      'a .. segment',
      () => normaliseFilename('/a/../b', 'x y'),
      'URL_BAD_FILENAME',
      `url_for("x y"): filename must not contain '..' segments: "/a/../b"`,
    ],
    [
      'an unknown scheme',
      () => checkScheme('ftp', 'static'),
      'URL_BAD_SCHEME',
      `url_for('static'): _scheme must be 'http', 'https' or '' (protocol-relative), got "ftp"`,
    ],
    [
      'a scheme that is no string',
      () => checkScheme(Symbol.iterator, 'static'),
      'URL_BAD_SCHEME',
      `url_for('static'): _scheme must be 'http', 'https' or '' (protocol-relative), got Symbol(Symbol.iterator)`,
    ],
  ])('%s', (_what, fn, code, message) => {
    const error = urlError(fn);
    expect([error.code, error.message]).toEqual([code, message]);
  });

  it('the public encoders, called without an endpoint, name none', () => {
    for (const encode of [encodeUrlPath, encodeQueryComponent]) {
      const error = urlError(() => encode('\ud800'));
      expect([error.code, error.endpoint, error.message]).toEqual([
        'URL_BAD_UNICODE',
        '',
        `url_for(''): "\\ud800" is not valid Unicode (it contains a lone surrogate)`,
      ]);
    }
  });

  it('a lone surrogate keeps the URIError as cause', () => {
    expect(urlError(() => encodeUrlSegment('\ud800')).cause).toBeInstanceOf(URIError);
  });

  it('escapes only what needs it, on each slow path', () => {
    expect(encodeUrlPath('a b/$,:;@.css')).toBe('a%20b/$,:;%40.css');
    expect(encodeUrlSegment('a b/c')).toBe('a%20b%2Fc');
    expect(encodeQueryComponent('a b$,/?')).toBe('a+b$,%2F%3F');
    expect(encodeFragment('a b$&+,;=:@/?#%')).toBe('a%20b$&+,;=:@/?%23%25');
  });

  it('filenames: a trailing / or /. keeps the slash; a bare dot segment is dropped', () => {
    expect(normaliseFilename('//css/.')).toBe('css/');
    expect(normaliseFilename('css/a.css/')).toBe('css/a.css/');
    expect(normaliseFilename('/css/a.css')).toBe('css/a.css');
    expect(normaliseFilename('./.')).toBe('');
    expect(normaliseFilename('a.\\b')).toBe('a.\\b');
  });

  it('keyword values: a Set of Sets is a list of lists, a Date prints as itself', () => {
    const date = new Date(0);
    expect(formatQuery({ d: date })).toBe(`d=${encodeQueryComponent(String(date))}`);
    expect(urlError(() => formatQuery({ s: new Set([[1]]) })).code).toBe('URL_BAD_VALUE');
    expect(urlError(() => formatQuery({ s: [null, ['x']] })).message).toBe(
      "url_for(''): s is a list of lists; give a flat list",
    );
  });
});
