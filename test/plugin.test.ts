// plugin.ts: NunjucksS3 through its public API (s3.urlFor), then through real Nunjucks environments
// rendering templates-test/, then against the real S3 server: a rendered URL fetches the uploaded object.
import { mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import nunjucks from 'nunjucks';
import { describe, expect, it } from 'vitest';
import { type AppLike, objectKey, staticMounts } from '../src/app.js';
import { ConfigError, UrlBuildError } from '../src/errors.js';
import { NunjucksS3, type UrlForValues } from '../src/template/plugin.js';
import { normaliseFilename } from '../src/template/url.js';
import { freshBucket, s3Backend, testClient } from './helpers/s3.js';

const TEMPLATES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'templates-test');
const S3 = 'https://mybucket.s3.amazonaws.com';
/** The site of most tests: its static folders exist (the plugin checks that they do), empty. */
const SITE = mkdtempSync(path.join(os.tmpdir(), 'plugin-site-'));
for (const folder of ['static', 'admin/static', 'shop/assets', 'cart/static']) {
  mkdirSync(path.join(SITE, folder), { recursive: true });
}

/** The app of most tests: an app static folder, blueprints (one nested, one without static files), a router table. */
function makeApp(config: Record<string, unknown> = {}, more: Partial<AppLike> = {}): AppLike {
  return {
    root: SITE,
    config: { FLASKS3_BUCKET_NAME: 'mybucket', ...config },
    blueprints: [
      { name: 'admin', staticFolder: 'admin/static', urlPrefix: '/admin' },
      {
        name: 'shop',
        staticFolder: 'shop/assets',
        urlPrefix: 'store',
        staticUrlPath: '/s',
        blueprints: [{ name: 'cart', staticFolder: 'cart/static', urlPrefix: '/cart' }],
      },
      { name: 'api', urlPrefix: '/api' },
    ],
    router: { index: '/', 'user.profile': '/users/:id' },
    ...more,
  };
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error, none was thrown');
}

