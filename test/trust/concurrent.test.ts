// Concurrent deploys: rounds of 2-4 CLI deploys of different versions started at seeded-random offsets into
// one bucket and prefix, with fingerprint 'filename', deleteStale and --only-modified, as two CI pipelines
// (or a retried job) would. After each round: every URL url_for renders for the version whose deploy
// finished last with exit 0 serves that version's bytes. After all rounds, a lone deploy of some version,
// and the same check. All along, the bucket is listed every ~150 ms: a fingerprinted key of a deploy still
// in flight that has announced its generation, or of one of the last keepDeploys (3) deploys that finished
// with exit 0, once seen, must never disappear.
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { freshBucket, testClient } from '../helpers/s3.js';
import {
  between,
  describeWrong,
  fingerprintedKeys,
  listKeys,
  makeVersions,
  type SiteVersion,
  seededRandom,
  sleep,
  trustSeed,
  writeCliConfig,
  wrongUrls,
} from '../helpers/trust.js';
import { type CliRun, ownStderr, removeTemps, runCli, s3Env } from '../helpers/upload-check.js';

const ROUNDS = 4;
const KEEP_DEPLOYS = 3;
/**
 * Samples after the one that first saw a generation before its keys count as protected. A cleanup reads
 * the generations again just before its delete request; one that read them an instant before the
 * announcement may still be deleting while the watcher sees it (docs/failure-guarantees.md).
 */
const SAMPLES_AFTER_ANNOUNCEMENT = 2;
afterAll(removeTemps);

const SETTINGS = {
  FLASKS3_FINGERPRINT: 'filename',
  FLASKS3_DELETE_STALE: true,
  FLASKS3_KEEP_DEPLOYS: KEEP_DEPLOYS,
  FLASKS3_CONCURRENCY: 8,
};

/** The time a deploy id was made (src/deploy/state/owner.ts: `20261202T143012345Z-<hex>`). */
function idTime(id: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z/.exec(id);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, +m[7]!) : 0;
}

/** A generation the watcher saw announced: whose version it is, when its run began, the sample that saw it. */
interface Announcement {
  version: string;
  madeAt: number;
  sample: number;
}

/**
 * Lists the bucket until stopped; records every protected key that was seen and then vanished. Each sample
 * first reads the generations announced in the state folder (which version's keys each names, read
 * once), then lists the static keys.
 */
