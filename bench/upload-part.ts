// The upload benchmark for one (server, site size): every contender deploys the same generated site
// three times, interleaved round by round (first deploy into an empty prefix, unchanged re-deploy,
// re-deploy after 2% of the files changed), and every deploy is verified against the files on disk.

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { BenchOptions } from './args.js';
import {
  awsContender,
  type Contender,
  cliContender,
  type DeployTarget,
  measureStartup,
  type Outcome,
  oursContender,
  rawContender,
  rcloneContender,
  sdkContender,
} from './contenders.js';
import { Rng } from './rng.js';
import { createBucket, type S3Server, serverClient } from './servers.js';
import { editSite, ensureSite, type Site } from './site.js';
import { mib, seconds } from './stats.js';
import { type Check, verifyDeploy } from './verify.js';

export type Phase = 'first' | 'unchanged' | 'changed';
export const PHASES: readonly Phase[] = ['first', 'unchanged', 'changed'];

export interface Run {
  outcome: Outcome;
  check: Check;
}

export interface UploadRow {
  contender: Contender;
  runs: Record<Phase, Run[]>;
}

export interface UploadResult {
  backend: string;
  site: { kind: string; files: number; bytes: number };
  rounds: number;
  rows: UploadRow[];
  /** node start + import of dist/index.js (see measureStartup); added to createAll's own time to compare
   * with the peers' whole processes. */
  startup: { wallMs: number; cpuMs: number } | undefined;
  /** Extra keys createAll left under its prefix (its record), for the notes. */
  oursExtraKeys: string[];
  profiles: { dir: string; label: string }[];
}

export const BUCKET = 'nunjucks-s3-bench';

export function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

function contendersFor(opts: BenchOptions, sdkConcurrency: number[]): Contender[] {
  const list: Contender[] = opts.oursConcurrency.map((c) => oursContender(c));
  list.push(cliContender(), cliContender(true));
  if (opts.peers) {
    list.push(awsContender(undefined), awsContender(32));
    list.push(rcloneContender(undefined));
    if (!opts.quick) list.push(rcloneContender(16));
    list.push(rcloneContender(32));
  }
  for (const c of sdkConcurrency) list.push(sdkContender(c));
  if (opts.raw) list.push(rawContender(32));
  // --only: a family (`ours`, `aws`, `rclone`, `sdk`, `raw`) selects all its settings, `rclone-t32` one.
  const family = (id: string) => id.replace(/-[ct]\d+$/, '');
  return opts.only
    ? list.filter(
        (c) =>
          opts.only!.includes(c.id) || opts.only!.includes(family(c.id)) || opts.only!.includes(c.family),
      )
    : list;
}

function describe(o: Outcome, check: Check): string {
  const inner = o.innerMs !== undefined ? ` (inner ${seconds(o.innerMs)} s)` : '';
  const setup = o.worker?.setupMs !== undefined ? ` setup=${seconds(o.worker.setupMs)} s` : '';
  const w = o.worker ? ` up=${o.worker.uploaded} skip=${o.worker.skipped}${setup}` : '';
  const ownCpu = o.worker?.cpuMs !== undefined ? ` own-cpu=${(o.worker.cpuMs / 1000).toFixed(2)} s` : '';
  return `${seconds(o.wallMs)} s${inner} cpu=${o.cpuS.toFixed(2)} s${ownCpu} srv-cpu=${o.serverCpuS.toFixed(2)} s rss=${o.maxRssMB.toFixed(0)} MB${w} ${check.summary}${o.error ? ` ERROR ${o.error}` : ''}`;
}

/**
 * Deploy `size` files to `server` with every contender. `sdkConcurrency`: which ceiling concurrencies to
 * try (the caller narrows it to the best one for large sites).
 */
