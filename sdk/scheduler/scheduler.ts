/**
 * The framework scheduler: subscribes to a master, dispatches its events to typed handlers,
 * acknowledges status updates, keeps the subscription alive across master restarts and
 * network trouble, and sends calls.
 *
 * Two loops, kept apart (mesos-go's controller): the **reconnect loop**
 * (`superviseSubscription`) subscribes, hands the stream to the **event loop**
 * ({@link runEventLoop}), and when that returns decides between resubscribing after a
 * backoff and stopping. The event loop only decodes, validates and dispatches.
 *
 * Leader detection (a `zk://` master, or `leaderDetector`): before each SUBSCRIBE the
 * reconnect loop waits until the detector names a leader and subscribes there (still
 * following 307s); when the detector names another leader while subscribed, the stream is
 * closed and the loop resubscribes, with the framework id, to the new one.
 *
 * @module
 */
import type { Logger } from 'pino';
import type { TimerHandle } from '../core/clock.js';
import { AgoraError } from '../core/errors.js';
import type { LeaderDetector } from '../core/leadership.js';
import type {
  Filters, FrameworkInfo, KillPolicy, MasterInfo, OfferOperation, SchedulerCall, SchedulerEvent, TaskInfo, TaskStatus,
} from '../protocol/index.js';
import { backoffDelayMs } from './backoff.js';
import { acknowledgeCallJson, calls, operations, type ReconcileTask } from './calls.js';
import {
  CallRejectedError, FRAMEWORK_ERROR, HEARTBEAT_TIMEOUT, SCHEDULER_NOT_SUBSCRIBED, SCHEDULER_OPTIONS_INVALID,
  SCHEDULER_STOPPED, STREAM_ENDED, SubscribeRejectedError,
} from './errors.js';
import { runEventLoop, type DispatchResult } from './event-loop.js';
import { SCHEDULER_HANDLER_TYPES, type Awaitable, type SchedulerHandlers, type SchedulerHandlerType } from './handlers.js';
import { HttpSchedulerTransport } from './http-transport.js';
import { leaderAddress, openZkLeaderDetector, redactMasterUrl, type OpenedDetector } from './leader.js';
import { assertTransition, type SchedulerState } from './lifecycle.js';
import { compileSchedulerOptions, type CompiledSchedulerOptions, type SchedulerOptions } from './options.js';
import { TaskReconciliation, type ReconcileOptions, type ReconcileResult } from './reconcile.js';
import type { OutgoingCall, SchedulerTransport, SubscriptionStream } from './transport.js';

type AnyHandler = (...args: never[]) => Awaitable;

/** True for a promise or any other thenable (what `await` would wait for). */
function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function filterOptions(filters: Filters | undefined): { refuseSeconds?: number } | undefined {
  return filters?.refuse_seconds === undefined ? undefined : { refuseSeconds: filters.refuse_seconds };
}

/** How a {@link PendingAck} reports back to its scheduler (one object per scheduler, not per ack). */
interface AckOwner {
  ackAnswered(ack: PendingAck): void;
  ackFailed(ack: PendingAck, err: unknown): void;
}

/**
 * One auto-acknowledgement in flight. It is its own transport queue entry (OutgoingCall):
 * per acknowledgement a busy framework (two per task) allocates this object and its body
 * string, and no promise, closure or call object until a 503 asks for a retry. It keeps the
 * three ids a retry needs, not the update: the whole event parsed would otherwise stay
 * reachable (and be copied by every young-generation GC) until the master answers.
 */
class PendingAck implements OutgoingCall {
  readonly type = 'ACKNOWLEDGE' as const;
  constructor(
    readonly body: string,
    readonly streamId: string,
    readonly agentId: string,
    readonly taskId: string,
    readonly uuid: string,
    /** The teardown epoch it was made in (see Scheduler.flushAcks). */
    readonly epoch: number,
    private readonly owner: AckOwner,
  ) {}

  resolve(): void {
    this.owner.ackAnswered(this);
  }

  reject(err: unknown): void {
    this.owner.ackFailed(this, err);
  }
}

/** First retry delay (doubling, jittered) after a SUBSCRIBE answered 503 by a live master. */
const UNAVAILABLE_RETRY_BASE_MS = 50;
/** Longest teardown() waits for the acknowledgements already made to be answered. */
const ACK_FLUSH_MS = 2_000;

/**
 * A Mesos v1 HTTP scheduler.
 *
 * @example
 * const scheduler = new Scheduler({ master: 'localhost:5050', frameworkInfo: { user: 'me', name: 'hello' } });
 * scheduler
 *   .on('OFFERS', async (offers) => {
 *     const [offer, ...rest] = offers;
 *     const resources = offer && matchOffer(offer, { cpus: 0.1, mem: 32 });
 *     if (offer && resources) {
 *       await scheduler.launch([offer.id.value], [commandTask({ taskId: 'hello', agentId: offer.agent_id.value, command: 'echo hi', resources })]);
 *     }
 *     if (rest.length) await scheduler.decline(rest.map((o) => o.id.value));
 *   })
 *   .on('UPDATE', async (status) => { if (isTerminalState(status.state)) await scheduler.teardown(); });
 * const frameworkId = await scheduler.start();
 */
