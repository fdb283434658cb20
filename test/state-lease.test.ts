// The lease (src/deploy/state/lease.ts) against the real S3 server of the run: whether the server honours
// If-None-Match: * (RGW yes, s3rver no: the fallback then runs), one winner among simultaneous takers, a
// held lease refused with its holder named, an expired one taken over at the next epoch, a renewal by a
// deploy that lost its lease refused, and a released lease taken at once.
import { describe, expect, it } from 'vitest';
import {
  currentLease,
  honoursConditionalCreate,
  LeaseLostError,
  releaseLease,
  renewLease,
  tryTakeLease,
} from '../src/deploy/state/lease.js';
import { freshBucket, s3Backend, testStore } from './helpers/s3.js';

const store = testStore();
const options = (bucket: string, owner: string, more = {}) => ({
  store,
  bucket,
  stateFolder: 'app/.nunjucks-s3',
  owner,
  settleMs: 300,
  ...more,
});

describe('the lease', () => {
  it('knows whether the server honours If-None-Match: * (RGW does, s3rver does not)', async () => {
    const bucket = await freshBucket('lease-probe');
    expect(await honoursConditionalCreate(options(bucket, 'a'))).toBe(s3Backend().name === 'rgw');
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
});
