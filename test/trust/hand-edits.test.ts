// Hand edits: after a deploy, objects are deleted and overwritten directly with the SDK (other bytes; the
// same bytes with other headers), as a console, another tool or a lifecycle rule would. A redeploy with
// onlyModified and default settings must put every URL right again: bytes and the headers the first deploy
// served.
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { createAll, UploadError } from '../../src/index.js';
import { faults, startFaultProxy } from '../helpers/fault-proxy.js';
import { freshBucket, s3Backend, testClient } from '../helpers/s3.js';
import {
  describeWrong,
  fetchUrl,
  makeVersions,
  renderedUrls,
  seededRandom,
  trustSeed,
  versionApp,
  wrongUrls,
} from '../helpers/trust.js';
import { removeTemps } from '../helpers/upload-check.js';

afterAll(removeTemps);

const EDITS = 12;
const HEADERS = ['content-type', 'cache-control', 'content-encoding'] as const;

/** The headers a visitor gets for each URL (relative path -> 'content-type=...; ...'). */
async function servedHeaders(urls: ReadonlyMap<string, string>): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const [rel, url] of urls) {
    const got = await fetchUrl(url);
    out.set(rel, HEADERS.map((h) => `${h}=${got.headers[h] ?? ''}`).join('; '));
  }
  return out;
}

describe('objects deleted and overwritten by hand after a deploy', () => {
  it('a redeploy with onlyModified (default settings) serves every URL right again, bytes and headers', async () => {
    const seed = trustSeed();
    const random = seededRandom(seed);
    const [site] = makeVersions({ seed, count: 1, files: 150, label: 'hand' });
    const bucket = await freshBucket('trust-hand');
    const app = () => versionApp(site!, bucket, { FLASKS3_ONLY_MODIFIED: true });
    await createAll(app());

    const urls = renderedUrls(site!, bucket);
    const before = await servedHeaders(urls);
    const rels = [...urls.keys()].sort(() => random() - 0.5);
    const deleted = rels.slice(0, EDITS);
    const otherBytes = rels.slice(EDITS, 2 * EDITS);
    const otherHeaders = rels.slice(2 * EDITS, 3 * EDITS);
    const client = testClient();
    const key = (rel: string) => `static/${rel}`;
    for (const rel of deleted) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key(rel) }));
    for (const rel of otherBytes)
      await client.send(
        new PutObjectCommand({ Bucket: bucket, Key: key(rel), Body: `edited by hand: ${rel}` }),
      );
    for (const rel of otherHeaders) {
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key(rel),
          Body: site!.files.get(rel)!,
          ContentType: 'application/x-edited',
          CacheControl: 'no-store',
        }),
      );
    }

    await createAll(app());
    const wrong = await wrongUrls(site!, bucket);
    const after = await servedHeaders(urls);
    const wrongHeaders = [...before]
      .filter(([rel, h]) => after.get(rel) !== h)
      .map(([rel, h]) => `${rel}: ${after.get(rel)} (was ${h})`);
    const edits = `deleted [${deleted.join(', ')}], other bytes [${otherBytes.join(', ')}], other headers [${otherHeaders.join(', ')}]`;
    expect(wrong, describeWrong(`after hand edits (${edits}) and a redeploy`, wrong, seed)).toEqual([]);
    expect(
      wrongHeaders,
      `headers not restored (TRUST_SEED=${seed}):\n  ${wrongHeaders.join('\n  ')}`,
    ).toEqual([]);
  }, 120_000);

  it('objects rewritten with the same bytes and other headers within the second of the deploy are put right by the next one', async () => {
    // On servers that list LastModified to the second (s3rver, AWS), a rewrite within the second of the
    // deploy's own PUT would list the same time as the recorded one, were it not for the settle before the
    // final listing (src/deploy/final-verification.ts). A small deploy, started at the top of a second, and
    // rewrites the moment it returns: the window is as narrow as a user's script can make it.
    const seed = trustSeed();
    const [site] = makeVersions({ seed, count: 1, files: 4, label: 'hand-same-second' });
    const bucket = await freshBucket('trust-second');
    const app = () => versionApp(site!, bucket, { FLASKS3_ONLY_MODIFIED: true });
    const urls = renderedUrls(site!, bucket);
    const client = testClient();
    await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000)));
    await createAll(app());
    const before = await servedHeaders(urls);
    await Promise.all(
      [...site!.files].map(([rel, bytes]) =>
        client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: `static/${rel}`,
            Body: bytes,
            ContentType: 'application/x-edited',
          }),
        ),
      ),
    );
    await createAll(app());
    const after = await servedHeaders(urls);
    expect(after, `TRUST_SEED=${seed}`).toEqual(before);
    expect(await wrongUrls(site!, bucket), `TRUST_SEED=${seed}`).toEqual([]);
  }, 60_000);

  it('an object overwritten during a deploy fails that deploy, naming it, and the next deploy puts it right', async () => {
    const seed = trustSeed();
    const [site] = makeVersions({ seed, count: 1, files: 60, label: 'hand-during' });
    const bucket = await freshBucket('trust-during');
    const app = () => versionApp(site!, bucket, { FLASKS3_ONLY_MODIFIED: true });
    const client = testClient();
    const victim = [...site!.files.keys()].sort()[(seededRandom(seed)() * site!.files.size) | 0]!;
    // Someone else overwrites the victim right after its PUT reached the server, before the deploy can
    // list: the proxy holds the victim PUT's answer while the overwrite goes to the server directly.
    let edit: Promise<unknown> | undefined;
    const proxy = await startFaultProxy({
      target: s3Backend().endpoint,
      decide: (req) => {
        if (req.method !== 'PUT' || req.key !== `static/${victim}` || edit !== undefined) return undefined;
        edit = new Promise((r) => setTimeout(r, 300)).then(() =>
          client.send(new PutObjectCommand({ Bucket: bucket, Key: req.key, Body: 'edited meanwhile' })),
        );
        return faults.delay(1500);
      },
    });
    const err = await createAll(
      versionApp(site!, bucket, { FLASKS3_ONLY_MODIFIED: true, FLASKS3_ENDPOINT_URL: proxy.url }),
    )
      .catch((e: unknown) => e)
      .finally(() => proxy.close());
    await edit;
    expect(err, `TRUST_SEED=${seed}`).toBeInstanceOf(UploadError);
    const failures = (err as UploadError).failures.map((f) => [f.key, f.message]);
    expect(failures).toEqual([
      [`static/${victim}`, expect.stringContaining('changed in the bucket during this deploy')],
    ]);

    const again = await createAll(app());
    expect(again.uploaded.map((e) => [e.key, e.reason])).toEqual([[`static/${victim}`, 'new']]);
    const wrong = await wrongUrls(site!, bucket);
    expect(wrong, describeWrong('after the redeploy', wrong, seed)).toEqual([]);
  }, 120_000);
});
