// A fresh consumer project made from the packed tarball, as a user gets the package: `npm pack` of the
// built dist/ into a temp folder, then a folder with its own package.json and `npm install <tarball>`
// (plus whatever the test needs beside it). Installs share one npm cache folder under the temp dir, kept
// between runs, and use --prefer-offline, so only the first run downloads (they need the npm registry,
// as CI has). Each test file installs once and reuses the project in its tests.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const run = promisify(execFile);
export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const NPM_CACHE = path.join(tmpdir(), 'nunjucks-s3-npm-cache');
/** For a whole beforeAll: a pack and an install, from the cache or the registry. */
export const INSTALL_TIMEOUT = 600_000;

/** A temp folder for one test file, with the package packed into it. */
export interface PackedWork {
  work: string;
  tarball: string;
  remove(): void;
}

/**
 * Pack the package into a new temp folder. `npm test` builds first (pretest); building here would rewrite
 * dist/ under the other test files that import it while they run.
 */
export async function packTarball(label: string): Promise<PackedWork> {
  if (!existsSync(path.join(repo, 'dist', 'index.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
  }
  const work = mkdtempSync(path.join(tmpdir(), `nunjucks-s3-${label}-`));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: repo });
  const tarball = path.join(work, (JSON.parse(stdout) as { filename: string }[])[0]?.filename as string);
  return { work, tarball, remove: () => rmSync(work, { recursive: true, force: true }) };
}

/**
 * A new project folder under `work` with `packageJson` and `packages` installed (the tarball's path
 * among them, or not). `--engine-strict`: an install on a Node outside a package's `engines` fails.
 */
export async function installProject(
  work: string,
  name: string,
  packages: readonly string[],
  packageJson: object = { private: true },
): Promise<string> {
  const project = path.join(work, name);
  mkdirSync(project);
  writeFileSync(path.join(project, 'package.json'), `${JSON.stringify(packageJson, null, 2)}\n`);
  await run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--engine-strict',
      '--cache',
      NPM_CACHE,
      ...packages,
    ],
    { cwd: project },
  );
  return project;
}

/** Every file below `folder` (not following symlinks), as absolute paths. */
export function filesBelow(folder: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(folder, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) found.push(path.join(entry.parentPath, entry.name));
  }
  return found;
}
