/**
 * A client for the Mesos v1 executor HTTP API (mesos/v1/executor/executor.proto), for
 * anyone writing an executor: subscribe to the slave, receive typed events, send status
 * updates and messages, re-subscribe after the connection drops with the unacknowledged
 * tasks and updates, and give up after the recovery timeout.
 *
 * Lifecycle: `idle` → `subscribing` → `subscribed` ⇄ `disconnected` → `stopped`.
 *
 * @module
 */
import { randomUuidBase64 } from '../core/uuid.js';
import type { Logger } from 'pino';
import { systemClock, type Clock, type TimerHandle } from '../core/clock.js';
import { AgoraError } from '../core/errors.js';
import { silentLogger } from '../core/log.js';
import { ExecutorEvent, type ExecutorCall } from '../protocol/executor.js';
import {
  safeParseJson, TaskStatus, type AgentInfo, type ExecutorInfo, type FrameworkInfo, type KillPolicy,
  type TaskGroupInfo, type TaskID, type TaskInfo,
} from '../protocol/mesos.js';
import { RecordIODecoder } from '../protocol/recordio.js';
import { subscriptionBackoffMs } from './backoff.js';
import { executorConfigFromEnv, type ExecutorConfig } from './options.js';
import { HttpExecutorTransport, httpStatusOf, type ExecutorTransport, type SubscriptionStream } from './transport.js';

/** Where the driver is in its lifecycle. */
export type ExecutorDriverState = 'idle' | 'subscribing' | 'subscribed' | 'disconnected' | 'stopped';

/** What {@link ExecutorDriver.events} yields: every event from the slave plus the driver's own. */
export type ExecutorDriverEvent =
  | ExecutorEvent
  | { type: 'DISCONNECTED'; error: Error }
  | { type: 'RECOVERY_TIMEOUT'; afterMs: number };

/** The SUBSCRIBED event's payload. */
export interface SubscribedInfo {
  executorInfo: ExecutorInfo;
  frameworkInfo: FrameworkInfo;
  agentInfo: AgentInfo;
  containerId?: string;
}

/** A status update as the executor writes it; the driver fills in the rest. */
export type StatusUpdateInput = Omit<TaskStatus, 'uuid' | 'timestamp' | 'source' | 'executor_id'>;

/** Options of {@link ExecutorDriver}; every field is optional. */
export interface ExecutorDriverOptions {
  /** Environment to read `MESOS_*` from; default `process.env`. Ignored when `config` is given. */
  env?: NodeJS.ProcessEnv;
  /** Already compiled configuration (see `executorConfigFromEnv`). */
  config?: ExecutorConfig;
  /** Default: the system clock. */
  clock?: Clock;
  /** Default: a silent logger. */
  logger?: Logger;
  /** Default: HTTP to `config.agentEndpoint`. */
  transport?: ExecutorTransport;
  /** Source of randomness for backoff jitter; default `Math.random`. */
  random?: () => number;
  /**
   * Hold the Node event loop open from `start()` to `stop()` (default true). The clock's
   * timers are unref'd, so without this an executor waiting to re-subscribe could simply exit.
   */
  keepAlive?: boolean;
}

type Handler<A extends unknown[]> = (...args: A) => void | Promise<void>;

interface HandlerTable {
  subscribed: Handler<[SubscribedInfo]>;
  launch: Handler<[TaskInfo]>;
  launchGroup: Handler<[TaskGroupInfo]>;
  kill: Handler<[TaskID, KillPolicy | undefined]>;
  acknowledged: Handler<[TaskID, string]>;
  message: Handler<[Buffer]>;
  shutdown: Handler<[]>;
  error: Handler<[AgoraError]>;
  disconnected: Handler<[Error]>;
  recoveryTimeout: Handler<[]>;
}

