// What installing nunjucks-s3 costs a project: a fresh install of the packed tarball against a fresh
// install of what any S3 uploader for a Nunjucks app needs anyway (`@aws-sdk/client-s3` and `nunjucks`,
// at the ranges package.json asks for). Every package the tarball adds must be in EARNS_ITS_PLACE, with
// the reason; the figures are printed for the record.
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  filesBelow,
  INSTALL_TIMEOUT,
  installProject,
  type PackedWork,
  packTarball,
  repo,
} from '../helpers/consumer.js';

/** The packages a fresh install of the tarball adds to the baseline, and why each is there. */
const EARNS_ITS_PLACE: Record<string, string> = {
  'nunjucks-s3': 'the package itself (dist/, the src/ its source maps name, README, docs)',
  mime: 'the Content-Type of every object (the original sent CSS as binary/octet-stream)',
  'path-to-regexp': 'the router table: url_for of a non-static endpoint from a path pattern',
  'xxhash-wasm': 'xxh64 of every file, for the upload record and fingerprints',
};

/** Packages installed (node_modules/.package-lock.json) and bytes of every file under node_modules. */
function footprint(project: string): { packages: string[]; bytes: number } {
  const lock = JSON.parse(readFileSync(path.join(project, 'node_modules', '.package-lock.json'), 'utf8'));
  const packages = Object.keys(lock.packages as object).map((p) => p.replace(/^.*node_modules\//, ''));
  const bytes = filesBelow(path.join(project, 'node_modules')).reduce((n, f) => n + statSync(f).size, 0);
  return { packages, bytes };
}

describe('the install footprint', () => {
  let packed: PackedWork;
  let tarball: ReturnType<typeof footprint>;
  let baseline: ReturnType<typeof footprint>;

  beforeAll(async () => {
    packed = await packTarball('footprint');
    const pkg = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8'));
    const [withTarball, without] = await Promise.all([
      installProject(packed.work, 'with-tarball', [packed.tarball]),
      installProject(packed.work, 'baseline', [
        `@aws-sdk/client-s3@${pkg.dependencies['@aws-sdk/client-s3']}`,
        `nunjucks@${pkg.peerDependencies.nunjucks}`,
      ]),
    ]);
    tarball = footprint(withTarball);
    baseline = footprint(without);
    const MB = (n: number) => `${(n / 1e6).toFixed(2)} MB`;
    console.log(
      `install footprint: the tarball ${tarball.packages.length} packages, ${MB(tarball.bytes)}; ` +
        `@aws-sdk/client-s3 + nunjucks alone ${baseline.packages.length} packages, ${MB(baseline.bytes)}`,
    );
  }, INSTALL_TIMEOUT);

  afterAll(() => packed?.remove());

  it('adds only packages that earn their place', () => {
    const added = tarball.packages.filter((p) => !baseline.packages.includes(p)).sort();
    expect(added).toEqual(Object.keys(EARNS_ITS_PLACE).sort());
    // The baseline is all there too: nunjucks (a peer) and the SDK, one copy each.
    expect(baseline.packages.filter((p) => !tarball.packages.includes(p))).toEqual([]);
  });

  it('has none of the packages replaced by code of its own', () => {
    for (const gone of [
      '@aws-sdk/lib-storage',
      'globby',
      'cli-progress',
      'fast-glob',
      'buffer',
      'stream-browserify',
    ]) {
      expect(tarball.packages).not.toContain(gone);
    }
  });

  // The package itself is most of it: 2.3 MB unpacked, of which about 1 MB is the TypeScript sources and the
  // source maps that name them (so a stack trace under --enable-source-maps points at code that is there),
  // 0.2 MB the type declarations, and 0.45 MB the CLI's own bundle of the code it runs with its maps
  // (scripts/bundle-cli.mjs: a node process starts a deploy about 35 ms sooner than when it loads the
  // library's modules one by one). The three dependencies above add about 0.35 MB. A new dependency of any
  // weight, or a build that ships what it should not, crosses this line.
  it('costs less than 3 MiB over the baseline', () => {
    expect(tarball.bytes - baseline.bytes).toBeLessThan(3 * 1024 * 1024);
  });
});
