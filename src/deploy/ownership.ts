// What stale cleanup knows of this app's own state: which keys it put in the bucket (ownership) and which
// keys deploys still in flight need (protection). Ownership comes from the upload record (every key it
// claims, and the fingerprinted keys of its deploy history) and from every generation in the state folder
// (the keys each run announced before its first PUT, so a killed run's uploads are owned too). Protection
// comes from the generations in flight. docs/deploy-state.md explains the rules; stale.ts applies them.

import { describeError } from '../s3/errors.js';
import { scrubError } from '../s3/redact.js';
import { stateFolderOf } from './deploy-lease.js';
import type { UploadRecord } from './record.js';
import { deleteGenerations, type GenerationStore, isInFlight, readGenerations } from './state/generations.js';
import type { DeployContext } from './types.js';

/** This app's state, as cleanup needs it. */
export interface AppState {
  owns: (key: string) => boolean;
  /** Keys of the generations in flight, this run's own excepted. */
  inFlight: ReadonlySet<string>;
  /** Generations that ended (failed, expired, killed): deleted once a complete cleanup dealt with their keys. */
  ended: string[];
}

function storeOf(run: DeployContext): GenerationStore {
  return {
    store: run.s3.store,
    bucket: run.bucket,
    stateFolder: stateFolderOf(run.config.prefix),
    signal: run.signal,
  };
}

/** Read the generations and combine them with the record (see the top of this file). */
export async function readAppState(
  run: DeployContext,
  mine: { record: UploadRecord | undefined; ownGeneration: string | undefined },
): Promise<AppState> {
  const owned = new Set<string>(Object.keys(mine.record?.objects ?? {}));
  for (const deploy of mine.record?.deploys ?? [])
    if (Array.isArray(deploy?.keys)) for (const k of deploy.keys) if (typeof k === 'string') owned.add(k);
  const inFlight = new Set<string>();
  const ended: string[] = [];
  const now = Date.now();
  for (const gen of await readGenerations(storeOf(run))) {
    for (const k of gen.keys) owned.add(k);
    if (gen.id === mine.ownGeneration) continue;
    if (isInFlight(gen, now)) for (const k of gen.keys) inFlight.add(k);
    else ended.push(gen.id);
  }
  return { owns: (key) => owned.has(key), inFlight, ended };
}

/** The first reading of the state, with only the generations a later reading still shows ended. */
export function endedInBoth(first: AppState, later: AppState): AppState {
  const endedLater = new Set(later.ended);
  return { ...first, ended: first.ended.filter((id) => endedLater.has(id)) };
}

/**
 * After a complete cleanup, the ended generations are done with: each of their keys was deleted, or is
 * claimed by the record, or was spared for a reason that holds without them (a hidden key this run did
 * not look at is then left alone for good: never a wrong deletion). Best effort: a failure is a warning.
 */
export async function settleGenerations(run: DeployContext, state: AppState): Promise<void> {
  if (state.ended.length === 0) return;
  try {
    await deleteGenerations(storeOf(run), state.ended);
  } catch (err) {
    scrubError(err, run.secrets);
    run.warn(
      `could not delete the state of ${state.ended.length} ended deploy(s): ${describeError(err, run.secrets)}`,
    );
  }
}
