/**
 * The five invariants of the chaos run, as pure checks over recorded data (what the
 * framework received, what the slaves and the tasks themselves observed, the masters'
 * and Marathons' state, the processes found in /proc, the exits and log lines of the
 * cluster's processes). The harness gathers the data; these functions only judge it, so
 * they are unit-tested on hand-made records.
 *
 * @module
 */

/** Which invariant of the issue a violation breaks (1–5, see docs/chaos.md). */
export type InvariantId = 1 | 2 | 3 | 4 | 5;

export interface Violation {
  invariant: InvariantId;
  /** A short stable name: `state-backwards`, `over-allocated`, `orphan`, `crash`, … */
  kind: string;
  message: string;
  /** The task, agent, app or process concerned. */
  subject?: string;
}

/** Mesos's terminal task states: nothing may follow them. */
export const TERMINAL_STATES: ReadonlySet<string> = new Set([
  'TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_LOST', 'TASK_ERROR', 'TASK_DROPPED', 'TASK_GONE', 'TASK_GONE_BY_OPERATOR',
]);

export const isTerminal = (state: string): boolean => TERMINAL_STATES.has(state);

/** One status update as the framework received it. */
export interface UpdateRecord {
  state: string;
  /** The update's uuid (absent on the master's own updates and reconciliation answers). */
  uuid?: string;
  /** SOURCE_MASTER, SOURCE_AGENT, SOURCE_EXECUTOR. */
  source?: string;
  reason?: string;
}

/** What the tasks themselves left behind (marker files written by the task's command). */
export interface TaskMarkers {
  /** The task's process ran (it wrote its start marker). */
  started: boolean;
  /** The task's process reached its end normally (it wrote its exit marker). */
  exited: boolean;
}

/** Consecutive duplicates removed (retried updates, reconciliation answers). */
export function distinctStates(states: readonly string[]): string[] {
  const out: string[] = [];
  for (const s of states) if (out[out.length - 1] !== s) out.push(s);
  return out;
}

/** `STATE(source, uuid prefix)` for each update, for violation messages. */
export function describeUpdates(updates: readonly UpdateRecord[]): string {
  return updates.map((u) => `${u.state}(${[u.source?.replace('SOURCE_', '').toLowerCase(), u.uuid?.slice(0, 8), u.reason === 'REASON_RECONCILIATION' ? 'reconciliation' : undefined].filter(Boolean).join(' ')})`).join(' → ');
}

/**
 * The updates without retransmissions: an update whose uuid was already received is a
 * duplicate (delivery is at-least-once, as in Mesos), not a new state.
 */
export function firstDeliveries(updates: readonly UpdateRecord[]): UpdateRecord[] {
  const seen = new Set<string>();
  return updates.filter((u) => {
    if (u.uuid === undefined) return true;
    if (seen.has(u.uuid)) return false;
    seen.add(u.uuid);
    return true;
  });
}

/** Retransmitted updates (uuid already received) of a non-terminal state that arrived after a terminal state. */
export function duplicatesAfterTerminal(updates: readonly UpdateRecord[]): number {
  const seen = new Set<string>();
  let terminal = false;
  let count = 0;
  for (const u of updates) {
    if (u.uuid !== undefined && seen.has(u.uuid) && terminal && !isTerminal(u.state)) count++;
    if (u.uuid !== undefined) seen.add(u.uuid);
    if (isTerminal(u.state)) terminal = true;
  }
  return count;
}

/**
 * Invariant 1, continuous part: for each task, no non-terminal state after a terminal one
 * at the framework (RUNNING after FINISHED), and the states the slave observed appear at the
 * framework in the slave's order. Two kinds of "backwards": `state-backwards`, a new update
 * (a uuid not seen before) after a terminal one; `stale-redelivery`, an earlier update
 * delivered again (same uuid) after the terminal one — at-least-once delivery allows
 * duplicates, but Mesos keeps only the head of a task's stream in flight, so a framework
 * never sees STARTING/RUNNING again once it got FINISHED. A second, different terminal
 * state is allowed (Mesos sends TASK_LOST from the master and may later forward the
 * executor's TASK_FINISHED).
 */
