/**
 * Status updates from slaves (Mesos `Master::statusUpdate`): forward to the framework when
 * connected (keeping `status.uuid`, so the scheduler acknowledges), then update the task;
 * a terminal task frees its resources. Unknown frameworks or tasks count as invalid updates.
 * Also the executor → framework traffic (FAILURE, MESSAGE).
 *
 * @module
 */
import { isTerminalState, type AgentMessageOf, type StatusUpdate, type TaskStatus } from '../sdk/protocol/index.js';
import { releaseUsed } from './accounting.js';
import type { MasterContext } from './context.js';
import { events } from './events.js';
import { applyStatus, completeTask, getTask, shareStatusIds } from './tasks.js';

/** The status as the framework sees it: agent and executor ids filled from the update. */
export function statusForFramework(agentId: string, update: StatusUpdate): TaskStatus {
  return fillStatusIds(agentId, update, { ...update.status });
}

/** Sets `status`'s agent and executor ids from the update where it has none; returns it. */
function fillStatusIds(agentId: string, update: StatusUpdate, status: TaskStatus): TaskStatus {
  if (status.agent_id === undefined) status.agent_id = { value: agentId };
  if (status.executor_id === undefined && update.executor_id !== undefined) status.executor_id = update.executor_id;
  return status;
}

/**
 * Handles one update from agent `agentId`. With `apply: false` (updates re-forwarded on
 * re-registration, whose effect the reported task state already carries) the task state is
 * left alone and only the pending acknowledgement is recorded.
 *
 * The update is the master's own (parsed from the agent's frame for this call): its status
 * is completed in place and becomes the one forwarded and recorded, rather than a copy of
 * it per update (the same keys in the same order, so the same JSON).
 */
export function handleStatusUpdate(ctx: MasterContext, agentId: string, update: StatusUpdate, opts: { apply: boolean } = { apply: true }): void {
  const { state } = ctx;
  const frameworkId = update.framework_id.value;
  const status = fillStatusIds(agentId, update, update.status);
  const fw = state.frameworks.get(frameworkId);
  if (fw?.connected) ctx.conns.sendEvent(frameworkId, events.update(status));
  if (fw === undefined) {
    state.counters.invalidStatusUpdates++;
    ctx.logger.warn({ frameworkId, taskId: status.task_id.value }, 'status update for unknown framework');
    return;
  }
  const task = getTask(state, frameworkId, status.task_id.value);
  if (task === undefined || task.agentId !== agentId) {
    state.counters.invalidStatusUpdates++;
    ctx.logger.warn({ frameworkId, taskId: status.task_id.value, agentId }, 'status update for unknown task');
    return;
  }
  state.counters.validStatusUpdates++;
  if (opts.apply) {
    if (applyStatus(state, task, status, update.latest_state)) ctx.requestAllocation();
  } else {
    shareStatusIds(task, status);
    task.latestStatus = status;
    if (status.uuid !== undefined) task.unacknowledgedUuid = status.uuid;
  }
  // A terminal update that needs no acknowledgement retires the task now. (Its own state,
  // not the task's: with latest_state a task can be terminal before its terminal update came.)
  if (isTerminalState(status.state) && isTerminalState(task.state) && status.uuid === undefined) completeTask(state, task);
}

/** `executor_exited`: the executor's resources are freed; FAILURE goes to the framework. */
export function handleExecutorExited(ctx: MasterContext, agentId: string, msg: AgentMessageOf<'executor_exited'>): void {
  const { state } = ctx;
  const frameworkId = msg.framework_id.value;
  const executorId = msg.executor_id.value;
  const fw = state.frameworks.get(frameworkId);
  const executors = fw?.executors.get(agentId);
  const executor = executors?.get(executorId);
  if (fw && executors && executor) {
    executors.delete(executorId);
    if (executors.size === 0) fw.executors.delete(agentId);
    releaseUsed(state, frameworkId, agentId, executor.resources ?? []);
    ctx.requestAllocation();
  }
  ctx.conns.sendEvent(frameworkId, events.failure(agentId, executorId, msg.status));
}

/** `executor_to_framework`: a MESSAGE event to the framework. */
export function handleExecutorMessage(ctx: MasterContext, agentId: string, msg: AgentMessageOf<'executor_to_framework'>): void {
  ctx.conns.sendEvent(msg.framework_id.value, events.message(agentId, msg.executor_id.value, msg.data));
}
