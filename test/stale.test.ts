// stale.ts: which keys are stale (table-driven), then listing (paged) and deleting against the real S3
// server, and cleanStale's guard. createAll's use of it (deploy generations) is in fingerprint-upload.test.ts.
import { ListObjectsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { endedInBoth } from '../src/deploy/ownership.js';
import type { RecordedDeploy } from '../src/deploy/record.js';
import {
  cleanStale,
  keptKeys,
  listPrefixes,
  recordFolder,
  type StaleRules,
  selectStale,
} from '../src/deploy/stale.js';
import {
  generationKeys,
  isInFlight,
  readGenerations,
  writeGeneration,
} from '../src/deploy/state/generations.js';
import { newDeployOwner } from '../src/deploy/state/owner.js';
import { deleteKeys, listKeys } from '../src/s3/objects.js';
import { freshBucket, testClient, testStore } from './helpers/s3.js';

describe('listPrefixes', () => {
  it.each<[string[], string[]]>([
    [['static'], ['static/']],
    [
      ['p/static', 'p/admin/static'],
      ['p/admin/static/', 'p/static/'],
    ],
    [['static', 'static/admin'], ['static/']],
    [['static', 'static'], ['static/']],
    [
      ['static', 'statics'],
      ['static/', 'statics/'],
    ],
    [['', 'admin/static'], ['']],
    [['p', 'p/admin'], ['p/']],
  ])('%j -> %j', (folderKeys, expected) => {
    expect(listPrefixes(folderKeys)).toEqual(expected);
  });
});

describe('selectStale', () => {
  const rules = (over: Partial<StaleRules> = {}): StaleRules => ({
    current: new Set(['static/a.css', 'static/a.0123456789ab.css']),
    kept: new Set(['static/a.aaaaaaaaaaaa.css']),
    recordFolder: recordFolder(''),
    includeHidden: false,
    owns: (key) => !key.startsWith('static/theirs/'),
    inFlight: new Set(['static/a.cccccccccccc.css']),
    ...over,
  });
  it.each<[string, string[], string, Partial<StaleRules>, string[]]>([
    [
      'current and kept keys stay',
      ['static/a.css', 'static/a.0123456789ab.css', 'static/a.aaaaaaaaaaaa.css'],
      'static/',
      {},
      [],
    ],
    [
      'gone files are stale',
      ['static/a.css', 'static/b.css', 'static/a.bbbbbbbbbbbb.css'],
      'static/',
      {},
      ['static/b.css', 'static/a.bbbbbbbbbbbb.css'],
    ],
    [
      'hidden files are kept without includeHidden',
      ['static/.env', 'static/.well-known/x', 'static/d/.x'],
      'static/',
      {},
      [],
    ],
    [
      'hidden files are judged with includeHidden',
      ['static/.env', 'static/d/.x'],
      'static/',
      { includeHidden: true },
      ['static/.env', 'static/d/.x'],
    ],
    ['a hidden prefix segment does not hide', ['.well/static/x'], '.well/static/', {}, ['.well/static/x']],
    [
      'the record folder is never stale',
      ['.nunjucks-s3/record.json', 'x.css'],
      '',
      { includeHidden: true },
      ['x.css'],
    ],
    [
      'the record folder under a prefix',
      ['p/.nunjucks-s3/record.json', 'p/x'],
      'p/',
      { includeHidden: true, recordFolder: 'p/.nunjucks-s3/' },
      ['p/x'],
    ],
    ['folder placeholders stay', ['static/', 'static/img/'], 'static/', {}, []],
    [
      'keys no state of this app names are left alone',
      ['static/theirs/x.css', 'static/b.css'],
      'static/',
      {},
      ['static/b.css'],
    ],
    ['keys of a deploy in flight stay', ['static/a.cccccccccccc.css'], 'static/', {}, []],
    [
      "another app's state folder, wherever it lies, is never stale (an app at the root)",
      ['v2/.nunjucks-s3/record.json', 'v2/.nunjucks-s3/gen/x.live.json', 'x.css'],
      '',
      { includeHidden: true },
      ['x.css'],
    ],
    ['keys outside the prefix are never stale', ['other/x', 'staticx/y'], 'static/', {}, []],
  ])('%s', (_name, listed, prefix, over, expected) => {
    expect(selectStale(listed, prefix, rules(over))).toEqual(expected);
  });
});

describe('keptKeys', () => {
  const d = (id: string, keys: unknown): RecordedDeploy => ({ id, at: '', keys: keys as string[] });
  const deploys = [d('1', ['a1', 'b1']), d('2', ['a2']), d('3', ['a3']), d('4', 'junk'), d('5', ['a5', 7])];
  it.each<[number, string[]]>([
    [0, []],
    [1, ['a5']],
    [2, ['a5']],
    [3, ['a3', 'a5']],
    [10, ['a1', 'a2', 'a3', 'a5', 'b1']],
  ])('keepDeploys %i keeps %j (malformed entries ignored)', (keep, expected) => {
    expect([...keptKeys(deploys, keep)].sort()).toEqual(expected);
  });
});

async function put(bucket: string, keys: string[]) {
  const client = testClient();
  for (const Key of keys) await client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: Key }));
}

