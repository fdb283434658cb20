// Whether the bucket still holds what a claim of the record says was stored. Pure: data in, data out.
// A claim carries the ETag and stored size its PUT answered, and (once a listing after the upload showed
// it) the object's LastModified. A listing returns all three for every object, so one listing request per
// 1,000 keys tells, for each claim, whether the object is still the one the deploy put there:
//   - missing from the listing: deleted behind the record's back;
//   - another ETag or size: overwritten with other bytes (by hand, another tool, another deploy, or a
//     killed run that overwrote it before its claim was withdrawn), or cut short (s3rver keeps a body cut
//     off as the object);
//   - a later LastModified: rewritten since, with the same bytes (other headers keep the ETag and size).
// Claims of version 1 records have no ETag: they hold only when the listed ETag is the MD5 of the bytes the
// local file would be sent as, which the caller computes (`legacyEtag`), so an upgrade does not upload
// everything again.

import type { RecordedObject } from './record.js';
import type { ListedObject } from './state/listing.js';

/** Why a claim does not hold. */
export type Contradiction = 'missing' | 'other-bytes' | 'rewritten';

/** What the caller knows of the object a version 1 claim describes: the ETag and size it would have. */
export interface ExpectedObject {
  etag: string;
  size: number;
}

/**
 * Whether `time` has the shape toISOString gives a year from 0 to 9999 (`2026-12-02T10:50:00.000Z`):
 * two such times compare as text in the order of their times. Checked by length and punctuation only,
 * since it runs twice per claim and the listings and the record only ever hold toISOString's times.
 */
function isIsoShaped(time: string): boolean {
  return (
    time.length === 24 &&
    time.charCodeAt(10) === 84 /* T */ &&
    time.charCodeAt(19) === 46 /* . */ &&
    time.charCodeAt(23) === 90 /* Z */
  );
}

/** Whether `listed` is later than `claimed` (both ISO times; a claim without one is never later). */
export function modifiedSince(listed: string | undefined, claimed: string | undefined): boolean {
  if (listed === undefined || claimed === undefined) return false;
  if (isIsoShaped(listed) && isIsoShaped(claimed)) return listed > claimed;
  return Date.parse(listed) > Date.parse(claimed);
}

/**
 * Check one claim against the listing. Returns undefined when it holds, else why not. A version 1 claim
 * (no ETag) holds when `legacy` (the object its local file would be) matches the listing.
 */
export function contradiction(
  claim: RecordedObject,
  listed: ListedObject | undefined,
  legacy?: ExpectedObject,
): Contradiction | undefined {
  if (!listed) return 'missing';
  const expected = claim.etag !== undefined ? { etag: claim.etag, size: claim.stored } : legacy;
  if (!expected || listed.etag !== expected.etag || listed.size !== expected.size) return 'other-bytes';
  if (modifiedSince(listed.lastModified, claim.modified)) return 'rewritten';
  return undefined;
}

/** The outcome of confirming a record's claims. */
export interface ConfirmedClaims {
  /** Keys whose claims do not hold, with why; their files are uploaded again. */
  contradicted: Map<string, Contradiction>;
  /** Version 1 claims that held: the same claim with the listed ETag and size (the record is upgraded). */
  upgraded: Map<string, RecordedObject>;
}

/**
 * Confirm every claim in `objects` against `listed` (the listing of the app's folders). `legacyEtag`
 * gives, for a version 1 claim's key, the ETag and size its local file would be stored with, when that can
 * be known (undefined: the claim does not hold).
 */
export function confirmClaims(
  objects: Readonly<Record<string, RecordedObject>>,
  listed: ReadonlyMap<string, ListedObject>,
  legacyEtag: (key: string) => ExpectedObject | undefined = () => undefined,
): ConfirmedClaims {
  const out: ConfirmedClaims = { contradicted: new Map(), upgraded: new Map() };
  for (const key in objects) {
    const claim = objects[key]!;
    const legacy = claim.etag === undefined ? legacyEtag(key) : undefined;
    const why = contradiction(claim, listed.get(key), legacy);
    if (why) out.contradicted.set(key, why);
    else if (legacy) out.upgraded.set(key, { ...claim, etag: legacy.etag, stored: legacy.size });
  }
  return out;
}
