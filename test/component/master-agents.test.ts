/**
 * The slave WebSocket: garbage and out-of-order frames, health-check removal (RESCIND and
 * TASK_LOST), deactivation on disconnect and re-registration (same id, tasks kept).
 */
import t from 'tap';
import type { SchedulerEvent } from '../../sdk/protocol/index.js';
import { waitFor } from '../helpers/wait.js';
import { FakeSlave, ManualClock, TestScheduler, frameworkInfo, scalar, startTestMaster, uuidB64 } from './master-kit.js';

function firstOffer(e: SchedulerEvent) {
  return e.offers!.offers![0]!;
}

function launch(offerId: string, agentId: string, taskId: string) {
  return {
    type: 'ACCEPT',
    accept: {
      offer_ids: [{ value: offerId }],
      operations: [{ type: 'LAUNCH', launch: { task_infos: [{ name: taskId, task_id: { value: taskId }, agent_id: { value: agentId }, resources: [scalar('cpus', 1)], command: { value: 'sleep 1000' } }] } }],
      filters: { refuse_seconds: 0 },
    },
  };
}

t.test('garbage frames get an error and change nothing', async (t) => {
  const m = await startTestMaster();
  t.teardown(() => m.cleanup());
  const slave = new FakeSlave(m.port);
  await slave.connect();
  t.teardown(() => slave.close());

  slave.sendRaw('{not json');
  t.match((await slave.next('error')).message, /malformed JSON/);
  slave.sendRaw(JSON.stringify({ type: 'register' }));
  t.match((await slave.next('error')).message, /invalid message/);
  slave.sendRaw(Buffer.from([1, 2, 3]));
  t.match((await slave.next('error')).message, /binary/);
  slave.send({ type: 'status_update', update: { framework_id: { value: 'f' }, status: { task_id: { value: 't' }, state: 'TASK_RUNNING' } } });
  t.match((await slave.next('error')).message, /before registration/);
  t.equal(m.state.agents.size, 0);

  // The same socket can still register, and the master still serves HTTP.
  const id = await slave.register();
  t.ok(m.state.agents.has(id));
  const res = await fetch(`http://127.0.0.1:${m.port}/master/state`);
  t.equal(res.status, 200);

  // Repeated garbage closes the socket (1008), the master stays up.
  const noisy = new FakeSlave(m.port);
  await noisy.connect();
  for (let i = 0; i < 10; i++) noisy.sendRaw('garbage');
  t.equal(await noisy.closedPromise, 1008);
  t.ok(m.state.agents.has(id));
});

t.test('missed pings remove the agent: RESCIND and TASK_LOST', async (t) => {
  const clock = new ManualClock();
  const m = await startTestMaster({ clock, agentPingTimeoutMs: 1000, maxAgentPingTimeouts: 3 });
  t.teardown(() => m.cleanup());
  const slave = new FakeSlave(m.port);
  const agentId = await slave.register();
  t.teardown(() => slave.close());
  const s = new TestScheduler(m.port);
  await s.subscribe();
  t.teardown(() => s.disconnect());

  const offer = firstOffer(await s.next('OFFERS'));
  await s.call(launch(offer.id.value, agentId, 'task-1'));
  await slave.next('run_task');
  const leftover = firstOffer(await s.next('OFFERS'));

  // Healthy: pings answered.
  clock.advance(1000);
  await slave.next('ping');
  clock.advance(1000);
  await slave.next('ping');
  t.ok(m.state.agents.has(agentId));

  slave.autoPong = false;
  // A late pong of the healthy phase may reset the count once; allow for it.
  // Pings stop once the removal starts (the agent is deactivated while the registry records
  // it as unreachable; the task updates follow the durable write).
  for (let i = 0; i < 6 && m.state.agents.get(agentId)?.active === true; i++) {
    clock.advance(1000);
    if (m.state.agents.get(agentId)?.active === true) await slave.next('ping');
  }
  const rescind = await s.next('RESCIND');
  t.equal(rescind.rescind!.offer_id.value, leftover.id.value);
  const lost = await s.next('UPDATE');
  t.notOk(m.state.agents.has(agentId), 'removed after 3 missed pings');
  t.ok(m.state.unreachableAgents.has(agentId));
  t.equal(lost.update!.status.task_id.value, 'task-1');
  t.equal(lost.update!.status.state, 'TASK_LOST');
  t.equal(lost.update!.status.reason, 'REASON_AGENT_REMOVED');
  t.equal(lost.update!.status.source, 'SOURCE_MASTER');
  t.equal(lost.update!.status.uuid, undefined);
  t.equal(m.state.offers.size, 0);
  t.equal(m.state.counters.slaveRemovals, 1);
  t.equal(await slave.closedPromise, 1000, 'the removed agent is disconnected');
});

