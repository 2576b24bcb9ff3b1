/**
 * Turning how a task's process ended into its terminal state and message (pure), with the
 * wording of Mesos's command executor (`WSTRINGIFY` in stout): "Command exited with status
 * N", "Command terminated with signal SIGX".
 *
 * @module
 */
import type { TaskState } from '../../sdk/protocol/mesos.js';

export interface ProcessEnding {
  /** Exit code, or null when a signal ended the process. */
  code: number | null;
  /** Signal name ('SIGTERM'), or null. */
  signal: NodeJS.Signals | null;
  /** True when the executor was asked to kill the task. */
  killed: boolean;
}

export interface TerminalOutcome {
  state: Extract<TaskState, 'TASK_FINISHED' | 'TASK_FAILED' | 'TASK_KILLED'>;
  message: string;
}

/** Describes an ending the way Mesos does. */
export function describeEnding(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal !== null) return `Command terminated with signal ${signal}`;
  return `Command exited with status ${code ?? 'unknown'}`;
}

/**
 * A killed task is TASK_KILLED whatever its exit; otherwise status 0 is TASK_FINISHED and
 * anything else TASK_FAILED (Mesos `CommandExecutor::reaped`).
 */
export function terminalOutcome(ending: ProcessEnding): TerminalOutcome {
  const message = describeEnding(ending.code, ending.signal);
  if (ending.killed) return { state: 'TASK_KILLED', message };
  if (ending.signal === null && ending.code === 0) return { state: 'TASK_FINISHED', message };
  return { state: 'TASK_FAILED', message };
}
