// router.ts: the host router for non-static endpoints, as a table of path patterns or a function.
import { describe, expect, it } from 'vitest';
import type { UrlValues } from '../src/app.js';
import { ConfigError, UrlBuildError } from '../src/errors.js';
import { compileRouter } from '../src/template/router.js';

const table = {
  index: '/',
  'user.profile': '/users/:id',
  'post.show': '/posts/:year/:slug',
  files: '/files/*path',
  page: '/pages{/:n}',
  'shop.item': '/shop/items/:id.json',
};

describe('compileRouter with a table', () => {
  const route = compileRouter(table);

  it.each<[string, UrlValues, string]>([
    ['index', {}, '/'],
    ['index', { __keywords: true }, '/'],
    ['index', { page: 2, q: 'a b' }, '/?page=2&q=a+b'],
    ['user.profile', { id: 7 }, '/users/7'],
    ['user.profile', { id: '7', tab: 'posts' }, '/users/7?tab=posts'],
    ['user.profile', { id: 'jürgen' }, '/users/j%C3%BCrgen'],
    ['user.profile', { id: 'a/b c' }, '/users/a%2Fb%20c'], // one segment: / is escaped
    ['user.profile', { id: 'x', _anchor: 'posts' }, '/users/x#posts'],
    ['user.profile', { id: 'x', _anchor: 'a b' }, '/users/x#a%20b'],
    ['user.profile', { id: 'x', v: 1, _anchor: 'top' }, '/users/x?v=1#top'],
    ['user.profile', { id: 'x', _external: true, _scheme: 'https', _method: 'GET' }, '/users/x'],
    ['user.profile', { id: 'x', tag: ['a', 'b'], n: null, d: false }, '/users/x?tag=a&tag=b&d=False'],
    ['user.profile', { id: true }, '/users/True'],
    ['post.show', { slug: 'hello-world', year: 2024 }, '/posts/2024/hello-world'],
    ['files', { path: ['a b', 'c.txt'] }, '/files/a%20b/c.txt'],
    ['files', { path: 'docs/read me.md' }, '/files/docs/read%20me.md'],
    ['page', {}, '/pages'],
    ['page', { n: null }, '/pages'],
    ['page', { n: '' }, '/pages'],
    ['page', { n: 3 }, '/pages/3'],
    ['shop.item', { id: 42 }, '/shop/items/42.json'],
  ])('%s %o -> %s', (endpoint, values, expected) => {
    expect(route(endpoint, values)).toBe(expected);
  });

  it.each<[string, UrlValues, string, RegExp]>([
    [
      'user.profile',
      {},
      'URL_MISSING_PARAM',
      /url_for\('user.profile'\): missing value for :id \(route "\/users\/:id"\)/,
    ],
    ['user.profile', { id: null }, 'URL_MISSING_PARAM', /missing value for :id/],
    ['user.profile', { id: '' }, 'URL_MISSING_PARAM', /missing value for :id/],
    ['post.show', { year: 2024 }, 'URL_MISSING_PARAM', /missing value for :slug/],
    ['files', {}, 'URL_MISSING_PARAM', /missing value for \*path/],
    ['files', { path: [] }, 'URL_MISSING_PARAM', /missing value for \*path/],
    ['user.profile', { id: [1, 2] }, 'URL_BAD_VALUE', /:id .* takes one value, got a list/],
    ['user.profile', { id: { a: 1 } }, 'URL_BAD_VALUE', /id is an object/],
    [
      'indx',
      {},
      'URL_UNKNOWN_ENDPOINT',
      /url_for\('indx'\): no route for it in app.router \(known: index, user.profile/,
    ],
    ['static.files', {}, 'URL_UNKNOWN_ENDPOINT', /static.files/],
  ])('%s %o is a UrlBuildError (%s)', (endpoint, values, code, message) => {
    let error: unknown;
    try {
      route(endpoint, values);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UrlBuildError);
    expect((error as UrlBuildError).code).toBe(code);
    expect((error as UrlBuildError).endpoint).toBe(endpoint);
    expect((error as Error).message).toMatch(message);
  });

  it('lists at most a dozen known endpoints in the error', () => {
    const big = compileRouter(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`e${i}`, `/e/${i}`])));
    expect(() => big('nope', {})).toThrow(/known: e0, e1, .*e11, \.\.\. \(20 in all\)/);
  });

  it('lists all of a dozen known endpoints, and cuts a thirteenth', () => {
    const table = (n: number) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`e${i}`, `/e/${i}`]));
    expect(() => compileRouter(table(12))('nope', {})).toThrow(/\(known: e0, e1, .*, e10, e11\)$/);
    expect(() => compileRouter(table(13))('nope', {})).toThrow(
      /\(known: e0, .*, e11, \.\.\. \(13 in all\)\)$/,
    );
  });

  it('says so when the table is empty', () => {
    expect(() => compileRouter({})('index', {})).toThrow(/app.router \(it is empty\)/);
  });
});

