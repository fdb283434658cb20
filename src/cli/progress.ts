// What the CLI shows while and after it uploads: a live progress line on a terminal (redrawn in place),
// plain periodic lines elsewhere (CI logs, where a redrawn line is noise), the end-of-run summary and the
// dry-run plan. Driven only by createAll's onProgress events and its report; writes to the stream it is
// given.

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
          // Failed files are done but not uploaded: "uploaded 20/20" after 20 failures would be false.
          const fails = failed ? `, ${failed} failed` : '';
          stream.write(
            `uploaded ${e.doneFiles - failed}/${total} files, ${formatBytes(e.doneBytes)}, ${formatRate(e.doneBytes, t - started)}${fails}\n`,
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

/** Go to the start of the line and erase it (a terminal's carriage return and "erase in line"). */
const CLEAR_LINE = '\r\x1b[2K';
const BAR_WIDTH = 24;
/** At most one redraw per this many ms: thousands of small files would otherwise flood the terminal. */
const REDRAW_MS = 100;

/** Where an upload is, as the live line shows it. */
interface BarState {
  started: number;
  totalFiles: number;
  totalBytes: number;
  doneFiles: number;
  doneBytes: number;
  failed: number;
}

/** `uploading [████░░░░] 50% | 1/2 files | 1.0 KiB/2.0 KiB | 1.0 KiB/s | ETA 1.0 s`. */
export function barLine(bar: BarState, at: number): string {
  const ratio = bar.totalBytes > 0 ? Math.min(1, bar.doneBytes / bar.totalBytes) : 1;
  const filled = Math.round(ratio * BAR_WIDTH);
  const elapsed = at - bar.started;
  const perMs = elapsed > 0 ? bar.doneBytes / elapsed : 0;
  const eta =
    ratio >= 1 ? '0 ms' : perMs > 0 ? formatDuration((bar.totalBytes - bar.doneBytes) / perMs) : '-';
  const files = bar.failed ? `${bar.doneFiles} (${bar.failed} failed)` : `${bar.doneFiles}`;
  return [
    `uploading [${'\u2588'.repeat(filled)}${'\u2591'.repeat(BAR_WIDTH - filled)}] ${Math.floor(ratio * 100)}%`,
    `${files}/${bar.totalFiles} files`,
    `${formatBytes(bar.doneBytes)}/${formatBytes(bar.totalBytes)}`,
    formatRate(bar.doneBytes, elapsed),
    `ETA ${eta}`,
  ].join(' | ');
}

function barProgress(options: ProgressOptions): ProgressDisplay {
  const { stream } = options;
  const now = options.now ?? Date.now;
  let bar: BarState | undefined;
  let shown = false;
  let lastDraw = -Infinity;
  let stopped = false;
  const draw = (force: boolean) => {
    const at = now();
    if (!bar || stopped || (!force && at - lastDraw < REDRAW_MS)) return;
    lastDraw = at;
    const line = barLine(bar, at);
    // One character short of the width: a full line would wrap on some terminals, and then \r redraws below.
    stream.write(CLEAR_LINE + (stream.columns ? line.slice(0, stream.columns - 1) : line));
    shown = true;
  };
  const stop = () => {
    if (stopped) return;
    draw(true);
    stopped = true;
    if (shown) stream.write('\n');
  };
  return {
    // Plain functions without `this`: callers pass onProgress on its own.
    onProgress(e) {
      if (stopped) return;
      if (e.type === 'start') {
        bar = {
          started: now(),
          totalFiles: e.totalFiles,
          totalBytes: e.totalBytes,
          doneFiles: 0,
          doneBytes: 0,
          failed: 0,
        };
        draw(true);
      } else if (e.type === 'file' && bar) {
        if (!e.ok) bar.failed++;
        bar.doneFiles = e.doneFiles;
        bar.doneBytes = e.doneBytes;
        draw(e.doneFiles === bar.totalFiles);
      } else if (e.type === 'end') {
        stop();
      }
    },
    log(message) {
      // The message on a line of its own, then the progress line again below it.
      if (shown && !stopped) {
        stream.write(`${CLEAR_LINE}${message}\n`);
        draw(true);
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
