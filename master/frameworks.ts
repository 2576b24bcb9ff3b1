/**
 * Framework lifecycle (Mesos `Master::subscribe`, `failoverFramework`, `disconnect`,
 * `removeFramework`): subscribe or resubscribe on a new stream, disconnect with a failover
 * timeout, removal (teardown or timeout) that kills the framework's tasks on every slave.
 *
 * @module
 */
import type { FrameworkInfo, SchedulerCall } from '../sdk/protocol/index.js';
import { releaseUsed } from './accounting.js';
import type { EventStream } from './connections.js';
import type { MasterContext } from './context.js';
import { events, masterStatus } from './events.js';
import { validateId } from './launch-validation.js';
import { MAX_COMPLETED_FRAMEWORKS, type FrameworkRecord } from './model.js';
import { offersOfFramework, removeOffer } from './offers.js';
import { retireTasks } from './tasks.js';

/** A stream the master can also hear the client hang up on. */
export interface SubscriberStream extends EventStream {
  onPeerClose(listener: () => void): void;
}

/** FrameworkInfo.roles for MULTI_ROLE frameworks, else [role ?? '*']. */
export function rolesOf(info: FrameworkInfo): string[] {
  const multiRole = (info.capabilities ?? []).some((c) => c.type === 'MULTI_ROLE');
  if (multiRole) return [...new Set(info.roles ?? [])];
  return [info.role ?? '*'];
}

/** Mesos `roles::validate`. */
export function validateRole(role: string): string | undefined {
  if (role === '') return 'Empty role name is invalid';
  if (role === '*') return undefined;
  if (role === '.' || role === '..') return `Role '${role}' cannot be '.' or '..'`;
  if (role.startsWith('-')) return `Role '${role}' cannot start with '-'`;
  if (role.startsWith('/') || role.endsWith('/')) return `Role '${role}' cannot start or end with '/'`;
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f\\]/.test(role)) return `Role '${role}' cannot contain whitespace, control characters or backslashes`;
  for (const part of role.split('/')) {
    if (part === '' || part === '.' || part === '..' || part === '*') return `Role '${role}' has an invalid path component '${part}'`;
  }
  return undefined;
}

/** Mesos `validation::framework::validate` (the parts that apply here). */
export function validateFrameworkInfo(info: FrameworkInfo): string | undefined {
  if (info.id !== undefined) {
    const idError = validateId('FrameworkID', info.id.value);
    if (idError) return idError;
  }
  const multiRole = (info.capabilities ?? []).some((c) => c.type === 'MULTI_ROLE');
  if (multiRole && info.role !== undefined) return "'FrameworkInfo.role' must not be set when the framework is MULTI_ROLE capable";
  if (!multiRole && (info.roles ?? []).length > 0) return "'FrameworkInfo.roles' must not be set when the framework is not MULTI_ROLE capable";
  for (const role of multiRole ? info.roles ?? [] : [info.role ?? '*']) {
    const error = validateRole(role);
    if (error) return error;
  }
  return undefined;
}

function capabilitiesOf(info: FrameworkInfo): Set<string> {
  return new Set((info.capabilities ?? []).map((c) => c.type));
}

/** Recovers a framework's outstanding offers without RESCIND (its scheduler is gone or new). */
function recoverOffers(ctx: MasterContext, frameworkId: string): void {
  for (const offer of offersOfFramework(ctx.state, frameworkId)) removeOffer(ctx, offer.id, { reallocate: false });
}

/**
 * SUBSCRIBE: a new framework (id `<masterId>-NNNN`), a known one resubscribing (the old
 * stream gets ERROR "Framework failed over" and is closed, outstanding offers are
 * recovered), or an unknown id (re-registration after a master failover: accepted as that id).
 * `mintedId` is the id for a new framework when the master minted (and persisted) it first.
 */
export function subscribeFramework(ctx: MasterContext, call: SchedulerCall, stream: SubscriberStream, mintedId?: string): void {
  const { state, clock, conns, timers } = ctx;
  const subscribe = call.subscribe!;
  const info = subscribe.framework_info;
  const error = validateFrameworkInfo(info);
  if (error) {
    stream.send(events.error(error));
    stream.close();
    return;
  }
  const requestedId = info.id?.value;
  if (requestedId !== undefined && !state.frameworks.has(requestedId) && state.completedFrameworks.some((f) => f.id === requestedId)) {
    stream.send(events.error('Framework has been removed'));
    stream.close();
    return;
  }
  const now = clock.now();
  const id = requestedId ?? mintedId ?? ctx.ids.frameworkId();
  const roles = rolesOf(info);
  const suppressed = new Set((subscribe.suppressed_roles ?? []).filter((r) => roles.includes(r)));
  let fw = state.frameworks.get(id);
  if (fw === undefined) {
    fw = {
      id,
      info: { ...info, id: { value: id } },
      roles,
      capabilities: capabilitiesOf(info),
      connected: true,
      streamId: stream.streamId,
      registeredAt: now,
      suppressedRoles: suppressed,
      used: [],
      offered: [],
      executors: new Map(),
    };
    state.frameworks.set(id, fw);
    ctx.logger.info({ frameworkId: id, name: info.name }, 'framework subscribed');
  } else {
    const old = conns.frameworkStreams.get(id);
    if (old !== undefined && !old.closed) {
      old.send(events.error('Framework failed over'));
      old.close();
    }
    recoverOffers(ctx, id);
    fw.info = { ...info, id: { value: id } };
    fw.roles = roles;
    fw.capabilities = capabilitiesOf(info);
    fw.connected = true;
    fw.streamId = stream.streamId;
    fw.reregisteredAt = now;
    fw.unregisteredAt = undefined;
    fw.failoverDeadline = undefined;
    fw.suppressedRoles = suppressed;
    timers.cancel(`failover:${id}`);
    ctx.logger.info({ frameworkId: id, name: info.name }, 'framework resubscribed');
  }
  conns.frameworkStreams.set(id, stream);
  stream.onPeerClose(() => disconnectFramework(ctx, id, stream));
  stream.send(events.subscribed(id, ctx.config.heartbeatIntervalMs / 1000, state.info));
  timers.interval(`heartbeat:${id}`, ctx.config.heartbeatIntervalMs, () => {
    if (!conns.sendEvent(id, events.heartbeat())) timers.cancel(`heartbeat:${id}`);
  });
  ctx.requestAllocation();
}

