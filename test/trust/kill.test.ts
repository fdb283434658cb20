// Kill at any instant: deploys of alternating versions v1/v2/v3 (files changed, added and removed between
// them; one large enough for multipart), each with --only-modified, killed with SIGKILL at seeded-random
// instants drawn over the whole length of a run's transfer, from its first PUT to its exit (record
// checkpoints, multipart parts, the final record write). After half the kills (seeded), and at the end,
// the version that last completed is deployed again, to completion, with --only-modified (a roll-back),
// and every URL url_for renders for it must serve its bytes. Uploads go through the fault proxy, which slows each asset PUT a little so that a run
// lasts long enough to be killed in every phase. The same attack, shorter, with trustRecord: the record
// alone is trusted, except after a kill (the killed run's in-flight marker makes the next run list once).
import { afterAll, describe, expect, it } from 'vitest';
import { type FaultProxy, faults, startFaultProxy } from '../helpers/fault-proxy.js';
import { freshBucket, s3Backend } from '../helpers/s3.js';
import {
  between,
  describeWrong,
  makeVersions,
  type SiteVersion,
  seededRandom,
  sleep,
  trustSeed,
  writeCliConfig,
  wrongUrls,
} from '../helpers/trust.js';
import { ownStderr, removeTemps, s3Env, startCli } from '../helpers/upload-check.js';

const KILLS = 10;
const TRUSTING_KILLS = 5;
const proxies: FaultProxy[] = [];
afterAll(async () => {
  for (const p of proxies.splice(0)) await p.close();
  removeTemps();
});

const SETTINGS = {
  FLASKS3_CONCURRENCY: 8,
  FLASKS3_MULTIPART_THRESHOLD: 5 * 1024 * 1024,
  FLASKS3_GZIP: true,
  FLASKS3_GZIP_ONLY_EXTS: ['css', 'js'],
};

/**
 * Deploy `version` with --only-modified through the proxy. With `killAfterMs`, SIGKILL it that long after
 * its first asset PUT reached the proxy (a kill during start-up would find nothing to break). Resolves
 * with the run and the milliseconds from its first asset PUT to its end.
 */
async function deploy(
  version: SiteVersion,
  bucket: string,
  proxy: FaultProxy | undefined,
  killAfterMs?: number,
  settings: Record<string, unknown> = SETTINGS,
) {
  writeCliConfig(version, bucket, settings, proxy?.url);
  proxy?.clearLog();
  const { child, done } = startCli(['upload', '--only-modified', '--quiet'], {
    cwd: version.root,
    env: s3Env(),
  });
  let exited = false;
  void done.then(() => (exited = true));
  while (proxy && !exited && !proxy.log.some((e) => e.method === 'PUT' && e.key?.startsWith('static/')))
    await sleep(20);
  const firstPut = Date.now();
  if (killAfterMs !== undefined) {
    await Promise.race([sleep(killAfterMs), done]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  const run = await done;
  return { run, transferMs: Date.now() - firstPut };
}

/** `kills` SIGKILLs with roll-backs (see the top of this file); resolves to the problems found. */
async function killAttack(kills: number, settings: Record<string, unknown>) {
  const seed = trustSeed();
  const random = seededRandom(seed);
  const versions = makeVersions({ seed, count: 3, files: 150, largeBytes: 6 * 1024 * 1024, label: 'kill' });
  const bucket = await freshBucket('trust-kill');
  const proxy = await startFaultProxy({
    target: s3Backend().endpoint,
    rules: [{ method: 'PUT', key: /^static\//, fault: faults.delay(10) }],
  });
  proxies.push(proxy);

  // The first deploy runs to the end: the length of its transfer (first PUT to exit, the final record
  // write included) is the span kills are drawn over.
  const { run: first, transferMs: runLength } = await deploy(
    versions[0]!,
    bucket,
    proxy,
    undefined,
    settings,
  );
  expect(first.code, `${ownStderr(first.stderr)} (TRUST_SEED=${seed})`).toBe(0);

  const schedule: string[] = [];
  const problems: string[] = [];
  let lastGood = versions[0]!;
  /** Roll back: deploy the version that last completed again, to completion, and check every URL. */
  const rollBack = async () => {
    const { run } = await deploy(lastGood, bucket, undefined, undefined, settings);
    schedule.push(`${lastGood.name}:${run.code}`);
    if (run.code !== 0) {
      problems.push(
        `roll-back to ${lastGood.name} exited ${run.code}: ${ownStderr(run.stderr).slice(0, 300)}`,
      );
      return;
    }
    const wrong = await wrongUrls(lastGood, bucket);
    if (wrong.length) problems.push(describeWrong(`after [${schedule.join(' ')}]`, wrong, seed));
  };
  for (let i = 0; i < kills; i++) {
    const version = versions[(i + 1) % versions.length]!;
    const at = between(random, 0, Math.round(runLength * 1.1));
    const { run } = await deploy(version, bucket, proxy, at, settings);
    schedule.push(`${version.name}@${at}ms:${run.signal ?? run.code}`);
    if (run.code === 0) lastGood = version;
    // Half the kills (seeded) are followed by a roll-back, as a user would after a failed deploy.
    else if (random() < 0.5) await rollBack();
  }
  await rollBack();
  expect(problems, `transfer ${runLength} ms (TRUST_SEED=${seed}):\n${problems.join('\n')}`).toEqual([]);
}

describe('SIGKILL at seeded-random instants across deploys of alternating versions', () => {
  it(`${KILLS} kills, with roll-backs to the last completed version: every URL serves that version's bytes`, async () => {
    await killAttack(KILLS, SETTINGS);
  }, 300_000);

  it(`with trustRecord, ${TRUSTING_KILLS} kills with roll-backs: every URL serves that version's bytes`, async () => {
    await killAttack(TRUSTING_KILLS, { ...SETTINGS, FLASKS3_TRUST_RECORD: true });
  }, 300_000);
});
