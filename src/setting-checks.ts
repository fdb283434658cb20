// Checking one value against its setting's kind (type, range, allowed values, header names), with
// errors that name the setting in both spellings and never show a secret's value.

import { ConfigError } from './errors.js';
import { type SettingSpec, settingLabel } from './settings.js';

/** A value as error messages show it: its kind, and short strings in full. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof RegExp) return 'a RegExp';
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 60 ? value.slice(0, 57) + '...' : value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

export function typeError(spec: SettingSpec, expected: string, value: unknown): ConfigError {
  const got = spec.secret ? typeof value : describe(value);
  return new ConfigError('CONFIG_TYPE', `${settingLabel(spec)} must be ${expected}, got ${got}`, {
    setting: settingLabel(spec),
  });
}

/** An object that is not an array, null or a RegExp. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof RegExp);
}

/** A regex of a setting, or a ConfigError naming the setting and the bad pattern. */
export function compileRegex(spec: SettingSpec, source: string, what: string): RegExp {
  try {
    return new RegExp(source);
  } catch (err) {
    throw new ConfigError(
      'CONFIG_REGEX',
      `${settingLabel(spec)}: ${what} ${JSON.stringify(source)} is not a valid regular expression (${(err as Error).message})`,
      { setting: settingLabel(spec), cause: err },
    );
  }
}

function checkHeaders(spec: SettingSpec, value: unknown, where = ''): Record<string, string> {
  if (!isPlainObject(value))
    throw typeError(spec, `an object of header names to string values${where}`, value);
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(value)) {
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
      throw new ConfigError(
        'CONFIG_TYPE',
        `${settingLabel(spec)}: ${JSON.stringify(name)}${where} is not a valid HTTP header name`,
        {
          setting: settingLabel(spec),
        },
      );
    }
    if (typeof v !== 'string' && typeof v !== 'number') {
      throw typeError(spec, `string header values (header ${JSON.stringify(name)}${where})`, v);
    }
    out[name] = String(v);
  }
  return out;
}

/** Check one value against its setting's type; returns the value to store (copied, never shared). */
export function checkValue(spec: SettingSpec, value: unknown): unknown {
  const kind = spec.kind;
  switch (kind.type) {
    case 'string':
      if (typeof value !== 'string') throw typeError(spec, 'a string', value);
      if (kind.nonEmpty && value.trim() === '') throw typeError(spec, 'a non-empty string', value);
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') throw typeError(spec, 'true or false', value);
      return value;
    case 'number':
      if (typeof value !== 'number' || Number.isNaN(value)) throw typeError(spec, 'a number', value);
      if (kind.integer && !Number.isInteger(value)) throw typeError(spec, 'a whole number', value);
      if (value < kind.min || value > kind.max)
        throw typeError(spec, `between ${kind.min} and ${kind.max}`, value);
      return value;
    case 'enum':
      if (!kind.values.includes(value as string)) {
        throw typeError(
          spec,
          `one of ${kind.values.map((v) => (typeof v === 'string' ? `'${v}'` : String(v))).join(', ')}`,
          value,
        );
      }
      return value;
    case 'stringArray':
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
        throw typeError(spec, 'an array of strings', value);
      return [...value];
    case 'headers':
      return checkHeaders(spec, value);
    case 'filepathHeaders': {
      if (!isPlainObject(value)) throw typeError(spec, 'an object of path regexes to header objects', value);
      const out: Record<string, Record<string, string>> = {};
      for (const [re, headers] of Object.entries(value))
        out[re] = checkHeaders(spec, headers, ` (under ${JSON.stringify(re)})`);
      return out;
    }
    case 'regex':
      if (value instanceof RegExp) return new RegExp(value.source, value.flags.replace(/[gy]/g, ''));
      if (typeof value !== 'string') throw typeError(spec, 'a regular expression (string or RegExp)', value);
      return value;
  }
}

/** Whether two checked values of a setting are the same (two spellings may then both be given). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof RegExp && b instanceof RegExp) return a.source === b.source && a.flags === b.flags;
  return JSON.stringify(a) === JSON.stringify(b);
}