t.test('partition-aware frameworks see TASK_UNREACHABLE after a disconnect outlasts the budget', async (t) => {
  const clock = new ManualClock();
  const m = await startTestMaster({ clock, agentPingTimeoutMs: 1000, maxAgentPingTimeouts: 2 });
  t.teardown(() => m.cleanup());
  const slave = new FakeSlave(m.port);
  const agentId = await slave.register();
  const s = new TestScheduler(m.port);
  await s.subscribe(frameworkInfo({ capabilities: [{ type: 'PARTITION_AWARE' }] }));
  t.teardown(() => s.disconnect());
  const offer = firstOffer(await s.next('OFFERS'));
  await s.call(launch(offer.id.value, agentId, 'task-1'));
  await slave.next('run_task');
  await s.next('OFFERS');

  slave.close();
  await s.next('RESCIND');
  t.equal(m.state.agents.get(agentId)?.active, false, 'inactive at once');
  clock.advance(1999);
  t.ok(m.state.agents.has(agentId), 'kept within the budget');
  clock.advance(1);
  const update = await s.next('UPDATE');
  t.equal(update.update!.status.state, 'TASK_UNREACHABLE');
  t.ok(update.update!.status.unreachable_time);
  t.notOk(m.state.agents.has(agentId));
});

t.test('re-registration keeps the id and the tasks; unknown ids are accepted (master failover)', async (t) => {
  const clock = new ManualClock();
  const m = await startTestMaster({ clock, agentPingTimeoutMs: 1000, maxAgentPingTimeouts: 5 });
  t.teardown(() => m.cleanup());
  const slave = new FakeSlave(m.port);
  const agentId = await slave.register([scalar('cpus', 2), scalar('mem', 1024)], 'h', 5051);
  const s = new TestScheduler(m.port);
  await s.subscribe();
  t.teardown(() => s.disconnect());
  const offer = firstOffer(await s.next('OFFERS'));
  await s.call(launch(offer.id.value, agentId, 'task-1'));
  const run = await slave.next('run_task');
  await s.next('OFFERS');

  slave.terminate();
  await s.next('RESCIND');
  const again = new FakeSlave(m.port);
  await again.connect();
  t.teardown(() => again.close());
  const uuid = uuidB64(3);
  again.send({
    type: 'reregister',
    agent_id: { value: agentId },
    agent_info: { hostname: 'h', port: 5051, resources: [scalar('cpus', 2), scalar('mem', 1024)] },
    frameworks: [run.framework],
    tasks: [{ framework_id: { value: s.frameworkId }, task: run.task, state: 'TASK_RUNNING' }],
    unacknowledged_updates: [{ framework_id: { value: s.frameworkId }, status: { task_id: { value: 'task-1' }, state: 'TASK_RUNNING', uuid } }],
  });
  const re = await again.next('reregistered');
  t.equal(re.agent_id.value, agentId);
  t.equal(m.state.agents.get(agentId)!.active, true);
  t.equal(m.state.tasks.get(s.frameworkId)!.get('task-1')!.state, 'TASK_RUNNING');
  const fwd = await s.next('UPDATE');
  t.equal(fwd.update!.status.uuid, uuid, 'unacknowledged updates are forwarded again');
  for (let i = 0; i < 10; i++) {
    clock.advance(1000);
    await again.next('ping');
  }
  t.ok(m.state.agents.has(agentId), 'the removal timer was cancelled; pongs keep it');

  // An id this master never issued (it failed over): accepted as is, tasks re-added.
  const stranger = new FakeSlave(m.port);
  await stranger.connect();
  t.teardown(() => stranger.close());
  stranger.send({
    type: 'reregister',
    agent_id: { value: 'old-master-S7' },
    agent_info: { hostname: 'x', port: 5059, resources: [scalar('cpus', 1)] },
    frameworks: [{ user: 'u', name: 'gone-fw', id: { value: 'old-master-0001' } }],
    tasks: [{
      framework_id: { value: 'old-master-0001' },
      task: { name: 't', task_id: { value: 'orphan' }, agent_id: { value: 'old-master-S7' }, resources: [scalar('cpus', 0.5)], command: { value: 'x' } },
      state: 'TASK_RUNNING',
    }],
  });
  const re2 = await stranger.next('reregistered');
  t.equal(re2.agent_id.value, 'old-master-S7');
  t.equal(m.state.frameworks.get('old-master-0001')?.connected, false, 'the framework waits for its scheduler');
  t.equal(m.state.tasks.get('old-master-0001')?.get('orphan')?.state, 'TASK_RUNNING');
});

