// app.ts: staticMounts() and objectKey(), the one place both halves learn where static files live.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type AppLike, joinUrlPath, objectKey, type StaticMount, staticMounts } from '../src/app.js';
import { ConfigError } from '../src/errors.js';

const mountsOf = (app: AppLike) =>
  staticMounts({ root: '/srv', ...app }).map((m) => [m.endpoint, m.folder, m.urlPath]);

describe('joinUrlPath', () => {
  it.each<[(string | undefined)[], string]>([
    [['admin'], '/admin'],
    [['/admin/'], '/admin'],
    [['admin/', '/static'], '/admin/static'],
    [['', '/'], ''],
    [[undefined, 'x//y'], '/x/y'],
  ])('%j -> %j', (parts, expected) => {
    expect(joinUrlPath(...parts)).toBe(expected);
  });
});

describe('staticMounts', () => {
  it('defaults: static/ under process.cwd(), served at /static', () => {
    expect(staticMounts({})).toEqual([
      { endpoint: 'static', blueprint: undefined, folder: path.resolve('static'), urlPath: '/static' },
    ]);
  });

  it.each<[string, AppLike, (string | undefined)[][]]>([
    ['no app static folder', { staticFolder: null }, []],
    [
      'custom folder and URL path',
      { staticFolder: 'public', staticUrlPath: 'assets/' },
      [['static', '/srv/public', '/assets']],
    ],
    ['absolute folder', { staticFolder: '/var/www/static' }, [['static', '/var/www/static', '/static']]],
    ['served at the site root', { staticUrlPath: '/' }, [['static', '/srv/static', '']]],
    [
      'blueprint: URL path defaults to / + basename(folder), under urlPrefix',
      { blueprints: [{ name: 'admin', staticFolder: 'admin/assets', urlPrefix: 'admin/' }] },
      [
        ['static', '/srv/static', '/static'],
        ['admin.static', '/srv/admin/assets', '/admin/assets'],
      ],
    ],
    [
      'blueprint with its own staticUrlPath',
      {
        staticFolder: null,
        blueprints: [{ name: 'shop', staticFolder: 'shop/static', urlPrefix: '/store', staticUrlPath: '/s' }],
      },
      [['shop.static', '/srv/shop/static', '/store/s']],
    ],
    [
      'blueprint without urlPrefix, distinct folder name',
      { staticFolder: null, blueprints: [{ name: 'docs', staticFolder: 'docs/files' }] },
      [['docs.static', '/srv/docs/files', '/files']],
    ],
    [
      'nested blueprints: dotted endpoint, prefixes joined',
      {
        staticFolder: null,
        blueprints: [
          {
            name: 'shop',
            urlPrefix: '/shop',
            blueprints: [
              { name: 'cart', staticFolder: 'cart/static', urlPrefix: '/cart' },
              {
                name: 'pay',
                staticFolder: 'pay/static',
                urlPrefix: 'pay',
                blueprints: [{ name: 'card', staticFolder: 'card/img', urlPrefix: '/card' }],
              },
            ],
          },
        ],
      },
      [
        ['shop.cart.static', '/srv/cart/static', '/shop/cart/static'],
        ['shop.pay.static', '/srv/pay/static', '/shop/pay/static'],
        ['shop.pay.card.static', '/srv/card/img', '/shop/pay/card/img'],
      ],
    ],
    [
      'a blueprint without static folder has no mount',
      { staticFolder: null, blueprints: [{ name: 'api', urlPrefix: '/api' }] },
      [],
    ],
  ])('%s', (_name, app, expected) => {
    expect(mountsOf(app)).toEqual(expected);
  });

  it('lets two folders share a URL path (an overlay; the uploader rejects files whose keys collide)', () => {
    expect(mountsOf({ blueprints: [{ name: 'admin', staticFolder: 'admin/static' }] })).toEqual([
      ['static', '/srv/static', '/static'],
      ['admin.static', '/srv/admin/static', '/static'],
    ]);
  });

  it('records the blueprint name on its mount', () => {
    const [, admin] = staticMounts({
      root: '/srv',
      blueprints: [{ name: 'admin', staticFolder: 'a/static', urlPrefix: '/admin' }],
    });
    expect(admin).toMatchObject({ endpoint: 'admin.static', blueprint: 'admin' });
  });

  it.each<[string, AppLike, string, RegExp]>([
    [
      '.. in staticUrlPath',
      { staticUrlPath: '/a/../b' },
      'CONFIG_PATH',
      /app.staticUrlPath must not contain '.', '..' segments or NUL/,
    ],
    [
      '. in a urlPrefix',
      { blueprints: [{ name: 'a', urlPrefix: './x' }] },
      'CONFIG_PATH',
      /blueprint "a".urlPrefix must not contain/,
    ],
    [
      'NUL in a staticUrlPath',
      { blueprints: [{ name: 'a', staticFolder: 'x', staticUrlPath: 'a\0' }] },
      'CONFIG_PATH',
      /blueprint "a".staticUrlPath/,
    ],
    [
      'a non-string staticUrlPath',
      { staticUrlPath: 3 as unknown as string },
      'CONFIG_TYPE',
      /app.staticUrlPath must be a string, got number/,
    ],
    [
      'an empty staticFolder',
      { staticFolder: '' },
      'CONFIG_TYPE',
      /app.staticFolder must be a folder path \(string\) or null/,
    ],
    [
      'blueprints not an array',
      { blueprints: {} as never },
      'CONFIG_TYPE',
      /app.blueprints must be an array/,
    ],
    [
      'a dotted blueprint name',
      { blueprints: [{ name: 'a.b' }] },
      'CONFIG_BLUEPRINT',
      /blueprint "a.b": name must be .* \(no dots\)/,
    ],
    [
      'an empty blueprint name',
      { blueprints: [{ name: '' }] },
      'CONFIG_BLUEPRINT',
      /name must be a non-empty string/,
    ],
    [
      'a blueprint registered twice',
      { blueprints: [{ name: 'a' }, { name: 'a' }] },
      'CONFIG_BLUEPRINT',
      /blueprint "a" is registered twice/,
    ],
  ])('%s is a ConfigError', (_name, app, code, message) => {
    let error: unknown;
    try {
      staticMounts({ root: '/srv', ...app });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe(code);
    expect((error as Error).message).toMatch(message);
  });
});

describe('objectKey', () => {
  const at = (urlPath: string): StaticMount => ({
    endpoint: 'static',
    blueprint: undefined,
    folder: '/srv/static',
    urlPath,
  });

  it.each<[string, string, string, string]>([
    ['', '/static', 'css/a.css', 'static/css/a.css'],
    ['p', '/static', 'css/a.css', 'p/static/css/a.css'],
    ['Assets/V1', '/admin/static', 'a.css', 'Assets/V1/admin/static/a.css'],
    ['', '', 'robots.txt', 'robots.txt'],
    ['p', '', 'robots.txt', 'p/robots.txt'],
    ['', '/static', '/leading.css', 'static/leading.css'],
    ['', '/static', 'Ü/Mixed Case.CSS', 'static/Ü/Mixed Case.CSS'],
    ['', '/static', '', 'static'],
  ])('prefix %j + %j + %j -> %j', (prefix, urlPath, rel, expected) => {
    expect(objectKey(prefix, at(urlPath), rel)).toBe(expected);
  });
});