export class Scheduler {
  private readonly opts: CompiledSchedulerOptions;
  private readonly transport: SchedulerTransport;
  private readonly log: Logger;
  private readonly handlers = new Map<SchedulerHandlerType, AnyHandler[]>();
  private current: SchedulerState = 'idle';
  private subscribedFrameworkId: string | undefined;
  private subscribedMasterInfo: MasterInfo | undefined;
  /** The open subscription (set between the 200 answer and the end of its event loop). */
  private stream: SubscriptionStream | undefined;
  private everSubscribed = false;
  private tearingDown = false;
  /**
   * Auto-acknowledgements sent and not yet answered, counted by the epoch they were made in
   * (a teardown starts a new epoch and waits for the older ones only). Counts, not a set of
   * promises: this is bookkeeping for two calls per task.
   */
  private readonly pendingAcks = new Map<number, number>();
  private ackEpoch = 0;
  /** teardown()s waiting for the acknowledgements made before their epoch. */
  private readonly ackFlushWaiters: Array<{ epoch: number; resolve: () => void }> = [];
  private readonly ackOwner: AckOwner = {
    ackAnswered: (ack) => this.ackSettled(ack),
    ackFailed: (ack, err) => this.ackFailed(ack, err),
  };
  private reconnectAttempt = 0;
  private startWaiter: { resolve: (id: string) => void; reject: (err: Error) => void } | undefined;
  /** Pending clock sleeps (backoff, call retries), woken early by stop. */
  private readonly sleeps = new Set<{ timer: TimerHandle | undefined; wake: () => void }>();
  /** Keeps Node's event loop alive while running (not a timer: it never fires anything useful). */
  private processKeepAlive: ReturnType<typeof setInterval> | undefined;
  /** The reconnect loop, once started; it settles after the last event loop exited. */
  private supervisor: Promise<void> | undefined;
  private readonly stoppedPromise: Promise<Error | undefined>;
  private resolveStopped!: (reason: Error | undefined) => void;
  /** Leader detection: the detector in use (the caller's, or a ZooKeeper one opened by start()). */
  private detector: LeaderDetector | undefined;
  /** The ZooKeeper detector this scheduler opened (and closes when it stops). */
  private ownDetector: OpenedDetector | undefined;
  private unsubscribeDetector: (() => void) | undefined;
  /** What the detector reported when the open subscription was made. */
  private subscribedLeaderData: string | undefined;
  /** Wakes the reconnect loop waiting for a leader. */
  private leaderWaiter: (() => void) | undefined;
  /** Settles once the owned detector is closed (after stop). */
  private detectorClosed: Promise<void> = Promise.resolve();
  /** Reconciliation rounds watching status updates (they see each UPDATE before the handlers). */
  private readonly updateObservers = new Set<(status: TaskStatus) => void>();
  /** Reconciliation rounds to end when the scheduler stops. */
  private readonly stopObservers = new Set<() => void>();

  /** @throws AgoraError `AGORA_SCHEDULER_OPTIONS_INVALID` naming the bad option. */
  constructor(options: SchedulerOptions) {
    this.opts = compileSchedulerOptions(options);
    this.log = this.opts.logger;
    const detecting = this.opts.zk !== undefined || this.opts.leaderDetector !== undefined;
    this.transport = this.opts.transport
      ?? new HttpSchedulerTransport({
        ...(this.opts.master !== undefined ? { master: this.opts.master } : {}),
        ...(detecting ? { detectLeader: () => leaderAddress(this.detector?.current()) } : {}),
        maxRedirects: this.opts.maxRedirects,
        logger: this.log,
      });
    this.subscribedFrameworkId = this.opts.frameworkInfo.id?.value;
    this.stoppedPromise = new Promise((resolve) => { this.resolveStopped = resolve; });
  }

  /** Where the scheduler is in its lifecycle. */
  get state(): SchedulerState {
    return this.current;
  }

  /** The framework id: from SUBSCRIBED, or the one given in `frameworkInfo.id` before that. */
  get frameworkId(): string | undefined {
    return this.subscribedFrameworkId;
  }

  /** The leading master's MasterInfo, from the last SUBSCRIBED. */
  get masterInfo(): MasterInfo | undefined {
    return this.subscribedMasterInfo;
  }

  /** The `Mesos-Stream-Id` of the open subscription, if any. */
  get streamId(): string | undefined {
    return this.stream?.streamId;
  }