describe('urlFor: S3 and CDN URLs (active)', () => {
  it.each<[string, Record<string, unknown>, string, UrlForValues, string]>([
    // Where: host style, path style, domains, CDN forms, prefix, schemes.
    ['host style', {}, 'static', { filename: 'css/site.css' }, `${S3}/static/css/site.css`],
    [
      'path style',
      { urlStyle: 'path' },
      'static',
      { filename: 'a.css' },
      'https://s3.amazonaws.com/mybucket/static/a.css',
    ],
    [
      'path style, Flask spelling',
      { FLASKS3_URL_STYLE: 'path' },
      'static',
      { filename: 'a.css' },
      'https://s3.amazonaws.com/mybucket/static/a.css',
    ],
    [
      'domain with port, path style',
      { bucketDomain: '127.0.0.1:9000', urlStyle: 'path', useHttps: false },
      'static',
      { filename: 'a.css' },
      'http://127.0.0.1:9000/mybucket/static/a.css',
    ],
    [
      'domain with port, host style',
      { bucketDomain: 'localhost:9000' },
      'static',
      { filename: 'a.css' },
      'https://mybucket.localhost:9000/static/a.css',
    ],
    [
      'regional domain',
      { FLASKS3_BUCKET_DOMAIN: 's3.eu-central-1.amazonaws.com' },
      'static',
      { filename: 'a.css' },
      'https://mybucket.s3.eu-central-1.amazonaws.com/static/a.css',
    ],
    [
      'http',
      { useHttps: false },
      'static',
      { filename: 'a.css' },
      'http://mybucket.s3.amazonaws.com/static/a.css',
    ],
    [
      'CDN',
      { cdnDomain: 'cdn.example.com' },
      'static',
      { filename: 'a.css' },
      'https://cdn.example.com/static/a.css',
    ],
    [
      'CDN, Flask spelling',
      { FLASKS3_CDN_DOMAIN: 'd111.cloudfront.net' },
      'static',
      { filename: 'a.css' },
      'https://d111.cloudfront.net/static/a.css',
    ],
    [
      'CDN with https://',
      { cdnDomain: 'https://cdn.example.com' },
      'static',
      { filename: 'a.css' },
      'https://cdn.example.com/static/a.css',
    ],
    [
      'CDN with http:// wins over useHttps',
      { cdnDomain: 'http://cdn.example.com' },
      'static',
      { filename: 'a.css' },
      'http://cdn.example.com/static/a.css',
    ],
    [
      'CDN with a path',
      { cdnDomain: 'cdn.example.com/assets' },
      'static',
      { filename: 'a.css' },
      'https://cdn.example.com/assets/static/a.css',
    ],
    [
      'CDN, path and prefix',
      { cdnDomain: 'https://cdn.example.com/assets/', prefix: '/Site/' },
      'static',
      { filename: 'a.css' },
      'https://cdn.example.com/assets/Site/static/a.css',
    ],
    [
      'CDN ignores URL style',
      { cdnDomain: 'cdn.example.com', urlStyle: 'path' },
      'static',
      { filename: 'a.css' },
      'https://cdn.example.com/static/a.css',
    ],
    [
      'prefix, case kept',
      { prefix: '/Assets/V2/' },
      'static',
      { filename: 'a.css' },
      `${S3}/Assets/V2/static/a.css`,
    ],
    [
      'prefix, Flask spelling',
      { FLASKS3_PREFIX: 'build-7' },
      'static',
      { filename: 'a.css' },
      `${S3}/build-7/static/a.css`,
    ],
    [
      'prefix with a space',
      { prefix: 'my site' },
      'static',
      { filename: 'a.css' },
      `${S3}/my%20site/static/a.css`,
    ],
    [
      '_scheme http',
      {},
      'static',
      { filename: 'a.css', _scheme: 'http' },
      'http://mybucket.s3.amazonaws.com/static/a.css',
    ],
    [
      '_scheme https over useHttps false',
      { useHttps: false },
      'static',
      { filename: 'a.css', _scheme: 'https' },
      `${S3}/static/a.css`,
    ],
    [
      "_scheme '' is protocol-relative",
      {},
      'static',
      { filename: 'a.css', _scheme: '' },
      '//mybucket.s3.amazonaws.com/static/a.css',
    ],
    [
      "_scheme '' with a CDN",
      { cdnDomain: 'https://cdn.example.com/x' },
      'static',
      { filename: 'a.css', _scheme: '' },
      '//cdn.example.com/x/static/a.css',
    ],
    [
      '_scheme wins over the CDN scheme',
      { cdnDomain: 'http://cdn.example.com' },
      'static',
      { filename: 'a.css', _scheme: 'https' },
      'https://cdn.example.com/static/a.css',
    ],
    ['_scheme null is the default', {}, 'static', { filename: 'a.css', _scheme: null }, `${S3}/static/a.css`],
    ['_external true', {}, 'static', { filename: 'a.css', _external: true }, `${S3}/static/a.css`],
    [
      '_external false: still absolute',
      {},
      'static',
      { filename: 'a.css', _external: false },
      `${S3}/static/a.css`,
    ],
    // Which folder: blueprints, nested blueprints, URL prefixes, custom static URL paths.
    ['blueprint', {}, 'admin.static', { filename: 'admin.css' }, `${S3}/admin/static/admin.css`],
    [
      'blueprint with urlPrefix and staticUrlPath',
      {},
      'shop.static',
      { filename: 'x.css' },
      `${S3}/store/s/x.css`,
    ],
    ['nested blueprint', {}, 'shop.cart.static', { filename: 'x.css' }, `${S3}/store/cart/static/x.css`],
    [
      'blueprint and prefix',
      { prefix: 'P' },
      'shop.cart.static',
      { filename: 'x.css' },
      `${S3}/P/store/cart/static/x.css`,
    ],
    // Filenames.
    ['space', {}, 'static', { filename: 'my file.css' }, `${S3}/static/my%20file.css`],
    ['unicode', {}, 'static', { filename: 'ü.css' }, `${S3}/static/%C3%BC.css`],
    [
      'reserved characters',
      {},
      'static',
      { filename: 'a#b?c&d=e@f[1]%.css' },
      `${S3}/static/a%23b%3Fc%26d%3De%40f%5B1%5D%25.css`,
    ],
    [
      'kept punctuation',
      {},
      'static',
      { filename: "a!$'()*+,-.:;_~.css" },
      `${S3}/static/a!$'()*%2B,-.:;_~.css`,
    ],
    ['leading / gives no //', {}, 'static', { filename: '/css/a.css' }, `${S3}/static/css/a.css`],
    ['./ and // normalised', {}, 'static', { filename: './css//a.css' }, `${S3}/static/css/a.css`],
    ["'' is the folder's URL", {}, 'static', { filename: '' }, `${S3}/static/`],
    ['a number', {}, 'static', { filename: 404 as unknown as string }, `${S3}/static/404`],
    // Query strings and anchors.
    ['query', {}, 'static', { filename: 'a.css', v: 3 }, `${S3}/static/a.css?v=3`],
    ['query order kept', {}, 'static', { filename: 'a.css', z: 1, a: 2 }, `${S3}/static/a.css?z=1&a=2`],
    [
      'query list repeats the key',
      {},
      'static',
      { filename: 'a.css', t: ['x', 'y z'] },
      `${S3}/static/a.css?t=x&t=y+z`,
    ],
    ['query none dropped', {}, 'static', { filename: 'a.css', n: null, u: undefined }, `${S3}/static/a.css`],
    [
      'query booleans as Jinja prints them',
      {},
      'static',
      { filename: 'a.css', t: true, f: false },
      `${S3}/static/a.css?t=True&f=False`,
    ],
    [
      'query form encoding',
      {},
      'static',
      { filename: 'a.css', q: 'a&b c/ü' },
      `${S3}/static/a.css?q=a%26b+c%2F%C3%BC`,
    ],
    ['anchor', {}, 'static', { filename: 'a.svg', _anchor: 'icon' }, `${S3}/static/a.svg#icon`],
    ['anchor encoded', {}, 'static', { filename: 'a.svg', _anchor: 'a b#c' }, `${S3}/static/a.svg#a%20b%23c`],
    ["anchor '' (as Flask)", {}, 'static', { filename: 'a.svg', _anchor: '' }, `${S3}/static/a.svg#`],
    [
      'query then anchor',
      {},
      'static',
      { filename: 'a.svg', v: 1, _anchor: 'x' },
      `${S3}/static/a.svg?v=1#x`,
    ],
    ['_method is not a query', {}, 'static', { filename: 'a.css', _method: 'GET' }, `${S3}/static/a.css`],
  ])('%s', (_name, config, endpoint, values, expected) => {
    const s3 = new NunjucksS3(makeApp(config));
    expect(s3.active).toBe(true);
    expect(s3.urlFor(endpoint, values)).toBe(expected);
  });

  it("uses the app's staticUrlPath", () => {
    const s3 = new NunjucksS3(makeApp({}, { staticUrlPath: '/assets' }));
    expect(s3.urlFor('static', { filename: 'a.css' })).toBe(`${S3}/assets/a.css`);
  });

  it('serves a static folder mounted at the site root', () => {
    const s3 = new NunjucksS3(makeApp({ prefix: 'p' }, { staticUrlPath: '/' }));
    expect(s3.urlFor('static', { filename: 'robots.txt' })).toBe(`${S3}/p/robots.txt`);
  });

  it('every URL names exactly the key the uploader writes (objectKey)', () => {
    const app = makeApp({ prefix: 'Site V1', urlStyle: 'path', bucketDomain: 'example.test' });
    const s3 = new NunjucksS3(app);
    const files = [
      'css/site.css',
      '/img/ü ñ.png',
      "we!rd$'()*+,;:~_.txt",
      'a#b?c%d&e=f@g[h].js',
      './x//y.js',
      '日本語.txt',
    ];
    for (const mount of staticMounts(app)) {
      for (const file of files) {
        const url = new URL(s3.urlFor(mount.endpoint, { filename: file }));
        expect(url.pathname.startsWith('/mybucket/')).toBe(true);
        const key = decodeURIComponent(url.pathname.slice('/mybucket/'.length));
        expect(key).toBe(objectKey('Site V1', mount, normaliseFilename(file)));
      }
    }
  });
});

