// The Eleventy plugin, run by the real Eleventy 3 on sites written here: what each template language
// renders, the passthrough copy, pathPrefix and --serve, fingerprinted names in either order of build
// and upload, uploads after a build (pages after their assets), and the CLI's door
// (appFromEleventyConfig). Every upload goes to the suite's S3 server; every URL is fetched from it.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appFromEleventyConfig, type EleventyPluginOptions, nunjucksS3 } from '../src/eleventy/index.js';
import { ConfigError, createAll } from '../src/index.js';
import { freshBucket, s3Backend, testClient } from './helpers/s3.js';

/** Eleventy ships no type declarations; what these tests use of it. */
type EleventyConfig = { addPlugin(plugin: unknown, options: unknown): void };
const ELEVENTY = '@11ty/eleventy';
interface EleventyInstance {
  write(): Promise<unknown>;
}
type EleventyClass = new (
  input: string,
  output: string,
  options: Record<string, unknown>,
) => EleventyInstance;

const CSS = 'body { color: rgb(1, 2, 3); }\n';
let site: string;
const startCwd = process.cwd();

function write(rel: string, text: string): void {
  const file = path.join(site, rel);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
}

function read(rel: string): string {
  return readFileSync(path.join(site, rel), 'utf8');
}

/** Builds `site` with Eleventy as `npx @11ty/eleventy` would, the plugin added with `options`. */
async function build(
  options: EleventyPluginOptions,
  { runMode = 'build', pathPrefix }: { runMode?: string; pathPrefix?: string } = {},
): Promise<void> {
  const { Eleventy } = (await import(ELEVENTY)) as { Eleventy: EleventyClass };
  process.chdir(site);
  const eleventy = new Eleventy('src', '_site', {
    quietMode: true,
    runMode,
    ...(pathPrefix !== undefined && { pathPrefix }),
    config: (eleventyConfig: EleventyConfig) => {
      eleventyConfig.addPlugin(nunjucksS3, options);
    },
  });
  await eleventy.write();
}

/** Settings for the suite's S3 server, URLs path-style on it. */
function storeSettings(bucket: string): Record<string, unknown> {
  const backend = s3Backend();
  return {
    bucketName: bucket,
    endpointUrl: backend.endpoint,
    bucketDomain: new URL(backend.endpoint).host,
    urlStyle: 'path',
    useHttps: false,
    region: backend.region,
    accessKeyId: backend.accessKeyId,
    secretAccessKey: backend.secretAccessKey,
    putBucketAcl: false,
    // s3rver serves every object and refuses ACLs; Ceph RGW needs them to serve objects anonymously.
    objectAcl: backend.name === 'rgw' ? 'public-read' : 'none',
  };
}

/** Every URL in `html` that points at the S3 server. */
function storeUrls(html: string): string[] {
  const origin = new URL(s3Backend().endpoint).origin;
  return [...html.matchAll(/(?:src|href)="([^"]+)"/g)]
    .map((m) => (m[1] as string).replaceAll('&amp;', '&'))
    .filter((u) => u.startsWith(origin));
}

beforeEach(() => {
  site = mkdtempSync(path.join(tmpdir(), 'nunjucks-s3-eleventy-'));
  write('static/css/site.css', CSS);
  write('static/img/dot.svg', '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>\n');
});

afterEach(() => {
  process.chdir(startCwd);
  delete process.env['ELEVENTY_RUN_MODE'];
  rmSync(site, { recursive: true, force: true });
});

