// A full disk while the fingerprint manifest is written: the old manifest must not keep serving the
// previous deploy's names while the message says the app hashes its files itself. A real full disk: a
// 64 KiB tmpfs (the tests run as root; CI too), filled before the second deploy.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createAll } from '../src/deploy/upload.js';
import { UploadError } from '../src/errors.js';
import { NunjucksS3 } from '../src/template/plugin.js';
import { freshBucket } from './helpers/s3.js';
import { removeTemps, s3Settings, tempDir, writeFiles } from './helpers/upload-check.js';

const mounted: string[] = [];
afterAll(() => {
  for (const dir of mounted) execFileSync('umount', [dir]);
  removeTemps();
});

/** A folder on a tmpfs of `size`. */
function smallDisk(size: string): string {
  const dir = tempDir('fulldisk');
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  mounted.push(dir);
  return dir;
}

/** Fill the disk holding `dir` to the last byte. */
function fill(dir: string): void {
  for (let i = 0; ; i++) {
    try {
      writeFileSync(path.join(dir, `filler-${i}`), Buffer.alloc(4096));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOSPC') return;
      throw err;
    }
  }
}

describe('a full disk while writing the manifest', () => {
  it('the old manifest is removed, so url_for renders the name this deploy uploaded, as the message says', async () => {
    const root = tempDir('manifestsite');
    writeFiles(root, { 'static/css/app.css': '.v1 { color: red }' });
    const disk = smallDisk('64k');
    const manifestPath = path.join(disk, 'manifest.json');
    const bucket = await freshBucket('fulldisk');
    const app = () => ({
      root,
      config: s3Settings(bucket, undefined, {
        FLASKS3_FINGERPRINT: 'filename',
        FLASKS3_MANIFEST: manifestPath,
        FLASKS3_PUT_BUCKET_ACL: false,
      }),
    });
    await createAll(app());
    const v1 = new NunjucksS3(app()).urlFor('static', { filename: 'css/app.css' });
    expect(existsSync(manifestPath)).toBe(true);

    writeFiles(root, { 'static/css/app.css': '.v2 { color: blue; margin: 0 }' });
    fill(disk);
    let err: unknown;
    try {
      await createAll(app());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UploadError);
    const failure = (err as UploadError).failures.find((f) => f.key === manifestPath)!;
    expect(failure.message).toMatch(
      /could not write the fingerprint manifest .*ENOSPC.*hashes its files itself/,
    );
    expect(existsSync(manifestPath)).toBe(false);
    const v2 = new NunjucksS3(app()).urlFor('static', { filename: 'css/app.css' });
    expect(v2).not.toBe(v1);
    // The name rendered now is served, with this deploy's bytes.
    expect(
      await (
        await fetch(v2.replace(/^https:\/\/[^/]+/, `${s3Settings(bucket).FLASKS3_ENDPOINT_URL}/${bucket}`))
      ).text(),
    ).toBe('.v2 { color: blue; margin: 0 }');
  });
});
