// Environments: one config file, several targets (`targets: { staging: {...}, production: {...} }`),
// each an object of settings merged over the file's own `config`. Pure: data in, data out.

import type { AppLike } from '../app.js';
import { closestName, findSetting, SETTINGS } from '../config.js';
import { ConfigError } from '../errors.js';

/** The environment variable that names the target when `--target` is not given. */
export const TARGET_ENV = 'NUNJUCKS_S3_TARGET';

/** The app with the chosen target's settings merged in, and the target's name (undefined: none chosen). */
export interface TargetChoice {
  app: AppLike;
  target: string | undefined;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Merge the target `name` of the file's `targets` over its base `config`: a setting the target gives
 * replaces the base's in both spellings. Without a name, the base settings alone. Throws a ConfigError
 * naming the file for an unknown target (listing the known ones), a `targets` that is not an object of
 * objects, or a key in a target that is not a setting.
 */
export function selectTarget(loaded: AppLike, name: string | undefined, file: string): TargetChoice {
  const { targets, ...app } = loaded as AppLike & { targets?: unknown };
  if (targets !== undefined && !isPlainObject(targets)) {
    throw new ConfigError('CONFIG_TARGET', `${file}: targets must be an object of target names to settings`, {
      setting: 'targets',
    });
  }
  if (name === undefined || name === '') return { app, target: undefined };
  const known = Object.keys(targets ?? {});
  const chosen = targets?.[name];
  if (!isPlainObject(chosen)) {
    const why =
      known.length === 0
        ? `${file} defines no targets; add targets: { ${JSON.stringify(name)}: { ...settings } }`
        : chosen === undefined
          ? `${file} has no target ${JSON.stringify(name)}; its targets are ${known.join(', ')}`
          : `${file}: target ${JSON.stringify(name)} must be an object of settings`;
    throw new ConfigError('CONFIG_TARGET', `unknown target ${JSON.stringify(name)}: ${why}`, {
      setting: 'targets',
    });
  }
  const base = (app.config ?? {}) as Record<string, unknown>;
  const config: Record<string, unknown> = {};
  const replaced = new Set<string>();
  for (const key of Object.keys(chosen)) {
    const spec = findSetting(key);
    if (!spec) {
      const names = [...SETTINGS.map((s) => s.camel as string), ...SETTINGS.map((s) => s.flask)];
      const guess = closestName(key, names, 2);
      throw new ConfigError(
        'CONFIG_UNKNOWN',
        `${file}: target ${JSON.stringify(name)}: unknown setting ${key}${guess ? `; did you mean ${guess}?` : ''}`,
        { setting: key },
      );
    }
    replaced.add(spec.camel);
  }
  for (const [key, value] of Object.entries(base)) {
    const spec = findSetting(key);
    if (!spec || !replaced.has(spec.camel)) config[key] = value;
  }
  Object.assign(config, chosen);
  return { app: { ...app, config }, target: name };
}
