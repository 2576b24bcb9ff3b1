/**
 * Keeps `<workDir>/meta/checkpoint.json` in step with the slave's state, cheaply: changes
 * only mark the checkpoint dirty and schedule one write a little later (coalescing a burst
 * of launches and updates into one write). What must be durable before it is acted on —
 * a status update before it is forwarded to the master, a task before its LAUNCH reaches
 * the executor — waits in {@link Checkpointer.afterDurable}: a group commit, one write for
 * everything queued in the same turn, then the sends in order.
 *
 * Every change gets a sequence number (its *ticket*, returned by {@link Checkpointer.changed}).
 * A send names the ticket it depends on (by default: every change made so far) and leaves
 * as soon as a write that started after that change has finished — at once when that write
 * already happened. A status update forwarded after the previous one's acknowledgement was
 * written when it arrived, so it does not wait for a write that only records the
 * acknowledgement (each of those waits was a few milliseconds on every hop of every task).
 * Sends go out in order per *lane* (the master link, each executor's event stream): a send
 * that needs nothing waits behind an earlier one of its lane that needs a write.
 *
 * Writes run on a worker thread (atomic-writer.ts; an fsync takes milliseconds on a real disk
 * and must not block the event loop), one at a time. A write rebuilds the whole document from
 * the live state (`build`) when it starts, and puts on disk only what changed since the last
 * one, as a line of the journal, or, now and then, a new snapshot (checkpoint-writer.ts).
 *
 * @module
 */
import type { Clock, TimerHandle } from '../sdk/core/clock.js';
import type { Logger } from '../sdk/core/log.js';
import { AtomicFileWriter } from './atomic-writer.js';
import type { Checkpoint } from './checkpoint.js';
import { removeCheckpoint, writeCheckpoint } from './checkpoint-store.js';
import { CheckpointWriter } from './checkpoint-writer.js';
import type { CheckpointHooks } from './executors.js';

/** Delay of a coalesced (non-urgent) checkpoint write. */
export const CHECKPOINT_COALESCE_MS = 50;

/** A failed write is tried again after this long even when nothing else changes. */
export const CHECKPOINT_RETRY_MS = 1000;

/** The lane of sends that name none (the master link). */
export const DEFAULT_LANE = 'master';

export interface CheckpointerOptions {
  workDir: string;
  clock: Clock;
  logger: Logger;
  /** The current state as a checkpoint. */
  build(): Checkpoint;
  coalesceMs?: number;
}

/** What a send given to {@link Checkpointer.afterDurable} depends on, and its lane. */
export interface DurableSendOptions {
  /**
   * The ticket of the change that must be on disk first (from {@link Checkpointer.changed});
   * 0: none. Default: every change made so far.
   */
  needs?: number;
  /** Sends of one lane leave in the order they were given; default {@link DEFAULT_LANE}. */
  lane?: unknown;
}

interface WaitingSend {
  fn: () => void;
  needs: number;
}

/** Dirty flag + coalesced asynchronous writes, one at a time + group commit of sends. */
export class Checkpointer implements CheckpointHooks {
  private dirty = false;
  /** Ticket of the latest change. */
  private seq = 0;
  /**
   * Every change up to this ticket is settled: on disk, or its write failed (the sends
   * still go out: availability over durability).
   */
  private settled = 0;
  private coalesceTimer: TimerHandle | undefined;
  private commitTimer: TimerHandle | undefined;
  /** Sends waiting for a write, per lane, in order. A lane is removed once empty. */
  private readonly lanes = new Map<unknown, WaitingSend[]>();
  /** The write loop while it runs. */
  private running: Promise<void> | undefined;
  /** Set by {@link kick}; the loop goes round again while it is set. */
  private requested = false;
  private closing = false;
  private closed = false;
  private failing = false;
  /** Writes done (for tests and diagnostics), and how many of them were snapshots. */
  writes = 0;
  snapshots = 0;
  /** The writes run on a worker thread (one message each way instead of eight thread-pool hops). */
  private readonly files = new AtomicFileWriter();
  private readonly writer: CheckpointWriter;

  constructor(private readonly o: CheckpointerOptions) {
    this.writer = new CheckpointWriter(o.workDir, this.files);
  }

  /** Marks the checkpoint dirty (a write follows within the coalescing delay); returns the change's ticket. */
  changed(): number {
    if (this.closing) return this.seq;
    this.dirty = true;
    this.seq++;
    this.coalesceTimer ??= this.o.clock.setTimeout(() => {
      this.coalesceTimer = undefined;
      this.kick();
    }, this.o.coalesceMs ?? CHECKPOINT_COALESCE_MS);
    return this.seq;
  }

  /**
   * Runs `fn` once the change it `needs` is on disk, after every earlier send of its lane
   * (group commit: the sends queued within one turn of the clock (`setTimeout 0`) share one
   * write). When nothing it needs is pending and its lane is empty, it runs at once.
   * Closed: runs at once.
   */
  afterDurable(fn: () => void, options: DurableSendOptions = {}): void {
    if (this.closed) {
      this.run(fn);
      return;
    }
    const needs = options.needs ?? this.seq;
    const lane = options.lane ?? DEFAULT_LANE;
    const queue = this.lanes.get(lane);
    if (queue === undefined && needs <= this.settled) {
      this.run(fn);
      return;
    }
    if (queue === undefined) this.lanes.set(lane, [{ fn, needs }]);
    else queue.push({ fn, needs });
    if (this.closing) return; // close() releases it after the final write
    if (needs > this.settled) {
      this.commitTimer ??= this.o.clock.setTimeout(() => {
        this.commitTimer = undefined;
        this.kick();
      }, 0);
    }
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
      if (this.dirty) {
        this.dirty = false;
        this.coalesceTimer?.cancel();
        this.coalesceTimer = undefined;
        // `build` runs now: the document holds every change up to this ticket.
        const upTo = this.seq;
        try {
          if ((await this.writer.write(this.o.build())) === 'snapshot') this.snapshots++;
          this.written();
        } catch (e) {
          this.writeFailed(e);
        }
        this.settled = Math.max(this.settled, upTo);
      } else {
        this.settled = this.seq;
      }
      this.release();
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
    // Tried again with the next change, or after a while if none comes.
    if (!this.closing) {
      this.coalesceTimer ??= this.o.clock.setTimeout(() => {
        this.coalesceTimer = undefined;
        this.kick();
      }, CHECKPOINT_RETRY_MS);
    }
  }

  /** Runs, per lane in order, every send whose change is settled (all of them once closed). */
  private release(): void {
    for (const [lane, queue] of [...this.lanes]) {
      let n = 0;
      while (n < queue.length && (this.closed || queue[n]!.needs <= this.settled)) n++;
      if (n === 0) continue;
      const ready = queue.splice(0, n);
      if (queue.length === 0) this.lanes.delete(lane);
      for (const w of ready) this.run(w.fn);
    }
  }

  private run(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.o.logger.warn({ err: (e as Error).message }, 'failed to send after a checkpoint write');
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
    this.files.close();
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
    this.release();
  }
}
