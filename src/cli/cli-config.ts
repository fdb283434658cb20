// The CLI's arguments and configuration: parsing argv (node:util parseArgs), finding and loading the
// config file, turning FLASKS3_* / AWS_* environment variables and flags into settings, and merging the
// three layers (flag > env > file) into one app description. No stdout, no exit codes: cli.ts owns those,
// so everything here can be tested in-process.

import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { AppLike } from '../app.js';
import {
  closestName,
  findSetting,
  type NunjucksS3Config,
  parseSettingString,
  type ResolvedConfig,
  resolveConfig,
  SETTINGS,
  type SettingSpec,
  setting,
  settingLabel,
} from '../config.js';
import { ConfigError, NunjucksS3Error } from '../errors.js';

/** The command line is wrong (unknown flag, missing value, bad argument). The CLI exits with 2. */
export class UsageError extends NunjucksS3Error {
  override name = 'UsageError' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super('CLI_USAGE', message, options);
  }
}

/** Config file names, in the order they are looked for in each directory. */
export const CONFIG_FILE_NAMES = [
  'nunjucks-s3.config.js',
  'nunjucks-s3.config.mjs',
  'nunjucks-s3.config.json',
] as const;

type Camel = keyof NunjucksS3Config;

/** Flags that take a value and set one setting each. */
const VALUE_FLAGS: Readonly<Record<string, Camel>> = {
  bucket: 'bucketName',
  prefix: 'prefix',
  'endpoint-url': 'endpointUrl',
  region: 'region',
  concurrency: 'concurrency',
  filter: 'filepathFilterRegex',
  'object-acl': 'objectAcl',
  'cdn-domain': 'cdnDomain',
  'max-deletes': 'maxDeletes',
};

/** Boolean flags that set one setting each; each also has a `--no-` form. */
const BOOLEAN_FLAGS: Readonly<Record<string, Camel>> = {
  'include-hidden': 'includeHidden',
  gzip: 'gzip',
  'only-modified': 'onlyModified',
  'hash-cache': 'hashCache',
  'delete-stale': 'deleteStale',
  'bucket-acl': 'putBucketAcl',
};

/** Flags of the CLI itself (not settings). */
const CLI_FLAGS = ['dry-run', 'json', 'quiet', 'help', 'version'] as const;
type CliFlag = (typeof CLI_FLAGS)[number];

const SHORT: Readonly<Record<string, string>> = { h: 'help', V: 'version', q: 'quiet', c: 'config' };

/** Every long option the parser knows, for "did you mean". */
const ALL_FLAGS = [
  ...Object.keys(VALUE_FLAGS),
  ...Object.keys(BOOLEAN_FLAGS),
  ...Object.keys(BOOLEAN_FLAGS).map((f) => `no-${f}`),
  ...CLI_FLAGS,
  'config',
  'set',
];

/** The commands. */
export type Command = 'upload' | 'url' | 'verify' | 'help' | 'version';

/** What the command line asks for. */
export interface CliArgs {
  /** The command; `help`/`version` also for `--help`/`--version`. Undefined: none given. */
  command: Command | undefined;
  /** Arguments after the command. */
  positionals: string[];
  /** `--config <path>`, as given (relative to the current directory). */
  configPath: string | undefined;
  /** `--target <name>`: which of the config file's targets (targets.ts). */
  target?: string | undefined;
  dryRun: boolean;
  json: boolean;
  quiet: boolean;
  /** Settings from flags and `--set`, camelCase, converted to their types (last one wins). */
  settings: Partial<Record<Camel, unknown>>;
  /** Which flag set each setting, for messages (`--concurrency`, `--set FLASKS3_GZIP`). */
  sources: Partial<Record<Camel, string>>;
}

/** Prefix a ConfigError's message with where the value came from; keeps code, setting and cause. */
function fromSource(err: unknown, source: string): unknown {
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
  const guess = closestName(
    name,
    [...SETTINGS.map((s) => s.camel as string), ...SETTINGS.map((s) => s.flask)],
    2,
  );
  throw new UsageError(
    `${source}: unknown setting ${JSON.stringify(name)}${guess ? `; did you mean ${guess}?` : ''} (settings are listed in nunjucks-s3 --help)`,
  );
}