describe('urlFor: arguments', () => {
  const s3 = new NunjucksS3(makeApp());

  it('takes a Nunjucks keyword object and strips its marker', () => {
    expect(s3.urlFor('static', { filename: 'a.css', v: 1, __keywords: true })).toBe(`${S3}/static/a.css?v=1`);
  });

  it('takes a plain object the same way', () => {
    expect(s3.urlFor('static', { filename: 'a.css', v: 1 })).toBe(`${S3}/static/a.css?v=1`);
  });

  it('merges several objects, later keys winning (a context object plus keywords)', () => {
    expect(s3.urlFor('static', { filename: 'a.css', v: 1 }, { v: 2, _anchor: 'x', __keywords: true })).toBe(
      `${S3}/static/a.css?v=2#x`,
    );
  });

  it('treats undefined and null arguments (unset template variables) as no values', () => {
    expect(s3.urlFor('index', undefined)).toBe('/');
    expect((s3.urlFor as (...a: unknown[]) => string)('static', null, { filename: 'a.css' }, undefined)).toBe(
      `${S3}/static/a.css`,
    );
  });

  it('merges without changing any of the objects', () => {
    const a = { filename: 'a.css', v: 1 };
    const b = { v: 2, __keywords: true };
    expect(s3.urlFor('static', a, b)).toBe(`${S3}/static/a.css?v=2`);
    expect(a).toEqual({ filename: 'a.css', v: 1 });
    expect(b).toEqual({ v: 2, __keywords: true });
  });

  it('is bound: a detached urlFor works', () => {
    const { urlFor } = s3;
    expect(urlFor('static', { filename: 'a.css' })).toBe(`${S3}/static/a.css`);
    expect(urlFor.call({ not: 'the plugin' }, 'static', { filename: 'a.css' })).toBe(`${S3}/static/a.css`);
  });

  it('does not change the object it is given', () => {
    const values = { filename: '/a.css', v: [1], __keywords: true };
    s3.urlFor('static', values);
    expect(values).toEqual({ filename: '/a.css', v: [1], __keywords: true });
  });

  it.each<[string, unknown[], string, RegExp]>([
    [
      'a positional string',
      ['static', 'a.css'],
      'URL_BAD_ARGUMENTS',
      /argument 2 is string; give keyword arguments/,
    ],
    ['a number', ['static', 3], 'URL_BAD_ARGUMENTS', /argument 2 is number/],
    ['a list', ['static', ['a.css']], 'URL_BAD_ARGUMENTS', /argument 2 is a list/],
    ['no filename', ['static'], 'URL_MISSING_FILENAME', /url_for\('static'\) needs a filename/],
    ['filename none', ['static', { filename: null }], 'URL_MISSING_FILENAME', /needs a filename/],
    [
      'filename an object',
      ['static', { filename: {} }],
      'URL_BAD_FILENAME',
      /filename must be a string, got object/,
    ],
    [
      '..',
      ['static', { filename: '../secret.txt' }],
      'URL_BAD_FILENAME',
      /'\.\.' segments: "\.\.\/secret\.txt"/,
    ],
    [
      '.. in a blueprint',
      ['admin.static', { filename: 'x/../../y' }],
      'URL_BAD_FILENAME',
      /url_for\('admin.static'\).*'\.\.'/,
    ],
    ['NUL', ['static', { filename: 'a\0.css' }], 'URL_BAD_FILENAME', /NUL/],
    ['bad _scheme', ['static', { filename: 'a', _scheme: 'ftp' }], 'URL_BAD_SCHEME', /_scheme must be/],
    ['an object query value', ['static', { filename: 'a', q: { a: 1 } }], 'URL_BAD_VALUE', /q is an object/],
    [
      'unknown blueprint',
      ['shop2.static', { filename: 'a' }],
      'URL_UNKNOWN_BLUEPRINT',
      /no blueprint "shop2" with a static folder \(blueprints with static folders: admin, shop, shop.cart\)/,
    ],
    [
      'blueprint without static folder',
      ['api.static', { filename: 'a' }],
      'URL_UNKNOWN_BLUEPRINT',
      /no blueprint "api" with a static folder/,
    ],
    [
      'relative .static',
      ['.static', { filename: 'a' }],
      'URL_UNKNOWN_BLUEPRINT',
      /relative endpoints need a current blueprint/,
    ],
    [
      'unknown endpoint',
      ['about', {}],
      'URL_UNKNOWN_ENDPOINT',
      /url_for\('about'\): no route for it in app.router/,
    ],
    ['missing route param', ['user.profile', {}], 'URL_MISSING_PARAM', /missing value for :id/],
  ])('%s is a UrlBuildError saying so', (_name, args, code, message) => {
    const error = thrown(() => (s3.urlFor as (...a: unknown[]) => string)(...args));
    expect(error).toBeInstanceOf(UrlBuildError);
    expect((error as UrlBuildError).code).toBe(code);
    expect(error.message).toMatch(message);
  });

  it.each<[unknown]>([[undefined], [''], [3]])('an endpoint %j is a UrlBuildError', (endpoint) => {
    const error = thrown(() => s3.urlFor(endpoint as string));
    expect(error).toBeInstanceOf(UrlBuildError);
    expect((error as UrlBuildError).code).toBe('URL_BAD_ENDPOINT');
  });

  it("'static' without an app static folder says so", () => {
    const s = new NunjucksS3(makeApp({}, { staticFolder: null }));
    expect(() => s.urlFor('static', { filename: 'a' })).toThrow(/the app has no static folder/);
    expect(s.urlFor('admin.static', { filename: 'a' })).toBe(`${S3}/admin/static/a`);
  });
});

