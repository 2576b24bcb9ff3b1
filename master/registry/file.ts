/**
 * The registry in files of the master's work dir (standalone mode): a snapshot,
 * `registry.json`, and a log of the operations applied since, `registry.log`.
 *
 * Rewriting the whole document on every group commit cost O(agents) per write: with 15,000
 * agents registering, a few hundred writes of a 6 MB document were most of the master's CPU.
 * A commit now appends its operations to the log (one line each, then fdatasync): O(batch).
 * When the log outgrows the snapshot (and at least {@link MIN_COMPACTION_BYTES}) the next
 * commit writes a new snapshot instead, so the log's total size stays linear in what was
 * written and loading replays at most about a snapshot's worth of operations.
 *
 * Crash safety:
 * - the snapshot is written to a temp file, fsynced, renamed over the old one, and the
 *   directory fsynced, so a crash leaves either the old or the new snapshot;
 * - the snapshot carries a `generation` and the log's first line names the generation it
 *   continues (`{"registryLog":1,"base":g}`). A compaction writes snapshot g+1, then
 *   replaces the log with an empty one for g+1 (temp + rename): a crash in between leaves a
 *   log for g, which is ignored, never replayed twice;
 * - a crash in an append leaves at most an unterminated last line: it was never
 *   acknowledged, and it is dropped (truncated) on load. A complete line that is not a valid
 *   operation is corruption (`AGORA_REGISTRY_CORRUPT`);
 * - an append that fails is truncated away; if even that fails, the next commit rewrites
 *   the snapshot and a fresh log.
 *
 * The first commit on a store without a snapshot writes one, so `registry.json` exists
 * once anything was stored. Read the current document with {@link readFileRegistrySync}
 * (or `load()`), not from `registry.json` alone.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { open, readFile, rename, truncate, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { AgoraError } from '../../sdk/core/errors.js';
import {
  decodeRegistryDocument, DocumentRegistry, emptyRegistry, encodeRegistry, parseRegistryOp, RegistryDraft,
  type RegistryOp, type RegistrySnapshot,
} from './types.js';

export const REGISTRY_FILE = 'registry.json';
export const REGISTRY_LOG_FILE = 'registry.log';
/** The log is compacted into a new snapshot once larger than this and than the snapshot. */
export const MIN_COMPACTION_BYTES = 1 << 20;

/** What the two files hold, read together. */
export interface StoredFileRegistry {
  /** Snapshot plus the log's operations; undefined when nothing was ever stored. */
  snapshot: RegistrySnapshot | undefined;
  /** The snapshot's generation (0 without one). */
  generation: number;
  snapshotBytes: number;
  /** Bytes of the log that belong to this generation and are whole lines; 0 when the log is absent or stale. */
  logBytes: number;
  /** True when the log ends in an unterminated line (a torn append) to truncate at `logBytes`. */
  tornTail: boolean;
}

function logHeader(generation: number): string {
  return `${JSON.stringify({ registryLog: 1, base: generation })}\n`;
}

/**
 * Pure: the registry from the texts of the snapshot and the log (either may be absent).
 * Throws `AGORA_REGISTRY_CORRUPT` naming `dir` for a bad snapshot or a bad log line.
 */
export function composeFileRegistry(snapshotText: string | undefined, logText: string | undefined, dir: string): StoredFileRegistry {
  const decoded = snapshotText === undefined ? undefined : decodeRegistryDocument(snapshotText, path.join(dir, REGISTRY_FILE));
  const generation = decoded?.generation ?? 0;
  const snapshotBytes = snapshotText === undefined ? 0 : Buffer.byteLength(snapshotText);
  const none = { snapshot: decoded?.snapshot, generation, snapshotBytes, logBytes: 0, tornTail: false };
  if (logText === undefined || logText.length === 0) return none;
  const where = path.join(dir, REGISTRY_LOG_FILE);
  const end = logText.lastIndexOf('\n');
  const whole = end < 0 ? '' : logText.slice(0, end);
  const tornTail = end < logText.length - 1;
  const lines = whole === '' ? [] : whole.split('\n');
  const header = lines.length === 0 ? undefined : parseJsonLine(lines[0]!);
  const base = (header as { registryLog?: unknown; base?: unknown } | undefined);
  if (base === undefined || base.registryLog !== 1 || typeof base.base !== 'number') {
    // Only a torn first write can leave a log without its header line: nothing in it was acknowledged.
    if (lines.length === 0) return { ...none, tornTail };
    throw new AgoraError('AGORA_REGISTRY_CORRUPT', `registry log at ${where} does not start with its header`);
  }
  // A log of another generation was left by a compaction interrupted by a crash: the snapshot has it all.
  if (base.base !== generation) return none;
  const draft = new RegistryDraft(decoded?.snapshot ?? emptyRegistry(), 'inPlace'); // a fresh document: nothing to keep
  for (let i = 1; i < lines.length; i++) {
    const op = parseRegistryOp(parseJsonLine(lines[i]!));
    if (op === undefined) throw new AgoraError('AGORA_REGISTRY_CORRUPT', `registry log at ${where}: line ${i + 1} is not a registry operation`);
    try {
      draft.apply(op);
    } catch (err) {
      throw new AgoraError('AGORA_REGISTRY_CORRUPT', `registry log at ${where}: line ${i + 1}: ${(err as Error).message}`, { cause: err });
    }
  }
  return { snapshot: draft.snapshot, generation, snapshotBytes, logBytes: Buffer.byteLength(whole) + 1, tornTail };
}

function parseJsonLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function readIfExistsAsync(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** The registry stored in `dir` (snapshot plus log), read synchronously; empty when nothing is stored. For tools and tests. */
export function readFileRegistrySync(dir: string): RegistrySnapshot {
  const text = readIfExists(path.join(dir, REGISTRY_FILE));
  const log = readIfExists(path.join(dir, REGISTRY_LOG_FILE));
  return composeFileRegistry(text, log, dir).snapshot ?? emptyRegistry();
}

/** Writes `text` to `file` atomically and durably: temp file, fsync, rename, directory fsync. */
async function replaceFile(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(text, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  const dir = await open(path.dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

export class FileRegistry extends DocumentRegistry {
  readonly file: string;
  readonly logFile: string;
  private readonly dir: string;
  private readonly compactionBytes: number;
  private generation = 0;
  private snapshotBytes = 0;
  /** Whole bytes of the current generation's log (0: no log for it yet). */
  private logBytes = 0;
  private hasSnapshot = false;
  /** The log, open for appending, once this instance wrote or adopted it. */
  private log?: FileHandle;
  /** Set when the log may hold bytes that were not acknowledged: the next commit writes a snapshot. */
  private mustCompact = false;

  /** @param opts.compactionBytes the least log size that triggers a compaction (tests make it small). */
  constructor(workDir: string, opts: { compactionBytes?: number } = {}) {
    super();
    this.dir = workDir;
    this.file = path.join(workDir, REGISTRY_FILE);
    this.logFile = path.join(workDir, REGISTRY_LOG_FILE);
    this.compactionBytes = opts.compactionBytes ?? MIN_COMPACTION_BYTES;
  }

  protected async read(): Promise<RegistrySnapshot | undefined> {
    await this.closeLog();
    const stored = composeFileRegistry(await readIfExistsAsync(this.file), await readIfExistsAsync(this.logFile), this.dir);
    if (stored.tornTail) await truncate(this.logFile, stored.logBytes);
    this.generation = stored.generation;
    this.snapshotBytes = stored.snapshotBytes;
    this.logBytes = stored.logBytes;
    this.hasSnapshot = stored.snapshotBytes > 0;
    this.mustCompact = false;
    return stored.snapshot;
  }

  protected async write(snapshot: RegistrySnapshot, ops: readonly RegistryOp[]): Promise<void> {
    const lines = ops.map((op) => `${JSON.stringify(op)}\n`).join('');
    const grown = this.logBytes + Buffer.byteLength(lines);
    if (!this.hasSnapshot || this.mustCompact || ops.length === 0 || grown > Math.max(this.compactionBytes, this.snapshotBytes)) {
      await this.compact(snapshot);
      return;
    }
    await this.append(lines);
  }

  /** Appends whole lines and fdatasyncs; on failure, cuts the log back to what was acknowledged. */
  private async append(lines: string): Promise<void> {
    try {
      if (this.log === undefined) {
        if (this.logBytes === 0) await replaceFile(this.logFile, logHeader(this.generation));
        this.log = await open(this.logFile, 'a', 0o600);
        if (this.logBytes === 0) this.logBytes = Buffer.byteLength(logHeader(this.generation));
      }
      await this.log.writeFile(lines, 'utf8');
      await this.log.datasync();
      this.logBytes += Buffer.byteLength(lines);
    } catch (err) {
      await this.closeLog();
      try {
        if (this.logBytes > 0) await truncate(this.logFile, this.logBytes);
      } catch {
        this.mustCompact = true;
      }
      throw err;
    }
  }

  /** Writes snapshot g+1, then an empty log for it. */
  private async compact(snapshot: RegistrySnapshot): Promise<void> {
    const generation = this.generation + 1;
    const text = encodeRegistry(snapshot, generation);
    await this.closeLog();
    await replaceFile(this.file, text);
    this.generation = generation;
    this.snapshotBytes = Buffer.byteLength(text);
    this.hasSnapshot = true;
    this.logBytes = 0; // the old log is stale from here on; the next append starts this generation's
    this.mustCompact = false;
  }

  private async closeLog(): Promise<void> {
    const log = this.log;
    this.log = undefined;
    if (log !== undefined) await log.close().catch(() => undefined);
  }

  override async close(): Promise<void> {
    await super.close();
    await this.closeLog();
  }
}
