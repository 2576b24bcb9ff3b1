/**
 * The slave's `/state` document in the shape of the Mesos agent's `/state` endpoint
 * (`slave/http.cpp` + `common/http.cpp` JSON models), rendered from the slave's model.
 * Pure: a function of a snapshot.
 *
 * @module
 */
import type { Attribute, MasterInfo, Resource, TaskStatus } from '../sdk/protocol/mesos.js';
import { coalesceRanges, reservationRole, roundScalar } from '../sdk/resources/index.js';
import type { SlaveExecutor, SlaveFramework, SlaveTask } from './model.js';
import type { SlaveConfig } from './options.js';

type Json = Record<string, unknown>;

/**
 * Mesos's resource object: scalars summed by name (cpus, mem, disk, gpus always present),
 * ranges as `"[31000-32000]"` (`"[1-2, 5-9]"` for several), sets as `"{a, b}"`.
 */
export function resourcesObject(rs: readonly Resource[]): Record<string, number | string> {
  const out: Record<string, number | string> = { cpus: 0, disk: 0, gpus: 0, mem: 0 };
  const ranges = new Map<string, { begin: number; end: number }[]>();
  const sets = new Map<string, Set<string>>();
  for (const r of rs) {
    switch (r.type) {
      case 'SCALAR':
        out[r.name] = roundScalar(Number(out[r.name] ?? 0) + (r.scalar?.value ?? 0));
        break;
      case 'RANGES':
        ranges.set(r.name, [...(ranges.get(r.name) ?? []), ...(r.ranges?.range ?? [])]);
        break;
      case 'SET': {
        const s = sets.get(r.name) ?? new Set<string>();
        for (const i of r.set?.item ?? []) s.add(i);
        sets.set(r.name, s);
        break;
      }
      case 'TEXT':
        break;
    }
  }
  for (const [name, rr] of ranges) out[name] = `[${coalesceRanges(rr).map((x) => `${x.begin}-${x.end}`).join(', ')}]`;
  for (const [name, s] of sets) out[name] = `{${[...s].sort().join(', ')}}`;
  return out;
}

/** Mesos's attributes object: `{ name: value }` (scalars as numbers, ranges/sets as text). */
export function attributesObject(as: readonly Attribute[]): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const a of as) {
    switch (a.type) {
      case 'SCALAR': out[a.name] = a.scalar?.value ?? 0; break;
      case 'TEXT': out[a.name] = a.text?.value ?? ''; break;
      case 'RANGES': out[a.name] = `[${(a.ranges?.range ?? []).map((x) => `${x.begin}-${x.end}`).join(', ')}]`; break;
      case 'SET': out[a.name] = `{${(a.set?.item ?? []).join(', ')}}`; break;
    }
  }
  return out;
}

/** Reserved resources grouped by role (Mesos `reserved_resources`). */
export function reservedByRole(rs: readonly Resource[]): { reserved: Map<string, Resource[]>; unreserved: Resource[] } {
  const reserved = new Map<string, Resource[]>();
  const unreserved: Resource[] = [];
  for (const r of rs) {
    const role = reservationRole(r);
    if (role === '*') unreserved.push(r);
    else reserved.set(role, [...(reserved.get(role) ?? []), r]);
  }
  return { reserved, unreserved };
}

function statusJson(s: TaskStatus): Json {
  return {
    state: s.state,
    timestamp: s.timestamp,
    ...(s.healthy !== undefined ? { healthy: s.healthy } : {}),
    ...(s.labels ? { labels: s.labels.labels ?? [] } : {}),
    ...(s.container_status ? { container_status: s.container_status } : {}),
  };
}

function taskJson(t: SlaveTask, agentId: string, role: string | undefined): Json {
  return {
    id: t.info.task_id.value,
    name: t.info.name,
    framework_id: t.frameworkId,
    executor_id: t.executorId,
    slave_id: agentId,
    agent_id: agentId,
    state: t.state,
    resources: resourcesObject(t.info.resources ?? []),
    ...(role !== undefined ? { role } : {}),
    statuses: t.statuses.map(statusJson),
    ...(t.info.labels ? { labels: t.info.labels.labels ?? [] } : {}),
    ...(t.info.discovery ? { discovery: t.info.discovery } : {}),
    ...(t.info.container ? { container: t.info.container } : {}),
  };
}