/** Parse the command line. Throws UsageError for anything the user must fix. */
export function parseCliArgs(argv: readonly string[]): CliArgs {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {
    config: { type: 'string', short: 'c' },
    target: { type: 'string' },
    set: { type: 'string', multiple: true },
  };
  for (const f of Object.keys(VALUE_FLAGS)) options[f] = { type: 'string' };
  for (const f of Object.keys(BOOLEAN_FLAGS)) {
    options[f] = { type: 'boolean' };
    options[`no-${f}`] = { type: 'boolean' };
  }
  for (const f of CLI_FLAGS) options[f] = { type: 'boolean' };
  for (const [s, long] of Object.entries(SHORT)) options[long]!.short = s;

  // strict: false so that unknown flags and missing values get our messages, with the fix, not Node's.
  const { tokens } = parseArgs({
    args: [...argv],
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });

  const out: CliArgs = {
    command: undefined,
    positionals: [],
    configPath: undefined,
    dryRun: false,
    json: false,
    quiet: false,
    settings: {},
    sources: {},
  };
  const cli: Partial<Record<CliFlag, boolean>> = {};
  const put = (spec: SettingSpec, raw: string, source: string) => {
    out.settings[spec.camel] = settingFromString(spec, raw, source);
    out.sources[spec.camel] = source;
  };

  for (const token of tokens) {
    if (token.kind === 'option-terminator') continue;
    if (token.kind === 'positional') {
      if (out.command === undefined && out.positionals.length === 0) {
        const cmd = token.value;
        if (cmd === 'upload' || cmd === 'url' || cmd === 'verify' || cmd === 'help' || cmd === 'version') {
          out.command = cmd;
          continue;
        }
        const guess = closestName(cmd, ['upload', 'url', 'verify', 'help', 'version'], 2);
        throw new UsageError(
          `unknown command ${JSON.stringify(cmd)}${guess ? `; did you mean ${guess}?` : ''} (commands: upload, url, verify, help)`,
        );
      }
      out.positionals.push(token.value);
      continue;
    }
    const name = token.name;
    const flag = token.rawName;
    const opt = options[name];
    if (!opt) {
      const guess = closestName(name, ALL_FLAGS, 2);
      throw new UsageError(
        `unknown option ${flag}${guess ? `; did you mean --${guess}?` : ''} (nunjucks-s3 --help lists the options)`,
      );
    }
    if (opt.type === 'string') {
      const value = token.value;
      if (value === undefined) throw new UsageError(`option ${flag} needs a value: ${flag} <value>`);
      if (!token.inlineValue && value.startsWith('--')) {
        throw new UsageError(
          `option ${flag} needs a value, got the option ${value}; write ${flag}=<value> if the value starts with '--'`,
        );
      }
      if (name === 'config') out.configPath = value;
      else if (name === 'target') out.target = value;
      else if (name === 'set') {
        const eq = value.indexOf('=');
        if (eq <= 0)
          throw new UsageError(
            `--set needs NAME=VALUE (e.g. --set FLASKS3_GZIP=true), got ${JSON.stringify(value)}`,
          );
        const settingName = value.slice(0, eq).trim();
        const spec = settingByName(settingName, `--set ${settingName}`);
        put(spec, value.slice(eq + 1), `--set ${settingName}`);
      } else put(setting(VALUE_FLAGS[name]!), value, `--${name}`);
      continue;
    }
    if (token.value !== undefined) {
      throw new UsageError(
        `option ${flag} takes no value (got ${flag}=${token.value}); use ${flag} or --no-${name}`,
      );
    }
    if (name in BOOLEAN_FLAGS) {
      const spec = setting(BOOLEAN_FLAGS[name]!);
      out.settings[spec.camel] = true;
      out.sources[spec.camel] = `--${name}`;
    } else if (name.startsWith('no-') && name.slice(3) in BOOLEAN_FLAGS) {
      const spec = setting(BOOLEAN_FLAGS[name.slice(3)]!);
      out.settings[spec.camel] = false;
      out.sources[spec.camel] = `--${name}`;
    } else cli[name as CliFlag] = true;
  }

  out.dryRun = cli['dry-run'] ?? false;
  out.json = cli.json ?? false;
  out.quiet = cli.quiet ?? false;
  if (cli.version) out.command = 'version';
  else if (cli.help || out.command === 'help') {
    out.command = 'help';
  }
  return out;
}

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
      const guess = closestName(
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

/** Find the config file: the first of CONFIG_FILE_NAMES in `startDir` or any parent. */
export function findConfigFile(startDir: string): string | undefined {
  let dir = path.resolve(startDir);
  for (;;) {
    for (const name of CONFIG_FILE_NAMES) {
      const file = path.join(dir, name);
      if (existsSync(file) && statSync(file).isFile()) return file;
    }
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** The config file to use: `--config` (must exist), else the one found from `cwd` upward. */
export function locateConfigFile(cwd: string, explicit: string | undefined): string {
  if (explicit !== undefined) {
    const file = path.resolve(cwd, explicit);
    if (!existsSync(file)) {
      throw new ConfigError('CONFIG_FILE', `--config ${explicit}: no such file (${file})`, {
        setting: '--config',
      });
    }
    if (!statSync(file).isFile()) {
      throw new ConfigError('CONFIG_FILE', `--config ${explicit}: not a file (${file})`, {
        setting: '--config',
      });
    }
    return file;
  }
  const found = findConfigFile(cwd);
  if (!found) {
    throw new ConfigError(
      'CONFIG_FILE',
      `no ${CONFIG_FILE_NAMES.join(', ')} found from ${path.resolve(cwd)} upward; create one (export default { staticFolder: 'static', config: { FLASKS3_BUCKET_NAME: 'my-bucket' } }) or pass --config <path>`,
      { setting: '--config' },
    );
  }
  return found;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'function') return 'a function';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Load the app description from a config file. A JS file default-exports the app object or a (possibly
 * async) function returning it; a JSON file is the app object. `root` defaults to the file's directory,
 * and a relative `root` is relative to it, so the CLI works the same from any subdirectory.
 */
export async function loadConfigFile(file: string): Promise<AppLike> {
  let exported: unknown;
  if (file.endsWith('.json')) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new ConfigError('CONFIG_FILE', `cannot read ${file}: ${(err as Error).message}`, {
        setting: file,
        cause: err,
      });
    }
    try {
      exported = JSON.parse(text);
    } catch (err) {
      throw new ConfigError('CONFIG_FILE', `${file} is not valid JSON: ${(err as Error).message}`, {
        setting: file,
        cause: err,
      });
    }
  } else {
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    } catch (err) {
      const msg = (err as Error)?.message ?? String(err);
      const esmHint =
        err instanceof SyntaxError && /export|import/.test(msg) && file.endsWith('.js')
          ? `; a .js file that uses export/import needs "type": "module" in the nearest package.json, or rename it to .mjs`
          : '';
      throw new ConfigError('CONFIG_FILE', `cannot load ${file}: ${msg}${esmHint}`, {
        setting: file,
        cause: err,
      });
    }
    if (!('default' in mod)) {
      throw new ConfigError(
        'CONFIG_FILE',
        `${file} has no default export; write export default { staticFolder: 'static', config: { ... } } (or module.exports = ... in CommonJS)`,
        { setting: file },
      );
    }
    exported = mod.default;
    if (typeof exported === 'function') {
      try {
        exported = await (exported as () => unknown)();
      } catch (err) {
        throw new ConfigError(
          'CONFIG_FILE',
          `the function exported by ${file} threw: ${(err as Error)?.message ?? err}`,
          {
            setting: file,
            cause: err,
          },
        );
      }
    }
  }
  if (!isPlainObject(exported)) {
    throw new ConfigError(
      'CONFIG_FILE',
      `${file} must export the app description (an object with root, staticFolder, blueprints, config), got ${describe(exported)}`,
      { setting: file },
    );
  }
  const app = exported as AppLike;
  if (app.root !== undefined && typeof app.root !== 'string') {
    throw new ConfigError(
      'CONFIG_TYPE',
      `${file}: root must be a folder path (string), got ${describe(app.root)}`,
      {
        setting: 'app.root',
      },
    );
  }
  if (app.config !== undefined && !isPlainObject(app.config)) {
    throw new ConfigError(
      'CONFIG_TYPE',
      `${file}: config must be an object of settings, got ${describe(app.config)}`,
      {
        setting: 'app.config',
      },
    );
  }
  return { ...app, root: path.resolve(path.dirname(file), app.root ?? '.') };
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
  return new ConfigError(
    'CONFIG_MISSING_BUCKET',
    `no bucket: ${label} is not set; pass --bucket <name>, set FLASKS3_BUCKET_NAME, or add FLASKS3_BUCKET_NAME to config in ${file}`,
    { setting: label },
  );
}

