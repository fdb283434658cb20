// Credentials never appear in output. Known fake credentials (an access key id, a 40-character secret, a
// session token) go through every failure path of createAll and of the CLI: settings mistakes, wrong
// credentials on the real server (s3rver echoes the key id in its error XML), a server that echoes the
// Authorization header and the session token in every error message, an unreachable endpoint, a region
// redirect, throttling, a stall, per-key failures, an abort, a dry run, and a successful deploy whose
// settings hold them. Everything a user or a log could see is collected (messages, util.inspect of every
// error with its cause chain and hidden fields, reports, warnings, progress events, stdout and stderr,
// the upload record and the objects' metadata in the bucket) and searched for the three strings.
import http from 'node:http';
import net from 'node:net';
import { inspect } from 'node:util';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AppLike } from '../src/app.js';
import { type CreateAllOptions, createAll } from '../src/deploy/upload.js';
import { type FaultProxy, type FaultRequest, faults, startFaultProxy } from './helpers/fault-proxy.js';
import { freshBucket, s3Backend, testClient } from './helpers/s3.js';
import {
  readRecordJson,
  removeTemps,
  runCli,
  s3Settings,
  tempDir,
  writeFiles,
} from './helpers/upload-check.js';

const KEY = 'AKIAFAKEFAKEFAKE1234';
const SECRET = 'fAkE/sEcReT+0123456789abcdefGHIJKLMNOPqr';
const TOKEN = 'IQoJb3JpZ2luX2VjEFAKE//////////wEaCXVzLWVhc3QtMSJHMEUCIFAKESESSIONTOKEN0123456789';
const FAKES = { AWS_ACCESS_KEY_ID: KEY, AWS_SECRET_ACCESS_KEY: SECRET, AWS_SESSION_TOKEN: TOKEN };
/** The three, and the forms they take in URLs and JSON. */
const NEEDLES = [KEY, SECRET, TOKEN, encodeURIComponent(SECRET), encodeURIComponent(TOKEN)];

const backend = s3Backend();
const SITE = {
  'static/css/app.css': 'body {}\n',
  'static/js/app.js': 'export {};\n',
  'static/img/big.bin': Buffer.alloc(3 * 1024 * 1024, 7), // streamed from disk: its own retry path
};

/** Everything that was output or kept, with where it came from. */
const seen: { where: string; text: string }[] = [];
function keep(where: string, value: unknown): void {
  const text =
    typeof value === 'string' ? value : inspect(value, { depth: 12, showHidden: true, breakLength: 200 });
  seen.push({ where, text });
}

let root: string;
let bucket: string;
const proxies: FaultProxy[] = [];
const servers: http.Server[] = [];

beforeAll(async () => {
  expect(SECRET).toHaveLength(40);
  root = tempDir('secrets');
  writeFiles(root, SITE);
  bucket = await freshBucket('secrets');
});
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  for (const s of servers.splice(0)) s.close();
});
afterAll(removeTemps);

/**
 * A proxy whose error messages echo what the client sent: the Authorization header (it names the access
 * key id) and the session token, as a careless server or gateway might.
 */
async function echoing(code = 'AccessDenied', status = 403, only?: (req: FaultRequest) => boolean) {
  const proxy = await startFaultProxy({
    target: backend.endpoint,
    decide: (req) =>
      only && !only(req)
        ? undefined
        : faults.error(
            status,
            code,
            `denied: ${String(req.headers.authorization)} token=${String(req.headers['x-amz-security-token'])}`,
          ),
  });
  proxies.push(proxy);
  return proxy;
}

function app(endpoint: string, more: Record<string, unknown> = {}): AppLike {
  return { root, config: { ...s3Settings(bucket, endpoint), ...FAKES, ...more } };
}

