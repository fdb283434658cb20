import { format, inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  bucketNameProblem,
  parseSettingString,
  requireBucketName,
  resolveConfig,
  SETTINGS,
  setting,
} from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import { NunjucksS3 } from '../src/template/plugin.js';

function thrown(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError, none was thrown');
}

/** A valid value of each setting that differs from its default, to check both spellings. */
const SAMPLES: Record<string, unknown> = {
  bucketName: 'my-bucket',
  bucketDomain: 's3.eu-west-1.amazonaws.com',
  cdnDomain: 'cdn.example.com',
  urlStyle: 'path',
  prefix: 'Assets',
  region: 'eu-west-1',
  endpointUrl: 'http://127.0.0.1:9000',
  headers: { 'X-Test': 'yes' },
  filepathHeaders: { '\\.txt$': { 'Texted-Up-By': 'Mister Foo' } },
  cacheControl: 'max-age=60',
  gzipOnlyExts: ['.js'],
  accessKeyId: 'AKID',
  secretAccessKey: 'SECRET',
  sessionToken: 'TOKEN',
  objectAcl: 'private',
  filepathFilterRegex: '^css',
  concurrency: 4,
  multipartThreshold: 8 * 1024 * 1024,
  maxAttempts: 2,
  requestTimeout: 1000,
  fingerprint: 'query',
  manifestPath: 'manifest.json',
  maxDeletes: 10,
  keepDeploys: 1,
  cloudfrontDistributionId: 'E2EXAMPLE',
  cloudfrontEndpointUrl: 'http://127.0.0.1:9',
  cloudflareZoneId: '023e105f4ecef8ad9ca31a8372d0c353',
  cloudflareApiToken: 'cf-token',
  cloudflareApiUrl: 'http://127.0.0.1:9/client/v4',
  leaseWait: 30,
};

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

  it('resolves every non-boolean setting the same under either spelling', () => {
    for (const s of SETTINGS) {
      if (s.kind.type === 'boolean') continue;
      expect(SAMPLES, `a sample value for ${s.camel}`).toHaveProperty(s.camel);
      const viaFlask = resolveConfig({ [s.flask]: SAMPLES[s.camel] }) as unknown as Record<string, unknown>;
      const viaCamel = resolveConfig({ [s.camel]: SAMPLES[s.camel] }) as unknown as Record<string, unknown>;
      expect(viaFlask[s.camel], s.flask).toEqual(viaCamel[s.camel]);
      expect(viaFlask[s.camel], s.flask).not.toEqual(
        resolveConfig({})[s.camel as keyof ReturnType<typeof resolveConfig>],
      );
    }
  });

  it('has the documented defaults', () => {
    const c = resolveConfig({});
    expect(c).toMatchObject({
      bucketName: undefined,
      bucketDomain: 's3.amazonaws.com',
      cdnDomain: '',
      urlStyle: 'host',
      useHttps: true,
      prefix: '',
      active: true,
      debug: false,
      overrideTesting: true,
      headers: {},
      useCacheControl: false,
      onlyModified: false,
      gzip: false,
      gzipOnlyExts: [],
      forceMimetype: false,
    });
  });

  it.each([
    ['/a/b/', 'a/b'],
    ['Assets/V1', 'Assets/V1'],
    ['//x//', 'x'],
    ['/', ''],
  ])('normalises prefix %j to %j, keeping case', (prefix, expected) => {
    expect(resolveConfig({ FLASKS3_PREFIX: prefix }).prefix).toBe(expected);
  });

  it('normalises gzipOnlyExts: lower-case, with a dot', () => {
    expect(resolveConfig({ FLASKS3_GZIP_ONLY_EXTS: ['JS', '.Css', 'svg', ' .TXT '] }).gzipOnlyExts).toEqual([
      '.js',
      '.css',
      '.svg',
      '.txt',
    ]);
  });

  it("objectAcl 'none' and null mean: send no ACL", () => {
    expect(resolveConfig({ objectAcl: 'none' }).objectAcl).toBeUndefined();
    expect(resolveConfig({ objectAcl: null }).objectAcl).toBeUndefined();
  });

  it('ignores the host app’s own keys', () => {
    expect(() =>
      resolveConfig({ SECRET_KEY: 'x', DATABASE_URL: 'postgres://', port: 3000, SESSION_COOKIE_NAME: 's' }),
    ).not.toThrow();
  });
});

