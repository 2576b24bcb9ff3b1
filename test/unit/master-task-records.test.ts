/**
 * What the master keeps per task (master/tasks.ts): resource lists and ids shared between
 * tasks and statuses, a status history rebuilt at its exact length, and the same bounds,
 * states and rendered output (`/master/tasks`, `/master/state`) as with private copies.
 */
import t from 'tap';
import type { FrameworkRecord, MasterState, TaskRecord } from '../../master/model.js';
import { renderTask } from '../../master/operator/render-state.js';
import { createMasterState } from '../../master/state.js';
import { addTask, applyStatus, completeTask, getTask, markTaskUnreachable, MAX_STATUSES_PER_TASK, recordStatus, retireTasks } from '../../master/tasks.js';
import { MAX_COMPLETED_TASKS } from '../../master/model.js';
import { masterStatus } from '../../master/events.js';
import type { TaskState, TaskStatus } from '../../sdk/protocol/index.js';

const RESOURCES = '[{"name":"cpus","type":"SCALAR","scalar":{"value":0.1},"role":"*","allocation_info":{"role":"*"}},{"name":"mem","type":"SCALAR","scalar":{"value":32},"role":"*","allocation_info":{"role":"*"}}]';

function setup(agents = 1): MasterState {
  const state = createMasterState({ id: 'm', ip: 0, port: 5050 } as never, 0);
  const fw: FrameworkRecord = {
    id: 'fw', info: { user: 'u', name: 'n' }, roles: ['*'], capabilities: new Set(), connected: true, streamId: 's',
    registeredAt: 0, suppressedRoles: new Set(), used: [], offered: [], executors: new Map(),
  };
  state.frameworks.set('fw', fw);
  for (let i = 1; i <= agents; i++) {
    state.agents.set(`a${i}`, {
      id: `a${i}`, info: { hostname: 'h' }, hostname: 'h', port: 5051, ip: '127.0.0.1', attributes: [],
      total: JSON.parse('[{"name":"cpus","type":"SCALAR","scalar":{"value":800}},{"name":"mem","type":"SCALAR","scalar":{"value":409600}}]'),
      used: [], offered: [], version: '', registeredAt: 0, active: true, missedPings: 0,
    });
  }
  return state;
}

/** A task as an ACCEPT brings it: every part parsed afresh. */
function launched(id: string, agentId = 'a1', resources = RESOURCES): TaskRecord {
  const info = JSON.parse(`{"name":"${id}","task_id":{"value":"${id}"},"agent_id":{"value":"${agentId}"},"resources":${resources},"command":{"shell":true,"value":"true"}}`);
  return { frameworkId: 'fw', agentId, executorId: undefined, info, resources: info.resources, state: 'TASK_STAGING', statuses: [] };
}

/** A status as an agent's update brings it (parsed afresh). */
function status(id: string, state: TaskState, n: number): TaskStatus {
  return JSON.parse(`{"task_id":{"value":"${id}"},"state":"${state}","source":"SOURCE_EXECUTOR","agent_id":{"value":"a1"},"executor_id":{"value":"e"},"timestamp":${n},"uuid":"u${n}"}`) as TaskStatus;
}

t.test('tasks launched alike share resources and ids; the output is what private copies give', async (t) => {
  const state = setup();
  const expected: string[] = [];
  for (const id of ['t1', 't2']) {
    const task = launched(id);
    addTask(state, task);
    for (const [i, s] of (['TASK_STARTING', 'TASK_RUNNING'] as const).entries()) {
      const st = status(id, s, i + 1);
      expected.push(JSON.stringify(st));
      applyStatus(state, task, st);
    }
  }
  const t1 = getTask(state, 'fw', 't1')!;
  const t2 = getTask(state, 'fw', 't2')!;
  t.equal(t1.resources, t2.resources, 'one resource list');
  t.equal(t1.info.resources, t1.resources, 'the TaskInfo holds the same list');
  t.equal(t1.info.agent_id, t2.info.agent_id, 'one agent id');
  t.equal(t1.statuses[0]!.task_id, t1.info.task_id, "a status's task id is the task's own");
  t.equal(t1.statuses[1]!.agent_id, t2.statuses[0]!.agent_id);
  t.equal(t1.statuses[1]!.executor_id, t2.statuses[1]!.executor_id);
  t.same([...t1.statuses, ...t2.statuses].map((s) => JSON.stringify(s)), expected, 'statuses serialise as they came');
  t.equal(JSON.stringify(t1.info), JSON.stringify(launched('t1').info), 'the TaskInfo serialises as it came');
  t.same(renderTask(t1), renderTask({ ...launched('t1'), state: 'TASK_RUNNING', statuses: [status('t1', 'TASK_STARTING', 1), status('t1', 'TASK_RUNNING', 2)] }), 'rendered as with private copies');
  t.same(state.agents.get('a1')!.used.map((r) => [r.name, r.scalar?.value]), [['cpus', 0.2], ['mem', 64]], 'both charged');
});

