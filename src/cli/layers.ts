// The CLI's settings layers: the environment's settings, and the merge flag > env > config file
// (> AWS_REGION for the region only > defaults) into one app description, with where each setting came
// from, for --dry-run and messages.

import path from 'node:path';
import type { AppLike } from '../app.js';
import {
  findSetting,
  type ResolvedConfig,
  resolveConfig,
  SETTINGS,
  setting,
  settingLabel,
  suggestFlaskName,
} from '../config.js';
import { ConfigError } from '../errors.js';
import { REDACTION_MASK } from '../s3/redact.js';
import type { CliArgs } from './args.js';
import { NO_CONFIG_FILE, noConfigFileFound } from './config-file.js';
import { type Camel, fromSource, settingFromString } from './setting-input.js';

/** Settings from the environment, with where each came from. */
export interface EnvSettings {
  settings: Partial<Record<Camel, unknown>>;
  sources: Partial<Record<Camel, string>>;
  /** Unknown FLASKS3_* variables (likely typos): reported, not fatal, since the environment is shared. */
  warnings: string[];
  /** AWS_REGION, applied below the config file (see mergeLayers). */
  awsRegion: string | undefined;
}

/**
 * Every setting's documented name is its environment variable (`FLASKS3_GZIP=1`, `AWS_ACCESS_KEY_ID`).
 * An empty variable counts as unset: CI systems expand missing secrets to ''.
 */
export function settingsFromEnv(env: Readonly<Record<string, string | undefined>>): EnvSettings {
  const out: EnvSettings = { settings: {}, sources: {}, warnings: [], awsRegion: undefined };
  for (const spec of SETTINGS) {
    const raw = env[spec.flask];
    if (raw === undefined || raw === '') continue;
    out.settings[spec.camel] = settingFromString(spec, raw, `environment variable ${spec.flask}`);
    out.sources[spec.camel] = spec.flask;
  }
  for (const name of Object.keys(env)) {
    if (name.startsWith('FLASKS3_') && !findSetting(name)) {
      const guess = suggestFlaskName(
        name,
        SETTINGS.map((s) => s.flask),
        2,
      );
      out.warnings.push(
        `ignoring environment variable ${name}: not a setting${guess ? `; did you mean ${guess}?` : ''}`,
      );
    }
  }
  const region = env.AWS_REGION?.trim();
  if (region) out.awsRegion = region;
  return out;
}

/** Settings given in a raw config object, by camelCase name (either spelling in the object). */
function settingsIn(config: Record<string, unknown>): Set<Camel> {
  const set = new Set<Camel>();
  for (const [key, value] of Object.entries(config)) {
    const spec = findSetting(key);
    if (spec && value !== undefined) set.add(spec.camel);
  }
  return set;
}

/**
 * The file's config with higher layers applied: each overridden setting is removed in both spellings
 * (so FLASKS3_PREFIX in the file and --prefix do not count as a conflict) and set by camelCase name.
 */
export function applyOverrides(
  config: Record<string, unknown> | undefined,
  overrides: Partial<Record<Camel, unknown>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config ?? {})) {
    const spec = findSetting(key);
    if (spec && overrides[spec.camel] !== undefined) continue;
    out[key] = value;
  }
  for (const [camel, value] of Object.entries(overrides)) if (value !== undefined) out[camel] = value;
  return out;
}

/** The merged app and where each setting that is not a default came from. */
export interface MergedConfig {
  /** The app description with one merged `config`. */
  app: AppLike;
  /** The checked configuration. */
  resolved: ResolvedConfig;
  /** Setting -> where its value came from: a flag, an environment variable, or the config file. */
  sources: Partial<Record<Camel, string>>;
}

/**
 * Merge file, environment and flags: flag > env > file. AWS_REGION sits below the file (it is ambient,
 * machine-wide; a region written in the config file or FLASKS3_REGION is a statement about this bucket).
 * A mistake in the file's config is reported with the file's path.
 */
export function mergeLayers(
  app: AppLike,
  file: string,
  env: EnvSettings,
  flags: Pick<CliArgs, 'settings' | 'sources'>,
): MergedConfig {
  const fileConfig = (app.config ?? {}) as Record<string, unknown>;
  const sources: Partial<Record<Camel, string>> = {};
  for (const camel of settingsIn(fileConfig)) sources[camel] = path.basename(file);
  const overrides: Partial<Record<Camel, unknown>> = {};
  if (env.awsRegion !== undefined && !sources.region) {
    overrides.region = env.awsRegion;
    sources.region = 'AWS_REGION';
  }
  Object.assign(overrides, env.settings, flags.settings);
  Object.assign(sources, env.sources, flags.sources);
  const config = applyOverrides(fileConfig, overrides);
  let resolved: ResolvedConfig;
  try {
    // Environment and flag values were checked one by one; what fails here is the file's.
    resolved = resolveConfig(config);
  } catch (err) {
    throw fromSource(err, `in ${file}`);
  }
  return { app: { ...app, config }, resolved, sources };
}

/** Where the bucket name can be set, for the "missing bucket" message. */
export function missingBucketError(file: string): ConfigError {
  const label = settingLabel(setting('bucketName'));
  if (file === NO_CONFIG_FILE) {
    return new ConfigError(
      'CONFIG_MISSING_BUCKET',
      `no bucket: ${label} is not set, and ${noConfigFileFound(process.cwd())}; or give the bucket with --bucket <name> or FLASKS3_BUCKET_NAME`,
      { setting: label },
    );
  }
  return new ConfigError(
    'CONFIG_MISSING_BUCKET',
    `no bucket: ${label} is not set; pass --bucket <name>, set FLASKS3_BUCKET_NAME, or add FLASKS3_BUCKET_NAME to config in ${file}`,
    { setting: label },
  );
}

/** One line per non-default setting with its source; secrets are shown as the redaction mask. For --dry-run and errors. */
export function describeSettings(
  resolved: ResolvedConfig,
  sources: Partial<Record<Camel, string>>,
): string[] {
  const lines: string[] = [];
  for (const spec of SETTINGS) {
    const source = sources[spec.camel];
    if (!source) continue;
    let value: unknown = (resolved as unknown as Record<string, unknown>)[spec.camel];
    if (spec.secret) value = REDACTION_MASK;
    else if (value instanceof RegExp) value = value.source;
    else if (spec.camel === 'filepathHeaders')
      value = Object.fromEntries(resolved.filepathHeaders.map((r) => [r.source, r.headers]));
    // objectAcl 'none' resolves to undefined: show what the user wrote means.
    lines.push(`${spec.camel} = ${value === undefined ? 'none' : JSON.stringify(value)}  (${source})`);
  }
  return lines;
}
