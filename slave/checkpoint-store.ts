/**
 * The checkpoint's files on disk: the snapshot `<workDir>/meta/checkpoint.json`, written
 * atomically (a temp file in the same directory, fsync, rename over the old file, fsync of
 * the directory), so a crash at any point leaves either the old or the new content; and its
 * journal `<workDir>/meta/checkpoint.journal` (checkpoint-journal.ts), appended to and
 * fdatasynced, so a crash leaves at most a torn last line, which reading ignores.
 *
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint, type DecodedCheckpoint } from './checkpoint.js';
import { replayJournal } from './checkpoint-journal.js';

/** `<workDir>/meta`: Mesos's name for the slave's checkpoint directory. */
export function metaDir(workDir: string): string {
  return path.join(workDir, 'meta');
}

/** `<workDir>/meta/checkpoint.json`. */
export function checkpointPath(workDir: string): string {
  return path.join(metaDir(workDir), 'checkpoint.json');
}

/** `<workDir>/meta/checkpoint.journal`: the changes made since the snapshot. */
export function journalPath(workDir: string): string {
  return path.join(metaDir(workDir), 'checkpoint.journal');
}

/** Numbers the temp files of this thread's writes (sync and async). */
let tempSeq = 0;

/**
 * Writes `data` to `file` atomically: temp file + fsync + rename + fsync of the directory.
 * The temp file is removed when anything fails.
 */
export function writeFileAtomic(file: string, data: string): void {
  writeAtomicSteps(fs, path, file, data, `${process.pid}-${tempSeq++}`);
}

/**
 * The steps of {@link writeFileAtomic}, temp file `.<name>.tmp-<tempSuffix>` (the pattern a
 * restarting slave cleans up). Self-contained: it uses only its arguments, so the atomic
 * writer's worker thread (atomic-writer.ts) runs this very function from its source text.
 * Keep it so: no outer names, no nested functions.
 */
export function writeAtomicSteps(fsSync: typeof fs, paths: typeof path, file: string, data: string, tempSuffix: string): void {
  const dir = paths.dirname(file);
  const tmp = paths.join(dir, `.${paths.basename(file)}.tmp-${tempSuffix}`);
  try {
    let fd: number;
    try {
      fd = fsSync.openSync(tmp, 'w', 0o600);
    } catch (e) {
      // The directory is made only when it is missing (not a mkdir per write).
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      fsSync.mkdirSync(dir, { recursive: true });
      fd = fsSync.openSync(tmp, 'w', 0o600);
    }
    try {
      fsSync.writeFileSync(fd, data);
      fsSync.fsyncSync(fd);
    } finally {
      fsSync.closeSync(fd);
    }
    fsSync.renameSync(tmp, file);
  } catch (e) {
    fsSync.rmSync(tmp, { force: true });
    throw e;
  }
  // The rename is durable only once the directory entry is.
  const dirFd = fsSync.openSync(dir, 'r');
  try {
    fsSync.fsyncSync(dirFd);
  } finally {
    fsSync.closeSync(dirFd);
  }
}

/**
 * Appends `data` to the open file `fd` and makes it durable (fdatasync: the data and the new
 * size). A file that no longer has a name (removed, or its directory moved aside, while it was
 * open) is not written to: that would be lost; it fails with ENOENT instead. Self-contained,
 * like {@link writeAtomicSteps}: the atomic writer's worker thread runs it from its source text.
 */
export function appendDurablySteps(fsSync: typeof fs, fd: number, data: string): void {
  if (fsSync.fstatSync(fd).nlink === 0) throw Object.assign(new Error('the file was removed while open for appending'), { code: 'ENOENT' });
  const bytes = Buffer.from(data, 'utf8');
  let done = 0;
  while (done < bytes.length) done += fsSync.writeSync(fd, bytes, done, bytes.length - done);
  fsSync.fdatasyncSync(fd);
}

/**
 * The flags of a journal append: the file must exist (it was created, and its directory
 * entry made durable, by an atomic write of its header), so an append never creates a file
 * whose name a crash could lose.
 */