  /**
   * Adds a handler for an event type or lifecycle notification. Several handlers per type
   * run in the order they were added; each is awaited before the next, and the next event
   * waits for all of them. A handler that throws is logged; the others still run, but an
   * UPDATE whose handler threw is not auto-acknowledged (the master will resend it).
   *
   * @example
   * scheduler.on('UPDATE', (status) => console.log(status.task_id.value, status.state));
   */
  on<K extends SchedulerHandlerType>(type: K, handler: SchedulerHandlers[K]): this {
    if (!SCHEDULER_HANDLER_TYPES.includes(type)) {
      throw new AgoraError(SCHEDULER_OPTIONS_INVALID, `unknown scheduler event type "${String(type)}" (expected one of ${SCHEDULER_HANDLER_TYPES.join(', ')})`);
    }
    if (typeof handler !== 'function') throw new AgoraError(SCHEDULER_OPTIONS_INVALID, `handler for ${type} must be a function`);
    const list = this.handlers.get(type) ?? [];
    list.push(handler as AnyHandler);
    this.handlers.set(type, list);
    return this;
  }

  /**
   * Subscribes (following 307 redirects to the leader) and resolves with the framework id
   * once SUBSCRIBED arrived and its handlers ran. Unreachable masters and 5xx answers are
   * retried with backoff; it rejects if the scheduler stops first (4xx answer, ERROR event,
   * `stop()`, or the first failure when `reconnect` is off).
   *
   * @throws AgoraError `AGORA_SCHEDULER_STATE` (synchronously) unless the scheduler is idle.
   * @example
   * const frameworkId = await scheduler.start();
   */
  start(): Promise<string> {
    this.transition('subscribing', 'start');
    if (this.opts.keepProcessAlive) this.processKeepAlive = setInterval(() => undefined, 2 ** 31 - 1);
    const started = new Promise<string>((resolve, reject) => { this.startWaiter = { resolve, reject }; });
    this.supervisor = this.superviseSubscription().catch((err: unknown) => {
      this.log.error({ err }, 'scheduler reconnect loop failed');
      this.stopWith(toError(err));
    });
    return started;
  }

  /**
   * Resolves when the scheduler has stopped, with the reason (undefined after `stop()` or
   * `teardown()`, an AgoraError after an ERROR event or a fatal rejection), once the
   * `stopped` handlers ran and the event loop has exited. Do not await it inside an event
   * handler: the event loop waits for that handler.
   *
   * @example
   * const reason = await scheduler.whenStopped();
   * process.exitCode = reason ? 1 : 0;
   */
  whenStopped(): Promise<Error | undefined> {
    return this.stoppedPromise;
  }

  /**
   * Sends a call with `framework_id` filled in and `Mesos-Stream-Id` set. Answers 503 are
   * retried `callRetries` times with backoff.
   *
   * @throws CallRejectedError (`AGORA_CALL_REJECTED`, with `status` and `body`) on any other non-202 answer;
   *   AgoraError `AGORA_SCHEDULER_NOT_SUBSCRIBED` naming the state when not subscribed.
   * @example
   * await scheduler.call(calls.revive(['batch']));
   */
  call(call: Omit<SchedulerCall, 'framework_id'>): Promise<void> {
    try {
      if (call.type === 'SUBSCRIBE') throw new AgoraError(SCHEDULER_OPTIONS_INVALID, 'SUBSCRIBE is sent by start(), not call()');
      return this.sendCall(call, 0);
    } catch (err) {
      // Whatever goes wrong is a rejection, never a throw, as from the async method it was.
      return Promise.reject(err);
    }
  }

  /**
   * One attempt at a call, and on a 503 the retries after it. Not an async function: a busy
   * framework makes several calls per task (two acknowledgements), and the transport's own
   * promise is all a call needs until it fails.
   */
  private sendCall(call: Omit<SchedulerCall, 'framework_id'>, attempt: number): Promise<void> {
    const stream = this.stream;
    const frameworkId = this.subscribedFrameworkId;
    if (this.current !== 'subscribed' || stream === undefined || frameworkId === undefined) {
      return Promise.reject(new AgoraError(SCHEDULER_NOT_SUBSCRIBED, `cannot send ${call.type}: scheduler is ${this.current}`));
    }
    const sent = this.transport.send({ ...call, framework_id: { value: frameworkId } }, stream.streamId);
    if (attempt >= this.opts.callRetries) return sent;
    return sent.catch((err: unknown) => this.retryIfUnavailable(call, attempt, err));
  }

  /** After attempt `attempt` of a call failed with `err`: the retry after a backoff if it was a 503, else `err`. */
  private async retryIfUnavailable(call: Omit<SchedulerCall, 'framework_id'>, attempt: number, err: unknown): Promise<void> {
    if (!(err instanceof CallRejectedError && err.status === 503)) throw err;
    const delayMs = backoffDelayMs(attempt, this.opts.backoffMs, this.opts.maxBackoffMs, this.opts.random);
    this.log.warn({ call: call.type, delayMs, attempt: attempt + 1 }, 'master unavailable (503); retrying the call');
    if (delayMs > 0) await this.sleep(delayMs);
    return this.sendCall(call, attempt + 1);
  }

  /**
   * ACCEPTs offers with operations.
   * @example await scheduler.accept([offer.id.value], [operations.launch([task])], { refuse_seconds: 5 });
   */
  accept(offerIds: string[], ops: OfferOperation[], filters?: Filters): Promise<void> {
    return this.call(calls.accept(offerIds, ops, filterOptions(filters)));
  }