/**
 * The executor side of the v1 executor API.
 *
 * Errors reported to `onError`: `AGORA_EXECUTOR_ERROR_EVENT` (an ERROR event from the
 * slave), `AGORA_EXECUTOR_BAD_EVENT` (an event that fails validation; it is dropped),
 * `AGORA_EXECUTOR_HANDLER` (a handler threw). `update()` throws `AGORA_INVALID_STATUS`
 * for a status that does not validate.
 *
 * @example
 * ```ts
 * import { ExecutorDriver } from 'agora/sdk/executor';
 *
 * const driver = new ExecutorDriver(); // reads MESOS_* from process.env
 * driver
 *   .onLaunch(async (task) => {
 *     await driver.update({ task_id: task.task_id, state: 'TASK_RUNNING' });
 *     await driver.update({ task_id: task.task_id, state: 'TASK_FINISHED' });
 *   })
 *   .onShutdown(async () => {
 *     await driver.waitForAcknowledgements(5000);
 *     await driver.stop();
 *   });
 * driver.start();
 * ```
 */
export class ExecutorDriver {
  /** The compiled configuration (from the environment unless given). */
  readonly config: ExecutorConfig;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly transport: ExecutorTransport;
  private readonly random: () => number;
  private readonly keepAlive: boolean;
  /** A ref'd no-op interval holding the event loop open while running (not a logic timer). */
  private keepAliveHandle: NodeJS.Timeout | undefined;
  private readonly handlers: { [K in keyof HandlerTable]: HandlerTable[K][] } = {
    subscribed: [], launch: [], launchGroup: [], kill: [], acknowledged: [], message: [], shutdown: [],
    error: [], disconnected: [], recoveryTimeout: [],
  };

  private currentState: ExecutorDriverState = 'idle';
  private agentIdValue: string;
  private subscribedInfo: SubscribedInfo | undefined;
  /** Updates sent (or waiting to be sent) and not yet acknowledged, by uuid, in send order. */
  private readonly unackedUpdates = new Map<string, TaskStatus>();
  /** Tasks launched here for which no update has been acknowledged yet, by task id. */
  private readonly unackedTasks = new Map<string, TaskInfo>();
  /** uuids of the updates that the SUBSCRIBE call in flight carries. */
  private updatesInSubscribe = new Set<string>();
  private stream: SubscriptionStream | undefined;
  private attempt = 0;
  private retryTimer: TimerHandle | undefined;
  private recoveryTimer: TimerHandle | undefined;
  /**
   * Calls in flight, one ordered chain per key: a task's UPDATEs go out one at a time, so
   * the slave sees each task's updates in order, while different tasks' updates travel
   * side by side (a single chain for every task capped a busy executor at one round trip
   * per update); MESSAGEs have a chain of their own.
   */
  private readonly sendChains = new Map<string, Promise<void>>();
  private readonly ackWaiters = new Set<() => void>();
  private readonly iterators = new Set<EventQueue>();

  constructor(options: ExecutorDriverOptions = {}) {
    this.config = options.config ?? executorConfigFromEnv(options.env ?? process.env);
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger();
    this.transport = options.transport ?? new HttpExecutorTransport({ agentEndpoint: this.config.agentEndpoint });
    this.random = options.random ?? Math.random;
    this.keepAlive = options.keepAlive ?? true;
    this.agentIdValue = this.config.agentId;
  }

  /** Current lifecycle state. */
  get state(): ExecutorDriverState {
    return this.currentState;
  }

  /** The agent id (from the environment, or from SUBSCRIBED). */
  get agentId(): string {
    return this.agentIdValue;
  }

  /** The last SUBSCRIBED payload, once subscribed. */
  get subscription(): SubscribedInfo | undefined {
    return this.subscribedInfo;
  }

  /** Updates not acknowledged yet, oldest first. */
  get unacknowledgedUpdates(): readonly TaskStatus[] {
    return [...this.unackedUpdates.values()];
  }

  /** Tasks with no acknowledged update yet. */
  get unacknowledgedTasks(): readonly TaskInfo[] {
    return [...this.unackedTasks.values()];
  }