describe('compileRouter checks the table once, at init', () => {
  it.each<[string, unknown, RegExp]>([
    ['an unclosed group', { a: '/x{/:y' }, /app.router\["a"\]: "\/x\{\/:y" is not a valid path pattern/],
    ['a nameless parameter', { a: '/x/:' }, /app.router\["a"\].*not a valid path pattern/],
    ['a non-string pattern', { a: 3 }, /app.router\["a"\] must be a path pattern string/],
    ['an array', ['/x'], /app.router must be a function .* or an object .*, got an array/],
    ['a string', '/x', /app.router must be a function .* got string/],
  ])('%s is a ConfigError', (_name, router, message) => {
    let error: unknown;
    try {
      compileRouter(router as never);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).setting).toBe('app.router');
    expect((error as Error).message).toMatch(message);
  });

  it('keeps the path-to-regexp error as cause', () => {
    try {
      compileRouter({ a: '/x{' });
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).cause).toBeInstanceOf(TypeError);
    }
  });
});

describe('compileRouter with a function', () => {
  it('passes the endpoint and the values as given', () => {
    const calls: [string, UrlValues][] = [];
    const route = compileRouter((endpoint, values) => {
      calls.push([endpoint, values]);
      return `/fn/${endpoint}`;
    });
    const values = { id: 3, _anchor: 'a', _external: true };
    expect(route('user.profile', values)).toBe('/fn/user.profile');
    expect(calls).toEqual([['user.profile', values]]);
  });

  it('refuses a result that is not a string', () => {
    const route = compileRouter(() => undefined as unknown as string);
    expect(() => route('index', {})).toThrow(
      /url_for\('index'\): app.router returned undefined, not a URL string/,
    );
  });

  it("lets the host router's own error through unchanged", () => {
    class HostError extends Error {}
    const route = compileRouter(() => {
      throw new HostError('no such page');
    });
    expect(() => route('index', {})).toThrow(HostError);
  });
});

describe('compileRouter without a router', () => {
  it('names the endpoint', () => {
    const route = compileRouter(undefined);
    expect(() => route('index', {})).toThrow(UrlBuildError);
    expect(() => route('index', {})).toThrow(
      /url_for\('index'\): it is not a static endpoint and the app has no router/,
    );
  });
});