describe('non-static endpoints', () => {
  it('go to the router table, with leftover values as the query and _anchor', () => {
    const s3 = new NunjucksS3(makeApp());
    expect(s3.urlFor('index')).toBe('/');
    expect(s3.urlFor('user.profile', { id: 3, tab: 'a b', _anchor: 'x', __keywords: true })).toBe(
      '/users/3?tab=a+b#x',
    );
  });

  it('go to a router function, which never sees the keyword marker', () => {
    const seen: unknown[] = [];
    const s3 = new NunjucksS3(
      makeApp(
        {},
        {
          router: (endpoint, values) => {
            seen.push(values);
            return `/${endpoint}`;
          },
        },
      ),
    );
    expect(s3.urlFor('about', { lang: 'de', __keywords: true })).toBe('/about');
    expect(seen).toEqual([{ lang: 'de' }]);
  });

  it('without a router: an error naming the endpoint', () => {
    const s3 = new NunjucksS3(makeApp({}, { router: undefined }));
    expect(() => s3.urlFor('index')).toThrow(
      /url_for\('index'\): it is not a static endpoint and the app has no router/,
    );
  });

  it('never break because of S3 settings: inactive without a bucket, the router still works', () => {
    const s3 = new NunjucksS3(makeApp({ FLASKS3_BUCKET_NAME: undefined, active: false }));
    expect(s3.urlFor('user.profile', { id: 1 })).toBe('/users/1');
    expect(s3.urlFor('static', { filename: 'a.css' })).toBe('/static/a.css');
  });
});