describe('typo guard', () => {
  it.each([
    ['FLASKS3_BUCKET_NAM', 'FLASKS3_BUCKET_NAME'],
    ['FLASKS3_CDN_DOMIAN', 'FLASKS3_CDN_DOMAIN'],
    ['FLASKS3_USE_HTTP', 'FLASKS3_USE_HTTPS'],
    ['FLASKS3_GZIP_ONLY_EXT', 'FLASKS3_GZIP_ONLY_EXTS'],
    ['FLASKS3_URLSTYLE', 'FLASKS3_URL_STYLE'],
    ['bucketname', 'bucketName'],
    ['cdnDomian', 'cdnDomain'],
    ['useHttp', 'useHttps'],
  ])('%s: names the closest valid key, %s', (key, closest) => {
    const error = thrown(() => resolveConfig({ [key]: 'x' }));
    expect(error.code).toBe('CONFIG_UNKNOWN');
    expect(error.message).toBe(`unknown setting ${key}; did you mean ${closest}?`);
    expect(error.setting).toBe(key);
  });

  it('an unknown FLASKS3_ key far from any setting is still an error', () => {
    expect(thrown(() => resolveConfig({ FLASKS3_TOTALLY_NEW: 1 })).message).toBe(
      'unknown setting FLASKS3_TOTALLY_NEW',
    );
  });
});

describe('conflicting spellings', () => {
  it('the same setting twice with different values names both keys and both spellings', () => {
    const error = thrown(() =>
      resolveConfig({ FLASKS3_BUCKET_NAME: 'one-bucket', bucketName: 'two-bucket' }),
    );
    expect(error.code).toBe('CONFIG_CONFLICT');
    expect(error.message).toBe(
      'bucketName / FLASKS3_BUCKET_NAME is set twice with different values (FLASKS3_BUCKET_NAME and bucketName); keep one',
    );
  });

  it.each<[Record<string, unknown>]>([
    [{ FLASKS3_BUCKET_NAME: 'same-bucket', bucketName: 'same-bucket' }],
    [{ FLASKS3_HEADERS: { A: '1' }, headers: { A: '1' } }],
    [{ FLASKS3_FILEPATH_FILTER_REGEX: /^css/, filepathFilterRegex: /^css/ }],
  ])('the same value twice is fine: %o', (raw) => {
    expect(() => resolveConfig(raw)).not.toThrow();
  });

  it('overrides (createAll options, CLI flags) win without counting as a conflict', () => {
    expect(resolveConfig({ bucketName: 'from-app' }, { FLASKS3_BUCKET_NAME: 'from-cli' }).bucketName).toBe(
      'from-cli',
    );
    expect(() => resolveConfig({}, { bucketName: 'one-bucket', FLASKS3_BUCKET_NAME: 'two-bucket' })).toThrow(
      /set twice/,
    );
  });
});

