// The settings table (settings.ts), one value checked against its kind (setting-checks.ts) and settings
// given as strings (setting-strings.ts, and the environment layer of the CLI): the limits, conversions
// and messages a user sees, each error's code and the setting it names in both spellings.
import { describe, expect, it } from 'vitest';
import { settingsFromEnv } from '../src/cli/layers.js';
import { findSetting, parseSettingString, resolveConfig, setting, settingLabel } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import type { NunjucksS3Config } from '../src/settings.js';

function thrown(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError, none was thrown');
}

const MiB = 1024 * 1024;

/** Every numeric setting's documented range, written out here so a change to the table shows. */
const RANGES: readonly { camel: keyof NunjucksS3Config; flask: string; min: number; max: number }[] = [
  { camel: 'concurrency', flask: 'FLASKS3_CONCURRENCY', min: 1, max: 256 },
  { camel: 'multipartThreshold', flask: 'FLASKS3_MULTIPART_THRESHOLD', min: 5 * MiB, max: 5 * 1024 * MiB },
  { camel: 'maxAttempts', flask: 'FLASKS3_MAX_ATTEMPTS', min: 1, max: 20 },
  { camel: 'requestTimeout', flask: 'FLASKS3_REQUEST_TIMEOUT', min: 100, max: 3_600_000 },
  { camel: 'maxDeletes', flask: 'FLASKS3_MAX_DELETES', min: 0, max: 1e9 },
  { camel: 'keepDeploys', flask: 'FLASKS3_KEEP_DEPLOYS', min: 0, max: 1000 },
];

describe('numeric settings: their bounds', () => {
  for (const { camel, flask, min, max } of RANGES) {
    const label = `${camel} / ${flask}`;
    it(`${camel} accepts ${min} and ${max}, and refuses one past either end`, () => {
      expect(resolveConfig({ [flask]: min })[camel as 'concurrency']).toBe(min);
      expect(resolveConfig({ [camel]: max })[camel as 'concurrency']).toBe(max);
      for (const outside of [min - 1, max + 1]) {
        const err = thrown(() => resolveConfig({ [camel]: outside }));
        expect(err.code).toBe('CONFIG_TYPE');
        expect(err.setting).toBe(label);
        expect(err.message).toBe(`${label} must be between ${min} and ${max}, got number ${outside}`);
      }
    });
    it(`${camel} must be a whole number, and a number`, () => {
      const half = thrown(() => resolveConfig({ [camel]: min + 0.5 }));
      expect([half.code, half.setting, half.message]).toEqual([
        'CONFIG_TYPE',
        label,
        `${label} must be a whole number, got number ${min + 0.5}`,
      ]);
      const nan = thrown(() => resolveConfig({ [camel]: Number.NaN }));
      expect(nan.message).toBe(`${label} must be a number, got number NaN`);
      const text = thrown(() => resolveConfig({ [camel]: String(min) }));
      expect(text.message).toBe(`${label} must be a number, got the string "${min}"`);
    });
  }
});

