/**
 * Framework lifecycle: resubscribe within the failover timeout keeps tasks; a second
 * SUBSCRIBE fails the first stream over; the failover timeout and TEARDOWN remove the
 * framework and shut it down on the slaves; reconciliation answers.
 */
import t from 'tap';
import type { SchedulerEvent } from '../../sdk/protocol/index.js';
import { FakeSlave, ManualClock, TestScheduler, frameworkInfo, scalar, startTestMaster } from './master-kit.js';

function firstOffer(e: SchedulerEvent) {
  return e.offers!.offers![0]!;
}

async function launchOne(s: TestScheduler, slave: FakeSlave, taskId: string): Promise<void> {
  const offer = firstOffer(await s.next('OFFERS'));
  const res = await s.call({
    type: 'ACCEPT',
    accept: {
      offer_ids: [offer.id],
      operations: [{ type: 'LAUNCH', launch: { task_infos: [{ name: taskId, task_id: { value: taskId }, agent_id: offer.agent_id, resources: [scalar('cpus', 1)], command: { value: 'sleep 1000' } }] } }],
    },
  });
  if (res.status !== 202) throw new Error(`launch refused: ${res.status} ${res.body}`);
  await slave.next('run_task', (m) => m.task.task_id.value === taskId);
}

async function until(pred: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !pred(); i++) await new Promise((r) => setImmediate(r));
  if (!pred()) throw new Error('condition not reached');
}

t.test('resubscribe within failover_timeout keeps tasks; timeout removes the framework', async (t) => {
  const clock = new ManualClock();
  const m = await startTestMaster({ clock, agentPingTimeoutMs: 1_000_000 });
  t.teardown(() => m.cleanup());
  const slave = new FakeSlave(m.port);
  const agentId = await slave.register();
  t.teardown(() => slave.close());

  const s1 = new TestScheduler(m.port);
  await s1.subscribe(frameworkInfo({ failover_timeout: 60 }));
  await launchOne(s1, slave, 'task-1');
  const fid = s1.frameworkId;
  s1.disconnect();
  await until(() => m.state.frameworks.get(fid)?.connected === false);
  t.equal(m.state.frameworks.get(fid)!.failoverDeadline, clock.now() + 60_000);
  clock.advance(59_000);

  const s2 = new TestScheduler(m.port);
  const sub = await s2.subscribe(frameworkInfo({ id: { value: fid }, failover_timeout: 60 }));
  t.teardown(() => s2.disconnect());
  t.equal(sub.subscribed!.framework_id.value, fid);
  t.not(s2.streamId, s1.streamId, 'a new stream id');
  t.equal(m.state.frameworks.get(fid)!.connected, true);
  t.equal(m.state.tasks.get(fid)!.get('task-1')!.state, 'TASK_STAGING', 'tasks kept');
  clock.advance(10_000);
  t.ok(m.state.frameworks.has(fid), 'the failover timer was cancelled');

  // Implicit reconciliation: latest state of every task, no uuid.
  await s2.call({ type: 'RECONCILE', reconcile: { tasks: [] } });
  const rec = await s2.next('UPDATE');
  t.equal(rec.update!.status.task_id.value, 'task-1');
  t.equal(rec.update!.status.reason, 'REASON_RECONCILIATION');
  t.equal(rec.update!.status.uuid, undefined);
  // Explicit: unknown task on a known agent → TASK_LOST (not partition-aware).
  await s2.call({ type: 'RECONCILE', reconcile: { tasks: [{ task_id: { value: 'nope' }, agent_id: { value: agentId } }] } });
  const rec2 = await s2.next('UPDATE', (e) => e.update!.status.task_id.value === 'nope');
  t.equal(rec2.update!.status.state, 'TASK_LOST');

  // Disconnect again and let the timeout pass: shutdown_framework, tasks killed, framework completed.
  s2.disconnect();
  await until(() => m.state.frameworks.get(fid)?.connected === false);
  clock.advance(60_000);
  const shutdown = await slave.next('shutdown_framework');
  t.equal(shutdown.framework_id.value, fid);
  t.notOk(m.state.frameworks.has(fid));
  t.equal(m.state.completedFrameworks.at(-1)?.id, fid);
  t.equal(m.state.completedTasks.at(-1)?.state, 'TASK_KILLED');
  t.equal(m.state.agents.get(agentId)!.used.length, 0, 'resources freed');

  // A removed framework cannot come back.
  const s3 = new TestScheduler(m.port);
  await t.rejects(s3.subscribe(frameworkInfo({ id: { value: fid } })));
  const err = s3.events.all.find((e) => e.type === 'ERROR');
  t.equal(err?.error?.message, 'Framework has been removed');
});

t.test('a second SUBSCRIBE fails the first stream over', async (t) => {
  const m = await startTestMaster();
  t.teardown(() => m.cleanup());
  const s1 = new TestScheduler(m.port);
  await s1.subscribe(frameworkInfo({ failover_timeout: 10 }));
  const s2 = new TestScheduler(m.port);
  await s2.subscribe(frameworkInfo({ id: { value: s1.frameworkId }, failover_timeout: 10 }));
  t.teardown(() => s2.disconnect());
  const error = await s1.next('ERROR');
  t.equal(error.error!.message, 'Framework failed over');
  await until(() => s1.closed);
  const stale = await s1.call({ type: 'REVIVE' });
  t.equal(stale.status, 400, 'the old stream id is refused');
  t.equal((await s2.call({ type: 'REVIVE' })).status, 202);
});

t.test('TEARDOWN shuts the framework down on the slaves and ends its stream', async (t) => {
  const m = await startTestMaster();
  t.teardown(() => m.cleanup());
  const slave = new FakeSlave(m.port);
  await slave.register();
  t.teardown(() => slave.close());
  const s = new TestScheduler(m.port);
  await s.subscribe();
  await launchOne(s, slave, 'task-1');
  const res = await s.call({ type: 'TEARDOWN' });
  t.equal(res.status, 202);
  const shutdown = await slave.next('shutdown_framework');
  t.equal(shutdown.framework_id.value, s.frameworkId);
  await until(() => s.closed);
  t.notOk(m.state.frameworks.has(s.frameworkId));
  t.equal(m.state.offers.size, 0);
  t.equal(m.state.counters.frameworksRemoved, 1);
  const after = await s.call({ type: 'REVIVE' });
  t.equal(after.status, 400, 'a removed framework cannot be found');
});

t.test('invalid FrameworkInfo on SUBSCRIBE: ERROR event, stream closed', async (t) => {
  const m = await startTestMaster();
  t.teardown(() => m.cleanup());
  const s = new TestScheduler(m.port);
  await t.rejects(s.subscribe(frameworkInfo({ roles: ['a'] })));
  t.match(s.events.all[0]?.error?.message, /MULTI_ROLE/);
  t.equal(m.state.frameworks.size, 0);
});
