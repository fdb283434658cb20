import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config.js';
import { createS3Client } from '../src/s3/client.js';
import { describeError, isTransient } from '../src/s3/errors.js';
import { redact, scrubError } from '../src/s3/redact.js';
import { clientRegion, normaliseRegion } from '../src/s3/region.js';
import { retryDelay, uploaderRetryStrategy } from '../src/s3/retry.js';

/** An error shaped like the SDK's: name/Code and $metadata.httpStatusCode. */
function sdkError(name: string, status?: number, message = name): Error {
  return Object.assign(new Error(message), { name, Code: name, $metadata: { httpStatusCode: status } });
}
function nodeError(code: string): Error {
  return Object.assign(new Error(`socket ${code}`), { code });
}

describe('normaliseRegion / clientRegion', () => {
  it.each([
    [undefined, undefined],
    ['', 'us-east-1'],
    ['DEFAULT', 'us-east-1'],
    ['EU', 'eu-west-1'],
    ['USWest', 'us-west-1'],
    ['APSoutheast', 'ap-southeast-1'],
    ['eu-central-1', 'eu-central-1'],
  ])('%j is %j', (given, region) => {
    expect(normaliseRegion(given)).toBe(region);
  });

  it('defaults to us-east-1 with an endpoint and no region anywhere', () => {
    const saved = { r: process.env.AWS_REGION, d: process.env.AWS_DEFAULT_REGION };
    delete process.env.AWS_REGION;
    delete process.env.AWS_DEFAULT_REGION;
    try {
      expect(clientRegion({ region: undefined, endpointUrl: 'http://127.0.0.1:9000' })).toBe('us-east-1');
      expect(clientRegion({ region: undefined, endpointUrl: undefined })).toBeUndefined();
      expect(clientRegion({ region: 'EU', endpointUrl: undefined })).toBe('eu-west-1');
    } finally {
      if (saved.r !== undefined) process.env.AWS_REGION = saved.r;
      if (saved.d !== undefined) process.env.AWS_DEFAULT_REGION = saved.d;
    }
  });
});

