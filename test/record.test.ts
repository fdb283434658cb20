import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { mustConfirm } from '../src/deploy/confirm-record.js';
import { emptyRecord, parseRecord, RECORD_FORMAT, recordKey, serializeRecord } from '../src/deploy/record.js';
import { deltaKey, inflightKey, newRunId } from '../src/deploy/record-delta.js';
import { RecordKeeper } from '../src/deploy/record-keeper.js';
import { readRecord, readRecordAgain, writeDelta, writeRecord } from '../src/deploy/record-store.js';
import type { ObjectStore } from '../src/s3/object-store.js';
import { freshBucket, testClient, testStore, uniqueBucket } from './helpers/s3.js';
import { listKeys } from './helpers/trust.js';

const H = '0123456789abcdef';
const S = 'fedcba9876543210';

describe('recordKey', () => {
  it.each([
    ['', '.nunjucks-s3/record.json'],
    ['assets', 'assets/.nunjucks-s3/record.json'],
    ['a/B', 'a/B/.nunjucks-s3/record.json'],
  ])('prefix %j: %s', (prefix, key) => {
    expect(recordKey(prefix)).toBe(key);
  });
});

describe('parseRecord / serializeRecord', () => {
  it('round-trips, keeping unknown fields and deploys, dropping settings nothing refers to', () => {
    const r = emptyRecord('b', 'p');
    r.objects['p/static/a.css'] = { hash: H, settings: S, size: 12 };
    r.settings[S] = { ContentType: 'text/css; charset=utf-8', gzip: false };
    r.settings['1111111111111111'] = { ContentType: 'unused' };
    r.deploys.push({ id: 'd1', at: '2026-01-01T00:00:00.000Z', keys: ['p/static/a.css'] });
    r.futureField = { x: 1 };
    const text = serializeRecord(r, new Date('2026-02-03T04:05:06.000Z'));
    const parsed = parseRecord(text, 'b', 'p');
    expect('record' in parsed).toBe(true);
    if (!('record' in parsed)) return;
    expect(parsed.record.format).toBe(RECORD_FORMAT);
    expect(parsed.record.updatedAt).toBe('2026-02-03T04:05:06.000Z');
    expect({ ...parsed.record.objects }).toEqual({ 'p/static/a.css': { hash: H, settings: S, size: 12 } });
    expect(Object.keys(parsed.record.settings)).toEqual([S]);
    expect(parsed.record.deploys).toEqual(r.deploys);
    expect(parsed.record.futureField).toEqual({ x: 1 });
  });

  it('drops malformed entries (their files are uploaded again) and keeps a __proto__ key as a key', () => {
    const text = JSON.stringify({
      format: RECORD_FORMAT,
      version: 1,
      objects: {
        good: { hash: H, settings: S, size: 1 },
        badHash: { hash: 'xyz', settings: S, size: 1 },
        noSize: { hash: H, settings: S },
        __proto__: { hash: H, settings: S, size: 2 },
      },
      settings: { [S]: {}, 'not-a-signature': {} },
    });
    // JSON.stringify drops a literal __proto__ key; write it by hand.
    const withProto = text.replace(
      '"objects":{',
      `"objects":{"__proto__":{"hash":"${H}","settings":"${S}","size":2},`,
    );
    const parsed = parseRecord(withProto, 'b', '');
    if (!('record' in parsed)) throw new Error('expected a record');
    expect(Object.keys(parsed.record.objects).sort()).toEqual(['__proto__', 'good']);
    expect(Object.keys(parsed.record.settings)).toEqual([S]);
  });

  it('keeps exactly the well-formed fields of each claim, as stored or rebuilt without the rest', () => {
    const E = { etag: 'abc', stored: 3 };
    const claims: Record<
      string,
      [stored: Record<string, unknown>, kept: Record<string, unknown> | undefined]
    > = {
      whole: [
        { hash: H, settings: S, size: 1, ...E, modified: '2026-01-02T03:04:05.678Z' },
        { hash: H, settings: S, size: 1, ...E, modified: '2026-01-02T03:04:05.678Z' },
      ],
      noEtag: [
        { hash: H, settings: S, size: 1 },
        { hash: H, settings: S, size: 1 },
      ],
      extraField: [
        { hash: H, settings: S, size: 1, ...E, note: 'x' },
        { hash: H, settings: S, size: 1, ...E },
      ],
      etagWithoutStored: [
        { hash: H, settings: S, size: 1, etag: 'abc' },
        { hash: H, settings: S, size: 1 },
      ],
      emptyEtag: [
        { hash: H, settings: S, size: 1, etag: '', stored: 3 },
        { hash: H, settings: S, size: 1 },
      ],
      modifiedWithoutEtag: [
        { hash: H, settings: S, size: 1, modified: '2026-01-02T03:04:05.678Z' },
        { hash: H, settings: S, size: 1 },
      ],
      badMonth: [
        { hash: H, settings: S, size: 1, ...E, modified: '2026-13-02T03:04:05.678Z' },
        { hash: H, settings: S, size: 1, ...E },
      ],
      notATime: [
        { hash: H, settings: S, size: 1, ...E, modified: 'yesterday' },
        { hash: H, settings: S, size: 1, ...E },
      ],
      // Times Date.parse reads, though not as toISOString() writes them: kept, as Date.parse decides.
      thirtyFirst: [
        { hash: H, settings: S, size: 1, ...E, modified: '2026-01-31T23:59:59.999Z' },
        { hash: H, settings: S, size: 1, ...E, modified: '2026-01-31T23:59:59.999Z' },
      ],
      httpDate: [
        { hash: H, settings: S, size: 1, ...E, modified: 'Fri, 02 Jan 2026 03:04:05 GMT' },
        { hash: H, settings: S, size: 1, ...E, modified: 'Fri, 02 Jan 2026 03:04:05 GMT' },
      ],
      upperHash: [{ hash: H.toUpperCase(), settings: S, size: 1 }, undefined],
      sizeAsText: [{ hash: H, settings: S, size: '1' }, undefined],
      noSettings: [{ hash: H, size: 1 }, undefined],
      array: [[H, S, 1] as unknown as Record<string, unknown>, undefined],
    };
    const stored = Object.fromEntries(Object.entries(claims).map(([k, [claim]]) => [k, claim]));
    const parsed = parseRecord(
      JSON.stringify({ format: RECORD_FORMAT, version: 2, objects: stored }),
      'b',
      '',
    );
    if (!('record' in parsed)) throw new Error('expected a record');
    for (const [key, [, kept]] of Object.entries(claims)) {
      // toStrictEqual: no field more or less than kept.
      expect([key, parsed.record.objects[key]]).toStrictEqual([key, kept && { ...kept }]);
    }
    expect(Object.keys(parsed.record.objects)).toEqual(Object.keys(claims).filter((k) => claims[k]![1]));
  });

  it.each([
    ['not JSON', '{oops', /not valid JSON/],
    ['another format', JSON.stringify({ format: 'other', version: 1 }), /not a nunjucks-s3\/upload-record/],
    ['a newer version', JSON.stringify({ format: RECORD_FORMAT, version: 99 }), /version 99 is newer/],
  ])('reports a record that is %s as a problem', (_name, text, problem) => {
    const parsed = parseRecord(text, 'b', '');
    expect('problem' in parsed && parsed.problem).toMatch(problem);
  });
});

