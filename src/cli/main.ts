#!/usr/bin/env node
// The `nunjucks-s3` command: the only file that touches process.argv, stdout/stderr, signals and exit
// codes. A thin layer over the library: args.ts reads the command line, config-file.ts and layers.ts
// find and merge the configuration, createAll uploads, NunjucksS3.urlFor builds URLs, progress.ts draws.
// Exit codes: 0 ok, 1 upload failures or an unexpected error, 2 usage or configuration errors (the
// message says how to fix it), 130 interrupted.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type AppLike, staticMounts } from '../app.js';
import type { UploadReport } from '../deploy/upload.js';
import { ConfigError, NunjucksS3Error, UploadError, UrlBuildError } from '../errors.js';
import { redact } from '../s3/redact.js';
import { type CliArgs, parseCliArgs, urlArguments } from './args.js';
import { loadApp } from './config-file.js';
import { USAGE } from './help.js';
import {
  describeSettings,
  type MergedConfig,
  mergeLayers,
  missingBucketError,
  settingsFromEnv,
} from './layers.js';
import { createProgress, planLines, summaryLines } from './progress.js';
import { selectTarget, TARGET_ENV } from './targets.js';
import { UsageError } from './usage-error.js';
import { runVerify } from './verify-command.js';

/**
 * Drop the AWS SDK's `NodeVersionSupportWarning`, and only it, in this process. On Node 20 (a supported
 * Node: README, Install) the SDK prints it, nine lines long, on every run, even with `-q`: it tells whoever
 * chooses the Node version that SDK releases from January 2027 need Node 22, which the README says once;
 * repeated in every deploy's log it is noise. Every other warning is printed as usual, and a library user's
 * own process is left alone (this runs only in the CLI).
 */
function dropNodeVersionSupportWarning(): void {
  const emitWarning = process.emitWarning;
  process.emitWarning = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]) {
    const text = typeof warning === 'string' ? warning : warning?.message;
    const name = typeof warning === 'string' ? undefined : warning?.name;
    if (name === 'NodeVersionSupportWarning' || text?.startsWith('NodeVersionSupportWarning:')) return;
    return (emitWarning as (...args: unknown[]) => void).call(this, warning, ...rest);
  } as typeof process.emitWarning;
}
dropNodeVersionSupportWarning();

/** Secret values seen in the environment or the config; scrubbed from everything printed. */
const secrets = new Set<string>();

const out = (text: string) => process.stdout.write(redact(text, secrets));
const err = (text: string) => process.stderr.write(redact(text, secrets));

function version(): string {
  // src/cli/main.ts and dist/cli/main.js both sit two folders below package.json.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function rememberSecrets(values: Iterable<unknown>): void {
  for (const v of values) if (typeof v === 'string' && v !== '') secrets.add(v);
}

/** The merged configuration, from the config file, the environment and the flags. */
async function loadContext(
  args: CliArgs,
): Promise<MergedConfig & { file: string; target: string | undefined }> {
  const env = process.env;
  const loaded = await loadApp(process.cwd(), args.configPath);
  const file = loaded.file;
  const { app, target } = selectTarget(loaded.app, args.target ?? env[TARGET_ENV], file);
  const fromEnv = settingsFromEnv(env);
  for (const w of fromEnv.warnings) err(`warning: ${w}\n`);
  const merged = mergeLayers(app, file, fromEnv, args);
  rememberSecrets([
    merged.resolved.accessKeyId,
    merged.resolved.secretAccessKey,
    merged.resolved.sessionToken,
    merged.resolved.cloudflareApiToken,
  ]);
  return { ...merged, file, target };
}

/** The report as JSON: failures without their `cause` (SDK objects; may be huge, never needed by CI). */
function reportJson(report: UploadReport): string {
  const failed = report.failed.map(({ key, file, message }) => ({ key, file, message }));
  return `${JSON.stringify({ ...report, failed }, null, 2)}\n`;
}