describe('active, debug and testing (read once, at init)', () => {
  it.each<[string, Partial<AppLike>, Record<string, unknown>, boolean]>([
    ['defaults', {}, {}, true],
    ['active false', {}, { active: false }, false],
    ['FLASKS3_ACTIVE false', {}, { FLASKS3_ACTIVE: false }, false],
    ['app in debug mode', { debug: true }, {}, false],
    ['app in debug mode, FLASKS3_DEBUG', { debug: true }, { FLASKS3_DEBUG: true }, true],
    ['app in debug mode, debug but not active', { debug: true }, { debug: true, active: false }, false],
    ['debug setting alone changes nothing', {}, { debug: true }, true],
    ['app testing (overrideTesting defaults to true)', { testing: true }, {}, true],
    ['app testing, overrideTesting false', { testing: true }, { overrideTesting: false }, false],
    [
      'app testing, FLASKS3_OVERRIDE_TESTING true',
      { testing: true },
      { FLASKS3_OVERRIDE_TESTING: true },
      true,
    ],
    ['overrideTesting false, app not testing', {}, { overrideTesting: false }, true],
  ])('%s', (_name, flags, config, active) => {
    const s3 = new NunjucksS3(makeApp(config, flags));
    expect(s3.active).toBe(active);
    expect(s3.urlFor('static', { filename: 'a.css' })).toBe(active ? `${S3}/static/a.css` : '/static/a.css');
  });

  it.each<[string, UrlForValues, string]>([
    ['static', { filename: 'css/site.css' }, '/static/css/site.css'],
    ['admin.static', { filename: 'admin.css' }, '/admin/static/admin.css'],
    ['shop.cart.static', { filename: 'x.css' }, '/store/cart/static/x.css'],
    [
      'static',
      { filename: 'my file ü.css', v: 2, t: ['a', 'b'], n: null, _anchor: 'top' },
      '/static/my%20file%20%C3%BC.css?v=2&t=a&t=b#top',
    ],
    ['static', { filename: '/a.css', _external: true, _scheme: 'https' }, '/static/a.css'],
    ['static', { filename: '' }, '/static/'],
  ])('inactive: %s %o is the local URL %s', (endpoint, values, expected) => {
    const s3 = new NunjucksS3(makeApp({ active: false }));
    expect(s3.urlFor(endpoint, values)).toBe(expected);
  });

  it('inactive keeps the same checks', () => {
    const s3 = new NunjucksS3(makeApp({ active: false }));
    expect(() => s3.urlFor('static', { filename: '../x' })).toThrow(UrlBuildError);
    expect(() => s3.urlFor('static', { filename: 'x', _scheme: 'ftp' as 'http' })).toThrow(UrlBuildError);
    expect(() => s3.urlFor('nope.static', { filename: 'x' })).toThrow(UrlBuildError);
  });

  it('settings changed after init apply only after initApp again', () => {
    const app = makeApp();
    const s3 = new NunjucksS3(app);
    app.config = { ...app.config, prefix: 'v2' };
    app.debug = true;
    expect(s3.urlFor('static', { filename: 'a.css' })).toBe(`${S3}/static/a.css`);
    s3.initApp(app);
    expect(s3.active).toBe(false);
    expect(s3.urlFor('static', { filename: 'a.css' })).toBe('/static/a.css');
  });
});