function watchProtectedKeys(
  bucket: string,
  fpKeys: ReadonlyMap<string, ReadonlySet<string>>,
  protectedNow: (announced: readonly Announcement[], sample: number) => Map<string, string>,
) {
  const client = testClient();
  const deleted: string[] = [];
  const announced = new Map<string, Announcement>();
  let seen = new Set<string>();
  let sample = 0;
  let running = true;
  const versionOf = async (key: string): Promise<string | undefined> => {
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const keys = JSON.parse(gunzipSync(await got.Body!.transformToByteArray()).toString('utf8')) as string[];
    for (const [name, fps] of fpKeys) if ([...fps].every((k) => keys.includes(k))) return name;
    return undefined;
  };
  const readAnnouncements = async () => {
    for (const key of await listKeys(bucket, '.nunjucks-s3/gen/', client)) {
      const id = /\/gen\/([^/]+)\.keys\.json\.gz$/.exec(key)?.[1];
      if (id === undefined || announced.has(id)) continue;
      const version = await versionOf(key).catch(() => undefined); // deleted meanwhile: a finished run
      if (version !== undefined) announced.set(id, { version, madeAt: idTime(id), sample });
    }
  };
  const loop = (async () => {
    while (running) {
      sample++;
      const guard = protectedNow([...announced.values()], sample); // protected over the whole interval
      // s3rver fails a listing now and then while files are written and deleted under it: skip that sample.
      const now = await readAnnouncements()
        .then(() => listKeys(bucket, 'static/', client))
        .catch(() => undefined);
      if (now === undefined) {
        await sleep(50);
        continue;
      }
      for (const [key, why] of guard) if (seen.has(key) && !now.has(key)) deleted.push(`${key} (${why})`);
      seen = now;
      await sleep(150);
    }
  })();
  return {
    deleted,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

describe('2-4 concurrent deploys of different versions, fingerprint filename, deleteStale', () => {
  it(`${ROUNDS} seeded rounds, then a lone deploy: every URL right, no needed fingerprinted key deleted`, async () => {
    const seed = trustSeed();
    const random = seededRandom(seed);
    const versions = makeVersions({ seed, count: 4, files: 150, label: 'concurrent' });
    const bucket = await freshBucket('trust-conc');
    for (const v of versions) writeCliConfig(v, bucket, SETTINGS);
    const fpKeys = new Map(versions.map((v) => [v.name, fingerprintedKeys(v, 'static')]));

    // version -> start times of its deploys running. A deploy is protected from others' cleanup once it has
    // announced its generation, after walking and hashing its files and reading the record: not in its
    // first second or two (docs/failure-guarantees.md, "Not guaranteed"). The watcher counts a deploy as
    // in flight from a few samples after it saw the deploy's own generation (made after the deploy began).
    const inFlight = new Map<string, number[]>();
    const finished: string[] = []; // versions whose deploy exited 0, in order
    const protectedNow = (announced: readonly Announcement[], sample: number) => {
      const out = new Map<string, string>();
      const announcedRun = (name: string, started: number) =>
        announced.some(
          (a) =>
            a.version === name && a.madeAt >= started - 1 && sample - a.sample > SAMPLES_AFTER_ANNOUNCEMENT,
        );
      for (const [name, starts] of inFlight)
        if (starts.some((t) => announcedRun(name, t)))
          for (const k of fpKeys.get(name)!) out.set(k, `${name} in flight`);
      for (const name of finished.slice(-KEEP_DEPLOYS))
        for (const k of fpKeys.get(name)!)
          if (!out.has(k)) out.set(k, `${name} among the last ${KEEP_DEPLOYS}`);
      return out;
    };
    const deploy = async (version: SiteVersion, delayMs: number): Promise<CliRun> => {
      await sleep(delayMs);
      const started = Date.now();
      inFlight.set(version.name, [...(inFlight.get(version.name) ?? []), started]);
      const run = await runCli(['upload', '--only-modified', '--quiet'], { cwd: version.root, env: s3Env() });
      inFlight.set(
        version.name,
        inFlight.get(version.name)!.filter((t) => t !== started),
      );
      if (run.code === 0) finished.push(version.name);
      return run;
    };
    const watch = watchProtectedKeys(bucket, fpKeys, protectedNow);

    const problems: string[] = [];
    try {
      for (let round = 1; round <= ROUNDS; round++) {
        const n = between(random, 2, 4);
        const order = [...versions].sort(() => random() - 0.5).slice(0, n);
        const before = finished.length;
        const runs = await Promise.all(order.map((v) => deploy(v, between(random, 0, 1500))));
        const exits = order.map((v, i) => `${v.name}:${runs[i]!.code}`).join(' ');
        if (finished.length === before) {
          problems.push(
            `round ${round} [${exits}]: no deploy exited 0: ${runs.map((r) => ownStderr(r.stderr)).join(' | ')}`,
          );
          continue;
        }
        const last = versions.find((v) => v.name === finished.at(-1))!;
        const wrong = await wrongUrls(last, bucket, SETTINGS);
        if (wrong.length)
          problems.push(describeWrong(`round ${round} [${exits}], ${last.name} finished last`, wrong, seed));
      }
      const lone = versions[between(random, 0, versions.length - 1)]!;
      const run = await deploy(lone, 0);
      expect(run.code, `${ownStderr(run.stderr)} (TRUST_SEED=${seed})`).toBe(0);
      const wrong = await wrongUrls(lone, bucket, SETTINGS);
      if (wrong.length)
        problems.push(describeWrong(`a lone deploy of ${lone.name} after the rounds`, wrong, seed));
    } finally {
      await watch.stop();
    }
    if (watch.deleted.length) {
      problems.push(
        `${watch.deleted.length} fingerprinted key(s) still needed were deleted (TRUST_SEED=${seed}):\n  ${watch.deleted.slice(0, 15).join('\n  ')}`,
      );
    }
    expect(problems, problems.join('\n')).toEqual([]);
  }, 300_000);
});