describe('wrong types and values', () => {
  it.each<[Record<string, unknown>, string, string]>([
    [
      { useHttps: 'yes' },
      'CONFIG_TYPE',
      'useHttps / FLASKS3_USE_HTTPS must be true or false, got the string "yes"',
    ],
    [{ FLASKS3_ACTIVE: 1 }, 'CONFIG_TYPE', 'active / FLASKS3_ACTIVE must be true or false, got number 1'],
    [{ prefix: 5 }, 'CONFIG_TYPE', 'prefix / FLASKS3_PREFIX must be a string, got number 5'],
    [
      { FLASKS3_BUCKET_NAME: '' },
      'CONFIG_TYPE',
      'bucketName / FLASKS3_BUCKET_NAME must be a non-empty string, got the string ""',
    ],
    [
      { concurrency: 0 },
      'CONFIG_TYPE',
      'concurrency / FLASKS3_CONCURRENCY must be between 1 and 256, got number 0',
    ],
    [
      { concurrency: 1.5 },
      'CONFIG_TYPE',
      'concurrency / FLASKS3_CONCURRENCY must be a whole number, got number 1.5',
    ],
    [
      { headers: [] },
      'CONFIG_TYPE',
      'headers / FLASKS3_HEADERS must be an object of header names to string values, got an array',
    ],
    [
      { headers: { 'Bad Header': 'x' } },
      'CONFIG_TYPE',
      'headers / FLASKS3_HEADERS: "Bad Header" is not a valid HTTP header name',
    ],
    [
      { gzipOnlyExts: 'js' },
      'CONFIG_TYPE',
      'gzipOnlyExts / FLASKS3_GZIP_ONLY_EXTS must be an array of strings, got the string "js"',
    ],
    [
      { objectAcl: 'public' },
      'CONFIG_TYPE',
      "objectAcl / FLASKS3_OBJECT_ACL must be one of 'public-read', 'private', 'authenticated-read', 'bucket-owner-read', 'bucket-owner-full-control', 'none', null, got the string \"public\"",
    ],
    [
      { bucketName: 'My_Bucket' },
      'CONFIG_BUCKET_NAME',
      'bucketName / FLASKS3_BUCKET_NAME: "My_Bucket" may contain only lower-case letters, digits, dots and hyphens, and must start and end with a letter or digit',
    ],
    [
      { endpointUrl: 'localhost:9000' },
      'CONFIG_ENDPOINT',
      'endpointUrl / FLASKS3_ENDPOINT_URL must be an http:// or https:// URL, got "localhost:9000"',
    ],
  ])('%o', (raw, code, message) => {
    const error = thrown(() => resolveConfig(raw));
    expect(error.code).toBe(code);
    expect(error.message).toBe(message);
  });

  it.each(['virtual', 'Host', 'bucket', ''])('an invalid URL style %j names both spellings', (style) => {
    const error = thrown(() => resolveConfig({ FLASKS3_URL_STYLE: style }));
    expect(error.setting).toBe('urlStyle / FLASKS3_URL_STYLE');
    expect(error.message).toContain("urlStyle / FLASKS3_URL_STYLE must be one of 'host', 'path'");
  });

  it('an invalid regex keeps the SyntaxError as cause', () => {
    const error = thrown(() => resolveConfig({ FLASKS3_FILEPATH_FILTER_REGEX: '(' }));
    expect(error.code).toBe('CONFIG_REGEX');
    expect(error.cause).toBeInstanceOf(SyntaxError);
    expect(thrown(() => resolveConfig({ filepathHeaders: { '[': {} } })).message).toMatch(
      /the key "\[" is not a valid regular expression/,
    );
  });

  it('app.config that is not an object', () => {
    expect(thrown(() => resolveConfig('bucket' as never)).message).toBe(
      'app.config must be an object of settings, got the string "bucket"',
    );
  });
});

describe('missing bucket name', () => {
  it('requireBucketName says how to set it, in both spellings', () => {
    const error = thrown(() => requireBucketName(resolveConfig({}), 'to upload'));
    expect(error.code).toBe('CONFIG_MISSING_BUCKET');
    expect(error.message).toBe(
      'bucketName / FLASKS3_BUCKET_NAME is required to upload; set it in app.config',
    );
    expect(requireBucketName(resolveConfig({ bucketName: 'b-1' }), 'x')).toBe('b-1');
  });

  it('is a ConfigError when the plugin is created active, and fine inactive', () => {
    expect(thrown(() => new NunjucksS3({ config: {} })).code).toBe('CONFIG_MISSING_BUCKET');
    expect(thrown(() => new NunjucksS3({ config: { FLASKS3_ACTIVE: true } })).setting).toBe(
      'bucketName / FLASKS3_BUCKET_NAME',
    );
    expect(() => new NunjucksS3({ staticFolder: null, config: { FLASKS3_ACTIVE: false } })).not.toThrow();
  });
});

