/**
 * The scheduler calls other than SUBSCRIBE, from an authorised subscribed framework (Mesos
 * `Master::accept`, `decline`, `revive`, `suppress`, `kill`, `shutdown`, `acknowledge`,
 * `reconcile`, `message`, `removeFramework`, `updateFramework`). One exhaustive switch.
 *
 * @module
 */
import type { ExecutorInfo, Resource, SchedulerCall, TaskInfo } from '../sdk/protocol/index.js';
import { isTerminalState } from '../sdk/protocol/index.js';
import { isEmptyResources } from '../sdk/resources/index.js';
import { addUsedAll } from './accounting.js';
import type { MasterContext } from './context.js';
import { events, masterStatus } from './events.js';
import { removeFramework, updateFramework } from './frameworks.js';
import { planAccept } from './launch-validation.js';
import type { FrameworkRecord, TaskRecord } from './model.js';
import { reconcileTasks } from './reconcile.js';
import { declineRefuseSecondsOf, refuseSecondsOf, removeOffer } from './offers.js';
import type { CallResult } from './scheduler-api/http.js';
import { addTask, completeTask, countTerminal, getTask, isPartitionAware } from './tasks.js';

const ACCEPTED: CallResult = { status: 202 };

export function handleSchedulerCall(ctx: MasterContext, fw: FrameworkRecord, call: SchedulerCall): CallResult {
  switch (call.type) {
    case 'SUBSCRIBE':
      return { status: 400, message: 'SUBSCRIBE is handled by the stream endpoint' };
    case 'TEARDOWN':
      removeFramework(ctx, fw.id);
      return ACCEPTED;
    case 'ACCEPT':
      accept(ctx, fw, call.accept!);
      return ACCEPTED;
    case 'DECLINE':
      decline(ctx, fw, call.decline!);
      return ACCEPTED;
    case 'ACCEPT_INVERSE_OFFERS':
    case 'DECLINE_INVERSE_OFFERS':
      return ACCEPTED; // the master makes no inverse offers (no maintenance schedules)
    case 'REVIVE':
      revive(ctx, fw, call.revive?.roles);
      return ACCEPTED;
    case 'SUPPRESS':
      suppress(ctx, fw, call.suppress?.roles);
      return ACCEPTED;
    case 'KILL':
      kill(ctx, fw, call.kill!);
      return ACCEPTED;
    case 'SHUTDOWN': {
      const { agent_id, executor_id } = call.shutdown!;
      ctx.conns.sendToAgent(agent_id.value, { type: 'shutdown_executor', framework_id: { value: fw.id }, executor_id });
      return ACCEPTED;
    }
    case 'ACKNOWLEDGE':
      acknowledge(ctx, fw, call.acknowledge!);
      return ACCEPTED;
    case 'ACKNOWLEDGE_OPERATION_STATUS':
      return ACCEPTED; // no offer operations with feedback are supported
    case 'RECONCILE': {
      const requests = (call.reconcile!.tasks ?? []).map((t) => ({ taskId: t.task_id.value, agentId: t.agent_id?.value }));
      for (const status of reconcileTasks(ctx.state, fw, requests, ctx.clock.now())) ctx.conns.sendEvent(fw.id, events.update(status));
      return ACCEPTED;
    }
    case 'RECONCILE_OPERATIONS':
      return { status: 200, json: { type: 'RECONCILE_OPERATIONS', reconcile_operations: { operation_statuses: [] } } };
    case 'MESSAGE': {
      const { agent_id, executor_id, data } = call.message!;
      ctx.conns.sendToAgent(agent_id.value, { type: 'framework_to_executor', framework_id: { value: fw.id }, executor_id, data });
      return ACCEPTED;
    }
    case 'REQUEST':
      return ACCEPTED; // Mesos ignores resource requests too
    case 'UPDATE_FRAMEWORK': {
      const update = call.update_framework!;
      const suppressed = (update as { suppressed_roles?: unknown }).suppressed_roles;
      const roles = Array.isArray(suppressed) && suppressed.every((r) => typeof r === 'string') ? (suppressed as string[]) : undefined;
      const error = updateFramework(ctx, fw, update.framework_info, roles);
      if (error) return { status: 400, message: error };
      return { status: 200 };
    }
  }
}

type AcceptPayload = NonNullable<SchedulerCall['accept']>;

