/**
 * The harness's eyes: reads the cluster's state endpoints and /proc and turns them into the
 * plain records the invariant checks take. I/O only; the judging is in invariants.ts.
 *
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Clock } from '../../sdk/core/clock.js';
import { procPids, readProcessIdentity } from '../../slave/process-tree.js';
import { httpGet, type ChaosCluster } from './cluster.js';
import type { AgentAllocation, ScalarResources } from './invariants.js';

const HTTP_BOUND_MS = 3000;

/** Per task, the states the slaves listed for it (merged over polls, in order). */
export class SlaveObservations {
  readonly states = new Map<string, string[]>();

  /** Merges one slave's `statuses` list for a task: the list only grows within a slave's run. */
  record(taskId: string, statuses: readonly string[]): void {
    const cur = this.states.get(taskId) ?? [];
    if (statuses.length >= cur.length && cur.every((s, i) => statuses[i] === s)) {
      this.states.set(taskId, [...statuses]);
      return;
    }
    // Another run of the slave (restart) or another slave: append what is new.
    for (const s of statuses) if (!cur.includes(s)) cur.push(s);
    this.states.set(taskId, cur);
  }
}

function scalars(r: any): ScalarResources {
  const out: ScalarResources = {};
  for (const k of ['cpus', 'mem', 'disk', 'gpus'] as const) if (typeof r?.[k] === 'number') out[k] = r[k];
  return out;
}

/** Polls every live slave's /state: records task states (of tasks `owns` accepts) and returns its allocation. */
export async function pollSlaves(cluster: ChaosCluster, clock: Clock, obs: SlaveObservations, owns: (taskId: string) => boolean): Promise<AgentAllocation[]> {
  const out: AgentAllocation[] = [];
  await Promise.all(cluster.byRole('slave').map(async (m) => {
    if (!m.proc?.running || m.paused || m.port === undefined) return;
    const res = await httpGet(clock, `http://127.0.0.1:${m.port}/state`, HTTP_BOUND_MS).catch(() => undefined);
    const state = res?.status === 200 ? res.body : undefined;
    if (!state) return;
    const used: ScalarResources = {};
    const frameworks = [...(state.frameworks ?? []), ...(state.completed_frameworks ?? [])];
    for (const fw of frameworks) {
      for (const ex of [...(fw.executors ?? []), ...(fw.completed_executors ?? [])]) {
        for (const task of [...(ex.tasks ?? []), ...(ex.queued_tasks ?? []), ...(ex.completed_tasks ?? [])]) {
          if (typeof task?.id === 'string' && owns(task.id) && Array.isArray(task.statuses)) {
            obs.record(task.id, task.statuses.map((s: any) => String(s.state)));
          }
        }
      }
      for (const ex of fw.executors ?? []) {
        const r = scalars(ex.resources);
        for (const k of Object.keys(r) as Array<keyof ScalarResources>) used[k] = (used[k] ?? 0) + r[k]!;
      }
    }
    if (typeof state.id === 'string' && state.id !== '') out.push({ source: m.name, agentId: state.id, total: scalars(state.resources), parts: { executors: used } });
  }));
  return out;
}

/** The leading master's /master/state, or undefined when no leader answers. */
export async function leaderState(cluster: ChaosCluster, clock: Clock): Promise<{ port: number; state: any } | undefined> {
  const port = await cluster.leaderPort();
  if (port === undefined) return undefined;
  const res = await httpGet(clock, `http://127.0.0.1:${port}/master/state`, HTTP_BOUND_MS, 'manual').catch(() => undefined);
  return res?.status === 200 && res.body ? { port, state: res.body } : undefined;
}

/** Per-agent allocation as the master reports it: used + offered against total. */
export function masterAllocation(port: number, state: any): AgentAllocation[] {
  return (state?.slaves ?? []).map((s: any) => ({
    source: `master:${port}`,
    agentId: String(s.id),
    total: scalars(s.resources),
    parts: { used: scalars(s.used_resources), offered: scalars(s.offered_resources) },
  }));
}

const LIVE_STATES = new Set(['TASK_RUNNING', 'TASK_STAGING', 'TASK_STARTING', 'TASK_KILLING']);

/** Task ids the master lists as live (running or about to), over every framework. */
export function runningTasks(state: any): Set<string> {
  const out = new Set<string>();
  for (const fw of state?.frameworks ?? []) for (const t of fw.tasks ?? []) if (LIVE_STATES.has(t.state)) out.add(String(t.id));
  return out;
}

/** A live task process found in /proc. */
export interface TaskProcess {
  pid: number;
  taskId: string;
  appId?: string;
}

function readNul(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/** A zombie, or no longer there: not a live task process. */
function isGoneOrZombie(pid: number): boolean {
  const identity = readProcessIdentity(pid);
  return identity === undefined || identity.state === 'Z';
}

/**
 * Task processes of this run: their command line carries `token` (as a whole word: seed 5's
 * token is a prefix of seed 50's) and their sandbox (`MESOS_SANDBOX`) lies under `workDir`,
 * so concurrent runs never see each other's tasks. The task id comes from their
 * environment. Linux only.
 */
export function findTaskProcesses(token: string, workDir: string): TaskProcess[] {
  const word = new RegExp(`${token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w-])`);
  const root = path.resolve(workDir) + path.sep;
  const out: TaskProcess[] = [];
  for (const pid of procPids()) {
    if (!readNul(`/proc/${pid}/cmdline`).some((a) => word.test(a))) continue;
    if (isGoneOrZombie(pid)) continue;
    const env = readNul(`/proc/${pid}/environ`);
    const get = (k: string): string | undefined => env.find((kv) => kv.startsWith(`${k}=`))?.slice(k.length + 1);
    const taskId = get('MESOS_TASK_ID');
    const sandbox = get('MESOS_SANDBOX');
    if (taskId === undefined || sandbox === undefined || !(path.resolve(sandbox) + path.sep).startsWith(root)) continue;
    const appId = get('MARATHON_APP_ID');
    out.push({ pid, taskId, ...(appId !== undefined ? { appId } : {}) });
  }
  return out;
}

/** Task id → live PIDs. */
export function byTask(procs: readonly TaskProcess[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const p of procs) out.set(p.taskId, [...(out.get(p.taskId) ?? []), p.pid]);
  return out;
}

/** Any live Marathon's view of an app (standbys forward to the leader). */
export async function marathonApp(cluster: ChaosCluster, clock: Clock, appId: string): Promise<{ instances: number; tasksRunning: number } | undefined> {
  for (const m of cluster.byRole('marathon')) {
    if (!m.proc?.running || m.paused || m.port === undefined) continue;
    const res = await httpGet(clock, `http://127.0.0.1:${m.port}/v2/apps${appId}`, HTTP_BOUND_MS).catch(() => undefined);
    const app = res?.status === 200 ? res.body?.app : undefined;
    if (app && typeof app.instances === 'number' && typeof app.tasksRunning === 'number') return { instances: app.instances, tasksRunning: app.tasksRunning };
  }
  return undefined;
}
