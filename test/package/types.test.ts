// The package's declarations as a TypeScript user meets them: a fresh ESM project with the packed
// tarball and @types/node, but not @types/nunjucks, compiled by this repository's own `tsc` under
// `strict`, with `skipLibCheck` off (so every .d.ts the index reaches is checked too), once with
// `module`/`moduleResolution` node16 and once with bundler. Snippets that must compile, and snippets that
// must fail with a given error code.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  INSTALL_TIMEOUT,
  installProject,
  type PackedWork,
  packTarball,
  repo,
  run,
} from '../helpers/consumer.js';

const TSC = path.join(repo, 'node_modules', '.bin', 'tsc');

/** Files that must compile without an error. */
const COMPILES: Record<string, string> = {
  'both-spellings.ts': `
    import { createAll, NunjucksS3, type AppLike, type FlaskS3Settings, type NunjucksS3Settings } from 'nunjucks-s3';
    import nunjucksS3, { type EleventyPluginOptions } from 'nunjucks-s3/eleventy';

    const app: AppLike = {
      root: '/srv/site',
      config: { FLASKS3_BUCKET_NAME: 'assets', FLASKS3_GZIP: true, cdnDomain: 'cdn.example.com', FLASKS3_OBJECT_ACL: null },
    };
    const flask: FlaskS3Settings = { FLASKS3_CONCURRENCY: 8, AWS_ACCESS_KEY_ID: 'k', FLASKS3_FINGERPRINT: 'filename' };
    const both: NunjucksS3Settings = { ...flask, gzip: true, FLASKS3_HEADERS: { 'X-A': 'b' } };
    export const s3 = new NunjucksS3({ ...app, config: both });
    export const url: string = s3.urlFor('static', { filename: 'css/a.css' });
    export async function deploy(): Promise<number> {
      const report = await createAll(app, { FLASKS3_GZIP: true, onlyModified: true, dryRun: true });
      return report.uploaded.length;
    }
    export const eleventy: EleventyPluginOptions = { config: { FLASKS3_BUCKET_NAME: 'assets' } };
    export { nunjucksS3 };
  `,
  // A host's own settings may share the config object: only an object literal is held to the settings.
  'shared-config.ts': `
    import type { AppLike } from 'nunjucks-s3';
    const flaskConfig = { SECRET_KEY: 'x', FLASKS3_BUCKET_NAME: 'assets' };
    export const app: AppLike = { config: flaskConfig };
  `,
  // Any object with the Environment's methods (a real one, or a test double) is an env.
  'env.ts': `
    import type { AppLike, NunjucksEnvironment } from 'nunjucks-s3';
    const env: NunjucksEnvironment = {
      addGlobal: () => env,
      addExtension: () => env,
      hasExtension: () => false,
      removeExtension: () => undefined,
    };
    export const app: AppLike = { env };
  `,
};

/** Files that must fail, each with the error codes tsc reports for it. */
const FAILS: Record<string, { source: string; codes: string[] }> = {
  'typo-in-settings.ts': {
    source: `
        import type { NunjucksS3Settings } from 'nunjucks-s3';
        export const s: NunjucksS3Settings = { FLASKS3_GZIPP: true };
      `,
    codes: ['TS2561'],
  },
  'typo-in-app-config.ts': {
    source: `
        import type { AppLike } from 'nunjucks-s3';
        export const app: AppLike = { config: { FLASKS3_BUCKET_NAME: 'a', FLASKS3_GZIPP: true } };
      `,
    codes: ['TS2561'],
  },
  'typo-in-createall.ts': {
    source: `
        import { createAll } from 'nunjucks-s3';
        export const done = createAll({}, { FLASKS3_GZIPP: true });
      `,
    codes: ['TS2561'],
  },
  'wrong-type-flask-spelling.ts': {
    source: `
        import { createAll } from 'nunjucks-s3';
        export const done = createAll({}, { FLASKS3_GZIP: 'yes' });
      `,
    codes: ['TS2322'],
  },
  'wrong-type-camel-spelling.ts': {
    source: `
        import type { AppLike } from 'nunjucks-s3';
        export const app: AppLike = { config: { urlStyle: 'sideways' } };
      `,
    codes: ['TS2322'],
  },
};

const RESOLUTIONS = {
  node16: { module: 'node16', moduleResolution: 'node16' },
  bundler: { module: 'esnext', moduleResolution: 'bundler' },
} as const;

/** tsc's errors, by file name: `file.ts(2,9): error TS2561: ...` lines. */
function errorsByFile(output: string): Map<string, string[]> {
  const byFile = new Map<string, string[]>();
  for (const m of output.matchAll(/^([^\s(]+)\(\d+,\d+\): error (TS\d+):/gm)) {
    const file = path.basename(m[1] as string);
    byFile.set(file, [...(byFile.get(file) ?? []), m[2] as string]);
  }
  return byFile;
}

async function compile(project: string, resolution: keyof typeof RESOLUTIONS): Promise<string> {
  const tsconfig = `tsconfig.${resolution}.json`;
  const files = [...Object.keys(COMPILES), ...Object.keys(FAILS)];
  writeFileSync(
    path.join(project, tsconfig),
    JSON.stringify({
      compilerOptions: {
        ...RESOLUTIONS[resolution],
        target: 'es2022',
        lib: ['es2023'],
        types: ['node'],
        strict: true,
        skipLibCheck: false,
        noEmit: true,
      },
      files,
    }),
  );
  const result = await run(TSC, ['-p', tsconfig, '--pretty', 'false'], { cwd: project }).catch(
    (e: { stdout?: string; stderr?: string }) => e,
  );
  return `${result.stdout ?? ''}${result.stderr ?? ''}`;
}

describe('the packed declarations, in a strict project without @types/nunjucks', () => {
  let packed: PackedWork;
  let project: string;

  beforeAll(async () => {
    packed = await packTarball('types');
    project = await installProject(packed.work, 'consumer', [packed.tarball, '@types/node@20'], {
      private: true,
      type: 'module',
    });
    for (const [file, source] of Object.entries(COMPILES)) writeFileSync(path.join(project, file), source);
    for (const [file, { source }] of Object.entries(FAILS)) writeFileSync(path.join(project, file), source);
  }, INSTALL_TIMEOUT);

  afterAll(() => packed?.remove());

  it('installs no @types/nunjucks (so the test reproduces the report)', () => {
    const lock = JSON.parse(readFileSync(path.join(project, 'node_modules', '.package-lock.json'), 'utf8'));
    expect(Object.keys(lock.packages)).not.toContain('node_modules/@types/nunjucks');
    expect(Object.keys(lock.packages)).toContain('node_modules/nunjucks');
  });

  it.each(Object.keys(RESOLUTIONS) as (keyof typeof RESOLUTIONS)[])(
    'with %s resolution: the good snippets compile, each bad one fails with its code',
    async (resolution) => {
      const output = await compile(project, resolution);
      const errors = errorsByFile(output);
      for (const file of Object.keys(COMPILES))
        expect({ file, errors: errors.get(file) ?? [] }).toEqual({ file, errors: [] });
      for (const [file, { codes }] of Object.entries(FAILS)) {
        expect({ file, errors: errors.get(file) ?? [] }).toEqual({ file, errors: codes });
      }
      // Nothing else: no error inside the package's own declarations or its dependencies'.
      const expected = [...Object.keys(COMPILES), ...Object.keys(FAILS)];
      expect([...errors.keys()].filter((f) => !expected.includes(f))).toEqual([]);
      expect(output).not.toMatch(/TS7016|TS2307/);
    },
    120_000,
  );
});
