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
  /**
   * The {@link StatusUpdateManagerOptions.onChange} ticket of each pending update accepted by
   * this run; made on the first ticket (emulated agents, without a checkpoint, never need one).
   */
  tickets?: WeakMap<StatusUpdate, number>;
  /** Every uuid this stream received: retransmissions by an executor are recognised. */
  seenUuids: SeenUuids;
  /** True once a terminal update was received; later updates are refused. */
  terminated: boolean;
  /**
   * Where the head's retry waits in the {@link RetryBucket} of `intervalMs` (an absolute
   * position, see {@link RetryBucket.base}); -1 when no retry is scheduled.
   */
  retrySlot: number;
  intervalMs: number;
}

/**
 * The retries scheduled with one interval, in the order they were scheduled, which is the
 * order they fall due (each is due `interval` after it was scheduled). Streams whose head was
 * acknowledged meanwhile leave an empty slot behind (cleared at once, so that a finished
 * stream is not held until its slot comes up).
 */
interface RetryBucket {
  streams: (Stream | undefined)[];
  /** Clock time at which each slot is due. */
  dues: number[];
  /** First slot not yet fired. */
  head: number;
  /** Slots dropped from the front of the arrays so far: a stream's absolute slot is `base + index`. */
  base: number;
}

/** A stream holds at most this many seen uuids in an array before it moves them to a Set. */
const SEEN_UUIDS_ARRAY_MAX = 16;

/**
 * The uuids a stream has seen: a small array while there are few (most tasks send two to
 * four updates), a Set beyond {@link SEEN_UUIDS_ARRAY_MAX}. A stream outlives its updates for
 * as long as its task runs, and an empty Set costs several times a two-element array: held
 * by every running task of a busy emulator, that was old-generation memory for the GC to
 * promote and mark.
 */
type SeenUuids = string[] | Set<string>;

function hasSeen(seen: SeenUuids, uuid: string): boolean {
  return Array.isArray(seen) ? seen.includes(uuid) : seen.has(uuid);
}

/** Adds `uuid` (not yet seen); returns the holder to keep (a Set once the array is full). */
function addSeen(seen: SeenUuids, uuid: string): SeenUuids {
  if (!Array.isArray(seen)) return seen.add(uuid);
  // A new exact-size array rather than a push: a push grows the backing store by 16 slots,
  // more than the Set it replaces. Literals for the usual lengths (concat is slower).
  const n = seen.length;
  if (n === 0) return [uuid];
  if (n === 1) return [seen[0]!, uuid];
  if (n < SEEN_UUIDS_ARRAY_MAX) {
    const next = new Array<string>(n + 1);
    for (let i = 0; i < n; i++) next[i] = seen[i]!;
    next[n] = uuid;
    return next;
  }
  return new Set(seen).add(uuid);
}

/**
 * Streams by framework id, then task id. Two lookups on the ids as they arrived rather than
 * one on a joined key: a joined key is a new string to build, flatten and hash on every
 * update and acknowledgement (three of each per task), which showed in the emulator's profile.
 */
class StreamIndex {
  private readonly byFramework = new Map<string, Map<string, Stream>>();

  get(frameworkId: string, taskId: string): Stream | undefined {
    return this.byFramework.get(frameworkId)?.get(taskId);
  }

  set(stream: Stream): void {
    let streams = this.byFramework.get(stream.frameworkId);
    if (streams === undefined) {
      streams = new Map();
      this.byFramework.set(stream.frameworkId, streams);
    }
    streams.set(stream.taskId, stream);
  }

  delete(stream: Stream): void {
    const streams = this.byFramework.get(stream.frameworkId);
    if (streams?.get(stream.taskId) !== stream) return;
    streams.delete(stream.taskId);
    if (streams.size === 0) this.byFramework.delete(stream.frameworkId);
  }

  /** Removes and returns every stream of a framework. */
  deleteFramework(frameworkId: string): Stream[] {
    const streams = this.byFramework.get(frameworkId);
    if (streams === undefined) return [];
    this.byFramework.delete(frameworkId);
    return [...streams.values()];
  }

  clear(): void {
    this.byFramework.clear();
  }

  /** Every stream, framework by framework, each framework's in insertion order. */
  *values(): IterableIterator<Stream> {
    for (const streams of this.byFramework.values()) yield* streams.values();
  }
}

