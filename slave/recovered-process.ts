/**
 * An executor process of a previous run of the slave. It is not a child of this process,
 * so no `exit` event will come: its pid is polled (through the Clock) and the process
 * counts as gone when the pid disappears, turns zombie or belongs to another process (its
 * start time changed).
 *
 * @module
 */
import type { Clock, TimerHandle } from '../sdk/core/clock.js';
import type { ContainerProcess, ExitInfo } from './containerizer.js';
import { descendantPids, readProcessIdentity, signalTree } from './process-tree.js';
import { isSameProcess, type ProcessIdentity } from './recovery-plan.js';

/** How often a recovered executor's pid is checked (its exit is noticed within this). */
export const RECOVERED_PROCESS_POLL_MS = 1000;

/** The exit of a process that was not our child: its status is unknown. */
export const UNKNOWN_EXIT: ExitInfo = { code: null, signal: null, status: 0 };

/** A {@link ContainerProcess} for a re-attached pid, and how to stop watching it. */
export interface RecoveredProcess {
  process: ContainerProcess;
  /** Stops polling (the slave is closing); `exited` then never resolves. */
  stopWatching(): void;
  /** Checks the pid now (after a kill, not to wait a whole poll interval). */
  checkNow(): void;
}

/**
 * Watches `pid` (started at `startTime` clock ticks after boot, when known).
 * `identity` is injectable for tests; by default it reads `/proc/<pid>/stat`.
 */
export function watchRecoveredProcess(
  pid: number,
  startTime: number | undefined,
  clock: Clock,
  o: { pollMs?: number; identity?: (pid: number) => ProcessIdentity | undefined } = {},
): RecoveredProcess {
  const identity = o.identity ?? readProcessIdentity;
  let resolveExit!: (e: ExitInfo) => void;
  const exited = new Promise<ExitInfo>((resolve) => { resolveExit = resolve; });
  let timer: TimerHandle | undefined;
  const check = (): void => {
    if (timer === undefined) return;
    if (isSameProcess({ pid, pid_start_time: startTime }, identity(pid))) return;
    timer.cancel();
    timer = undefined;
    resolveExit(UNKNOWN_EXIT);
  };
  timer = clock.setInterval(check, o.pollMs ?? RECOVERED_PROCESS_POLL_MS);
  const alive = (): boolean => timer !== undefined;
  return {
    process: {
      pid,
      exited,
      signalTree: (signal) => { if (alive()) signalTree(pid, signal); },
      treePids: () => (alive() ? [pid, ...descendantPids(pid)] : []),
    },
    stopWatching: () => {
      timer?.cancel();
      timer = undefined;
    },
    checkNow: check,
  };
}
