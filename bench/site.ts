// Generated static sites to upload: an app static folder and an `admin` blueprint's, with the sizes and
// types real sites have (mostly small css/js/svg/html/json, some images and fonts, a few files of several
// MB), from a seeded RNG so every run uploads the same bytes. Sites are cached under the work dir and
// rebuilt when the generator changes or a run was interrupted while files were edited.

import { existsSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AppLike } from '../src/index.js';
import { Rng } from './rng.js';

/** Bump when the generator's output changes, so cached sites are rebuilt. */
const GENERATOR_VERSION = 3;
const KiB = 1024;
const MiB = 1024 * KiB;

/** `mixed`: a realistic site; `small`: only small text assets (the issue-3 concurrency sweep). */
export type SiteKind = 'mixed' | 'small';

export interface SiteFile {
  /** Path below the site dir with `/`, also the object key below the deploy prefix: `static/css/a.css`. */
  rel: string;
  size: number;
  kind: 'text' | 'binary' | 'large';
}

export interface Site {
  kind: SiteKind;
  count: number;
  seed: number;
  /** Holds `static/` (the app's) and `admin/static/` (the blueprint's) and nothing else, so a peer's
   * `sync <dir> s3://bucket/prefix` makes the same keys as createAll. */
  dir: string;
  files: SiteFile[];
  totalBytes: number;
}

const WORDS = (
  'alpha beta card grid hero menu nav footer header button icon modal panel tab list item price cart ' +
  'user login search filter badge chip toast avatar banner carousel slider table form input select ' +
  'label tooltip popover drawer sidebar layout theme dark light brand accent primary muted'
).split(' ');

const TEXT_TYPES = [
  { ext: 'css', dirs: ['css', 'css/components', 'css/pages'], weight: 20 },
  { ext: 'js', dirs: ['js', 'js/vendor', 'js/modules', 'js/chunks'], weight: 30 },
  { ext: 'svg', dirs: ['svg', 'svg/icons'], weight: 12 },
  { ext: 'html', dirs: ['pages', 'partials'], weight: 10 },
  { ext: 'json', dirs: ['data', 'i18n'], weight: 10 },
] as const;
const BINARY_TYPES = [
  { ext: 'png', dirs: ['img', 'img/products'], weight: 5 },
  { ext: 'jpg', dirs: ['img/photos', 'img/products'], weight: 5 },
  { ext: 'webp', dirs: ['img/hero'], weight: 3 },
  { ext: 'woff2', dirs: ['fonts'], weight: 2 },
  { ext: 'woff', dirs: ['fonts'], weight: 1 },
] as const;
const LARGE_TYPES = ['mp4', 'zip', 'pdf'] as const;

function weighted<T extends { weight: number }>(rng: Rng, items: readonly T[]): T {
  const total = items.reduce((s, i) => s + i.weight, 0);
  let r = rng.float() * total;
  for (const item of items) {
    r -= item.weight;
    if (r < 0) return item;
  }
  return items[items.length - 1]!;
}

/** About 256 KB of text in the style of each type; files are slices of it behind a unique first line. */
function textCorpus(rng: Rng, ext: string): string {
  const w = () => rng.pick(WORDS);
  const hex = () => rng.next().toString(16).slice(0, 6).padStart(6, '0');
  const lines: string[] = [];
  let len = 0;
  while (len < 256 * KiB) {
    let line: string;
    switch (ext) {
      case 'css':
        line = `.${w()}-${w()}--${rng.int(1, 99)} { color: #${hex()}; margin: ${rng.int(0, 32)}px ${rng.int(0, 32)}px; display: flex; }`;
        break;
      case 'js':
        line =
          rng.float() < 0.5
            ? `export function ${w()}${rng.int(1, 999)}(a, b) { return a.${w()} + b * ${rng.int(1, 999)}; }`
            : `const ${w()}_${rng.int(1, 999)} = { ${w()}: "${w()} ${w()}", ${w()}: [${rng.int(0, 9)}, ${rng.int(0, 9)}] };`;
        break;
      case 'svg':
        line = `<path d="M${rng.int(0, 24)} ${rng.int(0, 24)}l${rng.int(-9, 9)} ${rng.int(-9, 9)}h${rng.int(1, 9)}v${rng.int(1, 9)}z" fill="#${hex()}"/>`;
        break;
      case 'html':
        line = `<div class="${w()} ${w()}"><h2>${w()} ${w()}</h2><p>${w()} ${w()} ${w()} ${w()} ${w()}.</p></div>`;
        break;
      default:
        line = `{"id": ${rng.int(1, 1e6)}, "name": "${w()} ${w()}", "tags": ["${w()}", "${w()}"], "price": ${rng.int(1, 999)}},`;
    }
    lines.push(line);
    len += line.length + 1;
  }
  return lines.join('\n');
}