/**
 * Per-task ordered, retried, acknowledged status update streams.
 *
 * Retries run on one timer per manager, not one per update: the heads in flight wait in
 * {@link RetryBucket}s, one per retry interval (the first interval, then its doublings up to
 * the cap: a handful), and the timer is armed for the earliest slot. A timer per update was
 * three timer objects and two closures per update, made and cancelled within the round trip
 * of its acknowledgement (a busy emulator sends thousands of updates a second).
 */
export class StatusUpdateManager {
  private readonly streams = new StreamIndex();
  private closed = false;
  private readonly retryBuckets = new Map<number, RetryBucket>();
  private retryTimer: TimerHandle | undefined;
  /** When {@link retryTimer} fires. */
  private retryTimerAt = 0;
  private readonly onRetryTimer = (): void => this.fireRetries();

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
    let stream = this.streams.get(update.framework_id.value, update.status.task_id.value);
    if (stream !== undefined && hasSeen(stream.seenUuids, uuid)) return 'duplicate';
    if (stream?.terminated) {
      this.o.logger.warn({ task_id: stream.taskId, framework_id: stream.frameworkId, state: update.status.state }, 'ignoring status update after a terminal one');
      return 'after_terminal';
    }
    if (stream === undefined) {
      stream = {
        frameworkId: update.framework_id.value,
        taskId: update.status.task_id.value,
        pending: [],
        seenUuids: [],
        terminated: false,
        retrySlot: -1,
        intervalMs: this.o.retryMs,
      };
      this.streams.set(stream);
    }
    stream.seenUuids = addSeen(stream.seenUuids, uuid);
    if (isTerminalState(update.status.state)) stream.terminated = true;
    // A one-element literal for the usual case (the stream was drained): a push into an
    // empty array grows a backing store of 17 slots, held while the update waits for its ack.
    if (stream.pending.length === 0) stream.pending = [update];
    else stream.pending.push(update);
    // Checkpointed before it is forwarded (the forward waits for the write of this change).
    const ticket = this.o.onChange?.();
    if (typeof ticket === 'number') (stream.tickets ??= new WeakMap()).set(update, ticket);
    if (stream.pending.length === 1) this.sendHead(stream);
    return 'queued';
  }

  /**
   * Handles the master's `status_update_ack`. Returns the acknowledged update, or undefined
   * when the ack does not match the head of a stream (duplicate, stale or unknown: ignored).
   */
  acknowledge(frameworkId: string, taskId: string, uuid: string): StatusUpdate | undefined {
    const stream = this.streams.get(frameworkId, taskId);
    const head = stream?.pending[0];
    if (stream === undefined || head === undefined || head.status.uuid !== uuid) {
      this.o.logger.debug({ framework_id: frameworkId, task_id: taskId, uuid }, 'ignoring unexpected status update acknowledgement');
      return undefined;
    }
    this.cancelRetry(stream);
    stream.pending.shift();
    stream.intervalMs = this.o.retryMs;
    if (stream.pending.length > 0) this.sendHead(stream);
    else if (stream.terminated) this.streams.delete(stream);
    // Drained, the stream waits for the task's next update (for as long as the task runs):
    // a fresh empty array holds no backing store, the drained one still holds the room its
    // pushes grew.
    else stream.pending = [];
    this.o.onChange?.();
    this.o.onAcknowledged(head);
    return head;
  }

  /** True when the task has updates not yet acknowledged. */
  hasPending(frameworkId: string, taskId: string): boolean {
    return (this.streams.get(frameworkId, taskId)?.pending.length ?? 0) > 0;
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
      this.cancelRetry(s);
      s.intervalMs = this.o.retryMs;
      this.sendHead(s);
    }
  }

  /** Drops every stream of a framework (the framework was shut down: nobody will acknowledge). */
  cleanupFramework(frameworkId: string): void {
    for (const s of this.streams.deleteFramework(frameworkId)) this.cancelRetry(s);
    this.o.onChange?.();
  }

  /** Drops everything (the agent was told to shut down). */
  reset(): void {
    for (const s of this.streams.values()) s.retrySlot = -1;
    this.streams.clear();
    this.retryBuckets.clear();
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    if (!this.closed) this.o.onChange?.();
  }

  /** The streams as the checkpoint keeps them (the last {@link MAX_CHECKPOINTED_UUIDS} seen uuids each). */
  snapshot(): CheckpointedStream[] {
    return [...this.streams.values()].map((s) => ({
      framework_id: s.frameworkId,
      task_id: s.taskId,
      pending: [...s.pending],
      seen_uuids: Array.from(s.seenUuids).slice(-MAX_CHECKPOINTED_UUIDS),
      terminated: s.terminated,
    }));
  }

  /**
   * Puts back the streams of a checkpoint (slave recovery). Nothing is sent: the heads go
   * out at the next {@link resume} (after re-registering).
   */
  restore(streams: readonly CheckpointedStream[]): void {
    for (const c of streams) {
      this.streams.set({
        frameworkId: c.framework_id,
        taskId: c.task_id,
        pending: [...c.pending],
        seenUuids: new Set([...c.seen_uuids, ...c.pending.flatMap((u) => (u.status.uuid !== undefined ? [u.status.uuid] : []))]),
        terminated: c.terminated,
        retrySlot: -1,
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
    this.o.forward(latest === head.status.state ? head : { ...head, latest_state: latest }, stream.tickets?.get(head));
    this.scheduleRetry(stream);
  }

  /** Schedules a resend of the stream's head `intervalMs` from now. */
  private scheduleRetry(stream: Stream): void {
    this.cancelRetry(stream);
    let bucket = this.retryBuckets.get(stream.intervalMs);
    if (bucket === undefined) this.retryBuckets.set(stream.intervalMs, (bucket = { streams: [], dues: [], head: 0, base: 0 }));
    const due = this.o.clock.now() + stream.intervalMs;
    stream.retrySlot = bucket.base + bucket.streams.length;
    bucket.streams.push(stream);
    bucket.dues.push(due);
    if (this.retryTimer === undefined || due < this.retryTimerAt) this.armRetryTimer(due);
  }

  /** Drops the stream's scheduled resend, if any (its slot is emptied at once). */
  private cancelRetry(stream: Stream): void {
    if (stream.retrySlot < 0) return;
    const bucket = this.retryBuckets.get(stream.intervalMs);
    if (bucket !== undefined && bucket.streams[stream.retrySlot - bucket.base] === stream) bucket.streams[stream.retrySlot - bucket.base] = undefined;
    stream.retrySlot = -1;
  }

  private armRetryTimer(at: number): void {
    this.retryTimer?.cancel();
    this.retryTimerAt = at;
    this.retryTimer = this.o.clock.setTimeout(this.onRetryTimer, at - this.o.clock.now());
  }

  /**
   * The retry timer fired: every head due by now is resent with the next (doubled, capped)
   * interval, then the timer is armed for the earliest slot left. Within a bucket the slots
   * are in due order, so only due slots and emptied ones are looked at.
   */
  private fireRetries(): void {
    this.retryTimer = undefined;
    if (this.closed) return;
    const now = this.o.clock.now();
    const due: Stream[] = [];
    for (const bucket of this.retryBuckets.values()) {
      while (bucket.head < bucket.streams.length && bucket.dues[bucket.head]! <= now) {
        const stream = bucket.streams[bucket.head];
        bucket.streams[bucket.head] = undefined;
        bucket.head++;
        if (stream === undefined) continue;
        stream.retrySlot = -1;
        due.push(stream);
      }
    }
    for (const stream of due) {
      // Resent by a resume() or another retry meanwhile, or gone: nothing to do.
      if (stream.retrySlot >= 0 || stream.pending.length === 0 || this.streams.get(stream.frameworkId, stream.taskId) !== stream) continue;
      stream.intervalMs = nextRetryInterval(stream.intervalMs, this.o.maxRetryMs);
      this.o.logger.debug({ task_id: stream.taskId, state: stream.pending[0]!.status.state, uuid: stream.pending[0]!.status.uuid }, 'resending unacknowledged status update');
      this.sendHead(stream);
    }
    let next = Number.POSITIVE_INFINITY;
    for (const [interval, bucket] of this.retryBuckets) {
      while (bucket.head < bucket.streams.length && bucket.streams[bucket.head] === undefined) bucket.head++;
      if (bucket.head === bucket.streams.length) {
        // Drained: fresh arrays (the old ones keep the room they grew); or dropped when unused.
        if (bucket.streams.length > 0) {
          bucket.base += bucket.streams.length;
          bucket.streams = [];
          bucket.dues = [];
          bucket.head = 0;
        } else {
          this.retryBuckets.delete(interval);
        }
        continue;
      }
      if (bucket.head >= 1024 && bucket.head * 2 >= bucket.streams.length) {
        bucket.base += bucket.head;
        bucket.streams.splice(0, bucket.head);
        bucket.dues.splice(0, bucket.head);
        bucket.head = 0;
      }
      next = Math.min(next, bucket.dues[bucket.head]!);
    }
    if (next !== Number.POSITIVE_INFINITY && (this.retryTimer === undefined || next < this.retryTimerAt)) this.armRetryTimer(next);
  }
}