/**
 * ACCEPT: offers are validated first (invalid → every task TASK_DROPPED/TASK_LOST with
 * REASON_INVALID_OFFERS, and this framework's offers named in the call are recovered without
 * filter); then each task is validated against what remains (invalid → TASK_ERROR), valid
 * ones are recorded TASK_STAGING and sent to the slave; the leftover is recovered with the
 * call's refuse filter (default 5 s).
 */
export function accept(ctx: MasterContext, fw: FrameworkRecord, payload: AcceptPayload): void {
  const { state } = ctx;
  const now = ctx.clock.now();
  const plan = planAccept({
    frameworkId: fw.id,
    offerIds: (payload.offer_ids ?? []).map((o) => o.value),
    operations: payload.operations ?? [],
    offers: state.offers,
    taskIdInUse: (taskId) => state.tasks.get(fw.id)?.has(taskId) ?? false,
    executorsOnAgent: (agentId) => fw.executors.get(agentId) ?? new Map(),
  });
  for (const id of plan.ownOfferIds) removeOffer(ctx, id, { reallocate: false });
  if (plan.unsupported.length > 0) ctx.logger.warn({ frameworkId: fw.id, operations: plan.unsupported }, 'unsupported offer operations ignored');

  if (plan.offerError !== undefined) {
    const pa = isPartitionAware(fw);
    for (const task of plan.allTasks) {
      const status = masterStatus({
        taskId: task.task_id.value,
        state: pa ? 'TASK_DROPPED' : 'TASK_LOST',
        reason: 'REASON_INVALID_OFFERS',
        message: `Task launched with invalid offers: ${plan.offerError}`,
        agentId: task.agent_id.value,
        now,
      });
      countTerminal(state.counters, status.state);
      ctx.conns.sendEvent(fw.id, events.update(status));
    }
    ctx.logger.warn({ frameworkId: fw.id, error: plan.offerError }, 'ACCEPT with invalid offers');
    ctx.requestAllocation();
    return;
  }
  state.counters.offersAccepted += plan.ownOfferIds.length;
  const agentId = plan.agentId!;

  for (const rejection of plan.rejections) {
    const status = masterStatus({
      taskId: rejection.task.task_id.value,
      state: 'TASK_ERROR',
      reason: rejection.reason,
      message: rejection.message,
      agentId: rejection.task.agent_id.value,
      now,
    });
    countTerminal(state.counters, 'TASK_ERROR');
    ctx.conns.sendEvent(fw.id, events.update(status));
  }

  const executorsHere = (): Map<string, ExecutorInfo> => {
    let map = fw.executors.get(agentId);
    if (map === undefined) fw.executors.set(agentId, (map = new Map()));
    return map;
  };
  const withFrameworkId = (executor: ExecutorInfo): ExecutorInfo => ({ ...executor, framework_id: { value: fw.id } });
  // What the launches hold (new executors', tasks'), charged at once below: one new `used`
  // list for the agent and one for the framework per ACCEPT, not one each per task.
  const charges: (readonly Resource[])[] = [];
  const record = (task: TaskInfo, executorId: string | undefined): void => {
    const rec: TaskRecord = {
      frameworkId: fw.id,
      agentId,
      executorId,
      info: task,
      resources: task.resources ?? [],
      state: 'TASK_STAGING',
      statuses: [],
    };
    addTask(state, rec, false);
    charges.push(rec.resources);
  };

  for (const launch of plan.launches) {
    if (launch.kind === 'task') {
      const task: TaskInfo = launch.task.executor ? { ...launch.task, executor: withFrameworkId(launch.task.executor) } : launch.task;
      if (launch.newExecutor) {
        const executor = withFrameworkId(launch.newExecutor);
        executorsHere().set(executor.executor_id.value, executor);
        charges.push(executor.resources ?? []);
      }
      record(task, task.executor?.executor_id.value);
      ctx.conns.sendToAgent(agentId, { type: 'run_task', framework: fw.info, task });
    } else {
      const executor = withFrameworkId(launch.executor);
      if (launch.newExecutor) {
        executorsHere().set(executor.executor_id.value, executor);
        charges.push(executor.resources ?? []);
      }
      for (const task of launch.tasks) record(task, executor.executor_id.value);
      ctx.conns.sendToAgent(agentId, { type: 'run_task_group', framework: fw.info, executor, task_group: { tasks: launch.tasks } });
    }
  }

  addUsedAll(state, fw.id, agentId, charges);

  // An ACCEPT without operations declines its offers (Mesos): the decline's floor applies.
  const refuse = (payload.operations ?? []).length === 0 ? declineRefuseSecondsOf(ctx, payload.filters) : refuseSecondsOf(payload.filters);
  if (refuse > 0 && !isEmptyResources(plan.leftover)) {
    ctx.filters.add({ frameworkId: fw.id, agentId, resources: plan.leftover, expiresAt: now + refuse * 1000 });
  }
  ctx.requestAllocation();
}

