/**
 * The status update manager: at-least-once, in-order delivery of task status updates to
 * the master (Mesos `slave/task_status_update_manager.cpp`).
 *
 * Per task (framework id + task id) there is one ordered stream of updates. Only the head
 * is in flight: it is sent as `status_update` and resent with a doubling interval
 * (`retryMs` … `maxRetryMs`) until the master relays the framework's acknowledgement for
 * that uuid. Then the head is popped, `onAcknowledged` runs (the slave tells the executor
 * with ACKNOWLEDGED) and the next update goes out. Duplicates (same uuid) and updates after
 * a terminal one are dropped; unknown or stale acknowledgements are ignored. A stream
 * whose terminal update was acknowledged is removed.
 *
 * @module
 */
import type { Clock, TimerHandle } from '../sdk/core/clock.js';
import type { Logger } from '../sdk/core/log.js';
import type { StatusUpdate } from '../sdk/protocol/agent.js';
import { isTerminalState } from '../sdk/protocol/mesos.js';
import { nextRetryInterval } from './backoff.js';
import { MAX_CHECKPOINTED_UUIDS, type CheckpointedStream } from './checkpoint.js';

export interface StatusUpdateManagerOptions {
  clock: Clock;
  logger: Logger;
  retryMs: number;
  maxRetryMs: number;
  /**
   * Sends one update to the master; returns false when the master is not reachable now (the
   * retry timer will try again). `ticket` is what {@link onChange} returned when the update
   * was accepted (the checkpoint change that holds it); undefined for an update restored
   * from the checkpoint or one not kept (no uuid).
   */
  forward(update: StatusUpdate, ticket?: number): boolean;
  /** Runs after the head of a stream was acknowledged and popped. */
  onAcknowledged(update: StatusUpdate): void;
  /**
   * Runs whenever the streams change (the slave's checkpoint follows them); before the change
   * is forwarded. May return a ticket naming the change, handed back to {@link forward}.
   */
  onChange?(): number | void;
}

/** What {@link StatusUpdateManager.update} did with an update. */
export type UpdateOutcome = 'queued' | 'forwarded_once' | 'duplicate' | 'after_terminal';

interface Stream {
  frameworkId: string;
  taskId: string;
  pending: StatusUpdate[];
  /** The {@link StatusUpdateManagerOptions.onChange} ticket of each pending update accepted by this run. */
  tickets: WeakMap<StatusUpdate, number>;
  /** Every uuid this stream received: retransmissions by an executor are recognised. */
  seenUuids: Set<string>;
  /** True once a terminal update was received; later updates are refused. */
  terminated: boolean;
  timer?: TimerHandle;
  intervalMs: number;
}

const streamKey = (frameworkId: string, taskId: string): string => `${frameworkId}\u0000${taskId}`;

/** Per-task ordered, retried, acknowledged status update streams. */
export class StatusUpdateManager {
  private readonly streams = new Map<string, Stream>();
  private closed = false;

  constructor(private readonly o: StatusUpdateManagerOptions) {}

  /**
   * Accepts an update for delivery. Updates without a uuid (no acknowledgement expected,
   * as for reconciliation) are forwarded once and not kept.
   */
  update(update: StatusUpdate): UpdateOutcome {
    const uuid = update.status.uuid;
    if (uuid === undefined) {
      this.o.forward(update);
      return 'forwarded_once';
    }
    const key = streamKey(update.framework_id.value, update.status.task_id.value);
    let stream = this.streams.get(key);
    if (stream?.seenUuids.has(uuid)) return 'duplicate';
    if (stream?.terminated) {
      this.o.logger.warn({ task_id: stream.taskId, framework_id: stream.frameworkId, state: update.status.state }, 'ignoring status update after a terminal one');
      return 'after_terminal';
    }
    if (stream === undefined) {
      stream = {
        frameworkId: update.framework_id.value,
        taskId: update.status.task_id.value,
        pending: [],
        tickets: new WeakMap(),
        seenUuids: new Set(),
        terminated: false,
        intervalMs: this.o.retryMs,
      };
      this.streams.set(key, stream);
    }
    stream.seenUuids.add(uuid);
    if (isTerminalState(update.status.state)) stream.terminated = true;
    stream.pending.push(update);
    // Checkpointed before it is forwarded (the forward waits for the write of this change).
    const ticket = this.o.onChange?.();
    if (typeof ticket === 'number') stream.tickets.set(update, ticket);
    if (stream.pending.length === 1) this.sendHead(stream);
    return 'queued';
  }

