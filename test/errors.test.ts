// errors.ts: ERROR_CODES is the one list of error codes. Every code written anywhere in src/ is in it,
// every code in it is used, and the README's Errors section lists each one with its meaning.

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../src/errors.js';
import * as api from '../src/index.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SRC = path.join(REPO, 'src');
const OWN_CODE = /super\('([A-Z]+_[A-Z_]+)'/g;
const CODE = /'((?:CONFIG|URL|UPLOAD|FILE|CLI|VERIFY|DEPLOY)_[A-Z_]+)'/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(path.join(dir, e.name))
      : e.name.endsWith('.ts')
        ? [path.join(dir, e.name)]
        : [],
  );
}

/**
 * Every quoted error code in src/ outside errors.ts, with the files that use it; in errors.ts, the codes an
 * error class gives itself (`super('DEPLOY_LOCKED', ...)`), not the list.
 */
function codesUsedInSource(): Map<string, string[]> {
  const used = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const pattern = file === path.join(SRC, 'errors.ts') ? OWN_CODE : CODE;
    for (const m of readFileSync(file, 'utf8').matchAll(pattern)) {
      used.set(m[1]!, [...(used.get(m[1]!) ?? []), path.relative(REPO, file)]);
    }
  }
  return used;
}

describe('error codes', () => {
  const listed = Object.keys(ERROR_CODES);
  const used = codesUsedInSource();

  it('every code src/ uses is in ERROR_CODES', () => {
    const unlisted = [...used].filter(([code]) => !listed.includes(code));
    expect(unlisted).toEqual([]);
    expect(used.size).toBeGreaterThan(30);
  });

  it('every code in ERROR_CODES is used somewhere in src/', () => {
    expect(listed.filter((code) => !used.has(code))).toEqual([]);
  });

  it("the README's Errors section lists every code with its meaning", () => {
    const readme = readFileSync(path.join(REPO, 'README.md'), 'utf8');
    const section = readme.slice(
      readme.indexOf('### Errors'),
      readme.indexOf('\n## ', readme.indexOf('### Errors')),
    );
    for (const [code, meaning] of Object.entries(ERROR_CODES))
      expect(section).toContain(`- \`${code}\`: ${meaning}`);
    const inReadme = [...section.matchAll(/^- `([A-Z_]+)`:/gm)].map((m) => m[1]);
    expect(inReadme.sort()).toEqual([...listed].sort());
  });

  it('the package exports ERROR_CODES, and errors carry a listed code', () => {
    expect(api.ERROR_CODES).toBe(ERROR_CODES);
    const err = new api.ConfigError('CONFIG_TYPE', 'x');
    expect(err.code in api.ERROR_CODES).toBe(true);
    expect(err).toBeInstanceOf(api.NunjucksS3Error);
  });
});
