// Deploy history: the generations of fingerprinted keys that stale cleanup keeps (pages rendered before
// a deploy, cached by browsers and CDNs, still name them). Stored in the upload record's `deploys`
// through the RecordKeeper; this file decides what goes in and what counts as a previous generation.

import type { ResolvedConfig } from '../config.js';
import { deployEntry, fingerprintedKeys } from './fingerprint-upload.js';
import type { RecordedDeploy } from './record.js';
import type { RecordKeeper } from './record-keeper.js';
import type { DeployItem } from './types.js';

/** What the history needs of a deploy item: its key, and its file's own key. */
type HistoryItem = Pick<DeployItem, 'key' | 'file'>;

/**
 * Add this deploy to the record's history (before the record's final write). Returns the deploys
 * before it, which stale cleanup keeps. A filtered run saw only some files: its entry also keeps the
 * previous deploy's keys, which are still live for the files it did not look at. A deploy whose
 * fingerprinted keys are those of the last one is the same generation and is not added: rerunning an
 * unchanged deploy keeps the history (and stays one GET, no record write).
 */
export function recordDeploy(
  keeper: RecordKeeper,
  items: readonly HistoryItem[],
  config: ResolvedConfig,
): RecordedDeploy[] {
  const previous = [...keeper.record.deploys];
  const last = previous.at(-1)?.keys ?? [];
  const set = new Set(fingerprintedKeys(items));
  if (config.filepathFilterRegex !== undefined) for (const k of last) set.add(k);
  const keys = [...set].sort();
  if (!sameKeys(keys, last)) keeper.addDeploy(deployEntry(keys), config.keepDeploys + 1);
  return previous;
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((k, i) => k === b[i]);
}

/**
 * The generations before this deploy: the recorded deploys, less the last one when it is this deploy's
 * generation (an unchanged rerun is not added to the history, and a dry run adds nothing), so rerunning
 * a deploy keeps as many older generations as the first run did.
 */
export function previousGenerations(
  deploys: readonly RecordedDeploy[],
  items: readonly HistoryItem[],
): readonly RecordedDeploy[] {
  const last = deploys.at(-1);
  return last !== undefined && sameKeys(last.keys, fingerprintedKeys(items)) ? deploys.slice(0, -1) : deploys;
}