t.test('a slave registering afresh at the address of an inactive agent replaces it (restarted); other addresses stay', async (t) => {
  const clock = new ManualClock();
  const m = await startTestMaster({ clock, agentPingTimeoutMs: 1000, maxAgentPingTimeouts: 5 });
  t.teardown(() => m.cleanup());
  const s = new TestScheduler(m.port);
  await s.subscribe();
  t.teardown(() => s.disconnect());

  const old = new FakeSlave(m.port);
  const oldId = await old.register([scalar('cpus', 2)], 'h', 5051);
  const neighbour = new FakeSlave(m.port);
  const neighbourId = await neighbour.register([scalar('cpus', 2)], 'h', 5052);
  const live = new FakeSlave(m.port);
  const liveId = await live.register([scalar('cpus', 2)], 'h2', 5051);
  t.teardown(() => live.close());
  const offer = (await s.next('OFFERS', (e) => e.offers!.offers!.some((o) => o.agent_id.value === oldId))).offers!.offers!.find((o) => o.agent_id.value === oldId)!;
  await s.call(launch(offer.id.value, oldId, 'task-1'));
  await old.next('run_task');

  old.terminate();
  neighbour.terminate();
  await s.next('RESCIND');
  await waitFor(() => m.state.agents.get(oldId)?.active === false && m.state.agents.get(neighbourId)?.active === false, { timeoutMs: 10_000, what: 'both agents inactive' });

  // The same hostname and port from the same ip: the old agent restarted, its task is gone.
  const restarted = new FakeSlave(m.port);
  t.teardown(() => restarted.close());
  const newId = await restarted.register([scalar('cpus', 2)], 'h', 5051);
  t.not(newId, oldId, 'a fresh id');
  t.notOk(m.state.agents.has(oldId), 'the old agent is removed');
  const lost = await s.next('UPDATE', (e) => e.update!.status.task_id.value === 'task-1');
  t.equal(lost.update!.status.state, 'TASK_LOST');
  t.equal(lost.update!.status.reason, 'REASON_AGENT_RESTARTED');
  t.ok(m.state.agents.has(neighbourId), 'an inactive agent at another port stays (within its budget)');
  t.equal(m.state.agents.get(liveId)?.active, true, 'an active agent is never taken as restarted');

  // A second fresh registration at a live agent's address removes nothing.
  const twin = new FakeSlave(m.port);
  t.teardown(() => twin.close());
  const twinId = await twin.register([scalar('cpus', 2)], 'h2', 5051);
  t.ok(m.state.agents.has(liveId) && m.state.agents.has(twinId));
});

