/**
 * Partitions (issue 5): agents marked unreachable (registry first, then TASK_UNREACHABLE /
 * TASK_LOST), their tasks kept for reconciliation and the operator endpoints, agents coming
 * back (tasks reported again with REASON_AGENT_REREGISTERED, resources charged again), the
 * agent-removal rate limit, and the registry GC (a forgotten agent that returns is shut down). A real master on 127.0.0.1:0 with its file
 * registry in a temp dir, fake slaves on real WebSockets, a manual clock.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import t from 'tap';
import type { Resource, SchedulerEvent, TaskStatus } from '../../sdk/protocol/index.js';
import { startMaster } from '../../master/main.js';
import { readFileRegistrySync } from '../../master/registry/index.js';
import { FakeSlave, Inbox, ManualClock, TestScheduler, frameworkInfo, launchCall, scalar, startTestMaster } from './master-kit.js';

type TestMaster = Awaited<ReturnType<typeof startTestMaster>>;

const PARTITION_AWARE = frameworkInfo({ name: 'pa', capabilities: [{ type: 'PARTITION_AWARE' }] });
const NOT_PARTITION_AWARE = frameworkInfo({ name: 'legacy' });
const SLAVE_RESOURCES: Resource[] = [scalar('cpus', 4), scalar('mem', 4096)];
const TASK_RESOURCES: Resource[] = [scalar('cpus', 1), scalar('mem', 128)];

/** The registry document as stored in the master's work dir (snapshot plus log). */
function registryOf(m: TestMaster): { agents: Record<string, unknown>; unreachable: Record<string, number> } {
  return readFileRegistrySync(workDirOf(m)) as never;
}

const workDirs = new WeakMap<object, string>();
function workDirOf(m: TestMaster): string {
  return workDirs.get(m.master)!;
}