describe('mustConfirm', () => {
  const run = (trustRecord: boolean) =>
    ({ config: { trustRecord }, logger: {} }) as unknown as Parameters<typeof mustConfirm>[0];
  const none = { deltas: [], markers: [] };

  it('confirms the claims against a listing unless trustRecord; with it, only after a kill or for version 1 claims', () => {
    const r = emptyRecord('b', '');
    for (let i = 0; i < 100; i++)
      r.objects[`static/${i}`] = { hash: H, settings: S, size: 1, etag: 'e', stored: 1 };
    expect(mustConfirm(run(false), r, none)).toBe(true);
    expect(mustConfirm(run(true), r, none)).toBe(false);
    expect(mustConfirm(run(true), r, { deltas: [], markers: ['.nunjucks-s3/inflight/x.json'] })).toBe(true);
    r.objects['static/99'] = { hash: H, settings: S, size: 1 };
    expect(mustConfirm(run(true), r, none)).toBe(true);
  });
});

describe('readRecord / writeRecord / RecordKeeper (real S3)', () => {
  it('tells a missing bucket from a missing record, and reads what was written', async () => {
    const client = testClient();
    expect(await readRecord(testStore(), uniqueBucket('nobucket'), '')).toEqual({ status: 'no-bucket' });
    const bucket = await freshBucket('rec');
    expect(await readRecord(testStore(), bucket, 'pre')).toEqual({
      status: 'missing',
      pending: { deltas: [], markers: [], deltaVersions: [] },
      snapshot: 'none',
    });
    const r = emptyRecord(bucket, 'pre');
    r.objects['pre/static/a'] = { hash: H, settings: S, size: 5 };
    r.settings[S] = { ContentType: 'text/plain; charset=utf-8' };
    await writeRecord(testStore(), r);
    const read = await readRecord(testStore(), bucket, 'pre');
    expect(read.status).toBe('found');
    if (read.status === 'found')
      expect({ ...read.record.objects }).toEqual({ 'pre/static/a': { hash: H, settings: S, size: 5 } });
    // Another prefix in the same bucket has its own record.
    expect(await readRecord(testStore(), bucket, '')).toEqual({
      status: 'missing',
      pending: { deltas: [], markers: [], deltaVersions: [] },
      snapshot: 'none',
    });
    const obj = await client.send(
      new GetObjectCommand({ Bucket: bucket, Key: 'pre/.nunjucks-s3/record.json' }),
    );
    expect(obj.ContentType).toBe('application/json; charset=utf-8');
  });

  it('reports a corrupt record as unusable instead of failing', async () => {
    const client = testClient();
    const bucket = await freshBucket('rec');
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: recordKey(''), Body: 'not json' }));
    expect(await readRecord(testStore(), bucket, '')).toEqual({
      status: 'unusable',
      problem: 'it is not valid JSON',
      pending: { deltas: [], markers: [], deltaVersions: [] },
    });
  });

  it('RecordKeeper writes only when something changed, and never lists a key being uploaded', async () => {
    const bucket = await freshBucket('rec');
    const r = emptyRecord(bucket, '');
    r.objects['static/old'] = { hash: H, settings: S, size: 1 };
    r.settings[S] = { ContentType: 'x' };
    const keeper = new RecordKeeper(testStore(), r, { intervalMs: 60_000 });
    await keeper.begin();
    expect(keeper.changed).toBe(false);
    await keeper.finish();
    await keeper.close();
    expect(await readRecord(testStore(), bucket, '')).toEqual({
      status: 'missing',
      pending: { deltas: [], markers: [], deltaVersions: [] },
      snapshot: 'none',
    });

    const k2 = new RecordKeeper(testStore(), r, { intervalMs: 60_000 });
    k2.forget('static/old');
    k2.set('static/new', { hash: H, settings: S, size: 2 }, { ContentType: 'x' });
    await k2.finish();
    const read = await readRecord(testStore(), bucket, '');
    if (read.status !== 'found') throw new Error(`expected a record, got ${read.status}`);
    expect(Object.keys(read.record.objects)).toEqual(['static/new']);
  });

  it('RecordKeeper checkpoints while uploads go on, so an interrupted run keeps what finished', async () => {
    const bucket = await freshBucket('rec');
    const keeper = new RecordKeeper(testStore(), emptyRecord(bucket, ''), { intervalMs: 20 });
    await keeper.begin();
    keeper.set('static/first', { hash: H, settings: S, size: 1 }, { ContentType: 'x' });
    // Poll until the checkpoint lands (no finish() call: as if the process were killed now).
    let read = await readRecord(testStore(), bucket, '');
    for (let i = 0; i < 200 && read.status !== 'found'; i++) {
      await new Promise((r) => setTimeout(r, 25));
      read = await readRecord(testStore(), bucket, '');
    }
    keeper.stop();
    if (read.status !== 'found') throw new Error(`no checkpoint was written (${read.status})`);
    expect(Object.keys(read.record.objects)).toEqual(['static/first']);
    // The checkpoint is a delta, and the run's in-flight marker says it did not finish.
    expect(read.pending.deltas).toEqual([`.nunjucks-s3/delta/${keeper.run}/000001.json`]);
    expect(read.pending.markers).toEqual([`.nunjucks-s3/inflight/${keeper.run}.json`]);
  });

  it('RecordKeeper writes deltas of what changed, one snapshot at the end, then removes its deltas and marker', async () => {
    const client = testClient();
    const bucket = await freshBucket('rec');
    const keeper = new RecordKeeper(testStore(), emptyRecord(bucket, 'p'), { intervalMs: 60_000, batch: 2 });
    await keeper.begin();
    keeper.set('p/static/a', { hash: H, settings: S, size: 1, etag: 'e1', stored: 1 }, { ContentType: 'x' });
    keeper.set('p/static/b', { hash: H, settings: S, size: 1, etag: 'e2', stored: 1 }, { ContentType: 'x' });
    let read = await readRecord(testStore(), bucket, 'p');
    for (let i = 0; i < 200 && read.status !== 'found'; i++) {
      await new Promise((r) => setTimeout(r, 25));
      read = await readRecord(testStore(), bucket, 'p');
    }
    if (read.status !== 'found') throw new Error(`no delta was written (${read.status})`);
    expect(Object.keys(read.record.objects).sort()).toEqual(['p/static/a', 'p/static/b']);
    keeper.forget('p/static/a');
    await keeper.finish();
    await keeper.close();
    read = await readRecord(testStore(), bucket, 'p');
    if (read.status !== 'found') throw new Error(`no snapshot was written (${read.status})`);
    expect(read.record.objects).toEqual({
      'p/static/b': { hash: H, settings: S, size: 1, etag: 'e2', stored: 1 },
    });
    expect(read.pending).toEqual({ deltas: [], markers: [], deltaVersions: [] });
    expect([...(await listKeys(bucket, 'p/', client))]).toEqual(['p/.nunjucks-s3/record.json']);
  });
});

