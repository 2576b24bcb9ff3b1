/**
 * The master's in-memory state: agents, frameworks, tasks and outstanding offers.
 *
 * Plain data only (no sockets, no timers): the behaviour modules mutate it, the operator
 * endpoints render it, and the allocator reads a snapshot of it. Connections live beside
 * it, keyed by the same ids (see master/scheduler-api and master/agent-endpoint).
 *
 * @module
 */
import type { AgentChangeLog } from './agent-changes.js';
import type {
  AgentInfo, Attribute, ExecutorInfo, FrameworkInfo, MasterInfo, Resource, TaskInfo, TaskState,
  TaskStatus,
} from '../sdk/protocol/index.js';

/** A registered slave. */
export interface AgentRecord {
  /** `<masterId>-S<n>`. */
  id: string;
  info: AgentInfo;
  hostname: string;
  /** Port the slave's own HTTP server listens on (its operator and executor API). */
  port: number;
  /** IP the slave connected from / advertises. */
  ip: string;
  attributes: Attribute[];
  /** Everything the slave has. */
  total: Resource[];
  /** Resources held by tasks and executors (launched, not yet terminal). */
  used: Resource[];
  /** Resources in outstanding offers. */
  offered: Resource[];
  version: string;
  /** ms since epoch. */
  registeredAt: number;
  reregisteredAt?: number;
  /** False while disconnected (between socket loss and removal). */
  active: boolean;
  /** Pings sent without a pong since the last pong. */
  missedPings: number;
  /**
   * True while the registry write marking the agent unreachable is in flight (Mesos
   * `slaves.markingUnreachable`): the agent is inactive and its tasks' updates wait for the
   * write. A re-registration meanwhile clears it and the agent stays.
   */
  markingUnreachable?: boolean;
}

/** A framework known to the master (connected or within its failover timeout). */
export interface FrameworkRecord {
  /** `<masterId>-<nnnn>`. */
  id: string;
  info: FrameworkInfo;
  /** FrameworkInfo.roles, or [FrameworkInfo.role ?? '*'] without MULTI_ROLE. */
  roles: string[];
  capabilities: Set<string>;
  /** True while a SUBSCRIBE stream is open. */
  connected: boolean;
  /** Current `Mesos-Stream-Id` (uuid), rotated on every SUBSCRIBE. */
  streamId: string;
  registeredAt: number;
  reregisteredAt?: number;
  unregisteredAt?: number;
  /** Roles for which offers are suppressed (SUPPRESS call / subscribe.suppressed_roles). */
  suppressedRoles: Set<string>;
  /** ms since epoch at which a disconnected framework is removed; absent while connected. */
  failoverDeadline?: number;
  /** Sum of resources of the framework's non-terminal tasks and executors. */
  used: Resource[];
  /** Sum of resources in the framework's outstanding offers. */
  offered: Resource[];
  /** Executors the framework runs, per agent id → executor id → info. */
  executors: Map<string, Map<string, ExecutorInfo>>;
}

/** A task the master knows about. */
export interface TaskRecord {
  frameworkId: string;
  agentId: string;
  executorId?: string;
  info: TaskInfo;
  resources: Resource[];
  state: TaskState;
  /** Every status the master saw for the task, oldest first (bounded). */
  statuses: TaskStatus[];
  /** Latest status (what RECONCILE answers with). */
  latestStatus?: TaskStatus;
  /** uuid (base64) of the latest update forwarded and not yet acknowledged. */
  unacknowledgedUuid?: string;
  /**
   * ms since epoch at which the task's agent was marked unreachable; set while the task is
   * TASK_UNREACHABLE (Mesos `Framework::unreachableTasks`). Such a task holds no resources
   * and is restored when its agent re-registers.
   */
  unreachableSince?: number;
}

/** An offer sent to a framework and not yet accepted, declined or rescinded. */
export interface OfferRecord {
  /** `<masterId>-O<n>`. */
  id: string;
  frameworkId: string;
  agentId: string;
  role: string;
  /** As the framework gets them: each with `allocation_info.role`. */
  resources: Resource[];
  /**
   * The same without `allocation_info`: what the offer adds to its agent's and framework's
   * `offered`, takes away again when it goes, and what a DECLINE's filter holds. Made once,
   * shared: do not mutate.
   */
  unallocated: readonly Resource[];
  createdAt: number;
}

/** Counters behind `/metrics/snapshot` (Mesos metric names are built from them). */
export interface MasterCounters {
  tasksFinished: number;
  tasksFailed: number;
  tasksKilled: number;
  tasksLost: number;
  tasksError: number;
  tasksDropped: number;
  tasksGone: number;
  tasksUnreachable: number;
  slaveRegistrations: number;
  slaveReregistrations: number;
  slaveRemovals: number;
  frameworksRemoved: number;
  offersSent: number;
  offersDeclined: number;
  offersAccepted: number;
  offersRescinded: number;
  messagesReceived: number;
  invalidStatusUpdates: number;
  validStatusUpdates: number;
  invalidCalls: number;
}

export function emptyCounters(): MasterCounters {
  return {
    tasksFinished: 0, tasksFailed: 0, tasksKilled: 0, tasksLost: 0, tasksError: 0, tasksDropped: 0,
    tasksGone: 0, tasksUnreachable: 0, slaveRegistrations: 0, slaveReregistrations: 0, slaveRemovals: 0,
    frameworksRemoved: 0, offersSent: 0, offersDeclined: 0, offersAccepted: 0, offersRescinded: 0,
    messagesReceived: 0, invalidStatusUpdates: 0, validStatusUpdates: 0, invalidCalls: 0,
  };
}

/** Bound on how many terminal tasks and removed frameworks are remembered for the operator API. */
export const MAX_COMPLETED_TASKS = 1000;
export const MAX_COMPLETED_FRAMEWORKS = 50;
/** Unreachable tasks remembered per framework, oldest dropped first (Mesos `--max_unreachable_tasks_per_framework`). */
export const MAX_UNREACHABLE_TASKS_PER_FRAMEWORK = 1000;

export interface MasterState {
  info: MasterInfo;
  /** ms since epoch. */
  startedAt: number;
  /** Elected leader time (standalone: start time). */
  electedAt: number;
  /** Leader's MasterInfo when this master is a standby (HA issue); undefined when leading or unknown. */
  leader?: MasterInfo;
  agents: Map<string, AgentRecord>;
  frameworks: Map<string, FrameworkRecord>;
  /**
   * frameworkId → taskId → task; non-terminal tasks (including TASK_UNREACHABLE ones of
   * agents marked unreachable) plus terminal ones not yet acknowledged.
   */
  tasks: Map<string, Map<string, TaskRecord>>;
  /** Most recent terminal tasks, oldest first, at most MAX_COMPLETED_TASKS. */
  completedTasks: TaskRecord[];
  /** Removed frameworks, oldest first, at most MAX_COMPLETED_FRAMEWORKS. */
  completedFrameworks: FrameworkRecord[];
  offers: Map<string, OfferRecord>;
  /** Ids of agents removed as unreachable (time in ms), for reconciliation answers. */
  unreachableAgents: Map<string, number>;
  /**
   * Ids of agents the registry GC forgot (time in ms): one that comes back is told to shut
   * down its tasks and register afresh (registry `gone`).
   */
  goneAgents: Map<string, number>;
  counters: MasterCounters;
  /**
   * Reports every change of an agent's total, used, offered or activity, and of the registry's
   * membership, to the allocation loop (agent-changes.ts). Installed by the loop; absent in a
   * state no loop follows (tests of pure logic).
   */
  agentChanges?: AgentChangeLog;
}