  /**
   * ACCEPTs offers with one LAUNCH of these tasks.
   * @example await scheduler.launch([offer.id.value], [task]);
   */
  launch(offerIds: string[], tasks: TaskInfo[], filters?: Filters): Promise<void> {
    return this.accept(offerIds, [operations.launch(tasks)], filters);
  }

  /**
   * DECLINEs offers.
   * @example await scheduler.decline(offers.map((o) => o.id.value), { refuse_seconds: 30 });
   */
  decline(offerIds: string[], filters?: Filters): Promise<void> {
    return this.call(calls.decline(offerIds, filterOptions(filters)));
  }

  /** REVIVEs offers (all roles or these). @example await scheduler.revive(); */
  revive(roles?: string[]): Promise<void> {
    return this.call(calls.revive(roles));
  }

  /** SUPPRESSes offers (all roles or these). @example await scheduler.suppress(); */
  suppress(roles?: string[]): Promise<void> {
    return this.call(calls.suppress(roles));
  }

  /** KILLs a task. @example await scheduler.kill('task-1', 'agent-1'); */
  kill(taskId: string, agentId?: string, killPolicy?: KillPolicy): Promise<void> {
    return this.call(calls.kill(taskId, agentId, killPolicy));
  }

  /** SHUTDOWNs an executor. @example await scheduler.shutdown('custom-executor', 'agent-1'); */
  shutdown(executorId: string, agentId: string): Promise<void> {
    return this.call(calls.shutdown(executorId, agentId));
  }

  /**
   * ACKNOWLEDGEs a status update. Does nothing for a status without uuid (reconciliation
   * and master-generated updates need no acknowledgement). Only needed with `autoAcknowledge: false`.
   *
   * @throws AgoraError `AGORA_SCHEDULER_OPTIONS_INVALID` when the status has a uuid but no agent id.
   * @example scheduler.on('UPDATE', async (status) => { await save(status); await scheduler.acknowledge(status); });
   */
  acknowledge(status: TaskStatus): Promise<void> {
    try {
      if (status.uuid === undefined || status.uuid === '') return Promise.resolve();
      if (status.agent_id === undefined) {
        throw new AgoraError(SCHEDULER_OPTIONS_INVALID, `cannot acknowledge the update of ${status.task_id.value}: it has no agent_id`);
      }
      return this.call(calls.acknowledge(status.agent_id.value, status.task_id.value, status.uuid));
    } catch (err) {
      return Promise.reject(err); // a rejection, never a throw (a bad status included)
    }
  }

  /**
   * RECONCILEs these tasks, or all of the framework's tasks (implicit) when none are given.
   * @example await scheduler.reconcile(); await scheduler.reconcile([{ taskId: 't1', agentId: 'a1' }]);
   */
  reconcile(tasks: ReconcileTask[] = []): Promise<void> {
    return this.call(calls.reconcile(tasks));
  }

  /**
   * Reconciles the way the Mesos reconciliation guide recommends: explicit RECONCILE of
   * `tasks`, re-sent for the tasks still unanswered with a truncated exponential backoff
   * (`initialDelayMs`·`factor`^n, at most `maxDelayMs`) until each one got a status update
   * or `maxAttempts` calls went unanswered; then implicit RECONCILE (unless `implicit: false`).
   * The updates still go to the UPDATE handlers as usual. Calls that fail because the
   * scheduler is not subscribed (e.g. reconnecting) count as attempts and are retried.
   *
   * Do not await it inside an event handler: the answers it waits for queue behind that
   * handler (start it with `void`, or from outside the handlers). Repeat it periodically.
   *
   * @returns the round's outcome (`complete`, `gave-up`, `stopped`), the latest update of each
   *   listed task, the unanswered ones and the attempts made.
   * @throws AgoraError `AGORA_SCHEDULER_OPTIONS_INVALID` (as a rejection, before anything is
   *   sent) for a bad task list or option; CallRejectedError when the master refuses the call
   *   with a 4xx.
   * @example
   * const { outcome, statuses } = await scheduler.reconcileTasks([{ taskId: 't1', agentId: 'a1' }], { initialDelayMs: 2000 });
   */
  async reconcileTasks(tasks: ReconcileTask[], options: ReconcileOptions = {}): Promise<ReconcileResult> {
    const round = new TaskReconciliation({
      clock: this.opts.clock,
      logger: this.log,
      send: (list) => this.reconcile(list),
      onUpdate: (listener) => {
        this.updateObservers.add(listener);
        return () => { this.updateObservers.delete(listener); };
      },
      onStop: (listener) => {
        this.stopObservers.add(listener);
        return () => { this.stopObservers.delete(listener); };
      },
      stopped: () => this.is('stopped'),
    }, tasks, options);
    return round.run();
  }

  /** Sends a MESSAGE to an executor. @example await scheduler.message('agent-1', 'custom-executor', 'ping'); */
  message(agentId: string, executorId: string, data: Buffer | string): Promise<void> {
    return this.call(calls.message(agentId, executorId, data));
  }

