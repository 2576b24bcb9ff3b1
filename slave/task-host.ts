/**
 * What runs a slave's tasks, as the master's commands reach it: the executor manager
 * (real executors, executors.ts) or the simulated task runner (sim/task-runner.ts). The
 * slave and the emulated agents dispatch the master's task commands through
 * {@link dispatchTaskCommand}, so both take the same path.
 *
 * @module
 */
import type { AgentMessage, AgentTask, StatusUpdate } from '../sdk/protocol/agent.js';
import type { AgentInfo, ExecutorInfo, FrameworkInfo, KillPolicy, TaskGroupInfo, TaskInfo } from '../sdk/protocol/mesos.js';
import type { MasterCommand } from './master-link.js';
import type { SlaveFramework } from './model.js';
import type { StatusUpdateManager } from './status-updates.js';

/** The master-facing surface of whatever runs tasks. */
export interface TaskHost {
  /** Frameworks with live executors, by id (rendered by `/state`). */
  readonly frameworks: Map<string, SlaveFramework>;
  readonly completedFrameworks: SlaveFramework[];
  runTask(frameworkInfo: FrameworkInfo, task: TaskInfo): void;
  runTaskGroup(frameworkInfo: FrameworkInfo, executor: ExecutorInfo, group: TaskGroupInfo): void;
  killTask(frameworkId: string, taskId: string, killPolicy?: KillPolicy): void;
  shutdownFramework(frameworkId: string): void;
  shutdownExecutorById(frameworkId: string, executorId: string): void;
  frameworkMessage(frameworkId: string, executorId: string, data: string): void;
  /** Kills everything (the master shut the agent down or gave it a new id). */
  shutdownAll(): void;
  /** The head of a task's update stream was acknowledged. */
  onAcknowledged(update: StatusUpdate): void;
  /** Frameworks and live tasks for `reregister`. */
  reregistrationState(): { frameworks: FrameworkInfo[]; tasks: AgentTask[] };
}

/** The commands {@link dispatchTaskCommand} leaves to the caller (they concern the agent, not its tasks). */
export type AgentLevelCommand = Extract<MasterCommand, { type: 'shutdown' | 'error' }>;

/**
 * Hands a task command of the master to `host` (acks to `statusUpdates`). Returns the
 * command when it concerns the agent itself (`shutdown`, `error`): the caller handles it.
 */
export function dispatchTaskCommand(host: TaskHost, statusUpdates: StatusUpdateManager, msg: MasterCommand): AgentLevelCommand | undefined {
  switch (msg.type) {
    case 'run_task':
      host.runTask(msg.framework, msg.task);
      return undefined;
    case 'run_task_group':
      host.runTaskGroup(msg.framework, msg.executor, msg.task_group);
      return undefined;
    case 'kill_task':
      host.killTask(msg.framework_id.value, msg.task_id.value, msg.kill_policy);
      return undefined;
    case 'shutdown_framework':
      host.shutdownFramework(msg.framework_id.value);
      return undefined;
    case 'shutdown_executor':
      host.shutdownExecutorById(msg.framework_id.value, msg.executor_id.value);
      return undefined;
    case 'status_update_ack':
      statusUpdates.acknowledge(msg.framework_id.value, msg.task_id.value, msg.uuid);
      return undefined;
    case 'framework_to_executor':
      host.frameworkMessage(msg.framework_id.value, msg.executor_id.value, msg.data);
      return undefined;
    case 'shutdown':
    case 'error':
      return msg;
    default: {
      const never: never = msg;
      return never;
    }
  }
}

/**
 * The message a slave (re)registers with: `register` with no agent id yet, else `reregister`
 * with what it runs and the head of each task's unacknowledged updates (as Mesos's agent
 * sends them: later updates follow once those are acknowledged).
 */
export function registrationMessage(
  agentId: string | undefined, agentInfo: AgentInfo, version: string, host: TaskHost, pendingHeads: () => StatusUpdate[],
): AgentMessage {
  if (agentId === undefined) return { type: 'register', agent_info: agentInfo, version };
  const { frameworks, tasks } = host.reregistrationState();
  return {
    type: 'reregister',
    agent_id: { value: agentId },
    agent_info: agentInfo,
    version,
    frameworks,
    tasks,
    unacknowledged_updates: pendingHeads(),
  };
}