describe('a client built with no region anywhere', () => {
  /** Run `fn` with no region in the environment and the shared config file `configText` (none: absent). */
  async function withProfile(configText: string | undefined, fn: () => Promise<void>): Promise<void> {
    const names = ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_CONFIG_FILE', 'AWS_PROFILE'] as const;
    const saved = Object.fromEntries(names.map((n) => [n, process.env[n]]));
    const dir = mkdtempSync(path.join(tmpdir(), 'ns3-profile-'));
    for (const n of names) delete process.env[n];
    process.env.AWS_CONFIG_FILE = path.join(dir, 'config');
    if (configText !== undefined) writeFileSync(process.env.AWS_CONFIG_FILE, configText);
    try {
      await fn();
    } finally {
      for (const n of names) {
        if (saved[n] === undefined) delete process.env[n];
        else process.env[n] = saved[n];
      }
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('falls back to us-east-1, as the settings table says (not "Region is missing")', async () => {
    await withProfile(undefined, async () => {
      const client = createS3Client(resolveConfig({ FLASKS3_BUCKET_NAME: 'my-site-assets' }));
      expect(await client.config.region()).toBe('us-east-1');
      client.destroy();
    });
  });

  it("takes the shared config file's profile region first", async () => {
    await withProfile('[default]\nregion = eu-central-1\n', async () => {
      const client = createS3Client(resolveConfig({ FLASKS3_BUCKET_NAME: 'my-site-assets' }));
      expect(await client.config.region()).toBe('eu-central-1');
      client.destroy();
    });
  });
});

describe('isTransient', () => {
  it.each([
    [sdkError('SlowDown', 503), true],
    [sdkError('TooManyRequests', 429), true],
    [sdkError('InternalError', 500), true],
    [sdkError('ServiceUnavailable', 503), true],
    [sdkError('RequestTimeout', 400), true],
    [sdkError('TimeoutError'), true],
    [nodeError('ECONNRESET'), true],
    [nodeError('EPIPE'), true],
    [nodeError('ECONNREFUSED'), true],
    [sdkError('NotImplemented', 501), false],
    [sdkError('AccessDenied', 403), false],
    [sdkError('NoSuchBucket', 404), false],
    [sdkError('AccessControlListNotSupported', 400), false],
    [sdkError('AbortError'), false],
    [nodeError('ENOENT'), false],
  ])('%s: %s', (err, transient) => {
    expect(isTransient(err)).toBe(transient);
  });
});

describe('retryDelay', () => {
  it('grows exponentially, with full jitter, and longer when throttled', () => {
    const max = () => 0.999999;
    expect(retryDelay(1, sdkError('InternalError', 500), max)).toBe(100);
    expect(retryDelay(3, sdkError('InternalError', 500), max)).toBe(400);
    expect(retryDelay(10, sdkError('InternalError', 500), max)).toBe(5000);
    expect(retryDelay(1, sdkError('SlowDown', 503), max)).toBe(500);
    expect(retryDelay(10, sdkError('SlowDown', 503), max)).toBe(20000);
    expect(retryDelay(3, sdkError('InternalError', 500), () => 0)).toBe(0);
  });

  it('the SDK strategy stops at maxAttempts and never retries a permanent error', async () => {
    const strategy = uploaderRetryStrategy(3);
    let token = await strategy.acquireInitialRetryToken('');
    const transient = sdkError('InternalError', 500);
    token = await strategy.refreshRetryTokenForRetry(token, {
      errorType: 'SERVER_ERROR',
      error: transient as never,
    });
    token = await strategy.refreshRetryTokenForRetry(token, {
      errorType: 'SERVER_ERROR',
      error: transient as never,
    });
    expect(token.getRetryCount()).toBe(2);
    await expect(
      strategy.refreshRetryTokenForRetry(token, { errorType: 'SERVER_ERROR', error: transient as never }),
    ).rejects.toBe(transient);
    const denied = sdkError('AccessDenied', 403);
    await expect(
      strategy.refreshRetryTokenForRetry(await strategy.acquireInitialRetryToken(''), {
        errorType: 'CLIENT_ERROR',
        error: denied as never,
      }),
    ).rejects.toBe(denied);
  });
});

describe('describeError / redact / scrubError', () => {
  it.each([
    [sdkError('AccessDenied', 403, 'Access Denied'), 'AccessDenied (HTTP 403): Access Denied'],
    [sdkError('NotFound', 404, 'UnknownError'), 'NotFound (HTTP 404)'],
    [nodeError('ECONNREFUSED'), 'ECONNREFUSED: socket ECONNREFUSED'],
    [new Error('plain'), 'Error: plain'],
  ])('%s', (err, line) => {
    expect(describeError(err)).toBe(line);
  });

  it('removes credentials from messages and from fields a server echoed', () => {
    const err = Object.assign(sdkError('SignatureDoesNotMatch', 403, 'bad signature for AKIAEXAMPLEKEY'), {
      AWSAccessKeyId: 'AKIAEXAMPLEKEY',
      StringToSign: 'AWS4-HMAC-SHA256\n20260101/us-east-1/s3/aws4_request AKIAEXAMPLEKEY',
      nested: { token: 'session-token-value' },
    });
    const secrets = ['AKIAEXAMPLEKEY', 'session-token-value'];
    expect(describeError(err, secrets)).toBe(
      'SignatureDoesNotMatch (HTTP 403): bad signature for [redacted]',
    );
    scrubError(err, secrets);
    expect(JSON.stringify({ ...err, message: err.message })).not.toMatch(
      /AKIAEXAMPLEKEY|session-token-value/,
    );
    expect(redact('a secret b', ['secret'])).toBe('a [redacted] b');
  });
});

describe('createS3Client', () => {
  it('sets the options S3-compatible stores need, and credentials only when given', async () => {
    const withEndpoint = createS3Client(
      resolveConfig({
        FLASKS3_ENDPOINT_URL: 'http://127.0.0.1:9',
        AWS_ACCESS_KEY_ID: 'id',
        AWS_SECRET_ACCESS_KEY: 'secret',
      }),
    );
    expect(await withEndpoint.config.requestChecksumCalculation()).toBe('WHEN_REQUIRED');
    expect(await withEndpoint.config.responseChecksumValidation()).toBe('WHEN_REQUIRED');
    expect(withEndpoint.config.forcePathStyle).toBe(true);
    expect((await withEndpoint.config.credentials()).accessKeyId).toBe('id');
    expect(await withEndpoint.config.maxAttempts()).toBe(5);
    withEndpoint.destroy();
    const aws = createS3Client(resolveConfig({ FLASKS3_REGION: 'eu-west-1' }));
    expect(await aws.config.region()).toBe('eu-west-1');
    expect(await aws.config.requestChecksumCalculation()).toBe('WHEN_SUPPORTED');
    aws.destroy();
  });
});
