import { describe, expect, it } from 'vitest';
import { planUploads, type UploadReason } from '../src/deploy/plan.js';
import { emptyRecord, type UploadRecord } from '../src/deploy/record.js';

const H1 = '1111111111111111';
const H2 = '2222222222222222';
const S1 = 'aaaaaaaaaaaaaaaa';
const S2 = 'bbbbbbbbbbbbbbbb';

function recordWith(objects: UploadRecord['objects']): UploadRecord {
  const r = emptyRecord('b', '');
  Object.assign(r.objects, objects);
  return r;
}

describe('planUploads', () => {
  const record = recordWith({ 'static/a.css': { hash: H1, settings: S1, size: 3 } });

  it.each<
    [
      string,
      { hash: string; signature: string; key?: string; size?: number },
      UploadRecord | undefined,
      boolean,
      UploadReason,
      boolean,
    ]
  >([
    [
      'unchanged content and settings are skipped',
      { hash: H1, signature: S1 },
      record,
      true,
      'unchanged',
      false,
    ],
    ['changed content is uploaded', { hash: H2, signature: S1 }, record, true, 'changed', true],
    // Another size is another content, whatever hash the item carries (the size is compared first).
    [
      'another size with the recorded hash is changed',
      { hash: H1, signature: S1, size: 4 },
      record,
      true,
      'changed',
      true,
    ],
    [
      'changed content and settings: reported as changed',
      { hash: H2, signature: S2 },
      record,
      true,
      'changed',
      true,
    ],
    [
      'same content, other settings (e.g. Cache-Control) is uploaded',
      { hash: H1, signature: S2 },
      record,
      true,
      'settings-changed',
      true,
    ],
    [
      'a key the record does not list is new',
      { hash: H1, signature: S1, key: 'static/b.css' },
      record,
      true,
      'new',
      true,
    ],
    [
      'another size than recorded is changed, without a hash (the file is hashed while it is sent)',
      { hash: '', signature: S1, size: 4 },
      record,
      true,
      'changed',
      true,
    ],
    ['a new key needs no hash', { hash: '', signature: S1, key: 'static/b.css' }, record, true, 'new', true],
    ['no record: everything is uploaded', { hash: H1, signature: S1 }, undefined, true, 'not-recorded', true],
    [
      'onlyModified off: the record is not consulted',
      { hash: H1, signature: S1 },
      record,
      false,
      'not-recorded',
      true,
    ],
    [
      'a key named like an Object.prototype member is just a key',
      { hash: H1, signature: S1, key: 'constructor' },
      record,
      true,
      'new',
      true,
    ],
  ])('%s', (_name, item, rec, onlyModified, reason, uploaded) => {
    const input = { key: 'static/a.css', size: 3, ...item };
    const plan = planUploads([input], rec, onlyModified);
    const planned = uploaded ? plan.upload : plan.skip;
    expect(planned).toEqual([{ item: input, reason }]);
    expect(uploaded ? plan.skip : plan.upload).toEqual([]);
  });

  it('a claim the bucket listing contradicted (withdrawn from the record) is uploaded as not-in-bucket', () => {
    const items = ['a', 'b', 'c'].map((k) => ({ key: `static/${k}`, hash: H1, signature: S1, size: 1 }));
    // confirm-record.ts withdrew static/a's claim, so the record no longer lists it; static/b is new.
    const rec = recordWith({ 'static/c': { hash: H1, settings: S1, size: 1 } });
    const contradicted = new Map([['static/a', 'etag']]);
    const plan = planUploads(items, rec, true, contradicted);
    expect(plan.upload.map((p) => [p.item.key, p.reason])).toEqual([
      ['static/a', 'not-in-bucket'],
      ['static/b', 'new'],
    ]);
    expect(plan.skip.map((p) => [p.item.key, p.reason])).toEqual([['static/c', 'unchanged']]);
  });

  it('keeps the input order in both lists', () => {
    const items = ['c', 'a', 'b', 'd'].map((k) => ({
      key: `static/${k}`,
      hash: k === 'a' ? H1 : H2,
      signature: S1,
      size: 1,
    }));
    const rec = recordWith({
      'static/a': { hash: H1, settings: S1, size: 1 },
      'static/d': { hash: H2, settings: S1, size: 1 },
    });
    const plan = planUploads(items, rec, true);
    expect(plan.upload.map((p) => p.item.key)).toEqual(['static/c', 'static/b']);
    expect(plan.skip.map((p) => p.item.key)).toEqual(['static/a', 'static/d']);
  });
});