/** One line per non-default setting with its source; secrets are shown as `***`. For --dry-run and errors. */
export function describeSettings(
  resolved: ResolvedConfig,
  sources: Partial<Record<Camel, string>>,
): string[] {
  const lines: string[] = [];
  for (const spec of SETTINGS) {
    const source = sources[spec.camel];
    if (!source) continue;
    let value: unknown = (resolved as unknown as Record<string, unknown>)[spec.camel];
    if (spec.secret) value = '***';
    else if (value instanceof RegExp) value = value.source;
    else if (spec.camel === 'filepathHeaders')
      value = Object.fromEntries(resolved.filepathHeaders.map((r) => [r.source, r.headers]));
    // objectAcl 'none' resolves to undefined: show what the user wrote means.
    lines.push(`${spec.camel} = ${value === undefined ? 'none' : JSON.stringify(value)}  (${source})`);
  }
  return lines;
}

/** `url <endpoint> [filename] [key=value...]` into url_for's arguments. */
export function urlArguments(positionals: readonly string[]): {
  endpoint: string;
  values: Record<string, unknown>;
} {
  const [endpoint, ...rest] = positionals;
  if (!endpoint) {
    throw new UsageError(
      'url needs an endpoint: nunjucks-s3 url static css/app.css (or admin.static, or a route name)',
    );
  }
  const values: Record<string, unknown> = {};
  // The first argument after a static endpoint is the filename, even if it contains '='.
  if (
    (endpoint === 'static' || endpoint.endsWith('.static')) &&
    rest[0] !== undefined &&
    !rest[0].startsWith('filename=')
  ) {
    values.filename = rest.shift();
  }
  for (const arg of rest) {
    const eq = arg.indexOf('=');
    if (eq <= 0) {
      throw new UsageError(
        `url: ${JSON.stringify(arg)} is not key=value; the filename goes right after the endpoint (nunjucks-s3 url static css/app.css v=3)`,
      );
    }
    const key = arg.slice(0, eq);
    const value = arg.slice(eq + 1);
    const prev = values[key];
    // A repeated key becomes a list, which url_for repeats in the query string (as in Flask).
    values[key] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return { endpoint, values };
}

/** The settings list at the end of --help: every name --set and the environment accept. */
export const SETTINGS_HELP = (() => {
  const lines = [
    'Settings (for --set NAME=VALUE, either spelling, and as environment variables by the FLASKS3_/AWS_ name):',
  ];
  for (const spec of SETTINGS) {
    const d = spec.default;
    const shown = d === undefined || spec.secret ? '' : `  default ${JSON.stringify(d)}`;
    const kind = spec.kind;
    const type = kind.type === 'enum' ? kind.values.filter((v) => v !== null).join('|') : kind.type;
    lines.push(
      `  ${spec.flask.padEnd(30)}${String(spec.camel).padEnd(20)}${type.padEnd(15)}${shown}`.trimEnd(),
    );
  }
  lines.push('Booleans take true/false, 1/0, yes/no, on/off; lists a JSON array or a comma-separated list;');
  lines.push('headers settings a JSON object.');
  return lines.join('\n');
})();