describe('compileRouter with Flask rules', () => {
  const route = compileRouter({
    update: '/<int:id>/update',
    user: '/users/<username>',
    named: '/tags/<string:tag>',
    price: '/price/<float:amount>',
    order: '/orders/<uuid:order>',
    docs: '/docs/<path:page>',
    json: '/items/<int:id>.json',
    glued: '/a/<id>b',
    literal: '/shop(old)/<id>*',
  });

  it.each<[string, UrlValues, string]>([
    ['update', { id: 7 }, '/7/update'],
    ['update', { id: '42', next: 'home' }, '/42/update?next=home'],
    ['user', { username: 'ada lovelace' }, '/users/ada%20lovelace'],
    ['named', { tag: 'a/b' }, '/tags/a%2Fb'],
    ['price', { amount: 2.5 }, '/price/2.5'],
    ['price', { amount: 3 }, '/price/3'],
    [
      'order',
      { order: '123e4567-e89b-12d3-a456-426614174000' },
      '/orders/123e4567-e89b-12d3-a456-426614174000',
    ],
    ['docs', { page: 'guide/read me.md' }, '/docs/guide/read%20me.md'],
    ['json', { id: 5 }, '/items/5.json'],
    ['glued', { id: 'x' }, '/a/xb'],
    ['literal', { id: 'x' }, '/shop(old)/x*'],
  ])('%s %o -> %s', (endpoint, values, expected) => {
    expect(route(endpoint, values)).toBe(expected);
  });

  it.each<[string, UrlValues, RegExp]>([
    ['update', { id: 'seven' }, /<int:id> in "\/<int:id>\/update" takes a non-negative integer, got "seven"/],
    ['update', { id: -1 }, /takes a non-negative integer, got "-1"/],
    ['update', { id: 1.5 }, /takes a non-negative integer/],
    ['price', { amount: 'cheap' }, /<float:amount> .* takes a non-negative number/],
    ['order', { order: '123' }, /<uuid:order> .* takes a UUID/],
  ])('%s %o is refused like Flask would', (endpoint, values, message) => {
    expect(() => route(endpoint, values)).toThrow(UrlBuildError);
    expect(() => route(endpoint, values)).toThrow(message);
  });

  it('names the missing variable and shows the rule as written', () => {
    expect(() => route('update', {})).toThrow(/missing value for :id \(route "\/<int:id>\/update"\)/);
  });

  it.each<[string, string, RegExp]>([
    [
      'an unknown converter',
      '/<any:x>',
      /unknown converter "any" in <any:x> \(known: string, int, float, path, uuid\)/,
    ],
    [
      'converter arguments',
      '/<int(min=1):x>',
      /converter arguments are not supported: <int\(min=1\):x>; write <int:x>/,
    ],
    ['an unclosed variable', '/<int:id/update', /unbalanced '<' or '>'/],
    ['an empty variable', '/<>/x', /"<>" does not name a variable/],
    ['a repeated variable', '/<a>/<int:a>', /variable a appears twice/],
  ])('%s is a ConfigError that shows the pattern syntax', (_name, pattern, message) => {
    let error: unknown;
    try {
      compileRouter({ e: pattern });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).setting).toBe('app.router');
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain("Flask rules ('<id>', '<int:id>'");
  });
});

describe('a Flask rule in a template', () => {
  it("renders url_for('update', id=1) as the Flask app routes it", async () => {
    const nunjucks = (await import('nunjucks')).default;
    const { NunjucksS3 } = await import('../src/template/plugin.js');
    const env = new nunjucks.Environment();
    new NunjucksS3({
      env,
      staticFolder: null,
      router: { update: '/<int:id>/update' },
      config: { active: false },
    });
    expect(env.renderString("{{ url_for('update', id=1) }}", {})).toBe('/1/update');
  });
});