describe('the plugin in every template language', () => {
  beforeEach(() => {
    write('src/page.njk', "<link href=\"{{ url_for('static', filename='css/site.css') }}\">");
    write('src/tag.njk', "{% url_for 'static', 'img/dot.svg' %}");
    write(
      'src/liquid.liquid',
      "{% url_for 'static', 'css/site.css' %} {% static_integrity 'css/site.css' %}",
    );
    write(
      'src/js.11ty.js',
      "export function render() { return this.url_for('static', { filename: 'css/site.css', v: 2 }); }\n",
    );
    write('src/liquid-md.md', "![dot]({% url_for 'static', 'img/dot.svg' %})\n");
    write(
      'src/njk-md.md',
      "---\ntemplateEngineOverride: njk,md\n---\n![dot]({{ url_for('static', filename='img/dot.svg') }})\n",
    );
  });

  it('renders bucket URLs and copies the static folder once', async () => {
    await build({ config: { bucketName: 'my-site-assets' } });
    const base = 'https://my-site-assets.s3.amazonaws.com/static';
    expect(read('_site/page/index.html')).toBe(`<link href="${base}/css/site.css">`);
    expect(read('_site/tag/index.html')).toBe(`${base}/img/dot.svg`);
    const integrity = (await import('node:crypto')).createHash('sha384').update(CSS).digest('base64');
    expect(read('_site/liquid/index.html')).toBe(`${base}/css/site.css sha384-${integrity}`);
    expect(read('_site/js/index.html')).toBe(`${base}/css/site.css?v=2`);
    expect(read('_site/liquid-md/index.html')).toContain(`<img src="${base}/img/dot.svg" alt="dot">`);
    expect(read('_site/njk-md/index.html')).toContain(`<img src="${base}/img/dot.svg" alt="dot">`);
    expect(read('_site/static/css/site.css')).toBe(CSS);
  });

  it('renders local URLs below pathPrefix under --serve, where the copy serves them', async () => {
    await build({ config: { bucketName: 'my-site-assets' } }, { runMode: 'serve', pathPrefix: '/blog/' });
    expect(read('_site/page/index.html')).toBe('<link href="/blog/static/css/site.css">');
    expect(read('_site/liquid-md/index.html')).toContain('<img src="/blog/static/img/dot.svg"');
    expect(read('_site/static/css/site.css')).toBe(CSS);
  });

  it('keeps bucket URLs free of pathPrefix: keys do not move with the site', async () => {
    await build({ config: { bucketName: 'my-site-assets' } }, { pathPrefix: '/blog/' });
    expect(read('_site/page/index.html')).toBe(
      '<link href="https://my-site-assets.s3.amazonaws.com/static/css/site.css">',
    );
  });

  it('maps a staticUrlPath and a blueprint into the output from the same options', async () => {
    write('admin/assets/app.js', 'console.log(1);\n');
    write(
      'src/page.njk',
      "{{ url_for('static', filename='css/site.css') }} {{ url_for('admin.static', filename='app.js') }}",
    );
    await build({
      staticUrlPath: '/assets',
      blueprints: [{ name: 'admin', staticFolder: 'admin/assets', urlPrefix: '/admin' }],
      config: { active: false },
    });
    expect(read('_site/page/index.html')).toBe('/assets/css/site.css /admin/assets/app.js');
    expect(read('_site/assets/css/site.css')).toBe(CSS);
    expect(read('_site/admin/assets/app.js')).toBe('console.log(1);\n');
  });
});

describe('fingerprinted names match what the next upload sends', () => {
  const page = "{{ url_for('static', filename='css/site.css') }}";

  it('when the site is built after an upload and the CSS then edited', async () => {
    const bucket = await freshBucket('ele-fp');
    const config = {
      ...storeSettings(bucket),
      fingerprint: 'filename' as const,
      manifestPath: 'manifest.json',
    };
    write('src/page.njk', page);
    await createAll({ root: site, config });
    write('static/css/site.css', 'body { color: red; }\n');
    // The edit is newer than the manifest; make it so on coarse file clocks too.
    const later = new Date(Date.now() + 5_000);
    utimesSync(path.join(site, 'static/css/site.css'), later, later);

    await build({ config });
    const rendered = read('_site/page/index.html');
    const report = await createAll({ root: site, config });
    const sent = report.uploaded.map((e) => e.key).filter((k) => /site\.[0-9a-f]{12}\.css$/.test(k));
    expect(sent).toHaveLength(1);
    expect(rendered).toBe(`${storeUrl(bucket)}/${sent[0]}`);
    const res = await fetch(rendered);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('body { color: red; }\n');
  });

  it('when the site is built before its first upload', async () => {
    const bucket = await freshBucket('ele-fp2');
    const config = {
      ...storeSettings(bucket),
      fingerprint: 'filename' as const,
      manifestPath: 'manifest.json',
    };
    write('src/page.njk', page);
    await build({ config });
    await createAll({ root: site, config });
    const res = await fetch(read('_site/page/index.html'));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(CSS);
  });
});

/** An error and its causes, outermost first. */
function causes(error: unknown): Error[] {
  const out: Error[] = [];
  // Eleventy keeps the error it wraps as originalError.
  for (let e = error; e instanceof Error; e = e.cause ?? (e as { originalError?: unknown }).originalError)
    out.push(e);
  return out;
}