export function decline(ctx: MasterContext, fw: FrameworkRecord, payload: NonNullable<SchedulerCall['decline']>): void {
  const refuse = declineRefuseSecondsOf(ctx, payload.filters);
  for (const { value } of payload.offer_ids ?? []) {
    const offer = ctx.state.offers.get(value);
    if (offer === undefined || offer.frameworkId !== fw.id) {
      ctx.logger.debug({ frameworkId: fw.id, offerId: value }, 'DECLINE of an unknown offer ignored');
      continue;
    }
    removeOffer(ctx, value, { refuseSeconds: refuse });
    ctx.state.counters.offersDeclined++;
  }
}

/** REVIVE: drops the framework's filters and unsuppresses the roles (all when none given). */
export function revive(ctx: MasterContext, fw: FrameworkRecord, roles: string[] | undefined): void {
  const target = roles && roles.length > 0 ? roles : fw.roles;
  ctx.filters.clearFramework(fw.id);
  for (const role of target) fw.suppressedRoles.delete(role);
  ctx.requestAllocation();
}

/** SUPPRESS: no more offers for the roles (all when none given) until REVIVE. */
export function suppress(ctx: MasterContext, fw: FrameworkRecord, roles: string[] | undefined): void {
  const target = roles && roles.length > 0 ? roles : fw.roles;
  for (const role of target) if (fw.roles.includes(role)) fw.suppressedRoles.add(role);
}

/** KILL: a known task's slave gets kill_task; an unknown task is answered by reconciliation. */
export function kill(ctx: MasterContext, fw: FrameworkRecord, payload: NonNullable<SchedulerCall['kill']>): void {
  const task = getTask(ctx.state, fw.id, payload.task_id.value);
  // Unknown, or on an unreachable agent (nothing to send the kill to): answered by reconciliation.
  if (task === undefined || task.state === 'TASK_UNREACHABLE') {
    const statuses = reconcileTasks(ctx.state, fw, [{ taskId: payload.task_id.value, agentId: payload.agent_id?.value }], ctx.clock.now());
    for (const status of statuses) ctx.conns.sendEvent(fw.id, events.update(status));
    return;
  }
  ctx.conns.sendToAgent(task.agentId, {
    type: 'kill_task',
    framework_id: { value: fw.id },
    task_id: payload.task_id,
    ...(payload.kill_policy ?? task.info.kill_policy ? { kill_policy: payload.kill_policy ?? task.info.kill_policy } : {}),
  });
}

/**
 * ACKNOWLEDGE: forwards `status_update_ack` to the slave; clears the task's pending uuid; a
 * terminal task whose terminal update is acknowledged moves to completedTasks.
 */
export function acknowledge(ctx: MasterContext, fw: FrameworkRecord, payload: NonNullable<SchedulerCall['acknowledge']>): void {
  const task = getTask(ctx.state, fw.id, payload.task_id.value);
  if (task !== undefined) {
    if (task.unacknowledgedUuid === payload.uuid) task.unacknowledgedUuid = undefined;
    // Retired once its terminal update is acknowledged (Mesos checks the forwarded update's
    // state: with latest_state the task can be terminal while earlier updates are in flight).
    const forwarded = task.latestStatus;
    if (forwarded !== undefined && isTerminalState(forwarded.state) && isTerminalState(task.state) && forwarded.uuid === payload.uuid) completeTask(ctx.state, task);
  }
  ctx.conns.sendToAgent(payload.agent_id.value, {
    type: 'status_update_ack',
    framework_id: { value: fw.id },
    task_id: payload.task_id,
    uuid: payload.uuid,
  });
}
