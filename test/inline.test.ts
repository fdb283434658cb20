// inlineUrls (src/template/inline.ts, inline-tree.ts): literal url_for/static_integrity calls compiled into
// templates. What must hold: a page renders exactly the same with it on as off (every template of
// templates-test/, with autoescape on and off, active and inactive, fingerprinted, custom tag delimiters,
// trimBlocks and lstripBlocks, asynchronous loaders); Nunjucks' shadowing rules hold; only literal calls of
// static endpoints are inlined, checked once per stretch of output; a call that fails, and a parse error,
// read exactly as without inlining (message, line, column); initApp recompiles cached templates.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import nunjucks from 'nunjucks';
import { afterAll, describe, expect, it } from 'vitest';
import type { AppLike } from '../src/app.js';
import {
  type FoldCall,
  INLINE_FALLBACK_EXTENSION,
  INLINED_NAMES,
  type InlineOptions,
  inlineExtension,
  inlineFallback,
  wrapTemplate,
} from '../src/template/inline.js';
import { NunjucksS3 } from '../src/template/plugin.js';

const TEMPLATES = path.resolve(import.meta.dirname, '..', 'templates-test');

/** A site with real static files, so fingerprinted URLs and integrity values have something to hash. */
const ROOT = mkdtempSync(path.join(os.tmpdir(), 'nunjucks-s3-inline-'));
afterAll(() => rmSync(ROOT, { recursive: true, force: true }));
for (const [file, content] of Object.entries({
  'static/css/app.css': 'body { color: red }\n',
  'static/js/app.js': 'console.log(1);\n',
  'static/a.css': 'a {}\n',
  'static/img/logo.png': 'not really a png',
  'admin/static/admin.js': 'admin();\n',
  'admin/static/admin.css': '.admin {}\n',
})) {
  mkdirSync(path.dirname(path.join(ROOT, file)), { recursive: true });
  writeFileSync(path.join(ROOT, file), content);
}

function makeApp(env: nunjucks.Environment, config: Record<string, unknown> = {}): AppLike {
  return {
    root: ROOT,
    env,
    config: { FLASKS3_BUCKET_NAME: 'mybucket', ...config },
    blueprints: [{ name: 'admin', staticFolder: 'admin/static', urlPrefix: '/admin' }],
    router: { index: '/', 'user.profile': '/users/:id' },
  };
}

function environment(options: nunjucks.ConfigureOptions = {}) {
  return new nunjucks.Environment(new nunjucks.FileSystemLoader(TEMPLATES), { autoescape: true, ...options });
}

/** Every .html under templates-test/, relative. */
function templates(dir = TEMPLATES): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory()
      ? templates(path.join(dir, d.name)).map((t) => `${d.name}/${t}`)
      : d.name.endsWith('.html')
        ? [d.name]
        : [],
  );
}

const CONTEXT = {
  image: 'img/logo.png',
  params: { filename: 'ctx.js', v: 'a b' },
  user: { id: 42, name: 'Ada <admin>' },
  version: 7,
};

const A_CSS = 'https://mybucket.s3.amazonaws.com/static/a.css';
const PAGE = "<link href=\"{{ url_for('static', filename='a.css') }}\">{{ static_integrity('a.css') }}";

/** What a render gives, or the error's class and message. */
function outcome(env: nunjucks.Environment, name: string, context: object = CONTEXT): string {
  try {
    return env.render(name, context);
  } catch (err) {
    return `${(err as Error).name}: ${(err as Error).message}`;
  }
}

