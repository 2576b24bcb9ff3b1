/**
 * Pure constructors of Mesos v1 scheduler calls and offer operations (mesos-go's `calls`
 * package): a scheduler built with them reads like the protocol. Ids are plain strings
 * here and wrapped into `{ value }` on the way out; `framework_id` is left for the
 * {@link Scheduler} to fill in.
 *
 * @module
 */
import { jsonString } from '../core/json-text.js';
import type {
  ExecutorInfo, Filters, FrameworkInfo, KillPolicy, OfferOperation, Resource, SchedulerCall, TaskInfo,
} from '../protocol/index.js';

/** Options of calls that carry offer filters. */
export interface FilterOptions {
  /** Seconds the master keeps the declined/unused resources away from this framework (Mesos default 5). */
  refuseSeconds?: number;
}

/** A task to reconcile: the task id and, when known, its agent. */
export interface ReconcileTask {
  taskId: string;
  agentId?: string;
}

function filtersOf(opts: FilterOptions | undefined): Filters | undefined {
  return opts?.refuseSeconds === undefined ? undefined : { refuse_seconds: opts.refuseSeconds };
}

function ids(values: readonly string[]): { value: string }[] {
  return values.map((value) => ({ value }));
}

function withFilters<T extends object>(payload: T, filters: Filters | undefined): T & { filters?: Filters } {
  return filters === undefined ? payload : { ...payload, filters };
}

/**
 * Scheduler call builders. Each returns a `SchedulerCall` (without `framework_id`, except
 * `subscribe`, which carries the FrameworkInfo's id when it has one).
 *
 * @example
 * import { calls, operations } from 'agora/sdk/scheduler/index.js';
 * const call = calls.accept(['O1'], [operations.launch([task])], { refuseSeconds: 10 });
 * await scheduler.call(call);
 */
export const calls = {
  /**
   * SUBSCRIBE; resubscribes as `info.id` when set.
   * @example calls.subscribe({ user: 'root', name: 'batch', failover_timeout: 60 })
   */
  subscribe(info: FrameworkInfo, opts: { suppressedRoles?: string[] } = {}): SchedulerCall {
    const call: SchedulerCall = { type: 'SUBSCRIBE', subscribe: { framework_info: info } };
    if (opts.suppressedRoles !== undefined) call.subscribe!.suppressed_roles = [...opts.suppressedRoles];
    if (info.id !== undefined) call.framework_id = { value: info.id.value };
    return call;
  },
  /**
   * ACCEPT the offers with these operations (an empty list declines them, as in Mesos).
   * @example calls.accept(['O1'], [operations.launch([task])], { refuseSeconds: 5 })
   */
  accept(offerIds: readonly string[], ops: readonly OfferOperation[], opts?: FilterOptions): SchedulerCall {
    return { type: 'ACCEPT', accept: withFilters({ offer_ids: ids(offerIds), operations: [...ops] }, filtersOf(opts)) };
  },
  /**
   * DECLINE the offers.
   * @example calls.decline(['O1', 'O2'], { refuseSeconds: 30 })
   */
  decline(offerIds: readonly string[], opts?: FilterOptions): SchedulerCall {
    return { type: 'DECLINE', decline: withFilters({ offer_ids: ids(offerIds) }, filtersOf(opts)) };
  },
  /**
   * REVIVE offers (all roles, or just these) and clear the filters.
   * @example calls.revive()
   */
  revive(roles?: readonly string[]): SchedulerCall {
    return roles === undefined ? { type: 'REVIVE' } : { type: 'REVIVE', revive: { roles: [...roles] } };
  },
  /**
   * SUPPRESS offers (all roles, or just these) until the next REVIVE.
   * @example calls.suppress(['batch'])
   */
  suppress(roles?: readonly string[]): SchedulerCall {
    return roles === undefined ? { type: 'SUPPRESS' } : { type: 'SUPPRESS', suppress: { roles: [...roles] } };
  },
  /**
   * KILL a task, optionally overriding its kill policy.
   * @example calls.kill('task-1', 'agent-1', { grace_period: { nanoseconds: 5e9 } })
   */
  kill(taskId: string, agentId?: string, killPolicy?: KillPolicy): SchedulerCall {
    const kill: NonNullable<SchedulerCall['kill']> = { task_id: { value: taskId } };
    if (agentId !== undefined) kill.agent_id = { value: agentId };
    if (killPolicy !== undefined) kill.kill_policy = killPolicy;
    return { type: 'KILL', kill };
  },
  /**
   * SHUTDOWN an executor on an agent.
   * @example calls.shutdown('custom-executor', 'agent-1')
   */
  shutdown(executorId: string, agentId: string): SchedulerCall {
    return { type: 'SHUTDOWN', shutdown: { executor_id: { value: executorId }, agent_id: { value: agentId } } };
  },
  /**
   * ACKNOWLEDGE a status update (`uuid` is the update's base64 uuid, as received).
   * @example calls.acknowledge(status.agent_id!.value, status.task_id.value, status.uuid!)
   */
  acknowledge(agentId: string, taskId: string, uuid: string): SchedulerCall {
    return { type: 'ACKNOWLEDGE', acknowledge: { agent_id: { value: agentId }, task_id: { value: taskId }, uuid } };
  },
  /**
   * RECONCILE these tasks, or every task of the framework (implicit reconciliation) with `[]`.
   * @example calls.reconcile([{ taskId: 't1', agentId: 'a1' }])
   */
  reconcile(tasks: readonly ReconcileTask[] = []): SchedulerCall {
    return {
      type: 'RECONCILE',
      reconcile: {
        tasks: tasks.map((t) => (t.agentId === undefined
          ? { task_id: { value: t.taskId } }
          : { task_id: { value: t.taskId }, agent_id: { value: t.agentId } })),
      },
    };
  },
  /**
   * MESSAGE an executor; `data` (bytes, or a string sent as UTF-8) travels base64-encoded.
   * @example calls.message('agent-1', 'custom-executor', 'hello')
   */
  message(agentId: string, executorId: string, data: Buffer | Uint8Array | string): SchedulerCall {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
    return { type: 'MESSAGE', message: { agent_id: { value: agentId }, executor_id: { value: executorId }, data: bytes.toString('base64') } };
  },
  /**
   * TEARDOWN the framework: the master kills its tasks and forgets it.
   * @example calls.teardown()
   */
  teardown(): SchedulerCall {
    return { type: 'TEARDOWN' };
  },
};