/** A master whose log lines can be awaited (for work that has no other visible event). */
async function startMasterWithLogs(opts: Parameters<typeof startTestMaster>[0]): Promise<{ m: TestMaster; logs: Inbox<Record<string, unknown>> }> {
  const logs = new Inbox<Record<string, unknown>>();
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const workDir = mkdtempSync(path.join(tmpdir(), 'agora-partitions-'));
  const running = await startMaster({ port: 0, host: '127.0.0.1', workDir, logger: pino({ level: 'info' }, sink), ...opts });
  const m: TestMaster = {
    ...running,
    host: '127.0.0.1',
    async cleanup() {
      await running.close();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
  workDirs.set(m.master, workDir);
  return { m, logs };
}

/** Launches one task on the first offer of `agentId` the scheduler gets; resolves once the slave has it. */
async function launchOne(s: TestScheduler, slave: FakeSlave, taskId: string): Promise<void> {
  const offers = await s.next('OFFERS', (e) => e.offers!.offers!.some((o) => o.agent_id.value === slave.agentId), 10_000);
  const offer = offers.offers!.offers!.find((o) => o.agent_id.value === slave.agentId)!;
  const res = await s.call(launchCall([offer.id.value], slave.agentId, taskId, TASK_RESOURCES));
  if (res.status !== 202) throw new Error(`ACCEPT answered ${res.status}: ${res.body}`);
  await slave.next('run_task', (m) => m.task.task_id.value === taskId, 10_000);
}

/** Stops answering pings and advances ping periods until the master starts removing the agent. */
/**
 * A master on a manual clock with one fake slave (`hostname`) running `taskId` for a
 * partition-aware scheduler: where most partition tests start.
 */
async function oneTaskOnOneAgent(
  t: { teardown(fn: () => unknown): void },
  opts: Omit<Parameters<typeof startTestMaster>[0], 'clock'>,
  hostname: string,
  taskId: string,
): Promise<{ clock: ManualClock; m: TestMaster; logs: Inbox<Record<string, unknown>>; slave: FakeSlave; agentId: string; pa: TestScheduler }> {
  const clock = new ManualClock();
  const { m, logs } = await startMasterWithLogs({ clock, ...opts });
  t.teardown(() => m.cleanup());
  const slave = new FakeSlave(m.port);
  const agentId = await slave.register(SLAVE_RESOURCES, hostname, 5051);
  const pa = new TestScheduler(m.port);
  await pa.subscribe(PARTITION_AWARE);
  t.teardown(() => pa.disconnect());
  await launchOne(pa, slave, taskId);
  return { clock, m, logs, slave, agentId, pa };
}

async function partition(m: TestMaster, clock: ManualClock, slave: FakeSlave): Promise<void> {
  slave.autoPong = false;
  for (let i = 0; i < 10 && m.state.agents.get(slave.agentId)?.active === true; i++) {
    clock.advance(1000);
    if (m.state.agents.get(slave.agentId)?.active === true) await slave.next('ping');
  }
  if (m.state.agents.get(slave.agentId)?.active !== false) throw new Error('the agent was not deactivated');
}

function update(s: TestScheduler, taskId: string, pred: (st: TaskStatus) => boolean = () => true): Promise<SchedulerEvent> {
  return s.next('UPDATE', (e) => e.update!.status.task_id.value === taskId && pred(e.update!.status), 10_000);
}

function cpusOf(rs: readonly Resource[]): number {
  return rs.filter((r) => r.name === 'cpus').reduce((sum, r) => sum + (r.scalar?.value ?? 0), 0);
}

async function getJson(m: TestMaster, p: string): Promise<Record<string, any>> {
  const res = await fetch(`http://127.0.0.1:${m.port}${p}`);
  return (await res.json()) as Record<string, any>;
}

t.test('an agent that stops answering: registry first, then TASK_UNREACHABLE / TASK_LOST; tasks kept', async (t) => {
  const { clock, m, slave, agentId, pa } = await oneTaskOnOneAgent(t, { agentPingTimeoutMs: 1000, maxAgentPingTimeouts: 2 }, 'partitioned', 'pa-task');
  t.teardown(() => slave.close());
  const legacy = new TestScheduler(m.port);
  await legacy.subscribe(NOT_PARTITION_AWARE);
  t.teardown(() => legacy.disconnect());
  await launchOne(legacy, slave, 'legacy-task');
  t.same(Object.keys(registryOf(m).agents), [agentId], 'admitted');

  await partition(m, clock, slave);
  const markedAt = clock.now();
  const unreachable = await update(pa, 'pa-task');
  // The update goes out only after the registry write: the file already says so.
  const reg = registryOf(m);
  t.same(reg.unreachable, { [agentId]: markedAt }, 'the registry recorded it before the updates went out');
  t.same(reg.agents, {});
  t.match(unreachable.update!.status, {
    state: 'TASK_UNREACHABLE', reason: 'REASON_AGENT_REMOVED', source: 'SOURCE_MASTER',
    agent_id: { value: agentId }, unreachable_time: { nanoseconds: markedAt * 1e6 },
  });
  t.equal(unreachable.update!.status.uuid, undefined, 'no acknowledgement needed');
  const lost = await update(legacy, 'legacy-task');
  t.match(lost.update!.status, { state: 'TASK_LOST', reason: 'REASON_AGENT_REMOVED' });
  t.equal(lost.update!.status.unreachable_time, undefined);
  t.equal(await slave.closedPromise, 1000, 'the old connection is closed');

  // The master keeps both tasks (they hold no resources any more).
  t.notOk(m.state.agents.has(agentId));
  t.equal(m.state.unreachableAgents.get(agentId), markedAt);
  t.equal(m.state.tasks.get(pa.frameworkId)?.get('pa-task')?.state, 'TASK_UNREACHABLE');
  t.equal(m.state.tasks.get(legacy.frameworkId)?.get('legacy-task')?.state, 'TASK_UNREACHABLE');
  t.equal(cpusOf(m.state.frameworks.get(pa.frameworkId)!.used), 0);
  t.equal(cpusOf(m.state.frameworks.get(legacy.frameworkId)!.used), 0);

  // Reconciliation, explicit (without and with the agent id) and implicit.
  await pa.call({ type: 'RECONCILE', reconcile: { tasks: [{ task_id: { value: 'pa-task' } }] } });
  t.match((await update(pa, 'pa-task')).update!.status, {
    state: 'TASK_UNREACHABLE', reason: 'REASON_RECONCILIATION', unreachable_time: { nanoseconds: markedAt * 1e6 },
  });
  await pa.call({ type: 'RECONCILE', reconcile: {} });
  t.match((await update(pa, 'pa-task')).update!.status, { state: 'TASK_UNREACHABLE', reason: 'REASON_RECONCILIATION' });
  await legacy.call({ type: 'RECONCILE', reconcile: { tasks: [{ task_id: { value: 'legacy-task' }, agent_id: { value: agentId } }] } });
  const legacyAnswer = (await update(legacy, 'legacy-task')).update!.status;
  t.match(legacyAnswer, { state: 'TASK_LOST', reason: 'REASON_RECONCILIATION' });
  t.equal(legacyAnswer.unreachable_time, undefined);
  // KILL of an unreachable task has nobody to go to: answered by reconciliation.
  await pa.call({ type: 'KILL', kill: { task_id: { value: 'pa-task' } } });
  t.match((await update(pa, 'pa-task')).update!.status, { state: 'TASK_UNREACHABLE' });

  // The operator endpoints show them as unreachable.
  const state = await getJson(m, '/master/state');
  const fw = state.frameworks.find((f: any) => f.id === pa.frameworkId);
  t.same(fw.unreachable_tasks.map((x: any) => [x.id, x.state, x.slave_id]), [['pa-task', 'TASK_UNREACHABLE', agentId]]);
  t.same(fw.tasks, []);
  t.equal(state.unreachable_slaves, 1);
  const tasks = await getJson(m, '/master/tasks');
  t.same(tasks.tasks.map((x: any) => x.id).sort(), ['legacy-task', 'pa-task']);
});

t.test('an unreachable agent comes back: re-admitted, partition-aware tasks reported RUNNING, the others killed, resources charged again', async (t) => {
  const { clock, m, logs, slave, agentId, pa } = await oneTaskOnOneAgent(t, { agentPingTimeoutMs: 1000, maxAgentPingTimeouts: 2 }, 'returning', 'pa-task');
  const legacy = new TestScheduler(m.port);
  await legacy.subscribe(NOT_PARTITION_AWARE);
  t.teardown(() => legacy.disconnect());
  await launchOne(legacy, slave, 'legacy-task');
  const runPa = slave.messages.all.find((x) => x.type === 'run_task' && x.task.task_id.value === 'pa-task');
  const runLegacy = slave.messages.all.find((x) => x.type === 'run_task' && x.task.task_id.value === 'legacy-task');
  if (runPa?.type !== 'run_task' || runLegacy?.type !== 'run_task') throw new Error('run_task not seen');

  slave.terminate(); // the socket dies: removal after the ping budget
  await logs.next((l) => l.msg === 'agent disconnected', 10_000, 'the disconnect');
  clock.advance(2000);
  await update(pa, 'pa-task', (st) => st.state === 'TASK_UNREACHABLE');
  await update(legacy, 'legacy-task', (st) => st.state === 'TASK_LOST');
  t.ok(m.state.unreachableAgents.has(agentId));

  const back = new FakeSlave(m.port);
  await back.connect();
  t.teardown(() => back.close());
  back.send({
    type: 'reregister',
    agent_id: { value: agentId },
    agent_info: { hostname: 'returning', port: 5051, resources: SLAVE_RESOURCES },
    frameworks: [runPa.framework, runLegacy.framework],
    tasks: [
      { framework_id: { value: pa.frameworkId }, task: runPa.task, state: 'TASK_RUNNING' },
      { framework_id: { value: legacy.frameworkId }, task: runLegacy.task, state: 'TASK_RUNNING' },
    ],
  });
  t.equal((await back.next('reregistered')).agent_id.value, agentId);
  const reg = registryOf(m);
  t.ok(reg.agents[agentId], 'admitted again');
  t.same(reg.unreachable, {}, 'no longer unreachable in the registry');
  t.notOk(m.state.unreachableAgents.has(agentId));

  const again = (await update(pa, 'pa-task', (st) => st.state === 'TASK_RUNNING')).update!.status;
  t.match(again, { state: 'TASK_RUNNING', reason: 'REASON_AGENT_REREGISTERED', source: 'SOURCE_MASTER', agent_id: { value: agentId } }, 'pa-task');
  t.equal(again.uuid, undefined);
  t.equal(m.state.tasks.get(pa.frameworkId)?.get('pa-task')?.state, 'TASK_RUNNING');
  t.equal(cpusOf(m.state.frameworks.get(pa.frameworkId)!.used), 1, 'pa-task charged to its framework again');

  // The legacy framework was told TASK_LOST: its task is killed, never reported running again.
  const kill = await back.next('kill_task');
  t.same([kill.framework_id.value, kill.task_id.value], [legacy.frameworkId, 'legacy-task'], 'the legacy task is killed on the agent');
  t.equal(m.state.tasks.get(legacy.frameworkId)?.get('legacy-task')?.state, 'TASK_KILLING');
  t.equal(cpusOf(m.state.frameworks.get(legacy.frameworkId)!.used), 1, 'charged until the agent reports it ended');
  const agent = m.state.agents.get(agentId)!;
  t.equal(cpusOf(agent.used), 2, 'both tasks charged to the agent again');
  // Barrier: a ping sent after the re-registration arrives after anything sent before it.
  clock.advance(1000);
  await back.next('ping');
  t.notOk(legacy.events.has((e) => e.type === 'UPDATE' && e.update!.status.task_id.value === 'legacy-task' && e.update!.status.state === 'TASK_RUNNING'),
    'no TASK_RUNNING after the TASK_LOST');
  t.notOk(back.messages.has((x) => x.type === 'shutdown_framework' || x.type === 'shutdown' || (x.type === 'kill_task' && x.task_id.value === 'pa-task')));

  // The allocator never offers more than the agent has left.
  m.master.allocateNow();
  t.ok(cpusOf(agent.offered) <= 2, 'at most what the returning tasks left');
  t.ok(cpusOf(agent.used) + cpusOf(agent.offered) <= 4, 'used + offered within the agent\'s total');

  // Reconciliation now answers the live state.
  await pa.call({ type: 'RECONCILE', reconcile: { tasks: [{ task_id: { value: 'pa-task' } }] } });
  t.match((await update(pa, 'pa-task', (st) => st.reason === 'REASON_RECONCILIATION')).update!.status, { state: 'TASK_RUNNING' });
});

t.test('an unreachable task the returning agent no longer has is TASK_GONE (partition-aware)', async (t) => {
  const { clock, m, slave, agentId, pa } = await oneTaskOnOneAgent(t, { agentPingTimeoutMs: 1000, maxAgentPingTimeouts: 1 }, 'h', 'vanished');
  await partition(m, clock, slave);
  await update(pa, 'vanished', (st) => st.state === 'TASK_UNREACHABLE');

  const back = new FakeSlave(m.port);
  await back.connect();
  t.teardown(() => back.close());
  back.send({ type: 'reregister', agent_id: { value: agentId }, agent_info: { hostname: 'h', port: 5051, resources: SLAVE_RESOURCES }, tasks: [] });
  await back.next('reregistered');
  t.match((await update(pa, 'vanished', (st) => st.state !== 'TASK_UNREACHABLE')).update!.status, { state: 'TASK_GONE', source: 'SOURCE_MASTER' });
  t.equal(m.state.tasks.get(pa.frameworkId)?.get('vanished'), undefined, 'retired');
  t.equal(cpusOf(m.state.agents.get(agentId)!.used), 0, 'nothing charged');
  t.equal(cpusOf(m.state.frameworks.get(pa.frameworkId)!.used), 0, 'no double release either');
});

t.test('a returning agent with updates of a task still unacknowledged: its stream, not a master update, brings the states', async (t) => {
  const { clock, m, slave, agentId, pa } = await oneTaskOnOneAgent(t, { agentPingTimeoutMs: 1000, maxAgentPingTimeouts: 1 }, 'h', 'finished-meanwhile');
  const run = slave.messages.all.find((x) => x.type === 'run_task');
  if (run?.type !== 'run_task') throw new Error('run_task not seen');
  await partition(m, clock, slave);
  await update(pa, 'finished-meanwhile', (st) => st.state === 'TASK_UNREACHABLE');

  // The task ran and finished while the agent was cut off; none of its updates was
  // acknowledged, so the agent reports TASK_FINISHED as the latest state and the head of
  // its stream (TASK_RUNNING) as unacknowledged.
  const back = new FakeSlave(m.port);
  await back.connect();
  t.teardown(() => back.close());
  const head = { framework_id: { value: pa.frameworkId }, status: { task_id: { value: 'finished-meanwhile' }, state: 'TASK_RUNNING' as const, source: 'SOURCE_EXECUTOR' as const, uuid: 'aGVhZA==', agent_id: { value: agentId }, timestamp: 1 } };
  back.send({
    type: 'reregister',
    agent_id: { value: agentId },
    agent_info: { hostname: 'h', port: 5051, resources: SLAVE_RESOURCES },
    frameworks: [run.framework],
    tasks: [{ framework_id: { value: pa.frameworkId }, task: run.task, state: 'TASK_FINISHED' }],
    unacknowledged_updates: [head],
  });
  await back.next('reregistered');
  const next = (await update(pa, 'finished-meanwhile', (st) => st.state !== 'TASK_UNREACHABLE')).update!.status;
  t.match(next, { state: 'TASK_RUNNING', source: 'SOURCE_EXECUTOR', uuid: 'aGVhZA==' }, 'the stream\'s head comes first');
  clock.advance(1000);
  await back.next('ping'); // barrier: anything the master sent about the re-registration came before
  t.notOk(pa.events.has((e) => e.type === 'UPDATE' && e.update!.status.reason === 'REASON_AGENT_REREGISTERED'),
    'no master update with the latest state overtaking the stream');
});

t.test('agent removal rate limit: one removal per period; an agent that answers while queued stays', async (t) => {
  const clock = new ManualClock();
  const { m } = await startMasterWithLogs({ clock, agentPingTimeoutMs: 1000, maxAgentPingTimeouts: 1, agentRemovalRateLimit: '1/10secs' });
  t.teardown(() => m.cleanup());
  const slaves = [new FakeSlave(m.port), new FakeSlave(m.port), new FakeSlave(m.port)];
  for (const [i, s] of slaves.entries()) {
    s.autoPong = false;
    await s.register(SLAVE_RESOURCES, `host-${i}`, 5051);
    t.teardown(() => s.close());
  }
  const [s1, s2, s3] = slaves as [FakeSlave, FakeSlave, FakeSlave];
  const active = (s: FakeSlave): boolean => m.state.agents.get(s.agentId)?.active === true;
  /** Waits until everything `s` sent so far is handled (a retried register is answered in order). */
  const barrier = async (s: FakeSlave): Promise<void> => {
    s.send({ type: 'register', agent_info: { hostname: 'x', port: 5051, resources: SLAVE_RESOURCES } });
    await s.next('registered');
  };

  clock.advance(1000); // first pings, unanswered
  for (const s of slaves) await s.next('ping');
  clock.advance(1000); // all three fail at once
  t.notOk(active(s1), 'the first removal goes at once');
  t.ok(active(s2) && active(s3), 'the others wait for the rate limit');
  t.equal(m.master.ctx.removals.size, 2);

  // s3 answers a ping while queued: its removal is dropped.
  await s3.next('ping');
  s3.send({ type: 'pong' });
  await barrier(s3);
  t.notOk(m.master.ctx.removals.has(s3.agentId));
  s3.autoPong = true;

  const start = clock.now();
  for (let i = 1; i <= 10; i++) {
    clock.advance(1000);
    await s3.next('ping');
    await barrier(s3); // its pong is handled before time moves on
    if (i < 10) t.ok(active(s2), `s2 still queued ${i}s later`);
  }
  t.equal(clock.now() - start, 10_000);
  t.notOk(active(s2), 's2 released one period after s1');
  for (let i = 0; i < 10; i++) {
    clock.advance(1000);
    await s3.next('ping');
    await barrier(s3);
  }
  t.ok(active(s3), 's3 is never removed');
  t.equal(await s1.closedPromise, 1000);
  t.equal(await s2.closedPromise, 1000);
  t.same(new Set(m.state.unreachableAgents.keys()), new Set([s1.agentId, s2.agentId]));
  const reg = registryOf(m);
  t.same(Object.keys(reg.agents), [s3.agentId]);
  t.same(Object.keys(reg.unreachable).sort(), [s1.agentId, s2.agentId].sort());
  t.equal(m.state.counters.slaveRemovals, 2);
});

t.test('a disconnected agent queued behind the rate limit is kept when it re-registers', async (t) => {
  const clock = new ManualClock();
  const { m, logs } = await startMasterWithLogs({ clock, agentPingTimeoutMs: 1000, maxAgentPingTimeouts: 1, agentRemovalRateLimit: '1/5secs' });
  t.teardown(() => m.cleanup());
  const first = new FakeSlave(m.port);
  await first.register(SLAVE_RESOURCES, 'a', 5051);
  const second = new FakeSlave(m.port);
  const secondId = await second.register(SLAVE_RESOURCES, 'b', 5052);
  first.terminate();
  second.terminate();
  await logs.next((l) => l.msg === 'agent disconnected', 10_000, 'the first disconnect');
  await logs.next((l) => l.msg === 'agent disconnected', 10_000, 'the second disconnect');
  t.ok([...m.state.agents.values()].every((a) => !a.active), 'both deactivated');
  clock.advance(1000);
  t.equal(m.master.ctx.removals.size, 1, 'one removed, one queued for 5 seconds');
  const queued = m.master.ctx.removals.has(secondId) ? second : first;
  const back = new FakeSlave(m.port);
  await back.connect();
  t.teardown(() => back.close());
  back.send({ type: 'reregister', agent_id: { value: queued.agentId }, agent_info: { hostname: queued === second ? 'b' : 'a', port: queued === second ? 5052 : 5051, resources: SLAVE_RESOURCES } });
  await back.next('reregistered');
  t.equal(m.master.ctx.removals.size, 0);
  // Past the time it would have been released (healthy meanwhile: each pong handled before time moves on).
  for (let i = 0; i < 6; i++) {
    clock.advance(1000);
    await back.next('ping');
    back.send({ type: 'register', agent_info: { hostname: 'x', port: 5051, resources: SLAVE_RESOURCES } });
    await back.next('registered');
  }
  t.equal(m.state.agents.get(queued.agentId)?.active, true, 'kept');
  t.notOk(m.state.unreachableAgents.has(queued.agentId));
});

t.test('registry GC forgets old unreachable agents; one coming back later is told to shut down, its tasks TASK_GONE', async (t) => {
  const { clock, m, logs, slave, agentId, pa } = await oneTaskOnOneAgent(t, { agentPingTimeoutMs: 1000, maxAgentPingTimeouts: 1, registryMaxAgentAgeMs: 60_000, registryGcIntervalMs: 10_000 }, 'old', 'old-task');
  const runOld = slave.messages.all.find((x) => x.type === 'run_task');
  if (runOld?.type !== 'run_task') throw new Error('run_task not seen');
  await partition(m, clock, slave);
  await update(pa, 'old-task', (st) => st.state === 'TASK_UNREACHABLE');
  const markedAt = m.state.unreachableAgents.get(agentId)!;
  t.same(registryOf(m).unreachable, { [agentId]: markedAt });

  // GC rounds before the age is reached keep it.
  clock.advance(50_000);
  t.ok(m.state.unreachableAgents.has(agentId), 'younger than the age: kept');
  clock.advance(20_000);
  await logs.next((l) => l.msg === 'registry GC forgot unreachable agents', 10_000, 'the GC round');
  t.same(registryOf(m).unreachable, {}, 'pruned from the registry');
  t.notOk(m.state.unreachableAgents.has(agentId));
  t.equal(m.state.tasks.get(pa.frameworkId)?.get('old-task'), undefined, 'its tasks are forgotten too');
  await pa.call({ type: 'RECONCILE', reconcile: { tasks: [{ task_id: { value: 'old-task' }, agent_id: { value: agentId } }] } });
  t.match((await update(pa, 'old-task')).update!.status, { state: 'TASK_UNKNOWN' }, 'the master knows nothing of it any more');

  t.same(Object.keys((registryOf(m) as unknown as { gone: Record<string, number> }).gone), [agentId], 'remembered as gone in the registry');

  // The forgotten agent comes back: not admitted; told to shut down (it kills its tasks and
  // registers afresh), and the partition-aware framework gets TASK_GONE for what it reports.
  const back = new FakeSlave(m.port);
  await back.connect();
  t.teardown(() => back.close());
  back.send({
    type: 'reregister',
    agent_id: { value: agentId },
    agent_info: { hostname: 'old', port: 5051, resources: SLAVE_RESOURCES },
    frameworks: [runOld.framework],
    tasks: [{ framework_id: { value: pa.frameworkId }, task: runOld.task, state: 'TASK_RUNNING' }],
  });
  t.match(await back.next('shutdown'), { type: 'shutdown', message: /gone/ }, 'told to shut down');
  t.match((await update(pa, 'old-task')).update!.status, { state: 'TASK_GONE', reason: 'REASON_AGENT_REMOVED', source: 'SOURCE_MASTER' });
  t.notOk(m.state.agents.has(agentId), 'not admitted');
  t.notOk(registryOf(m).agents[agentId], 'not in the registry\'s admitted agents');
  t.notOk(back.messages.has((x) => x.type === 'reregistered'), 'no reregistered answer');
  t.equal(m.state.tasks.get(pa.frameworkId)?.get('old-task'), undefined, 'the task stays forgotten');

  // It registers afresh (what a slave does after `shutdown`): a new id, admitted as usual.
  const fresh = new FakeSlave(m.port);
  t.teardown(() => fresh.close());
  const freshId = await fresh.register(SLAVE_RESOURCES, 'old', 5051);
  t.not(freshId, agentId, 'a new agent id');
  t.ok(registryOf(m).agents[freshId], 'the new id is admitted');
});

t.test('out-of-order agent messages change nothing', async (t) => {
  const { clock, m, slave, agentId, pa } = await oneTaskOnOneAgent(t, { agentPingTimeoutMs: 1000, maxAgentPingTimeouts: 1 }, 'h', 'task-1');
  await partition(m, clock, slave);
  await update(pa, 'task-1', (st) => st.state === 'TASK_UNREACHABLE');

  // The unreachable agent's new socket sends updates and pongs without re-registering.
  const ghost = new FakeSlave(m.port);
  await ghost.connect();
  t.teardown(() => ghost.close());
  ghost.send({ type: 'status_update', update: { framework_id: { value: pa.frameworkId }, status: { task_id: { value: 'task-1' }, state: 'TASK_FINISHED', agent_id: { value: agentId } } } });
  t.match((await ghost.next('error')).message, /before registration/);
  ghost.send({ type: 'pong' });
  t.match((await ghost.next('error')).message, /before registration/);
  ghost.send({ type: 'executor_exited', framework_id: { value: pa.frameworkId }, executor_id: { value: 'e' } });
  t.match((await ghost.next('error')).message, /before registration/);
  t.equal(m.state.tasks.get(pa.frameworkId)?.get('task-1')?.state, 'TASK_UNREACHABLE', 'unchanged');
  t.ok(m.state.unreachableAgents.has(agentId));
  t.notOk(m.state.agents.has(agentId));

  // A re-registration naming frameworks and tasks the master never heard of is accepted.
  ghost.send({
    type: 'reregister',
    agent_id: { value: agentId },
    agent_info: { hostname: 'h', port: 5051, resources: SLAVE_RESOURCES },
    tasks: [{
      framework_id: { value: 'no-such-framework' },
      task: { name: 'x', task_id: { value: 'stray' }, agent_id: { value: agentId }, resources: TASK_RESOURCES, command: { value: 'true' } },
      state: 'TASK_RUNNING',
    }],
  });
  await ghost.next('reregistered');
  t.match((await update(pa, 'task-1', (st) => st.state !== 'TASK_UNREACHABLE')).update!.status, { state: 'TASK_GONE' }, 'not reported: gone');
  t.equal(m.state.tasks.get('no-such-framework'), undefined, 'a task of an undescribed unknown framework is not invented');
  const res = await fetch(`http://127.0.0.1:${m.port}/master/state`);
  t.equal(res.status, 200, 'the master still serves');
});

t.test('malformed partition flags stop the master at startup with the reason', async (t) => {
  const workDir = path.join(tmpdir(), 'agora-never-created');
  await t.rejects(startMaster({ port: 0, workDir, agentRemovalRateLimit: 'ten per minute' }), { code: 'AGORA_MASTER_BAD_OPTION', message: /agent removal rate limit/ });
  await t.rejects(startMaster({ port: 0, workDir, registryMaxAgentCount: -1 }), { code: 'AGORA_MASTER_BAD_OPTION', message: /registryMaxAgentCount/ });
  await t.rejects(startMaster({ port: 0, workDir, registryGcIntervalMs: 0 }), { code: 'AGORA_MASTER_BAD_OPTION', message: /registryGcIntervalMs/ });
});
