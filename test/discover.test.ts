import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type AppLike, staticMounts } from '../src/app.js';
import { discoverFiles } from '../src/deploy/discover.js';
import { ConfigError } from '../src/errors.js';

const FIXTURE = path.resolve(import.meta.dirname, 'fixtures/site');
const fixtureApp: AppLike = {
  root: FIXTURE,
  blueprints: [{ name: 'admin', staticFolder: 'admin/static', urlPrefix: '/admin' }],
};

const temps: string[] = [];
function tempSite(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'nunjucks-s3-discover-'));
  temps.push(root);
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), content);
  }
  return root;
}
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

async function keys(app: AppLike, options: Partial<Parameters<typeof discoverFiles>[1]> = {}) {
  const { files, warnings } = await discoverFiles(staticMounts(app), { prefix: '', ...options });
  return { keys: files.map((f) => f.key), files, warnings };
}

describe('discoverFiles on the fixture site', () => {
  const visible = [
    'admin/static/css/admin.css',
    'admin/static/js/admin.js',
    'static/css/app.css',
    'static/data/LICENSE',
    'static/data/model.xyz123',
    'static/data/notes.txt',
    'static/data/read me ü.txt',
    'static/data/site.json',
    'static/fonts/OFL.txt',
    'static/fonts/inter-latin-400-normal.woff2',
    'static/img/favicon.png',
    'static/img/logo.svg',
    'static/js/app.js',
  ];

  it('finds every file of the app and its blueprint, hidden files and hidden folders skipped, sorted by key', async () => {
    const { keys: found, warnings, files } = await keys(fixtureApp);
    expect(found).toEqual(visible);
    expect(warnings).toEqual([]);
    const css = files.find((f) => f.key === 'static/css/app.css')!;
    expect(css.relPath).toBe('css/app.css');
    expect(css.file).toBe(path.join(FIXTURE, 'static/css/app.css'));
    expect(css.mount.endpoint).toBe('static');
    expect(files.find((f) => f.key === 'admin/static/css/admin.css')!.mount.endpoint).toBe('admin.static');
  });

  it('includes hidden files and folders with includeHidden', async () => {
    const { keys: found } = await keys(fixtureApp, { includeHidden: true });
    expect(found).toEqual(
      [...visible, 'static/.cache/state.txt', 'static/.env', 'static/.well-known/security.txt'].sort(
        (a, b) => (a < b ? -1 : a > b ? 1 : 0),
      ),
    );
  });

  it.each([
    ['^css', ['admin/static/css/admin.css', 'static/css/app.css']],
    ['\\.js$', ['admin/static/js/admin.js', 'static/js/app.js']],
    // search semantics, on the path relative to the static folder (not the key): 'static' is not in it
    ['static', []],
    ['ü', ['static/data/read me ü.txt']],
  ])('filepathFilterRegex %s', async (re, expected) => {
    expect((await keys(fixtureApp, { filepathFilterRegex: new RegExp(re) })).keys).toEqual(expected);
  });

  it('puts the prefix and the blueprint URL paths in front of the keys', async () => {
    const app: AppLike = {
      root: FIXTURE,
      staticUrlPath: '/assets',
      blueprints: [
        { name: 'admin', staticFolder: 'admin/static', urlPrefix: '/back/office', staticUrlPath: '/s' },
      ],
    };
    const { keys: found } = await keys(app, { prefix: 'v2/Site', filepathFilterRegex: /^css/ });
    expect(found).toEqual(['v2/Site/assets/css/app.css', 'v2/Site/back/office/s/css/admin.css']);
  });
});