  /**
   * TEARDOWN: the master kills every task of the framework and forgets it; then stops.
   * @example await scheduler.teardown();
   */
  async teardown(): Promise<void> {
    this.tearingDown = true;
    // The acknowledgements already made go first (they have their own connection), so the
    // agents are not left resending updates the framework had handled.
    if (this.pendingAcks.size > 0) await Promise.race([this.flushAcks(), this.sleep(ACK_FLUSH_MS)]);
    try {
      await this.call(calls.teardown());
    } catch (err) {
      this.tearingDown = false;
      this.stopWith(undefined); // no-op unless the stream already went away
      throw err;
    }
    this.stopWith(undefined);
    this.transport.close();
  }

  /**
   * Closes the stream without tearing the framework down (the master keeps its tasks for
   * `failover_timeout`, and another scheduler may resubscribe with the same id). No
   * reconnection follows. Idempotent; allowed in every state.
   *
   * @example process.on('SIGTERM', () => void scheduler.stop());
   */
  async stop(): Promise<void> {
    this.stopWith(undefined);
  }

  // ---- reconnect loop ---------------------------------------------------------------

  private is(state: SchedulerState): boolean {
    return this.current === state;
  }

  private transition(to: SchedulerState, action?: string): void {
    this.current = assertTransition(this.current, to, action);
  }

  /** The FrameworkInfo to subscribe with: the configured one, with the id once known. */
  private subscribeInfo(): FrameworkInfo {
    const info = structuredClone(this.opts.frameworkInfo);
    if (this.subscribedFrameworkId !== undefined) info.id = { value: this.subscribedFrameworkId };
    return info;
  }

  private async superviseSubscription(): Promise<void> {
    while (this.is('subscribing')) {
      const lost = await this.subscribeOnce();
      if (this.is('stopped')) return;
      if (this.tearingDown) {
        // TEARDOWN closes the stream, possibly before the call's 202 arrives: stop, but
        // leave the call connection to teardown(), which closes it once answered.
        this.stopWith(undefined, false);
        return;
      }
      if ((lost instanceof SubscribeRejectedError && lost.fatal) || !this.opts.reconnect) {
        this.log.error({ err: lost.message }, 'subscription lost; not reconnecting');
        this.stopWith(lost);
        return;
      }
      const wasSubscribed = this.is('subscribed');
      this.transition('reconnecting');
      if (wasSubscribed) await this.runHandlers('disconnected', [{ reason: lost }]);
      if (!this.is('reconnecting')) return; // a handler stopped us
      const attempt = this.reconnectAttempt++;
      // If another master was elected since we subscribed, go to it now (see onLeaderChange).
      const leaderMoved = this.detector !== undefined && this.detector.current() !== this.subscribedLeaderData
        && leaderAddress(this.detector.current()) !== undefined;
      // A 503 comes from a live master that is not ready yet (a new leader loading its
      // registry, a standby that has not learned the leader): it is worth asking again soon,
      // so its backoff starts at UNAVAILABLE_RETRY_BASE_MS rather than backoffMs.
      const unavailable = lost instanceof SubscribeRejectedError && lost.status === 503;
      const baseMs = unavailable ? Math.min(UNAVAILABLE_RETRY_BASE_MS, this.opts.backoffMs) : this.opts.backoffMs;
      const delayMs = leaderMoved ? 0 : backoffDelayMs(attempt, baseMs, this.opts.maxBackoffMs, this.opts.random);
      this.log.warn({ err: lost.message, delayMs, attempt: attempt + 1 }, wasSubscribed ? 'subscription lost; resubscribing' : 'cannot subscribe; retrying');
      if (delayMs > 0) await this.sleep(delayMs);
      if (!this.is('reconnecting')) return;
      this.transition('subscribing');
    }
  }

  /** One subscription: SUBSCRIBE, then the event loop until the stream is gone. Returns why. */
  private async subscribeOnce(): Promise<Error> {
    const noLeader = await this.awaitLeader();
    if (noLeader !== undefined) return noLeader;
    if (this.is('stopped')) return new AgoraError(SCHEDULER_STOPPED, 'scheduler stopped');
    this.subscribedLeaderData = this.detector?.current();
    let stream: SubscriptionStream;
    try {
      stream = await this.transport.subscribe(calls.subscribe(this.subscribeInfo()));
    } catch (err) {
      return toError(err);
    }
    if (this.is('stopped')) {
      stream.close();
      return new AgoraError(SCHEDULER_STOPPED, 'scheduler stopped');
    }
    this.stream = stream;
    this.log.debug({ streamId: stream.streamId }, 'event stream open');
    // The leader may have changed while SUBSCRIBE was on its way: leave at once if so.
    if (this.detector !== undefined) this.onLeaderChange(this.detector.current());
    const end = await runEventLoop({
      stream,
      dispatch: (event) => this.dispatch(event),
      clock: this.opts.clock,
      logger: this.log,
      missedHeartbeats: this.opts.missedHeartbeats,
    });
    this.stream = undefined;
    switch (end.reason) {
      case 'ended':
        return new AgoraError(STREAM_ENDED, 'the master closed the event stream');
      case 'error':
        return new AgoraError(STREAM_ENDED, `the event stream broke: ${end.error.message}`, { cause: end.error });
      case 'heartbeat-timeout':
        return new AgoraError(HEARTBEAT_TIMEOUT, `nothing received from the master for ${end.silentMs} ms (${this.opts.missedHeartbeats} heartbeats)`);
      case 'stopped':
        return new AgoraError(SCHEDULER_STOPPED, 'scheduler stopped');
    }
  }

