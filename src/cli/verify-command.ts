// `nunjucks-s3 verify`: fetch every static file where visitors get it and say what does not match. A
// table on stdout (or the report as JSON with --json); exit 0 when everything matches, 1 otherwise.

import type { AppLike } from '../app.js';
import type { VerifyReport } from '../verify/verify.js';
import type { CliArgs } from './args.js';
import { missingBucketError } from './layers.js';
import { UsageError } from './usage-error.js';

/** What the command needs from the CLI around it. */
export interface VerifyIo {
  out(text: string): void;
  err(text: string): void;
  /** The merged app (config file, environment, flags) and the config file's path. */
  loadContext(
    args: CliArgs,
  ): Promise<{ app: AppLike; file: string; resolved: { bucketName: string | undefined } }>;
}

/** Run `verify`; resolves to the exit code. */
export async function runVerify(args: CliArgs, io: VerifyIo): Promise<number> {
  if (args.positionals.length)
    throw new UsageError(`verify takes no arguments (got ${args.positionals.join(' ')})`);
  if (args.dryRun) throw new UsageError('--dry-run is for upload; verify only reads');
  const { app, file, resolved } = await io.loadContext(args);
  if (!resolved.bucketName) throw missingBucketError(file);
  const { verify } = await import('../verify/verify.js');
  const report = await verify(app);
  if (args.json) io.out(`${JSON.stringify(report, null, 2)}\n`);
  else if (!args.quiet || !report.ok) for (const line of verifyTable(report)) io.out(`${line}\n`);
  return report.ok ? 0 : 1;
}

/** The report as a table: one row per mismatch, then a summary line. */
export function verifyTable(report: VerifyReport): string[] {
  const rows = report.mismatches.map((m) => [m.key, m.check, m.expected, m.actual]);
  const lines: string[] = [];
  if (rows.length > 0) {
    const header = ['KEY', 'CHECK', 'EXPECTED', 'SERVED'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const format = (r: string[]) =>
      r
        .map((cell, i) => (i < r.length - 1 ? cell.padEnd(widths[i]!) : cell))
        .join('  ')
        .trimEnd();
    lines.push(format(header), ...rows.map(format));
  }
  const bad = new Set(report.mismatches.map((m) => m.key)).size;
  lines.push(
    bad === 0
      ? `verify: all ${report.files.length} files served by ${report.host} match`
      : `verify: ${bad} of ${report.files.length} files served by ${report.host} do not match`,
  );
  return lines;
}
