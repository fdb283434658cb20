// The lease (src/deploy/state/lease.ts) against the real S3 server of the run: whether the server honours
// If-None-Match: * (RGW yes, s3rver no: the fallback then runs), one winner among simultaneous takers, a
// held lease refused with its holder named, an expired one taken over at the next epoch, a renewal by a
// deploy that lost its lease refused, and a released lease taken at once. Takers whose probe runs
// alongside their lease requests (as a deploy's does) still have one winner, and the probe objects go.
import { afterAll, describe, expect, it } from 'vitest';
import {
  currentLease,
  honoursConditionalCreate,
  LeaseLostError,
  lookAtLease,
  probeConditionalCreate,
  pruneOldEpochs,
  releaseLease,
  renewLease,
  tryTakeLease,
} from '../src/deploy/state/lease.js';
import { createAll } from '../src/deploy/upload.js';
import { faults, startFaultProxy } from './helpers/fault-proxy.js';
import { freshBucket, s3Backend, testStore } from './helpers/s3.js';
import { removeTemps, s3Settings, tempDir, writeFiles } from './helpers/upload-check.js';

const store = testStore();
const options = (bucket: string, owner: string, more = {}) => ({
  store,
  bucket,
  stateFolder: 'app/.nunjucks-s3',
  owner,
  settleMs: 300,
  ...more,
});

afterAll(removeTemps);

/** The keys under the lease folder of `options`' state folder. */
async function leaseFolderKeys(bucket: string, stateFolder = 'app/.nunjucks-s3'): Promise<string[]> {
  const page = await store.listObjects({ bucket, prefix: `${stateFolder}/lease/` });
  return page.objects.map((o) => o.key.slice(`${stateFolder}/lease/`.length));
}