  // ---- leader detection --------------------------------------------------------------

  /**
   * With leader detection: opens the detector (once) and waits until it names a usable
   * leader or the scheduler stops. Returns an error to back off on (ZooKeeper unreachable).
   */
  private async awaitLeader(): Promise<Error | undefined> {
    if (this.opts.zk === undefined && this.opts.leaderDetector === undefined) return undefined;
    if (this.detector === undefined) {
      if (this.opts.leaderDetector !== undefined) {
        this.detector = this.opts.leaderDetector;
      } else {
        try {
          const opened = await openZkLeaderDetector(this.opts.zk!, { logger: this.log, sessionTimeoutMs: this.opts.zkSessionTimeoutMs });
          if (this.is('stopped')) {
            await opened.close();
            return new AgoraError(SCHEDULER_STOPPED, 'scheduler stopped');
          }
          this.ownDetector = opened;
          this.detector = opened.detector;
        } catch (err) {
          return toError(err);
        }
      }
      this.unsubscribeDetector = this.detector.onChange((data) => this.onLeaderChange(data));
    }
    if (leaderAddress(this.detector.current()) !== undefined) return undefined;
    this.log.info({ master: this.opts.zk !== undefined ? redactMasterUrl(this.opts.zk) : 'leaderDetector' }, 'no leading master; waiting for one to be elected');
    await new Promise<void>((resolve) => { this.leaderWaiter = resolve; });
    this.leaderWaiter = undefined;
    return undefined;
  }

  /** The detector reported a change: wake a waiting loop; leave a master that no longer leads. */
  private onLeaderChange(data: string | undefined): void {
    const address = leaderAddress(data);
    if (address === undefined) {
      if (data !== undefined) this.log.warn({ data: data.slice(0, 200) }, 'ignoring unusable leader data');
      return;
    }
    this.leaderWaiter?.();
    if (this.is('reconnecting') && data !== this.subscribedLeaderData) {
      // A new leader was elected while we back off from the old one's failure: go now
      // rather than wait out a backoff that was meant for the master that died.
      this.reconnectAttempt = 0;
      for (const entry of [...this.sleeps]) entry.wake();
    }
    if (this.stream !== undefined && data !== this.subscribedLeaderData) {
      this.log.info({ leader: `${address.host}:${address.port}` }, 'leading master changed; resubscribing');
      this.stream.close();
    }
  }

  // ---- event dispatch ----------------------------------------------------------------

  /**
   * Runs the handlers of one event (and the auto-acknowledgement). OFFERS and UPDATE, a busy
   * framework's events (several per task), settle without a promise when every handler
   * returned none: the event loop then goes on to the next event at once. Any handler that
   * returns a promise is awaited before the next handler, and the next event, as always.
   */
  private dispatch(event: SchedulerEvent): DispatchResult | Promise<DispatchResult> {
    if (this.is('stopped')) return 'stop';
    switch (event.type) {
      case 'OFFERS': {
        const ran = this.runHandlers('OFFERS', [event.offers?.offers ?? [], event]);
        return typeof ran === 'boolean' ? this.finishDispatch(event) : ran.then(() => this.finishDispatch(event));
      }
      case 'UPDATE': {
        const status = event.update!.status;
        if (this.updateObservers.size > 0) for (const observe of [...this.updateObservers]) observe(status);
        const ran = this.runHandlers('UPDATE', [status, event]);
        if (typeof ran === 'boolean') {
          this.autoAcknowledge(status, ran);
          return this.finishDispatch(event);
        }
        return ran.then((failed) => {
          this.autoAcknowledge(status, failed);
          return this.finishDispatch(event);
        });
      }
      default:
        return this.dispatchOther(event);
    }
  }