async function allKeys(bucket: string): Promise<string[]> {
  const out = await testClient().send(new ListObjectsCommand({ Bucket: bucket }));
  return (out.Contents ?? []).map((o) => o.Key!).sort();
}

describe('against the S3 server', () => {
  it('listKeys pages through every key under a prefix', async () => {
    const bucket = await freshBucket('stale-list');
    const keys = Array.from({ length: 7 }, (_, i) => `static/f${i}.css`);
    await put(bucket, [...keys, 'other/x', 'staticx']);
    expect(await listKeys(testStore(), bucket, 'static/', undefined, 2)).toEqual(keys);
    expect(await listKeys(testStore(), bucket, '', undefined, 3)).toEqual(['other/x', ...keys, 'staticx']);
    expect(await listKeys(testStore(), bucket, 'nothing/')).toEqual([]);
  });

  it('deleteKeys deletes exactly the keys given, in batches', async () => {
    const bucket = await freshBucket('stale-del');
    await put(bucket, ['static/a', 'static/b', 'static/c', 'other/a']);
    const result = await deleteKeys(testClient(), bucket, ['static/b', 'static/a', 'static/missing'], []);
    expect(result.failed).toEqual([]);
    expect(result.deleted).toEqual(['static/a', 'static/b', 'static/missing']);
    expect(await allKeys(bucket)).toEqual(['other/a', 'static/c']);
  });

  it('cleanStale deletes what is stale, keeps kept generations, never touches other prefixes', async () => {
    const bucket = await freshBucket('stale-clean');
    await put(bucket, [
      'p/static/a.css',
      'p/static/a.111111111111.css',
      'p/static/a.222222222222.css',
      'p/static/a.333333333333.css',
      'p/static/gone.js',
      'p/static/.env',
      'p/.nunjucks-s3/record.json',
      'p/other/x',
      'static/a.css',
    ]);
    const base = {
      store: testStore(),
      client: () => testClient(),
      bucket,
      prefix: 'p',
      folderKeys: ['p/static'],
      current: new Set(['p/static/a.css', 'p/static/a.333333333333.css']),
      previousDeploys: [
        { id: '1', at: '', keys: ['p/static/a.111111111111.css'] },
        { id: '2', at: '', keys: ['p/static/a.222222222222.css'] },
      ],
      keepDeploys: 1,
      maxDeletes: 10,
      includeHidden: false,
      secrets: [],
      pageSize: 2,
      owns: (key: string) => key !== 'p/static/a.111111111111.css' || ownsOld,
      inFlight: new Set<string>(),
    };
    let ownsOld = false;
    const notOurs = await cleanStale({ ...base, dryRun: true });
    expect(notOurs.deleted).toEqual(['p/static/gone.js']);
    expect(notOurs.leftAlone).toEqual(['p/static/a.111111111111.css']);
    ownsOld = true;
    const dry = await cleanStale({ ...base, dryRun: true });
    expect(dry).toEqual({
      deleted: ['p/static/a.111111111111.css', 'p/static/gone.js'],
      failed: [],
      warnings: [],
      leftAlone: [],
    });
    expect(await allKeys(bucket)).toHaveLength(9);

    const refused = await cleanStale({ ...base, dryRun: false, maxDeletes: 1 });
    expect(refused.deleted).toEqual([]);
    expect(refused.warnings).toHaveLength(1);
    expect(refused.warnings[0]).toContain(
      `deleteStale / FLASKS3_DELETE_STALE: 2 objects under s3://${bucket}/p/static/ are not part of this deploy, ` +
        'more than maxDeletes / FLASKS3_MAX_DELETES allows (1); deleted nothing. ' +
        'If they really are stale, raise maxDeletes / FLASKS3_MAX_DELETES to at least 2 (--max-deletes 2)',
    );
    expect(await allKeys(bucket)).toHaveLength(9);

    const done = await cleanStale({ ...base, dryRun: false });
    expect(done).toEqual({
      deleted: ['p/static/a.111111111111.css', 'p/static/gone.js'],
      failed: [],
      warnings: [],
      leftAlone: [],
    });
    expect(await allKeys(bucket)).toEqual([
      'p/.nunjucks-s3/record.json',
      'p/other/x',
      'p/static/.env',
      'p/static/a.222222222222.css',
      'p/static/a.333333333333.css',
      'p/static/a.css',
      'static/a.css',
    ]);
  });

  it('cleanStale spares the keys of a deploy that announced its generation while the cleanup listed', async () => {
    const bucket = await freshBucket('stale-late-gen');
    const store = testStore();
    await put(bucket, ['static/a.css', 'static/old.111111111111.css', 'static/old.222222222222.css']);
    const generations = { store, bucket, stateFolder: '.nunjucks-s3' };
    const announceDuringListing = {
      listKeys: async (prefix: string) => {
        const listed = await listKeys(store, bucket, prefix);
        // Another deploy, rolling back to the version with old.111111111111.css, announces itself now.
        const other = newDeployOwner();
        await writeGeneration(
          generations,
          other,
          generationKeys(['static/old.111111111111.css']),
          Date.now() + 60_000,
        );
        return listed;
      },
      deleteKeys: (keys: readonly string[]) => deleteKeys(testClient(), bucket, keys, []),
    };
    const stillInFlight = async () => {
      const now = Date.now();
      const gens = (await readGenerations(generations)).filter((g) => isInFlight(g, now));
      return new Set(gens.flatMap((g) => g.keys));
    };
    const result = await cleanStale(
      {
        store,
        client: () => testClient(),
        bucket,
        prefix: '',
        folderKeys: ['static'],
        current: new Set(['static/a.css']),
        previousDeploys: [],
        keepDeploys: 0,
        maxDeletes: 10,
        includeHidden: false,
        dryRun: false,
        secrets: [],
        owns: () => true,
        inFlight: new Set<string>(), // read before the listing: nobody in flight then
        stillInFlight,
      },
      announceDuringListing,
    );
    expect(result.deleted).toEqual(['static/old.222222222222.css']);
    expect((await allKeys(bucket)).filter((k) => k.startsWith('static/'))).toEqual([
      'static/a.css',
      'static/old.111111111111.css',
    ]);
  });
});

describe('endedInBoth', () => {
  it('settles only the generations that both readings saw ended (one renewed meanwhile is in flight)', () => {
    const first = { owns: () => true, inFlight: new Set<string>(), ended: ['g1', 'g2', 'g3'] };
    const later = { owns: () => true, inFlight: new Set(['static/k']), ended: ['g1', 'g3', 'g4'] };
    const settled = endedInBoth(first, later);
    expect(settled.ended).toEqual(['g1', 'g3']);
    expect(settled.inFlight).toBe(first.inFlight);
  });
});
