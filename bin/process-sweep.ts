/**
 * Last-resort cleanup of executor and task processes that belong to a work dir, for
 * `agora local` (and the integration tests) to leave no process behind even when a slave
 * could not stop its executors itself (it was SIGKILLed, or timed out).
 *
 * A process belongs to the work dir when its environment's MESOS_DIRECTORY (executors) or
 * MESOS_SANDBOX (tasks) lies under it: the slave sets these on every executor, and the
 * command executor on every task, so this never touches an unrelated process that merely
 * runs in that directory. Linux only (reads /proc); elsewhere it finds nothing.
 *
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import { procPids, readProcessIdentity } from '../slave/process-tree.js';

/**
 * PIDs of live processes whose MESOS_DIRECTORY/MESOS_SANDBOX is under `workDir` (and, with
 * `byCwd`, whose working directory is: only for directories nobody else uses, like a
 * test's temp dir).
 */
export function processesUnder(workDir: string, opts: { byCwd?: boolean } = {}): number[] {
  const root = path.resolve(workDir) + path.sep;
  const found: number[] = [];
  for (const pid of procPids()) {
    if (opts.byCwd) {
      try {
        if ((fs.readlinkSync(`/proc/${pid}/cwd`) + path.sep).startsWith(root)) {
          if (!isZombie(pid)) found.push(pid);
          continue;
        }
      } catch {
        // gone, or not ours to read
      }
    }
    let environ: string;
    try {
      environ = fs.readFileSync(`/proc/${pid}/environ`, 'latin1');
    } catch {
      continue; // gone, or not ours to read
    }
    for (const kv of environ.split('\0')) {
      const eq = kv.indexOf('=');
      const key = kv.slice(0, eq);
      if ((key === 'MESOS_DIRECTORY' || key === 'MESOS_SANDBOX') && (kv.slice(eq + 1) + path.sep).startsWith(root)) {
        if (!isZombie(pid)) found.push(pid);
        break;
      }
    }
  }
  return found;
}

/** SIGKILLs every process {@link processesUnder} finds; returns their PIDs. */
export function killProcessesUnder(workDir: string, opts: { byCwd?: boolean } = {}): number[] {
  const pids = processesUnder(workDir, opts);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return pids;
}

/** True when `pid` names a live process (not a zombie waiting to be reaped). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

function isZombie(pid: number): boolean {
  return readProcessIdentity(pid)?.state === 'Z';
}