/** Every key in the bucket, listed with credentials (an anonymous GET of a missing key is 403 on RGW). */
/** The keys in the bucket, but the deploy's lease and generations (docs/deploy-state.md). */
async function storedKeys(bucket: string): Promise<string[]> {
  const listed = await testClient().send(new ListObjectsV2Command({ Bucket: bucket }));
  return (listed.Contents ?? [])
    .map((o) => o.Key as string)
    .filter((k) => !/(^|\/)\.nunjucks-s3\/(lease|gen)\//.test(k))
    .sort();
}

function storeUrl(bucket: string): string {
  return `${new URL(s3Backend().endpoint).origin}/${bucket}`;
}

describe('upload after the build', () => {
  it('uploads the assets, then the pages with their own Cache-Control, under pathPrefix', async () => {
    const bucket = await freshBucket('ele-up');
    write('src/index.njk', "<link rel=stylesheet href=\"{{ url_for('static', filename='css/site.css') }}\">");
    await build(
      {
        config: { ...storeSettings(bucket), gzip: true },
        upload: true,
        uploadPages: { cacheControl: 'public, max-age=60' },
      },
      { pathPrefix: '/blog/' },
    );
    const pageRes = await fetch(`${storeUrl(bucket)}/blog/index.html`);
    expect(pageRes.status).toBe(200);
    expect(pageRes.headers.get('cache-control')).toBe('public, max-age=60');
    expect(pageRes.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await pageRes.text();
    expect(html).toBe(read('_site/index.html'));
    const [cssUrl] = storeUrls(html);
    expect(cssUrl).toBe(`${storeUrl(bucket)}/static/css/site.css`);
    const css = await fetch(cssUrl as string);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    expect(await css.text()).toBe(CSS);
    // The copied static folder is uploaded once, as assets, not again as pages.
    expect(await storedKeys(bucket)).toEqual([
      '.nunjucks-s3/record.json',
      'blog/index.html',
      'static/css/site.css',
      'static/img/dot.svg',
    ]);
  });

  it('does not upload under --watch', async () => {
    const bucket = await freshBucket('ele-watch');
    write('src/index.njk', 'hi');
    await build({ config: storeSettings(bucket), upload: true }, { runMode: 'watch' });
    expect(await storedKeys(bucket)).toEqual([]);
  });
});

describe('bad options fail before anything is built', () => {
  it.each<[string, unknown, RegExp]>([
    ['an unknown option', { bucket: 'x' }, /option bucket: unknown option \(known: root, staticFolder/],
    ['uploadPages without upload', { uploadPages: true }, /uploadPages: needs upload: true/],
    ['a bad upload', { upload: 'yes' }, /option upload: must be true, false or createAll's options/],
    ['a bad setting', { config: { FLASKS3_BUCKET: 'x' } }, /FLASKS3_BUCKET/],
  ])('%s', async (_name, options, message) => {
    write('src/index.njk', 'hi');
    const error = await build(options as EleventyPluginOptions).then(
      () => undefined,
      (err: unknown) => err,
    );
    // Eleventy wraps a plugin's error ("Error processing the `nunjucksS3` plugin") and prints the causes.
    expect(
      causes(error)
        .map((e) => e.message)
        .join('\n'),
    ).toMatch(message);
    expect(causes(error).some((e) => e instanceof ConfigError)).toBe(true);
    expect(() => readFileSync(path.join(site, '_site/index.html'))).toThrow(/ENOENT/);
  });
});

describe('appFromEleventyConfig', () => {
  it("reads the plugin's options from the site's Eleventy config", async () => {
    const entry = path.join(startCwd, 'dist', 'eleventy', 'index.js');
    write(
      'eleventy.config.mjs',
      `import nunjucksS3 from ${JSON.stringify(entry)};
export default function (eleventyConfig) {
  eleventyConfig.addPlugin(nunjucksS3, { staticFolder: 'static', config: { FLASKS3_BUCKET_NAME: 'from-eleventy' } });
}
export const config = { dir: { input: 'src' } };
`,
    );
    // Eleventy is found from the site upward; this one is outside the repository, so link it in.
    mkdirSync(path.join(site, 'node_modules', '@11ty'), { recursive: true });
    (await import('node:fs')).symlinkSync(
      path.join(startCwd, 'node_modules', '@11ty', 'eleventy'),
      path.join(site, 'node_modules', '@11ty', 'eleventy'),
    );
    write('src/index.njk', 'hi');
    const app = await appFromEleventyConfig(site);
    expect(app).toMatchObject({
      root: site,
      staticFolder: 'static',
      config: { FLASKS3_BUCKET_NAME: 'from-eleventy' },
    });
    expect(process.cwd()).toBe(startCwd);
  });

  it('is undefined for a folder without an Eleventy config', async () => {
    expect(await appFromEleventyConfig(site)).toBeUndefined();
  });

  it('names the config file when the plugin is not added', async () => {
    write('eleventy.config.mjs', 'export default function () {}\n');
    mkdirSync(path.join(site, 'node_modules', '@11ty'), { recursive: true });
    (await import('node:fs')).symlinkSync(
      path.join(startCwd, 'node_modules', '@11ty', 'eleventy'),
      path.join(site, 'node_modules', '@11ty', 'eleventy'),
    );
    write('src/index.njk', 'hi');
    await expect(appFromEleventyConfig(site)).rejects.toThrow(
      /eleventy.config.mjs does not add the nunjucks-s3 plugin/,
    );
  });

  it("says what Eleventy said when the site's config fails", async () => {
    write('eleventy.config.mjs', "export default function () { throw new Error('boom in config'); }\n");
    mkdirSync(path.join(site, 'node_modules', '@11ty'), { recursive: true });
    (await import('node:fs')).symlinkSync(
      path.join(startCwd, 'node_modules', '@11ty', 'eleventy'),
      path.join(site, 'node_modules', '@11ty', 'eleventy'),
    );
    write('src/index.njk', 'hi');
    const error = await appFromEleventyConfig(site).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/could not load .*eleventy.config.mjs: .*boom in config/s);
  });
});
