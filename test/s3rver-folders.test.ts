// The embedded S3 server must survive what deploys do to it. s3rver removes a folder with its last
// object, and a PUT racing into that folder then crashes the process s3rver runs in (for the suite:
// vitest's main process, which dies without writing its report). examples/tools/s3rver-folders.mjs
// keeps the folders; every embedded s3rver in the repository goes through it.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = path.resolve(import.meta.dirname, '..');
const raceScript = path.join(repo, 'test', 'helpers', 's3rver-folder-race.mjs');

async function race(...flags: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [raceScript, ...flags], {
      cwd: repo,
      timeout: 50_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('the embedded s3rver, with one folder written and emptied at once', () => {
  it('as published, dies of the race (so the check below can see it)', async () => {
    const result = await race();
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/ENOENT[^\n]*_S3rver_object/);
  });

  it('with its folders kept, serves every object written, 200 rounds', async () => {
    const result = await race('--keep-folders');
    expect(result.stderr).not.toMatch(/ENOENT|Error/);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ rounds: 200, missing: [] });
  });

  it('is what every embedded s3rver in the repository runs', async () => {
    const { stdout } = await run('git', ['grep', '-l', 'new S3rver('], { cwd: repo });
    // The race script starts one as published on purpose; this file only names the call.
    const ownFiles = ['test/helpers/s3rver-folder-race.mjs', 'test/s3rver-folders.test.ts'];
    const starters = stdout.split('\n').filter((file) => file && !ownFiles.includes(file));
    expect(starters.length).toBeGreaterThan(5);
    for (const file of starters) {
      const source = readFileSync(path.join(repo, file), 'utf8');
      expect(source, file).toMatch(/keepFoldersOfDeletedObjects\(\s*new S3rver\(/);
      expect(source.split('new S3rver(').length, file).toBe(2);
    }
  });
});
