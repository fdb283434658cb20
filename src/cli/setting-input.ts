// Settings typed on a command line or set in the environment: a string for one setting, converted to
// its type and checked alone, with errors that say where the value came from (`--concurrency`,
// `environment variable FLASKS3_GZIP`).

import {
  findSetting,
  type NunjucksS3Config,
  parseSettingString,
  resolveConfig,
  SETTINGS,
  type SettingSpec,
  suggestFlaskName,
} from '../config.js';
import { ConfigError } from '../errors.js';
import { UsageError } from './usage-error.js';

/** A setting's camelCase name. */
export type Camel = keyof NunjucksS3Config;

/** Prefix a ConfigError's message with where the value came from; keeps code, setting and cause. */
export function fromSource(err: unknown, source: string): unknown {
  if (err instanceof ConfigError) {
    return new ConfigError(err.code, `${source}: ${err.message}`, {
      setting: err.setting,
      cause: err.cause ?? err,
    });
  }
  return err;
}

/** Convert one string for a setting and check it alone (type, range, bucket name rules, URL). */
export function settingFromString(spec: SettingSpec, raw: string, source: string): unknown {
  try {
    const value = parseSettingString(spec, raw);
    resolveConfig({}, { [spec.camel]: value });
    return value;
  } catch (err) {
    throw fromSource(err, source);
  }
}

/** The setting named by `--set NAME=...`, in either spelling, or a UsageError with the closest name. */
export function settingByName(name: string, source: string): SettingSpec {
  const spec = findSetting(name);
  if (spec) return spec;
  const guess = suggestFlaskName(
    name,
    [...SETTINGS.map((s) => s.camel as string), ...SETTINGS.map((s) => s.flask)],
    2,
  );
  throw new UsageError(
    `${source}: unknown setting ${JSON.stringify(name)}${guess ? `; did you mean ${guess}?` : ''} (settings are listed in nunjucks-s3 --help)`,
  );
}
