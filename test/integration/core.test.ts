/**
 * The whole offer cycle on real processes: one master and two slave processes on
 * 127.0.0.1 (OS-picked ports), SDK frameworks in this test process, real commands run by
 * the slaves' executors.
 */
import t from 'tap';
import { isAlive } from '../../bin/process-sweep.js';
import type { Offer, Resource, TaskInfo } from '../../sdk/protocol/index.js';
import { commandTask, matchResources, remainingResources } from '../../sdk/scheduler/index.js';
import { cluster, type Cluster } from '../helpers/cluster.js';
import { TestFramework } from '../helpers/framework.js';
import { getJson } from '../helpers/http.js';
import { findTaskSandbox, readSandboxFile, waitForSandboxOutput } from '../helpers/sandbox.js';
import { waitFor } from '../helpers/wait.js';

/** Bound on anything the cluster should do promptly (a generous failure limit, not a timing assertion). */
const SOON = 30_000;

const SMALL = { cpus: 0.1, mem: 32 };

/** Packs one task per command into the offer (each SMALL); throws if they do not fit. */
function packTasks(offer: Offer, commands: Array<{ taskId: string; command: string; killGracePeriodMs?: number }>): TaskInfo[] {
  let left: Resource[] = offer.resources ?? [];
  return commands.map((c) => {
    const resources = matchResources(left, SMALL);
    if (!resources) throw new Error(`offer ${offer.id.value} too small for ${c.taskId}`);
    left = remainingResources(left, resources);
    return commandTask({ taskId: c.taskId, agentId: offer.agent_id.value, command: c.command, resources, killGracePeriodMs: c.killGracePeriodMs });
  });
}

/** Launches `echo $$; exec sleep 60` and returns the PID of the task's process, read from its stdout. */
async function launchSleeper(f: TestFramework, c: Cluster, taskId: string, slaveIndex = 0, filters?: { refuse_seconds: number }): Promise<number> {
  const slave = c.slaves[slaveIndex]!;
  const offer = await f.offerFrom(slave.agentId, SOON);
  f.used(offer.id.value);
  await f.scheduler.launch([offer.id.value], packTasks(offer, [{ taskId, command: 'echo $$; exec sleep 60' }]), filters);
  await f.waitForState(taskId, 'TASK_RUNNING', SOON);
  const out = await waitForSandboxOutput(slave.url, f.id, taskId, (s) => /^\d+\n/.test(s), { timeoutMs: SOON });
  return Number(out.trim());
}

