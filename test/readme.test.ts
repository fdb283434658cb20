// The README's configuration table is documentation users rely on: it must list every setting the code
// accepts, under both spellings, and nothing the code does not accept. Its programs must run.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../src/config.js';
import { readmePrograms, runEleventy, runServer, writeProject } from './helpers/readme-programs.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const readme = readFileSync(path.join(repo, 'README.md'), 'utf8');
const rows = readme.split('\n').filter((l) => /^\| `(FLASKS3|AWS)_[A-Z0-9_]+` \|/.test(l));

describe('README configuration table', () => {
  it.each(SETTINGS.map((s) => [s.flask, s.camel]))('documents %s as %s', (flask, camel) => {
    const row = rows.find((r) => r.startsWith(`| \`${flask}\` |`));
    expect(row, `no README row for ${flask}`).toBeDefined();
    expect(row).toContain(`| \`${camel}\` |`);
  });

  it('lists no setting the code does not accept', () => {
    const documented = rows.map((r) => /^\| `([A-Z0-9_]+)`/.exec(r)?.[1]);
    expect(documented.filter((n) => !SETTINGS.some((s) => s.flask === n))).toEqual([]);
  });
});

// Every README code block that is a program (a ```js block with an import) is run as a user would run it,
// in a fresh folder inside the repository (so `nunjucks-s3` resolves to this package, built in dist/),
// against the suite's S3 server; the page it serves or builds must link assets that load. The only
// change to the program: the settings that point it at the local S3 server are spread into its
// `config: {` object (a test may reach 127.0.0.1 only), before its own settings.
describe('README programs', () => {
  const { programs, template } = readmePrograms(readme);

  it('has programs and the template they render', () => {
    expect(programs.length).toBeGreaterThanOrEqual(4);
    expect(template).toContain("url_for('static', filename='css/site.css')");
  });

  it.each(programs.map((code) => [code.split('\n')[0] as string, code]))(
    '%s runs and links assets that load',
    async (_first, code) => {
      mkdirSync(path.join(repo, 'test-results'), { recursive: true });
      const project = mkdtempSync(path.join(repo, 'test-results', 'readme-'));
      try {
        writeProject(project, code, template as string);
        const urls = /eleventyConfig/.test(code)
          ? await runEleventy(project, [path.join(repo, 'node_modules', '@11ty', 'eleventy', 'cmd.cjs')])
          : await runServer(project, /createAll\(/.test(code));
        expect(urls.length).toBeGreaterThan(0);
      } finally {
        rmSync(project, { recursive: true, force: true });
      }
    },
    120_000,
  );
});
