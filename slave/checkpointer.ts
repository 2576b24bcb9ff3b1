/**
 * Keeps `<workDir>/meta/checkpoint.json` in step with the slave's state, cheaply: changes
 * only mark the checkpoint dirty and schedule one write a little later (coalescing a burst
 * of launches and updates into one write). What must be durable before it is acted on —
 * a status update before it is forwarded to the master, a task before its LAUNCH reaches
 * the executor — waits in {@link Checkpointer.afterDurable}: a group commit, one write for
 * everything queued in the same turn, then the sends in order. Sends queued while a write
 * is in flight go after the next write.
 *
 * Writes run on `fs.promises` (temp file, fsync, rename, fsync of the directory: a few
 * milliseconds that must not block the event loop), one at a time. A write rebuilds the
 * whole document from the live state (`build`) when it starts.
 *
 * @module
 */
import type { Clock, TimerHandle } from '../sdk/core/clock.js';
import type { Logger } from '../sdk/core/log.js';
import type { Checkpoint } from './checkpoint.js';
import { removeCheckpoint, writeCheckpoint, writeCheckpointAsync } from './checkpoint-store.js';
import type { CheckpointHooks } from './executors.js';

/** Delay of a coalesced (non-urgent) checkpoint write. */
export const CHECKPOINT_COALESCE_MS = 50;

export interface CheckpointerOptions {
  workDir: string;
  clock: Clock;
  logger: Logger;
  /** The current state as a checkpoint. */
  build(): Checkpoint;
  coalesceMs?: number;
}

/** Dirty flag + coalesced asynchronous writes, one at a time + group commit of sends. */
export class Checkpointer implements CheckpointHooks {
  private dirty = false;
  private coalesceTimer: TimerHandle | undefined;
  private commitTimer: TimerHandle | undefined;
  private readonly waiting: (() => void)[] = [];
  /** The write loop while it runs. */
  private running: Promise<void> | undefined;
  /** Set by {@link kick}; the loop goes round again while it is set. */
  private requested = false;
  private closing = false;
  private closed = false;
  private failing = false;
  /** Writes done (for tests and diagnostics). */
  writes = 0;

  constructor(private readonly o: CheckpointerOptions) {}

  changed(): void {
    if (this.closing) return;
    this.dirty = true;
    this.coalesceTimer ??= this.o.clock.setTimeout(() => {
      this.coalesceTimer = undefined;
      this.kick();
    }, this.o.coalesceMs ?? CHECKPOINT_COALESCE_MS);
  }

  /**
   * Runs `fn` after the next write (group commit): everything queued within one turn of
   * the clock (`setTimeout 0`) shares one write, then runs in order. Closed: runs at once.
   */
  afterDurable(fn: () => void): void {
    if (this.closed) {
      fn();
      return;
    }
    this.waiting.push(fn);
    if (this.closing) return; // close() releases it after the final write
    this.commitTimer ??= this.o.clock.setTimeout(() => {
      this.commitTimer = undefined;
      this.kick();
    }, 0);
  }

  /**
   * Writes now when anything changed since the last write, and releases what waits.
   * Resolves once done. A failed write is logged (never thrown) and retried on the next
   * change or flush.
   */
  async flush(): Promise<void> {
    this.kick();
    await this.idle();
  }

  /** Resolves once no write is in flight or queued. */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  private kick(): void {
    if (this.closing) return;
    this.requested = true;
    // `finally` runs before `running` settles: a kick that came after the loop's last look
    // starts the next loop there, so awaiting `running` in a loop (idle) sees it.
    this.running ??= this.loop().finally(() => {
      this.running = undefined;
      if (this.requested) this.kick();
    });
  }

  private async loop(): Promise<void> {
    while (this.requested && !this.closing) {
      this.requested = false;
      const batch = this.waiting.splice(0);
      if (this.dirty) {
        this.dirty = false;
        this.coalesceTimer?.cancel();
        this.coalesceTimer = undefined;
        try {
          await writeCheckpointAsync(this.o.workDir, this.o.build());
          this.written();
        } catch (e) {
          this.writeFailed(e);
        }
      }
      this.release(batch);
    }
  }

  private written(): void {
    this.writes++;
    if (this.failing) this.o.logger.info('checkpoint written again');
    this.failing = false;
  }

  private writeFailed(e: unknown): void {
    this.dirty = true;
    if (!this.failing) this.o.logger.error({ err: (e as Error).message }, 'cannot write the checkpoint; a restarted agent may not recover this state');
    this.failing = true;
  }

  private release(batch: (() => void)[]): void {
    for (const fn of batch) {
      try {
        fn();
      } catch (e) {
        this.o.logger.warn({ err: (e as Error).message }, 'failed to send after a checkpoint write');
      }
    }
  }

  /**
   * Stops writing, after the write in flight. `keep`: a last write of the final state (tasks
   * outlive the slave); `remove`: the checkpoint is deleted (everything was killed: nothing
   * to recover). What was waiting for a write is released.
   */
  async close(how: 'keep' | 'remove'): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.coalesceTimer?.cancel();
    this.coalesceTimer = undefined;
    this.commitTimer?.cancel();
    this.commitTimer = undefined;
    // The write in flight must not rename its file over the final one.
    await this.idle();
    if (how === 'keep') {
      try {
        writeCheckpoint(this.o.workDir, this.o.build());
        this.written();
      } catch (e) {
        this.writeFailed(e);
      }
    } else {
      try {
        removeCheckpoint(this.o.workDir);
      } catch (e) {
        this.o.logger.warn({ err: (e as Error).message }, 'cannot remove the checkpoint');
      }
    }
    this.closed = true;
    this.release(this.waiting.splice(0));
  }
}