describe('initApp', () => {
  it('works as new NunjucksS3() + initApp(app), and returns the instance', () => {
    const s3 = new NunjucksS3();
    expect(s3.config).toBeUndefined();
    expect(s3.initApp(makeApp())).toBe(s3);
    expect(s3.urlFor('static', { filename: 'a.css' })).toBe(`${S3}/static/a.css`);
  });

  it('before initApp, urlFor says what to do', () => {
    expect(() => new NunjucksS3().urlFor('static', { filename: 'a' })).toThrow(
      /has no app yet; .*initApp\(app\)/,
    );
  });

  it('a missing bucket while active is a ConfigError at init, naming both spellings', () => {
    const error = thrown(() => new NunjucksS3(makeApp({ FLASKS3_BUCKET_NAME: undefined })));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('CONFIG_MISSING_BUCKET');
    expect((error as ConfigError).setting).toBe('bucketName / FLASKS3_BUCKET_NAME');
    expect(error.message).toContain('bucketName / FLASKS3_BUCKET_NAME');
  });

  it.each<[string, Partial<AppLike>]>([
    ['in debug mode', { debug: true }],
    ['testing with overrideTesting false', { testing: true, config: { overrideTesting: false } }],
    ['with active false', { config: { active: false } }],
  ])('no bucket is fine when inactive (%s)', (_name, more) => {
    const s3 = new NunjucksS3({ root: SITE, ...more });
    expect(s3.urlFor('static', { filename: 'a.css' })).toBe('/static/a.css');
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    [
      'a typo',
      { FLASKS3_BUCKET_NAM: 'x' },
      /unknown setting FLASKS3_BUCKET_NAM; did you mean FLASKS3_BUCKET_NAME\?/,
    ],
    [
      'an invalid URL style',
      { urlStyle: 'virtual' },
      /urlStyle \/ FLASKS3_URL_STYLE must be one of 'host', 'path'/,
    ],
    ['a bad CDN domain', { cdnDomain: 'ftp://cdn' }, /cdnDomain \/ FLASKS3_CDN_DOMAIN/],
  ])('checks the settings at init: %s', (_name, config, message) => {
    const error = thrown(() => new NunjucksS3(makeApp(config)));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(message);
  });

  it('checks the router table at init', () => {
    expect(() => new NunjucksS3(makeApp({}, { router: { bad: '/x/:' } }))).toThrow(ConfigError);
  });

  it('a failed initApp leaves the working state alone', () => {
    const app = makeApp();
    const s3 = new NunjucksS3(app);
    // @ts-expect-error: a value the types refuse, for the check at initApp
    app.config = { urlStyle: 'sideways' };
    expect(() => s3.initApp(app)).toThrow(ConfigError);
    expect(s3.urlFor('static', { filename: 'a.css' })).toBe(`${S3}/static/a.css`);
  });

  it('serves one app: another app is an error', () => {
    const s3 = new NunjucksS3(makeApp());
    expect(() => s3.initApp(makeApp())).toThrow(/already initialised for another app/);
  });

  it.each<[unknown]>([[null], ['app'], [[]]])('refuses %j as the app', (app) => {
    expect(() => new NunjucksS3().initApp(app as AppLike)).toThrow(/initApp\(app\) needs the app object/);
  });

  it('refuses an env that is not a Nunjucks Environment', () => {
    expect(() => new NunjucksS3(makeApp({}, { env: {} as nunjucks.Environment }))).toThrow(
      /app.env must be a Nunjucks Environment/,
    );
  });

  it('installs url_for into app.env: the same function as s3.urlFor', () => {
    const env = new nunjucks.Environment();
    const s3 = new NunjucksS3(makeApp({}, { env }));
    expect(env.getGlobal('url_for')).toBe(s3.urlFor);
  });

  it('never shows credentials', () => {
    const s3 = new NunjucksS3(
      makeApp({ AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'sekrit/KEY' }),
    );
    for (const text of [
      inspect(s3, { depth: 10, showHidden: true }),
      JSON.stringify(s3),
      JSON.stringify(s3.config),
      inspect(s3.config),
    ]) {
      expect(text).not.toContain('sekrit');
      expect(text).not.toContain('AKIDEXAMPLE');
    }
    expect(s3.config?.secretAccessKey).toBe('sekrit/KEY');
  });
});

