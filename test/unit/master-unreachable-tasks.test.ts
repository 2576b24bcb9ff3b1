/**
 * Pure task bookkeeping for partitions (master/tasks.ts, master/reconcile.ts,
 * master/accounting.ts): a task of an unreachable agent is kept as TASK_UNREACHABLE without
 * resources, bounded per framework, answered by reconciliation according to the
 * framework's PARTITION_AWARE capability, and forgotten with its agent by the registry GC.
 */
import t from 'tap';
import type { Resource } from '../../sdk/protocol/index.js';
import { recomputeUsed } from '../../master/accounting.js';
import { masterStatus } from '../../master/events.js';
import { MAX_UNREACHABLE_TASKS_PER_FRAMEWORK, type FrameworkRecord, type MasterState, type TaskRecord } from '../../master/model.js';
import { reconcileTasks } from '../../master/reconcile.js';
import { createMasterState } from '../../master/state.js';
import { addTask, applyStatus, completeTask, forgetUnreachableTasks, markTaskUnreachable } from '../../master/tasks.js';

const CPU = (n: number): Resource => ({ name: 'cpus', type: 'SCALAR', scalar: { value: n } });
const cpus = (rs: readonly Resource[]): number => rs.reduce((s, r) => s + (r.name === 'cpus' ? r.scalar?.value ?? 0 : 0), 0);

function setup(partitionAware: boolean): { state: MasterState; fw: FrameworkRecord } {
  const state = createMasterState({ id: 'm', ip: 0, port: 5050 } as never, 0);
  const fw: FrameworkRecord = {
    id: 'fw', info: { user: 'u', name: 'n' }, roles: ['*'],
    capabilities: new Set(partitionAware ? ['PARTITION_AWARE'] : []), connected: true, streamId: 's',
    registeredAt: 0, suppressedRoles: new Set(), used: [], offered: [], executors: new Map(),
  };
  state.frameworks.set('fw', fw);
  state.agents.set('a1', {
    id: 'a1', info: { hostname: 'h' }, hostname: 'h', port: 5051, ip: '127.0.0.1', attributes: [], total: [CPU(8)],
    used: [], offered: [], version: '', registeredAt: 0, active: true, missedPings: 0,
  });
  return { state, fw };
}

function task(id: string, agentId = 'a1'): TaskRecord {
  return {
    frameworkId: 'fw', agentId, info: { name: id, task_id: { value: id }, agent_id: { value: agentId } },
    resources: [CPU(1)], state: 'TASK_RUNNING', statuses: [],
  };
}

function markLost(state: MasterState, tk: TaskRecord, at: number, pa: boolean): void {
  const status = masterStatus({ taskId: tk.info.task_id.value, state: pa ? 'TASK_UNREACHABLE' : 'TASK_LOST', reason: 'REASON_AGENT_REMOVED', agentId: tk.agentId, now: at, ...(pa ? { unreachableSinceMs: at } : {}) });
  markTaskUnreachable(state, tk, status, at);
}

t.test('an unreachable task frees its resources once and keeps no charge through recomputation', async (t) => {
  const { state, fw } = setup(true);
  const tk = task('t1');
  addTask(state, tk);
  t.equal(cpus(fw.used), 1);
  markLost(state, tk, 1000, true);
  t.equal(tk.state, 'TASK_UNREACHABLE');
  t.equal(tk.unreachableSince, 1000);
  t.equal(cpus(fw.used), 0);
  t.equal(cpus(state.agents.get('a1')!.used), 0);
  recomputeUsed(state);
  t.equal(cpus(fw.used), 0, 'recomputeUsed skips it');
  t.equal(state.counters.tasksUnreachable, 1);
  // A later terminal status (framework removal) and retirement release nothing twice.
  applyStatus(state, tk, masterStatus({ taskId: 't1', state: 'TASK_KILLED', now: 2000 }));
  completeTask(state, tk);
  t.equal(cpus(fw.used), 0);
  t.equal(tk.unreachableSince, undefined);
});

t.test('reconciliation: TASK_UNREACHABLE with its time for partition-aware frameworks, TASK_LOST for others', async (t) => {
  for (const pa of [true, false]) {
    const { state, fw } = setup(pa);
    const tk = task('t1');
    addTask(state, tk);
    markLost(state, tk, 5000, pa);
    const [explicit] = reconcileTasks(state, fw, [{ taskId: 't1' }], 9000);
    const [implicit] = reconcileTasks(state, fw, [], 9000);
    for (const answer of [explicit!, implicit!]) {
      t.equal(answer.state, pa ? 'TASK_UNREACHABLE' : 'TASK_LOST', `partition-aware: ${pa}`);
      t.equal(answer.reason, 'REASON_RECONCILIATION');
      t.same(answer.unreachable_time, pa ? { nanoseconds: 5000 * 1e6 } : undefined);
      t.equal(answer.uuid, undefined);
    }
  }
});

t.test('at most MAX_UNREACHABLE_TASKS_PER_FRAMEWORK are kept, the oldest forgotten first', async (t) => {
  const { state } = setup(true);
  const n = MAX_UNREACHABLE_TASKS_PER_FRAMEWORK + 3;
  for (let i = 0; i < n; i++) {
    const tk = task(`t${i}`);
    addTask(state, tk);
    markLost(state, tk, 1000 + i, true);
  }
  const kept = [...state.tasks.get('fw')!.values()];
  t.equal(kept.length, MAX_UNREACHABLE_TASKS_PER_FRAMEWORK);
  t.notOk(state.tasks.get('fw')!.has('t0'));
  t.notOk(state.tasks.get('fw')!.has('t2'));
  t.ok(state.tasks.get('fw')!.has('t3'));
  t.ok(state.tasks.get('fw')!.has(`t${n - 1}`));
});

t.test('the registry GC forgets the unreachable tasks of pruned agents only', async (t) => {
  const { state } = setup(true);
  const onGone = task('gone-task', 'gone');
  const onOther = task('other-task', 'other');
  const live = task('live-task', 'a1');
  for (const tk of [onGone, onOther, live]) addTask(state, tk);
  markLost(state, onGone, 1, true);
  markLost(state, onOther, 1, true);
  t.equal(forgetUnreachableTasks(state, new Set(['gone', 'a1'])), 1, 'a live task on a named agent is not touched');
  t.same([...state.tasks.get('fw')!.keys()].sort(), ['live-task', 'other-task']);
});