describe('a value of the wrong kind: the message says what was expected and what was given', () => {
  const cases: readonly [string, Record<string, unknown>, string][] = [
    [
      'a number for a string',
      { cdnDomain: 5 },
      'cdnDomain / FLASKS3_CDN_DOMAIN must be a string, got number 5',
    ],
    [
      'blank for a non-empty string',
      { FLASKS3_BUCKET_DOMAIN: '  ' },
      'bucketDomain / FLASKS3_BUCKET_DOMAIN must be a non-empty string, got the string "  "',
    ],
    [
      'a string for a boolean',
      { gzip: 'true' },
      'gzip / FLASKS3_GZIP must be true or false, got the string "true"',
    ],
    ['null', { useHttps: null }, 'useHttps / FLASKS3_USE_HTTPS must be true or false, got null'],
    ['an array', { prefix: ['a'] }, 'prefix / FLASKS3_PREFIX must be a string, got an array'],
    ['a RegExp', { region: /x/ }, 'region / FLASKS3_REGION must be a string, got a RegExp'],
    ['an object', { manifestPath: {} }, 'manifestPath / FLASKS3_MANIFEST must be a string, got an object'],
    [
      'a long string, cut at 57 characters',
      { debug: 'x'.repeat(61) },
      `debug / FLASKS3_DEBUG must be true or false, got the string "${'x'.repeat(57)}..."`,
    ],
    [
      'a 60-character string, shown whole',
      { debug: 'y'.repeat(60) },
      `debug / FLASKS3_DEBUG must be true or false, got the string "${'y'.repeat(60)}"`,
    ],
    [
      'an unknown URL style',
      { urlStyle: 'virtual' },
      `urlStyle / FLASKS3_URL_STYLE must be one of 'host', 'path', got the string "virtual"`,
    ],
    [
      'true for fingerprint',
      { fingerprint: true },
      `fingerprint / FLASKS3_FINGERPRINT must be one of 'filename', 'query', false, got boolean true`,
    ],
    [
      'an unknown ACL',
      { objectAcl: 'public' },
      `objectAcl / FLASKS3_OBJECT_ACL must be one of 'public-read', 'private', 'authenticated-read', 'bucket-owner-read', 'bucket-owner-full-control', 'none', null, got the string "public"`,
    ],
    [
      'a string for a list',
      { gzipOnlyExts: '.css' },
      'gzipOnlyExts / FLASKS3_GZIP_ONLY_EXTS must be an array of strings, got the string ".css"',
    ],
    [
      'a list holding a number',
      { gzipOnlyExts: ['.css', 3] },
      'gzipOnlyExts / FLASKS3_GZIP_ONLY_EXTS must be an array of strings, got an array',
    ],
    [
      'a list for headers',
      { headers: [] },
      'headers / FLASKS3_HEADERS must be an object of header names to string values, got an array',
    ],
    [
      'a header name with a space',
      { headers: { 'Cache Control': 'x' } },
      'headers / FLASKS3_HEADERS: "Cache Control" is not a valid HTTP header name',
    ],
    [
      'an object as a header value',
      { headers: { 'X-A': { b: 1 } } },
      'headers / FLASKS3_HEADERS must be string header values (header "X-A"), got an object',
    ],
    [
      'null for headers',
      { headers: null },
      'headers / FLASKS3_HEADERS must be an object of header names to string values, got null',
    ],
    [
      'a RegExp for headers',
      { headers: /x/ },
      'headers / FLASKS3_HEADERS must be an object of header names to string values, got a RegExp',
    ],
    [
      'a string for path headers',
      { filepathHeaders: 'x' },
      'filepathHeaders / FLASKS3_FILEPATH_HEADERS must be an object of path regexes to header objects, got the string "x"',
    ],
    [
      'a bad header name under a path rule',
      { filepathHeaders: { '\\.txt$': { 'a b': 'c' } } },
      'filepathHeaders / FLASKS3_FILEPATH_HEADERS: "a b" (under "\\\\.txt$") is not a valid HTTP header name',
    ],
    [
      'a list under a path rule',
      { filepathHeaders: { css: ['x'] } },
      'filepathHeaders / FLASKS3_FILEPATH_HEADERS must be an object of header names to string values (under "css"), got an array',
    ],
    [
      'a number for the file filter',
      { filepathFilterRegex: 3 },
      'filepathFilterRegex / FLASKS3_FILEPATH_FILTER_REGEX must be a regular expression (string or RegExp), got number 3',
    ],
  ];
  for (const [what, raw, message] of cases) {
    it(what, () => {
      const err = thrown(() => resolveConfig(raw));
      expect(err.code).toBe('CONFIG_TYPE');
      expect(err.message).toBe(message);
      expect(err.setting).toBe(message.split(/ must | ?: /)[0]);
    });
  }

  it('a secret of the wrong type is named by its type only, never its value', () => {
    for (const camel of ['accessKeyId', 'secretAccessKey', 'sessionToken', 'cloudflareApiToken'] as const) {
      const err = thrown(() => resolveConfig({ [camel]: 123456789 }));
      const label = settingLabel(setting(camel));
      expect([err.code, err.setting, err.message]).toEqual([
        'CONFIG_TYPE',
        label,
        `${label} must be a string, got number`,
      ]);
    }
  });
});

describe('values kept as given', () => {
  it('header values may be numbers and are sent as text; header names keep their case', () => {
    const config = resolveConfig({
      headers: { 'X-Max': 5 },
      filepathHeaders: { '\\.txt$': { 'X-Count': 2 } },
    });
    expect(config.headers).toEqual({ 'X-Max': '5' });
    expect(config.filepathHeaders[0]!.headers).toEqual({ 'X-Count': '2' });
  });

  it('a RegExp filter loses g and y (a stateful test would skip every other file) and keeps i, m, s', () => {
    const re = resolveConfig({ filepathFilterRegex: /^CSS/gimsy }).filepathFilterRegex!;
    expect(re.source).toBe('^CSS');
    expect(re.flags).toBe('ims');
    expect([re.test('css/a.css'), re.test('css/b.css')]).toEqual([true, true]);
  });

  it('gzipOnlyExts is copied: changing the array given afterwards changes nothing', () => {
    const exts = ['.css'];
    const config = resolveConfig({ gzipOnlyExts: exts });
    exts.push('.js');
    expect(config.gzipOnlyExts).toEqual(['.css']);
  });

  it('both spellings may be given when they agree, RegExps by source and flags', () => {
    expect(
      resolveConfig({ filepathFilterRegex: /^a/i, FLASKS3_FILEPATH_FILTER_REGEX: /^a/i }).filepathFilterRegex,
    ).toEqual(/^a/i);
    expect(resolveConfig({ gzipOnlyExts: ['.js'], FLASKS3_GZIP_ONLY_EXTS: ['.js'] }).gzipOnlyExts).toEqual([
      '.js',
    ]);
    for (const other of [/^a/, /^b/i]) {
      const err = thrown(() =>
        resolveConfig({ filepathFilterRegex: /^a/i, FLASKS3_FILEPATH_FILTER_REGEX: other }),
      );
      expect([err.code, err.setting]).toEqual([
        'CONFIG_CONFLICT',
        'filepathFilterRegex / FLASKS3_FILEPATH_FILTER_REGEX',
      ]);
    }
  });
});