t.test('batch frames: one turn\'s messages travel together both ways; a bad batch changes nothing', async (t) => {
  const m = await startTestMaster();
  t.teardown(() => m.cleanup());
  // A slave that does not offer batches never gets one (FakeSlave throws on a batch it did not ask for).
  const plain = new FakeSlave(m.port);
  await plain.register([scalar('cpus', 1)], 'plain', 5051);
  t.teardown(() => plain.close());

  const slave = new FakeSlave(m.port, { batches: true });
  await slave.connect();
  t.teardown(() => slave.close());
  // Registration inside a batch works like a lone one; the master says it accepts batches.
  slave.sendRaw(JSON.stringify({ type: 'batch', messages: [{ type: 'register', agent_info: { hostname: 'batcher', port: 5052, resources: [scalar('cpus', 4)] }, batches: true }] }));
  const registered = await slave.next('registered');
  t.equal(registered.batches, true);
  const agentId = registered.agent_id.value;

  const s = new TestScheduler(m.port);
  await s.subscribe();
  t.teardown(() => s.disconnect());
  const offers = await s.next('OFFERS', (e) => e.offers!.offers!.some((o) => o.agent_id.value === agentId));
  const offer = offers.offers!.offers!.find((o) => o.agent_id.value === agentId)!;
  const taskIds = ['b-1', 'b-2', 'b-3'];
  await s.call({
    type: 'ACCEPT',
    accept: {
      offer_ids: [{ value: offer.id.value }],
      operations: [{ type: 'LAUNCH', launch: { task_infos: taskIds.map((id) => ({ name: id, task_id: { value: id }, agent_id: { value: agentId }, resources: [scalar('cpus', 1)], command: { value: 'sleep 100' } })) } }],
      filters: { refuse_seconds: 0 },
    },
  });
  for (const id of taskIds) t.equal((await slave.next('run_task')).task.task_id.value, id, `run_task ${id}, in order`);
  t.ok(slave.frameSizes.includes(3), 'the three run_tasks of one ACCEPT came in one frame');

  const update = (taskId: string, n: number) => ({
    type: 'status_update' as const,
    update: { framework_id: { value: s.frameworkId }, status: { task_id: { value: taskId }, state: 'TASK_RUNNING' as const, uuid: uuidB64(n) } },
  });
  // One bad message (an unknown state) rejects the whole batch: the good updates before it are not applied.
  slave.sendRaw(JSON.stringify({ type: 'batch', messages: [update('b-1', 1), { ...update('b-2', 2), update: { ...update('b-2', 2).update, status: { task_id: { value: 'b-2' }, state: 'TASK_BOGUS' } } }] }));
  t.match((await slave.next('error')).message, /batch message 1/);
  t.equal(m.state.tasks.get(s.frameworkId)!.get('b-1')!.state, 'TASK_STAGING', 'nothing of the bad batch applied');
  // Empty, nested and non-array batches are refused the same way.
  slave.sendRaw(JSON.stringify({ type: 'batch', messages: [] }));
  t.match((await slave.next('error')).message, /a batch holds 1 to/);
  slave.sendRaw(JSON.stringify({ type: 'batch', messages: [{ type: 'batch', messages: [{ type: 'pong' }] }] }));
  t.match((await slave.next('error')).message, /batches do not nest/);
  slave.sendRaw(JSON.stringify({ type: 'batch', messages: 'pong' }));
  t.match((await slave.next('error')).message, /a batch holds 1 to/);

  // A good batch: every update applied and forwarded, in order.
  slave.sendRaw(JSON.stringify({ type: 'batch', messages: taskIds.map((id, i) => update(id, 10 + i)) }));
  for (const id of taskIds) {
    const fwd = await s.next('UPDATE');
    t.equal(fwd.update!.status.task_id.value, id, `UPDATE ${id}, in order`);
    t.equal(fwd.update!.status.state, 'TASK_RUNNING');
  }
  t.same(taskIds.map((id) => m.state.tasks.get(s.frameworkId)!.get(id)!.state), ['TASK_RUNNING', 'TASK_RUNNING', 'TASK_RUNNING']);
  t.equal(m.state.agents.get(agentId)!.active, true, 'the slave is still connected after its bad frames');
});
