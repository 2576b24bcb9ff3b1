/**
 * What a starting slave does with the checkpoint of its previous run (Mesos
 * `Slave::recover`), as a pure function of the checkpoint and a few facts about the host
 * (its boot id, which checkpointed executor processes are still alive). The slave applies
 * the plan (`slave.ts`, `executors.ts`).
 *
 * @module
 */
import type { Checkpoint, CheckpointedExecutor } from './checkpoint.js';
import type { ReadCheckpoint } from './checkpoint-store.js';

/** Mesos `--recover`: `reconnect` re-attaches to live executors; `cleanup` kills them and starts afresh. */
export type RecoverMode = 'reconnect' | 'cleanup';

/** What the slave knows of a process now (from `/proc/<pid>/stat`). */
export interface ProcessIdentity {
  /** Field 22: clock ticks after boot when the process started. */
  startTime: number;
  /** Field 3: R, S, D, Z (zombie), X (dead), … */
  state: string;
}

/** An executor process the plan names (to kill or to re-attach). */
export interface ExecutorRef {
  frameworkId: string;
  executorId: string;
  containerId: string;
  pid: number;
  directory: string;
}

export type RecoveryPlan =
  | {
    kind: 'fresh';
    /** Why the slave starts without its old state (logged). */
    reason: string;
    /** Warn (something was wrong) rather than info (nothing to recover). */
    warn: boolean;
    /** The checkpoint is bad: move it aside for an operator. */
    moveAside: boolean;
    /** Live executors of the previous run to kill (`--recover=cleanup`). */
    kill: ExecutorRef[];
  }
  | {
    kind: 'recover';
    checkpoint: Checkpoint;
    agentId: string;
    /** The port the executors know; reused when the configured port is 0. */
    port: number;
    /** Container ids of executors still running: they are expected to re-subscribe. */
    live: ReadonlySet<string>;
    /** Container ids of executors that are gone: their unfinished tasks are lost. */
    gone: ReadonlySet<string>;
  };

/** Facts about the host at start. */
export interface RecoveryFacts {
  /** This boot's id ('' when unknown: then it is not compared). */
  bootId: string;
  /** Identity of each checkpointed pid now (undefined: no such process). */
  identity(pid: number): ProcessIdentity | undefined;
  mode: RecoverMode;
}

/**
 * True when `pid` still runs the process the checkpoint recorded: it exists, is not a
 * zombie, and started at the recorded time (a reused pid has another start time). Without
 * a recorded start time the pid alone decides.
 */
export function isSameProcess(e: Pick<CheckpointedExecutor, 'pid' | 'pid_start_time'>, now: ProcessIdentity | undefined): boolean {
  if (e.pid === undefined || now === undefined) return false;
  if (now.state === 'Z' || now.state === 'X' || now.state === 'x') return false;
  return e.pid_start_time === undefined || e.pid_start_time === now.startTime;
}

function executorRefs(c: Checkpoint, live: (e: CheckpointedExecutor) => boolean): ExecutorRef[] {
  const out: ExecutorRef[] = [];
  for (const f of c.frameworks) {
    for (const e of f.executors) {
      if (e.pid === undefined || !live(e)) continue;
      out.push({
        frameworkId: f.info.id?.value ?? '', executorId: e.info.executor_id.value, containerId: e.container_id, pid: e.pid, directory: e.directory,
      });
    }
  }
  return out;
}

/** Decides between recovering the previous run and starting afresh (and why). */
export function planRecovery(read: ReadCheckpoint, facts: RecoveryFacts): RecoveryPlan {
  if (!read.found) return { kind: 'fresh', reason: 'no checkpoint', warn: false, moveAside: false, kill: [] };
  if (!read.ok) return { kind: 'fresh', reason: `checkpoint is unusable (${read.reason})`, warn: true, moveAside: true, kill: [] };
  const c = read.checkpoint;
  if (facts.bootId !== '' && c.boot_id !== '' && c.boot_id !== facts.bootId) {
    // The host rebooted: the old executors are dead, and their pids may belong to anyone now.
    return { kind: 'fresh', reason: `the host rebooted (boot id ${facts.bootId}, checkpoint written under ${c.boot_id})`, warn: true, moveAside: false, kill: [] };
  }
  const alive = (e: CheckpointedExecutor): boolean => e.pid !== undefined && isSameProcess(e, facts.identity(e.pid));
  if (facts.mode === 'cleanup') {
    return { kind: 'fresh', reason: '--recover=cleanup: killing the executors of the previous run', warn: false, moveAside: false, kill: executorRefs(c, alive) };
  }
  if (c.agent_id === undefined) {
    // Never registered: the master launched nothing here.
    return { kind: 'fresh', reason: 'the previous run never registered', warn: false, moveAside: false, kill: [] };
  }
  const live = new Set<string>();
  const gone = new Set<string>();
  for (const f of c.frameworks) {
    for (const e of f.executors) (alive(e) ? live : gone).add(e.container_id);
  }
  return { kind: 'recover', checkpoint: c, agentId: c.agent_id, port: c.port, live, gone };
}