describe('the settings table', () => {
  it('finds a setting by either spelling, and nothing by another', () => {
    expect(findSetting('FLASKS3_GZIP')).toBe(setting('gzip'));
    expect(findSetting('gzip')).toBe(setting('gzip'));
    expect(findSetting('GZIP')).toBeUndefined();
    expect(findSetting('toString')).toBeUndefined();
    expect(settingLabel(setting('bucketName'))).toBe('bucketName / FLASKS3_BUCKET_NAME');
  });

  it('a name not in the table is a programming error, not a ConfigError', () => {
    expect(() => setting('nope' as keyof NunjucksS3Config)).toThrow(new Error('unknown setting nope'));
  });

  it('the documented defaults', () => {
    const c = resolveConfig({});
    expect({
      bucketDomain: c.bucketDomain,
      cdnDomain: c.cdnDomain,
      urlStyle: c.urlStyle,
      useHttps: c.useHttps,
      prefix: c.prefix,
      active: c.active,
      debug: c.debug,
      overrideTesting: c.overrideTesting,
      inlineUrls: c.inlineUrls,
      headers: c.headers,
      filepathHeaders: c.filepathHeaders,
      useCacheControl: c.useCacheControl,
      onlyModified: c.onlyModified,
      hashCache: c.hashCache,
      gzip: c.gzip,
      gzipOnlyExts: c.gzipOnlyExts,
      forceMimetype: c.forceMimetype,
      objectAcl: c.objectAcl,
      putBucketAcl: c.putBucketAcl,
      includeHidden: c.includeHidden,
      concurrency: c.concurrency,
      multipartThreshold: c.multipartThreshold,
      maxAttempts: c.maxAttempts,
      requestTimeout: c.requestTimeout,
      fingerprint: c.fingerprint,
      fingerprintStrict: c.fingerprintStrict,
      manifestPath: c.manifestPath,
      deleteStale: c.deleteStale,
      maxDeletes: c.maxDeletes,
      keepDeploys: c.keepDeploys,
      cdnWait: c.cdnWait,
      cloudflareApiUrl: c.cloudflareApiUrl,
    }).toEqual({
      bucketDomain: 's3.amazonaws.com',
      cdnDomain: '',
      urlStyle: 'host',
      useHttps: true,
      prefix: '',
      active: true,
      debug: false,
      overrideTesting: true,
      inlineUrls: true,
      headers: {},
      filepathHeaders: [],
      useCacheControl: false,
      onlyModified: false,
      hashCache: true,
      gzip: false,
      gzipOnlyExts: [],
      forceMimetype: false,
      objectAcl: 'public-read',
      putBucketAcl: true,
      includeHidden: false,
      concurrency: 32,
      multipartThreshold: 16 * MiB,
      maxAttempts: 5,
      requestTimeout: 60_000,
      fingerprint: false,
      fingerprintStrict: false,
      manifestPath: 'nunjucks-s3-manifest.json',
      deleteStale: false,
      maxDeletes: 500,
      keepDeploys: 3,
      cdnWait: false,
      cloudflareApiUrl: 'https://api.cloudflare.com/client/v4',
    });
    for (const unset of [
      c.bucketName,
      c.region,
      c.endpointUrl,
      c.cacheControl,
      c.accessKeyId,
      c.secretAccessKey,
      c.sessionToken,
      c.filepathFilterRegex,
      c.cloudfrontDistributionId,
      c.cloudfrontEndpointUrl,
      c.cloudflareZoneId,
      c.cloudflareApiToken,
    ])
      expect(unset).toBeUndefined();
  });
});