export async function uploadPart(
  opts: BenchOptions,
  server: S3Server,
  size: number,
  sdkConcurrency: number[],
): Promise<UploadResult> {
  const site: Site = ensureSite(opts.workDir, 'mixed', size, opts.seed);
  // RGW: two rounds up to 2,000 files, one above (a round of 10,000 takes minutes). s3rver (one JavaScript
  // process, at most 1,000 files) swings 2-3x between rounds: three, for a median that means something.
  const rounds = opts.rounds ?? (server.name === 's3rver' ? 3 : size > 2000 ? 1 : 2);
  log(
    `${server.name}: site of ${site.files.length} files, ${mib(site.totalBytes)} MiB at ${site.dir}; ${rounds} round(s)`,
  );
  await server.reset();
  await createBucket(server, BUCKET);
  const client = serverClient(server);
  const scratch = path.join(opts.workDir, 'scratch');
  const appRoot = path.join(opts.workDir, 'app-root');
  mkdirSync(scratch, { recursive: true });
  mkdirSync(appRoot, { recursive: true });
  const contenders = contendersFor(opts, sdkConcurrency);
  const rows: UploadRow[] = contenders.map((contender) => ({
    contender,
    runs: { first: [], unchanged: [], changed: [] },
  }));
  const rng = new Rng(opts.seed * 31 + size);
  const oursExtraKeys = new Set<string>();
  const profiles: UploadResult['profiles'] = [];
  const sampleOf = (n: number) => rng.sample(site.files.length, n).map((i) => site.files[i]!.rel);
  // Always compare the biggest file's bytes too: a multipart mistake shows there first.
  const biggest = site.files.reduce((a, b) => (b.size > a.size ? b : a)).rel;

  for (let round = 0; round < rounds; round++) {
    // Rotate the order each round so no contender always runs first (or right after a heavy one).
    // After the first round the SDK ceiling only runs at the two concurrencies that were fastest in it.
    const sdkKept = new Set(
      rows
        .filter((r) => r.contender.family === 'sdk' && r.runs.first.length)
        .sort((a, b) => (a.runs.first[0]!.outcome.innerMs ?? 0) - (b.runs.first[0]!.outcome.innerMs ?? 0))
        .slice(0, 2),
    );
    const active = rows.filter((r) => round === 0 || r.contender.family !== 'sdk' || sdkKept.has(r));
    const order = active.map((_, i) => active[(i + round) % active.length]!);
    const prefixOf = (row: UploadRow) => `s${size}-r${round}-${row.contender.id}`;
    const deploy = async (row: UploadRow, phase: Phase, sample: string[]) => {
      const prefix = prefixOf(row);
      // Profiles: createAll in every phase of the first round, and the SDK ceiling's first deploy to compare.
      const family = row.contender.family;
      const profile = opts.cpuProf && round === 0 && (family === 'ours' || family === 'sdk');
      const target: DeployTarget = {
        server,
        bucket: BUCKET,
        prefix,
        site,
        appRoot,
        scratch,
        cpuProfDir: profile
          ? path.join(opts.workDir, 'profiles', `${server.name}-${size}-${row.contender.id}-${phase}`)
          : undefined,
      };
      if (target.cpuProfDir)
        profiles.push({
          dir: target.cpuProfDir,
          label: `${row.contender.label} (${row.contender.id}), ${phase}`,
        });
      const outcome = await row.contender.run(target);
      // createAll and the CLI keep their record under the prefix.
      const ours = row.contender.family === 'ours' || row.contender.family === 'cli';
      const check = await verifyDeploy(
        client,
        BUCKET,
        prefix,
        site,
        sample,
        (k) => ours && !/\/(static|admin)\//.test(k),
      );
      if (ours) for (const k of check.extra) oursExtraKeys.add(k.slice(prefix.length + 1));
      if (outcome.error && check.ok) check.ok = false;
      if (outcome.error) check.summary = `FAILED: ${outcome.error.split('\n')[0]}`;
      row.runs[phase].push({ outcome, check });
      log(
        `${server.name} ${size} r${round} ${phase.padEnd(9)} ${row.contender.id.padEnd(12)} ${describe(outcome, check)}`,
      );
    };

    for (const row of order) await deploy(row, 'first', [...sampleOf(20), biggest]);
    for (const row of order) if (!row.contender.firstOnly) await deploy(row, 'unchanged', sampleOf(5));
    const edit = editSite(site, 0.02, rng, `r${round}`);
    try {
      const changed = edit.changed.map((f) => f.rel);
      for (const row of order) {
        if (!row.contender.firstOnly) await deploy(row, 'changed', [...changed.slice(0, 30), ...sampleOf(5)]);
      }
    } finally {
      edit.restore();
    }
  }
  client.destroy();
  const startup = await measureStartup();
  return {
    startup,
    backend: server.name,
    site: { kind: site.kind, files: site.files.length, bytes: site.totalBytes },
    rounds,
    rows,
    oursExtraKeys: [...oursExtraKeys],
    profiles,
  };
}