/** Every failed key with its reason (one reason shared by many keys said once), then the report; exit 1. */
function reportFailedUpload(e: UploadError, args: CliArgs): number {
  const failedReport = e.report as UploadReport;
  const failures = e.failures.length ? e.failures : failedReport.failed;
  if (failedReport.uploaded.length === 0 && failures.every((f) => f.message.startsWith('not uploaded: '))) {
    // Stopped before the first upload (a server error that outlived the retries): one message, not
    // one line per file, and no "what succeeded is recorded": nothing was sent.
    err(`nunjucks-s3: ${e.message}\n`);
    if (args.json) out(reportJson(failedReport));
    err('run the same command again once the server answers\n');
    return 1;
  }
  err(`${failures.length} file${failures.length === 1 ? '' : 's'} failed to upload:\n`);
  // One cause behind many failures (endpoint down, access denied) is said once, above its keys.
  const byMessage = new Map<string, string[]>();
  for (const f of failures) byMessage.set(f.message, [...(byMessage.get(f.message) ?? []), f.key]);
  for (const [message, keys] of byMessage) {
    if (keys.length === 1) err(`  ${keys[0]}: ${message}\n`);
    else err(`  ${keys.length} files: ${message}\n${keys.map((k) => `    ${k}\n`).join('')}`);
  }
  if (args.json) out(reportJson(failedReport));
  else if (!args.quiet) for (const line of summaryLines(failedReport)) out(`${line}\n`);
  err('what succeeded is recorded; fix the cause and run the same command again to upload the rest\n');
  return 1;
}

