/**
 * TestCluster (sdk/testing): fault injection (restart, partition/heal, stream drops),
 * determinism, what a framework sees on the wire, the real clock and socket transport, and
 * bad input (options, waitFor timeouts, a closed cluster).
 */
import t from 'tap';
import { TestCluster } from '../../sdk/testing/index.js';
import { commandTask, matchOffer, type Scheduler, type TaskStatus } from '../../sdk/scheduler/index.js';

/** A scheduler that launches `count` tasks with `labels`, one per offer, and records its updates. */
function launcher(cluster: TestCluster, count: number, labels: Record<string, string> = {}, name = 'launcher'): { scheduler: Scheduler; updates: TaskStatus[]; events: string[] } {
  const scheduler = cluster.scheduler({ frameworkInfo: { user: 'tester', name, failover_timeout: 3600 } });
  const updates: TaskStatus[] = [];
  const events: string[] = [];
  let next = 0;
  scheduler.on('*', (e) => { events.push(`${cluster.now()} ${e.type}`); });
  scheduler.on('UPDATE', (s) => { updates.push(s); });
  scheduler.on('OFFERS', async (offers) => {
    for (const offer of offers) {
      const resources = next < count ? matchOffer(offer, { cpus: 1, mem: 64 }) : undefined;
      if (resources === undefined) {
        await scheduler.decline([offer.id.value], { refuse_seconds: 1 });
        continue;
      }
      next++;
      await scheduler.launch([offer.id.value], [commandTask({ taskId: `${name}-${next}`, agentId: offer.agent_id.value, resources, command: 'true', labels })]);
    }
  });
  return { scheduler, updates, events };
}

function count(states: Record<string, string>, state: string): number {
  return Object.values(states).filter((s) => s === state).length;
}

