/**
 * Pure task reconciliation (Mesos `Master::_reconcileTasks`): the statuses the master
 * answers a RECONCILE (or a KILL of an unknown task) with. Every answer has source
 * SOURCE_MASTER, reason REASON_RECONCILIATION and no uuid (no acknowledgement needed).
 *
 * @module
 */
import type { TaskStatus } from '../sdk/protocol/index.js';
import { masterStatus } from './events.js';
import type { FrameworkRecord, MasterState, TaskRecord } from './model.js';
import { isPartitionAware } from './tasks.js';

export interface ReconcileRequest {
  taskId: string;
  agentId?: string;
}

function latest(task: TaskRecord, partitionAware: boolean, now: number): TaskStatus {
  // A task of an unreachable agent: TASK_UNREACHABLE with its time for partition-aware
  // frameworks, TASK_LOST for the others (what they were told when the agent went).
  const unreachable = task.state === 'TASK_UNREACHABLE';
  const status = masterStatus({
    taskId: task.info.task_id.value,
    state: unreachable && !partitionAware ? 'TASK_LOST' : task.state,
    reason: 'REASON_RECONCILIATION',
    message: unreachable ? 'Reconciliation: Task is unreachable' : 'Reconciliation: Latest task state',
    agentId: task.agentId,
    executorId: task.executorId,
    now,
    ...(unreachable && partitionAware ? { unreachableSinceMs: task.unreachableSince ?? now } : {}),
  });
  // Keep what the agent last said about the task (health, labels, container status, data).
  const last = task.latestStatus;
  if (last !== undefined) {
    if (last.healthy !== undefined) status.healthy = last.healthy;
    if (last.labels !== undefined) status.labels = last.labels;
    if (last.container_status !== undefined) status.container_status = last.container_status;
    if (last.check_status !== undefined) status.check_status = last.check_status;
    if (last.data !== undefined) status.data = last.data;
  }
  return status;
}

/**
 * Answers a reconciliation. Empty `requests` is implicit reconciliation (the latest status of
 * every task the master knows for the framework); otherwise explicit, one answer per known
 * or decidable task:
 * - known task → its latest state (a task of an unreachable agent, kept by the master:
 *   TASK_UNREACHABLE with `unreachable_time` (partition-aware) / TASK_LOST);
 * - agent registered, task unknown → TASK_GONE (partition-aware) / TASK_LOST;
 * - agent unreachable → TASK_UNREACHABLE (partition-aware) / TASK_LOST;
 * - agent not given or unknown → TASK_UNKNOWN (partition-aware) / TASK_LOST.
 */
export function reconcileTasks(
  state: MasterState,
  framework: FrameworkRecord,
  requests: readonly ReconcileRequest[],
  now: number,
): TaskStatus[] {
  const tasks = state.tasks.get(framework.id);
  const partitionAware = isPartitionAware(framework);
  if (requests.length === 0) return [...(tasks?.values() ?? [])].map((t) => latest(t, partitionAware, now));
  const out: TaskStatus[] = [];
  for (const req of requests) {
    const task = tasks?.get(req.taskId);
    if (task !== undefined) {
      out.push(latest(task, partitionAware, now));
      continue;
    }
    const common = { taskId: req.taskId, agentId: req.agentId, reason: 'REASON_RECONCILIATION' as const, now };
    if (req.agentId !== undefined && state.agents.has(req.agentId)) {
      out.push(masterStatus({ ...common, state: partitionAware ? 'TASK_GONE' : 'TASK_LOST', message: 'Reconciliation: Task is unknown to the agent' }));
    } else if (req.agentId !== undefined && state.unreachableAgents.has(req.agentId)) {
      out.push(masterStatus({
        ...common,
        state: partitionAware ? 'TASK_UNREACHABLE' : 'TASK_LOST',
        message: 'Reconciliation: Task is unreachable',
        ...(partitionAware ? { unreachableSinceMs: state.unreachableAgents.get(req.agentId)! } : {}),
      }));
    } else {
      out.push(masterStatus({ ...common, state: partitionAware ? 'TASK_UNKNOWN' : 'TASK_LOST', message: 'Reconciliation: Task is unknown' }));
    }
  }
  return out;
}
