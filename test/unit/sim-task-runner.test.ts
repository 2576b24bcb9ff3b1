/**
 * The simulated task runner on a manual clock with the real status update manager:
 * timing of the states, acknowledgements ending executors, kills, task groups, framework
 * shutdown, re-registration state.
 */
import t from 'tap';
import { silentLogger } from '../../sdk/core/log.js';
import type { AgentMessage, StatusUpdate } from '../../sdk/protocol/agent.js';
import type { FrameworkInfo, TaskInfo } from '../../sdk/protocol/mesos.js';
import { StatusUpdateManager } from '../../slave/status-updates.js';
import { DEFAULT_SIM } from '../../slave/sim/task-plan.js';
import { SimTaskRunner } from '../../slave/sim/task-runner.js';
import { ManualClock } from './scheduler-helpers.js';

const FW: FrameworkInfo = { id: { value: 'fw-1' }, user: 'u', name: 'f' };

function task(id: string, labels: Record<string, string> = {}): TaskInfo {
  return {
    name: id, task_id: { value: id }, agent_id: { value: 'a-1' }, resources: [],
    command: { value: 'true' }, labels: { labels: Object.entries(labels).map(([key, value]) => ({ key, value })) },
  };
}

function setup(fw: FrameworkInfo = FW) {
  const clock = new ManualClock();
  const forwarded: StatusUpdate[] = [];
  const toMaster: AgentMessage[] = [];
  let runner!: SimTaskRunner;
  const updates = new StatusUpdateManager({
    clock, logger: silentLogger(), retryMs: 10_000, maxRetryMs: 60_000,
    forward: (u) => { forwarded.push(u); return true; },
    onAcknowledged: (u) => runner.onAcknowledged(u),
  });
  runner = new SimTaskRunner({
    clock, logger: silentLogger(), random: () => 0.5, defaults: DEFAULT_SIM, statusUpdates: updates,
    sendToMaster: (m) => { toMaster.push(m); return true; }, agentId: () => 'a-1',
  });
  /** Acknowledges the head of every stream until nothing is pending (as a framework would). */
  const ackAll = (): void => {
    for (let i = 0; i < 100; i++) {
      const heads = updates.pendingHeads();
      if (heads.length === 0) return;
      for (const h of heads) updates.acknowledge(h.framework_id.value, h.status.task_id.value, h.status.uuid!);
    }
  };
  const states = (id: string): string[] => [...new Set(forwarded.filter((u) => u.status.task_id.value === id).map((u) => u.status.uuid))]
    .map((uuid) => forwarded.find((u) => u.status.uuid === uuid)!.status.state);
  return { clock, forwarded, toMaster, updates, runner, ackAll, states };
}

t.test('states follow the plan on the clock; the executor exits once the last terminal update is acknowledged', async (t) => {
  const s = setup();
  s.runner.runTask(FW, task('a', { 'agora.sim.start_delay': '1s', 'agora.sim.duration': '5s' }));
  s.ackAll();
  t.same(s.states('a'), ['TASK_STARTING'], 'only STARTING before the start delay');
  s.clock.advance(999);
  t.same(s.states('a'), ['TASK_STARTING']);
  s.clock.advance(1);
  s.ackAll();
  t.same(s.states('a'), ['TASK_STARTING', 'TASK_RUNNING']);
  t.equal(s.runner.liveTaskCount(), 1);
  t.same(s.runner.reregistrationState().tasks.map((x) => [x.task.task_id.value, x.state, x.executor_id?.value]), [['a', 'TASK_RUNNING', 'agora-command-executor']]);
  s.clock.advance(5000);
  t.same(s.states('a'), ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);
  t.equal(s.toMaster.length, 0, 'no executor_exited before the acknowledgement');
  t.ok(s.runner.frameworks.has('fw-1'));
  s.ackAll();
  t.same(s.toMaster, [{ type: 'executor_exited', framework_id: { value: 'fw-1' }, executor_id: { value: 'agora-command-executor' }, status: 0 }]);
  t.notOk(s.runner.frameworks.has('fw-1'), 'the framework is gone with its last executor');
  t.equal(s.runner.completedFrameworks.length, 1);
  t.equal(s.runner.reregistrationState().tasks.length, 0);
});

