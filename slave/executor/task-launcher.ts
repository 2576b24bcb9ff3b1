/**
 * Starting a task's process: what the command executor needs from "spawn", behind one
 * interface, and the plain Node implementation. The fast ones, a long-lived helper process
 * that starts tasks on our behalf (helper-launcher.ts: the native helper where it was
 * built, else the perl one), are what {@link createTaskLauncher} picks.
 *
 * Why a helper: libuv (Node 20) starts a child with fork(), whose cost grows with the
 * parent's resident memory. From the command executor (~70 MB) one `spawn()` blocked the
 * event loop for ~2.5 ms, a third of the executor's CPU per task; from a ~5 MB perl process
 * a fork costs a tenth of that, and the executor's loop only writes a request to a pipe.
 * The native helper vforks: no copy at all, and a child that runs no interpreter before
 * its exec.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import type { Clock } from '../../sdk/core/clock.js';
import { AgoraError } from '../../sdk/core/errors.js';
import type { Logger } from '../../sdk/core/log.js';
import { HelperTaskLauncher } from './helper-launcher.js';
import { nativeHelper, nativeLauncherBuilt } from './native-launcher.js';
import { perlHelper } from './perl-launcher.js';

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
  /**
   * The launcher already sent SIGKILL to what was left of the process's group when it reaped
   * it (the helpers do), so the caller need not.
   */
  groupKilled?: boolean;
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

/**
 * Which launcher {@link createTaskLauncher} builds (`AGORA_TASK_LAUNCHER`): `native` (the
 * default where it was built), `perl` (the default otherwise) or `node`.
 */
export type TaskLauncherKind = 'native' | 'perl' | 'node';

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
  /** Default: `AGORA_TASK_LAUNCHER` from `env`, else `native` where it was built, else `perl`. */
  kind?: TaskLauncherKind;
  env?: NodeJS.ProcessEnv;
  /** The native helper's path (default: where the build puts it). */
  nativeLauncher?: string;
}

/**
 * Parses `AGORA_TASK_LAUNCHER`; unset or empty is `native` when `nativeBuilt`, else `perl`.
 * Throws `AGORA_EXECUTOR_CONFIG` for anything but `native`/`perl`/`node`.
 */
export function taskLauncherKind(value: string | undefined, nativeBuilt: boolean): TaskLauncherKind {
  if (value === undefined || value === '') return nativeBuilt ? 'native' : 'perl';
  if (value === 'native' || value === 'perl' || value === 'node') return value;
  throw new AgoraError('AGORA_EXECUTOR_CONFIG', `AGORA_TASK_LAUNCHER must be native, perl or node, got ${JSON.stringify(value)}`);
}

/**
 * The launcher the command executor uses. Each helper falls back to the next when it cannot
 * be started at all: native → perl → Node's spawn.
 */
export function createTaskLauncher(o: TaskLauncherOptions): TaskLauncher {
  const native = o.nativeLauncher;
  const kind = o.kind ?? taskLauncherKind((o.env ?? process.env).AGORA_TASK_LAUNCHER, nativeLauncherBuilt(native));
  if (kind === 'node') return new NodeTaskLauncher();
  const perl = new HelperTaskLauncher({ clock: o.clock, logger: o.logger, helper: perlHelper(), fallback: new NodeTaskLauncher() });
  if (kind === 'perl') return perl;
  return new HelperTaskLauncher({ clock: o.clock, logger: o.logger, helper: nativeHelper(native), fallback: perl });
}
