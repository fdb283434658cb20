// Environments: selectTarget (table-driven), then the CLI choosing a target with --target or
// NUNJUCKS_S3_TARGET against the real S3 server, and the CLI's exit code when the CDN is not invalidated.
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectTarget } from '../src/cli/targets.js';
import { ConfigError } from '../src/errors.js';
import { type CloudFrontStandIn, startCloudFrontStandIn } from './helpers/cloudfront-standin.js';
import { freshBucket, s3Backend, testClient } from './helpers/s3.js';
import { removeTemps, runCli, s3Env, tempDir, writeFiles } from './helpers/upload-check.js';

const FILE = '/site/nunjucks-s3.config.json';
const base = {
  staticFolder: 'static',
  config: { FLASKS3_BUCKET_NAME: 'base-bucket', FLASKS3_GZIP: true, prefix: 'p' },
  targets: {
    staging: { bucketName: 'staging-bucket' },
    production: { FLASKS3_BUCKET_NAME: 'prod-bucket', FLASKS3_PREFIX: 'live', cdnDomain: 'cdn.example.com' },
  },
};

describe('selectTarget', () => {
  it.each([
    [undefined, { FLASKS3_BUCKET_NAME: 'base-bucket', FLASKS3_GZIP: true, prefix: 'p' }],
    ['staging', { FLASKS3_GZIP: true, prefix: 'p', bucketName: 'staging-bucket' }],
    [
      'production',
      {
        FLASKS3_GZIP: true,
        FLASKS3_BUCKET_NAME: 'prod-bucket',
        FLASKS3_PREFIX: 'live',
        cdnDomain: 'cdn.example.com',
      },
    ],
  ])('target %j merges its settings over the base, replacing both spellings', (name, config) => {
    const { app, target } = selectTarget(base, name, FILE);
    expect(target).toBe(name);
    expect(app.config).toEqual(config);
    expect(app).not.toHaveProperty('targets');
    expect(app.staticFolder).toBe('static');
  });

  it.each<[unknown, string, RegExp]>([
    [base, 'prod', /unknown target "prod": .* has no target "prod"; its targets are staging, production/],
    [{ config: {} }, 'staging', /defines no targets; add targets: \{ "staging"/],
    [{ targets: [] }, 'x', /targets must be an object/],
    [{ targets: { a: 'x' } }, 'a', /target "a" must be an object of settings/],
    [
      { targets: { a: { bucketNme: 'x' } } },
      'a',
      /target "a": unknown setting bucketNme; did you mean bucketName\?/,
    ],
  ])('%j with %j is a clear error', (app, name, message) => {
    const run = () => selectTarget(app as never, name, FILE);
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(message);
  });
});

describe('nunjucks-s3 --target', () => {
  const client = testClient();
  let cloudfront: CloudFrontStandIn;
  beforeAll(async () => {
    const s3 = s3Backend();
    cloudfront = await startCloudFrontStandIn({
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      distributions: ['EGOOD'],
    });
  });
  afterAll(async () => {
    client.destroy();
    await cloudfront.close();
    removeTemps();
  });

  async function site() {
    const root = tempDir('targets');
    const [staging, production] = [await freshBucket('stg'), await freshBucket('prd')];
    const s3 = s3Backend();
    writeFiles(root, {
      'static/a.css': 'a{}',
      'nunjucks-s3.config.json': JSON.stringify({
        config: {
          FLASKS3_ENDPOINT_URL: s3.endpoint,
          FLASKS3_PUT_BUCKET_ACL: false,
          FLASKS3_ONLY_MODIFIED: true,
        },
        targets: {
          staging: { FLASKS3_BUCKET_NAME: staging },
          production: {
            FLASKS3_BUCKET_NAME: production,
            FLASKS3_CLOUDFRONT_DISTRIBUTION_ID: 'ENOSUCH',
            FLASKS3_CLOUDFRONT_ENDPOINT_URL: cloudfront.endpoint,
          },
        },
      }),
    });
    return { root, staging, production };
  }
  const keys = async (bucket: string) =>
    ((await client.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key);

  it('uploads to the chosen target, says which, and refuses an unknown one naming the known ones', async () => {
    const { root, staging, production } = await site();
    const dry = await runCli(['upload', '--dry-run', '--target', 'staging'], { cwd: root, env: s3Env() });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(', target staging\n');
    expect(dry.stdout).toContain(`bucketName = "${staging}"`);

    const run = await runCli(['upload'], { cwd: root, env: { ...s3Env(), NUNJUCKS_S3_TARGET: 'staging' } });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('target: staging\n');
    expect(await keys(staging)).toContain('static/a.css');
    expect(await keys(production)).toEqual([]);

    const bad = await runCli(['upload', '--target', 'prod'], { cwd: root, env: s3Env() });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('has no target "prod"; its targets are staging, production');
  });

  it('exits 3 when the files are uploaded but the CDN is not invalidated', async () => {
    const { root, production } = await site();
    expect((await runCli(['upload', '--target', 'production'], { cwd: root, env: s3Env() })).code).toBe(3);
    writeFiles(root, { 'static/a.css': 'b{}' });
    const dry = await runCli(['upload', '--dry-run', '--target', 'production'], { cwd: root, env: s3Env() });
    expect(dry.code).toBe(0);
    expect(dry.stderr).toContain('CloudFront ENOSUCH: would invalidate 1 paths:\n  /static/a.css');
    const run = await runCli(['upload', '--target', 'production', '--json'], { cwd: root, env: s3Env() });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(
      /warning: CloudFront invalidation of distribution ENOSUCH failed .*NoSuchDistribution/,
    );
    const report = JSON.parse(run.stdout) as { target: string; invalidation: { failed: boolean } };
    expect(report).toMatchObject({ target: 'production', invalidation: { failed: true } });
    const served = await fetch(`${s3Backend().endpoint}/${production}/static/a.css`);
    expect(await served.text()).toBe('b{}');
  });
});