function siteFiles(rng: Rng, kind: SiteKind, count: number): SiteFile[] {
  const files: SiteFile[] = [];
  const seen = new Set<string>();
  const add = (dir: string, ext: string, size: number, fileKind: SiteFile['kind']) => {
    // A fifth of the files belong to the admin blueprint, served at /admin/static.
    const root = rng.float() < 0.2 ? 'admin/static' : 'static';
    let rel: string;
    do rel = `${root}/${dir}/${rng.pick(WORDS)}-${rng.pick(WORDS)}-${rng.int(1, 99999)}.${ext}`;
    while (seen.has(rel));
    seen.add(rel);
    files.push({ rel, size, kind: fileKind });
  };
  const large = kind === 'mixed' ? 3 + Math.floor(count / 5000) : 0;
  for (let i = 0; i < large; i++) add('media', rng.pick(LARGE_TYPES), rng.logInt(2 * MiB, 20 * MiB), 'large');
  const binary = kind === 'mixed' ? Math.round(count * 0.16) : 0;
  for (let i = 0; i < binary; i++) {
    const t = weighted(rng, BINARY_TYPES);
    add(rng.pick(t.dirs), t.ext, rng.logInt(20 * KiB, 300 * KiB), 'binary');
  }
  while (files.length < count) {
    const t = weighted(rng, TEXT_TYPES);
    add(rng.pick(t.dirs), t.ext, rng.logInt(1 * KiB, 40 * KiB), 'text');
  }
  return files;
}

/** The bytes of one file: a unique first line, then a slice of its type's corpus or of random bytes. */
class ContentMaker {
  private readonly corpora = new Map<string, Buffer>();
  private readonly pool: Buffer;

  constructor(private readonly rng: Rng) {
    this.pool = rng.fill(Buffer.alloc(8 * MiB));
  }

  make(file: SiteFile): Buffer {
    const buf = Buffer.alloc(file.size);
    if (file.kind === 'text') {
      const ext = path.extname(file.rel).slice(1);
      let corpus = this.corpora.get(ext);
      if (!corpus) {
        corpus = Buffer.from(textCorpus(this.rng, ext));
        this.corpora.set(ext, corpus);
      }
      this.copyFrom(corpus, buf, 0);
      buf.write(`/* ${file.rel} */\n`.slice(0, file.size));
    } else {
      this.copyFrom(this.pool, buf, 0);
      // Stamp every MiB with the file and offset, so a part put at the wrong offset cannot compare equal.
      for (let off = 0; off < file.size; off += MiB)
        buf.write(`${file.rel}@${off}`.slice(0, file.size - off), off);
    }
    return buf;
  }

  private copyFrom(src: Buffer, dst: Buffer, at: number): void {
    let pos = at;
    let from = this.rng.int(0, src.length - 1);
    while (pos < dst.length) {
      pos += src.copy(dst, pos, from, Math.min(src.length, from + dst.length - pos));
      from = 0;
    }
  }
}

interface SiteManifest {
  version: number;
  kind: SiteKind;
  count: number;
  seed: number;
  files: SiteFile[];
}

