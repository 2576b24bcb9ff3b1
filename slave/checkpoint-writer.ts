/**
 * Writes the slave's checkpoint as a snapshot and a journal (checkpoint-journal.ts): a write
 * appends the records that changed since the last one, and a new snapshot is written when the
 * journal has grown as large as the snapshot (at least {@link MIN_JOURNAL_BYTES}), when the
 * head changed (a new agent id), and after any failed write (an append that failed may have
 * left a torn line, which must stay the last). So a group commit costs what changed, and the
 * snapshots, amortised, at most as much again.
 *
 * A snapshot is written in two atomic steps: the snapshot naming a new journal id, then the
 * journal holding only that id. A crash between them leaves the new snapshot with the old
 * journal, which names another id and is ignored: no change is lost or replayed twice.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { AtomicFileWriter } from './atomic-writer.js';
import { encodeCheckpoint, type Checkpoint } from './checkpoint.js';
import { checkpointHead, checkpointRecords, journalEntry, journalHeader, type CheckpointRecords } from './checkpoint-journal.js';
import { checkpointPath, journalPath } from './checkpoint-store.js';

/** A journal shorter than this is never compacted into a snapshot. */
export const MIN_JOURNAL_BYTES = 64 * 1024;

/** What a {@link CheckpointWriter.write} did. */
export type CheckpointWriteKind = 'snapshot' | 'journal' | 'unchanged';

/** What the snapshot and the journal on disk hold together, as far as this writer knows. */
interface OnDisk {
  records: CheckpointRecords;
  head: string;
  snapshotBytes: number;
  journalBytes: number;
}

/** Options of a {@link CheckpointWriter}. */
export interface CheckpointWriterOptions {
  /** Ids of new journals (default: random UUIDs). */
  newJournalId?: () => string;
  /** Default {@link MIN_JOURNAL_BYTES}. */
  minJournalBytes?: number;
}

/** Snapshot + journal writes of one work dir, one at a time (the caller awaits each). */
export class CheckpointWriter {
  /** Undefined until the first snapshot, and after a failed write: the next write is a snapshot. */
  private onDisk: OnDisk | undefined;
  private readonly newJournalId: () => string;
  private readonly minJournalBytes: number;

  constructor(
    private readonly workDir: string,
    private readonly files: Pick<AtomicFileWriter, 'write' | 'append'>,
    options: CheckpointWriterOptions = {},
  ) {
    this.newJournalId = options.newJournalId ?? randomUUID;
    this.minJournalBytes = options.minJournalBytes ?? MIN_JOURNAL_BYTES;
  }

  /** Writes `c`; rejects with the I/O error (and the next write is a snapshot). */
  async write(c: Checkpoint): Promise<CheckpointWriteKind> {
    const before = this.onDisk;
    this.onDisk = undefined;
    const records = checkpointRecords(c, before?.records);
    const head = checkpointHead(c);
    if (before === undefined || records === undefined || head !== before.head || before.journalBytes >= Math.max(this.minJournalBytes, before.snapshotBytes)) {
      await this.snapshot(c, records, head);
      return 'snapshot';
    }
    const line = journalEntry(before.records, records, c.written_at);
    if (line === undefined) {
      this.onDisk = before;
      return 'unchanged';
    }
    await this.files.append(journalPath(this.workDir), line);
    this.onDisk = { ...before, records, journalBytes: before.journalBytes + line.length };
    return 'journal';
  }

  /** The whole checkpoint, naming a fresh journal (none when its records cannot be keyed). */
  private async snapshot(c: Checkpoint, records: CheckpointRecords | undefined, head: string): Promise<void> {
    if (records === undefined) {
      await this.files.write(checkpointPath(this.workDir), encodeCheckpoint({ ...c, journal: undefined }));
      return;
    }
    const id = this.newJournalId();
    const text = encodeCheckpoint({ ...c, journal: id });
    await this.files.write(checkpointPath(this.workDir), text);
    await this.files.write(journalPath(this.workDir), journalHeader(id));
    this.onDisk = { records, head, snapshotBytes: text.length, journalBytes: 0 };
  }
}