describe('no shared mutable defaults', () => {
  it('two apps do not leak headers into each other', () => {
    const first = resolveConfig({ FLASKS3_HEADERS: { 'Cache-Control': 'max-age=60' } });
    const second = resolveConfig({});
    expect(second.headers).toEqual({});
    expect(first.headers).toEqual({ 'Cache-Control': 'max-age=60' });
    expect(() => {
      (second.headers as Record<string, string>)['X-Leak'] = '1';
    }).toThrow(TypeError);
    expect(resolveConfig({}).headers).toEqual({});
  });

  it('each resolution gets its own defaults, frozen', () => {
    const a = resolveConfig({});
    const b = resolveConfig({});
    expect(a.headers).not.toBe(b.headers);
    expect(a.gzipOnlyExts).not.toBe(b.gzipOnlyExts);
    for (const value of [a, a.headers, a.gzipOnlyExts, a.filepathHeaders])
      expect(Object.isFrozen(value)).toBe(true);
    expect(setting('headers').default).toEqual({});
    expect(setting('gzipOnlyExts').default).toEqual([]);
  });

  it("copies the user's objects: changing them later changes nothing", () => {
    const headers: Record<string, string> = { A: '1' };
    const exts = ['js'];
    const fh: Record<string, Record<string, string>> = { '\\.txt$': { B: '2' } };
    const c = resolveConfig({ headers, gzipOnlyExts: exts, filepathHeaders: fh });
    headers['A'] = 'changed';
    exts.push('css');
    fh['\\.txt$']!['B'] = 'changed';
    expect(c.headers).toEqual({ A: '1' });
    expect(c.gzipOnlyExts).toEqual(['.js']);
    expect(c.filepathHeaders[0]!.headers).toEqual({ B: '2' });
  });

  it('a RegExp filter loses g and y (which make .test() stateful)', () => {
    const re = /^css/gy;
    const c = resolveConfig({ filepathFilterRegex: re });
    expect(c.filepathFilterRegex?.flags).toBe('');
    expect([c.filepathFilterRegex!.test('css/a'), c.filepathFilterRegex!.test('css/a')]).toEqual([
      true,
      true,
    ]);
  });
});

describe('credentials', () => {
  const raw = {
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG',
    AWS_SESSION_TOKEN: 'TOKEN123',
  };

  it('are usable by the uploader', () => {
    const c = resolveConfig(raw);
    expect([c.accessKeyId, c.secretAccessKey, c.sessionToken]).toEqual([
      'AKIDEXAMPLE',
      'wJalrXUtnFEMI/K7MDENG',
      'TOKEN123',
    ]);
  });

  it('never appear in JSON.stringify, console.log formatting, inspect, spread or keys', () => {
    const c = resolveConfig(raw);
    const shown = [
      JSON.stringify(c),
      format('%s %o %O %j', c, c, c, c), // what console.log does with its arguments
      inspect(c, { depth: 5 }),
      JSON.stringify({ ...c }),
      Object.keys(c).join(','),
    ];
    for (const text of shown) {
      for (const secret of Object.values(raw)) expect(text).not.toContain(secret);
    }
  });

  it('are not echoed by type errors', () => {
    const error = thrown(() => resolveConfig({ AWS_SECRET_ACCESS_KEY: 123456789 }));
    expect(error.message).toBe('secretAccessKey / AWS_SECRET_ACCESS_KEY must be a string, got number');
    const spec = SETTINGS.find((s) => s.flask === 'AWS_SECRET_ACCESS_KEY')!;
    expect(spec.secret).toBe(true);
  });
});

describe('parseSettingString (environment and CLI strings)', () => {
  it.each<[string, string, unknown]>([
    ['FLASKS3_USE_HTTPS', 'false', false],
    ['FLASKS3_USE_HTTPS', 'YES', true],
    ['FLASKS3_CONCURRENCY', ' 8 ', 8],
    ['FLASKS3_GZIP_ONLY_EXTS', '.js, .css', ['.js', '.css']],
    ['FLASKS3_GZIP_ONLY_EXTS', '["js"]', ['js']],
    ['FLASKS3_HEADERS', '{"A":"1"}', { A: '1' }],
    ['FLASKS3_FINGERPRINT', 'off', false],
    ['FLASKS3_OBJECT_ACL', 'None', 'none'],
    ['FLASKS3_URL_STYLE', 'path', 'path'],
  ])('%s=%j gives %j', (name, raw, expected) => {
    const spec = SETTINGS.find((s) => s.flask === name)!;
    expect(parseSettingString(spec, raw)).toEqual(expected);
  });

  it('errors name the setting and never echo a secret', () => {
    const bool = SETTINGS.find((s) => s.flask === 'FLASKS3_GZIP')!;
    expect(() => parseSettingString(bool, 'maybe')).toThrow('gzip / FLASKS3_GZIP must be true or false');
  });
});