/** The site for (kind, count, seed) under workDir, generated unless a clean cached copy is there. */
export function ensureSite(workDir: string, kind: SiteKind, count: number, seed: number): Site {
  const dir = path.join(workDir, `site-${kind}-${count}-s${seed}`);
  const manifestFile = `${dir}.json`;
  const dirtyFile = `${dir}.dirty`;
  let files: SiteFile[] | undefined;
  if (existsSync(manifestFile) && !existsSync(dirtyFile)) {
    const m = JSON.parse(readFileSync(manifestFile, 'utf8')) as SiteManifest;
    if (m.version === GENERATOR_VERSION) files = m.files;
  }
  if (!files) {
    rmSync(manifestFile, { force: true });
    rmSync(dir, { recursive: true, force: true });
    const rng = new Rng(seed * 7919 + count + (kind === 'small' ? 1 : 0));
    files = siteFiles(rng, kind, count);
    const maker = new ContentMaker(rng);
    const made = new Set<string>();
    for (const f of files) {
      const abs = path.join(dir, f.rel);
      const parent = path.dirname(abs);
      if (!made.has(parent)) mkdirSync(parent, { recursive: true });
      made.add(parent);
      writeFileSync(abs, maker.make(f));
    }
    const manifest: SiteManifest = { version: GENERATOR_VERSION, kind, count, seed, files };
    writeFileSync(manifestFile, JSON.stringify(manifest));
    rmSync(dirtyFile, { force: true });
  }
  const totalBytes = files.reduce((s, f) => s + f.size, 0);
  return { kind, count, seed, dir, files, totalBytes };
}

/**
 * The host app createAll sees for a site: the app's folder and the `admin` blueprint's, both absolute,
 * with `root` elsewhere so nothing createAll may write there (a manifest) lands in the synced folder.
 */
export function siteApp(site: Site, appRoot: string, config: Record<string, unknown> = {}): AppLike {
  return {
    root: appRoot,
    staticFolder: path.join(site.dir, 'static'),
    staticUrlPath: '/static',
    blueprints: [
      {
        name: 'admin',
        staticFolder: path.join(site.dir, 'admin/static'),
        urlPrefix: '/admin',
        staticUrlPath: '/static',
      },
    ],
    config,
  };
}

/** Files changed by {@link editSite}, and how to put them back. */
export interface SiteEdit {
  changed: SiteFile[];
  restore(): void;
}

/**
 * Edit `fraction` of the files as a developer would between deploys: text files get a line appended
 * (new size), binaries get new bytes in place (same size, new mtime). `restore()` undoes it; until then a
 * marker makes the next run regenerate the site if this one dies.
 */
export function editSite(site: Site, fraction: number, rng: Rng, label: string): SiteEdit {
  const dirtyFile = `${site.dir}.dirty`;
  writeFileSync(dirtyFile, label);
  const picked = rng.sample(site.files.length, Math.max(1, Math.round(site.files.length * fraction)));
  const originals: { file: SiteFile; bytes: Buffer }[] = [];
  const changed: SiteFile[] = [];
  const now = new Date();
  for (const i of picked) {
    const file = site.files[i]!;
    const abs = path.join(site.dir, file.rel);
    const bytes = readFileSync(abs);
    originals.push({ file, bytes });
    let next: Buffer;
    if (file.kind === 'text') {
      next = Buffer.concat([bytes, Buffer.from(`\n/* edited ${label} */\n`)]);
    } else {
      next = Buffer.from(bytes);
      rng.fill(next.subarray(Math.min(64, next.length - 1), Math.min(4096, next.length)));
    }
    writeFileSync(abs, next);
    utimesSync(abs, now, now);
    changed.push({ ...file, size: next.length });
  }
  const sizes = new Map(changed.map((f) => [f.rel, f.size]));
  const before = site.files;
  site.files = before.map((f) => (sizes.has(f.rel) ? { ...f, size: sizes.get(f.rel)! } : f));
  site.totalBytes = site.files.reduce((s, f) => s + f.size, 0);
  return {
    changed,
    restore() {
      for (const { file, bytes } of originals) writeFileSync(path.join(site.dir, file.rel), bytes);
      site.files = before;
      site.totalBytes = before.reduce((s, f) => s + f.size, 0);
      rmSync(dirtyFile, { force: true });
    },
  };
}