t.test('task outcomes follow the sim labels: finished, failed by exit code, killed', async (t) => {
  const cluster = await TestCluster.create({ slaves: 1 });
  t.teardown(() => cluster.close());
  const ok = launcher(cluster, 1, { 'agora.sim.duration': '5s' }, 'ok');
  const bad = launcher(cluster, 1, { 'agora.sim.duration': '5s', 'agora.sim.exit_code': '3' }, 'bad');
  const okId = await ok.scheduler.start();
  const badId = await bad.scheduler.start();
  await cluster.waitFor(() => cluster.taskStates(okId)['ok-1'] === 'TASK_FINISHED' && cluster.taskStates(badId)['bad-1'] === 'TASK_FAILED');
  t.same(ok.updates.map((u) => u.state), ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED'], 'the states a command task goes through');
  t.same(bad.updates.map((u) => u.state), ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FAILED']);
  t.ok(ok.updates.every((u) => typeof u.uuid === 'string'), 'updates from the slave carry a uuid (and were acknowledged)');

  const forever = launcher(cluster, 1, {}, 'forever');
  const foreverId = await forever.scheduler.start();
  await cluster.waitFor(() => cluster.taskStates(foreverId)['forever-1'] === 'TASK_RUNNING');
  await forever.scheduler.kill('forever-1');
  await cluster.waitFor(() => cluster.taskStates(foreverId)['forever-1'] === 'TASK_KILLED');
  for (const l of [ok, bad, forever]) await l.scheduler.stop();
});

t.test('a restarted slave re-registers with its tasks', async (t) => {
  const cluster = await TestCluster.create({ slaves: 2 });
  t.teardown(() => cluster.close());
  const { scheduler } = launcher(cluster, 4);
  const fid = await scheduler.start();
  await cluster.waitFor(() => count(cluster.taskStates(fid), 'TASK_RUNNING') === 4);
  const agentId = cluster.slave(0).agentId;
  const live = cluster.slave(0).taskCounts().live;
  t.ok(live > 0, 'slave 0 holds tasks');
  const slaveJson = (hostname: string): { reregistered_time?: number } | undefined =>
    (cluster.state().slaves as Array<{ hostname: string; reregistered_time?: number }>).find((s) => s.hostname === hostname);
  t.equal(slaveJson('slave-0')?.reregistered_time, undefined);

  cluster.slave(0).restart();
  await cluster.waitFor(() => slaveJson('slave-0')?.reregistered_time !== undefined, { what: 'slave 0 re-registered' });
  t.equal(cluster.slave(0).agentId, agentId, 'same agent id after the restart');
  t.equal(cluster.slave(0).taskCounts().live, live, 'its tasks survived');
  t.equal(count(cluster.taskStates(fid), 'TASK_RUNNING'), 4);
  await scheduler.stop();
});

t.test('a partitioned slave is marked unreachable by missed pings; after heal its tasks come back', async (t) => {
  const cluster = await TestCluster.create({ slaves: 2, master: { agentPingTimeoutMs: 5000, maxAgentPingTimeouts: 3 } });
  t.teardown(() => cluster.close());
  const scheduler = cluster.scheduler({ frameworkInfo: { user: 'tester', name: 'aware', capabilities: [{ type: 'PARTITION_AWARE' }] } });
  const updates: TaskStatus[] = [];
  scheduler.on('UPDATE', (s) => { updates.push(s); });
  scheduler.on('OFFERS', async (offers) => {
    for (const offer of offers) {
      const resources = offer.hostname === 'slave-1' && updates.length === 0 ? matchOffer(offer, { cpus: 1, mem: 64 }) : undefined;
      if (resources === undefined) await scheduler.decline([offer.id.value]);
      else await scheduler.launch([offer.id.value], [commandTask({ taskId: 'db', agentId: offer.agent_id.value, resources, command: 'x' })]);
    }
  });
  const fid = await scheduler.start();
  await cluster.waitFor(() => cluster.taskStates(fid).db === 'TASK_RUNNING');
  const agentDisconnects = (): number => (cluster.state().slaves as Array<{ hostname: string; active: boolean }>).filter((s) => s.hostname === 'slave-1' && !s.active).length;

  const cutAt = cluster.now();
  cluster.slave(1).partition();
  await cluster.advance(9_000);
  t.equal(agentDisconnects(), 0, 'no close crosses a partition: the master still counts slave-1 active');
  await cluster.waitFor(() => updates.at(-1)?.state === 'TASK_UNREACHABLE', { what: 'TASK_UNREACHABLE for db' });
  t.equal(updates.at(-1)!.reason, 'REASON_AGENT_REMOVED');
  t.ok(cluster.now() - cutAt <= 20_000, 'within 3 unanswered pings (+ one interval) of the cut');

  cluster.slave(1).heal();
  await cluster.waitForSlaves();
  await cluster.waitFor(() => updates.at(-1)?.state === 'TASK_RUNNING', { what: 'db running again' });
  t.equal(updates.at(-1)!.reason, 'REASON_AGENT_REREGISTERED');
  t.equal(cluster.taskStates(fid).db, 'TASK_RUNNING');
  await scheduler.stop();
});

t.test('dropFrameworkStream: the master sees the framework leave, the SDK re-subscribes as the same framework', async (t) => {
  const cluster = await TestCluster.create({ slaves: 1 });
  t.teardown(() => cluster.close());
  const { scheduler } = launcher(cluster, 1);
  const reconnected: string[] = [];
  scheduler.on('reconnected', ({ frameworkId }) => { reconnected.push(frameworkId); });
  const fid = await scheduler.start();
  await cluster.waitFor(() => cluster.taskStates(fid)['launcher-1'] === 'TASK_RUNNING');
  t.equal(cluster.dropFrameworkStream(fid), 1);
  const frameworks = (): Array<{ id: string; active: boolean }> => cluster.state().frameworks as Array<{ id: string; active: boolean }>;
  await cluster.runUntilIdle();
  t.notOk(frameworks().find((f) => f.id === fid)?.active, 'the master marked the framework inactive');
  await cluster.waitFor(() => reconnected.length === 1);
  t.same(reconnected, [fid]);
  t.ok(frameworks().find((f) => f.id === fid)?.active, 'active again');
  t.equal(cluster.taskStates(fid)['launcher-1'], 'TASK_RUNNING', 'its task kept running');
  t.throws(() => cluster.dropFrameworkStream('no-such-framework'), { code: 'AGORA_TESTING_BAD_INPUT' });
  await scheduler.stop();
});

t.test('50 slaves answer the master\'s pings through an hour of virtual time', async (t) => {
  const cluster = await TestCluster.create({ slaves: 50 });
  t.teardown(() => cluster.close());
  t.equal((cluster.state().slaves as unknown[]).length, 50);
  await cluster.advance(3_600_000);
  const slaves = cluster.state().slaves as Array<{ active: boolean }>;
  t.equal(slaves.length, 50, 'none removed');
  t.ok(slaves.every((s) => s.active), 'all active');
  t.ok(cluster.slaves.every((s) => s.registered));
});

t.test('same seed, same calls: the same events at the same virtual times', async (t) => {
  const run = async (): Promise<string[]> => {
    const cluster = await TestCluster.create({ slaves: 3, seed: 42, sim: { failureRate: 0.3, durationMs: 20_000 } });
    try {
      const { scheduler, updates, events } = launcher(cluster, 8);
      const fid = await scheduler.start();
      await cluster.waitFor(() => updates.filter((u) => u.state === 'TASK_FINISHED' || u.state === 'TASK_FAILED').length === 8, { timeoutMs: 10 * 60_000 });
      await scheduler.stop();
      // (Status update uuids are random, as the slave's: not compared.)
      return [fid, ...events, ...updates.map((u) => `${u.task_id.value} ${u.agent_id?.value} ${u.state} ${u.message ?? ''}`)];
    } finally {
      await cluster.close();
    }
  };
  const first = await run();
  const second = await run();
  t.ok(first.some((l) => l.includes(' TASK_FAILED ')), 'the seeded failure rate failed some tasks');
  t.same(second, first);
});

t.test('the real clock with the in-memory transport, and real sockets', async (t) => {
  for (const transport of ['memory', 'socket'] as const) {
    const cluster = await TestCluster.create({ slaves: 2, clock: 'real', transport });
    t.teardown(() => cluster.close());
    t.equal(cluster.virtualClock, undefined);
    const { scheduler, updates } = launcher(cluster, 2, { 'agora.sim.duration': '10ms' }, transport);
    const fid = await scheduler.start();
    await cluster.waitFor(() => count(cluster.taskStates(fid), 'TASK_FINISHED') === 2, { timeoutMs: 30_000 });
    t.ok(updates.some((u) => u.state === 'TASK_RUNNING'), `${transport}: saw TASK_RUNNING`);
    if (transport === 'socket') {
      await cluster.failoverMaster();
      await cluster.waitForSlaves({ timeoutMs: 30_000 });
      t.equal((cluster.state().slaves as unknown[]).length, 2, 'socket: slaves re-registered with the new master');
    }
    await t.rejects(cluster.advance(10), { code: 'AGORA_TESTING_BAD_INPUT' }, 'advance needs the virtual clock');
    await scheduler.stop();
    await cluster.close();
  }
});

t.test('bad options are AgoraErrors with a code, before anything starts', async (t) => {
  const cases: Array<[string, unknown]> = [
    ['negative slaves', { slaves: -1 }],
    ['fractional slaves', { slaves: 1.5 }],
    ['slaves not a list', { slaves: 'three' }],
    ['unknown clock', { clock: 'fast' }],
    ['unknown transport', { transport: 'carrier-pigeon' }],
    ['socket on virtual time', { transport: 'socket' }],
    ['bad resources', { resources: 'cpus:lots' }],
    ['bad slave resources', { slaves: [{ resources: 'mem:-5' }] }],
    ['bad slave attributes', { slaves: [{ attributes: ':' }] }],
    ['negative seed', { seed: -3 }],
    ['bad sim duration', { sim: { durationMs: -1 } }],
    ['bad sim failure rate', { sim: { failureRate: 2 } }],
    ['unknown sim field', { sim: { duration: '5s' } }],
    ['bad slave exit code', { slaves: [{ sim: { exitCode: 1.5 } }] }],
    ['bad latency', { latencyMs: Number.NaN }],
    ['unknown option', { slave: 3 }],
    ['not an object', 'three slaves'],
  ];
  for (const [what, options] of cases) {
    await t.rejects(TestCluster.create(options as never), { code: 'AGORA_TESTING_BAD_OPTIONS' }, what);
  }
  const master = await TestCluster.create({ master: { agentPingTimeoutMs: -1 } }).catch((err: unknown) => err as { code?: string });
  t.equal((master as { code?: string }).code, 'AGORA_MASTER_BAD_OPTION', 'bad master flags are the master\'s own error');
});

t.test('waitFor timeouts name the condition; bad arguments are refused', async (t) => {
  const cluster = await TestCluster.create({ slaves: 1 });
  t.teardown(() => cluster.close());
  const start = cluster.now();
  await t.rejects(cluster.waitFor(() => false, { timeoutMs: 90_000, what: 'the moon turns blue' }), {
    code: 'AGORA_TESTING_TIMEOUT', message: /90000 ms of virtual time.*the moon turns blue/,
  });
  t.equal(cluster.now() - start, 90_000, 'the wait used exactly its virtual budget');
  await t.rejects(cluster.waitFor(() => cluster.slaves.length > 5, { timeoutMs: 1000 }), { message: /cluster\.slaves\.length > 5/ }, 'the condition text names it by default');
  await t.rejects(cluster.waitFor(() => true, { timeoutMs: -1 }), { code: 'AGORA_TESTING_BAD_INPUT' });
  await t.rejects(cluster.advance(-1), { code: 'AGORA_TESTING_BAD_INPUT' });
  t.throws(() => cluster.slave(7), { code: 'AGORA_TESTING_BAD_INPUT', message: /has 1/ });
  cluster.slave(0).kill();
  t.throws(() => cluster.slave(0).restart(), { code: 'AGORA_TESTING_BAD_INPUT' });
});

t.test('a closed cluster refuses to be used', async (t) => {
  const cluster = await TestCluster.create({ slaves: 1 });
  const slave = cluster.slave(0);
  await cluster.close();
  await cluster.close();
  t.pass('close is idempotent');
  t.throws(() => cluster.schedulerOptions(), { code: 'AGORA_TESTING_CLOSED' });
  t.throws(() => cluster.taskStates(), { code: 'AGORA_TESTING_CLOSED' });
  t.throws(() => cluster.state(), { code: 'AGORA_TESTING_CLOSED' });
  t.throws(() => slave.kill(), { code: 'AGORA_TESTING_CLOSED' });
  await t.rejects(cluster.waitFor(() => true), { code: 'AGORA_TESTING_CLOSED' });
  await t.rejects(cluster.failoverMaster(), { code: 'AGORA_TESTING_CLOSED' });
  await t.rejects(cluster.advance(1), { code: 'AGORA_TESTING_CLOSED' });
});