export function checkUpdateOrder(
  framework: ReadonlyMap<string, readonly UpdateRecord[]>,
  slaveObserved: ReadonlyMap<string, readonly string[]>,
): Violation[] {
  const out: Violation[] = [];
  for (const [taskId, all] of framework) {
    const updates = firstDeliveries(all);
    const states = distinctStates(updates.map((u) => u.state));
    const firstTerminal = states.findIndex(isTerminal);
    if (firstTerminal >= 0) {
      const after = states.slice(firstTerminal + 1).filter((s) => !isTerminal(s));
      if (after.length > 0) {
        out.push({ invariant: 1, kind: 'state-backwards', subject: taskId, message: `task ${taskId}: ${after.join(', ')} after ${states[firstTerminal]} (framework received ${describeUpdates(all)})` });
      }
    }
    const stale = duplicatesAfterTerminal(all);
    if (stale > 0) {
      out.push({ invariant: 1, kind: 'stale-redelivery', subject: taskId, message: `task ${taskId}: ${stale} earlier update(s) delivered again after a terminal state (framework received ${describeUpdates(all)})` });
    }
    const seen = slaveObserved.get(taskId);
    if (seen) {
      const slaveStates = distinctStates(seen);
      // Reconciliation answers carry the master's latest state, not the agent's stream: they
      // may arrive before an earlier update is delivered, so the order is judged without them.
      const delivered = distinctStates(updates.filter((u) => u.reason !== 'REASON_RECONCILIATION').map((u) => u.state));
      const firstAt = (s: string): number => delivered.indexOf(s);
      for (let i = 0; i + 1 < slaveStates.length; i++) {
        const a = slaveStates[i]!;
        const b = slaveStates[i + 1]!;
        if (firstAt(a) >= 0 && firstAt(b) >= 0 && firstAt(a) > firstAt(b)) {
          out.push({ invariant: 1, kind: 'order', subject: taskId, message: `task ${taskId}: the slave saw ${a} before ${b}, the framework the other way round (${states.join(' → ')})` });
        }
      }
    }
  }
  return out;
}

/**
 * Invariant 1, after convergence: every state the slave observed reached the framework,
 * a task that really ran was reported, and a task that really ended has a terminal update.
 * A task the master itself declared gone (a terminal update from SOURCE_MASTER: its agent
 * was removed) may miss the agent's later states: the master drops them, as Mesos does.
 */
export function checkUpdatesDelivered(
  framework: ReadonlyMap<string, readonly UpdateRecord[]>,
  slaveObserved: ReadonlyMap<string, readonly string[]>,
  markers: ReadonlyMap<string, TaskMarkers>,
): Violation[] {
  const out: Violation[] = [];
  const taskIds = new Set([...slaveObserved.keys(), ...markers.keys()]);
  for (const taskId of taskIds) {
    const updates = framework.get(taskId) ?? [];
    const states = new Set(updates.map((u) => u.state));
    const hasTerminal = updates.some((u) => isTerminal(u.state));
    const declaredGoneByMaster = updates.some((u) => isTerminal(u.state) && u.source === 'SOURCE_MASTER');
    const m = markers.get(taskId);
    if (m?.exited && !hasTerminal) {
      out.push({ invariant: 1, kind: 'terminal-missing', subject: taskId, message: `task ${taskId} ended (its exit marker exists) but the framework has no terminal update (saw ${[...states].join(', ') || 'nothing'})` });
    }
    if (m?.started && updates.length === 0) {
      out.push({ invariant: 1, kind: 'never-reported', subject: taskId, message: `task ${taskId} ran (its start marker exists) but the framework never heard of it` });
    }
    if (declaredGoneByMaster) continue;
    for (const s of distinctStates(slaveObserved.get(taskId) ?? [])) {
      if (!states.has(s)) {
        out.push({ invariant: 1, kind: 'state-lost', subject: taskId, message: `task ${taskId}: the slave observed ${s}, the framework never received it (saw ${[...states].join(', ') || 'nothing'})` });
      }
    }
  }
  return out;
}

/** Scalar resources of one agent as a master or slave renders them (`{cpus, mem, disk}`). */
export type ScalarResources = Partial<Record<'cpus' | 'mem' | 'disk' | 'gpus', number>>;

/** One agent's figures from a state endpoint. */
export interface AgentAllocation {
  /** Who reported it: `master:<port>` or `slave-<i>`. */
  source: string;
  agentId: string;
  total: ScalarResources;
  /** What is allocated: used by tasks/executors, and (at the master) offered. */
  parts: Record<string, ScalarResources>;
}

const EPSILON = 1e-6;

/** Invariant 2: no agent is allocated more than its resources (per scalar, summed over the parts). */
export function checkAllocation(agents: readonly AgentAllocation[]): Violation[] {
  const out: Violation[] = [];
  for (const a of agents) {
    for (const name of ['cpus', 'mem', 'disk', 'gpus'] as const) {
      const total = a.total[name] ?? 0;
      const allocated = Object.values(a.parts).reduce((sum, p) => sum + (p[name] ?? 0), 0);
      if (allocated > total + EPSILON) {
        const detail = Object.entries(a.parts).map(([k, p]) => `${k} ${p[name] ?? 0}`).join(' + ');
        out.push({ invariant: 2, kind: 'over-allocated', subject: a.agentId, message: `${a.source}: agent ${a.agentId} has ${name} ${total} but ${detail} = ${allocated} allocated` });
      }
    }
  }
  return out;
}