  /** The events other than OFFERS and UPDATE. */
  private async dispatchOther(event: SchedulerEvent): Promise<DispatchResult> {
    switch (event.type) {
      case 'SUBSCRIBED': {
        const subscribed = event.subscribed!;
        const isReconnection = this.everSubscribed;
        this.subscribedFrameworkId = subscribed.framework_id.value;
        this.subscribedMasterInfo = subscribed.master_info;
        this.everSubscribed = true;
        this.reconnectAttempt = 0;
        if (this.is('subscribing')) this.transition('subscribed');
        this.log.info({ frameworkId: subscribed.framework_id.value, heartbeatSeconds: subscribed.heartbeat_interval_seconds }, isReconnection ? 'resubscribed' : 'subscribed');
        await this.runHandlers('SUBSCRIBED', [subscribed, event]);
        const waiter = this.startWaiter;
        this.startWaiter = undefined;
        waiter?.resolve(subscribed.framework_id.value);
        if (isReconnection) await this.runHandlers('reconnected', [{ frameworkId: subscribed.framework_id.value }]);
        break;
      }
      case 'RESCIND':
        await this.runHandlers('RESCIND', [event.rescind!.offer_id.value, event]);
        break;
      case 'MESSAGE':
        await this.runHandlers('MESSAGE', [event.message!, event]);
        break;
      case 'FAILURE':
        await this.runHandlers('FAILURE', [event.failure ?? {}, event]);
        break;
      case 'ERROR': {
        const error = event.error ?? { message: '' };
        this.log.error({ message: error.message }, 'the master sent ERROR; stopping');
        await this.runHandlers('ERROR', [error, event]);
        await this.runHandlers('*', [event]);
        this.stopWith(new AgoraError(FRAMEWORK_ERROR, `the master reported an unrecoverable error: ${error.message}`));
        return 'stop';
      }
      case 'HEARTBEAT':
      case 'INVERSE_OFFERS':
      case 'RESCIND_INVERSE_OFFER':
      case 'UPDATE_OPERATION_STATUS':
        await this.runHandlers(event.type, [event]);
        break;
      case 'OFFERS':
      case 'UPDATE':
        return this.dispatch(event);
    }
    return this.finishDispatch(event);
  }

  /** The `*` handlers of an event, then whether the event loop goes on. */
  private finishDispatch(event: SchedulerEvent): DispatchResult | Promise<DispatchResult> {
    if (!this.handlers.has('*')) return this.is('stopped') ? 'stop' : 'continue'; // (no argument list per event)
    const ran = this.runHandlers('*', [event]);
    if (typeof ran === 'boolean') return this.is('stopped') ? 'stop' : 'continue';
    return ran.then(() => (this.is('stopped') ? 'stop' : 'continue'));
  }

  /**
   * Acknowledges an update once its handlers ran (autoAcknowledge): not when one threw (the
   * agent resends it), nor when it needs none (no uuid).
   */
  private autoAcknowledge(status: TaskStatus, handlerFailed: boolean): void {
    if (!this.opts.autoAcknowledge || status.uuid === undefined || status.uuid === '' || this.is('stopped')) return;
    if (handlerFailed) {
      this.log.warn({ taskId: status.task_id.value, state: status.state }, 'UPDATE handler threw; not acknowledging (the master will resend)');
    } else if (status.agent_id === undefined) {
      this.log.warn({ taskId: status.task_id.value }, 'update with uuid but without agent_id; cannot acknowledge');
    } else {
      this.sendAck(status, status.agent_id.value, status.uuid);
    }
  }

  /**
   * Sends an auto-acknowledgement, not awaited: the next event need not wait for its answer.
   * The transport keeps calls in order, and acknowledgements made while one is in flight
   * leave together (call batches), which is what lets a busy framework keep up. The same as
   * `acknowledge(status)` on the wire, at a fraction of the allocations (see PendingAck).
   */
  private sendAck(status: TaskStatus, agentId: string, uuid: string): void {
    const stream = this.stream;
    const frameworkId = this.subscribedFrameworkId;
    if (this.current !== 'subscribed' || stream === undefined || frameworkId === undefined) {
      const err = new AgoraError(SCHEDULER_NOT_SUBSCRIBED, `cannot send ACKNOWLEDGE: scheduler is ${this.current}`);
      this.log.warn({ err, taskId: status.task_id.value }, 'acknowledgement failed (the update will be resent)');
      return;
    }
    const taskId = status.task_id.value;
    const ack = new PendingAck(acknowledgeCallJson(frameworkId, agentId, taskId, uuid), stream.streamId, agentId, taskId, uuid, this.ackEpoch, this.ackOwner);
    this.pendingAcks.set(ack.epoch, (this.pendingAcks.get(ack.epoch) ?? 0) + 1);
    if (this.transport.enqueue !== undefined) {
      this.transport.enqueue(ack);
    } else {
      const call = { ...calls.acknowledge(agentId, status.task_id.value, uuid), framework_id: { value: frameworkId } };
      let sent: Promise<void>;
      try {
        sent = this.transport.send(call, stream.streamId);
      } catch (err) {
        sent = Promise.reject(err); // a transport that throws is a failed call, as in call()
      }
      sent.then(() => ack.resolve(), (err: unknown) => ack.reject(err));
    }
  }