  /**
   * Handles the master's `status_update_ack`. Returns the acknowledged update, or undefined
   * when the ack does not match the head of a stream (duplicate, stale or unknown: ignored).
   */
  acknowledge(frameworkId: string, taskId: string, uuid: string): StatusUpdate | undefined {
    const key = streamKey(frameworkId, taskId);
    const stream = this.streams.get(key);
    const head = stream?.pending[0];
    if (stream === undefined || head === undefined || head.status.uuid !== uuid) {
      this.o.logger.debug({ framework_id: frameworkId, task_id: taskId, uuid }, 'ignoring unexpected status update acknowledgement');
      return undefined;
    }
    stream.timer?.cancel();
    stream.timer = undefined;
    stream.pending.shift();
    stream.intervalMs = this.o.retryMs;
    if (stream.pending.length > 0) this.sendHead(stream);
    else if (stream.terminated) this.streams.delete(key);
    this.o.onChange?.();
    this.o.onAcknowledged(head);
    return head;
  }

  /** True when the task has updates not yet acknowledged. */
  hasPending(frameworkId: string, taskId: string): boolean {
    return (this.streams.get(streamKey(frameworkId, taskId))?.pending.length ?? 0) > 0;
  }

  /** Every unacknowledged update, oldest first per task (for `reregister`). */
  pendingUpdates(): StatusUpdate[] {
    const out: StatusUpdate[] = [];
    for (const s of this.streams.values()) out.push(...s.pending);
    return out;
  }

  /**
   * The head of every stream: the one update per task that is in flight (for `reregister`).
   * Only heads, as Mesos resends only the head of each stream after re-registering: with
   * whole streams, a second re-registration before the acknowledgements came back would
   * replay earlier states (STARTING, RUNNING) after later ones (FINISHED) at the framework.
   */
  pendingHeads(): StatusUpdate[] {
    const out: StatusUpdate[] = [];
    for (const s of this.streams.values()) if (s.pending[0] !== undefined) out.push(s.pending[0]);
    return out;
  }

  /** Resends every head now and restarts its retry interval (after (re)registering with a master). */
  resume(): void {
    for (const s of this.streams.values()) {
      if (s.pending.length === 0) continue;
      s.timer?.cancel();
      s.intervalMs = this.o.retryMs;
      this.sendHead(s);
    }
  }

  /** Drops every stream of a framework (the framework was shut down: nobody will acknowledge). */
  cleanupFramework(frameworkId: string): void {
    for (const [key, s] of this.streams) {
      if (s.frameworkId !== frameworkId) continue;
      s.timer?.cancel();
      this.streams.delete(key);
    }
    this.o.onChange?.();
  }

  /** Drops everything (the agent was told to shut down). */
  reset(): void {
    for (const s of this.streams.values()) s.timer?.cancel();
    this.streams.clear();
    if (!this.closed) this.o.onChange?.();
  }

  /** The streams as the checkpoint keeps them (the last {@link MAX_CHECKPOINTED_UUIDS} seen uuids each). */
  snapshot(): CheckpointedStream[] {
    return [...this.streams.values()].map((s) => ({
      framework_id: s.frameworkId,
      task_id: s.taskId,
      pending: [...s.pending],
      seen_uuids: [...s.seenUuids].slice(-MAX_CHECKPOINTED_UUIDS),
      terminated: s.terminated,
    }));
  }

  /**
   * Puts back the streams of a checkpoint (slave recovery). Nothing is sent: the heads go
   * out at the next {@link resume} (after re-registering).
   */
  restore(streams: readonly CheckpointedStream[]): void {
    for (const c of streams) {
      this.streams.set(streamKey(c.framework_id, c.task_id), {
        frameworkId: c.framework_id,
        taskId: c.task_id,
        pending: [...c.pending],
        tickets: new WeakMap(),
        seenUuids: new Set([...c.seen_uuids, ...c.pending.flatMap((u) => (u.status.uuid !== undefined ? [u.status.uuid] : []))]),
        terminated: c.terminated,
        intervalMs: this.o.retryMs,
      });
    }
  }

  /** Stops every timer; later calls forward nothing. */
  close(): void {
    this.closed = true;
    this.reset();
  }

  private sendHead(stream: Stream): void {
    if (this.closed) return;
    const head = stream.pending[0];
    if (head === undefined) return;
    // Mesos's `latest_state`: the master learns a task ended while the terminal update still
    // waits behind earlier ones (and can free its resources a round trip or two earlier).
    const latest = stream.pending[stream.pending.length - 1]!.status.state;
    this.o.forward(latest === head.status.state ? head : { ...head, latest_state: latest }, stream.tickets.get(head));
    stream.timer = this.o.clock.setTimeout(() => {
      stream.timer = undefined;
      stream.intervalMs = nextRetryInterval(stream.intervalMs, this.o.maxRetryMs);
      if (stream.pending[0] === head) {
        this.o.logger.debug({ task_id: stream.taskId, state: head.status.state, uuid: head.status.uuid }, 'resending unacknowledged status update');
        this.sendHead(stream);
      }
    }, stream.intervalMs);
  }
}