t.test('with a master and two slaves', async (t) => {
  const c = await cluster(t, { slaves: 2 });

  t.test('the master lists both slaves as active', async (t) => {
    const { status, body } = await getJson(`${c.masterUrl}/master/slaves`);
    t.equal(status, 200);
    const active = (body.slaves as Array<{ id: string; active: boolean }>).filter((s) => s.active).map((s) => s.id).sort();
    t.same(active, c.slaves.map((s) => s.agentId).sort());
  });

  t.test('tasks run real commands on both slaves and finish; stdout is readable through /files/read', async (t) => {
    const f = await TestFramework.start(t, c.masterAddress, { info: { name: 'core-batch' } });
    const launched: Array<{ taskId: string; slave: (typeof c.slaves)[number] }> = [];
    for (const [i, slave] of c.slaves.entries()) {
      const offer = await f.offerFrom(slave.agentId, SOON);
      t.equal(offer.url?.address.port, slave.port, 'the offer carries the slave\'s URL');
      const commands = [0, 1].map((k) => ({ taskId: `echo-${i}-${k}`, command: `echo hello from echo-${i}-${k}` }));
      f.used(offer.id.value);
      await f.scheduler.launch([offer.id.value], packTasks(offer, commands));
      for (const cmd of commands) launched.push({ taskId: cmd.taskId, slave });
    }
    for (const { taskId, slave } of launched) {
      const finished = await f.waitForState(taskId, 'TASK_FINISHED', SOON);
      t.equal(finished.agent_id?.value, slave.agentId, `${taskId} ran on ${slave.agentId}`);
      const states = f.statesOf(taskId);
      t.ok(states.indexOf('TASK_RUNNING') >= 0 && states.indexOf('TASK_RUNNING') < states.indexOf('TASK_FINISHED'), `${taskId}: RUNNING before FINISHED (${states.join(' → ')})`);
      const sandbox = await findTaskSandbox(slave.url, f.id, taskId);
      t.ok(sandbox, `the slave's /state names ${taskId}'s sandbox`);
      t.equal(await readSandboxFile(slave.url, `${sandbox}/stdout`), `hello from ${taskId}\n`, `${taskId}'s stdout`);
    }
  });

  t.test('kill gives a SIGTERM-trapping task its grace period, then TASK_KILLED', async (t) => {
    const f = await TestFramework.start(t, c.masterAddress, { info: { name: 'core-kill' } });
    const slave = c.slaves[1]!;
    const offer = await f.offerFrom(slave.agentId, SOON);
    const taskId = 'trapper';
    const command = 'trap \'echo got-term; sleep 0.5; echo still-alive-after-term; exit 0\' TERM; echo ready; while true; do sleep 0.1; done';
    f.used(offer.id.value);
    await f.scheduler.launch([offer.id.value], packTasks(offer, [{ taskId, command, killGracePeriodMs: 20_000 }]));
    await f.waitForState(taskId, 'TASK_RUNNING', SOON);
    await waitForSandboxOutput(slave.url, f.id, taskId, (s) => s.includes('ready'), { timeoutMs: SOON });
    await f.scheduler.kill(taskId, slave.agentId);
    const killed = await f.waitForState(taskId, (s) => s === 'TASK_KILLED' || s === 'TASK_FAILED' || s === 'TASK_FINISHED', SOON);
    t.equal(killed.state, 'TASK_KILLED');
    const sandbox = await findTaskSandbox(slave.url, f.id, taskId);
    const stdout = await readSandboxFile(slave.url, `${sandbox}/stdout`);
    t.match(stdout, /got-term/, 'the task received SIGTERM');
    t.match(stdout, /still-alive-after-term/, 'and was not SIGKILLed before its handler finished');
  });

  t.test('TEARDOWN kills the framework\'s tasks', async (t) => {
    const f = await TestFramework.start(t, c.masterAddress, { info: { name: 'core-teardown' }, teardown: false });
    const pid = await launchSleeper(f, c, 'sleeper-teardown', 0);
    t.ok(isAlive(pid), `the task's process ${pid} runs`);
    const frameworkId = f.id;
    await t.resolves(f.scheduler.teardown(), 'TEARDOWN is accepted');
    await waitFor(() => !isAlive(pid), { timeoutMs: SOON, what: `task process ${pid} to be gone` });
    t.pass(`the task's process ${pid} is gone`);
    const { body } = await getJson(`${c.masterUrl}/master/frameworks`);
    t.notOk((body.frameworks as Array<{ id: string }>).some((fw) => fw.id === frameworkId), 'the master no longer lists the framework as active');
  });

  t.test('a framework that resubscribes within its failover_timeout keeps its tasks', async (t) => {
    const info = { name: 'core-failover', failover_timeout: 120 };
    const first = await TestFramework.start(t, c.masterAddress, { info, teardown: false });
    const taskId = 'sleeper-failover';
    const pid = await launchSleeper(first, c, taskId, 1);
    const frameworkId = first.id;
    await first.scheduler.stop(); // the stream closes; no TEARDOWN

    const second = await TestFramework.start(t, c.masterAddress, { info: { ...info, id: { value: frameworkId } } });
    t.equal(second.id, frameworkId, 'resubscribed as the same framework');
    await second.scheduler.reconcile([{ taskId, agentId: c.slaves[1]!.agentId }]);
    const status = await second.updates.waitFor((u) => u.task_id.value === taskId, SOON, `a reconciliation update for ${taskId}`);
    t.equal(status.state, 'TASK_RUNNING', 'the task is still running');
    t.ok(isAlive(pid), `its process ${pid} is still alive`);
  });

  t.test('a framework that does not come back within its failover_timeout has its tasks killed', async (t) => {
    const f = await TestFramework.start(t, c.masterAddress, { info: { name: 'core-failover-expired', failover_timeout: 1 }, teardown: false });
    const pid = await launchSleeper(f, c, 'sleeper-abandoned', 0);
    const frameworkId = f.id;
    await f.scheduler.stop();
    await waitFor(() => !isAlive(pid), { timeoutMs: SOON, what: `task process ${pid} to be killed after the failover timeout` });
    t.pass(`the task's process ${pid} is gone`);
    const { body } = await getJson(`${c.masterUrl}/master/frameworks`);
    t.notOk((body.frameworks as Array<{ id: string }>).some((fw) => fw.id === frameworkId), 'the master removed the framework');
  });
});

