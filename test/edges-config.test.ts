// Rough edges in the settings and the app description, as a new user hits them: the Flask-S3 names they
// remember, a prefix or CDN path with dot segments (keys no URL reaches), a static folder that is not there.
import { mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import { NunjucksS3 } from '../src/template/plugin.js';

function thrown(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError, none was thrown');
}

function site(...folders: string[]): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'edges-site-'));
  for (const f of folders) mkdirSync(path.join(root, f), { recursive: true });
  return root;
}

describe('the names Flask-S3 users remember', () => {
  it.each([
    ['FLASKS3_BUCKET', 'FLASKS3_BUCKET_NAME'],
    ['FLASKS3_BUCKETNAME', 'FLASKS3_BUCKET_NAME'],
    ['FLASKS3_CDN', 'FLASKS3_CDN_DOMAIN'],
    ['FLASKS3_LOCATION', 'FLASKS3_REGION'],
    ['FLASKS3_HTTPS', 'FLASKS3_USE_HTTPS'],
    ['FLASKS3_ENDPOINT', 'FLASKS3_ENDPOINT_URL'],
  ])('%s is refused with "did you mean %s?"', (given, meant) => {
    const err = thrown(() => resolveConfig({ [given]: 'x' }));
    expect(err.code).toBe('CONFIG_UNKNOWN');
    expect(err.message).toContain(`did you mean ${meant}?`);
  });
});

describe('a prefix with dot segments', () => {
  it.each(['..', 'a/../b', './x', 'a/.', '/../static/'])(
    '%j is a ConfigError naming the setting',
    (prefix) => {
      const err = thrown(() => resolveConfig({ FLASKS3_PREFIX: prefix }));
      expect(err.code).toBe('CONFIG_PATH');
      expect(err.setting).toBe('prefix / FLASKS3_PREFIX');
      expect(err.message).toContain(JSON.stringify(prefix.replace(/^\/+|\/+$/g, '')));
    },
  );

  it.each(['v1', 'a/b', 'a..b/.c', '/assets/'])('%j is accepted', (prefix) => {
    expect(resolveConfig({ FLASKS3_PREFIX: prefix }).prefix).toBe(prefix.replace(/^\/+|\/+$/g, ''));
  });
});

describe('a CDN domain path with dot segments', () => {
  const root = site('static');
  const plugin = (cdnDomain: string) =>
    new NunjucksS3({ root, config: { FLASKS3_BUCKET_NAME: 'my-bucket', FLASKS3_CDN_DOMAIN: cdnDomain } });

  it.each([
    'cdn.example.com/a/../b',
    'cdn.example.com/..',
    'cdn.example.com/./x',
    'cdn.example.com/%2e%2E/x',
  ])('%j is a ConfigError naming cdnDomain', (cdn) => {
    const err = thrown(() => plugin(cdn));
    expect(err.code).toBe('CONFIG_DOMAIN');
    expect(err.setting).toBe('cdnDomain / FLASKS3_CDN_DOMAIN');
    expect(err.message).toMatch(/'\.' or '\.\.' segment/);
  });

  it('a path with a valid %20 escape keeps working, escape and all', () => {
    expect(plugin('cdn.example.com/my%20site').urlFor('static', { filename: 'a b.css' })).toBe(
      'https://cdn.example.com/my%20site/static/a%20b.css',
    );
  });
});

describe('a static folder that does not exist', () => {
  const config = { FLASKS3_BUCKET_NAME: 'my-bucket' };

  it('the app folder: a ConfigError naming app.staticFolder and the folder', () => {
    const root = site();
    const err = thrown(() => new NunjucksS3({ root, config }));
    expect(err.code).toBe('CONFIG_STATIC_FOLDER');
    expect(err.setting).toBe('app.staticFolder');
    expect(err.message).toContain(path.join(root, 'static'));
  });

  it("a blueprint's folder: a ConfigError naming the blueprint", () => {
    const root = site('static');
    const err = thrown(
      () => new NunjucksS3({ root, config, blueprints: [{ name: 'admin', staticFolder: 'admin/static' }] }),
    );
    expect(err.setting).toBe('blueprint "admin".staticFolder');
    expect(err.message).toContain(path.join(root, 'admin/static'));
  });

  it('a file where the folder should be is refused too', () => {
    const root = site();
    mkdirSync(path.join(root, 'x'));
    const err = thrown(() => new NunjucksS3({ root, config, staticFolder: 'x/../missing' }));
    expect(err.code).toBe('CONFIG_STATIC_FOLDER');
  });

  it('staticFolder: null still means none, and a blueprint without staticFolder has none', () => {
    const root = site();
    const s3 = new NunjucksS3({ root, config, staticFolder: null, blueprints: [{ name: 'api' }] });
    expect(() => s3.urlFor('static', { filename: 'a.css' })).toThrow(/no static folder/);
  });

  it('an existing folder is fine, active or not', () => {
    const root = site('static');
    expect(new NunjucksS3({ root, config }).urlFor('static', { filename: 'a.css' })).toBe(
      'https://my-bucket.s3.amazonaws.com/static/a.css',
    );
    expect(new NunjucksS3({ root, config: { active: false } }).urlFor('static', { filename: 'a.css' })).toBe(
      '/static/a.css',
    );
  });
});
