/**
 * Status updates in batches. The scheduler SDK hands over one event at a time and waits for
 * its handler; handling an update (persist, then acknowledge) one after another made every
 * update wait for the previous one's write and for an engine tick in between — with 1,000
 * tasks starting, Marathon took about 100 updates a second and sat mostly idle.
 *
 * So the UPDATE handler only queues the update and returns. The updates queued while the
 * engine is busy are handled together in one exclusive section (their writes go to the
 * store concurrently, and one tick follows the whole batch), and each is acknowledged only
 * once handled — persisted first, as Marathon does, so an update is never acknowledged and
 * then lost. An update that could not be handled is not acknowledged: the agent resends it.
 *
 * Order: a batch is queued on the exclusive section when its first update arrives, so it
 * runs before any later event (offers, the next batch); updates arriving until it starts
 * join it, i.e. they are handled earlier, never later, than one by one.
 *
 * @module
 */
import type { Logger } from '../../../sdk/core/log.js';
import type { TaskStatus } from '../../../sdk/protocol/index.js';

export interface UpdateBatcherDeps {
  /** Runs `fn` alone (the engine's exclusive section). */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  /** Handles a batch in order per instance; whether each update was handled. */
  handle(statuses: readonly TaskStatus[]): Promise<boolean[]>;
  /** ACKNOWLEDGEs one update (a status without uuid needs none). */
  acknowledge(status: TaskStatus): Promise<void>;
  logger: Logger;
}

export class UpdateBatcher {
  private pending: TaskStatus[] = [];
  private scheduled = false;
  private closed = false;

  constructor(private readonly deps: UpdateBatcherDeps) {}

  /** Queues an update; it is handled (and then acknowledged) with the others queued meanwhile. */
  push(status: TaskStatus): void {
    if (this.closed) return;
    this.pending.push(status);
    if (this.scheduled) return;
    this.scheduled = true;
    this.deps.exclusive(() => this.drain()).catch((err: unknown) => {
      this.deps.logger.error({ err }, 'status update batch failed');
    });
  }

  /** Stops taking updates; those not handled yet are dropped unacknowledged (the agents resend them). */
  close(): void {
    this.closed = true;
    this.pending = [];
  }

  private async drain(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    this.scheduled = false;
    if (this.closed || batch.length === 0) return;
    const started = performance.now();
    const handled = await this.deps.handle(batch);
    this.deps.logger.debug({ updates: batch.length, ms: Math.round(performance.now() - started) }, 'status updates handled');
    batch.forEach((status, n) => {
      if (!handled[n] || this.closed) return;
      // Not awaited: the SDK sends acknowledgements on their own lane, together.
      this.deps.acknowledge(status).catch((err: unknown) => {
        this.deps.logger.warn({ err: (err as Error).message, taskId: status.task_id.value }, 'acknowledgement failed (the update will be resent)');
      });
    });
  }
}
