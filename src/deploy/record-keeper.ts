// The record during a run: a working copy, whose changes are checkpointed to the bucket as deltas (only
// what changed since the previous checkpoint, record-delta.ts) and merged into one snapshot at the end, so
// the bytes written grow with what the deploy changed, not with the site. Before the run changes anything
// in the bucket it writes its in-flight marker; the marker goes only once the snapshot holds everything,
// so a reader that finds a marker not its own knows a run was killed and confirms the claims against a
// listing before trusting them (trustRecord).

import type { ObjectStore } from '../s3/object-store.js';
import type { RecordedDeploy, RecordedObject, UploadRecord } from './record.js';
import { DELTA_FORMAT, deltaKey, inflightKey, newRunId, type RecordDelta } from './record-delta.js';
import {
  deleteStateObjects,
  type PendingState,
  writeDelta,
  writeInflightMarker,
  writeRecord,
} from './record-store.js';

/** How the keeper starts. */
export interface KeeperOptions {
  /** What the state folder held when the record was read. @default nothing */
  pending?: PendingState;
  /** The record read was changed on reading (claims the bucket contradicts were withdrawn): write a snapshot. */
  changedOnRead?: boolean;
  /** The claims were all confirmed by a listing: the markers of killed runs can go with the next snapshot. */
  confirmedAll?: boolean;
  /** Checkpoint interval. @default 2000 */
  intervalMs?: number;
  /** Checkpoint as soon as this many changes wait. @default 1000 */
  batch?: number;
}

/**
 * The working copy of the record during an upload. A key being uploaded is withdrawn first and claimed
 * again only when its upload succeeded; every 2 s (or every 1,000 changes) the changes go to the bucket as
 * one delta (never two writes at once), and {@link finish} writes the snapshot.
 */
export class RecordKeeper {
  readonly record: UploadRecord;
  /** This run's id (its deltas and marker are named by it). */
  readonly run = newRunId();
  /** performance.now() of the last claim set (the end of the last upload). */
  lastSetAt = 0;
  private changes = new Map<string, RecordedObject | null>();
  private newSettings: Record<string, Record<string, unknown>> = Object.create(null);
  private snapshotDue: boolean;
  private seq = 0;
  private readonly ownDeltas: string[] = [];
  private marked = false;
  private writing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastError: unknown;
  private readonly pending: PendingState;

  constructor(
    private readonly store: ObjectStore,
    record: UploadRecord,
    private readonly options: KeeperOptions = {},
  ) {
    this.record = record;
    this.pending = options.pending ?? { deltas: [], markers: [] };
    this.snapshotDue = options.changedOnRead === true || this.pending.deltas.length > 0;
  }

  /**
   * Write the in-flight marker (before anything in the bucket changes) and start checkpointing. A dry run
   * never calls it. Throws when the marker cannot be written: nothing was changed yet.
   */
  async begin(): Promise<void> {
    if (!this.marked) await writeInflightMarker(this.store, this.record, this.run);
    this.marked = true;
    this.timer ??= setInterval(() => this.checkpointSoon(), this.options.intervalMs ?? 2000);
    this.timer.unref();
  }

  private checkpointSoon(): void {
    if (this.changes.size > 0 && !this.writing) void this.checkpoint().catch(() => {});
  }

  private note(key: string, claim: RecordedObject | null): void {
    this.changes.set(key, claim);
    this.snapshotDue = true;
    if (this.changes.size >= (this.options.batch ?? 1000)) this.checkpointSoon();
  }

  /** The key is about to be overwritten, or its object is gone: its claim no longer holds. */
  forget(key: string): void {
    if (key in this.record.objects) {
      delete this.record.objects[key];
      this.note(key, null);
    }
  }

  /** The key was uploaded with these settings (the claim carries what the PUT answered). */
  set(key: string, object: RecordedObject, settings: Readonly<Record<string, unknown>>): void {
    this.record.objects[key] = object;
    if (!(object.settings in this.record.settings)) {
      this.record.settings[object.settings] = { ...settings };
      this.newSettings[object.settings] = { ...settings };
    }
    this.lastSetAt = performance.now();
    this.note(key, object);
  }

  /** A listing showed the claimed object: keep its LastModified (or the upgraded version 1 claim). */
  confirm(key: string, object: RecordedObject): void {
    this.record.objects[key] = object;
    this.snapshotDue = true;
  }

  /** Append a successful deploy to the history, keeping only the last `keepLast`. */
  addDeploy(deploy: RecordedDeploy, keepLast: number): void {
    this.record.deploys.push(deploy);
    if (this.record.deploys.length > keepLast)
      this.record.deploys.splice(0, this.record.deploys.length - keepLast);
    this.snapshotDue = true;
  }

  /** Whether anything changed since the record was read or the last snapshot. */
  get changed(): boolean {
    return this.snapshotDue;
  }

  /** Write the changes since the previous checkpoint as one delta. */
  private checkpoint(): Promise<void> {
    const delta: RecordDelta = {
      format: DELTA_FORMAT,
      run: this.run,
      seq: ++this.seq,
      set: Object.create(null),
      drop: [],
      settings: this.newSettings,
    };
    for (const [key, claim] of this.changes) {
      if (claim) delta.set[key] = claim;
      else delta.drop.push(key);
    }
    const taken = this.changes;
    this.changes = new Map();
    this.newSettings = Object.create(null);
    const key = deltaKey(this.record.prefix, this.run, delta.seq);
    const p = writeDelta(this.store, { bucket: this.record.bucket, key }, delta)
      .then(() => {
        this.ownDeltas.push(key);
      })
      .catch((err) => {
        // Not written: the changes wait for the next checkpoint (newer ones win).
        for (const [k, c] of taken) if (!this.changes.has(k)) this.changes.set(k, c);
        Object.assign(this.newSettings, delta.settings);
        this.lastError = err;
        throw err;
      })
      .finally(() => {
        if (this.writing === p) this.writing = undefined;
      });
    this.writing = p;
    return p;
  }

  /** Stop checkpointing (no final write). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Stop checkpointing and, if anything changed, write the snapshot (naming the deltas it merges); throws
   * if that write fails. May be called again after later changes (cleanup): each call writes one snapshot.
   */
  async finish(): Promise<void> {
    this.stop();
    await this.writing?.catch(() => {});
    if (!this.snapshotDue) return;
    this.record.merged = [...new Set([...this.pending.deltas, ...this.ownDeltas])];
    await writeRecord(this.store, this.record);
    this.snapshotDue = false;
    this.changes.clear();
  }

  /**
   * After the last snapshot: delete the deltas it merged and this run's marker (and the markers of killed
   * runs, when every claim was confirmed by a listing). Best effort: what is left is merged or ignored by
   * the next run. Does nothing while a snapshot is still due (the marker must outlive unsaved changes).
   */
  async close(): Promise<void> {
    this.stop();
    if (this.snapshotDue) return;
    const markers = this.marked ? [inflightKey(this.record.prefix, this.run)] : [];
    if (this.options.confirmedAll) markers.push(...this.pending.markers);
    await deleteStateObjects(this.store, this.record.bucket, [
      ...this.pending.deltas,
      ...this.ownDeltas,
      ...markers,
    ]).catch(() => {});
  }

  /** The error of the last failed checkpoint, if any (for diagnostics). */
  get checkpointError(): unknown {
    return this.lastError;
  }
}
