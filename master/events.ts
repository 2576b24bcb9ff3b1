/**
 * Pure constructors of the scheduler events and master-generated task statuses the master
 * sends (mesos/v1/scheduler/scheduler.proto `Event`).
 *
 * @module
 */
import type {
  MasterInfo, Offer, SchedulerEvent, TaskState, TaskStatus, TaskStatusReason,
} from '../sdk/protocol/index.js';

export const events = {
  subscribed(frameworkId: string, heartbeatIntervalSeconds: number, masterInfo: MasterInfo): SchedulerEvent {
    return {
      type: 'SUBSCRIBED',
      subscribed: { framework_id: { value: frameworkId }, heartbeat_interval_seconds: heartbeatIntervalSeconds, master_info: masterInfo },
    };
  },
  heartbeat(): SchedulerEvent {
    return { type: 'HEARTBEAT' };
  },
  offers(offers: Offer[]): SchedulerEvent {
    return { type: 'OFFERS', offers: { offers } };
  },
  rescind(offerId: string): SchedulerEvent {
    return { type: 'RESCIND', rescind: { offer_id: { value: offerId } } };
  },
  update(status: TaskStatus): SchedulerEvent {
    return { type: 'UPDATE', update: { status } };
  },
  message(agentId: string, executorId: string, data: string): SchedulerEvent {
    return { type: 'MESSAGE', message: { agent_id: { value: agentId }, executor_id: { value: executorId }, data } };
  },
  failure(agentId: string, executorId?: string, status?: number): SchedulerEvent {
    return {
      type: 'FAILURE',
      failure: {
        agent_id: { value: agentId },
        ...(executorId !== undefined ? { executor_id: { value: executorId } } : {}),
        ...(status !== undefined ? { status } : {}),
      },
    };
  },
  error(message: string): SchedulerEvent {
    return { type: 'ERROR', error: { message } };
  },
};

/**
 * A status the master itself generates (Mesos `protobuf::createStatusUpdate` with source
 * SOURCE_MASTER): no uuid, so frameworks do not acknowledge it.
 */
export function masterStatus(p: {
  taskId: string;
  state: TaskState;
  reason?: TaskStatusReason;
  message?: string;
  agentId?: string;
  executorId?: string;
  now: number;
  unreachableSinceMs?: number;
}): TaskStatus {
  const status: TaskStatus = {
    task_id: { value: p.taskId },
    state: p.state,
    source: 'SOURCE_MASTER',
    timestamp: p.now / 1000,
  };
  if (p.reason !== undefined) status.reason = p.reason;
  if (p.message !== undefined) status.message = p.message;
  if (p.agentId !== undefined) status.agent_id = { value: p.agentId };
  if (p.executorId !== undefined) status.executor_id = { value: p.executorId };
  if (p.unreachableSinceMs !== undefined) status.unreachable_time = { nanoseconds: p.unreachableSinceMs * 1e6 };
  return status;
}
