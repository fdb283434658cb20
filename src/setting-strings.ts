// Settings given as strings (environment variables, command-line flags, `--set NAME=VALUE`): each
// converted to its setting's type. The result is checked by resolveConfig like any other value.

import { ConfigError } from './errors.js';
import { type SettingSpec, settingLabel } from './settings.js';

/** Convert a string from the environment or a command line to a setting's type (for the CLI). */
export function parseSettingString(spec: SettingSpec, raw: string): unknown {
  const kind = spec.kind;
  const fail = (expected: string) =>
    new ConfigError(
      'CONFIG_TYPE',
      `${settingLabel(spec)} must be ${expected}, got ${spec.secret ? 'a string' : JSON.stringify(raw)}`,
      {
        setting: settingLabel(spec),
      },
    );
  switch (kind.type) {
    case 'string':
    case 'regex':
      return raw;
    case 'boolean': {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
      throw fail('true or false (1/0, yes/no, on/off)');
    }
    case 'number': {
      const n = Number(raw.trim());
      if (raw.trim() === '' || Number.isNaN(n)) throw fail('a number');
      return n;
    }
    case 'enum': {
      const v = raw.trim();
      if (kind.values.includes(false) && ['false', '0', 'off', 'no', ''].includes(v.toLowerCase()))
        return false;
      if (kind.values.includes(null) && v.toLowerCase() === 'none') return 'none';
      return v;
    }
    case 'stringArray': {
      const v = raw.trim();
      if (v.startsWith('[')) {
        try {
          return JSON.parse(v);
        } catch {
          throw fail('a JSON array or a comma-separated list');
        }
      }
      return v === ''
        ? []
        : v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean);
    }
    case 'headers':
    case 'filepathHeaders':
      try {
        return JSON.parse(raw);
      } catch {
        throw fail('a JSON object');
      }
  }
}
