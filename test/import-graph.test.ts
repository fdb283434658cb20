// The shape of src/, read from the sources: the template half (what a running app needs) never loads
// the deploy half, the S3 edge, the CLI or their packages; the package's entry point loads them only
// through dynamic import(); and no module imports itself through others.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { closure, cycles, importsOf, sourceFiles } from './helpers/import-graph.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SRC = path.join(REPO, 'src');
const rel = (file: string) => path.relative(SRC, file);

/** Packages only a deploy or the CLI needs: the AWS SDK, the file walker, the progress bar. */
const DEPLOY_PACKAGES = /^(@aws-sdk\/|@smithy\/|globby$|cli-progress$)/;
/** Folders of src/ only a deploy or the CLI needs. */
const DEPLOY_FOLDERS = /^(deploy|s3|cli)\//;

/**
 * Deploy-side modules src/index.ts re-exports synchronous functions from (planUploads, recordKey,
 * createS3Client, publicReadPolicy), and what they import. They load the SDK only through
 * s3/sdk.ts's loaders, when a client is made; the checks below hold them to that.
 */
const INDEX_DEPLOY_MODULES = new Set([
  'deploy/plan.ts',
  'deploy/record.ts',
  's3/bucket-policy.ts',
  's3/client.ts',
  's3/errors.ts',
  's3/redact.ts',
  's3/region.ts',
  's3/retry.ts',
  's3/sdk.ts',
]);

describe('the template half', () => {
  const templateFiles = sourceFiles(path.join(SRC, 'template'));

  it('is found (the walker reads real imports)', () => {
    const plugin = importsOf(path.join(SRC, 'template/plugin.ts'));
    expect(plugin.files.map(rel)).toContain('template/state.ts');
    expect(closure([path.join(SRC, 'template/inline.ts')]).packages).toContain('nunjucks');
    expect(closure([path.join(SRC, 'deploy/upload.ts')]).packages).toContain('mime');
  });

  it.each(templateFiles.map((f) => [rel(f), f]))(
    '%s loads nothing of the deploy half or the CLI',
    (_, file) => {
      const { files, packages } = closure([file]);
      expect([...files].map(rel).filter((f) => DEPLOY_FOLDERS.test(f))).toEqual([]);
      expect([...packages].filter((p) => DEPLOY_PACKAGES.test(p))).toEqual([]);
    },
  );
});

describe("the package's entry point (src/index.ts)", () => {
  const { files, packages } = closure([path.join(SRC, 'index.ts')]);

  it('statically loads no AWS SDK, globby or cli-progress', () => {
    expect([...packages].filter((p) => DEPLOY_PACKAGES.test(p))).toEqual([]);
  });

  it('statically loads no CLI module, and of the deploy half only the modules it re-exports functions from', () => {
    const deploySide = [...files].map(rel).filter((f) => DEPLOY_FOLDERS.test(f));
    expect(deploySide.filter((f) => f.startsWith('cli/'))).toEqual([]);
    expect(deploySide.filter((f) => !INDEX_DEPLOY_MODULES.has(f))).toEqual([]);
  });

  it('loads createAll and discoverFiles through dynamic import()', () => {
    const upload = path.join(SRC, 'deploy/upload.ts');
    expect(files.has(upload)).toBe(false);
    expect(importsOf(path.join(SRC, 'index.ts')).files).not.toContain(upload);
  });
});

describe('src/', () => {
  it('has no import cycle', () => {
    const found = cycles(sourceFiles(SRC)).map((c) => c.map(rel).join(' -> '));
    expect(found).toEqual([]);
  });

  it('the cycle finder reports a real cycle, and not a type-only import', () => {
    const dir = path.join(REPO, 'test/fixtures/import-cycle');
    const found = cycles(['a.ts', 'd.ts'].map((f) => path.join(dir, f)));
    expect(found.map((c) => c.map((f) => path.basename(f)).join(' -> '))).toEqual([
      'a.ts -> b.ts -> c.ts -> a.ts',
    ]);
  });
});
