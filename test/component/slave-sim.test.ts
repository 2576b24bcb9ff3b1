/**
 * The simulated containerizer against a real master (in-process, real sockets): a slave
 * with `containerizer: 'simulated'` runs tasks through the same states and status update
 * path as real ones, without starting any process; an emulated agent
 * (createSimulatedAgent) registers, re-registers with its tasks after a restart, and dies.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { silentLogger } from '../../sdk/core/log.js';
import { systemClock } from '../../sdk/core/clock.js';
import { StaticDetector } from '../../sdk/core/leadership.js';
import type { Offer, Resource, TaskInfo } from '../../sdk/protocol/index.js';
import { parseResources } from '../../sdk/resources/index.js';
import { commandTask, matchResources, remainingResources } from '../../sdk/scheduler/index.js';
import { startSlave } from '../../slave/main.js';
import { createSimulatedAgent } from '../../slave/sim/emulated-slave.js';
import { seededRandom } from '../../slave/sim/prng.js';
import { TestFramework } from '../helpers/framework.js';
import { getJson } from '../helpers/http.js';
import { waitFor } from '../helpers/wait.js';
import { startTestMaster } from './master-kit.js';

/** A generous failure bound, not a timing assertion. */
const SOON = 20_000;
const SMALL = { cpus: 0.1, mem: 32 };

function pack(offer: Offer, tasks: Array<{ taskId: string; labels?: Record<string, string> }>): TaskInfo[] {
  let left: Resource[] = offer.resources ?? [];
  return tasks.map((x) => {
    const resources = matchResources(left, SMALL);
    if (!resources) throw new Error('offer too small');
    left = remainingResources(left, resources);
    return commandTask({ taskId: x.taskId, agentId: offer.agent_id.value, command: 'this never runs', resources, ...(x.labels ? { labels: x.labels } : {}) });
  });
}

t.test('a slave with the simulated containerizer', async (t) => {
  const master = await startTestMaster();
  t.teardown(() => master.cleanup());
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'agora-sim-slave-'));
  t.teardown(() => fs.rmSync(workDir, { recursive: true, force: true }));
  const slave = await startSlave({
    master: `127.0.0.1:${master.port}`, port: 0, host: '127.0.0.1', workDir, resources: 'cpus:4;mem:4096',
    containerizer: 'simulated', sim: { durationMs: 'forever', seed: 7 }, cleanupOnExit: true, logger: silentLogger(),
    statusUpdateRetryMs: 200,
  });
  t.teardown(() => slave.close());
  await waitFor(() => slave.agentId(), { timeoutMs: SOON, what: 'the slave to register' });
  const agentId = slave.agentId()!;
  const f = await TestFramework.start(t, `127.0.0.1:${master.port}`, { capabilities: ['TASK_KILLING_STATE'] });
  const offer = await f.offerFrom(agentId, SOON);
  f.used(offer.id.value);
  await f.scheduler.launch([offer.id.value], pack(offer, [
    { taskId: 'finishes', labels: { 'agora.sim.duration': '50ms' } },
    { taskId: 'fails', labels: { 'agora.sim.duration': '10ms', 'agora.sim.exit_code': '3' } },
    { taskId: 'forever' },
    { taskId: 'invalid', labels: { 'agora.sim.duration': 'soon' } },
    { taskId: 'delayed', labels: { 'agora.sim.start_delay': '30ms', 'agora.sim.duration': '20ms' } },
  ]));

  const finished = await f.waitForState('finishes', 'TASK_FINISHED', SOON);
  t.same(f.statesOf('finishes'), ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED'], 'STARTING, RUNNING, FINISHED in order');
  t.equal(finished.source, 'SOURCE_EXECUTOR');
  t.equal(finished.agent_id?.value, agentId);
  t.equal(finished.message, 'Command exited with status 0');

  const failed = await f.waitForState('fails', 'TASK_FAILED', SOON);
  t.same(f.statesOf('fails'), ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FAILED']);
  t.equal(failed.message, 'Command exited with status 3', 'the exit code is in the message');

  const invalid = await f.waitForState('invalid', 'TASK_FAILED', SOON);
  t.equal(invalid.reason, 'REASON_TASK_INVALID');
  t.match(invalid.message, /agora\.sim\.duration/, 'the message names the bad label');
  t.same(f.statesOf('invalid'), ['TASK_FAILED'], 'an invalid task never starts');

  await f.waitForState('delayed', 'TASK_FINISHED', SOON);
  t.same(f.statesOf('delayed'), ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);

  await f.waitForState('forever', 'TASK_RUNNING', SOON);
  const state = await getJson(`http://127.0.0.1:${slave.port}/state`);
  const fw = (state.body.frameworks as Array<{ id: string; executors: Array<{ id: string; tasks: Array<{ id: string; state: string }> }> }>).find((x) => x.id === f.id);
  t.ok(fw, 'the slave\'s /state lists the framework');
  const running = fw!.executors.flatMap((e) => e.tasks).find((x) => x.id === 'forever');
  t.equal(running?.state, 'TASK_RUNNING', '/state shows the simulated task running');

  await f.scheduler.kill('forever', agentId);
  const killed = await f.waitForState('forever', 'TASK_KILLED', SOON);
  t.same(f.statesOf('forever'), ['TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING', 'TASK_KILLED'], 'a kill: KILLING (the framework asked for it), then KILLED');
  t.equal(killed.source, 'SOURCE_EXECUTOR');

  // Resources come back through the normal terminal-update path: every task ended, the master accounts nothing used on the slave.
  const used = await waitFor(async () => {
    const r = await getJson(`http://127.0.0.1:${master.port}/master/slaves`);
    const me = (r.body.slaves as Array<{ id: string; used_resources: { cpus: number; mem: number } }>).find((x) => x.id === agentId);
    return me !== undefined && me.used_resources.cpus === 0 && me.used_resources.mem === 0 ? me.used_resources : undefined;
  }, { timeoutMs: SOON, what: 'the master to free the tasks\' resources' });
  t.same(used, { cpus: 0, gpus: 0, mem: 0, disk: 0 }, 'nothing is used on the slave once every task ended');
});

