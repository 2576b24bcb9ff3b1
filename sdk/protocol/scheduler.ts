/**
 * The Mesos v1 scheduler HTTP API (mesos/v1/scheduler/scheduler.proto), JSON encoding.
 *
 * `Call` is what a framework POSTs to `/api/v1/scheduler`; `Event` is what the master
 * streams back (RecordIO framed) on the SUBSCRIBE connection.
 *
 * @module
 */
import { z } from 'zod';
import {
  AgentID, ExecutorID, FrameworkID, FrameworkInfo, Filters, KillPolicy, MasterInfo, Offer,
  OfferID, OfferOperation, Resource, TaskID, TaskStatus,
} from './mesos.js';

export const SCHEDULER_CALL_TYPES = [
  'SUBSCRIBE', 'TEARDOWN', 'ACCEPT', 'DECLINE', 'ACCEPT_INVERSE_OFFERS', 'DECLINE_INVERSE_OFFERS',
  'REVIVE', 'KILL', 'SHUTDOWN', 'ACKNOWLEDGE', 'ACKNOWLEDGE_OPERATION_STATUS', 'RECONCILE',
  'RECONCILE_OPERATIONS', 'MESSAGE', 'REQUEST', 'SUPPRESS', 'UPDATE_FRAMEWORK',
] as const;
export const SchedulerCallType = z.enum(SCHEDULER_CALL_TYPES);
export type SchedulerCallType = z.infer<typeof SchedulerCallType>;

export const SchedulerCall = z.object({
  framework_id: FrameworkID.optional(),
  type: SchedulerCallType,
  subscribe: z.object({
    framework_info: FrameworkInfo,
    suppressed_roles: z.array(z.string()).optional(),
    offer_constraints: z.record(z.string(), z.unknown()).optional(),
  }).optional(),
  accept: z.object({
    offer_ids: z.array(OfferID).optional(),
    operations: z.array(OfferOperation).optional(),
    filters: Filters.optional(),
  }).optional(),
  decline: z.object({ offer_ids: z.array(OfferID).optional(), filters: Filters.optional() }).optional(),
  accept_inverse_offers: z.record(z.string(), z.unknown()).optional(),
  decline_inverse_offers: z.record(z.string(), z.unknown()).optional(),
  revive: z.object({ roles: z.array(z.string()).optional() }).optional(),
  suppress: z.object({ roles: z.array(z.string()).optional() }).optional(),
  kill: z.object({ task_id: TaskID, agent_id: AgentID.optional(), kill_policy: KillPolicy.optional() }).optional(),
  shutdown: z.object({ executor_id: ExecutorID, agent_id: AgentID }).optional(),
  acknowledge: z.object({ agent_id: AgentID, task_id: TaskID, uuid: z.string().min(1) }).optional(),
  reconcile: z.object({
    tasks: z.array(z.object({ task_id: TaskID, agent_id: AgentID.optional() })).optional(),
  }).optional(),
  message: z.object({ agent_id: AgentID, executor_id: ExecutorID, data: z.string() }).optional(),
  request: z.object({
    requests: z.array(z.object({ agent_id: AgentID.optional(), resources: z.array(Resource).optional() })).optional(),
  }).optional(),
  update_framework: z.object({ framework_info: FrameworkInfo }).passthrough().optional(),
});
export type SchedulerCall = z.infer<typeof SchedulerCall>;

export const SCHEDULER_EVENT_TYPES = [
  'SUBSCRIBED', 'OFFERS', 'INVERSE_OFFERS', 'RESCIND', 'RESCIND_INVERSE_OFFER', 'UPDATE',
  'UPDATE_OPERATION_STATUS', 'MESSAGE', 'FAILURE', 'ERROR', 'HEARTBEAT',
] as const;
export const SchedulerEventType = z.enum(SCHEDULER_EVENT_TYPES);
export type SchedulerEventType = z.infer<typeof SchedulerEventType>;

export const SchedulerEvent = z.object({
  type: SchedulerEventType,
  subscribed: z.object({
    framework_id: FrameworkID,
    heartbeat_interval_seconds: z.number().optional(),
    master_info: MasterInfo.optional(),
  }).optional(),
  offers: z.object({ offers: z.array(Offer).optional() }).optional(),
  rescind: z.object({ offer_id: OfferID }).optional(),
  update: z.object({ status: TaskStatus }).optional(),
  message: z.object({ agent_id: AgentID, executor_id: ExecutorID, data: z.string() }).optional(),
  failure: z.object({
    agent_id: AgentID.optional(),
    executor_id: ExecutorID.optional(),
    status: z.number().int().optional(),
  }).optional(),
  error: z.object({ message: z.string() }).optional(),
});
export type SchedulerEvent = z.infer<typeof SchedulerEvent>;

/** The event of each type, with its payload field made required. */
export type SchedulerEventOf<T extends SchedulerEventType> = SchedulerEvent & { type: T } & (
  T extends 'SUBSCRIBED' ? { subscribed: NonNullable<SchedulerEvent['subscribed']> }
  : T extends 'OFFERS' ? { offers: NonNullable<SchedulerEvent['offers']> }
  : T extends 'RESCIND' ? { rescind: NonNullable<SchedulerEvent['rescind']> }
  : T extends 'UPDATE' ? { update: NonNullable<SchedulerEvent['update']> }
  : T extends 'MESSAGE' ? { message: NonNullable<SchedulerEvent['message']> }
  : T extends 'FAILURE' ? { failure: NonNullable<SchedulerEvent['failure']> }
  : T extends 'ERROR' ? { error: NonNullable<SchedulerEvent['error']> }
  : unknown);

/**
 * For each call type, the payload field Mesos requires (its validation answers 400
 * "Expecting '<field>' to be present" when it is missing).
 */
export const SCHEDULER_CALL_PAYLOAD: Partial<Record<SchedulerCallType, keyof SchedulerCall>> = {
  SUBSCRIBE: 'subscribe',
  ACCEPT: 'accept',
  DECLINE: 'decline',
  KILL: 'kill',
  SHUTDOWN: 'shutdown',
  ACKNOWLEDGE: 'acknowledge',
  RECONCILE: 'reconcile',
  MESSAGE: 'message',
  REQUEST: 'request',
  UPDATE_FRAMEWORK: 'update_framework',
};
