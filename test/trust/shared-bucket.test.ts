// Two apps sharing a bucket: one served at the bucket root (staticUrlPath '', includeHidden), one under
// the prefix 'v2'; both with deleteStale. They deploy versions in a seeded interleaving. After every deploy,
// every URL url_for renders for each app's last deployed version serves its bytes, and each app's upload
// record is still there: neither app ever deletes the other's files or state.
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { createAll, recordKey } from '../../src/index.js';
import { freshBucket, testClient } from '../helpers/s3.js';
import {
  between,
  describeWrong,
  makeVersions,
  type SiteVersion,
  seededRandom,
  trustSeed,
  versionApp,
  wrongUrls,
} from '../helpers/trust.js';
import { removeTemps } from '../helpers/upload-check.js';

afterAll(removeTemps);

const DEPLOYS = 8;

interface SharedApp {
  name: string;
  versions: SiteVersion[];
  settings: Record<string, unknown>;
  /** Which rendered files are uploaded (and so checked). */
  include: (rel: string) => boolean;
  record: string;
  deployed?: SiteVersion;
}

async function exists(bucket: string, key: string): Promise<boolean> {
  try {
    await testClient().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch {
    return false;
  }
}

describe('two apps in one bucket, one at the root, both with deleteStale', () => {
  it(`${DEPLOYS} interleaved deploys: every URL of both apps right, neither deletes the other's files or record`, async () => {
    const seed = trustSeed();
    const random = seededRandom(seed);
    const bucket = await freshBucket('trust-shared');
    const root: SharedApp = {
      name: 'root app',
      versions: makeVersions({
        seed,
        count: 3,
        files: 120,
        hidden: true,
        staticUrlPath: '',
        label: 'shared-root',
      }),
      settings: { FLASKS3_DELETE_STALE: true, FLASKS3_INCLUDE_HIDDEN: true, FLASKS3_ONLY_MODIFIED: true },
      include: () => true,
      record: recordKey(''),
    };
    const prefixed: SharedApp = {
      name: "app under prefix 'v2'",
      versions: makeVersions({ seed: seed + 1, count: 3, files: 120, label: 'shared-v2' }),
      settings: { FLASKS3_DELETE_STALE: true, FLASKS3_PREFIX: 'v2', FLASKS3_ONLY_MODIFIED: true },
      include: (rel) => !rel.split('/').some((s) => s.startsWith('.')),
      record: recordKey('v2'),
    };
    const apps = [prefixed, root];
    const problems: string[] = [];
    for (let i = 0; i < DEPLOYS; i++) {
      const app = apps[i % 2]!;
      const version = app.versions[between(random, 0, app.versions.length - 1)]!;
      const step = `deploy ${i + 1}: ${app.name} ${version.name}`;
      try {
        await createAll(versionApp(version, bucket, app.settings));
        app.deployed = version;
      } catch (err) {
        problems.push(`${step} failed: ${(err as Error).message.slice(0, 300)}`);
      }
      for (const a of apps) {
        if (!a.deployed) continue;
        const wrong = await wrongUrls(a.deployed, bucket, a.settings, a.include);
        if (wrong.length)
          problems.push(describeWrong(`after ${step}, ${a.name} ${a.deployed.name}`, wrong, seed));
        if (!(await exists(bucket, a.record)))
          problems.push(`after ${step}: ${a.name}'s record ${a.record} is gone`);
      }
    }
    expect(problems, problems.join('\n')).toEqual([]);
  }, 180_000);
});