async function upload(args: CliArgs): Promise<number> {
  if (args.positionals.length) {
    throw new UsageError(
      `upload takes no arguments (got ${args.positionals.join(' ')}); to upload some files only, use --filter <regex>`,
    );
  }
  const { app, resolved, sources, file, target } = await loadContext(args);
  if (!resolved.bucketName) throw missingBucketError(file);

  const human = !args.json;
  if (human && args.dryRun && !args.quiet) {
    out(`config: ${file}${target ? `, target ${target}` : ''}\n`);
    for (const line of describeSettings(resolved, sources)) out(`  ${line}\n`);
  }
  const progress =
    human && !args.quiet && !args.dryRun ? createProgress({ stream: process.stderr }) : undefined;
  const logger = {
    warn: (message: string) =>
      progress ? progress.log(redact(`warning: ${message}`, secrets)) : err(`warning: ${message}\n`),
    info: (message: string) => {
      if (!human || args.quiet) return;
      if (progress) progress.log(redact(message, secrets));
      else err(`${message}\n`);
    },
  };

  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    progress?.stop();
    err('interrupted: finishing the requests in flight (press Ctrl-C again to quit at once)\n');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  // Loaded here, not at the top: --help, url and configuration errors need no AWS SDK (faster start).
  const { createAll } = await import('../deploy/upload.js');
  let report: UploadReport;
  try {
    report = await createAll(app, {
      dryRun: args.dryRun,
      onProgress: progress?.onProgress,
      logger,
      signal: controller.signal,
    });
  } catch (e) {
    progress?.stop();
    if (controller.signal.aborted) {
      // CI that stops a job still gets what was done, in the form it asked for.
      if (args.json && e instanceof UploadError && e.report) out(reportJson(e.report as UploadReport));
      err('interrupted: what was uploaded is recorded; run the same command again to finish\n');
      return 130;
    }
    if (e instanceof UploadError && e.report) return reportFailedUpload(e, args);
    throw e;
  } finally {
    progress?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  if (args.json) out(reportJson(target ? Object.assign(report, { target }) : report));
  else if (args.dryRun) for (const line of planLines(report)) out(`${line}\n`);
  else if (!args.quiet) for (const line of summaryLines(report)) out(`${line}\n`);
  if (target && !args.json && !args.quiet && !args.dryRun) out(`target: ${target}\n`);
  // The deploy is done either way; a CDN that was not invalidated gets an exit code of its own.
  return report.invalidation?.failed ? 3 : 0;
}

async function url(args: CliArgs): Promise<number> {
  if (args.dryRun) throw new UsageError('--dry-run is for upload; url never touches the bucket');
  const { endpoint, values } = urlArguments(args.positionals);
  const { app, file } = await loadContext(args);
  const { NunjucksS3 } = await import('../template/plugin.js');
  let s3: InstanceType<typeof NunjucksS3>;
  try {
    s3 = new NunjucksS3(app);
  } catch (e) {
    if (e instanceof ConfigError && e.code === 'CONFIG_MISSING_BUCKET') throw missingBucketError(file);
    throw e;
  }
  const result = s3.urlFor(endpoint, values);
  out(args.json ? `${JSON.stringify({ endpoint, values, url: result })}\n` : `${result}\n`);
  // The URL is what templates render either way (url_for does not need the file), so the exit code
  // stays 0 for scripts; a person checking a link learns that nothing would be there.
  const missing = missingStaticFile(app, endpoint, values.filename);
  if (missing) err(`warning: ${missing} does not exist: this URL will not serve anything after an upload\n`);
  return 0;
}

/** The local file a static endpoint's filename names, when it does not exist; undefined otherwise. */
function missingStaticFile(app: AppLike, endpoint: string, filename: unknown): string | undefined {
  const mount = staticMounts(app).find((m) => m.endpoint === endpoint);
  if (!mount || typeof filename !== 'string') return undefined;
  const file = path.join(mount.folder, filename);
  return existsSync(file) ? undefined : file;
}

/** Print an error the way its kind deserves; returns the exit code. */
function fail(e: unknown, json: boolean): number {
  const usage = e instanceof UsageError;
  const config = e instanceof ConfigError || e instanceof UrlBuildError;
  const known = e instanceof NunjucksS3Error;
  const message = e instanceof Error ? e.message : String(e);
  const code = usage || config ? 2 : 1;
  if (json) {
    const body = { error: { code: known ? e.code : 'UNEXPECTED', message } };
    out(`${JSON.stringify(body)}\n`);
  }
  if (!known) err(`nunjucks-s3: unexpected error: ${message}\n`);
  else err(`nunjucks-s3: ${message}\n`);
  if (usage) err('run nunjucks-s3 --help for usage\n');
  const cause = e instanceof Error ? (e.cause as { name?: string; message?: string } | undefined) : undefined;
  if (code === 1 && cause?.message && !message.includes(cause.message)) {
    err(`  caused by ${cause.name ?? 'Error'}: ${cause.message}\n`);
  }
  if (/(^|[,\s])(nunjucks-s3|\*)([,\s]|$)/.test(process.env.DEBUG ?? '') && e instanceof Error && e.stack) {
    err(`${e.stack}\n`);
    if (e.cause instanceof Error && e.cause.stack) err(`cause: ${e.cause.stack}\n`);
  }
  return code;
}

async function main(argv: readonly string[]): Promise<number> {
  let json = argv.includes('--json');
  // Before anything can be printed: a usage error may echo an argument that is a pasted secret.
  const env = process.env;
  rememberSecrets([
    env.AWS_ACCESS_KEY_ID,
    env.AWS_SECRET_ACCESS_KEY,
    env.AWS_SESSION_TOKEN,
    env.FLASKS3_CLOUDFLARE_API_TOKEN,
  ]);
  try {
    const args = parseCliArgs(argv);
    json = args.json;
    switch (args.command) {
      case 'help':
        out(USAGE);
        return 0;
      case 'version':
        out(`${version()}\n`);
        return 0;
      case 'upload':
        return await upload(args);
      case 'url':
        return await url(args);
      case 'verify':
        return await runVerify(args, { out, err, loadContext });
      case undefined:
        err(USAGE);
        err('\nnunjucks-s3: no command given (upload or url)\n');
        return 2;
    }
  } catch (e) {
    return fail(e, json);
  }
}

/** Wait until both streams have written everything, then exit (open sockets must not keep us alive). */
async function exit(code: number): Promise<never> {
  await Promise.all(
    [process.stdout, process.stderr].map((s) => new Promise<void>((resolve) => s.write('', () => resolve()))),
  );
  process.exit(code);
}

await exit(await main(process.argv.slice(2)));