t.test('a SIGKILLed slave: offers rescinded, tasks TASK_LOST / TASK_UNREACHABLE', async (t) => {
  const c = await cluster(t, { slaves: 2, masterArgs: ['--agent-ping-timeout', '200ms', '--max-agent-ping-timeouts', '3'] });
  const [victim, survivor] = c.slaves as [Cluster['slaves'][number], Cluster['slaves'][number]];

  // A (not partition-aware) runs a task on the victim and filters the rest of it away, so
  // that B (partition-aware) gets the victim's remaining resources.
  const a = await TestFramework.start(t, c.masterAddress, { info: { name: 'lost-a' } });
  const aOffer = await a.offerFrom(victim.agentId, SOON);
  a.used(aOffer.id.value);
  await a.scheduler.launch([aOffer.id.value], packTasks(aOffer, [{ taskId: 'task-a', command: 'exec sleep 60' }]), { refuse_seconds: 3600 });
  const aOther = await a.offerFrom(survivor.agentId, SOON);
  a.used(aOther.id.value);
  await a.scheduler.decline([aOther.id.value], { refuse_seconds: 3600 });
  await a.waitForState('task-a', 'TASK_RUNNING', SOON);

  const b = await TestFramework.start(t, c.masterAddress, { info: { name: 'unreachable-b' }, capabilities: ['PARTITION_AWARE'] });
  const bOffer = await b.offerFrom(victim.agentId, SOON);
  b.used(bOffer.id.value);
  await b.scheduler.launch([bOffer.id.value], packTasks(bOffer, [{ taskId: 'task-b', command: 'exec sleep 60' }]), { refuse_seconds: 0 });
  await b.waitForState('task-b', 'TASK_RUNNING', SOON);
  // The unused part comes back to B (A filtered the victim): an offer outstanding when the slave dies.
  const outstanding = await b.offerFrom(victim.agentId, SOON);

  victim.proc.signal('SIGKILL');

  const rescinded = await b.rescinds.waitFor((id) => id === outstanding.id.value, SOON, `RESCIND of ${outstanding.id.value}`);
  t.equal(rescinded, outstanding.id.value, 'the dead slave\'s outstanding offer is rescinded');
  const lost = await a.waitForState('task-a', (s) => s !== 'TASK_STARTING' && s !== 'TASK_RUNNING', SOON);
  t.equal(lost.state, 'TASK_LOST', 'a framework that is not partition-aware sees TASK_LOST');
  const unreachable = await b.waitForState('task-b', (s) => s !== 'TASK_STARTING' && s !== 'TASK_RUNNING', SOON);
  t.equal(unreachable.state, 'TASK_UNREACHABLE', 'a partition-aware framework sees TASK_UNREACHABLE');

  const { body } = await getJson(`${c.masterUrl}/master/slaves`);
  t.notOk((body.slaves as Array<{ id: string; active?: boolean }>).some((s) => s.id === victim.agentId && s.active), 'the master no longer counts the slave as active');
});
