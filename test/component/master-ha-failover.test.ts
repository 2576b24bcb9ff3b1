/**
 * Master failover semantics with a real ZooKeeper and a shared manual clock: the new leader
 * loads the registry, waits for known agents (they keep their ids), marks the missing ones
 * unreachable, honours persisted framework failover deadlines (a passed one → removed once
 * the agents are back; a pending one → the remaining time, not a fresh timeout), accepts
 * frameworks resubscribing with their ids, and old offers are invalid.
 */
import t from 'tap';
import { ZkRegistry } from '../../master/registry/index.js';
import { startZooKeeper } from '../helpers/zookeeper.js';
import { waitFor } from '../helpers/wait.js';
import { FakeSlave, ManualClock, TestScheduler, defaultResources, frameworkInfo, launchCall, scalar } from './master-kit.js';
import { startHaMaster } from './master-ha-kit.js';

const WAIT = { timeoutMs: 15_000 };

t.test('framework failover deadlines are persisted and honoured by the next leader', async (t) => {
  const zk = await startZooKeeper(t);
  const clock = new ManualClock();
  const a = await startHaMaster(t, zk, '/deadlines', { clock, agentReregisterTimeoutMs: 60_000 });
  await waitFor(() => a.isReady(), { ...WAIT, what: 'a to lead' });

  const slave = new FakeSlave(a.port);
  const agentId = await slave.register();
  const s1 = new TestScheduler(a.port);
  await s1.subscribe(frameworkInfo({ name: 'expires-during-failover', failover_timeout: 10 }));
  const s2 = new TestScheduler(a.port);
  await s2.subscribe(frameworkInfo({ name: 'expires-after-failover', failover_timeout: 100 }));
  const s3 = new TestScheduler(a.port);
  await s3.subscribe(frameworkInfo({ name: 'stays', failover_timeout: 1000 }));
  const [fw1, fw2, fw3] = [s1.frameworkId, s2.frameworkId, s3.frameworkId];
  s1.disconnect();
  s2.disconnect();
  await waitFor(() => a.state.frameworks.get(fw1)?.connected === false && a.state.frameworks.get(fw2)?.connected === false, { ...WAIT, what: 'a to see two schedulers go' });
  await a.master.flushRegistry();

  // a goes away; 30 s pass before the next master leads: fw1's deadline (10 s) passed, fw2 has 70 s left.
  s3.disconnect();
  await a.close();
  clock.advance(30_000);
  const b = await startHaMaster(t, zk, '/deadlines', { clock, agentReregisterTimeoutMs: 60_000 });
  await waitFor(() => b.isReady(), { ...WAIT, what: 'b to lead' });

  const late = new TestScheduler(b.port);
  await t.rejects(late.subscribe(frameworkInfo({ id: { value: fw1 }, failover_timeout: 10 })), /Framework has been removed/, 'an expired framework cannot come back');
  const back = new TestScheduler(b.port);
  await back.subscribe(frameworkInfo({ id: { value: fw3 }, name: 'stays', failover_timeout: 1000 }));
  t.equal(back.frameworkId, fw3, 'a framework re-subscribes with its id');

  // The slave re-registers with its id, still running fw1's executor: fw1 is shut down on it.
  const again = new FakeSlave(b.port);
  await again.connect();
  again.send({
    type: 'reregister', agent_id: { value: agentId }, agent_info: { hostname: 'fake-slave', port: 5051, resources: defaultResources() },
    version: 'test', frameworks: [{ user: 'tester', name: 'expires-during-failover', id: { value: fw1 } }], tasks: [],
  });
  t.equal((await again.next('reregistered')).agent_id.value, agentId);
  t.equal((await again.next('shutdown_framework')).framework_id.value, fw1, 'shutdown_framework for the expired framework');
  t.ok(b.state.completedFrameworks.some((f) => f.id === fw1));

  // fw2: the remaining 70 s, not a fresh 100 s.
  clock.advance(69_000);
  t.notOk(b.state.completedFrameworks.some((f) => f.id === fw2), 'fw2 still within its deadline');
  clock.advance(1_000);
  t.equal((await again.next('shutdown_framework')).framework_id.value, fw2, 'fw2 removed at its persisted deadline');
  t.ok(b.state.completedFrameworks.some((f) => f.id === fw2));

  await b.master.flushRegistry();
  const { connectZk } = await import('../../sdk/zk/index.js');
  const session = await connectZk(zk.url('/'), { sessionTimeoutMs: 4000 });
  t.teardown(() => session.close());
  const stored = await new ZkRegistry(session, '/deadlines').load();
  t.same(stored.frameworks, { [fw3]: {} }, 'the registry keeps only the live framework');
  t.same(Object.keys(stored.agents), [agentId]);
  back.disconnect();
});