describe('settings given as strings (flags, --set, environment variables)', () => {
  const cases: readonly [keyof NunjucksS3Config, string, unknown][] = [
    ['gzip', '1', true],
    ['gzip', ' TRUE ', true],
    ['gzip', 'yes', true],
    ['gzip', 'On', true],
    ['gzip', '0', false],
    ['gzip', 'false', false],
    ['gzip', 'NO', false],
    ['gzip', 'off', false],
    ['gzip', '', false],
    ['concurrency', '12', 12],
    ['concurrency', ' 7 ', 7],
    ['maxDeletes', '0', 0],
    ['fingerprint', 'filename', 'filename'],
    ['fingerprint', ' query ', 'query'],
    ['fingerprint', 'false', false],
    ['fingerprint', '0', false],
    ['fingerprint', 'OFF', false],
    ['fingerprint', 'no', false],
    ['fingerprint', '', false],
    ['objectAcl', 'none', 'none'],
    ['objectAcl', 'None', 'none'],
    ['objectAcl', 'private', 'private'],
    // urlStyle has no `false`: the text stays text, for resolveConfig to refuse with the allowed values.
    ['urlStyle', 'false', 'false'],
    ['urlStyle', 'none', 'none'],
    ['gzipOnlyExts', '.css, .js,,  .svg ', ['.css', '.js', '.svg']],
    ['gzipOnlyExts', '   ', []],
    ['gzipOnlyExts', ' [".css", ".js"] ', ['.css', '.js']],
    ['headers', '{"Cache-Control":"no-cache"}', { 'Cache-Control': 'no-cache' }],
    ['filepathHeaders', '{"css$":{"X-A":"b"}}', { css$: { 'X-A': 'b' } }],
    ['prefix', ' /x/ ', ' /x/ '],
    ['filepathFilterRegex', '^css', '^css'],
  ];
  for (const [camel, raw, value] of cases) {
    it(`${camel} from ${JSON.stringify(raw)}`, () => {
      expect(parseSettingString(setting(camel), raw)).toEqual(value);
    });
  }

  const refused: readonly [keyof NunjucksS3Config, string, string][] = [
    ['gzip', 'maybe', 'true or false (1/0, yes/no, on/off)'],
    ['concurrency', 'four', 'a number'],
    // An empty or blank number is an error, not 0 (Number('') is 0: maxDeletes would become "delete nothing").
    ['maxDeletes', '', 'a number'],
    ['maxDeletes', '   ', 'a number'],
    ['gzipOnlyExts', '[".css"', 'a JSON array or a comma-separated list'],
    ['headers', 'Cache-Control: no-cache', 'a JSON object'],
    ['filepathHeaders', '', 'a JSON object'],
  ];
  for (const [camel, raw, expected] of refused) {
    it(`${camel} refuses ${JSON.stringify(raw)}`, () => {
      const label = settingLabel(setting(camel));
      const err = thrown(() => parseSettingString(setting(camel), raw));
      expect([err.code, err.setting, err.message]).toEqual([
        'CONFIG_TYPE',
        label,
        `${label} must be ${expected}, got ${JSON.stringify(raw)}`,
      ]);
    });
  }
});

describe('the environment layer: empty variables count as unset', () => {
  it('an empty numeric variable leaves the setting at its default, not 0', () => {
    const env = settingsFromEnv({
      FLASKS3_MAX_DELETES: '',
      FLASKS3_CONCURRENCY: '',
      FLASKS3_KEEP_DEPLOYS: '',
    });
    expect(env.settings).toEqual({});
    const config = resolveConfig({}, env.settings);
    expect([config.maxDeletes, config.concurrency, config.keepDeploys]).toEqual([500, 32, 3]);
  });

  it('a blank numeric variable is an error naming the variable', () => {
    const err = thrown(() => settingsFromEnv({ FLASKS3_MAX_DELETES: '  ' }));
    expect([err.code, err.setting, err.message]).toEqual([
      'CONFIG_TYPE',
      'maxDeletes / FLASKS3_MAX_DELETES',
      'environment variable FLASKS3_MAX_DELETES: maxDeletes / FLASKS3_MAX_DELETES must be a number, got "  "',
    ]);
  });

  it('a variable past a bound is an error naming the variable and the bounds', () => {
    const err = thrown(() => settingsFromEnv({ FLASKS3_CONCURRENCY: '257' }));
    expect([err.code, err.setting, err.message]).toEqual([
      'CONFIG_TYPE',
      'concurrency / FLASKS3_CONCURRENCY',
      'environment variable FLASKS3_CONCURRENCY: concurrency / FLASKS3_CONCURRENCY must be between 1 and 256, got number 257',
    ]);
  });

  it('a set variable is converted and says where it came from', () => {
    const env = settingsFromEnv({ FLASKS3_MAX_DELETES: '0', FLASKS3_GZIP: 'on' });
    expect(env.settings).toEqual({ maxDeletes: 0, gzip: true });
    expect(env.sources).toEqual({ maxDeletes: 'FLASKS3_MAX_DELETES', gzip: 'FLASKS3_GZIP' });
  });
});
