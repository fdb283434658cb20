// What the CLI shows while and after it uploads: a live cli-progress bar on a terminal, plain periodic
// lines elsewhere (CI logs, where a redrawn bar is noise), the end-of-run summary and the dry-run plan.
// Driven only by createAll's onProgress events and its report; writes to the stream it is given.

import { createRequire } from 'node:module';
import type CliProgress from 'cli-progress';
import type { ProgressEvent, ReportEntry, UploadReport } from '../deploy/upload.js';

/** Where progress goes. `isTTY` decides between the bar and plain lines. */
export interface ProgressStream {
  write(chunk: string): boolean;
  isTTY?: boolean;
  columns?: number;
}

/** Options of {@link createProgress}. */
export interface ProgressOptions {
  stream: ProgressStream;
  /** `'bar'`: live bar (terminals); `'lines'`: a plain line now and then. @default bar when stream.isTTY */
  mode?: 'bar' | 'lines';
  /** Lines mode: at most one line per this many ms, unless another 10% of the files is done. @default 2000 */
  intervalMs?: number;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
}

/** A running progress display. */
export interface ProgressDisplay {
  /** Pass as createAll's onProgress. */
  onProgress(event: ProgressEvent): void;
  /** Print a message (a warning) without tearing the bar. */
  log(message: string): void;
  /** Remove the bar's timer and finish its line; safe to call twice. */
  stop(): void;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** `1536` gives `1.5 KiB`; bytes below 1 KiB as whole bytes. */
export function formatBytes(bytes: number): string {
  let n = bytes;
  let unit = 0;
  while (Math.abs(n) >= 1024 && unit < UNITS.length - 1) {
    n /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${n.toFixed(1)} ${UNITS[unit]}`;
}

/** `340 ms`, `1.4 s`, `2 min 3 s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** Bytes per second as `12.4 MiB/s`. */
export function formatRate(bytes: number, ms: number): string {
  return ms > 0 ? `${formatBytes(Math.round((bytes * 1000) / ms))}/s` : '-';
}

/** Show progress on `stream`: a bar on a terminal, plain lines otherwise. */
export function createProgress(options: ProgressOptions): ProgressDisplay {
  const mode = options.mode ?? (options.stream.isTTY ? 'bar' : 'lines');
  return mode === 'bar' ? barProgress(options) : lineProgress(options);
}

function lineProgress(options: ProgressOptions): ProgressDisplay {
  const { stream } = options;
  const now = options.now ?? Date.now;
  const intervalMs = options.intervalMs ?? 2000;
  let started = 0;
  let total = 0;
  let lastAt = 0;
  let lastTenth = 0;
  let failed = 0;
  return {
    onProgress(e) {
      if (e.type === 'start') {
        started = lastAt = now();
        total = e.totalFiles;
        stream.write(
          total === 0
            ? 'nothing to upload\n'
            : `uploading ${total} file${total === 1 ? '' : 's'}, ${formatBytes(e.totalBytes)}\n`,
        );
      } else if (e.type === 'file') {
        if (!e.ok) failed++;
        const t = now();
        const tenth = total > 0 ? Math.floor((e.doneFiles * 10) / total) : 10;
        if (t - lastAt >= intervalMs || tenth > lastTenth) {
          lastAt = t;
          lastTenth = tenth;
          const fails = failed ? `, ${failed} failed` : '';
          stream.write(
            `uploaded ${e.doneFiles}/${total} files, ${formatBytes(e.doneBytes)}, ${formatRate(e.doneBytes, t - started)}${fails}\n`,
          );
        }
      }
    },
    log(message) {
      stream.write(`${message}\n`);
    },
    stop() {},
  };
}

function barProgress(options: ProgressOptions): ProgressDisplay {
  const { stream } = options;
  const now = options.now ?? Date.now;
  // Loaded here: a deploy from CI (no terminal) never draws a bar, and need not pay for the module.
  const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof CliProgress;
  const multi = new cliProgress.MultiBar(
    {
      // cli-progress only needs write/isTTY/columns of the stream it is given.
      stream: stream as unknown as NodeJS.WritableStream,
      format:
        'uploading [{bar}] {percentage}% | {files}/{totalFiles} files | {done}/{size} | {rate} | ETA {eta_formatted}',
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      etaBuffer: 50,
      autopadding: true,
      barsize: 24,
      forceRedraw: true, // else the bar stays blank after a log line until its text changes
    },
    cliProgress.Presets.shades_classic,
  );
  let bar: CliProgress.SingleBar | undefined;
  let started = 0;
  let totalFiles = 0;
  let failed = 0;
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    multi.stop();
  };
  return {
    // Plain functions without `this`: callers pass onProgress on its own.
    onProgress(e) {
      if (stopped) return;
      if (e.type === 'start') {
        started = now();
        totalFiles = e.totalFiles;
        bar = multi.create(e.totalBytes, 0, {
          files: 0,
          totalFiles,
          done: formatBytes(0),
          size: formatBytes(e.totalBytes),
          rate: '-',
        });
      } else if (e.type === 'file' && bar) {
        if (!e.ok) failed++;
        bar.update(e.doneBytes, {
          files: failed ? `${e.doneFiles} (${failed} failed)` : e.doneFiles,
          done: formatBytes(e.doneBytes),
          rate: formatRate(e.doneBytes, now() - started),
        });
      } else if (e.type === 'end') {
        stop();
      }
    },
    log(message) {
      // Before the bar exists (and after it stopped) MultiBar.log would buffer until a redraw that never comes.
      if (bar && !stopped) {
        multi.log(`${message}\n`);
        multi.update(); // draw now: a log buffered until the next tick is lost if the bar stops first
      } else stream.write(`${message}\n`);
    },
    stop,
  };
}

const REASONS: Record<ReportEntry['reason'], string> = {
  new: 'new',
  'not-in-bucket': 'not in bucket',
  changed: 'changed',
  'settings-changed': 'headers changed',
  unchanged: 'unchanged',
  'not-recorded': 'no record',
};

/** What each reason means, printed under the plan so the short labels need no guessing. */
const REASON_HELP: Record<ReportEntry['reason'], string> = {
  new: 'not uploaded before',
  'not-in-bucket': 'recorded, but the bucket holds other bytes or none there (deleted or overwritten since)',
  changed: 'content differs from the last upload',
  'settings-changed': 'same content, but headers, ACL or gzip changed since the last upload',
  unchanged: 'same content and headers as the last upload',
  'not-recorded': 'no upload record to compare with (onlyModified is off, or nothing recorded yet)',
};

/** `s3://bucket/prefix/`. */
export function bucketUrl(report: Pick<UploadReport, 'bucket' | 'prefix'>): string {
  return `s3://${report.bucket}/${report.prefix ? `${report.prefix}/` : ''}`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function entryLines(entries: readonly ReportEntry[], withReason: boolean): string[] {
  const keyWidth = Math.min(60, Math.max(0, ...entries.map((e) => e.key.length)));
  const reasonWidth = Math.max(0, ...entries.map((e) => REASONS[e.reason]?.length ?? e.reason.length));
  return entries.map((e) => {
    const reason = withReason ? `${(REASONS[e.reason] ?? e.reason).padEnd(reasonWidth)}  ` : '';
    const gzip = e.gzip ? ', gzip' : '';
    return `  ${reason}${e.key.padEnd(keyWidth)}  ${formatBytes(e.size).padStart(10)}  ${e.contentType}${gzip}`;
  });
}

/** The dry run's plan: what would be uploaded and why, skipped, deleted. */
export function planLines(report: UploadReport): string[] {
  const lines = [`dry run: nothing was changed in ${bucketUrl(report)}`];
  const bytes = report.uploaded.reduce((n, e) => n + e.size, 0);
  if (report.uploaded.length) {
    lines.push(`would upload ${plural(report.uploaded.length, 'file')} (${formatBytes(bytes)}):`);
    lines.push(...entryLines(report.uploaded, true));
  } else lines.push('would upload nothing');
  if (report.skipped.length) {
    lines.push(`would skip ${plural(report.skipped.length, 'file')}, unchanged since the last upload:`);
    lines.push(...entryLines(report.skipped, false));
  }
  if (report.deleted.length) {
    lines.push(`would delete ${plural(report.deleted.length, 'stale object')}:`);
    lines.push(...report.deleted.map((k) => `  ${k}`));
  }
  const used = [...new Set(report.uploaded.map((e) => e.reason))];
  if (used.length) {
    lines.push('why:');
    const width = Math.max(...used.map((r) => (REASONS[r] ?? r).length)) + 2;
    for (const r of used) lines.push(`  ${(REASONS[r] ?? r).padEnd(width)}${REASON_HELP[r] ?? ''}`);
  }
  return lines;
}

/** The end-of-run summary: uploaded, skipped, failed, deleted, bytes sent, gzip saved, time. */
export function summaryLines(report: UploadReport): string[] {
  const parts = [
    `${report.uploaded.length} uploaded`,
    `${report.skipped.length} skipped (unchanged)`,
    `${report.failed.length} failed`,
  ];
  if (report.deleted.length) parts.push(`${report.deleted.length} stale deleted`);
  const saved = report.bytesSavedByGzip > 0 ? `, ${formatBytes(report.bytesSavedByGzip)} saved by gzip` : '';
  return [
    `${bucketUrl(report)}: ${parts.join(', ')}`,
    `${formatBytes(report.bytesSent)} sent (${formatRate(report.bytesSent, report.durationMs)})${saved}, in ${formatDuration(report.durationMs)}`,
  ];
}
