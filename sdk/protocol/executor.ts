/**
 * The Mesos v1 executor HTTP API (mesos/v1/executor/executor.proto), JSON encoding.
 *
 * An executor POSTs `Call`s to its slave's `/api/v1/executor`; SUBSCRIBE opens a RecordIO
 * stream of `Event`s.
 *
 * @module
 */
import { z } from 'zod';
import {
  AgentInfo, ExecutorID, ExecutorInfo, FrameworkID, FrameworkInfo, KillPolicy, TaskGroupInfo,
  TaskID, TaskInfo, TaskStatus,
} from './mesos.js';

export const ExecutorCallType = z.enum(['SUBSCRIBE', 'UPDATE', 'MESSAGE', 'HEARTBEAT']);
export type ExecutorCallType = z.infer<typeof ExecutorCallType>;

export const ExecutorCall = z.object({
  executor_id: ExecutorID,
  framework_id: FrameworkID,
  type: ExecutorCallType,
  subscribe: z.object({
    unacknowledged_tasks: z.array(TaskInfo).optional(),
    unacknowledged_updates: z.array(z.object({
      framework_id: FrameworkID,
      status: TaskStatus,
    }).passthrough()).optional(),
  }).optional(),
  update: z.object({ status: TaskStatus }).optional(),
  message: z.object({ data: z.string() }).optional(),
});
export type ExecutorCall = z.infer<typeof ExecutorCall>;

export const ExecutorEventType = z.enum([
  'SUBSCRIBED', 'LAUNCH', 'LAUNCH_GROUP', 'KILL', 'ACKNOWLEDGED', 'MESSAGE', 'SHUTDOWN', 'ERROR', 'HEARTBEAT',
]);
export type ExecutorEventType = z.infer<typeof ExecutorEventType>;

export const ExecutorEvent = z.object({
  type: ExecutorEventType,
  subscribed: z.object({
    executor_info: ExecutorInfo,
    framework_info: FrameworkInfo,
    agent_info: AgentInfo,
    container_id: z.object({ value: z.string() }).optional(),
  }).optional(),
  launch: z.object({ task: TaskInfo }).optional(),
  launch_group: z.object({ task_group: TaskGroupInfo }).optional(),
  kill: z.object({ task_id: TaskID, kill_policy: KillPolicy.optional() }).optional(),
  acknowledged: z.object({ task_id: TaskID, uuid: z.string() }).optional(),
  message: z.object({ data: z.string() }).optional(),
  error: z.object({ message: z.string() }).optional(),
});
export type ExecutorEvent = z.infer<typeof ExecutorEvent>;