export const APPEND_FLAGS = fs.constants.O_WRONLY | fs.constants.O_APPEND;

/** Appends `data` to `file` durably on `fs.promises` (the atomic writer's fallback). */
export async function appendDurablyAsync(file: string, data: string): Promise<void> {
  const handle = await fs.promises.open(file, APPEND_FLAGS);
  try {
    await handle.writeFile(data);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/**
 * {@link writeFileAtomic} without blocking the event loop (the fsyncs take milliseconds):
 * the same steps on `fs.promises`, with a temp file of its own so that it never shares one
 * with another write in flight.
 */
export async function writeFileAtomicAsync(file: string, data: string): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}-${tempSeq++}`);
  try {
    // The directory is made only when it is missing (a mkdir per write cost a round trip
    // through the thread pool on every group commit).
    const handle = await fs.promises.open(tmp, 'w', 0o600).catch(async (e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
      await fs.promises.mkdir(dir, { recursive: true });
      return fs.promises.open(tmp, 'w', 0o600);
    });
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
  const dirHandle = await fs.promises.open(dir, 'r');
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
}

/** What {@link readCheckpoint} found. */
export type ReadCheckpoint = { found: false } | ({ found: true } & DecodedCheckpoint);

/**
 * Reads and decodes the checkpoint; never throws (an unreadable file is a decode failure).
 * Temp files left by a write that a crash interrupted are removed.
 */
export function readCheckpoint(workDir: string): ReadCheckpoint {
  removeStaleTempFiles(metaDir(workDir));
  return peekCheckpoint(workDir);
}

/**
 * {@link readCheckpoint} without removing anything: safe while a slave writes (a reader that
 * meets a compaction half done gets the snapshot alone, an older state, never a wrong one).
 */
export function peekCheckpoint(workDir: string): ReadCheckpoint {
  let text: string;
  try {
    text = fs.readFileSync(checkpointPath(workDir), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { found: false };
    return { found: true, ok: false, reason: `unreadable: ${(e as Error).message}` };
  }
  const snapshot = decodeCheckpoint(text);
  if (!snapshot.ok || snapshot.checkpoint.journal === undefined) return { found: true, ...snapshot };
  let journal = '';
  try {
    journal = fs.readFileSync(journalPath(workDir), 'utf8');
  } catch (e) {
    // No journal: the snapshot's was never started (a crash right after the snapshot).
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return { found: true, ok: false, reason: `journal unreadable: ${(e as Error).message}` };
  }
  return { found: true, ...replayJournal(snapshot.checkpoint, journal) };
}

function removeStaleTempFiles(dir: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    if (/^\..+\.tmp-\d+(-\d+)?$/.test(n)) fs.rmSync(path.join(dir, n), { force: true });
  }
}

/**
 * Writes the checkpoint atomically as a snapshot without a journal (what a stopping slave
 * leaves), then removes the journal, which no longer applies. Throws the I/O error.
 */
export function writeCheckpoint(workDir: string, c: Checkpoint): void {
  writeFileAtomic(checkpointPath(workDir), encodeCheckpoint({ ...c, journal: undefined }));
  fs.rmSync(journalPath(workDir), { force: true });
}

/** Removes the checkpoint and its journal (a clean shutdown that killed everything). */
export function removeCheckpoint(workDir: string): void {
  fs.rmSync(checkpointPath(workDir), { force: true });
  fs.rmSync(journalPath(workDir), { force: true });
}

/**
 * Moves the meta directory aside as `meta.corrupt-<time>` so an operator can look at a bad
 * checkpoint; returns the new path (undefined when there was nothing to move or it failed).
 */
export function moveMetaAside(workDir: string, nowMs: number): string | undefined {
  const from = metaDir(workDir);
  const to = `${from}.corrupt-${new Date(nowMs).toISOString().replace(/[:.]/g, '-')}`;
  try {
    fs.renameSync(from, to);
    return to;
  } catch {
    return undefined;
  }
}

/** `/proc/sys/kernel/random/boot_id`, or '' where there is none (then boot ids are not compared). */
export function readBootId(file = '/proc/sys/kernel/random/boot_id'): string {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}