/** One Marathon app as found after the faults stopped. */
export interface AppObservation {
  id: string;
  instances: number;
  /** Marathon's `tasksRunning`. */
  tasksRunning: number;
  /** Live task processes of the app found in /proc. */
  liveProcesses: number;
}

/** Invariant 3: each app has exactly its instance count running, by Marathon's count and by the processes. */
export function checkConvergence(apps: readonly AppObservation[]): Violation[] {
  const out: Violation[] = [];
  for (const app of apps) {
    if (app.tasksRunning !== app.instances || app.liveProcesses !== app.instances) {
      out.push({ invariant: 3, kind: 'not-converged', subject: app.id, message: `app ${app.id}: instances ${app.instances}, Marathon says ${app.tasksRunning} running, ${app.liveProcesses} processes alive` });
    }
  }
  return out;
}

/**
 * Invariant 4 (once converged): every live task process belongs to a task the cluster
 * lists as running, and every task listed as running has a live process.
 *
 * @param live task id → PIDs of its live processes (found by the run's token in /proc)
 * @param running task ids the masters list as TASK_RUNNING (or STAGING/STARTING)
 */
export function checkOrphans(live: ReadonlyMap<string, readonly number[]>, running: ReadonlySet<string>): Violation[] {
  const out: Violation[] = [];
  for (const [taskId, pids] of live) {
    if (!running.has(taskId)) out.push({ invariant: 4, kind: 'orphan', subject: taskId, message: `task ${taskId}: processes ${pids.join(', ')} are alive but the cluster does not list the task as running` });
  }
  for (const taskId of running) {
    if (!live.has(taskId)) out.push({ invariant: 4, kind: 'dead-running', subject: taskId, message: `task ${taskId}: the cluster lists it as running but no process of it is alive` });
  }
  return out;
}

/** How one cluster process ended. */
export interface ExitRecord {
  name: string;
  pid: number;
  code: number | null;
  signal: string | null;
  /** The harness killed or stopped it (a fault or the teardown). */
  byHarness: boolean;
  /** It logged that it lost its leadership (ZooKeeper session) before exiting. */
  lostLeadership: boolean;
  /** The last lines of its stderr, for the report. */
  detail?: string;
}

/**
 * Invariant 5, exits: an exit not caused by the harness is a crash, except a leader's exit
 * with status 1 after it lost its ZooKeeper session (by design: it must not lead on stale
 * state; the supervisor restarts it).
 */
export function checkExit(e: ExitRecord): Violation[] {
  if (e.byHarness) return [];
  if (e.code === 1 && e.lostLeadership) return [];
  return [{ invariant: 5, kind: 'crash', subject: `${e.name}#${e.pid}`, message: `${e.name} (pid ${e.pid}) exited on its own: ${e.signal ?? `code ${e.code}`}${e.detail ? `; stderr: ${e.detail}` : ''}` }];
}

/** The log lines that say a process lost its leadership by design (masters and Marathons). */
export function isLeadershipLossLog(record: { msg?: unknown }): boolean {
  return typeof record.msg === 'string' && /lost leadership|no longer the leader|session expired/i.test(record.msg);
}

/** Invariant 5, logs: fatal lines, and error lines that report an uncaught error or a crash. */
export function checkLogRecord(name: string, record: { level?: unknown; msg?: unknown; err?: unknown }): Violation[] {
  const level = typeof record.level === 'number' ? record.level : 0;
  if (level < 50) return [];
  const msg = typeof record.msg === 'string' ? record.msg : '';
  const errText = typeof record.err === 'object' && record.err !== null ? JSON.stringify(record.err) : '';
  if (level >= 60 || /uncaught|unhandled|crash/i.test(`${msg} ${errText}`)) {
    return [{ invariant: 5, kind: 'error-log', subject: name, message: `${name} logged (level ${level}): ${msg}${errText ? ` ${errText.slice(0, 500)}` : ''}` }];
  }
  return [];
}

/** Violations without repeats: one per invariant, kind and subject (a continuous check finds the same one on every pass; the first is kept). */
export function dedupeViolations(vs: readonly Violation[]): Violation[] {
  const seen = new Set<string>();
  const out: Violation[] = [];
  for (const v of vs) {
    const key = `${v.invariant}|${v.kind}|${v.subject ?? v.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(v);
    }
  }
  return out;
}