describe('discoverFiles: symlinks and bad folders', () => {
  it('follows symlinks inside the static folder, skips those that leave it, with a warning', async () => {
    const root = tempSite({ 'static/css/a.css': 'a', 'outside/secret.txt': 's', 'outside/dir/x.txt': 'x' });
    const s = path.join(root, 'static');
    symlinkSync('css/a.css', path.join(s, 'alias.css'));
    symlinkSync('css', path.join(s, 'styles'));
    symlinkSync('../outside/secret.txt', path.join(s, 'leak.txt'));
    symlinkSync(path.join(root, 'outside/dir'), path.join(s, 'leakdir'));
    symlinkSync('nowhere', path.join(s, 'broken'));
    symlinkSync('..', path.join(s, 'css/up')); // back to the static folder itself: a loop
    const { keys: found, warnings, files } = await keys({ root });
    // A link to a file is a file; a link to a folder walked already (styles -> css, up -> ..) adds nothing.
    expect(found).toEqual(['static/alias.css', 'static/css/a.css']);
    expect(files.find((f) => f.key === 'static/alias.css')!.file).toBe(path.join(s, 'alias.css'));
    expect(warnings).toHaveLength(4);
    expect(warnings.join('\n')).toMatch(/leak\.txt: symlink points outside its static folder/);
    expect(warnings.join('\n')).toMatch(/leakdir: symlink points outside its static folder/);
    expect(warnings.join('\n')).toMatch(/broken: symlink target cannot be resolved/);
    expect(warnings.find((w) => w.startsWith('skipped 2 symlink(s) to folders already uploaded'))).toContain(
      `${path.join(s, 'styles')} -> ${path.join(s, 'css')}`,
    );
  });

  it('walks a linked folder that is not walked otherwise (hidden) under the link’s path, once', async () => {
    const root = tempSite({ 'static/.build/app.js': 'js', 'static/.build/sub/b.js': 'b' });
    const s = path.join(root, 'static');
    symlinkSync('.build', path.join(s, 'dist'));
    symlinkSync('.build', path.join(s, 'latest'));
    const hidden = await keys({ root });
    expect(hidden.keys).toEqual(['static/dist/app.js', 'static/dist/sub/b.js']);
    expect(hidden.warnings).toEqual([
      `skipped 1 symlink(s) to folders already uploaded under their own path (each real folder is uploaded once): ${path.join(s, 'latest')} -> ${path.join(s, '.build')}`,
    ]);
    // With hidden files included, the folder is walked under its own name, and neither link adds to it.
    const all = await keys({ root }, { includeHidden: true });
    expect(all.keys).toEqual(['static/.build/app.js', 'static/.build/sub/b.js']);
  });

  it.each([6, 7])(
    '%i folders each linking to all the others: each real file planned once, quickly',
    async (count) => {
      const names = Array.from({ length: count }, (_, i) => `f${i}`);
      const root = tempSite(Object.fromEntries(names.map((n) => [`static/${n}/file.txt`, n])));
      for (const from of names) {
        for (const to of names)
          if (to !== from) symlinkSync(`../${to}`, path.join(root, 'static', from, `to-${to}`));
      }
      const started = performance.now();
      const { keys: found, warnings } = await keys({ root });
      // The globby walk this replaced took 52 s for 6 such folders here; a bound far above a real walk, for busy CI.
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(found).toEqual(names.map((n) => `static/${n}/file.txt`));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(new RegExp(`^skipped ${count * (count - 1)} symlink\\(s\\) to folders`));
    },
  );

  it('a missing static folder is a warning', async () => {
    const root = tempSite({ 'static/a.txt': 'a' });
    const { keys: found, warnings } = await keys({
      root,
      blueprints: [{ name: 'gone', staticFolder: 'gone/static' }],
    });
    expect(found).toEqual(['static/a.txt']);
    expect(warnings).toEqual([
      `static folder of gone.static does not exist, nothing uploaded from it: ${path.join(root, 'gone/static')}`,
    ]);
  });

  it('a static folder that is a file is a ConfigError naming it', async () => {
    const root = tempSite({ static: 'I am a file' });
    const err = await keys({ root }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('CONFIG_STATIC_FOLDER');
    expect((err as ConfigError).message).toContain(path.join(root, 'static'));
  });

  it('two files with the same key are a ConfigError naming both', async () => {
    const root = tempSite({ 'static/a.txt': '1', 'other/a.txt': '2' });
    const err = await keys({
      root,
      blueprints: [{ name: 'o', staticFolder: 'other', staticUrlPath: '/static' }],
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(path.join(root, 'static/a.txt'));
    expect((err as Error).message).toContain(path.join(root, 'other/a.txt'));
  });

  it('an unreadable folder is a ConfigError naming it (skipped when running as root)', async (ctx) => {
    if (process.getuid?.() === 0) ctx.skip();
    const root = tempSite({ 'static/locked/a.txt': 'a' });
    const { chmodSync } = await import('node:fs');
    chmodSync(path.join(root, 'static/locked'), 0o000);
    try {
      const err = await keys({ root }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain('locked');
    } finally {
      chmodSync(path.join(root, 'static/locked'), 0o755);
    }
  });
});
