// The record during a run: a working copy, checkpointed to the bucket while it changes, so an
// interrupted deploy resumes where it stopped and never claims an object it has not uploaded.

import type { S3Client } from '@aws-sdk/client-s3';
import type { RecordedDeploy, RecordedObject, UploadRecord } from './record.js';
import { writeRecord } from './record-store.js';

/**
 * The working copy of the record during an upload, written to the bucket every `intervalMs` while it
 * changes (never two writes at once) and once more at the end. A key being uploaded is removed from
 * it first and added back only when its upload succeeded, so no write ever claims an object that is
 * not in the bucket as recorded.
 */
export class RecordKeeper {
  readonly record: UploadRecord;
  private dirty = false;
  private writing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastError: unknown;

  constructor(
    private readonly client: S3Client,
    record: UploadRecord,
    private readonly intervalMs = 2000,
  ) {
    this.record = record;
  }

  /** Start checkpointing (no-op for a dry run: never call it). */
  start(): void {
    this.timer ??= setInterval(() => {
      if (this.dirty && !this.writing) void this.write().catch(() => {});
    }, this.intervalMs);
    this.timer.unref();
  }

  /** The key is about to be overwritten: its old entry no longer describes the bucket. */
  forget(key: string): void {
    if (key in this.record.objects) {
      delete this.record.objects[key];
      this.dirty = true;
    }
  }

  /** The key was uploaded with these settings. */
  set(key: string, object: RecordedObject, settings: Readonly<Record<string, unknown>>): void {
    this.record.objects[key] = object;
    this.record.settings[object.settings] ??= { ...settings };
    this.dirty = true;
  }

  /**
   * Append a successful deploy to the history, keeping only the last `keepLast` (the oldest are no
   * longer needed by stale cleanup).
   */
  addDeploy(deploy: RecordedDeploy, keepLast: number): void {
    this.record.deploys.push(deploy);
    if (this.record.deploys.length > keepLast)
      this.record.deploys.splice(0, this.record.deploys.length - keepLast);
    this.dirty = true;
  }

  /** Whether anything changed since the record was read or last written. */
  get changed(): boolean {
    return this.dirty;
  }

  private write(): Promise<void> {
    this.dirty = false;
    const p = writeRecord(this.client, this.record)
      .catch((err) => {
        this.dirty = true;
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

  /** Stop checkpointing and write the final record if anything changed; throws if that write fails. */
  async finish(): Promise<void> {
    this.stop();
    await this.writing?.catch(() => {});
    if (this.dirty) await this.write();
  }

  /** The error of the last failed checkpoint, if any (for diagnostics). */
  get checkpointError(): unknown {
    return this.lastError;
  }
}
