// `npm run bench -- [options]`: render, upload, concurrency-sweep and memory benchmarks of nunjucks-s3,
// against Ceph RGW (scripts/rgw.sh) and s3rver on 127.0.0.1, with aws s3 sync and rclone sync as peers.
// Prints a markdown report and writes it to bench/results/latest.md. Every deploy is verified. See
// `--help` for the options and bench/README.md for the method.

import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type BackendName, type BenchOptions, PROJECT_DIR, parseArgs } from './args.js';
import { importCostSection, measureImportCost } from './import-cost.js';
import { memoryPart } from './memory-part.js';
import { hotFiles, hotFunctions, hotTable, readProfileDir } from './profile.js';
import { renderPart } from './render-part.js';
import {
  ceilingRow,
  memorySection,
  memoryTargets,
  renderSection,
  renderTargets,
  sweepSection,
  type Target,
  targetsSection,
  uploadSection,
  uploadTargets,
} from './report.js';
import { type S3Server, startServer } from './servers.js';
import { sweepPart } from './sweep-part.js';
import { log, type UploadResult, uploadPart } from './upload-part.js';

function gitDescribe(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: PROJECT_DIR }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: PROJECT_DIR })
      .toString()
      .trim();
    return dirty ? `${sha} + uncommitted changes in src/` : sha;
  } catch {
    return 'unknown';
  }
}

const loadavg = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ');

