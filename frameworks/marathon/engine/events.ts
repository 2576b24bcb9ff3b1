/**
 * Builders of Marathon's events with exactly its field names (mesosphere/marathon
 * core/event/Events.scala). Pure: the timestamp is a parameter.
 *
 * @module
 */
import type { TaskStatus } from '../../../sdk/protocol/index.js';
import type { DeploymentPlan, Instance, MarathonEvent, PathId, Timestamp } from '../model/types.js';

/** status_update_event (MesosStatusUpdateEvent). */
export function statusUpdateEvent(status: TaskStatus, instance: Instance, timestamp: Timestamp): MarathonEvent {
  return {
    slaveId: status.agent_id?.value ?? instance.agentId ?? '',
    taskId: status.task_id.value,
    taskStatus: status.state,
    message: status.message ?? '',
    appId: instance.appId,
    host: instance.host ?? '',
    ipAddresses: instance.host !== undefined && /^[\d.]+$/.test(instance.host) ? [{ ipAddress: instance.host, protocol: 'IPv4' }] : [],
    ports: instance.hostPorts,
    version: instance.runSpecVersion,
    eventType: 'status_update_event',
    timestamp,
  };
}

/** instance_changed_event (InstanceChanged). */
export function instanceChangedEvent(instance: Instance, timestamp: Timestamp): MarathonEvent {
  return {
    instanceId: instance.instanceId,
    condition: instance.condition,
    runSpecId: instance.appId,
    agentId: instance.agentId ?? '',
    host: instance.host ?? '',
    runSpecVersion: instance.runSpecVersion,
    timestamp,
    goal: instance.goal,
    eventType: 'instance_changed_event',
  };
}

/** health_status_changed_event. */
export function healthStatusChangedEvent(instance: Instance, alive: boolean, timestamp: Timestamp): MarathonEvent {
  return {
    appId: instance.appId,
    instanceId: instance.instanceId,
    version: instance.runSpecVersion,
    alive,
    eventType: 'health_status_changed_event',
    timestamp,
  };
}

/** failed_health_check_event. */
export function failedHealthCheckEvent(instance: Instance, healthCheck: unknown, timestamp: Timestamp): MarathonEvent {
  return { appId: instance.appId, taskId: instance.taskId, instanceId: instance.instanceId, healthCheck, eventType: 'failed_health_check_event', timestamp };
}

/** unhealthy_instance_kill_event. */
export function unhealthyInstanceKillEvent(instance: Instance, reason: string, timestamp: Timestamp): MarathonEvent {
  return {
    appId: instance.appId,
    taskId: instance.taskId,
    instanceId: instance.instanceId,
    version: instance.runSpecVersion,
    reason,
    host: instance.host ?? '',
    slaveId: instance.agentId ?? null,
    eventType: 'unhealthy_instance_kill_event',
    timestamp,
  };
}

/** deployment_info. */
export function deploymentInfoEvent(plan: unknown, currentStep: unknown, timestamp: Timestamp): MarathonEvent {
  return { plan, currentStep, eventType: 'deployment_info', timestamp };
}

export function deploymentStepEvent(type: 'deployment_step_success' | 'deployment_step_failure', plan: unknown, currentStep: unknown, timestamp: Timestamp): MarathonEvent {
  return { plan, currentStep, eventType: type, timestamp };
}

/** deployment_success / deployment_failed: {id, plan}. */
export function deploymentDoneEvent(type: 'deployment_success' | 'deployment_failed', plan: DeploymentPlan, rendered: unknown, timestamp: Timestamp): MarathonEvent {
  return { id: plan.id, plan: rendered, eventType: type, timestamp };
}

/** group_change_success {groupId, version}. */
export function groupChangeSuccessEvent(groupId: PathId, version: Timestamp, timestamp: Timestamp): MarathonEvent {
  return { groupId, version, eventType: 'group_change_success', timestamp };
}

/** app_terminated_event {appId}. */
export function appTerminatedEvent(appId: PathId, timestamp: Timestamp): MarathonEvent {
  return { appId, eventType: 'app_terminated_event', timestamp };
}
