// Stale names: with fingerprint 'filename', a template rendered after a local edit and before the next
// upload must not get the previous deploy's hashed name from the manifest. Real uploads to the test
// server; the rendered URLs are fetched.
import { readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { AppLike } from '../src/app.js';
import { createAll } from '../src/deploy/upload.js';
import { UrlBuildError } from '../src/errors.js';
import { NunjucksS3 } from '../src/template/plugin.js';
import { freshBucket, s3Backend } from './helpers/s3.js';
import { removeTemps, s3Settings, tempDir, writeFiles } from './helpers/upload-check.js';

afterAll(removeTemps);
afterEach(() => vi.restoreAllMocks());

const CSS = 'static/css/app.css';

async function deployedSite(
  more: Record<string, unknown> = {},
): Promise<{ root: string; app: () => AppLike }> {
  const root = tempDir('stalenames');
  writeFiles(root, { [CSS]: '.v1 { color: red }' });
  const bucket = await freshBucket('stalenames');
  const app = (): AppLike => ({
    root,
    config: s3Settings(bucket, undefined, {
      FLASKS3_FINGERPRINT: 'filename',
      FLASKS3_PUT_BUCKET_ACL: false,
      ...more,
    }),
  });
  await createAll(app());
  return { root, app };
}

/** The bytes served at a rendered URL (the bucket host mapped to the test server). */
async function served(url: string, bucket: string): Promise<string> {
  const res = await fetch(url.replace(/^https:\/\/[^/]+/, `${s3Backend().endpoint}/${bucket}`));
  return res.ok ? res.text() : `HTTP ${res.status}`;
}

function render(app: AppLike): string {
  return new NunjucksS3(app).urlFor('static', { filename: 'css/app.css' });
}

describe('a file edited after the upload that wrote the manifest', () => {
  it('renders the name the next upload sends, warns once, and that upload serves it', async () => {
    const { root, app } = await deployedSite();
    const bucket = app().config!.FLASKS3_BUCKET_NAME as string;
    const before = render(app());
    expect(await served(before, bucket)).toBe('.v1 { color: red }');

    writeFileSync(path.join(root, CSS), '.v2 { color: blue }'); // same size, new bytes
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const s3 = new NunjucksS3(app());
    const edited = s3.urlFor('static', { filename: 'css/app.css' });
    s3.urlFor('static', { filename: 'css/app.css' });
    expect(edited).not.toBe(before);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(
      /css\/app\.css.* changed since the upload that wrote the fingerprint manifest: rendering css\/app\.[0-9a-f]{12}\.css, the name the next upload sends/,
    );

    await createAll(app());
    expect(await served(edited, bucket)).toBe('.v2 { color: blue }');
    expect(render(app())).toBe(edited);
  });

  it('with fingerprintStrict: a UrlBuildError naming the file', async () => {
    const { root, app } = await deployedSite({ FLASKS3_FINGERPRINT_STRICT: true });
    writeFileSync(path.join(root, CSS), '.v2 { color: blue; margin: 0 }');
    let err: unknown;
    try {
      render(app());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UrlBuildError);
    expect((err as UrlBuildError).code).toBe('URL_CHANGED_SINCE_UPLOAD');
    expect((err as Error).message).toContain(path.join(root, CSS));
  });

  it('a fresh checkout (new mtime, same bytes) keeps the manifest name, without a warning', async () => {
    const { root, app } = await deployedSite();
    const before = render(app());
    utimesSync(path.join(root, CSS), new Date(), new Date(Date.now() + 60_000));
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(render(app())).toBe(before);
    expect(warn).not.toHaveBeenCalled();
  });

  it('no local file (a server that ships only the manifest): the manifest name', async () => {
    const { root, app } = await deployedSite();
    const before = render(app());
    rmSync(path.join(root, CSS));
    expect(render(app())).toBe(before);
  });

  it('a manifest written before mtimes were recorded is still read; a size change is still noticed', async () => {
    const { root, app } = await deployedSite();
    const manifestFile = path.join(root, 'nunjucks-s3-manifest.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as {
      assets: Record<string, Record<string, { mtimeMs?: number }>>;
    };
    expect(typeof manifest.assets.static!['css/app.css']!.mtimeMs).toBe('number');
    delete manifest.assets.static!['css/app.css']!.mtimeMs;
    writeFileSync(manifestFile, JSON.stringify(manifest));
    const before = render(app());
    writeFileSync(path.join(root, CSS), '.v2 { color: blue; margin: 0 }');
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(render(app())).not.toBe(before);
  });
});