  /** Called on every SUBSCRIBED (the first and each re-subscription). */
  onSubscribed(fn: HandlerTable['subscribed']): this { this.handlers.subscribed.push(fn); return this; }
  /** Called for LAUNCH with the task to run. */
  onLaunch(fn: HandlerTable['launch']): this { this.handlers.launch.push(fn); return this; }
  /** Called for LAUNCH_GROUP with the task group to run. */
  onLaunchGroup(fn: HandlerTable['launchGroup']): this { this.handlers.launchGroup.push(fn); return this; }
  /** Called for KILL with the task id and the kill policy override, if any. */
  onKill(fn: HandlerTable['kill']): this { this.handlers.kill.push(fn); return this; }
  /** Called for ACKNOWLEDGED after the driver dropped the update from its unacknowledged list. */
  onAcknowledged(fn: HandlerTable['acknowledged']): this { this.handlers.acknowledged.push(fn); return this; }
  /** Called for MESSAGE with the decoded bytes the framework sent. */
  onMessage(fn: HandlerTable['message']): this { this.handlers.message.push(fn); return this; }
  /** Called for SHUTDOWN: kill every task, then stop. */
  onShutdown(fn: HandlerTable['shutdown']): this { this.handlers.shutdown.push(fn); return this; }
  /** Called for ERROR events, invalid events and handler failures. */
  onError(fn: HandlerTable['error']): this { this.handlers.error.push(fn); return this; }
  /** Called each time the connection to the slave is lost (the driver re-subscribes by itself). */
  onDisconnected(fn: HandlerTable['disconnected']): this { this.handlers.disconnected.push(fn); return this; }
  /** Called once when re-subscription did not succeed within the recovery timeout; the driver has stopped. */
  onRecoveryTimeout(fn: HandlerTable['recoveryTimeout']): this { this.handlers.recoveryTimeout.push(fn); return this; }

  /** Starts subscribing. Throws `AGORA_EXECUTOR_STATE` unless the driver is idle. */
  start(): void {
    if (this.currentState !== 'idle') {
      throw new AgoraError('AGORA_EXECUTOR_STATE', `cannot start an executor driver that is ${this.currentState}`);
    }
    if (this.keepAlive) this.keepAliveHandle = setInterval(() => undefined, 1 << 30);
    void this.subscribe();
  }

  /** Closes the connection, cancels every timer and ends the event iterators. Idempotent. */
  async stop(): Promise<void> {
    if (this.currentState === 'stopped') return;
    this.currentState = 'stopped';
    if (this.keepAliveHandle !== undefined) clearInterval(this.keepAliveHandle);
    this.retryTimer?.cancel();
    this.recoveryTimer?.cancel();
    const stream = this.stream;
    this.stream = undefined;
    stream?.close();
    for (const q of this.iterators) q.end();
    this.iterators.clear();
    for (const wake of this.ackWaiters) wake();
    await Promise.all([...this.sendChains.values()]);
    this.transport.close?.();
  }

  /**
   * Sends a status update. Fills `uuid` (16 random bytes, base64), `timestamp` (seconds),
   * `source` (SOURCE_EXECUTOR), `executor_id` and `agent_id`, and keeps the update until the
   * slave acknowledges it; while disconnected it is sent with the next SUBSCRIBE instead.
   * Resolves with the full status once the slave accepted it or it was queued; rejects when
   * the slave answers 400 (the update is then dropped).
   */
  async update(input: StatusUpdateInput): Promise<TaskStatus> {
    if (this.currentState === 'stopped') {
      throw new AgoraError('AGORA_EXECUTOR_STATE', 'cannot send an update: the executor driver is stopped');
    }
    const candidate = {
      ...input,
      uuid: randomUuidBase64(),
      timestamp: this.clock.now() / 1000,
      source: 'SOURCE_EXECUTOR' as const,
      executor_id: { value: this.config.executorId },
      ...(input.agent_id === undefined && this.agentIdValue !== '' ? { agent_id: { value: this.agentIdValue } } : {}),
    };
    const parsed = safeParseJson(TaskStatus, candidate);
    if (!parsed.success) {
      throw new AgoraError('AGORA_INVALID_STATUS', `invalid status update: ${parsed.error.message}`);
    }
    const status = parsed.data;
    const uuid = status.uuid!;
    this.unackedUpdates.set(uuid, status);
    try {
      await this.enqueue(updateChainKey(status), async () => {
        if (this.currentState !== 'subscribed') return; // goes out with the next SUBSCRIBE
        await this.transport.send(this.call('UPDATE', { update: { status } }));
      });
    } catch (err) {
      if (httpStatusOf(err) === 400) {
        this.unackedUpdates.delete(uuid);
        throw err;
      }
      // Connection trouble: the update stays unacknowledged and rides on the re-SUBSCRIBE.
      this.logger.warn({ err, taskId: status.task_id.value, state: status.state }, 'status update not delivered; will retry on re-subscription');
    }
    return status;
  }