describe('rendering templates-test/ through a real Nunjucks Environment', () => {
  function env(options: nunjucks.ConfigureOptions = {}) {
    return new nunjucks.Environment(new nunjucks.FileSystemLoader(TEMPLATES), {
      autoescape: true,
      ...options,
    });
  }
  const lines = (text: string) =>
    text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);

  it('renders a Flask/Jinja template unchanged (extends, blocks, loops, ~, _external=True)', () => {
    const e = env();
    new NunjucksS3(makeApp({}, { env: e }));
    const html = e.render('flask/admin.html', { user: { id: 42, name: 'Ada' } });
    expect(lines(html)).toEqual([
      '<!doctype html>',
      '<html lang="en">',
      '<head>',
      '<meta charset="utf-8">',
      '<title>Admin</title>',
      `<link rel="stylesheet" href="${S3}/static/css/site.css">`,
      `<link rel="stylesheet" href="${S3}/admin/static/admin.css">`,
      '</head>',
      '<body>',
      '<nav><a href="/">Home</a></nav>',
      `<img src="${S3}/static/img/logo.png" alt="logo">`,
      '<a href="/users/42?tab=posts">Ada</a>',
      `<img src="${S3}/static/icons/a.png" alt="">`,
      `<img src="${S3}/static/icons/b%20c.png" alt="">`,
      `<script src="${S3}/static/js/app.js"></script>`,
      '</body>',
      '</html>',
    ]);
  });

  it('renders the same template with local URLs when inactive', () => {
    const e = env();
    new NunjucksS3(makeApp({}, { env: e, debug: true }));
    const html = e.render('flask/admin.html', { user: { id: 42, name: 'Ada' } });
    expect(html).toContain('href="/static/css/site.css"');
    expect(html).toContain('href="/admin/static/admin.css"');
    expect(html).toContain('src="/static/icons/b%20c.png"');
    expect(html).toContain('src="/static/js/app.js"');
  });

  it('works in macros, imported with from-import and import-as', () => {
    const e = env();
    new NunjucksS3(makeApp({ cdnDomain: 'cdn.example.com' }, { env: e }));
    expect(lines(e.render('uses-macros.html', { version: 7 }))).toEqual([
      '<link rel="stylesheet" href="https://cdn.example.com/static/css/a.css">',
      // Imported macros do not see the render context (Nunjucks' rule), so `version` is undefined: dropped.
      '<script src="https://cdn.example.com/admin/static/js/admin.js"></script>',
    ]);
  });

  it('works in includes', () => {
    const e = env();
    new NunjucksS3(makeApp({}, { env: e }));
    expect(lines(e.render('with-include.html', { image: 'img/ü.png' }))).toEqual([
      `<link rel="icon" href="${S3}/static/favicon.ico">`,
      `<img src="${S3}/static/img/%C3%BC.png" alt="">`,
    ]);
  });

  it('autoescape on: & becomes &amp; (as in Jinja)', () => {
    const e = env({ autoescape: true });
    new NunjucksS3(makeApp({}, { env: e }));
    expect(e.render('query.html').trim()).toBe(`${S3}/static/a.css?v=1&amp;w=x+y`);
  });

  it('autoescape off: the URL as it is', () => {
    const e = env({ autoescape: false });
    new NunjucksS3(makeApp({}, { env: e }));
    expect(e.render('query.html').trim()).toBe(`${S3}/static/a.css?v=1&w=x+y`);
  });

  it('keywords: lists, none, booleans, _anchor, _scheme, an object literal, a context object, set', () => {
    const e = env({ autoescape: false });
    new NunjucksS3(makeApp({}, { env: e }));
    expect(lines(e.render('keywords.html', { params: { filename: 'ctx.js', v: 'a b' } }))).toEqual([
      'http://mybucket.s3.amazonaws.com/static/f.js?tag=a&tag=b&debug=True&off=False#top',
      `${S3}/static/obj.css?v=2`,
      `${S3}/static/ctx.js?v=a+b`,
      `${S3}/static/img/logo.png`,
    ]);
  });

  it('renders unicode filenames as UTF-8 escapes', () => {
    const e = env();
    new NunjucksS3(makeApp({}, { env: e }));
    expect(e.render('unicode.html').trim()).toBe(`${S3}/static/fonts/Schriftart%20f%C3%BCr%20%C3%BC.woff2`);
  });

  it('a render-context variable named url_for shadows the global (Nunjucks rule)', () => {
    const e = env();
    new NunjucksS3(makeApp({}, { env: e }));
    expect(e.render('shadow.html').trim()).toBe(`${S3}/static/a.css`);
    expect(e.render('shadow.html', { url_for: () => '/shadowed' }).trim()).toBe('/shadowed');
  });

  it('env.addGlobal(url_for, s3.urlFor) renders what s3.urlFor returns', () => {
    const e = env({ autoescape: false });
    const s3 = new NunjucksS3(makeApp());
    e.addGlobal('url_for', s3.urlFor);
    const values = { filename: 'a b.css', v: 1, _anchor: 'x' };
    expect(e.renderString("{{ url_for('static', filename='a b.css', v=1, _anchor='x') }}", {})).toBe(
      s3.urlFor('static', values),
    );
  });

  it('renders asynchronously too', async () => {
    const e = env();
    new NunjucksS3(makeApp({}, { env: e }));
    const html = await new Promise<string>((resolve, reject) =>
      e.render('query.html', {}, (err, res) => (err ? reject(err) : resolve(res ?? ''))),
    );
    expect(html.trim()).toBe(`${S3}/static/a.css?v=1&amp;w=x+y`);
  });

  it('an error in url_for reaches the caller as a render error that keeps the message', () => {
    const e = env();
    new NunjucksS3(makeApp({}, { env: e }));
    const error = thrown(() => e.render('unknown-blueprint.html'));
    expect(error.name).toBe('Template render error');
    expect(error.message).toContain('unknown-blueprint.html');
    expect(error.message).toContain(`UrlBuildError: url_for('blog.static'): no blueprint "blog"`);
  });

  it('with dev: true the UrlBuildError itself is the cause', () => {
    const e = env({ dev: true } as nunjucks.ConfigureOptions);
    new NunjucksS3(makeApp({}, { env: e }));
    const error = thrown(() => e.renderString("{{ url_for('static', filename='../etc/passwd') }}", {}));
    expect(error.cause).toBeInstanceOf(UrlBuildError);
    expect((error.cause as UrlBuildError).code).toBe('URL_BAD_FILENAME');
  });
});