function executorJson(e: SlaveExecutor, agentId: string, role: string | undefined): Json {
  const tasks = [...e.tasks.values()];
  const taskResources = tasks.filter((t) => t.phase !== 'terminated').flatMap((t) => t.info.resources ?? []);
  return {
    id: e.id,
    name: e.info.name ?? '',
    source: e.info.source ?? '',
    container: e.containerId,
    directory: e.directory,
    resources: resourcesObject([...(e.info.resources ?? []), ...taskResources]),
    ...(role !== undefined ? { role } : {}),
    type: e.kind === 'command' ? 'COMMAND' : e.kind === 'default' ? 'DEFAULT' : 'CUSTOM',
    ...(e.info.labels ? { labels: e.info.labels.labels ?? [] } : {}),
    tasks: tasks.filter((t) => t.phase === 'launched').map((t) => taskJson(t, agentId, role)),
    queued_tasks: tasks.filter((t) => t.phase === 'queued').map((t) => taskJson(t, agentId, role)),
    // Mesos lists terminated (unacknowledged) tasks with the completed ones.
    completed_tasks: [...tasks.filter((t) => t.phase === 'terminated'), ...e.completedTasks].map((t) => taskJson(t, agentId, role)),
  };
}

function frameworkJson(f: SlaveFramework, agentId: string): Json {
  const role = f.info.role ?? f.info.roles?.[0] ?? '*';
  return {
    id: f.id,
    name: f.info.name,
    user: f.info.user,
    hostname: f.info.hostname ?? '',
    role,
    ...(f.info.roles ? { roles: f.info.roles } : {}),
    checkpoint: f.info.checkpoint ?? false,
    failover_timeout: f.info.failover_timeout ?? 0,
    principal: f.info.principal,
    capabilities: (f.info.capabilities ?? []).map((c) => c.type),
    executors: [...f.executors.values(), ...f.retiring].map((e) => executorJson(e, agentId, role)),
    completed_executors: f.completedExecutors.map((e) => executorJson(e, agentId, role)),
  };
}

/** Everything `/state` is rendered from. */
export interface SlaveStateSnapshot {
  config: SlaveConfig;
  agentId: string | undefined;
  /** The slave's HTTP port (after binding). */
  port: number;
  version: string;
  startTimeMs: number;
  masterInfo: MasterInfo | undefined;
  frameworks: Iterable<SlaveFramework>;
  completedFrameworks: Iterable<SlaveFramework>;
}

/** Renders `/state`. */
export function renderState(s: SlaveStateSnapshot): Json {
  const agentId = s.agentId ?? '';
  const { reserved, unreserved } = reservedByRole(s.config.resources);
  const reservedObj: Record<string, unknown> = {};
  const reservedFull: Record<string, unknown> = {};
  for (const [role, rs] of reserved) {
    reservedObj[role] = resourcesObject(rs);
    reservedFull[role] = rs;
  }
  return {
    version: s.version,
    start_time: s.startTimeMs / 1000,
    id: agentId,
    pid: `slave(1)@${s.config.advertiseIp}:${s.port}`,
    hostname: s.config.hostname,
    port: s.port,
    capabilities: ['MULTI_ROLE', 'HIERARCHICAL_ROLE', 'RESERVATION_REFINEMENT', 'TASK_NO_EXECUTOR'],
    resources: resourcesObject(s.config.resources),
    reserved_resources: reservedObj,
    unreserved_resources: resourcesObject(unreserved),
    reserved_resources_full: reservedFull,
    unreserved_resources_full: unreserved,
    attributes: attributesObject(s.config.attributes),
    master_hostname: s.masterInfo?.hostname ?? s.masterInfo?.address?.hostname ?? s.masterInfo?.address?.ip ?? '',
    flags: {
      master: s.config.masterZk ?? `${s.config.masterHost}:${s.config.masterPort}`,
      port: String(s.port),
      ip: s.config.host,
      advertise_ip: s.config.advertiseIp,
      hostname: s.config.hostname,
      work_dir: s.config.workDir,
      ...(s.config.resourcesSpec !== undefined ? { resources: s.config.resourcesSpec } : {}),
      ...(s.config.attributesSpec !== undefined ? { attributes: s.config.attributesSpec } : {}),
      executor_registration_timeout: `${s.config.executorRegistrationTimeoutMs / 1000}secs`,
      executor_shutdown_grace_period: `${s.config.executorShutdownGraceMs / 1000}secs`,
      // Not a Mesos flag (its executors are never kept idle); ours, named in Mesos's style.
      executor_idle_timeout: `${s.config.executorIdleTimeoutMs / 1000}secs`,
      recovery_timeout: `${s.config.recoveryTimeoutMs / 1000}secs`,
      executor_reregistration_timeout: `${s.config.executorReregistrationTimeoutMs / 1000}secs`,
      recover: s.config.recover,
      strict: 'false',
    },
    frameworks: [...s.frameworks].map((f) => frameworkJson(f, agentId)),
    completed_frameworks: [...s.completedFrameworks].map((f) => frameworkJson(f, agentId)),
  };
}