describe('endpoint URLs: http:// and https:// are accepted, anything else names the setting', () => {
  it.each<[string, string]>([
    ['endpointUrl', 'https://s3.eu-west-1.amazonaws.com'],
    ['endpointUrl', 'HTTPS://minio.example.com:9000/'],
    ['endpointUrl', 'http://127.0.0.1:9000'],
    ['cloudfrontEndpointUrl', 'https://cloudfront.amazonaws.com'],
    ['cloudflareApiUrl', 'https://api.example.com/client/v4'],
  ])('%s %s', (camel, url) => {
    // The endpoint is kept as given; the CDN API URLs lose a trailing slash (paths are appended).
    const kept = camel === 'endpointUrl' ? url : url.replace(/\/+$/, '');
    expect(resolveConfig({ [camel]: url })[camel as 'endpointUrl']).toBe(kept);
  });

  it.each<[string, string]>([
    ['endpointUrl', 'ftp://s3.example.com'],
    ['endpointUrl', 'https//s3.example.com'],
    ['endpointUrl', 's3.example.com'],
    ['cloudfrontEndpointUrl', 'file:///etc/passwd'],
    ['cloudfrontEndpointUrl', 'cloudfront.amazonaws.com'],
    ['cloudflareApiUrl', 'wss://api.example.com'],
    ['cloudflareApiUrl', '//api.example.com'],
    ['cloudflareApiUrl', 'xhttp://api.example.com'],
    ['endpointUrl', 'xhttps://s3.example.com'],
  ])('%s %j is refused', (camel, url) => {
    const label = `${camel} / ${setting(camel as 'endpointUrl').flask}`;
    const error = thrown(() => resolveConfig({ [camel]: url }));
    expect([error.code, error.setting, error.message]).toEqual([
      'CONFIG_ENDPOINT',
      label,
      `${label} must be an http:// or https:// URL, got ${JSON.stringify(url)}`,
    ]);
  });

  it('the CDN API URLs lose their trailing slashes (paths are appended to them)', () => {
    const c = resolveConfig({
      cloudfrontEndpointUrl: 'https://cf.example.com//',
      cloudflareApiUrl: 'http://127.0.0.1:9/client/v4/',
    });
    expect([c.cloudfrontEndpointUrl, c.cloudflareApiUrl]).toEqual([
      'https://cf.example.com',
      'http://127.0.0.1:9/client/v4',
    ]);
  });

  it('an endpoint URL means path-style requests unless forcePathStyle says otherwise', () => {
    expect(resolveConfig({}).forcePathStyle).toBe(false);
    expect(resolveConfig({ endpointUrl: 'https://s3.example.com' }).forcePathStyle).toBe(true);
    expect(
      resolveConfig({ endpointUrl: 'https://s3.example.com', forcePathStyle: false }).forcePathStyle,
    ).toBe(false);
    expect(resolveConfig({ forcePathStyle: true }).forcePathStyle).toBe(true);
  });
});

describe('values trimmed or emptied on the way in', () => {
  it('domains and the distribution id are trimmed; an empty region or zone counts as unset', () => {
    const c = resolveConfig({
      bucketDomain: ' s3.example.com ',
      cdnDomain: ' cdn.example.com ',
      cloudfrontDistributionId: ' E2EXAMPLE ',
      region: '',
      cloudflareZoneId: '',
    });
    expect([c.bucketDomain, c.cdnDomain, c.cloudfrontDistributionId, c.region, c.cloudflareZoneId]).toEqual([
      's3.example.com',
      'cdn.example.com',
      'E2EXAMPLE',
      undefined,
      undefined,
    ]);
    expect(resolveConfig({ cloudfrontDistributionId: '  ' }).cloudfrontDistributionId).toBeUndefined();
    expect(resolveConfig({ region: 'eu-west-1', cloudflareZoneId: 'z1' })).toMatchObject({
      region: 'eu-west-1',
      cloudflareZoneId: 'z1',
    });
  });

  it('every credential is readable but not enumerable, the Cloudflare token too', () => {
    const c = resolveConfig({ cloudflareApiToken: 'cf-secret', sessionToken: 'st' });
    expect([c.cloudflareApiToken, c.sessionToken]).toEqual(['cf-secret', 'st']);
    expect(Object.keys(c)).not.toContain('cloudflareApiToken');
    expect(JSON.stringify(c)).not.toContain('cf-secret');
  });
});

