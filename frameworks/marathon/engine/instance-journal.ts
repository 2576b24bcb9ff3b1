/**
 * The file store's instances, as a journal: one append-only file of JSON lines
 * (`{"put":<instance>}` or `{"del":"<instance id>"}`), with group commit. Instances change
 * all the time (Scheduled → Provisioned → Staging → Running, four writes per task); a file
 * per instance written atomically (temp file, fsync, rename, directory fsync) cost about
 * 0.4 ms of work each even when concurrent — 4,000 of them for a 1,000-instance app, most
 * of Marathon's time in the launch. Here every change made while an append is in flight
 * goes into the next append, and one write + one fdatasync makes them all durable.
 *
 * - A change resolves once its line is on disk; lines land in call order.
 * - The log is compacted (rewritten with one `put` per live instance: temp file, fsync,
 *   rename, directory fsync) when it holds more than twice the live instances plus
 *   {@link COMPACT_SLACK} records, so it stays proportional to the instances.
 * - A crash mid-append can leave a torn last line: it is skipped on load (its change never
 *   resolved). After a failed append the next flush compacts, so a partial line never
 *   sits in the middle of the log.
 * - The former layout (one `instances/<id>.json` per instance) is read once and folded in:
 *   the journal is compacted with those instances, then the old directory is removed.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Instance } from '../model/types.js';

/** Records the log may hold beyond twice the live instances before it is compacted. */
export const COMPACT_SLACK = 1000;

type Line = { put: Instance } | { del: string };

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

export interface InstanceJournalOptions {
  /** fsyncs a directory (shared with the store, so concurrent renames share their fsyncs). */
  syncDir(dir: string): Promise<void>;
  /** The former per-instance files (`instances/<id>.json`), folded into the journal on open. */
  legacyDir?: string;
  /** Override of {@link COMPACT_SLACK} (tests). */
  compactSlack?: number;
}

export class InstanceJournal {
  /** Live instances as their JSON, reflecting every call made (durable or in flight). */
  private readonly live = new Map<string, string>();
  /** Lines in the log file now. */
  private records = 0;
  private queue: string[] = [];
  private waiters: Waiter[] = [];
  private flushing: Promise<void> | undefined;
  private opened: Promise<void> | undefined;
  private handle: fs.FileHandle | undefined;
  private mustCompact = false;

  constructor(readonly file: string, private readonly o: InstanceJournalOptions) {}

  /** The live instances, as fresh copies. */
  async instances(): Promise<Instance[]> {
    await this.open();
    return [...this.live.values()].map((json) => JSON.parse(json) as Instance);
  }

  /** Saves an instance (replacing the one with its id); resolves once durable. */
  async put(instance: Instance): Promise<void> {
    await this.open();
    const json = JSON.stringify(instance);
    this.live.set(instance.instanceId, json);
    return this.enqueue(`{"put":${json}}`);
  }

  /** Forgets an instance; resolves once durable (at once if it is not known). */
  async delete(instanceId: string): Promise<void> {
    await this.open();
    if (!this.live.delete(instanceId)) return;
    return this.enqueue(JSON.stringify({ del: instanceId }));
  }

  /** Waits for pending changes and closes the file. */
  async close(): Promise<void> {
    await this.opened?.catch(() => undefined);
    while (this.flushing !== undefined) await this.flushing.catch(() => undefined);
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }

  // ---- opening ------------------------------------------------------------------------

  private open(): Promise<void> {
    this.opened ??= this.load();
    return this.opened;
  }

  private async load(): Promise<void> {
    const legacy = await this.readLegacy();
    let text = '';
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    // The journal is newer than any former per-instance file.
    for (const instance of legacy) this.live.set(instance.instanceId, JSON.stringify(instance));
    for (const raw of text.split('\n')) {
      if (raw === '') continue;
      this.records++;
      let line: Line;
      try {
        line = JSON.parse(raw) as Line;
      } catch {
        continue; // a torn last line: its change never resolved
      }
      if ('put' in line) this.live.set(line.put.instanceId, JSON.stringify(line.put));
      else if (typeof line.del === 'string') this.live.delete(line.del);
    }
    // A torn last line (no newline) must not swallow the next append: rewrite the log first.
    if (text !== '' && !text.endsWith('\n')) this.mustCompact = true;
    if (legacy.length > 0) {
      await this.compact();
      await this.removeLegacy();
    }
  }

  private async readLegacy(): Promise<Instance[]> {
    if (this.o.legacyDir === undefined) return [];
    let names: string[];
    try {
      names = (await fs.readdir(this.o.legacyDir)).filter((n) => n.endsWith('.json')).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: Instance[] = [];
    for (const n of names) {
      try {
        out.push(JSON.parse(await fs.readFile(path.join(this.o.legacyDir, n), 'utf8')) as Instance);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    return out;
  }

  /** Removes the former per-instance files (and their directory) once the journal holds them. */
  private async removeLegacy(): Promise<void> {
    const dir = this.o.legacyDir!;
    await fs.rm(dir, { recursive: true, force: true });
    await this.o.syncDir(path.dirname(dir));
  }

  // ---- writing ------------------------------------------------------------------------

  private enqueue(line: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push(line);
      this.waiters.push({ resolve, reject });
      this.flushing ??= this.flush().finally(() => {
        this.flushing = undefined;
      });
    });
  }

  /** Appends what queued up, again and again until nothing waits. */
  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const lines = this.queue;
      const waiters = this.waiters;
      this.queue = [];
      this.waiters = [];
      try {
        const slack = this.o.compactSlack ?? COMPACT_SLACK;
        // A compaction writes every live instance as it is now, these changes included.
        if (this.mustCompact || this.records + lines.length > 2 * this.live.size + slack) await this.compact();
        else await this.append(lines);
        for (const w of waiters) w.resolve();
      } catch (err) {
        this.mustCompact = true;
        for (const w of waiters) w.reject(err);
      }
    }
  }

  private async append(lines: string[]): Promise<void> {
    let created = false;
    if (this.handle === undefined) {
      created = !(await exists(this.file));
      this.handle = await fs.open(this.file, 'a');
    }
    await this.handle.write(`${lines.join('\n')}\n`);
    await this.handle.datasync();
    if (created) await this.o.syncDir(path.dirname(this.file));
    this.records += lines.length;
  }

  /** Rewrites the log with the live instances only (atomically: temp file, fsync, rename, directory fsync). */
  private async compact(): Promise<void> {
    const tmp = `${this.file}.${randomUUID()}.tmp`;
    const handle = await fs.open(tmp, 'w');
    try {
      const body = [...this.live.values()].map((json) => `{"put":${json}}\n`).join('');
      await handle.writeFile(body);
      await handle.sync();
    } finally {
      await handle.close();
    }
    const old = this.handle;
    this.handle = undefined;
    await old?.close();
    await fs.rename(tmp, this.file);
    await this.o.syncDir(path.dirname(this.file));
    this.records = this.live.size;
    this.mustCompact = false;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}