t.test('kill during the start delay: KILLED, the timer never fires RUNNING', async (t) => {
  const s = setup();
  s.runner.runTask(FW, task('k', { 'agora.sim.start_delay': '1s' }));
  s.runner.killTask('fw-1', 'k');
  s.clock.advance(2000);
  s.ackAll();
  t.same(s.states('k'), ['TASK_STARTING', 'TASK_KILLED']);
  s.runner.killTask('fw-1', 'k');
  t.same(s.states('k'), ['TASK_STARTING', 'TASK_KILLED'], 'a kill of a completed task is ignored');
  s.runner.killTask('fw-1', 'nope');
  t.same(s.states('nope'), ['TASK_LOST'], 'a kill of an unknown task reports it lost');
});

t.test('a task group: an invalid member fails, the others are killed before they start', async (t) => {
  const s = setup();
  s.runner.runTaskGroup(FW, { executor_id: { value: 'ex' }, type: 'DEFAULT' }, { tasks: [task('g1', { 'agora.sim.exit_code': 'x' }), task('g2'), task('g3')] });
  const g1 = s.forwarded.find((u) => u.status.task_id.value === 'g1')!;
  t.equal(g1.status.state, 'TASK_FAILED');
  t.equal(g1.status.reason, 'REASON_TASK_INVALID');
  t.match(g1.status.message, /agora\.sim\.exit_code/);
  s.ackAll();
  t.same(s.states('g2'), ['TASK_KILLED']);
  t.same(s.states('g3'), ['TASK_KILLED']);
  t.equal(s.toMaster.length, 1, 'the group\'s executor exited');
});

t.test('a duplicate task id is ignored; shutdown_framework ends tasks silently and drops their updates', async (t) => {
  const s = setup();
  s.runner.runTask(FW, task('d'));
  s.runner.runTask(FW, task('d', { 'agora.sim.duration': '1s' }));
  t.equal(s.runner.liveTaskCount(), 1);
  s.runner.shutdownFramework('fw-1');
  t.equal(s.runner.liveTaskCount(), 0);
  t.same(s.updates.pendingHeads(), [], 'no update left to deliver');
  t.same(s.toMaster.map((m) => m.type), ['executor_exited']);
  t.notOk(s.runner.frameworks.has('fw-1'));
  s.clock.advance(10_000);
  t.same(s.states('d'), ['TASK_STARTING'], 'nothing more after the shutdown');
});

t.test('TASK_KILLING first for a framework that asked for it; a task without command or executor is an error', async (t) => {
  const s = setup({ ...FW, capabilities: [{ type: 'TASK_KILLING_STATE' }] });
  const fw = { ...FW, capabilities: [{ type: 'TASK_KILLING_STATE' as const }] };
  s.runner.runTask(fw, task('x'));
  s.runner.killTask('fw-1', 'x');
  s.ackAll();
  t.same(s.states('x'), ['TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING', 'TASK_KILLED']);
  const bare = task('bare');
  delete bare.command;
  s.runner.runTask(fw, bare);
  t.same(s.states('bare'), ['TASK_ERROR']);
});

t.test('tasks launched alike share their resources and ids; re-registration re-sends them as received', async (t) => {
  const s = setup();
  const json = (id: string): string => `{"name":"${id}","task_id":{"value":"${id}"},"agent_id":{"value":"a-1"},"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":0.1},"role":"*","allocation_info":{"role":"*"}},{"name":"mem","type":"SCALAR","scalar":{"value":32},"role":"*","allocation_info":{"role":"*"}}],"command":{"shell":true,"value":"true"}}`;
  s.runner.runTask(FW, JSON.parse(json('x1')) as TaskInfo);
  s.runner.runTask(FW, JSON.parse(json('x2')) as TaskInfo);
  const [a, b] = s.runner.reregistrationState().tasks;
  t.equal(a!.task.resources, b!.task.resources, 'one resource list');
  t.equal(a!.task.agent_id, b!.task.agent_id, 'one agent id');
  t.same([JSON.stringify(a!.task), JSON.stringify(b!.task)], [json('x1'), json('x2')], 'each TaskInfo serialises as received');
  const [u1, u2] = s.forwarded;
  t.equal(u1!.framework_id, u2!.framework_id, 'one framework id in every update');
  t.equal(u1!.status.executor_id, u2!.status.executor_id, 'one executor id');
  t.same(u1!.framework_id, { value: 'fw-1' });
});