t.test('missing agents become unreachable after the re-register timeout; old offers are invalid', async (t) => {
  const zk = await startZooKeeper(t);
  const clock = new ManualClock();
  const a = await startHaMaster(t, zk, '/agents', { clock, agentReregisterTimeoutMs: 60_000 });
  await waitFor(() => a.isReady(), { ...WAIT, what: 'a to lead' });
  const back = new FakeSlave(a.port);
  const backId = await back.register(defaultResources(), 'back');
  const gone = new FakeSlave(a.port);
  const goneId = await gone.register(defaultResources(), 'gone');
  const s = new TestScheduler(a.port);
  await s.subscribe(frameworkInfo({ failover_timeout: 600 }));
  const fwId = s.frameworkId;
  const offers = await s.next('OFFERS', (e) => (e.offers?.offers ?? []).some((o) => o.agent_id.value === backId));
  const oldOffer = (offers.offers?.offers ?? []).find((o) => o.agent_id.value === backId)!;
  await a.master.flushRegistry();

  const b = await startHaMaster(t, zk, '/agents', { clock, agentReregisterTimeoutMs: 60_000 });
  await waitFor(() => b.state.leader?.id === a.masterInfo.id, { ...WAIT, what: 'b to see a' });
  s.disconnect();
  back.terminate();
  gone.terminate();
  await a.close();
  await waitFor(() => b.isReady(), { ...WAIT, what: 'b to lead' });

  const again = new FakeSlave(b.port);
  await again.connect();
  again.send({ type: 'reregister', agent_id: { value: backId }, agent_info: { hostname: 'back', port: 5051, resources: defaultResources() }, version: 'test', tasks: [] });
  await again.next('reregistered');
  t.ok(b.state.agents.has(backId), 'the agent keeps its id');

  const s2 = new TestScheduler(b.port);
  await s2.subscribe(frameworkInfo({ id: { value: fwId }, failover_timeout: 600 }));
  t.equal(s2.frameworkId, fwId);
  const res = await s2.call(launchCall([oldOffer.id.value], backId, 't1', [scalar('cpus', 1)]));
  t.equal(res.status, 202);
  const update = await s2.next('UPDATE', (e) => e.update?.status.task_id.value === 't1');
  t.equal(update.update!.status.state, 'TASK_LOST', 'an offer of the old leader is invalid');
  t.equal(update.update!.status.reason, 'REASON_INVALID_OFFERS');

  t.notOk(b.state.unreachableAgents.has(goneId), 'still waiting for the other agent');
  clock.advance(60_000);
  t.ok(b.state.unreachableAgents.has(goneId), 'the missing agent is unreachable after the timeout');
  t.notOk(b.state.unreachableAgents.has(backId));
  const reconcile = await s2.call({ type: 'RECONCILE', reconcile: { tasks: [{ task_id: { value: 'on-gone' }, agent_id: { value: goneId } }] } });
  t.equal(reconcile.status, 202);
  const answer = await s2.next('UPDATE', (e) => e.update?.status.task_id.value === 'on-gone');
  t.equal(answer.update!.status.state, 'TASK_LOST', 'tasks on it reconcile as lost (TASK_UNREACHABLE for partition-aware frameworks)');

  await b.master.flushRegistry();
  const { connectZk } = await import('../../sdk/zk/index.js');
  const session = await connectZk(zk.url('/'), { sessionTimeoutMs: 4000 });
  t.teardown(() => session.close());
  const stored = await new ZkRegistry(session, '/agents').load();
  t.same(Object.keys(stored.unreachable), [goneId]);
  t.same(Object.keys(stored.agents), [backId]);
  s2.disconnect();
  again.close();
});

t.test('standalone: the registry file carries agents and deadlines across a restart', async (t) => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const { startMaster } = await import('../../master/main.js');
  const { silentLogger } = await import('../../sdk/core/log.js');
  const workDir = mkdtempSync(path.join(tmpdir(), 'agora-standalone-registry-'));
  t.teardown(() => rmSync(workDir, { recursive: true, force: true }));
  const clock = new ManualClock();
  const opts = { port: 0, host: '127.0.0.1', workDir, logger: silentLogger(), clock, agentReregisterTimeoutMs: 60_000 };
  const a = await startMaster(opts);
  t.ok(a.isReady(), 'a standalone master is ready when startMaster resolves');
  const slave = new FakeSlave(a.port);
  const agentId = await slave.register();
  const s = new TestScheduler(a.port);
  await s.subscribe(frameworkInfo({ failover_timeout: 5 }));
  const fwId = s.frameworkId;
  s.disconnect();
  await waitFor(() => a.state.frameworks.get(fwId)?.connected === false, { ...WAIT, what: 'disconnect' });
  slave.terminate();
  await a.close();
  clock.advance(10_000);

  const b = await startMaster(opts);
  t.teardown(() => b.close());
  const again = new FakeSlave(b.port);
  await again.connect();
  again.send({ type: 'reregister', agent_id: { value: agentId }, agent_info: { hostname: 'fake-slave', port: 5051, resources: defaultResources() }, version: 'test', frameworks: [{ user: 'tester', name: 'x', id: { value: fwId } }] });
  await again.next('reregistered');
  t.equal((await again.next('shutdown_framework')).framework_id.value, fwId, 'the framework whose deadline passed while the master was down is removed');
  again.close();
});