describe('URLs against a real S3 server', () => {
  it('a rendered URL fetches the object uploaded under objectKey()', async () => {
    const backend = s3Backend();
    const client = testClient(backend);
    const bucket = await freshBucket('urls', client);
    const endpoint = new URL(backend.endpoint);
    const app = makeApp({
      FLASKS3_BUCKET_NAME: bucket,
      FLASKS3_BUCKET_DOMAIN: endpoint.host,
      FLASKS3_URL_STYLE: 'path',
      FLASKS3_USE_HTTPS: endpoint.protocol === 'https:',
      FLASKS3_PREFIX: '/Site V1/',
    });
    const s3 = new NunjucksS3(app);
    const files = [
      'css/site.css',
      'img/ü ñ.png',
      "we!rd$'()*,;:~_.txt",
      'a#b?c%d&e=f@g[h].js',
      'fonts/日本語.woff2',
    ];
    try {
      for (const mount of staticMounts(app)) {
        for (const file of files) {
          const key = objectKey('Site V1', mount, file);
          await client.send(
            new PutObjectCommand({ Bucket: bucket, Key: key, Body: `body of ${key}`, ACL: 'public-read' }),
          );
          const url = s3.urlFor(mount.endpoint, { filename: file, v: 1, _anchor: 'x' });
          const res = await fetch(url);
          expect(res.status, url).toBe(200);
          expect(await res.text()).toBe(`body of ${key}`);
        }
      }
    } finally {
      client.destroy();
    }
  });
});