  /**
   * Sends bytes to the framework (MESSAGE call; the slave forwards them through the master).
   * A string is sent as its UTF-8 bytes. Throws `AGORA_EXECUTOR_STATE` when not subscribed.
   */
  async sendMessage(data: Uint8Array | string): Promise<void> {
    if (this.currentState !== 'subscribed') {
      throw new AgoraError('AGORA_EXECUTOR_STATE', `cannot send a message while ${this.currentState}`);
    }
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
    await this.enqueue(MESSAGE_CHAIN, () => this.transport.send(this.call('MESSAGE', { message: { data: bytes.toString('base64') } })));
  }

  /** Resolves `true` once no update is unacknowledged, `false` if `timeoutMs` passes first or the driver stops. */
  waitForAcknowledgements(timeoutMs: number): Promise<boolean> {
    if (this.unackedUpdates.size === 0) return Promise.resolve(true);
    if (this.currentState === 'stopped') return Promise.resolve(false);
    return new Promise((resolve) => {
      const wake = (): void => {
        if (this.unackedUpdates.size === 0 || this.currentState === 'stopped') {
          timer.cancel();
          this.ackWaiters.delete(wake);
          resolve(this.unackedUpdates.size === 0);
        }
      };
      const timer = this.clock.setTimeout(() => {
        this.ackWaiters.delete(wake);
        resolve(this.unackedUpdates.size === 0);
      }, timeoutMs);
      this.ackWaiters.add(wake);
    });
  }

  /**
   * Every event, in order, as an async iterator (an alternative to the `on…` handlers; both
   * can be used). Ends when the driver stops.
   */
  events(): AsyncIterableIterator<ExecutorDriverEvent> {
    const queue = new EventQueue(() => this.iterators.delete(queue));
    if (this.currentState === 'stopped') queue.end();
    else this.iterators.add(queue);
    return queue;
  }

  // ---- subscription loop ----

  private async subscribe(): Promise<void> {
    if (this.currentState === 'stopped') return;
    this.currentState = 'subscribing';
    this.updatesInSubscribe = new Set(this.unackedUpdates.keys());
    const call = this.call('SUBSCRIBE', {
      subscribe: {
        unacknowledged_tasks: [...this.unackedTasks.values()],
        unacknowledged_updates: [...this.unackedUpdates.values()].map((status) => ({
          framework_id: { value: this.config.frameworkId },
          status,
        })),
      },
    });
    let stream: SubscriptionStream;
    try {
      stream = await this.transport.subscribe(call);
    } catch (err) {
      this.connectionLost(err as Error);
      return;
    }
    if (this.stopped()) {
      stream.close();
      return;
    }
    this.stream = stream;
    const decoder = new RecordIODecoder();
    let error: Error;
    try {
      for await (const chunk of stream) {
        for (const record of decoder.push(chunk)) this.handleRecord(record);
        if (this.stream !== stream) return;
      }
      error = new AgoraError('AGORA_EXECUTOR_DISCONNECTED', 'the agent closed the event stream');
    } catch (err) {
      error = err as Error;
    }
    if (this.stream === stream) {
      this.stream = undefined;
      this.connectionLost(error);
    }
  }

  /** Reads the state afresh (TypeScript narrows fields across awaits). */
  private stopped(): boolean {
    return this.currentState === 'stopped';
  }