describe('the lease', () => {
  it('knows whether the server honours If-None-Match: * (RGW does, s3rver does not)', async () => {
    const bucket = await freshBucket('lease-probe');
    expect(await honoursConditionalCreate(options(bucket, 'a'))).toBe(s3Backend().name === 'rgw');
  });

  it('takes the lease from a look made while the generation was written, and looks again at an old one', async () => {
    const bucket = await freshBucket('lease-look');
    // A recent look that saw the lease free: the lease is taken from it, at the next epoch.
    const fresh = lookAtLease(options(bucket, 'a'));
    const taken = await tryTakeLease(options(bucket, 'a'), undefined, fresh);
    expect(taken).toMatchObject({ taken: true, lease: { epoch: 1, owner: 'a' } });
    if (!taken.taken) throw new Error('not taken');
    await releaseLease(options(bucket, 'a'), taken.lease);
    // 'b' looks (epoch 1, released), then 'c' takes epoch 2 and holds it.
    const seen = await lookAtLease(options(bucket, 'b'));
    expect(seen).toMatchObject({ epoch: 1, holder: { owner: 'a', expires: 0 } });
    expect(await tryTakeLease(options(bucket, 'c'))).toMatchObject({ taken: true, lease: { epoch: 2 } });
    // 'b''s look is older than half the settle delay (300 ms): it looks again, and finds 'c' holding.
    const old = { ...seen, startedAt: performance.now() - 200 };
    expect(await tryTakeLease(options(bucket, 'b'), undefined, Promise.resolve(old))).toMatchObject({
      taken: false,
      holder: { owner: 'c', epoch: 2 },
    });
    // A look that failed is made again too.
    const failed = Promise.reject(new Error('no answer'));
    expect(await tryTakeLease(options(bucket, 'b'), undefined, failed)).toMatchObject({
      taken: false,
      holder: { owner: 'c' },
    });
    expect((await currentLease(options(bucket, 'x')))?.owner).toBe('c');
  });

  it('has exactly one winner among simultaneous takers', async () => {
    const bucket = await freshBucket('lease-race');
    const results = await Promise.all(['a', 'b', 'c'].map((o) => tryTakeLease(options(bucket, o))));
    const winners = results.filter((r) => r.taken);
    expect(winners).toHaveLength(1);
    expect((await currentLease(options(bucket, 'x')))?.owner).toBe(
      winners[0]!.taken && winners[0]!.lease.owner,
    );
  });

  it('refuses a held lease naming its holder, takes an expired one at the next epoch, and refuses the old holder', async () => {
    const bucket = await freshBucket('lease-expiry');
    let clock = 1_000_000;
    const now = () => clock;
    const first = await tryTakeLease(options(bucket, 'a', { now, ttlMs: 1000 }));
    expect(first.taken).toBe(true);
    const refused = await tryTakeLease(options(bucket, 'b', { now, ttlMs: 1000 }));
    expect(refused).toMatchObject({ taken: false, holder: { owner: 'a', epoch: 1 } });
    clock += 1001;
    const second = await tryTakeLease(options(bucket, 'b', { now, ttlMs: 1000 }));
    expect(second).toMatchObject({ taken: true, lease: { owner: 'b', epoch: 2 } });
    const stale = first.taken ? first.lease : undefined;
    await expect(renewLease(options(bucket, 'a', { now }), stale!)).rejects.toBeInstanceOf(LeaseLostError);
    if (second.taken) {
      const renewed = await renewLease(options(bucket, 'b', { now, ttlMs: 1000 }), second.lease);
      expect(renewed.expires).toBe(clock + 1000);
      await releaseLease(options(bucket, 'b'), renewed);
    }
    expect(await tryTakeLease(options(bucket, 'c', { now }))).toMatchObject({
      taken: true,
      lease: { epoch: 3 },
    });
  });

  it('has exactly one winner among takers whose probes run alongside their lease requests', async () => {
    const bucket = await freshBucket('lease-race-probing');
    const takers = ['a', 'b', 'c'].map((o) => options(bucket, o));
    const results = await Promise.all(takers.map((o) => tryTakeLease(o, probeConditionalCreate(o))));
    const winners = results.filter((r) => r.taken);
    expect(winners).toHaveLength(1);
    expect((await currentLease(options(bucket, 'x')))?.owner).toBe(
      winners[0]!.taken && winners[0]!.lease.owner,
    );
    expect((await leaseFolderKeys(bucket)).filter((k) => k.startsWith('probe-')).sort()).toEqual([
      'probe-a',
      'probe-b',
      'probe-c',
    ]);
  });

  it('prunes a probe object a day old (its run was killed), and keeps a younger one', async () => {
    const bucket = await freshBucket('lease-prune-probe');
    await probeConditionalCreate(options(bucket, 'killed'));
    const taken = await tryTakeLease(options(bucket, 'a'));
    if (!taken.taken) throw new Error('lease not taken');
    await pruneOldEpochs(options(bucket, 'a'), taken.lease);
    expect(await leaseFolderKeys(bucket)).toContain('probe-killed');
    const dayLater = Date.now() + 24 * 60 * 60 * 1000 + 60_000;
    await pruneOldEpochs(options(bucket, 'a', { now: () => dayLater }), taken.lease);
    expect(await leaseFolderKeys(bucket)).toEqual(['000000000001.json']);
  });

  it('a deploy leaves no probe object behind, nor a deploy refused by a held lease', async () => {
    const bucket = await freshBucket('lease-deploy-probe');
    const root = tempDir('lease-probe-site');
    writeFiles(root, { 'static/a.css': 'a { color: red }\n' });
    const app = (more: Record<string, unknown> = {}) => ({
      root,
      config: s3Settings(bucket, undefined, { FLASKS3_PUT_BUCKET_ACL: false, ...more }),
    });
    await createAll(app(), { logger: { warn: () => {} } });
    expect(await leaseFolderKeys(bucket, '.nunjucks-s3')).toEqual(['000000000001.json']);

    const held = await tryTakeLease({ ...options(bucket, 'holder'), stateFolder: '.nunjucks-s3' });
    expect(held.taken).toBe(true);
    await expect(createAll(app({ FLASKS3_LEASE_WAIT: 0 }), { logger: { warn: () => {} } })).rejects.toThrow(
      /holds the lease/,
    );
    expect(await leaseFolderKeys(bucket, '.nunjucks-s3')).toEqual(['000000000001.json', '000000000002.json']);
  });

  it('a probe that fails does not fail the deploy nor leave its lease held: the lease is read back instead', async () => {
    const bucket = await freshBucket('lease-probe-fails');
    // Every PUT of the probe object fails, retries included; everything else goes through.
    const proxy = await startFaultProxy({
      target: s3Backend().endpoint,
      rules: [{ method: 'PUT', key: /\/lease\/probe-/, fault: faults.internalError() }],
    });
    try {
      const root = tempDir('lease-probe-fails-site');
      writeFiles(root, { 'static/a.css': 'a { color: red }\n' });
      const app = {
        root,
        config: s3Settings(bucket, proxy.url, { FLASKS3_PUT_BUCKET_ACL: false, FLASKS3_MAX_ATTEMPTS: 2 }),
      };
      const report = await createAll(app, { logger: { warn: () => {} } });
      expect(report.uploaded.map((e) => e.key)).toEqual(['static/a.css']);
      expect(proxy.log.some((e) => e.fault !== null && /probe-/.test(e.key ?? ''))).toBe(true);
      // Released, and no probe object: the next taker gets the next epoch at once.
      expect((await currentLease({ ...options(bucket, 'x'), stateFolder: '.nunjucks-s3' }))?.expires).toBe(0);
      expect(await leaseFolderKeys(bucket, '.nunjucks-s3')).toEqual(['000000000001.json']);
    } finally {
      await proxy.close();
    }
  });
});
