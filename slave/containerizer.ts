/**
 * Starting executor processes. The posix containerizer spawns each executor detached (its
 * own session and process group, so it outlives a slave restart), in its sandbox, with
 * stdout/stderr appended to the sandbox's `stdout`/`stderr` files, and reports its exit
 * while the slave lives.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { AgoraError } from '../sdk/core/errors.js';
import { descendantPids, sandboxPids, signalPids, signalTree, treeUsage } from './process-tree.js';

/** How to start one executor. */
export interface LaunchSpec {
  /** Program to run (`sh` for shell commands). */
  file: string;
  args: string[];
  /** argv[0] when it differs from `file` (Mesos CommandInfo.arguments[0]). */
  argv0?: string;
  /** Sandbox: cwd and home of the stdout/stderr files. */
  cwd: string;
  env: Record<string, string>;
}

/** How an executor process ended: exit code or signal, and the wait status Mesos reports. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** POSIX wait status: `code << 8`, or the signal number. */
  status: number;
}

/** A running executor process. */
export interface ContainerProcess {
  readonly pid: number;
  /** Resolves when the process exits. */
  readonly exited: Promise<ExitInfo>;
  /** Signals the process and every process it started. */
  signalTree(signal: NodeJS.Signals): void;
  /** The pids of the process and its descendants now (to signal them after the root is gone). */
  treePids(): number[];
}

/** Resource usage of a container (its process tree). */
export interface ContainerUsage {
  cpusUserTimeSecs: number;
  cpusSystemTimeSecs: number;
  memRssBytes: number;
  processes: number;
}

/** Launches executors; one implementation per isolation technique. */
export interface Containerizer {
  /** Starts the process; rejects with `AGORA_EXECUTOR_LAUNCH_FAILED` when it cannot be started. */
  launch(spec: LaunchSpec): Promise<ContainerProcess>;
  /** Usage of a container by its root pid; undefined when unknown. */
  usage(pid: number): ContainerUsage | undefined;
  /** Kills whatever still runs in a sandbox after its executor is gone (orphaned tasks). Returns how many processes were signalled. */
  destroyLeftovers(directory: string): number;
}

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15 };

/** Plain processes, no isolation (Mesos's posix launcher). */
export class PosixContainerizer implements Containerizer {
  async launch(spec: LaunchSpec): Promise<ContainerProcess> {
    fs.mkdirSync(spec.cwd, { recursive: true });
    const out = fs.openSync(path.join(spec.cwd, 'stdout'), 'a');
    const err = fs.openSync(path.join(spec.cwd, 'stderr'), 'a');
    try {
      const child = spawn(spec.file, spec.args, {
        cwd: spec.cwd,
        env: spec.env,
        detached: true,
        stdio: ['ignore', out, err],
        ...(spec.argv0 !== undefined ? { argv0: spec.argv0 } : {}),
      });
      const exited = new Promise<ExitInfo>((resolve) => {
        child.once('exit', (code, signal) => {
          resolve({ code, signal, status: code !== null ? (code & 0xff) << 8 : (signal !== null ? SIGNAL_NUMBERS[signal] ?? 0 : 0) });
        });
      });
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', (e) => reject(new AgoraError('AGORA_EXECUTOR_LAUNCH_FAILED', `cannot start ${spec.file}: ${e.message}`, { cause: e })));
      });
      child.on('error', () => { /* after spawn: signal delivery errors, nothing to do */ });
      child.unref();
      const pid = child.pid!;
      return { pid, exited, signalTree: (signal) => signalTree(pid, signal), treePids: () => [pid, ...descendantPids(pid)] };
    } finally {
      fs.closeSync(out);
      fs.closeSync(err);
    }
  }

  usage(pid: number): ContainerUsage | undefined {
    return treeUsage(pid);
  }

  destroyLeftovers(directory: string): number {
    const pids = sandboxPids(directory);
    signalPids(pids, 'SIGKILL');
    return pids.length;
  }
}