describe('a region: letters, digits and hyphens, refused before any request otherwise', () => {
  it.each<[string | undefined, string | undefined]>([
    ['eu-west-1', 'eu-west-1'],
    ['EU', 'EU'], // Flask-S3's legacy names
    ['USWest', 'USWest'],
    ['', undefined],
    [undefined, undefined],
  ])('%j is accepted as %j', (region, expected) => {
    expect(resolveConfig({ FLASKS3_REGION: region }).region).toBe(expected);
  });

  it.each(['eu west 1', ' eu-west-1', 'eu-west-1 ', 'https://s3.eu-west-1.amazonaws.com', 'eu_west_1'])(
    '%j is a CONFIG_TYPE error naming the setting',
    (region) => {
      const error = thrown(() => resolveConfig({ FLASKS3_REGION: region }));
      expect([error.code, error.setting, error.message]).toEqual([
        'CONFIG_TYPE',
        'region / FLASKS3_REGION',
        `region / FLASKS3_REGION: ${JSON.stringify(region)} is not a region name (letters, digits and hyphens, e.g. eu-west-1)`,
      ]);
    },
  );
});

describe('a prefix: no dot segments (browsers collapse them, so no URL would reach the keys)', () => {
  it.each([
    ['..', '..'],
    ['a/../b', 'a/../b'],
    ['./x', './x'],
    ['/a/./', 'a/.'],
    ['a\0b', 'a\0b'],
  ])('%j is a CONFIG_PATH error naming the setting and the prefix', (prefix, normalised) => {
    const error = thrown(() => resolveConfig({ FLASKS3_PREFIX: prefix }));
    expect([error.code, error.setting, error.message]).toEqual([
      'CONFIG_PATH',
      'prefix / FLASKS3_PREFIX',
      `prefix / FLASKS3_PREFIX must not contain '.' or '..' segments or NUL: ${JSON.stringify(normalised)}`,
    ]);
  });

  it.each(['a.b/c', 'a..b/.c/...', '.well-known'])(
    '%j is accepted: dots inside a name are kept',
    (prefix) => {
      expect(resolveConfig({ FLASKS3_PREFIX: prefix }).prefix).toBe(prefix);
    },
  );
});

describe('bucket names: S3 naming rules, each broken rule said', () => {
  it.each<[string, string | undefined]>([
    ['abc', undefined],
    ['a'.repeat(63), undefined],
    ['my.bucket-1', undefined],
    ['1.2.3', undefined],
    // Only a whole name in the form of an IP address is refused, not one that contains one.
    ['v1.2.3.4', undefined],
    ['1.2.3.4.example', undefined],
    ['ab', 'must be 3 to 63 characters long'],
    ['a'.repeat(64), 'must be 3 to 63 characters long'],
    [
      '-abc',
      'may contain only lower-case letters, digits, dots and hyphens, and must start and end with a letter or digit',
    ],
    [
      'abc.',
      'may contain only lower-case letters, digits, dots and hyphens, and must start and end with a letter or digit',
    ],
    [
      'aBc',
      'may contain only lower-case letters, digits, dots and hyphens, and must start and end with a letter or digit',
    ],
    ['a..b', 'must not contain two dots in a row'],
    ['192.168.1.10', 'must not look like an IP address'],
    ['10.0.100.1', 'must not look like an IP address'],
  ])('%j: %s', (name, problem) => {
    expect(bucketNameProblem(name)).toBe(problem);
    if (problem === undefined) {
      expect(resolveConfig({ bucketName: name }).bucketName).toBe(name);
      return;
    }
    const error = thrown(() => resolveConfig({ FLASKS3_BUCKET_NAME: name }));
    expect([error.code, error.setting, error.message]).toEqual([
      'CONFIG_BUCKET_NAME',
      'bucketName / FLASKS3_BUCKET_NAME',
      `bucketName / FLASKS3_BUCKET_NAME: ${JSON.stringify(name)} ${problem}`,
    ]);
  });
});