/** Run createAll and keep everything it produced: warnings, info, progress, report or error. */
async function collect(label: string, target: AppLike, options: CreateAllOptions = {}): Promise<unknown> {
  const logger = {
    warn: (m: string) => keep(`${label}: warning`, m),
    info: (m: string) => keep(`${label}: info`, m),
  };
  try {
    const report = await createAll(target, {
      logger,
      onProgress: (e) => keep(`${label}: progress`, JSON.stringify(e)),
      ...options,
    });
    keep(`${label}: report`, JSON.stringify(report));
    keep(`${label}: report (inspect)`, report);
    return report;
  } catch (err) {
    keep(`${label}: message`, (err as Error).message);
    keep(`${label}: stack`, (err as Error).stack ?? '');
    keep(`${label}: inspect`, err);
    for (let c = (err as Error).cause, i = 0; c && i < 5; c = (c as Error).cause, i++) {
      keep(`${label}: cause ${i} (inspect)`, c);
      keep(`${label}: cause ${i} (stack)`, (c as Error).stack ?? '');
    }
    const report = (err as { report?: unknown }).report;
    if (report)
      keep(
        `${label}: error report`,
        JSON.stringify(report, (k, v) => (k === 'cause' ? inspect(v) : v)),
      );
    return err;
  }
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A server that answers every request with AWS's 301 PermanentRedirect, echoing the Authorization header. */
async function redirecting(): Promise<string> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(301, { 'content-type': 'application/xml', 'x-amz-bucket-region': 'eu-west-1' });
      res.end(
        `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PermanentRedirect</Code><Message>moved; you sent ${String(req.headers.authorization)} ${String(req.headers['x-amz-security-token'])}</Message><Endpoint>${bucket}.s3.eu-west-1.amazonaws.com</Endpoint></Error>`,
      );
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

describe('createAll with fake credentials: every failure path', () => {
  it('settings mistakes involving credentials', async () => {
    const base = s3Settings(bucket);
    await collect('key without secret', {
      root,
      config: { ...base, AWS_ACCESS_KEY_ID: KEY, AWS_SECRET_ACCESS_KEY: undefined },
    });
    // @ts-expect-error: a number where a string belongs, for the runtime check
    await collect('secret of the wrong type', { root, config: { ...base, ...FAKES, AWS_SESSION_TOKEN: 42 } });
    await collect('both spellings, different secrets', {
      root,
      config: { ...base, ...FAKES, secretAccessKey: `${SECRET}x` },
    });
    await collect('password and secretAccessKey differ', app(backend.endpoint), { password: `${SECRET}y` });
    await collect('a secret as an unknown option', app(backend.endpoint), { secret: SECRET } as never);
    await collect('a secret under a mistyped setting', app(backend.endpoint, { FLASKS3_SECRET_KEY: SECRET }));
  });

  it('the real server refuses them (s3rver echoes the key id in its error XML)', async () => {
    await collect('wrong credentials', app(backend.endpoint));
  });

  it('a server that echoes the Authorization header and the token in every error', async () => {
    // Reading the record is denied: the run goes on, the ACLs, every PUT and the record write are refused.
    await collect('echo AccessDenied', app((await echoing()).url, { FLASKS3_MAX_ATTEMPTS: 2 }));
    await collect('echo InvalidAccessKeyId', app((await echoing('InvalidAccessKeyId')).url));
    await collect('echo 500', app((await echoing('InternalError', 500)).url, { FLASKS3_MAX_ATTEMPTS: 2 }));
    await collect(
      'echo 503 dry run',
      app((await echoing('SlowDown', 503)).url, { FLASKS3_MAX_ATTEMPTS: 2 }),
      {
        dryRun: true,
      },
    );
  });

  it('unreachable, redirected, stalled, aborted', async () => {
    await collect('unreachable', app(`http://127.0.0.1:${await closedPort()}`));
    await collect('redirect', app(await redirecting()));
    const stall = await startFaultProxy({ target: backend.endpoint, rules: [{ fault: faults.stall() }] });
    proxies.push(stall);
    await collect('stall', app(stall.url, { FLASKS3_REQUEST_TIMEOUT: 200, FLASKS3_MAX_ATTEMPTS: 2 }));
    const controller = new AbortController();
    controller.abort(new Error('stopped'));
    await collect('aborted', app(backend.endpoint), { signal: controller.signal });
  });

  it("credentials from the AWS SDK's default chain (the environment), not the settings", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, FAKES);
    try {
      const echo = await echoing('AccessDenied', 403);
      const config = {
        ...s3Settings(bucket, echo.url),
        AWS_ACCESS_KEY_ID: undefined,
        AWS_SECRET_ACCESS_KEY: undefined,
      };
      await collect('default chain, echo AccessDenied', { root, config }, { putBucketAcl: true });
      const echo2 = await echoing('InvalidAccessKeyId', 403);
      await collect('default chain, echo InvalidAccessKeyId', {
        root,
        config: { ...config, FLASKS3_ENDPOINT_URL: echo2.url },
      });
    } finally {
      for (const k of Object.keys(FAKES)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });

  it('a deploy that works (a client with the real credentials) but whose settings hold the fakes; one key fails', async () => {
    // The fakes are in the settings only: whatever reaches the report, the record or the objects came from them.
    const echo = await echoing(
      'InternalError',
      500,
      (req) => req.method === 'PUT' && req.key === 'static/js/app.js',
    );
    const client = testClient({ ...backend, endpoint: echo.url });
    await collect(
      'partly failed deploy',
      app(echo.url, { FLASKS3_MAX_ATTEMPTS: 2, FLASKS3_FILEPATH_HEADERS: {} }),
      {
        client,
        putBucketAcl: false,
      },
    );
    const record = await readRecordJson(bucket);
    expect(record && Object.keys(record.objects).sort()).toEqual([
      'static/css/app.css',
      'static/img/big.bin',
    ]);
    keep('record in the bucket', JSON.stringify(record));
    for (const key of Object.keys(record!.objects)) {
      const head = await testClient().send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      keep(`metadata of ${key}`, JSON.stringify({ ...head, $metadata: undefined }));
    }
  });
});

describe('the CLI with fake credentials in the environment', () => {
  const cliRoot = () => {
    const dir = tempDir('secrets-cli');
    writeFiles(dir, SITE);
    return dir;
  };
  function config(dir: string, settings: Record<string, unknown>): void {
    writeFiles(dir, {
      'nunjucks-s3.config.json': JSON.stringify({ config: { FLASKS3_BUCKET_NAME: bucket, ...settings } }),
    });
  }
  async function cli(label: string, dir: string, args: string[], env: Record<string, string> = {}) {
    const run = await runCli(args, { cwd: dir, env: { ...FAKES, AWS_REGION: backend.region, ...env } });
    keep(`cli ${label}: stdout`, run.stdout);
    keep(`cli ${label}: stderr`, run.stderr);
    return run;
  }

  it('every failure path, human and JSON output, with DEBUG stack traces', async () => {
    const dir = cliRoot();
    config(dir, { FLASKS3_ENDPOINT_URL: backend.endpoint });
    const debug = { DEBUG: 'nunjucks-s3' };
    await cli('wrong credentials', dir, ['upload'], debug);
    await cli('wrong credentials json', dir, ['upload', '--json']);

    const echo = await echoing();
    await cli('echo', dir, ['upload', '--endpoint-url', echo.url, '--set', 'FLASKS3_MAX_ATTEMPTS=2'], debug);
    await cli('echo json', dir, ['upload', '--json', '--endpoint-url', echo.url, '--set', 'maxAttempts=2']);
    // A dry run prints the settings and where each came from; echoed errors make it fail.
    await cli('echo dry run', dir, [
      'upload',
      '--dry-run',
      '--endpoint-url',
      echo.url,
      '--set',
      'maxAttempts=1',
    ]);

    await cli(
      'unreachable',
      dir,
      ['upload', '--endpoint-url', `http://127.0.0.1:${await closedPort()}`],
      debug,
    );
    await cli('redirect', dir, ['upload', '--endpoint-url', await redirecting()], debug);
  }, 120_000);

  it('secrets in the wrong place on the command line or in the config file', async () => {
    const dir = cliRoot();
    config(dir, { FLASKS3_ENDPOINT_URL: backend.endpoint });
    await cli('secret as a flag', dir, ['upload', `--secret-access-key=${SECRET}`]);
    await cli('secret in a mistyped --set', dir, ['upload', '--set', `AWS_SECRET_ACCES_KEY=${SECRET}`]);

    const fileCreds = cliRoot();
    config(fileCreds, { FLASKS3_ENDPOINT_URL: backend.endpoint, ...FAKES, FLASKS3_GZIP: 'yes' });
    await cli('credentials in the config file, another setting wrong', fileCreds, ['upload'], {
      AWS_ACCESS_KEY_ID: '',
      AWS_SECRET_ACCESS_KEY: '',
      AWS_SESSION_TOKEN: '',
    });
    const fileOnly = cliRoot();
    config(fileOnly, { FLASKS3_ENDPOINT_URL: backend.endpoint, ...FAKES });
    await cli('credentials in the config file, refused by the server', fileOnly, ['upload', '--json'], {
      AWS_ACCESS_KEY_ID: '',
      AWS_SECRET_ACCESS_KEY: '',
      AWS_SESSION_TOKEN: '',
    });
  }, 120_000);
});

describe('usage errors: the CLI learns the secrets from the environment before it checks the arguments', () => {
  it('a secret pasted as an argument, or a token in the wrong --set, is not echoed', async () => {
    const dir = tempDir('secrets-cli');
    writeFiles(dir, SITE);
    const env = { ...FAKES, AWS_REGION: backend.region };
    const positional = await runCli(['upload', SECRET], { cwd: dir, env });
    const wrongSet = await runCli(['upload', '--set', `FLASKS3_CONCURRENCY=${TOKEN}`], { cwd: dir, env });
    const output = [positional.stdout, positional.stderr, wrongSet.stdout, wrongSet.stderr].join('\n');
    expect(output).toContain('upload takes no arguments');
    expect(output).toContain('concurrency / FLASKS3_CONCURRENCY must be a number');
    for (const needle of NEEDLES) expect(output).not.toContain(needle);
  });
});

describe('what was collected', () => {
  it('covers every path above, and holds none of the three credentials', () => {
    expect(seen.length).toBeGreaterThan(100);
    // The echoing server did send the key id and the token back: redaction, not luck, kept them out.
    expect(seen.some((s) => s.text.includes('[redacted]') || s.text.includes('***'))).toBe(true);
    const leaks: string[] = [];
    for (const { where, text } of seen) {
      for (const needle of NEEDLES) {
        const at = text.indexOf(needle);
        if (at !== -1)
          leaks.push(`${where}: ...${text.slice(Math.max(0, at - 80), at + needle.length + 20)}...`);
      }
    }
    expect(leaks).toEqual([]);
  });
});
