// Rough edges of an upload, each reproduced against a real S3 server (s3rver or Ceph RGW), with the
// fault proxy in front where the server must misbehave: a server that never answers, an HTTP server
// that is not S3, a bucket that cannot be created, PUTs refused on every key, an endpoint URL with a
// password in it, --json after SIGTERM, and an error code said twice. (An Object Lock bucket: object-lock.test.ts.)
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { AppLike } from '../src/app.js';
import { firstAnswerLimit } from '../src/deploy/first-answer.js';
import { recordKey } from '../src/deploy/record.js';
import { createAll } from '../src/deploy/upload.js';
import { ConfigError, UploadError } from '../src/errors.js';
import { describeError } from '../src/s3/errors.js';
import {
  type FaultProxy,
  type FaultRule,
  faults,
  rejectAcls,
  startFaultProxy,
} from './helpers/fault-proxy.js';
import { freshBucket, s3Backend, uniqueBucket } from './helpers/s3.js';
import {
  ownStderr,
  removeTemps,
  runCli,
  s3Env,
  s3Settings,
  startCli,
  tempDir,
  writeFiles,
} from './helpers/upload-check.js';

const proxies: FaultProxy[] = [];
const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});
afterAll(removeTemps);

async function proxied(rules: FaultRule[] = []): Promise<FaultProxy> {
  const proxy = await startFaultProxy({ target: s3Backend().endpoint, rules });
  proxies.push(proxy);
  return proxy;
}

/** A site of `count` small CSS files. */
function site(count = 12): string {
  const root = tempDir('edges');
  const files: Record<string, string> = {};
  for (let i = 0; i < count; i++) files[`static/css/c${i}.css`] = `.c${i} { margin: ${i}px }\n`;
  writeFiles(root, files);
  return root;
}

function app(root: string, bucket: string, endpoint: string, more: Record<string, unknown> = {}): AppLike {
  return { root, config: s3Settings(bucket, endpoint, { FLASKS3_PUT_BUCKET_ACL: false, ...more }) };
}

async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

/** PUTs of the site's files: not of the deploy's own state (record, lease, generation, deltas, markers). */
const objectPuts = (proxy: FaultProxy) =>
  proxy.log.filter(
    (e) =>
      e.method === 'PUT' &&
      e.key !== undefined &&
      e.key !== recordKey('') &&
      !e.key.includes('.nunjucks-s3/'),
  );

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function configFile(
  root: string,
  bucket: string,
  endpoint: string,
  more: Record<string, unknown> = {},
): void {
  writeFiles(root, {
    'nunjucks-s3.config.json': JSON.stringify({
      config: {
        FLASKS3_BUCKET_NAME: bucket,
        FLASKS3_ENDPOINT_URL: endpoint,
        FLASKS3_PUT_BUCKET_ACL: false,
        ...more,
      },
    }),
  });
}

describe('an endpoint that accepts connections and never answers', () => {
  it('the CLI says it is waiting, gives up at the first request deadline, and exits 2 like a refused connection', async () => {
    const root = site(3);
    const proxy = await proxied([{ fault: faults.stall() }]);
    // 6 s per attempt, 2 attempts: the first request's deadline is 12 s (the retry budget, capped at 20 s).
    configFile(root, uniqueBucket('stall'), proxy.url, {
      FLASKS3_REQUEST_TIMEOUT: 6000,
      FLASKS3_MAX_ATTEMPTS: 2,
    });
    const hung = await runCli(['upload'], { cwd: root, env: s3Env() });
    const lines = ownStderr(hung.stderr).trim().split('\n');
    expect(lines.filter((l) => l.startsWith('waiting for ')).length).toBeGreaterThanOrEqual(2);
    expect(lines[0]).toMatch(
      new RegExp(
        `^waiting for ${proxy.url} to answer \\(reading the upload record from\\): \\d+ s so far, giving up after 12 s$`,
      ),
    );
    const last = lines.at(-1)!;
    expect(last).toMatch(
      /^nunjucks-s3: reading the upload record from s3:\/\/.*: no answer from .* within 12 s/,
    );
    expect(last).toContain('Check endpointUrl / FLASKS3_ENDPOINT_URL');
    expect(last).toMatch(/Nothing was uploaded$/);
    expect(hung.stderr).not.toContain('what succeeded is recorded');
    expect(hung.code).toBe(2);
    expect(objectPuts(proxy)).toEqual([]);

    configFile(root, uniqueBucket('refused'), `http://127.0.0.1:${await closedPort()}`);
    const refused = await runCli(['upload'], { cwd: root, env: s3Env() });
    expect(refused.code).toBe(2);
    expect(ownStderr(refused.stderr)).toMatch(/Nothing was uploaded\n$/);
  }, 40_000);
});