describe('inlineUrls renders exactly what url_for renders', () => {
  const cases: [string, Record<string, unknown>, nunjucks.ConfigureOptions][] = [
    ['active, autoescape', {}, {}],
    ['active, no autoescape', {}, { autoescape: false }],
    ['inactive', { active: false }, {}],
    ['CDN with a path, http', { cdnDomain: 'cdn.example.com/assets', useHttps: false, prefix: 'v2' }, {}],
    ['fingerprint filename', { fingerprint: 'filename' }, {}],
    ['fingerprint query', { fingerprint: 'query' }, {}],
    ['fingerprint strict', { fingerprint: 'filename', fingerprintStrict: true }, {}],
    ['trimBlocks and lstripBlocks', {}, { trimBlocks: true, lstripBlocks: true }],
  ];
  it.each(cases)('%s: every template of templates-test/', (_name, config, options) => {
    const off = environment(options);
    const on = environment(options);
    new NunjucksS3(makeApp(off, config));
    new NunjucksS3(makeApp(on, { ...config, inlineUrls: true }));
    const names = templates();
    expect(names.length).toBeGreaterThanOrEqual(10);
    for (const name of names) expect(outcome(on, name), name).toBe(outcome(off, name));
    // The comparison means something: most of these templates render URLs.
    expect(outcome(on, 'sri.html')).toMatch(/mybucket|cdn\.example\.com|\/static\//);
  });

  it('tricky sources: raw blocks, whitespace control, filters, expressions, comments, routes', () => {
    const source = [
      "{% raw %}{{ url_for('static', filename='raw.css') }}{% raw %}{% endraw %}{{ url_for('static', filename='still-raw') }}{% endraw %}",
      "{{- url_for('static', filename='trim-left.css') }}|{{ url_for('static', filename='trim-right.css') -}}  |",
      "{{ url_for('static', filename='upper.css') | upper }} {{ url_for('static', filename='a' ~ 'b') }}",
      "{{ url_for('static', filename=image, v=-1) }} {{ url_for('index') }} {{ url_for('user.profile', id=3) }}",
      "{# {{ url_for('static', filename='in-comment') }} #}{{ url_for('static', filename=\"dq 'x'.css\", q='<&>\"') }}",
      "{{ url_for('static', filename='t.css', flag=true, off=false, gone=none, nul=null, n=12, f=1.50) }}",
      "{{ url_for('static',\n  filename='two-lines.css') }} {{url_for('static',filename='tight.css')}}",
      "{{ static_integrity('css/app.css') }} {{ static_integrity('admin.static', 'admin.js') }}",
      "{% if true %}{{ url_for('admin.static', filename='admin.css', _anchor='top', _scheme='') }}{% endif %}",
    ].join('\n');
    for (const autoescape of [true, false]) {
      const off = environment({ autoescape });
      const on = environment({ autoescape });
      new NunjucksS3(makeApp(off, { fingerprint: 'query' }));
      new NunjucksS3(makeApp(on, { fingerprint: 'query', inlineUrls: true }));
      const rendered = on.renderString(source, CONTEXT);
      expect(rendered).toBe(off.renderString(source, CONTEXT));
      expect(rendered).toContain("{{ url_for('static', filename='raw.css') }}");
      expect(rendered).toContain('https://mybucket.s3.amazonaws.com/static/t.css?flag=True&');
    }
  });

  it('custom tag delimiters', () => {
    const tags = { blockStart: '<%', blockEnd: '%>', variableStart: '<$', variableEnd: '$>' };
    const source = "<% if true %><$ url_for('static', filename='a.css') $><% endif %> {{ url_for('x') }}";
    const off = environment({ tags });
    const on = environment({ tags });
    new NunjucksS3(makeApp(off));
    new NunjucksS3(makeApp(on, { inlineUrls: true }));
    expect(on.renderString(source, {})).toBe(off.renderString(source, {}));
    expect(on.renderString(source, {})).toBe(
      "https://mybucket.s3.amazonaws.com/static/a.css {{ url_for('x') }}",
    );
  });
});

/** The guard the cases below inline with. */
const GUARD = { property: 'tok', token: 't.1' };

/**
 * A bare Environment with the inliner installed as the plugin installs it, whose fold shows what it was
 * asked (`[name args]`) and whose url_for / static_integrity show that they were called (`call:name`):
 * what renders tells which calls were inlined. `reads` counts the checks (reads of the guard property).
 */
function inlining(
  options: nunjucks.ConfigureOptions = {},
  fold: FoldCall = (name, args) => `[${name} ${JSON.stringify(args)}]`,
) {
  const env = new nunjucks.Environment(null, { autoescape: false, ...options });
  const counter = { reads: 0 };
  for (const name of INLINED_NAMES) {
    const fn = (...args: unknown[]) => `call:${name}${args.length}`;
    Object.defineProperty(fn, GUARD.property, {
      get: () => {
        counter.reads += 1;
        return GUARD.token;
      },
    });
    env.addGlobal(name, fn);
  }
  const opts = (env as unknown as { opts: InlineOptions }).opts;
  env.addExtension(INLINE_FALLBACK_EXTENSION, inlineFallback as never);
  env.addExtension('inline', inlineExtension(opts, { fold, guard: GUARD }) as never);
  return { env, counter };
}

describe('what is inlined, and what is left to render time', () => {
  it.each([
    [
      "a {{ url_for('static', filename='x.css', v=1) }} b",
      'a [url_for ["static",{"filename":"x.css","v":1,"__keywords":true}]] b',
    ],
    ["{{ static_integrity('admin.static', 'a.js') }}", '[static_integrity ["admin.static","a.js"]]'],
    [
      "{{ url_for('t.css', flag=true, off=false, gone=none, n=12, f=1.50) }}",
      '[url_for ["t.css",{"flag":true,"off":false,"gone":null,"n":12,"f":1.5,"__keywords":true}]]',
    ],
    // Keywords before a positional argument: Nunjucks passes the positional first, and so does the fold.
    ["{{ url_for(filename='x', 'static') }}", '[url_for ["static",{"filename":"x","__keywords":true}]]'],
    // The tag's own whitespace control and line breaks are Nunjucks' business: the call is inlined.
    ["a {{- url_for('x') -}} b|{{ url_for(\n 'y') }}", 'a[url_for ["x"]]b|[url_for ["y"]]'],
    ["{{ url_for('static', filename=name) }}", 'call:url_for2'],
    ["{{ url_for('static', v=-1) }}", 'call:url_for2'],
    ["{{ url_for('static', filename='a' ~ 'b') }}", 'call:url_for2'],
    ["{{ url_for('x') | upper }}", 'CALL:URL_FOR1'],
    ["{{ other('x') }}|{{ url_for['x'] }}", '|'],
    ["{% raw %}{{ url_for('x') }}{% endraw %}", "{{ url_for('x') }}"],
    // Inside statements' bodies: call, filter and set blocks, switch cases, macros.
    [
      "{% macro m() %}<{{ caller() }}>{% endmacro %}{% call m() %}{{ url_for('a') }}{% endcall %}" +
        "{% filter upper %}{{ url_for('b') }}{% endfilter %}{% set s %}{{ url_for('c') }}{% endset %}{{ s }}" +
        "{% switch 1 %}{% case 1 %}{{ url_for('d') }}{% endswitch %}",
      '<[url_for ["a"]]>[URL_FOR ["B"]][url_for ["c"]][url_for ["d"]]',
    ],
    ["{# {{ url_for('x') }} #}{{ url_for('y') }}", '[url_for ["y"]]'],
  ])('%s', (source, expected) => {
    const { env } = inlining();
    expect(env.renderString(source, { other: () => '' })).toBe(expected);
  });

  it('escapes what it inlines when autoescape is on, as the render does; never reads it as a tag', () => {
    const { env } = inlining({ autoescape: true }, () => 'a&b<"c">{{ d }}{% e %}');
    expect(env.renderString("{{ url_for('x') }}", {})).toBe('a&amp;b&lt;&quot;c&quot;&gt;{{ d }}{% e %}');
  });

  it('a call whose fold fails or declines is left to render time', () => {
    const { env } = inlining({}, (name, args) => {
      if (args[0] === 'fails') throw new Error('no');
      return args[0] === 'declines' ? undefined : `[${name}]`;
    });
    expect(env.renderString("{{ url_for('fails') }} {{ url_for('declines') }} {{ url_for('x') }}", {})).toBe(
      'call:url_for1 call:url_for1 [url_for]',
    );
  });

  it('custom tag delimiters', () => {
    const tags = { blockStart: '<%', blockEnd: '%>', variableStart: '<$', variableEnd: '$>' };
    const { env } = inlining({ tags });
    expect(env.renderString("<% if true %><$ url_for('x') $><% endif %> {{ url_for('y') }}", {})).toBe(
      '[url_for ["x"]] {{ url_for(\'y\') }}',
    );
  });

  it('checks once per stretch of output between block tags, with the lookup the calls make', () => {
    const { env, counter } = inlining();
    const call = "{{ url_for('x') }}";
    const source = `${call} {{ a }} ${call}{{ static_integrity('i') }}{% if a %}${call}{% endif %}{% for i in [1, 2, 3] %}${call}{% endfor %}`;
    expect(env.renderString(source, { a: 1 })).toBe(
      '[url_for ["x"]] 1 [url_for ["x"]][static_integrity ["i"]][url_for ["x"]]' +
        '[url_for ["x"]]'.repeat(3),
    );
    // The first stretch checks both names, the if and each loop round their own (Nunjucks' member
    // lookup reads a property twice: is it a function, then its value).
    expect(counter.reads / 2).toBe(2 + 1 + 3);
    counter.reads = 0;
    expect(env.renderString(source, { a: 1, url_for: () => 'ctx' })).toBe(
      // A stretch whose check fails renders as written: every call in it is made.
      'ctx 1 ctxcall:static_integrity1ctxctxctxctx',
    );
  });

  it('a preprocessor that runs after this one and writes before the template does not break it', () => {
    const { env } = inlining();
    env.addExtension('header', { preprocess: (source: string) => `{% set a = 1 %}${source}` } as never);
    expect(env.renderString("{{ a }} {{ url_for('x') }}", {})).toBe('1 [url_for ["x"]]');
    expect(wrapTemplate('no calls here', {})).toBe('no calls here');
  });

  it('whitespace at the start of a template is kept as written (trimBlocks, lstripBlocks)', () => {
    const sources = [
      "\n{{ url_for('static', filename='a.css') }}",
      "\r\n{{ url_for('static', filename='a.css') }}",
      "  {% if true %}x{% endif %}{{ url_for('static', filename='a.css') }}",
      "{% if true %}\n{{ url_for('static', filename='a.css') }}\n  {% endif %}",
    ];
    for (const options of [
      { trimBlocks: true },
      { lstripBlocks: true },
      { trimBlocks: true, lstripBlocks: true },
    ]) {
      const off = environment(options);
      const on = environment(options);
      new NunjucksS3(makeApp(off, { inlineUrls: false }));
      new NunjucksS3(makeApp(on));
      for (const source of sources) {
        const rendered = on.renderString(source, {});
        expect(rendered, JSON.stringify([options, source])).toBe(off.renderString(source, {}));
        expect(rendered).toContain(A_CSS);
      }
    }
  });

  it('non-static endpoints go to the router at render time', () => {
    let calls = 0;
    const env = environment();
    const app = makeApp(env, { inlineUrls: true });
    app.router = (endpoint) => {
      calls++;
      return `/${endpoint}`;
    };
    new NunjucksS3(app);
    expect(env.renderString("{{ url_for('index') }}", {})).toBe('/index');
    expect(env.renderString("{{ url_for('index') }}", {})).toBe('/index');
    expect(calls).toBe(2);
  });

  it('a call that fails fails at render time, with the same error as without inlining', () => {
    const errors = [false, true].map((inlineUrls) => {
      const env = environment();
      new NunjucksS3(makeApp(env, { fingerprint: 'filename', fingerprintStrict: true, inlineUrls }));
      try {
        env.renderString("line 1\n{{ url_for('static', filename='missing.css') }}", {});
      } catch (err) {
        return err as Error;
      }
      throw new Error('expected the render to fail');
    });
    expect(errors[1]!.message).toBe(errors[0]!.message);
    expect(errors[1]!.message).toContain('missing.css');
    expect(errors[1]!.name).toBe(errors[0]!.name);
  });

  it('errors read exactly as without inlining: parse errors, and calls that fail where the check fails', () => {
    const calls =
      "<a href=\"{{ url_for('static', filename='a.css') }}\">{{ url_for('static', filename='b.css') }}";
    const throws = () => {
      throw new Error('shadow failed');
    };
    const cases: [string, string, object, nunjucks.ConfigureOptions?][] = [
      ['a parse error on the line of an inlined call', `${calls}{{ nope( }}`, {}],
      ['a parse error lines below', `${calls}\n${calls}\n{{ nope( }}`, {}],
      ['a render-context url_for that throws', `line 1\n${calls}`, { url_for: throws }],
      ['a render-context url_for that is null', `line 1\n  ${calls}`, { url_for: null }],
      [
        'a url_for that renders undefined',
        `\n\n ${calls}`,
        { url_for: () => undefined },
        { throwOnUndefined: true },
      ],
    ];
    for (const [name, source, context, options] of cases) {
      const messages = [false, true].map((inlineUrls) => {
        const env = environment(options);
        new NunjucksS3(makeApp(env, { inlineUrls }));
        try {
          env.renderString(source, context);
        } catch (err) {
          return (err as Error).message;
        }
        return 'rendered';
      });
      expect(messages[0], name).toMatch(/\[Line \d+, Column \d+\]/);
      expect(messages[1], name).toBe(messages[0]);
    }
  });
});

/** An Environment over templates held in memory, with `url_for` installed (inlining on, or off). */
function memoryEnvironment(
  files: Record<string, string>,
  inlineUrls: boolean,
  options: nunjucks.ConfigureOptions = {},
) {
  const loader = {
    getSource: (name: string) => (name in files ? { src: files[name]!, path: name, noCache: false } : null),
  };
  const env = new nunjucks.Environment(loader as unknown as nunjucks.ILoader, {
    autoescape: true,
    ...options,
  });
  const app = makeApp(env, { inlineUrls });
  return { env, app, s3: new NunjucksS3(app) };
}

describe("inlined calls keep Nunjucks' shadowing rules (the same page as with inlineUrls: false)", () => {
  const shadow = (...args: unknown[]) => `/shadowed/${String(args[0])}`;
  const otherIntegrity = () => 'sha0-other';
  const cases: [string, Record<string, string>, object, string, string][] = [
    ['a render-context variable', { 'page.html': PAGE }, { url_for: shadow }, '/shadowed/static', A_CSS],
    [
      'a render-context static_integrity',
      { 'page.html': PAGE },
      { static_integrity: otherIntegrity },
      'sha0-other',
      'sha384-',
    ],
    [
      'a set in a template that includes this one',
      { 'outer.html': '{% set url_for = shadow %}{% include "page.html" %}', 'page.html': PAGE },
      { shadow },
      '/shadowed/static',
      A_CSS,
    ],
    [
      'a loop variable of a template that includes this one',
      {
        'outer.html': '{% for url_for in [shadow] %}{% include "page.html" %}{% endfor %}',
        'page.html': PAGE,
      },
      { shadow },
      '/shadowed/static',
      A_CSS,
    ],
    [
      'a macro argument of a template that includes this one',
      {
        'outer.html': '{% macro m(url_for) %}{% include "page.html" %}{% endmacro %}{{ m(shadow) }}',
        'page.html': PAGE,
      },
      { shadow },
      '/shadowed/static',
      A_CSS,
    ],
    [
      'a top-level set in a template that extends this one (in the base and in its blocks)',
      {
        'outer.html': '{% extends "base.html" %}{% set url_for = shadow %}',
        'base.html': `${PAGE}|{% block b %}{{ url_for('static', filename='b.css') }}{% endblock %}`,
      },
      { shadow },
      '/shadowed/static',
      A_CSS,
    ],
    [
      'call, filter and set blocks of this template',
      {
        'page.html':
          "{% macro m() %}<{{ caller() }}>{% endmacro %}{% call m() %}{{ url_for('static', filename='a.css') }}{% endcall %}" +
          "{% filter lower %}{{ url_for('static', filename='a.css') }}{% endfilter %}" +
          "{% set s %}{{ url_for('static', filename='a.css') }}{% endset %}{{ s }}",
      },
      { url_for: shadow },
      '</shadowed/static>/shadowed/static/shadowed/static',
      A_CSS,
    ],
    [
      'a macro of this template, called where url_for is shadowed',
      {
        'outer.html': '{% import "macros.html" as m with context %}{{ m.link() }}',
        'macros.html': "{% macro link() %}{{ url_for('static', filename='a.css') }}{% endmacro %}",
      },
      { url_for: shadow },
      '/shadowed/static',
      A_CSS,
    ],
  ];
  it.each(cases)('%s', (_name, files, context, expected, shadowed) => {
    const name = 'outer.html' in files ? 'outer.html' : 'page.html';
    const off = memoryEnvironment(files, false).env.render(name, context);
    const on = memoryEnvironment(files, true).env.render(name, context);
    expect(on).toBe(off);
    expect(on).toContain(expected);
    expect(on).not.toContain(shadowed);
  });

  it('a stretch with super() between inlined calls renders as without inlining', () => {
    const files = {
      'base.html': "{% block b %}B {{ url_for('static', filename='a.css') }}{% endblock %}",
      'outer.html':
        "{% extends 'base.html' %}{% block b %}C {{ url_for('static', filename='c.css') }} {{ super() }} " +
        "{{ url_for('static', filename='d.css') }}{% endblock %}",
    };
    const on = memoryEnvironment(files, true).env.render('outer.html', {});
    expect(on).toBe(memoryEnvironment(files, false).env.render('outer.html', {}));
    expect(on).toBe(`C ${A_CSS.replace('a.css', 'c.css')} B ${A_CSS} ${A_CSS.replace('a.css', 'd.css')}`);
  });

  it('an async filter beside inlined calls renders as without inlining (asynchronous render)', async () => {
    const files = {
      'page.html':
        "{{ url_for('static', filename='a.css') }} {{ 'x' | later }} {{ url_for('static', filename='b.css') }}",
    };
    const render = (inlineUrls: boolean) => {
      const { env } = memoryEnvironment(files, inlineUrls);
      env.addFilter(
        'later',
        (value: string, done: (e: null, v: string) => void) => setTimeout(() => done(null, value), 1),
        true,
      );
      return new Promise<string>((resolve, reject) =>
        env.render('page.html', {}, (err, out) => (err ? reject(err) : resolve(out as string))),
      );
    };
    const on = await render(true);
    expect(on).toBe(await render(false));
    expect(on).toBe(`${A_CSS} x ${A_CSS.replace('a.css', 'b.css')}`);
  });

  it("loop.index beside an inlined call is the template's own loop's", () => {
    const files = {
      'page.html':
        "{% for x in [1, 2] %}{{ url_for('static', filename='a.css') }}#{{ loop.index }} {% endfor %}",
    };
    const on = memoryEnvironment(files, true).env.render('page.html', {});
    expect(on).toBe(memoryEnvironment(files, false).env.render('page.html', {}));
    expect(on).toBe(`${A_CSS}#1 ${A_CSS}#2 `);
  });

  it('without shadowing, the inlined text is what the call renders', () => {
    const files = { 'page.html': PAGE };
    const on = memoryEnvironment(files, true);
    expect(on.env.getTemplate('page.html').render({})).toBe(
      memoryEnvironment(files, false).env.render('page.html', {}),
    );
    expect(on.env.render('page.html', {})).toContain(A_CSS);
  });

  it('a url_for global replaced after initApp is the one called', () => {
    for (const inlineUrls of [false, true]) {
      const { env } = memoryEnvironment({ 'page.html': PAGE }, inlineUrls);
      expect(env.render('page.html', {})).toContain(A_CSS);
      env.addGlobal('url_for', shadow);
      expect(env.render('page.html', {}), `inlineUrls: ${inlineUrls}`).toContain('/shadowed/static');
    }
  });

  it('a template compiled before initApp changed the settings calls the functions, not the old text', () => {
    const { env, app, s3 } = memoryEnvironment({}, true);
    const template = new nunjucks.Template(PAGE, env, 'kept.html', true);
    expect(template.render({})).toContain(A_CSS);
    app.config = { ...app.config, FLASKS3_BUCKET_NAME: 'otherbucket' };
    s3.initApp(app);
    expect(template.render({})).toContain('https://otherbucket.s3.amazonaws.com/static/a.css');
    // Still after inlineUrls is turned off: the kept template's stretches render as written.
    app.config = { ...app.config, FLASKS3_BUCKET_NAME: 'thirdbucket', inlineUrls: false };
    s3.initApp(app);
    expect(template.render({})).toContain('https://thirdbucket.s3.amazonaws.com/static/a.css');
  });

  it('asynchronous loaders and a render with a callback: the same page as without inlining', async () => {
    const files = {
      'outer.html':
        "{{ url_for('static', filename='b.css') }}|{% include 'page.html' %}|{% set url_for = shadow %}{% include 'page.html' %}",
      'page.html': `${PAGE}{% if true %} {{ url_for('static', filename='c.css') }}{% endif %}`,
    };
    const render = (inlineUrls: boolean) => {
      const loader = {
        async: true,
        getSource: (name: string, done: (err: null, source: object) => void) =>
          setTimeout(
            () => done(null, { src: files[name as keyof typeof files], path: name, noCache: false }),
            1,
          ),
      };
      const env = new nunjucks.Environment(loader as unknown as nunjucks.ILoader, { autoescape: true });
      new NunjucksS3(makeApp(env, { inlineUrls }));
      return new Promise<string>((resolve, reject) =>
        env.render(
          'outer.html',
          { shadow: (...args: unknown[]) => `/shadowed/${String(args[0])}` },
          (err, out) => (err ? reject(err) : resolve(out as string)),
        ),
      );
    };
    const on = await render(true);
    expect(on).toBe(await render(false));
    expect(on).toContain(`${A_CSS}"`);
    expect(on).toContain('<link href="/shadowed/static">');
  });
});

describe('static_integrity while inactive (development)', () => {
  it('is left to render time, so an edited file gets its new integrity value, not the compiled one', () => {
    const env = environment();
    new NunjucksS3(makeApp(env, { active: false, inlineUrls: true }));
    const page = "{{ static_integrity('css/app.css') }} {{ url_for('static', filename='css/app.css') }}";
    const file = path.join(ROOT, 'static/css/app.css');
    const before = env.renderString(page, {});
    const template = new nunjucks.Template(page, env, 'cached.njk', true);
    expect(template.render({})).toBe(before);
    writeFileSync(file, 'body { color: blue }\n');
    try {
      const after = template.render({});
      expect(after).not.toBe(before);
      expect(after).toMatch(/^sha384-\S+ \/static\/css\/app\.css$/);
    } finally {
      writeFileSync(file, 'body { color: red }\n');
    }
  });
});

describe('initApp and the compiled-template cache', () => {
  it('initApp again recompiles cached templates with the new settings', () => {
    const env = environment();
    const app = makeApp(env, { inlineUrls: true });
    const s3 = new NunjucksS3(app);
    expect(env.render('shadow.html').trim()).toBe('https://mybucket.s3.amazonaws.com/static/a.css');
    app.config = { ...app.config, FLASKS3_BUCKET_NAME: 'otherbucket' };
    s3.initApp(app);
    expect(env.render('shadow.html').trim()).toBe('https://otherbucket.s3.amazonaws.com/static/a.css');
  });

  it('inlineUrls: false removes the inliner; a render-context url_for shadows either way', () => {
    const env = environment();
    const app = makeApp(env, {});
    const s3 = new NunjucksS3(app);
    expect(env.hasExtension('nunjucks-s3-inline')).toBe(true);
    const shadow = { url_for: () => '/shadowed' };
    expect(env.render('shadow.html').trim()).toBe('https://mybucket.s3.amazonaws.com/static/a.css');
    expect(env.render('shadow.html', shadow).trim()).toBe('/shadowed');
    app.config = { ...app.config, inlineUrls: false };
    s3.initApp(app);
    expect(env.hasExtension('nunjucks-s3-inline')).toBe(false);
    expect(env.render('shadow.html').trim()).toBe('https://mybucket.s3.amazonaws.com/static/a.css');
    expect(env.render('shadow.html', shadow).trim()).toBe('/shadowed');
  });
});
