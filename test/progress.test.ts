// The CLI's live progress line on a terminal (src/cli/progress.ts): redrawn in place, at most every
// 100 ms, warnings on lines of their own above it, ended with a newline. The plain-lines mode and the
// formatting helpers are tested in cli.test.ts.
import { describe, expect, it } from 'vitest';
import { barLine, createProgress } from '../src/cli/progress.js';

const CLEAR = '\r\x1b[2K';

function terminal(columns = 200) {
  const writes: string[] = [];
  return { writes, stream: { write: (s: string) => writes.push(s) > 0, isTTY: true, columns } };
}

describe('the progress line on a terminal', () => {
  it('shows bar, percentage, files, bytes, rate and ETA', () => {
    const state = { started: 0, totalFiles: 4, totalBytes: 4096, doneFiles: 1, doneBytes: 1024, failed: 0 };
    expect(barLine(state, 1000)).toBe(
      `uploading [${'█'.repeat(6)}${'░'.repeat(18)}] 25% | 1/4 files | 1.0 KiB/4.0 KiB | 1.0 KiB/s | ETA 3.0 s`,
    );
    expect(barLine({ ...state, doneFiles: 4, doneBytes: 4096, failed: 1 }, 2000)).toMatch(
      /^uploading \[█{24}\] 100% \| 4 \(1 failed\)\/4 files \| 4\.0 KiB\/4\.0 KiB \| 2\.0 KiB\/s \| ETA 0 ms$/,
    );
  });

  it('redraws in place at most every 100 ms, and always for the last file', () => {
    const { writes, stream } = terminal();
    let t = 0;
    const p = createProgress({ stream, now: () => t });
    p.onProgress({ type: 'start', totalFiles: 100, totalBytes: 100 });
    for (let i = 1; i <= 100; i++) {
      t += 2; // 100 files in 200 ms
      p.onProgress({ type: 'file', key: `k${i}`, bytes: 1, doneFiles: i, doneBytes: i, ok: true });
    }
    p.stop();
    expect(writes.every((w) => w.startsWith(CLEAR) || w === '\n')).toBe(true);
    // The start, one per 100 ms (at 100 and 200 ms: the second is the last file), the end.
    expect(writes.filter((w) => w.startsWith(CLEAR))).toHaveLength(4);
    expect(writes.at(-2)).toContain('100% | 100/100 files');
    expect(writes.at(-1)).toBe('\n');
  });

  it('puts a warning on its own line and draws the progress line again below it', () => {
    const { writes, stream } = terminal();
    const p = createProgress({ stream, now: () => 0 });
    p.onProgress({ type: 'start', totalFiles: 2, totalBytes: 2 });
    p.log('warning: careful');
    expect(writes.slice(-2)).toEqual([
      `${CLEAR}warning: careful\n`,
      expect.stringMatching(/^\r\x1b\[2Kuploading \[/),
    ]);
  });

  it('fits the terminal width, one column spare, so it never wraps', () => {
    const { writes, stream } = terminal(40);
    const p = createProgress({ stream, now: () => 0 });
    p.onProgress({ type: 'start', totalFiles: 2, totalBytes: 2 });
    expect(writes[0]).toBe(`${CLEAR}uploading [${'░'.repeat(24)}] 0%`); // 39 of its 71 characters
  });
});
