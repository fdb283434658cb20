// From the packed tarball, as a new user gets the package: `npm pack` (of the built dist/), then per
// framework one fresh folder with `npm install <tarball> ...` of the framework, the README's snippet for
// it, and one command (the server, or Eleventy's build). Every asset URL the page contains must return 200
// from the suite's S3 server with the right Content-Type and Content-Encoding (README programs upload
// with FLASKS3_GZIP). Installs use one npm cache folder under the temp dir, kept between runs, and
// --prefer-offline, so only the first run downloads; they need the npm registry (as CI has).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readmePrograms, runEleventy, runServer, writeProject } from './helpers/readme-programs.js';

const run = promisify(execFile);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NPM_CACHE = path.join(tmpdir(), 'nunjucks-s3-npm-cache');
const INSTALL_TIMEOUT = 600_000;

type Framework = 'express' | 'fastify' | 'eleventy';
const PACKAGES: Record<Framework, string[]> = {
  express: ['express', 'nunjucks'],
  fastify: ['fastify', '@fastify/view', 'nunjucks'],
  eleventy: ['@11ty/eleventy'],
};

function frameworkOf(code: string): Framework {
  if (/eleventyConfig/.test(code)) return 'eleventy';
  return /from 'fastify'/.test(code) ? 'fastify' : 'express';
}

const { programs, template } = readmePrograms(readFileSync(path.join(repo, 'README.md'), 'utf8'));

describe('the packed tarball, installed fresh', () => {
  let work: string;
  let tarball: string;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'nunjucks-s3-tarball-'));
    // `npm test` builds first (pretest); building here would rewrite dist/ under the other test files
    // that import it while they run.
    if (!existsSync(path.join(repo, 'dist', 'eleventy', 'index.js'))) {
      throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    }
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: repo });
    tarball = path.join(work, (JSON.parse(stdout) as { filename: string }[])[0]?.filename as string);
  }, 120_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('has a README program for every framework', () => {
    expect(new Set(programs.map(frameworkOf))).toEqual(new Set(['express', 'fastify', 'eleventy']));
  });

  it.each(['express', 'fastify', 'eleventy'] as Framework[])(
    '%s: the README snippets run, every asset from the S3 store',
    async (framework) => {
      const project = path.join(work, framework);
      mkdirSync(project);
      writeFileSync(path.join(project, 'package.json'), '{ "private": true }\n');
      await run(
        'npm',
        [
          'install',
          '--prefer-offline',
          '--no-audit',
          '--no-fund',
          '--cache',
          NPM_CACHE,
          tarball,
          ...PACKAGES[framework],
        ],
        { cwd: project },
      );
      // The package came from the tarball: its own copy, not this repository.
      const installed = path.join(project, 'node_modules', 'nunjucks-s3', 'package.json');
      expect(JSON.parse(readFileSync(installed, 'utf8')).name).toBe('nunjucks-s3');
      const snippets = programs.filter((code) => frameworkOf(code) === framework);
      for (const code of snippets) {
        const folder = mkdtempSync(path.join(project, 'app-'));
        // Each snippet in its own folder below the install, so `nunjucks-s3` resolves to the tarball's copy.
        writeProject(folder, code, template as string);
        const urls =
          framework === 'eleventy'
            ? await runEleventy(folder, [path.join(project, 'node_modules', '@11ty', 'eleventy', 'cmd.cjs')])
            : await runServer(folder, /createAll\(/.test(code));
        expect(urls.length).toBeGreaterThan(0);
      }
    },
    INSTALL_TIMEOUT,
  );
});