/**
 * Offer operation builders, for {@link calls.accept}.
 *
 * @example
 * const op = operations.launch([commandTask({ taskId: 't1', agentId: offer.agent_id.value, command: 'echo hi', resources })]);
 */
export const operations = {
  /** LAUNCH tasks (command tasks, or tasks with their own ExecutorInfo). @example operations.launch([task]) */
  launch(tasks: readonly TaskInfo[]): OfferOperation {
    return { type: 'LAUNCH', launch: { task_infos: [...tasks] } };
  },
  /** LAUNCH_GROUP: tasks started together under one executor. @example operations.launchGroup(executor, [t1, t2]) */
  launchGroup(executor: ExecutorInfo, tasks: readonly TaskInfo[]): OfferOperation {
    return { type: 'LAUNCH_GROUP', launch_group: { executor, task_group: { tasks: [...tasks] } } };
  },
  /** RESERVE resources (dynamic reservation). @example operations.reserve(resources) */
  reserve(resources: readonly Resource[]): OfferOperation {
    return { type: 'RESERVE', reserve: { resources: [...resources] } };
  },
  /** UNRESERVE resources. @example operations.unreserve(resources) */
  unreserve(resources: readonly Resource[]): OfferOperation {
    return { type: 'UNRESERVE', unreserve: { resources: [...resources] } };
  },
};

/**
 * The JSON of an ACKNOWLEDGE call for framework `frameworkId`, what the scheduler's queue
 * sends for each auto-acknowledgement (serialised once, when it is made): the same bytes as
 * `JSON.stringify({ ...calls.acknowledge(…), framework_id })` (a test holds them equal for
 * odd strings too), written as a template around the four strings rather than by
 * JSON.stringify of an object: 0.2 µs an acknowledgement against 1.0 µs (two per task a busy
 * framework launches; the stringify was an eighth of the bench framework's CPU).
 */
export function acknowledgeCallJson(frameworkId: string, agentId: string, taskId: string, uuid: string): string {
  return `{"type":"ACKNOWLEDGE","acknowledge":{"agent_id":{"value":${jsonString(agentId)}},"task_id":{"value":${jsonString(taskId)}},`
    + `"uuid":${jsonString(uuid)}},"framework_id":{"value":${jsonString(frameworkId)}}}`;
}