/** The test server's store, counting the requests made through it (each is made, for real). */
function countingStore(): { store: ObjectStore; requests: string[] } {
  const inner = testStore();
  const requests: string[] = [];
  const store = Object.fromEntries(
    Object.entries(inner).map(([name, request]) => [
      name,
      (...args: unknown[]) => {
        requests.push(name);
        return (request as (...a: unknown[]) => unknown)(...args);
      },
    ]),
  ) as unknown as ObjectStore;
  return { store, requests };
}

describe('readRecordAgain (real S3): the record is read once per deploy unless it changed', () => {
  /** A bucket with a record of two claims under prefix `p`, and a first read of it. */
  async function recorded() {
    const bucket = await freshBucket('reread');
    const r = emptyRecord(bucket, 'p');
    r.objects['p/static/a'] = { hash: H, settings: S, size: 1, etag: 'e1', stored: 1 };
    r.objects['p/static/b'] = { hash: H, settings: S, size: 2, etag: 'e2', stored: 2 };
    r.settings[S] = { ContentType: 'x' };
    await writeRecord(testStore(), r);
    const first = await readRecord(testStore(), bucket, 'p');
    if (first.status !== 'found') throw new Error(`expected a record, got ${first.status}`);
    return { bucket, record: r, first };
  }

  it('uses the first read again when the state folder shows the same snapshot, deltas and markers: one LIST', async () => {
    const { bucket, first } = await recorded();
    // A lease and a generation are written between the two reads of a deploy: they change nothing here.
    await testStore().putObject({ bucket, key: 'p/.nunjucks-s3/lease/000000000001.json', body: '{}' });
    const { store, requests } = countingStore();
    const again = await readRecordAgain(store, bucket, 'p', first);
    expect(again).toBe(first);
    expect(requests).toEqual(['listObjects']);
  });

  it('reads anew when another deploy rewrote the snapshot meanwhile', async () => {
    const { bucket, record, first } = await recorded();
    delete record.objects['p/static/a'];
    await writeRecord(testStore(), record);
    const again = await readRecordAgain(testStore(), bucket, 'p', first);
    if (again.status !== 'found') throw new Error(`expected a record, got ${again.status}`);
    expect(Object.keys(again.record.objects)).toEqual(['p/static/b']);
  });

  it('reads anew when a delta appeared (a killed deploy checkpointed), the snapshot unchanged', async () => {
    const { bucket, first } = await recorded();
    const run = newRunId();
    const delta = { format: 'nunjucks-s3/record-delta' as const, run, seq: 1, set: {}, settings: {} };
    await writeDelta(testStore(), { bucket, key: deltaKey('p', run, 1) }, { ...delta, drop: ['p/static/b'] });
    const again = await readRecordAgain(testStore(), bucket, 'p', first);
    if (again.status !== 'found') throw new Error(`expected a record, got ${again.status}`);
    expect(Object.keys(again.record.objects)).toEqual(['p/static/a']);
    expect(again.pending.deltas).toEqual([deltaKey('p', run, 1)]);
  });

  it('reads anew when a delta it read was written again under its key (s3rver keeps a cut-off body)', async () => {
    const { bucket } = await recorded();
    const run = newRunId();
    const key = deltaKey('p', run, 1);
    // What a body cut off mid-way leaves on s3rver: a truncated delta, which a read skips as unparsable.
    await testStore().putObject({ bucket, key, body: '{"format":"nunjucks-s3/record-del' });
    const first = await readRecord(testStore(), bucket, 'p');
    if (first.status !== 'found') throw new Error(`expected a record, got ${first.status}`);
    expect(Object.keys(first.record.objects)).toEqual(['p/static/a', 'p/static/b']);
    // The retry writes the whole delta under the same key.
    const delta = { format: 'nunjucks-s3/record-delta' as const, run, seq: 1, set: {}, settings: {} };
    await writeDelta(testStore(), { bucket, key }, { ...delta, drop: ['p/static/b'] });
    const again = await readRecordAgain(testStore(), bucket, 'p', first);
    if (again.status !== 'found') throw new Error(`expected a record, got ${again.status}`);
    expect(Object.keys(again.record.objects)).toEqual(['p/static/a']);
  });

  it('reads anew when an in-flight marker appeared (a deploy began and was killed)', async () => {
    const { bucket, first } = await recorded();
    const marker = inflightKey('p', newRunId());
    await testStore().putObject({ bucket, key: marker, body: '{}' });
    const again = await readRecordAgain(testStore(), bucket, 'p', first);
    expect(again).not.toBe(first);
    expect(again.status === 'found' && again.pending.markers).toEqual([marker]);
  });

  it('reads anew after a missing record was written, or a missing bucket created', async () => {
    const bucket = await freshBucket('reread');
    const missing = await readRecord(testStore(), bucket, '');
    expect(missing.status).toBe('missing');
    const { store, requests } = countingStore();
    expect(await readRecordAgain(store, bucket, '', missing)).toBe(missing);
    expect(requests).toEqual(['listObjects']);
    const r = emptyRecord(bucket, '');
    r.objects['static/a'] = { hash: H, settings: S, size: 1 };
    await writeRecord(testStore(), r);
    expect((await readRecordAgain(testStore(), bucket, '', missing)).status).toBe('found');

    const absent = uniqueBucket('reread');
    const noBucket = await readRecord(testStore(), absent, '');
    expect(noBucket).toEqual({ status: 'no-bucket' });
    await testClient().send(new CreateBucketCommand({ Bucket: absent }));
    expect((await readRecordAgain(testStore(), absent, '', noBucket)).status).toBe('missing');
  });
});