async function main() {
  const argv = process.argv.slice(2);
  const opts: BenchOptions = parseArgs(argv);
  mkdirSync(opts.workDir, { recursive: true });
  const started = Date.now();
  rmSync(path.join(opts.workDir, 'profiles'), { recursive: true, force: true });
  // createAll's hash cache (on by default) lives in the work dir, emptied here: an unchanged re-deploy
  // then uses what this run's first deploy cached, never a previous run's (nor the user's ~/.cache).
  const hashCacheDir = path.join(opts.workDir, 'hash-cache');
  rmSync(hashCacheDir, { recursive: true, force: true });
  process.env.NUNJUCKS_S3_CACHE_DIR = hashCacheDir;
  const loadBefore = loadavg();
  const targets: Target[] = [];
  // Report sections by part, printed in this order whatever order the backends ran in.
  const sections = {
    render: [] as string[],
    upload: [] as string[],
    sweep: [] as string[],
    memory: [] as string[],
  };
  const failures: string[] = [];
  const servers = new Set<S3Server>();
  const stopAll = async () => {
    for (const s of servers) await s.stop().catch(() => undefined);
    servers.clear();
  };
  process.once('SIGINT', () => {
    log('interrupted: stopping servers');
    stopAll().finally(() => process.exit(130));
  });

  const attempt = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (e) {
      const msg = `${what} failed: ${(e as Error)?.stack ?? e}`;
      log(msg);
      failures.push(msg);
    }
  };

  if (opts.parts.includes('render')) {
    await attempt('render', async () => {
      log('render: interleaved rounds of the four page variants');
      const r = await renderPart(opts, opts.cpuProf);
      sections.render.push(`## Render\n\n${renderSection(r)}`);
      targets.push(...renderTargets(r));
    });
    await attempt('start-up', async () => {
      const runs = opts.quick ? 7 : 15;
      log(`start-up: node, nunjucks, the package and the CLI as whole processes, ${runs} runs each`);
      sections.render.push(`## Start-up\n\n${importCostSection(await measureImportCost(runs), runs)}`);
    });
  }

  const needsServer = opts.parts.some((p) => p !== 'render');
  const uploads: UploadResult[] = [];
  const profileNotes: string[] = [];
  if (needsServer) {
    const memoryBackend: BackendName = opts.backends.includes('rgw') ? 'rgw' : opts.backends[0]!;
    for (const backend of opts.backends) {
      await attempt(`${backend}`, async () => {
        const server = await startServer(backend, opts.workDir);
        servers.add(server);
        try {
          if (opts.parts.includes('upload')) {
            let sdkConcurrency = opts.sdkConcurrency;
            // s3rver 3.7 fails ListObjectsV2 past 1,000 keys (aws s3 sync then exits with InternalError):
            // by default it gets one site of at most 1,000 files.
            const sizes =
              backend === 's3rver' ? (opts.s3rverSizes ?? [Math.min(1000, ...opts.sizes)]) : opts.sizes;
            for (const size of [...sizes].sort((a, b) => a - b)) {
              await attempt(`upload ${backend} ${size}`, async () => {
                const u = await uploadPart(opts, server, size, sdkConcurrency);
                uploads.push(u);
                sections.upload.push(uploadSection(u));
                targets.push(...uploadTargets(u));
                for (const { dir, label } of u.profiles) {
                  const p = readProfileDir(dir);
                  if (!p) continue;
                  profileNotes.push(
                    `### ${label}: ${backend}, ${size} files\n\n` +
                      `${hotTable(hotFiles(p, 10), true)}\n\n${hotTable(hotFunctions(p, 15))}\n`,
                  );
                }
                // Larger sites only try the concurrency where the plain SDK was fastest here.
                const best = ceilingRow(u);
                if (best) sdkConcurrency = [Number(best.contender.concurrency)];
              });
            }
          }
          if (opts.parts.includes('sweep') && backend === 'rgw') {
            await attempt('sweep', async () => {
              const s = await sweepPart(opts, server, !opts.quick);
              sections.sweep.push(`## Concurrency\n\n${sweepSection(s)}`);
            });
          }
          if (opts.parts.includes('memory') && backend === memoryBackend) {
            await attempt('memory', async () => {
              const siteSize = Math.max(...opts.sizes);
              const fromUpload = uploads.find((u) => u.backend === backend && u.site.files === siteSize);
              const ours = fromUpload?.rows.find((r) => r.contender.id === 'ours');
              const first = ours?.runs.first[0];
              const cases = await memoryPart(
                opts,
                server,
                siteSize,
                first && fromUpload
                  ? { outcome: first.outcome, ok: first.check.ok, bytes: fromUpload.site.bytes }
                  : undefined,
              );
              sections.memory.push(`## Memory (${backend})\n\n${memorySection(cases)}`);
              targets.push(...memoryTargets(cases));
            });
          }
        } finally {
          await server.stop();
          servers.delete(server);
        }
      });
    }
  }

  if (sections.upload.length) sections.upload.unshift('## Upload');
  const minutes = ((Date.now() - started) / 60000).toFixed(1);
  const md = [
    '# nunjucks-s3 benchmarks',
    '',
    `Command: \`npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}\` (${minutes} min). ` +
      `Commit ${gitDescribe()}, ${new Date().toISOString().slice(0, 16)}Z, node ${process.version}, ` +
      `${os.cpus().length} cores shared with other work (load average ${loadBefore} before, ${loadavg()} after): ` +
      'compare ratios within one run, not absolute numbers across runs.',
    '',
    '## Targets',
    '',
    targetsSection(targets),
    '',
    ...(failures.length ? ['## Errors', '', ...failures.map((f) => `- ${f.split('\n')[0]}`), ''] : []),
    ...[...sections.render, ...sections.upload, ...sections.sweep, ...sections.memory].flatMap((s) => [
      s,
      '',
    ]),
    ...(profileNotes.length
      ? ['## Profiles (V8 CPU profiles of the measured work only, self time)', '', ...profileNotes]
      : []),
    '## How to read this',
    '',
    '- Every contender runs as its own process; times are medians over rounds in which contenders take turns',
    '  (the order rotates each round). "first deploy": into an empty prefix; "unchanged": the same files again;',
    '  "2% changed": after editing 2% of the files (text files grow a line, binaries get new bytes in place).',
    '  createAll runs with its defaults: the unchanged re-deploy trusts the hash cache its first deploy wrote (files',
    '  are only stat()ed); the cache starts empty in every bench run.',
    "- createAll sends small objects with the SDK's signer and HTTP handler, without its middleware (direct PUTs,",
    '  src/direct-put.ts); the ceiling row is the plain SDK as the issue defines it, so createAll can exceed 100%.',
    "- Peers' times are their whole process. createAll runs from the TypeScript sources under tsx, whose start-up",
    "  no user pays: its time is createAll's own (in parentheses) plus a measured start of `node` importing the",
    '  built `dist/` and the SDK. The ceiling and the raw row count their requests only (bodies already in memory).',
    '  files/s, MiB/s and "vs ceiling" use each contender\'s own time.',
    '- The ceiling: `PutObjectCommand` from @aws-sdk/client-s3 with the bodies in memory (the same Content-Type and',
    '  public-read ACL createAll sends), at the concurrency where it was fastest. The raw row signs and sends the same',
    '  PUTs over node:http without the SDK: what the server takes when the client costs almost nothing.',
    '- client / server CPU: user + system seconds of the contender and of the S3 server processes in the first',
    "  deploy (createAll: its own plus node start). On 2 shared cores the client's CPU per request decides how much",
    '  is left for the server, so it is the steadiest figure when the machine is busy.',
    "- checks: after every deploy, every local file's key and size is listed and a seeded sample of objects",
    '  (including the largest file and every edited one) is downloaded and compared with the bytes on disk.',
    '',
  ].join('\n');
  mkdirSync(path.dirname(opts.out), { recursive: true });
  writeFileSync(opts.out, md);
  process.stdout.write(md);
  log(`written ${path.relative(process.cwd(), opts.out)} in ${minutes} min`);
  await stopAll();
  if (failures.length) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