t.test('the history is bounded and ordered; ids that hold more than value are kept', async (t) => {
  const state = setup();
  const task = launched('t');
  addTask(state, task);
  for (let i = 1; i <= MAX_STATUSES_PER_TASK + 5; i++) {
    recordStatus(task, status('t', 'TASK_RUNNING', i));
    t.equal(task.statuses.length, Math.min(i, MAX_STATUSES_PER_TASK));
  }
  t.same(task.statuses.map((s) => s.timestamp), Array.from({ length: MAX_STATUSES_PER_TASK }, (_, i) => i + 6), 'the oldest dropped first');
  t.equal(task.latestStatus?.timestamp, MAX_STATUSES_PER_TASK + 5);
  const odd = status('t', 'TASK_RUNNING', 99);
  const oddTaskId = { value: 't', extra: 1 } as TaskStatus['task_id'];
  odd.task_id = oddTaskId;
  recordStatus(task, odd);
  t.equal(task.latestStatus!.task_id, oddTaskId, 'not swapped for a plain one');
});

t.test('retireTasks ends and retires tasks exactly as applyStatus and completeTask one by one', async (t) => {
  /** The same mix in two states: running tasks on 5 agents, some with ports, a finished unacknowledged one, an unreachable one. */
  const build = (): MasterState => {
    const state = setup(5);
    for (let i = 0; i < MAX_COMPLETED_TASKS + 300; i++) {
      const resources = i % 7 === 0 ? RESOURCES.replace(/]$/, `,{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":${31000 + i},"end":${31000 + i}}]}}]`) : RESOURCES;
      const task = launched(`t${i}`, `a${(i % 5) + 1}`, resources);
      addTask(state, task);
      applyStatus(state, task, status(task.info.task_id.value, 'TASK_RUNNING', i));
    }
    applyStatus(state, getTask(state, 'fw', 't3')!, status('t3', 'TASK_FINISHED', 9999));
    markTaskUnreachable(state, getTask(state, 'fw', 't4')!, status('t4', 'TASK_UNREACHABLE', 9998), 5);
    return state;
  };
  const kill = (task: TaskRecord): TaskStatus => masterStatus({
    taskId: task.info.task_id.value, state: 'TASK_KILLED', reason: 'REASON_FRAMEWORK_REMOVED', message: 'Framework fw removed',
    agentId: task.agentId, executorId: task.executorId, now: 123_000,
  });
  const oneByOne = build();
  for (const task of [...oneByOne.tasks.get('fw')!.values()]) {
    if (!['TASK_FINISHED', 'TASK_KILLED'].includes(task.state)) applyStatus(oneByOne, task, kill(task));
    completeTask(oneByOne, task);
  }
  const batched = build();
  t.ok(batched.agents.get('a2')!.used.length > 0, 'resources held before');
  retireTasks(batched, 'fw', [...batched.tasks.get('fw')!.values()], kill);
  const view = (s: MasterState) => ({
    used: [...s.agents.values()].map((a) => a.used),
    fwUsed: s.frameworks.get('fw')!.used,
    counters: s.counters,
    tasks: s.tasks.size,
    completed: s.completedTasks.map((x) => [x.info.task_id.value, x.state, x.unreachableSince, JSON.stringify(x.statuses), x.latestStatus?.state]),
  });
  t.same(view(batched), view(oneByOne));
  t.equal(batched.completedTasks.length, MAX_COMPLETED_TASKS, 'bounded');
  t.same(batched.agents.get('a2')!.used, [], 'every agent freed');
  t.equal(batched.counters.tasksKilled, MAX_COMPLETED_TASKS + 300 - 1);
});
