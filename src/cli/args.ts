// The command line: the flag tables and parseCliArgs (node:util parseArgs, with our own messages for
// every mistake), and the `url` command's arguments. No stdout, no exit codes: main.ts owns those.

import { parseArgs } from 'node:util';
import { closestName, type SettingSpec, setting } from '../config.js';
import { type Camel, settingByName, settingFromString } from './setting-input.js';
import { UsageError } from './usage-error.js';

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

type OptionSpec = { type: 'string' | 'boolean'; multiple?: boolean; short?: string };

/** parseArgs' option table, from the flag tables above. */
function optionTable(): Record<string, OptionSpec> {
  const options: Record<string, OptionSpec> = {
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
  return options;
}

const COMMANDS: readonly Command[] = ['upload', 'url', 'verify', 'help', 'version'];

/** The first positional argument is the command; later ones are its arguments. */
function takePositional(out: CliArgs, value: string): void {
  if (out.command !== undefined || out.positionals.length > 0) {
    out.positionals.push(value);
    return;
  }
  if ((COMMANDS as readonly string[]).includes(value)) {
    out.command = value as Command;
    return;
  }
  const guess = closestName(value, COMMANDS, 2);
  throw new UsageError(
    `unknown command ${JSON.stringify(value)}${guess ? `; did you mean ${guess}?` : ''} (commands: upload, url, verify, help)`,
  );
}

/** Record a setting given on the command line, converted and checked alone. */
function putSetting(out: CliArgs, spec: SettingSpec, raw: string, source: string): void {
  out.settings[spec.camel] = settingFromString(spec, raw, source);
  out.sources[spec.camel] = source;
}

/** `--config <path>`, `--set NAME=VALUE` or a setting's value flag (`--bucket <name>`). */
function takeValueOption(out: CliArgs, name: string, value: string): void {
  if (name === 'config') {
    out.configPath = value;
    return;
  }
  if (name === 'target') {
    out.target = value;
    return;
  }
  if (name !== 'set') {
    putSetting(out, setting(VALUE_FLAGS[name]!), value, `--${name}`);
    return;
  }
  const eq = value.indexOf('=');
  if (eq <= 0) {
    throw new UsageError(
      `--set needs NAME=VALUE (e.g. --set FLASKS3_GZIP=true), got ${JSON.stringify(value)}`,
    );
  }
  const settingName = value.slice(0, eq).trim();
  const spec = settingByName(settingName, `--set ${settingName}`);
  putSetting(out, spec, value.slice(eq + 1), `--set ${settingName}`);
}

/** A boolean flag: a setting (`--gzip`, `--no-gzip`) or one of the CLI's own (`--dry-run`). */
function takeBooleanOption(out: CliArgs, cli: Partial<Record<CliFlag, boolean>>, name: string): void {
  const negated = name.startsWith('no-') && name.slice(3) in BOOLEAN_FLAGS;
  const camel = BOOLEAN_FLAGS[negated ? name.slice(3) : name];
  if (camel === undefined) {
    cli[name as CliFlag] = true;
    return;
  }
  out.settings[camel] = !negated;
  out.sources[camel] = `--${name}`;
}

/** One option token, with our message (and the fix) for each way it can be wrong. */
function takeOption(
  out: CliArgs,
  cli: Partial<Record<CliFlag, boolean>>,
  options: Record<string, OptionSpec>,
  token: { name: string; rawName: string; value: string | undefined; inlineValue: boolean | undefined },
): void {
  const { name, rawName: flag, value } = token;
  const opt = options[name];
  if (!opt) {
    const guess = closestName(name, ALL_FLAGS, 2);
    throw new UsageError(
      `unknown option ${flag}${guess ? `; did you mean --${guess}?` : ''} (nunjucks-s3 --help lists the options)`,
    );
  }
  if (opt.type === 'string') {
    if (value === undefined) throw new UsageError(`option ${flag} needs a value: ${flag} <value>`);
    if (!token.inlineValue && value.startsWith('--')) {
      throw new UsageError(
        `option ${flag} needs a value, got the option ${value}; write ${flag}=<value> if the value starts with '--'`,
      );
    }
    takeValueOption(out, name, value);
    return;
  }
  if (value !== undefined) {
    throw new UsageError(`option ${flag} takes no value (got ${flag}=${value}); use ${flag} or --no-${name}`);
  }
  takeBooleanOption(out, cli, name);
}

/** Parse the command line. Throws UsageError for anything the user must fix. */
export function parseCliArgs(argv: readonly string[]): CliArgs {
  const options = optionTable();
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
  for (const token of tokens) {
    if (token.kind === 'option-terminator') continue;
    if (token.kind === 'positional') takePositional(out, token.value);
    else takeOption(out, cli, options, token);
  }

  out.dryRun = cli['dry-run'] ?? false;
  out.json = cli.json ?? false;
  out.quiet = cli.quiet ?? false;
  if (cli.version) out.command = 'version';
  else if (cli.help || out.command === 'help') out.command = 'help';
  return out;
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