describe("the first request's deadline", () => {
  it.each([
    // The defaults: 20 s, where the retry budget was five attempts of 60 s (317 s measured, in silence).
    [60_000, 5, 20_000],
    [6_000, 2, 12_000],
    [1_500, 2, 3_000],
    [45_000, 1, 20_000],
    // A requestTimeout raised above its default says the server is slow: it is the cap then.
    [120_000, 3, 120_000],
  ])('requestTimeout %i ms × maxAttempts %i: %i ms', (requestTimeout, maxAttempts, limit) => {
    expect(firstAnswerLimit({ requestTimeout, maxAttempts })).toBe(limit);
  });
});

describe('an HTTP server that is not an S3 API', () => {
  it('501 with an HTML page: one ConfigError saying so, after one request', async () => {
    let requests = 0;
    const server = http.createServer((req, res) => {
      requests++;
      req.resume();
      req.on('end', () => {
        res.writeHead(501, { 'content-type': 'text/html' });
        res.end('<html><body><h1>501 Not Implemented</h1></body></html>');
      });
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    const err = await rejectionOf(createAll(app(site(3), uniqueBucket('web'), endpoint)));
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('CONFIG_ENDPOINT');
    expect((err as ConfigError).setting).toBe('endpointUrl / FLASKS3_ENDPOINT_URL');
    expect(err.message).toContain(`${endpoint} is not an S3 API`);
    expect(err.message).toMatch(/Nothing was uploaded$/);
    expect(requests).toBe(1);
  });
});

describe('a bucket that cannot be created', () => {
  it('CreateBucket denied: no object PUT, one ConfigError naming the bucket; the CLI exits 2 with one message', async () => {
    const root = site(5);
    const bucket = uniqueBucket('denied'); // not created: the record's GET says NoSuchBucket
    const proxy = await proxied([
      {
        method: 'PUT',
        path: new RegExp(`^/${bucket}/?$`),
        fault: faults.error(403, 'AccessDenied', 'Access Denied'),
      },
    ]);
    const err = await rejectionOf(createAll(app(root, bucket, proxy.url)));
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('CONFIG_BUCKET');
    expect((err as ConfigError).setting).toBe('bucketName / FLASKS3_BUCKET_NAME');
    expect(err.message).toMatch(/^could not create the bucket s3:\/\/.*AccessDenied \(HTTP 403\)/);
    expect(objectPuts(proxy)).toEqual([]);

    configFile(root, bucket, proxy.url);
    const cli = await runCli(['upload'], { cwd: root, env: s3Env() });
    expect(cli.code).toBe(2);
    const lines = ownStderr(cli.stderr).trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^nunjucks-s3: could not create the bucket .*Nothing was uploaded$/);
  });

  it('a region with a space is refused before any request', async () => {
    const proxy = await proxied();
    const err = await rejectionOf(
      createAll(app(site(2), uniqueBucket('region'), proxy.url, { FLASKS3_REGION: 'eu west-1' })),
    );
    expect((err as ConfigError).setting).toBe('region / FLASKS3_REGION');
    expect(err.message).toContain('"eu west-1" is not a region name');
    expect(proxy.requests).toBe(0);
  });
});

describe('PUT refused on every key', () => {
  it('stops after a few identical denials, and does not send every file twice (with ACL, then without)', async () => {
    const count = 20;
    const bucket = await freshBucket('putdenied');
    const proxy = await proxied([
      { method: 'PUT', key: /^static\//, fault: faults.error(403, 'AccessDenied', 'Access Denied') },
    ]);
    const err = await rejectionOf(createAll(app(site(count), bucket, proxy.url, { FLASKS3_CONCURRENCY: 2 })));
    expect(err).toBeInstanceOf(UploadError);
    const failures = (err as UploadError).failures;
    expect(failures).toHaveLength(count);
    expect(
      failures.filter((f) =>
        f.message.startsWith('not attempted: stopped after the first 4 files were all refused'),
      ).length,
    ).toBeGreaterThan(count / 2);
    // Before: 40 (each file with the ACL, then without). Now: the first two in flight twice, then once
    // each until the fourth identical refusal.
    expect(objectPuts(proxy).length).toBeLessThanOrEqual(8);
  });

  it('a refusal of some paths only (a file went through first) still tries every file', async () => {
    const bucket = await freshBucket('somedenied');
    const proxy = await proxied([
      // The largest files go first: c10..c19 are uploaded before c0..c9 are refused.
      { method: 'PUT', key: /c\d\.css$/, fault: faults.error(403, 'AccessDenied', 'Access Denied') },
    ]);
    const err = await rejectionOf(
      createAll(app(site(20), bucket, proxy.url, { FLASKS3_CONCURRENCY: 1, FLASKS3_OBJECT_ACL: 'none' })),
    );
    const failures = (err as UploadError).failures.map((f) => f.key).sort();
    expect(failures).toEqual([...Array(10).keys()].map((i) => `static/css/c${i}.css`).sort());
  });
});

describe('an endpoint URL with a password in it', () => {
  it('the password is masked in errors, --json and the dry run', async () => {
    const root = site(2);
    const port = await closedPort();
    configFile(root, uniqueBucket('pw'), `http://admin:Sup3rS3cret@127.0.0.1:${port}`);
    const failed = await runCli(['upload', '--json'], { cwd: root, env: s3Env() });
    expect(failed.code).toBe(2);
    expect(failed.stdout + failed.stderr).not.toContain('Sup3rS3cret');
    expect(failed.stderr).toContain(`http://admin:[redacted]@127.0.0.1:${port}`);

    const proxy = await proxied();
    const bucket = await freshBucket('pwdry');
    const withPassword = proxy.url.replace('http://', 'http://admin:PW@');
    configFile(root, bucket, withPassword);
    const dry = await runCli(['upload', '--dry-run'], { cwd: root, env: s3Env() });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`http://admin:[redacted]@127.0.0.1:${proxy.port}`);
    expect(dry.stdout + dry.stderr).not.toContain('admin:PW@');
  });
});

describe('the CLI without a config file', () => {
  it('uploads static/ of the current folder when flags and the environment give every setting', async () => {
    const root = tempDir('noconfig');
    writeFiles(root, { 'static/css/a.css': 'a { color: red }' });
    const bucket = await freshBucket('noconfig');
    const run = await runCli(['upload', '--endpoint-url', s3Backend().endpoint], {
      cwd: root,
      env: { ...s3Env(), FLASKS3_BUCKET_NAME: bucket },
    });
    expect(ownStderr(run.stderr)).not.toMatch(/error/i);
    expect(run.code).toBe(0);
    const served = await fetch(`${s3Backend().endpoint}/${bucket}/static/css/a.css`);
    expect(await served.text()).toBe('a { color: red }');
  });

  it('without a bucket either: says what to create or set', async () => {
    const root = tempDir('nothing');
    const run = await runCli(['upload'], { cwd: root, env: s3Env() });
    expect(run.code).toBe(2);
    expect(ownStderr(run.stderr)).toMatch(
      /no bucket: bucketName \/ FLASKS3_BUCKET_NAME is not set, and no nunjucks-s3\.config\.js, .* found from .* upward; create one .* or give the bucket with --bucket <name> or FLASKS3_BUCKET_NAME/,
    );
  });
});

describe('nunjucks-s3 url for a file that does not exist', () => {
  it('prints the URL, warns on stderr naming the file, and exits 0; an existing file gets no warning', async () => {
    const root = tempDir('urlmissing');
    writeFiles(root, { 'static/css/app.css': 'a{}' });
    const env = { FLASKS3_BUCKET_NAME: 'my-bucket' };
    const missing = await runCli(['url', 'static', 'css/missing.css'], { cwd: root, env });
    expect(missing.code).toBe(0);
    expect(missing.stdout).toBe('https://my-bucket.s3.amazonaws.com/static/css/missing.css\n');
    expect(ownStderr(missing.stderr)).toBe(
      `warning: ${path.join(root, 'static/css/missing.css')} does not exist: this URL will not serve anything after an upload\n`,
    );
    const present = await runCli(['url', 'static', 'css/app.css'], { cwd: root, env });
    expect(present.code).toBe(0);
    expect(ownStderr(present.stderr)).toBe('');
  });
});

describe('the bucket policy printed for a site at the bucket root', () => {
  it("names the site's own top-level folders and files, never the whole bucket (the record would be public)", async () => {
    const root = tempDir('rootsite');
    writeFiles(root, { 'static/css/a.css': 'a{}', 'static/js/b.js': 'b()', 'static/favicon.ico': 'ico' });
    const bucket = await freshBucket('rootpolicy');
    const proxy = await proxied([rejectAcls()]);
    const warnings: string[] = [];
    await createAll(
      { root, staticUrlPath: '/', config: s3Settings(bucket, proxy.url, { FLASKS3_PUT_BUCKET_ACL: false }) },
      { logger: { warn: (m) => warnings.push(m) } },
    );
    const withPolicy = warnings.find((w) => w.includes('\n{'))!;
    const policy = JSON.parse(withPolicy.slice(withPolicy.indexOf('\n{'))) as {
      Statement: { Resource: string | string[] }[];
    };
    const resources = [policy.Statement[0]!.Resource].flat().sort();
    expect(resources).toEqual([
      `arn:aws:s3:::${bucket}/css/*`,
      `arn:aws:s3:::${bucket}/favicon.ico`,
      `arn:aws:s3:::${bucket}/js/*`,
    ]);
    expect(recordKey('')).toMatch(/^\.nunjucks-s3\//);
  });
});

describe('--json after SIGTERM', () => {
  it('prints the partial report', async () => {
    const root = site(6);
    const bucket = await freshBucket('sigterm');
    const proxy = await proxied([{ method: 'PUT', key: /^static\//, fault: faults.delay(4000) }]);
    configFile(root, bucket, proxy.url, { FLASKS3_CONCURRENCY: 1 });
    const { child, done } = startCli(['upload', '--json'], { cwd: root, env: s3Env() });
    for (let waited = 0; objectPuts(proxy).length === 0 && waited < 20_000; waited += 50) {
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGTERM');
    const run = await done;
    expect(run.code).toBe(130);
    const report = JSON.parse(run.stdout) as { bucket: string; failed: { key: string; message: string }[] };
    expect(report.bucket).toBe(bucket);
    expect(report.failed.some((f) => f.message === 'aborted')).toBe(true);
  }, 30_000);
});

describe('error messages', () => {
  it('a system error says its code once', () => {
    let err: unknown;
    try {
      readFileSync(path.join(tempDir('enoent'), 'missing.css'));
    } catch (e) {
      err = e;
    }
    const line = describeError(err);
    expect(line).toMatch(/^ENOENT: no such file or directory, open '.*missing\.css'$/);
    expect(line).not.toContain('ENOENT: ENOENT');
  });
});