describe('the fields users branch on: code and setting of each configuration error', () => {
  it.each<[string, () => unknown, string, string]>([
    ['app.config not an object', () => resolveConfig([] as never), 'CONFIG_TYPE', 'config'],
    ['options not an object', () => resolveConfig({}, 'x' as never), 'CONFIG_TYPE', 'options'],
    [
      'a conflict',
      () => resolveConfig({ gzip: true, FLASKS3_GZIP: false }),
      'CONFIG_CONFLICT',
      'gzip / FLASKS3_GZIP',
    ],
    ['an unknown FLASKS3_ key', () => resolveConfig({ FLASKS3_NOPE: 1 }), 'CONFIG_UNKNOWN', 'FLASKS3_NOPE'],
    ['a near-miss camelCase key', () => resolveConfig({ bucketNme: 'b' }), 'CONFIG_UNKNOWN', 'bucketNme'],
    [
      'a bad filter regex',
      () => resolveConfig({ filepathFilterRegex: '[' }),
      'CONFIG_REGEX',
      'filepathFilterRegex / FLASKS3_FILEPATH_FILTER_REGEX',
    ],
    [
      'a bad path-headers regex',
      () => resolveConfig({ filepathHeaders: { '(': {} } }),
      'CONFIG_REGEX',
      'filepathHeaders / FLASKS3_FILEPATH_HEADERS',
    ],
    [
      'no bucket',
      () => requireBucketName(resolveConfig({}), 'to render'),
      'CONFIG_MISSING_BUCKET',
      'bucketName / FLASKS3_BUCKET_NAME',
    ],
  ])('%s', (_what, fn, code, settingName) => {
    const error = thrown(fn);
    expect([error.code, error.setting]).toEqual([code, settingName]);
  });

  it('a bad path-headers regex names the key and keeps the SyntaxError as cause', () => {
    const error = thrown(() => resolveConfig({ filepathHeaders: { '(': {} } }));
    expect(error.cause).toBeInstanceOf(SyntaxError);
    expect(error.message).toBe(
      `filepathHeaders / FLASKS3_FILEPATH_HEADERS: the key "(" is not a valid regular expression (${(error.cause as Error).message})`,
    );
    const filter = thrown(() => resolveConfig({ filepathFilterRegex: '[' }));
    expect(filter.message).toMatch(
      /^filepathFilterRegex \/ FLASKS3_FILEPATH_FILTER_REGEX: the pattern "\[" is not/,
    );
  });

  it('options that are not an object say so', () => {
    expect(thrown(() => resolveConfig({}, 'x' as never)).message).toBe('options must be an object');
  });

  it('options win over app.config, also when app.config gives the other spelling', () => {
    expect(resolveConfig({ FLASKS3_GZIP: false }, { gzip: true }).gzip).toBe(true);
    expect(resolveConfig({ gzip: true }, { FLASKS3_GZIP: undefined }).gzip).toBe(true);
  });

  it('camelCase keys far from any setting, or short, belong to the host app', () => {
    for (const key of ['gzipp2x', 'port', 'cdn', 'databaseUrl', 'sessionSecret'])
      expect(() => resolveConfig({ [key]: 'x' })).not.toThrow();
    // One edit from a short name, two from a long one.
    expect(thrown(() => resolveConfig({ gzipp: true })).message).toBe(
      'unknown setting gzipp; did you mean gzip?',
    );
    expect(thrown(() => resolveConfig({ prefx: 'a' })).message).toBe(
      'unknown setting prefx; did you mean prefix?',
    );
    expect(() => resolveConfig({ prfx: 'a' })).not.toThrow();
    // Keys under four characters are never guessed at; an eight-character name allows one edit only.
    expect(() => resolveConfig({ zip: 1 })).not.toThrow();
    expect(thrown(() => resolveConfig({ gzap: true })).message).toBe(
      'unknown setting gzap; did you mean gzip?',
    );
    expect(() => resolveConfig({ usHttp: true })).not.toThrow();
    expect(thrown(() => resolveConfig({ usHttps: true })).message).toBe(
      'unknown setting usHttps; did you mean useHttps?',
    );
    expect(thrown(() => resolveConfig({ cdnDomin: 'a' })).message).toBe(
      'unknown setting cdnDomin; did you mean cdnDomain?',
    );
    expect(thrown(() => resolveConfig({ BUCKETNAME: 'a' })).message).toBe(
      'unknown setting BUCKETNAME; did you mean bucketName?',
    );
    expect(thrown(() => resolveConfig({ endpointUl: 'a' })).message).toBe(
      'unknown setting endpointUl; did you mean endpointUrl?',
    );
  });
});