t.test('an emulated agent: registers, re-registers with its tasks after a restart, is gone after kill', async (t) => {
  const master = await startTestMaster();
  t.teardown(() => master.cleanup());
  const detector = new StaticDetector(`ws://127.0.0.1:${master.port}/api/v1/agent`);
  const agent = createSimulatedAgent({
    detector, clock: systemClock, logger: silentLogger(), random: seededRandom(1),
    hostname: 'emu-test-0', resources: parseResources('cpus:2;mem:2048'), statusUpdateRetryMs: 200,
    registrationBackoffMs: 50, registrationBackoffMaxMs: 200,
  });
  agent.start();
  t.teardown(() => agent.close());
  await waitFor(() => agent.agentId(), { timeoutMs: SOON, what: 'the emulated agent to register' });
  const agentId = agent.agentId()!;
  const slaves = await getJson(`http://127.0.0.1:${master.port}/master/slaves`);
  const listed = (slaves.body.slaves as Array<{ id: string; hostname: string; active: boolean }>).find((s) => s.id === agentId);
  t.equal(listed?.hostname, 'emu-test-0');
  t.equal(listed?.active, true);

  const f = await TestFramework.start(t, `127.0.0.1:${master.port}`);
  const offer = await f.offerFrom(agentId, SOON);
  f.used(offer.id.value);
  await f.scheduler.launch([offer.id.value], pack(offer, [{ taskId: 'long' }]));
  await f.waitForState('long', 'TASK_RUNNING', SOON);
  await waitFor(() => agent.taskCounts().unacknowledged === 0 || undefined, { timeoutMs: SOON, what: 'the updates to be acknowledged' });
  t.same(agent.taskCounts(), { live: 1, unacknowledged: 0 });

  agent.restart();
  await waitFor(() => agent.linkState === 'registered' || undefined, { timeoutMs: SOON, what: 're-registration' });
  t.equal(agent.agentId(), agentId, 'same agent id after a restart');
  const tasks = await getJson(`http://127.0.0.1:${master.port}/master/tasks`);
  const long = (tasks.body.tasks as Array<{ id: string; state: string; slave_id: string }>).find((x) => x.id === 'long');
  t.equal(long?.state, 'TASK_RUNNING', 'the master still knows the task running after the re-registration');

  await f.scheduler.kill('long', agentId);
  await f.waitForState('long', 'TASK_KILLED', SOON);
  await waitFor(() => agent.taskCounts().live === 0 || undefined, { timeoutMs: SOON, what: 'no live task' });

  agent.kill();
  t.equal(agent.linkState, 'closed');
  await waitFor(async () => {
    const s = await getJson(`http://127.0.0.1:${master.port}/master/slaves`);
    return (s.body.slaves as Array<{ id: string; active: boolean }>).some((x) => x.id === agentId && !x.active) || undefined;
  }, { timeoutMs: SOON, what: 'the master to see the agent disconnected' });
  t.pass('the master marks the killed agent inactive');
});
