/**
 * Mesos task states → Marathon instance conditions (Marathon's `TaskCondition`/
 * `Condition`), and which conditions count as alive. Pure.
 *
 * @module
 */
import type { TaskState } from '../../../sdk/protocol/index.js';
import type { Instance, InstanceCondition } from '../model/types.js';

const BY_STATE: Record<TaskState, InstanceCondition> = {
  TASK_STAGING: 'Staging',
  TASK_STARTING: 'Starting',
  TASK_RUNNING: 'Running',
  TASK_KILLING: 'Killing',
  TASK_FINISHED: 'Finished',
  TASK_FAILED: 'Failed',
  TASK_KILLED: 'Killed',
  TASK_ERROR: 'Error',
  TASK_LOST: 'Unreachable',
  TASK_UNREACHABLE: 'Unreachable',
  TASK_DROPPED: 'Dropped',
  TASK_GONE: 'Gone',
  TASK_GONE_BY_OPERATOR: 'Gone',
  TASK_UNKNOWN: 'Unknown',
};

/** The condition a Mesos task state maps to. */
export function conditionOf(state: TaskState): InstanceCondition {
  return BY_STATE[state];
}

const TERMINAL: ReadonlySet<InstanceCondition> = new Set(['Finished', 'Failed', 'Killed', 'Error', 'Dropped', 'Gone', 'Unknown']);

/** Conditions after which the instance's task is gone for good (the instance is expunged). */
export function isTerminalCondition(c: InstanceCondition): boolean {
  return TERMINAL.has(c);
}

/** Conditions of a failure that raises the launch backoff (not kills Marathon asked for). */
export function isFailureCondition(c: InstanceCondition): boolean {
  return c === 'Failed' || c === 'Error' || c === 'Finished' || c === 'Killed' || c === 'Dropped' || c === 'Gone';
}

/**
 * Counts towards the app's instances: meant to run and not known dead. An unreachable
 * instance counts until it turns inactive (unreachableStrategy.inactiveAfterSeconds).
 */
export function isActive(i: Instance): boolean {
  return i.goal === 'Running' && !isTerminalCondition(i.condition) && i.condition !== 'UnreachableInactive';
}

/** Has a task on an agent (something to kill or reconcile). */
export function hasTask(i: Instance): boolean {
  return i.condition !== 'Scheduled' && i.agentId !== undefined;
}
