// The first stage of createAll: the settings (app.config overridden by createAll's options, Flask-S3's
// argument names mapped), checked whole before anything is read or sent, and the run's logger, warning
// list, dry-run flag and signal.

import { setMaxListeners } from 'node:events';
import type { AppLike } from '../app.js';
import { findSetting, requireBucketName, resolveConfig, setting, settingLabel } from '../config.js';
import { checkHeaderSettings } from '../content/headers.js';
import { ConfigError } from '../errors.js';
import type { CreateAllOptions } from './api-types.js';
import type { DeployLogger, DeployRun } from './types.js';

/** Options that are not settings. */
const OPTION_NAMES = new Set([
  'user',
  'password',
  'location',
  'client',
  'signal',
  'dryRun',
  'onProgress',
  'logger',
  'onInvalidate',
]);

/** Split createAll's options into settings overrides and the rest; map Flask-S3's argument names. */
function settingsOverrides(options: CreateAllOptions): Record<string, unknown> {
  const overrides: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(options)) {
    if (OPTION_NAMES.has(name)) continue;
    if (!findSetting(name)) {
      throw new ConfigError('CONFIG_UNKNOWN', `createAll: unknown option ${JSON.stringify(name)}`, {
        setting: name,
      });
    }
    overrides[name] = value;
  }
  const alias = (
    flaskName: 'user' | 'password' | 'location',
    camel: 'accessKeyId' | 'secretAccessKey' | 'region',
  ) => {
    const v = options[flaskName];
    if (v === undefined) return;
    const spec = setting(camel);
    const other = overrides[camel] ?? overrides[spec.flask];
    if (other !== undefined && other !== v) {
      throw new ConfigError(
        'CONFIG_CONFLICT',
        `createAll: ${flaskName} and ${settingLabel(spec)} are both given, with different values`,
        {
          setting: settingLabel(spec),
        },
      );
    }
    overrides[camel] = v;
  };
  alias('user', 'accessKeyId');
  alias('password', 'secretAccessKey');
  alias('location', 'region');
  return overrides;
}

/** Both halves of a credential pair, or neither: one without the other is an input error. */
function checkCredentialPair(config: DeployRun['config'], injectedClient: boolean): void {
  if (injectedClient || (config.accessKeyId === undefined) === (config.secretAccessKey === undefined)) return;
  const missing = setting(config.accessKeyId === undefined ? 'accessKeyId' : 'secretAccessKey');
  throw new ConfigError(
    'CONFIG_CREDENTIALS',
    `${settingLabel(missing)} is missing: give both the access key id and the secret, or neither`,
    { setting: settingLabel(missing) },
  );
}

/**
 * Resolve the run: settings (every input error now, before any request), logger, warnings (the header
 * settings' warnings first), the dry-run flag, and the signal requests listen on.
 */
export function resolveRun(app: AppLike, options: CreateAllOptions): DeployRun {
  const startedAt = performance.now();
  const logger: DeployLogger = options.logger ?? { warn: (m) => console.warn(m) };
  // Requests listen on their own signal, relayed from the caller's: the SDK adds an abort listener per
  // request in flight, which on the caller's signal tripped Node's "possible EventTarget memory leak"
  // warning from 11 concurrent requests (every CLI run printed it).
  const signal = options.signal ? AbortSignal.any([options.signal]) : undefined;
  if (signal) setMaxListeners(0, signal);
  const config = resolveConfig(app.config ?? {}, settingsOverrides(options));
  const bucket = requireBucketName(config, 'to upload');
  checkCredentialPair(config, options.client !== undefined);
  const warnings: string[] = [];
  const warn = (message: string) => {
    warnings.push(message);
    logger.warn(message);
  };
  for (const w of checkHeaderSettings(config)) warn(w);
  return { config, bucket, dryRun: options.dryRun ?? false, signal, logger, warnings, warn, startedAt };
}