describe('the fields users branch on: every router error has its code', () => {
  function caught(fn: () => unknown): Error & { code: string; setting?: string; endpoint?: string } {
    try {
      fn();
    } catch (err) {
      return err as Error & { code: string };
    }
    throw new Error('expected an error, none was thrown');
  }

  it.each<[string, unknown]>([
    ['an unclosed group', { a: '/x{' }],
    ['a non-string pattern', { a: null }],
    ['an array', ['/x']],
    ['a number', 7],
    ['a bad Flask rule', { a: '/<any:x>' }],
  ])('%s: CONFIG_ROUTER naming app.router', (_what, router) => {
    const error = caught(() => compileRouter(router as never));
    expect(error).toBeInstanceOf(ConfigError);
    expect([error.code, error.setting]).toEqual(['CONFIG_ROUTER', 'app.router']);
  });

  it('a bad Flask rule keeps the rule error as cause; a null pattern says null', () => {
    const flask = caught(() => compileRouter({ a: '/<any:x>' }));
    expect((flask.cause as Error).message).toMatch(/unknown converter "any"/);
    expect(caught(() => compileRouter({ a: null } as never)).message).toBe(
      `app.router["a"] must be a path pattern string like '/users/:id', got null`,
    );
    expect(caught(() => compileRouter({ a: 3 } as never)).message).toBe(
      `app.router["a"] must be a path pattern string like '/users/:id', got number`,
    );
    expect(caught(() => compileRouter(7 as never)).message).toBe(
      'app.router must be a function (endpoint, values) => url or an object of endpoint names to path patterns, got number',
    );
  });

  it.each<[string, RouterLike, string, UrlValues, string, string]>([
    [
      'no router at all',
      undefined,
      'home',
      {},
      'URL_UNKNOWN_ENDPOINT',
      "url_for('home'): it is not a static endpoint and the app has no router (set app.router to a function or a table of path patterns)",
    ],
    [
      'a null router',
      null,
      'home',
      {},
      'URL_UNKNOWN_ENDPOINT',
      "url_for('home'): it is not a static endpoint and the app has no router (set app.router to a function or a table of path patterns)",
    ],
    [
      'a function returning null',
      () => null,
      'home',
      {},
      'URL_ROUTER_RESULT',
      "url_for('home'): app.router returned null, not a URL string",
    ],
    [
      'a function returning a number',
      () => 3,
      'home',
      {},
      'URL_ROUTER_RESULT',
      "url_for('home'): app.router returned number, not a URL string",
    ],
    [
      'a value its Flask converter would not route',
      { item: '/items/<int:id>' },
      'item',
      { id: 'abc' },
      'URL_BAD_VALUE',
      `url_for('item'): <int:id> in "/items/<int:id>" takes a non-negative integer, got "abc"`,
    ],
    [
      'a list for one segment',
      { item: '/items/:id' },
      'item',
      { id: ['a'] },
      'URL_BAD_VALUE',
      `url_for('item'): :id in "/items/:id" takes one value, got a list (use *id for several segments)`,
    ],
    [
      'an anchor that is an object',
      { home: '/' },
      'home',
      { _anchor: { a: 1 } },
      'URL_BAD_VALUE',
      "url_for('home'): _anchor is an object; give a string, number or boolean",
    ],
    [
      'a missing wildcard',
      { files: '/files/*path' },
      'files',
      { path: ['', null] },
      'URL_MISSING_PARAM',
      `url_for('files'): missing value for *path (route "/files/*path")`,
    ],
  ])('%s', (_what, router, endpoint, values, code, message) => {
    const error = caught(() => compileRouter(router as never)(endpoint, values));
    expect(error).toBeInstanceOf(UrlBuildError);
    expect([error.code, error.endpoint, error.message]).toEqual([code, endpoint, message]);
  });

  it('a keyword named like a JavaScript value is a keyword like any other: a list repeats in the query', () => {
    const route = compileRouter({ home: '/', user: '/users/:id' });
    expect(route('home', { undefined: ['a', 'b'] })).toBe('/?undefined=a&undefined=b');
    expect(route('user', { id: 1, undefined: ['a'], null: ['b'] })).toBe('/users/1?undefined=a&null=b');
  });

  it('optional groups, wildcards as strings and lists, and the anchor', () => {
    const route = compileRouter({ page: '/docs{/:lang}/*path', home: '/' });
    expect(route('page', { path: 'a b/c' })).toBe('/docs/a%20b/c');
    expect(route('page', { path: ['a/b', '', 'c'], lang: 'en' })).toBe('/docs/en/a%2Fb/c');
    expect(route('page', { path: 'x', lang: '' })).toBe('/docs/x');
    expect(route('home', { _anchor: 'top b', _scheme: 'https', _external: true, _method: 'GET', q: 1 })).toBe(
      '/?q=1#top%20b',
    );
  });
});

type RouterLike = Parameters<typeof compileRouter>[0] | null | (() => unknown);