  /** An acknowledgement was answered (or gave up): forget it, and wake a teardown waiting for it. */
  private ackSettled(ack: PendingAck): void {
    const left = (this.pendingAcks.get(ack.epoch) ?? 1) - 1;
    if (left > 0) {
      this.pendingAcks.set(ack.epoch, left);
      return;
    }
    this.pendingAcks.delete(ack.epoch);
    for (let i = this.ackFlushWaiters.length - 1; i >= 0; i--) {
      const waiter = this.ackFlushWaiters[i]!;
      if (!this.acksPendingBefore(waiter.epoch)) {
        this.ackFlushWaiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  /** An acknowledgement failed: retried like any call after a 503 (as `call()` does), else logged and forgotten. */
  private ackFailed(ack: PendingAck, err: unknown): void {
    if (err instanceof CallRejectedError && err.status === 503 && this.opts.callRetries > 0) {
      const retry = this.retryIfUnavailable(calls.acknowledge(ack.agentId, ack.taskId, ack.uuid), 0, err);
      retry.then(() => this.ackSettled(ack), (later: unknown) => this.ackGaveUp(ack, later));
      return;
    }
    this.ackGaveUp(ack, err);
  }

  private ackGaveUp(ack: PendingAck, err: unknown): void {
    this.ackSettled(ack);
    this.log.warn({ err, taskId: ack.taskId }, 'acknowledgement failed (the update will be resent)');
  }

  /** Whether an acknowledgement made before `epoch` is still unanswered. */
  private acksPendingBefore(epoch: number): boolean {
    for (const made of this.pendingAcks.keys()) if (made < epoch) return true;
    return false;
  }

  /** Resolves once the acknowledgements made so far are answered (those made later are not waited for). */
  private flushAcks(): Promise<void> {
    const epoch = ++this.ackEpoch;
    if (!this.acksPendingBefore(epoch)) return Promise.resolve();
    return new Promise((resolve) => { this.ackFlushWaiters.push({ epoch, resolve }); });
  }

  /**
   * Runs a type's handlers in order; true when one of them threw. The handlers added while
   * it runs wait for the next event (lists only grow, so the length taken first is the
   * snapshot). A handler that returns no promise is done: while none does, this answers
   * without a promise; from the first that does, it goes on asynchronously, awaiting each.
   */
  private runHandlers(type: SchedulerHandlerType, args: unknown[]): boolean | Promise<boolean> {
    const list = this.handlers.get(type);
    if (list === undefined) return false;
    let failed = false;
    for (let i = 0, n = list.length; i < n; i++) {
      let pending: PromiseLike<unknown> | undefined;
      try {
        const result = (list[i] as (...a: unknown[]) => Awaitable)(...args);
        if (isThenable(result)) pending = result; // (a throwing `then` getter counts as the handler throwing)
      } catch (err) {
        failed = true;
        this.handlerThrew(type, err);
        continue;
      }
      if (pending !== undefined) return this.finishHandlers(type, args, list, i + 1, n, pending, failed);
    }
    return failed;
  }

  /** {@link runHandlers} from the first handler that returned a promise (`pending`) on. */
  private async finishHandlers(
    type: SchedulerHandlerType, args: unknown[], list: AnyHandler[], from: number, n: number, pending: PromiseLike<unknown>, failedBefore: boolean,
  ): Promise<boolean> {
    let failed = failedBefore;
    try {
      await pending;
    } catch (err) {
      failed = true;
      this.handlerThrew(type, err);
    }
    for (let i = from; i < n; i++) {
      try {
        const result = (list[i] as (...a: unknown[]) => Awaitable)(...args);
        if (isThenable(result)) await result;
      } catch (err) {
        failed = true;
        this.handlerThrew(type, err);
      }
    }
    return failed;
  }

  private handlerThrew(type: SchedulerHandlerType, err: unknown): void {
    this.log.error({ err, handler: type }, 'scheduler handler threw');
  }

  // ---- stopping and timers -------------------------------------------------------------

  /** Moves to `stopped` (once): wakes sleepers, closes the stream (and the call connection unless told not to), settles start(). */
  private stopWith(reason: Error | undefined, closeTransport = true): void {
    if (this.is('stopped')) return;
    this.transition('stopped', 'stop');
    if (this.processKeepAlive !== undefined) clearInterval(this.processKeepAlive);
    for (const sleep of [...this.sleeps]) sleep.wake();
    for (const ended of [...this.stopObservers]) ended();
    this.leaderWaiter?.();
    this.unsubscribeDetector?.();
    if (this.ownDetector !== undefined) this.detectorClosed = this.ownDetector.close();
    this.stream?.close();
    if (closeTransport) this.transport.close();
    const waiter = this.startWaiter;
    this.startWaiter = undefined;
    waiter?.reject(reason ?? new AgoraError(SCHEDULER_STOPPED, 'the scheduler was stopped before it subscribed'));
    if (reason) this.log.warn({ err: reason.message }, 'scheduler stopped');
    else this.log.info('scheduler stopped');
    const stoppedHandlers = this.runHandlers('stopped', [reason === undefined ? {} : { reason }]);
    void Promise.all([stoppedHandlers, this.supervisor]).then(() => this.detectorClosed).finally(() => this.resolveStopped(reason));
  }

  /** Waits `ms` on the injected clock; stop() wakes every sleeper early. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry: { timer: TimerHandle | undefined; wake: () => void } = {
        timer: undefined,
        wake: () => {
          entry.timer?.cancel();
          this.sleeps.delete(entry);
          resolve();
        },
      };
      entry.timer = this.opts.clock.setTimeout(() => entry.wake(), ms);
      this.sleeps.add(entry);
    });
  }
}
