// Issue 3's measurement: createAll files/second for 2,000 small text files against one server at several
// concurrency settings (first deploy into an empty prefix), interleaved round by round, next to the plain
// SDK at the same concurrency; and the default it suggests.

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { BenchOptions } from './args.js';
import { type Contender, type Outcome, oursContender, sdkContender } from './contenders.js';
import { Rng } from './rng.js';
import { createBucket, type S3Server, serverClient } from './servers.js';
import { ensureSite } from './site.js';
import { median, mib } from './stats.js';
import { BUCKET, log } from './upload-part.js';
import { verifyDeploy } from './verify.js';

export interface SweepPoint {
  concurrency: number;
  ours: Outcome[];
  sdk: Outcome[];
  checksOk: boolean;
}

export interface SweepResult {
  backend: string;
  files: number;
  bytes: number;
  rounds: number;
  points: SweepPoint[];
  /** The smallest concurrency whose median files/s is within 5% of the best. */
  /** The concurrency with the most files/s (median). */
  best: number | undefined;
  /** Every concurrency within 5% of the best: the plateau where the server (or CPU), not concurrency, limits. */
  plateau: number[];
}

export const filesPerSecond = (files: number, o: Outcome[]) =>
  files / (median(o.map((x) => x.innerMs ?? x.wallMs)) / 1000);

export async function sweepPart(
  opts: BenchOptions,
  server: S3Server,
  withSdk: boolean,
): Promise<SweepResult> {
  const site = ensureSite(opts.workDir, 'small', opts.sweepFiles, opts.seed);
  log(
    `${server.name}: sweep over ${site.files.length} small files (${mib(site.totalBytes)} MiB), concurrency ${opts.sweepConcurrency.join('/')}`,
  );
  await server.reset();
  await createBucket(server, BUCKET);
  const client = serverClient(server);
  const appRoot = path.join(opts.workDir, 'app-root');
  mkdirSync(appRoot, { recursive: true });
  const points: SweepPoint[] = opts.sweepConcurrency.map((concurrency) => ({
    concurrency,
    ours: [],
    sdk: [],
    checksOk: true,
  }));
  const rng = new Rng(opts.seed * 17);
  for (let round = 0; round < opts.sweepRounds; round++) {
    // createAll every round; the SDK (for reference: what the server takes at that concurrency) in the first.
    const jobs: { point: SweepPoint; c: Contender; kind: 'ours' | 'sdk' }[] = [];
    for (const point of points) {
      jobs.push({ point, c: oursContender(point.concurrency), kind: 'ours' });
      if (withSdk && round === 0) jobs.push({ point, c: sdkContender(point.concurrency), kind: 'sdk' });
    }
    for (let j = 0; j < jobs.length; j++) {
      const { point, c, kind } = jobs[(j + round * 2) % jobs.length]!;
      const prefix = `sweep-r${round}-${c.id}`;
      const o = await c.run({ server, bucket: BUCKET, prefix, site, appRoot, scratch: opts.workDir });
      const sample = rng.sample(site.files.length, 10).map((i) => site.files[i]!.rel);
      const check = await verifyDeploy(
        client,
        BUCKET,
        prefix,
        site,
        sample,
        (k) => kind === 'ours' && !/\/(static|admin)\//.test(k),
      );
      if (!check.ok || o.error) point.checksOk = false;
      point[kind].push(o);
      const fps = site.files.length / ((o.innerMs ?? o.wallMs) / 1000);
      log(
        `sweep r${round} ${c.id.padEnd(9)} ${fps.toFixed(0)} files/s cpu=${((o.worker?.cpuMs ?? 0) / 1000).toFixed(2)} s ${check.summary}${o.error ? ` ERROR ${o.error}` : ''}`,
      );
    }
  }
  client.destroy();
  const ok = points.filter((p) => p.checksOk && p.ours.length);
  const best = Math.max(...ok.map((p) => filesPerSecond(site.files.length, p.ours)));
  const fps = (p: SweepPoint) => filesPerSecond(site.files.length, p.ours);
  const plateau = ok.filter((p) => fps(p) >= 0.95 * best).map((p) => p.concurrency);
  const bestPoint = ok.find((p) => fps(p) === best)?.concurrency;
  return {
    backend: server.name,
    files: site.files.length,
    bytes: site.totalBytes,
    rounds: opts.sweepRounds,
    points,
    best: bestPoint,
    plateau,
  };
}