  private connectionLost(error: Error): void {
    if (this.currentState === 'stopped') return;
    const wasSubscribed = this.currentState === 'subscribed';
    this.currentState = 'disconnected';
    this.logger.warn({ err: error, attempt: this.attempt }, wasSubscribed ? 'disconnected from the agent' : 'subscription to the agent failed');
    if (this.recoveryTimer === undefined) {
      this.recoveryTimer = this.clock.setTimeout(() => this.recoveryTimedOut(), this.config.recoveryTimeoutMs);
    }
    if (wasSubscribed) this.dispatch({ type: 'DISCONNECTED', error }, 'disconnected', [error]);
    const delay = subscriptionBackoffMs(this.attempt++, this.config.subscriptionBackoffMaxMs, this.random);
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = undefined;
      void this.subscribe();
    }, delay);
  }

  private recoveryTimedOut(): void {
    if (this.currentState === 'subscribed' || this.currentState === 'stopped') return;
    this.logger.error({ recoveryTimeoutMs: this.config.recoveryTimeoutMs }, 'could not re-subscribe to the agent within the recovery timeout');
    const afterMs = this.config.recoveryTimeoutMs;
    this.dispatch({ type: 'RECOVERY_TIMEOUT', afterMs }, 'recoveryTimeout', []);
    void this.stop();
  }

  private handleRecord(record: string): void {
    let json: unknown;
    try {
      json = JSON.parse(record);
    } catch (err) {
      this.reportError(new AgoraError('AGORA_EXECUTOR_BAD_EVENT', `event is not JSON: ${(err as Error).message}`, { cause: err }));
      return;
    }
    const parsed = safeParseJson(ExecutorEvent, json);
    if (!parsed.success) {
      this.reportError(new AgoraError('AGORA_EXECUTOR_BAD_EVENT', `invalid executor event dropped: ${parsed.error.message}`));
      return;
    }
    this.handleEvent(parsed.data);
  }

  private handleEvent(event: ExecutorEvent): void {
    this.logger.debug({ type: event.type }, 'event from the agent');
    switch (event.type) {
      case 'SUBSCRIBED': {
        const s = event.subscribed;
        if (s === undefined) return this.missing(event);
        this.currentState = 'subscribed';
        this.attempt = 0;
        this.recoveryTimer?.cancel();
        this.recoveryTimer = undefined;
        if (s.agent_info.id !== undefined) this.agentIdValue = s.agent_info.id.value;
        this.subscribedInfo = {
          executorInfo: s.executor_info,
          frameworkInfo: s.framework_info,
          agentInfo: s.agent_info,
          ...(s.container_id !== undefined ? { containerId: s.container_id.value } : {}),
        };
        // Updates made while the SUBSCRIBE was in flight were in neither the call nor sent.
        for (const [uuid, status] of this.unackedUpdates) {
          if (!this.updatesInSubscribe.has(uuid)) {
            this.enqueue(updateChainKey(status), () => this.transport.send(this.call('UPDATE', { update: { status } }))).catch((err) => {
              this.logger.warn({ err }, 'status update not delivered; will retry on re-subscription');
            });
          }
        }
        this.updatesInSubscribe.clear();
        return this.dispatch(event, 'subscribed', [this.subscribedInfo]);
      }
      case 'LAUNCH': {
        if (event.launch === undefined) return this.missing(event);
        this.unackedTasks.set(event.launch.task.task_id.value, event.launch.task);
        return this.dispatch(event, 'launch', [event.launch.task]);
      }
      case 'LAUNCH_GROUP': {
        if (event.launch_group === undefined) return this.missing(event);
        for (const task of event.launch_group.task_group.tasks ?? []) this.unackedTasks.set(task.task_id.value, task);
        return this.dispatch(event, 'launchGroup', [event.launch_group.task_group]);
      }
      case 'KILL':
        if (event.kill === undefined) return this.missing(event);
        return this.dispatch(event, 'kill', [event.kill.task_id, event.kill.kill_policy]);
      case 'ACKNOWLEDGED': {
        const ack = event.acknowledged;
        if (ack === undefined) return this.missing(event);
        this.unackedUpdates.delete(ack.uuid);
        this.unackedTasks.delete(ack.task_id.value);
        for (const wake of [...this.ackWaiters]) wake();
        return this.dispatch(event, 'acknowledged', [ack.task_id, ack.uuid]);
      }
      case 'MESSAGE':
        if (event.message === undefined) return this.missing(event);
        return this.dispatch(event, 'message', [Buffer.from(event.message.data, 'base64')]);
      case 'SHUTDOWN':
        return this.dispatch(event, 'shutdown', []);
      case 'ERROR': {
        const err = new AgoraError('AGORA_EXECUTOR_ERROR_EVENT', `error from the agent: ${event.error?.message ?? '(no message)'}`);
        return this.dispatch(event, 'error', [err]);
      }
      case 'HEARTBEAT':
        return this.dispatch(event, undefined, []);
      default: {
        const unreachable: never = event.type;
        return unreachable;
      }
    }
  }

  private missing(event: ExecutorEvent): void {
    this.reportError(new AgoraError('AGORA_EXECUTOR_BAD_EVENT', `${event.type} event without its ${event.type.toLowerCase()} field dropped`));
  }

  private dispatch<K extends keyof HandlerTable>(event: ExecutorDriverEvent, kind: K | undefined, args: Parameters<HandlerTable[K]>): void {
    for (const q of this.iterators) q.push(event);
    if (kind === undefined) return;
    for (const handler of this.handlers[kind]) {
      try {
        const result = (handler as (...a: unknown[]) => void | Promise<void>)(...args);
        if (result instanceof Promise) result.catch((err: unknown) => this.handlerFailed(kind, err));
      } catch (err) {
        this.handlerFailed(kind, err);
      }
    }
  }

  private handlerFailed(kind: string, err: unknown): void {
    const error = new AgoraError('AGORA_EXECUTOR_HANDLER', `${kind} handler failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    if (kind === 'error') {
      this.logger.error({ err: error }, 'error handler failed');
      return;
    }
    this.reportError(error);
  }

  private reportError(err: AgoraError): void {
    this.logger.error({ err }, err.message);
    if (this.handlers.error.length === 0) return;
    this.dispatch({ type: 'ERROR', error: { message: err.message } }, 'error', [err]);
  }

  /** Runs `send` after every earlier call of the same chain has settled. */
  private enqueue(key: string, send: () => Promise<void>): Promise<void> {
    const result = (this.sendChains.get(key) ?? Promise.resolve()).then(send);
    const tail = result.catch(() => undefined);
    this.sendChains.set(key, tail);
    // The last call of a chain removes it, so finished tasks leave nothing behind.
    void tail.then(() => {
      if (this.sendChains.get(key) === tail) this.sendChains.delete(key);
    });
    return result;
  }

  private call(type: ExecutorCall['type'], body: Partial<ExecutorCall>): ExecutorCall {
    return {
      executor_id: { value: this.config.executorId },
      framework_id: { value: this.config.frameworkId },
      type,
      ...body,
    };
  }
}

/** The chain of MESSAGE calls (task ids are prefixed, so no task's chain can be this one). */
const MESSAGE_CHAIN = 'message';

/** The chain of a task's UPDATE calls. */
function updateChainKey(status: TaskStatus): string {
  return `task:${status.task_id.value}`;
}

/** A buffered async iterator fed by the driver. */
class EventQueue implements AsyncIterableIterator<ExecutorDriverEvent> {
  private readonly buffered: ExecutorDriverEvent[] = [];
  private readonly waiting: Array<(r: IteratorResult<ExecutorDriverEvent>) => void> = [];
  private ended = false;

  constructor(private readonly onReturn: () => void) {}

  push(event: ExecutorDriverEvent): void {
    const next = this.waiting.shift();
    if (next !== undefined) next({ value: event, done: false });
    else this.buffered.push(event);
  }

  end(): void {
    this.ended = true;
    for (const next of this.waiting.splice(0)) next({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<ExecutorDriverEvent>> {
    const event = this.buffered.shift();
    if (event !== undefined) return Promise.resolve({ value: event, done: false });
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  return(): Promise<IteratorResult<ExecutorDriverEvent>> {
    this.onReturn();
    this.end();
    this.buffered.length = 0;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<ExecutorDriverEvent> {
    return this;
  }
}