/**
 * The framework's stream closed: it stays (tasks keep running) for failover_timeout seconds
 * (Mesos default 0), its offers are recovered; then it is removed.
 */
export function disconnectFramework(ctx: MasterContext, frameworkId: string, stream: EventStream): void {
  const { state, conns, timers, clock } = ctx;
  if (conns.frameworkStreams.get(frameworkId) !== stream) return; // an older, replaced stream
  conns.frameworkStreams.delete(frameworkId);
  timers.cancel(`heartbeat:${frameworkId}`);
  const fw = state.frameworks.get(frameworkId);
  if (fw === undefined) return;
  const now = clock.now();
  fw.connected = false;
  fw.unregisteredAt = now;
  recoverOffers(ctx, frameworkId);
  const timeoutMs = (fw.info.failover_timeout ?? 0) * 1000;
  fw.failoverDeadline = now + timeoutMs;
  ctx.registry?.frameworkDisconnected(frameworkId, fw.failoverDeadline);
  ctx.logger.info({ frameworkId, failoverTimeoutMs: timeoutMs }, 'framework disconnected');
  timers.timeout(`failover:${frameworkId}`, timeoutMs, () => {
    ctx.logger.info({ frameworkId }, 'framework failover timeout elapsed; removing');
    removeFramework(ctx, frameworkId);
  });
  ctx.requestAllocation();
}

/**
 * Removes a framework (TEARDOWN, failover timeout): its offers are recovered, every slave
 * gets `shutdown_framework`, its tasks become TASK_KILLED (REASON_FRAMEWORK_REMOVED) and go
 * to completedTasks, the framework to completedFrameworks, its stream is closed.
 */
export function removeFramework(ctx: MasterContext, frameworkId: string): void {
  const { state, conns, timers, clock } = ctx;
  const fw = state.frameworks.get(frameworkId);
  if (fw === undefined) return;
  const now = clock.now();
  timers.cancel(`failover:${frameworkId}`);
  timers.cancel(`heartbeat:${frameworkId}`);
  recoverOffers(ctx, frameworkId);
  for (const agentId of conns.agentLinks.keys()) {
    conns.sendToAgent(agentId, { type: 'shutdown_framework', framework_id: { value: frameworkId } });
  }
  const message = `Framework ${frameworkId} removed`;
  retireTasks(state, frameworkId, [...(state.tasks.get(frameworkId)?.values() ?? [])], (task) => masterStatus({
    taskId: task.info.task_id.value,
    state: 'TASK_KILLED',
    reason: 'REASON_FRAMEWORK_REMOVED',
    message,
    agentId: task.agentId,
    executorId: task.executorId,
    now,
  }));
  for (const [agentId, executors] of fw.executors) {
    for (const executor of executors.values()) releaseUsed(state, frameworkId, agentId, executor.resources ?? []);
  }
  fw.executors.clear();
  ctx.filters.clearFramework(frameworkId);
  fw.connected = false;
  fw.unregisteredAt = now;
  fw.failoverDeadline = undefined;
  state.frameworks.delete(frameworkId);
  state.completedFrameworks.push(fw);
  if (state.completedFrameworks.length > MAX_COMPLETED_FRAMEWORKS) {
    state.completedFrameworks.splice(0, state.completedFrameworks.length - MAX_COMPLETED_FRAMEWORKS);
  }
  state.counters.frameworksRemoved++;
  ctx.registry?.frameworkRemoved(frameworkId);
  const stream = conns.frameworkStreams.get(frameworkId);
  conns.frameworkStreams.delete(frameworkId);
  stream?.close();
  ctx.logger.info({ frameworkId }, 'framework removed');
  ctx.requestAllocation();
}

/**
 * UPDATE_FRAMEWORK: new FrameworkInfo (and suppressed roles); offers for roles the
 * framework left are rescinded. Returns an error text (→ 400) or undefined.
 */
export function updateFramework(
  ctx: MasterContext,
  fw: FrameworkRecord,
  info: FrameworkInfo,
  suppressedRoles: string[] | undefined,
): string | undefined {
  const error = validateFrameworkInfo(info);
  if (error) return error;
  if (info.user !== fw.info.user && fw.info.user !== undefined && info.user !== undefined) {
    // Mesos allows no change of user for a running framework.
    return `Updating 'FrameworkInfo.user' is unsupported (from '${fw.info.user}' to '${info.user}')`;
  }
  fw.info = { ...info, id: { value: fw.id } };
  fw.roles = rolesOf(info);
  fw.capabilities = capabilitiesOf(info);
  fw.suppressedRoles = new Set((suppressedRoles ?? [...fw.suppressedRoles]).filter((r) => fw.roles.includes(r)));
  for (const offer of offersOfFramework(ctx.state, fw.id)) {
    if (!fw.roles.includes(offer.role)) removeOffer(ctx, offer.id, { rescind: true, reallocate: false });
  }
  ctx.requestAllocation();
  return undefined;
}
