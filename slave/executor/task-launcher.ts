/**
 * Starting a task's process: what the command executor needs from "spawn", behind one
 * interface, and the plain Node implementation. The fast one, a long-lived helper process
 * that forks on our behalf, is in perl-launcher.ts; {@link createTaskLauncher} picks it.
 *
 * Why a helper: libuv (Node 20) starts a child with fork(), whose cost grows with the
 * parent's resident memory. From the command executor (~70 MB) one `spawn()` blocked the
 * event loop for ~2.5 ms, a third of the executor's CPU per task; from a ~5 MB perl process
 * a fork costs a tenth of that, and the executor's loop only writes a request to a pipe.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import type { Clock } from '../../sdk/core/clock.js';
import { AgoraError } from '../../sdk/core/errors.js';
import type { Logger } from '../../sdk/core/log.js';
import { PerlTaskLauncher } from './perl-launcher.js';

/** How to start one task process. */
export interface TaskProcessSpec {
  /** Program: a path, or a name looked up in the task environment's PATH. */
  file: string;
  /** Arguments after argv[0]. */
  args: readonly string[];
  /** argv[0]. */
  argv0: string;
  /** Working directory. */
  cwd: string;
  /**
   * Create `cwd` (and its parent) first when missing. The command executor leaves the task
   * sandbox to the launcher when there is nothing to fetch into it: one less blocking file
   * system call on its event loop per task.
   */
  makeCwd?: boolean;
  /** The whole environment of the process. */
  env: Readonly<Record<string, string>>;
  /** Files stdout and stderr are appended to (created when missing). */
  stdoutPath: string;
  stderrPath: string;
}

/** How a task process ended; both null when the status could not be known. */
export interface TaskProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A started task process: it leads its own session and process group (pgid = pid). */
export interface TaskProcess {
  readonly pid: number;
  /** Resolves once the process has ended. */
  readonly exited: Promise<TaskProcessExit>;
}

/** Starts task processes. */
export interface TaskLauncher {
  /**
   * Starts the process in a new session, stdin from /dev/null, stdout and stderr appended
   * to the spec's files. Resolves once it runs the program; rejects with
   * `AGORA_TASK_LAUNCH_FAILED` (the message names the errno, as Node's `spawn X ENOENT`)
   * when it cannot be started.
   */
  launch(spec: TaskProcessSpec): Promise<TaskProcess>;
  /** Releases the launcher's own resources (helper process, timers); started tasks are not touched. */
  close(): void;
}

/** Which launcher {@link createTaskLauncher} builds: `AGORA_TASK_LAUNCHER` = `perl` (default) or `node`. */
export type TaskLauncherKind = 'perl' | 'node';

/** `child_process.spawn` from this process (the fallback; every launch forks the executor). */
export class NodeTaskLauncher implements TaskLauncher {
  launch(spec: TaskProcessSpec): Promise<TaskProcess> {
    let stdoutFd: number | undefined;
    let stderrFd: number | undefined;
    try {
      if (spec.makeCwd === true) mkdirSync(spec.cwd, { recursive: true });
      stdoutFd = openSync(spec.stdoutPath, 'a');
      stderrFd = openSync(spec.stderrPath, 'a');
      const child = spawn(spec.file, [...spec.args], {
        argv0: spec.argv0, cwd: spec.cwd, env: { ...spec.env }, detached: true, stdio: ['ignore', stdoutFd, stderrFd],
      });
      const exited = new Promise<TaskProcessExit>((resolve) => {
        child.once('exit', (code, signal) => resolve({ code, signal }));
      });
      return new Promise<TaskProcess>((resolve, reject) => {
        child.once('spawn', () => resolve({ pid: child.pid!, exited }));
        child.once('error', (err) => reject(new AgoraError('AGORA_TASK_LAUNCH_FAILED', err.message, { cause: err })));
      });
    } catch (err) {
      return Promise.reject(new AgoraError('AGORA_TASK_LAUNCH_FAILED', (err as Error).message, { cause: err }));
    } finally {
      if (stdoutFd !== undefined) closeSync(stdoutFd);
      if (stderrFd !== undefined) closeSync(stderrFd);
    }
  }

  close(): void {
    // Nothing of its own.
  }
}

/** What {@link createTaskLauncher} needs. */
export interface TaskLauncherOptions {
  clock: Clock;
  logger: Logger;
  /** Default: `AGORA_TASK_LAUNCHER` from `env`, else `perl`. */
  kind?: TaskLauncherKind;
  env?: NodeJS.ProcessEnv;
}

/** Parses `AGORA_TASK_LAUNCHER`; throws `AGORA_EXECUTOR_CONFIG` for anything but `perl`/`node`. */
export function taskLauncherKind(value: string | undefined): TaskLauncherKind {
  if (value === undefined || value === '' || value === 'perl') return 'perl';
  if (value === 'node') return 'node';
  throw new AgoraError('AGORA_EXECUTOR_CONFIG', `AGORA_TASK_LAUNCHER must be perl or node, got ${JSON.stringify(value)}`);
}

/** The launcher the command executor uses: the perl helper (falling back to Node's spawn), or Node's spawn. */
export function createTaskLauncher(o: TaskLauncherOptions): TaskLauncher {
  const kind = o.kind ?? taskLauncherKind((o.env ?? process.env).AGORA_TASK_LAUNCHER);
  if (kind === 'node') return new NodeTaskLauncher();
  return new PerlTaskLauncher({ clock: o.clock, logger: o.logger, fallback: new NodeTaskLauncher() });
}
