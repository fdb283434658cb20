// Generations: what each run of this app announces before its first PUT (docs/deploy-state.md, "Cleanup
// deletes only what this app put there and nobody needs"). A generation is two objects in the app's state
// folder: `gen/<id>.keys.json.gz`, every key the run may put in the bucket (gzipped JSON, written once),
// and `gen/<id>.live.json`, small, rewritten by its owner while it runs (who, until when, and whether it
// finished). They serve two rules of stale cleanup:
// - ownership: a key some generation listed was (or may have been) put there by this app, even by a run
//   killed before it recorded anything; a key no generation and no record names is never deleted;
// - protection: the keys of a generation still in flight (not expired, its owner not known dead) are
//   needed by a deploy that is uploading or waiting for the lease, and are never deleted.
// A run that completes deletes its own generation (its keys are then in the record); a failed run marks
// its own expired, and a later complete cleanup deletes it once its keys were dealt with.

import { gunzipSync, gzipSync } from 'node:zlib';
import { httpStatus } from '../../s3/errors.js';
import type { ObjectStore } from '../../s3/object-store.js';
import { listKeys } from '../../s3/objects.js';
import { nextTurn } from '../../util/next-turn.js';
import { runPool } from '../../util/pool.js';
import { type DeployOwner, isDeadLocalProcess } from './owner.js';

/** Where a generation's objects live and who writes them. */
export interface GenerationStore {
  store: ObjectStore;
  bucket: string;
  /** The app's state folder, e.g. '.nunjucks-s3' or 'v2/.nunjucks-s3'. */
  stateFolder: string;
  signal?: AbortSignal | undefined;
}

/** The small, rewritten half of a generation. */
export interface GenerationLife {
  owner: DeployOwner;
  /** 'in-flight' until the run ends; 'failed' when it ended without completing. */
  state: 'in-flight' | 'failed';
  /** Milliseconds since the epoch after which an in-flight generation counts as abandoned. */
  expires: number;
}

/** A generation as read back. */
export interface Generation {
  id: string;
  keys: string[];
  /** Undefined when the life object is missing (a run killed between its two first writes). */
  life: GenerationLife | undefined;
}

const folder = (s: GenerationStore) => `${s.stateFolder}/gen/`;
const keysKey = (s: GenerationStore, id: string) => `${folder(s)}${id}.keys.json.gz`;
const lifeKey = (s: GenerationStore, id: string) => `${folder(s)}${id}.live.json`;

async function put(s: GenerationStore, key: string, body: Uint8Array | string, type: string): Promise<void> {
  await s.store.putObject({ bucket: s.bucket, key, body, contentType: type }, s.signal);
}

/**
 * Announce a generation: its keys first (`keys`: from generationKeys), then its life (so a live
 * generation always has its keys).
 */
export async function writeGeneration(
  s: GenerationStore,
  owner: DeployOwner,
  keys: Promise<Buffer>,
  expires: number,
): Promise<void> {
  await put(s, keysKey(s, owner.id), await keys, 'application/gzip');
  await updateGeneration(s, { owner, state: 'in-flight', expires });
}

/**
 * The body of a generation's keys object: the keys sorted (they compress a third smaller), as gzipped
 * JSON at level 1 (for ten thousand keys: 3.5 ms against 8 ms at the default level, for 82 KB against
 * 75). Made after the event loop's turn, so that requests started now go out first: a deploy makes it
 * while its first request, the record's GET, is on the wire, not while it takes the lease.
 */
export async function generationKeys(keys: readonly string[]): Promise<Buffer> {
  await nextTurn();
  return gzipSync(JSON.stringify([...keys].sort()), { level: 1 });
}

/** Rewrite a generation's life (renewal, or the end of a run that did not complete). */
export function updateGeneration(s: GenerationStore, life: GenerationLife): Promise<void> {
  return put(s, lifeKey(s, life.owner.id), JSON.stringify(life), 'application/json');
}

/**
 * Delete generations' objects, one DeleteObject each (a handful: s3rver answers some DeleteObjects
 * batches with 500), a few at once: a generation deleted is one whose run ended, so the order of its two
 * objects' deletions does not matter (its keys are in the record by then). Errors are thrown; best effort
 * is the caller's.
 */
export async function deleteGenerations(s: GenerationStore, ids: readonly string[]): Promise<void> {
  const keys = ids.flatMap((id) => [keysKey(s, id), lifeKey(s, id)]);
  let failure: unknown;
  await runPool(keys, 4, async (key) => {
    try {
      await s.store.deleteObject(s.bucket, key, s.signal);
    } catch (err) {
      failure ??= err;
    }
  });
  if (failure !== undefined) throw failure;
}

async function getBytes(s: GenerationStore, key: string): Promise<Uint8Array | undefined> {
  try {
    return await s.store.getObject(s.bucket, key, s.signal);
  } catch (err) {
    if (httpStatus(err) === 404) return undefined;
    throw err;
  }
}

/** The ids of the generations in the state folder (one LIST per 1,000 objects). */
async function generationIds(s: GenerationStore): Promise<string[]> {
  const ids = new Set<string>();
  for (const key of await listKeys(s.store, s.bucket, folder(s), s.signal)) {
    const m = /\/gen\/([^/]+)\.(?:keys\.json\.gz|live\.json)$/.exec(key);
    if (m) ids.add(m[1]!);
  }
  return [...ids].sort();
}

/**
 * Every generation in the state folder, oldest first: one LIST, then two GETs each. A generation whose
 * keys object is unreadable is an error: ownership and protection must not silently shrink.
 */
export async function readGenerations(s: GenerationStore): Promise<Generation[]> {
  const out: Generation[] = [];
  for (const id of await generationIds(s)) {
    const [keys, life] = await Promise.all([getBytes(s, keysKey(s, id)), getBytes(s, lifeKey(s, id))]);
    const parsed = keys === undefined ? [] : (JSON.parse(gunzipSync(keys).toString('utf8')) as unknown);
    if (!Array.isArray(parsed)) throw new Error(`${keysKey(s, id)} is not a list of keys`);
    out.push({
      id,
      keys: parsed.filter((k): k is string => typeof k === 'string'),
      life:
        life === undefined ? undefined : (JSON.parse(Buffer.from(life).toString('utf8')) as GenerationLife),
    });
  }
  return out;
}

/**
 * Whether a generation is still in flight at `now`: not ended, not expired, its owner not known dead. A
 * generation without its life object counts as in flight for a minute after its id's time (its owner
 * may be between its two first writes).
 */
export function isInFlight(gen: Generation, now: number): boolean {
  if (gen.life === undefined) return now - idTime(gen.id) < 60_000;
  if (gen.life.state !== 'in-flight' || gen.life.expires <= now) return false;
  return !isDeadLocalProcess(gen.life.owner);
}

/** The time an id was made (see newDeployOwner); 0 when it does not parse. */
function idTime(id: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z/.exec(id);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, +m[7]!) : 0;
}
