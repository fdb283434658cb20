// The one atomic file writer: the text goes to a temporary file in the same folder, which is then
// renamed over the target, so a reader (an app starting, a concurrent deploy) sees the old file or the
// new one, never a part of either. The manifest and the hash cache are written through it.

import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** A temporary name beside `file`, unique to this process and call. */
function temporaryNameFor(file: string): string {
  return `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
}

/** Write `text` to `file` atomically (its folder is created); the temporary file is removed on failure. */
export async function writeFileAtomically(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temp = temporaryNameFor(file);
  try {
    await writeFile(temp, text, 'utf8');
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true }).catch(() => {});
    throw err;
  }
}

/** {@link writeFileAtomically}, synchronously. */
export function writeFileAtomicallySync(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temp = temporaryNameFor(file);
  try {
    writeFileSync(temp, text, 'utf8');
    renameSync(temp, file);
  } catch (err) {
    try {
      rmSync(temp, { force: true });
    } catch {
      // nothing to clean
    }
    throw err;
  }
}
