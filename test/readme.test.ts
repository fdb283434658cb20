// The README's configuration table is documentation users rely on: it must list every setting the code
// accepts, under both spellings, and nothing the code does not accept.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../src/config.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
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
