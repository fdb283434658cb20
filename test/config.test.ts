import { describe, expect, it } from 'vitest';
import { resolveConfig, SETTINGS } from '../src/config.js';
import { ConfigError } from '../src/errors.js';

describe('resolveConfig', () => {
  it('accepts both spellings of every setting and maps them to one field', () => {
    for (const s of SETTINGS) {
      if (s.kind.type !== 'boolean') continue;
      const a = resolveConfig({ [s.flask]: !s.default });
      const b = resolveConfig({ [s.camel]: !s.default });
      expect((a as unknown as Record<string, unknown>)[s.camel]).toBe(!s.default);
      expect((b as unknown as Record<string, unknown>)[s.camel]).toBe(!s.default);
    }
  });
});
