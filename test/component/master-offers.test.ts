/**
 * Offers and launches end to end: a fake slave's resources are offered, a launch reaches the
 * slave as run_task, status updates flow to the framework with their uuid and the ack back to
 * the slave; DECLINE filters; invalid offers and invalid tasks.
 */
import t, { type Test } from 'tap';
import type { SchedulerEvent } from '../../sdk/protocol/index.js';
import { scalarOf } from '../../sdk/resources/index.js';
import {
  FakeSlave, ManualClock, TestScheduler, frameworkInfo, launchCall, request, scalar, startTestMaster, uuidB64,
  type TestMaster,
} from './master-kit.js';
import type { MasterOptions } from '../../master/config.js';

function offersOf(e: SchedulerEvent) {
  return e.offers?.offers ?? [];
}

/** A master (with these options), one fake slave registered and one scheduler subscribed. */
async function masterWithOneSlave(t: Test, opts: Partial<MasterOptions> = {}, info = frameworkInfo()) {
  const m = await startTestMaster(opts);
  t.teardown(() => m.cleanup());
  const slave = new FakeSlave(m.port);
  const agentId = await slave.register();
  t.teardown(() => slave.close());
  const s = new TestScheduler(m.port);
  await s.subscribe(info);
  t.teardown(() => s.disconnect());
  return { m, slave, agentId, s };
}

/** Declined resources stay back for `ms` of virtual time, and not 1 ms longer (the offer itself is for the caller to await). */
function heldBackFor(t: Test, m: TestMaster, clock: ManualClock, ms: number): void {
  m.master.allocateNow();
  t.equal(m.state.offers.size, 0, 'not re-offered at once');
  clock.advance(ms - 1);
  m.master.allocateNow();
  t.equal(m.state.offers.size, 0, `not within ${ms} ms`);
  clock.advance(2);
}

t.test('offer → launch → status update → acknowledge', async (t) => {
  const m = await startTestMaster();
  t.teardown(() => m.cleanup());
  const slave = new FakeSlave(m.port);
  const agentId = await slave.register(undefined, 'host-a', 5051);
  t.teardown(() => slave.close());
  t.match(agentId, new RegExp(`^${m.masterInfo.id}-S\\d+$`));

  const s = new TestScheduler(m.port);
  await s.subscribe();
  t.teardown(() => s.disconnect());

  const offersEvent = await s.next('OFFERS');
  const [offer] = offersOf(offersEvent);
  t.ok(offer, 'one offer');
  t.match(offer!.id.value, new RegExp(`^${m.masterInfo.id}-O\\d+$`));
  t.equal(offer!.agent_id.value, agentId);
  t.equal(offer!.framework_id.value, s.frameworkId);
  t.equal(offer!.hostname, 'host-a');
  t.same(offer!.url, { scheme: 'http', address: { hostname: 'host-a', ip: '127.0.0.1', port: 5051 }, path: '/slave(1)' });
  t.same(offer!.allocation_info, { role: '*' });
  t.equal(scalarOf(offer!.resources ?? [], 'cpus'), 4);
  t.ok(offer!.resources!.every((r) => r.allocation_info?.role === '*'), 'resources carry allocation_info');
  t.ok(offer!.resources!.every((r) => r.role === '*'), 'unreserved resources carry the legacy role "*" (no RESERVATION_REFINEMENT)');
  t.equal(m.state.offers.size, 1);
  t.equal(scalarOf(m.state.agents.get(agentId)!.offered, 'cpus'), 4);

  const res = await s.call(launchCall([offer!.id.value], agentId, 'task-1', [scalar('cpus', 1), scalar('mem', 128)]));
  t.equal(res.status, 202);
  const run = await slave.next('run_task');
  t.equal(run.task.task_id.value, 'task-1');
  t.equal(run.framework.id?.value, s.frameworkId);
  const task = m.state.tasks.get(s.frameworkId)!.get('task-1')!;
  t.equal(task.state, 'TASK_STAGING');
  t.equal(scalarOf(m.state.agents.get(agentId)!.used, 'cpus'), 1);

  // The leftover comes back after the (tiny) refuse filter.
  const again = await s.next('OFFERS');
  t.equal(scalarOf(offersOf(again)[0]!.resources ?? [], 'cpus'), 3, 'the rest is re-offered, never the used part');

  const uuid = uuidB64(7);
  slave.send({
    type: 'status_update',
    update: { framework_id: { value: s.frameworkId }, status: { task_id: { value: 'task-1' }, state: 'TASK_RUNNING', source: 'SOURCE_EXECUTOR', uuid } },
  });
  const update = await s.next('UPDATE');
  t.equal(update.update!.status.state, 'TASK_RUNNING');
  t.equal(update.update!.status.uuid, uuid);
  t.equal(update.update!.status.agent_id?.value, agentId);
  t.equal(task.state, 'TASK_RUNNING');
  t.equal(task.unacknowledgedUuid, uuid);

  const ack = await s.call({ type: 'ACKNOWLEDGE', acknowledge: { agent_id: { value: agentId }, task_id: { value: 'task-1' }, uuid } });
  t.equal(ack.status, 202);
  const slaveAck = await slave.next('status_update_ack');
  t.equal(slaveAck.uuid, uuid);
  t.equal(slaveAck.task_id.value, 'task-1');
  t.equal(task.unacknowledgedUuid, undefined);

  // Terminal update frees the resources; its ack retires the task.
  const uuid2 = uuidB64(8);
  slave.send({
    type: 'status_update',
    update: { framework_id: { value: s.frameworkId }, status: { task_id: { value: 'task-1' }, state: 'TASK_FINISHED', uuid: uuid2 } },
  });
  await s.next('UPDATE', (e) => e.update!.status.state === 'TASK_FINISHED');
  t.equal(scalarOf(m.state.agents.get(agentId)!.used, 'cpus'), 0);
  t.equal(m.state.counters.tasksFinished, 1);
  await s.call({ type: 'ACKNOWLEDGE', acknowledge: { agent_id: { value: agentId }, task_id: { value: 'task-1' }, uuid: uuid2 } });
  await slave.next('status_update_ack', (a) => a.uuid === uuid2);
  t.equal(m.state.tasks.get(s.frameworkId)?.get('task-1'), undefined);
  t.equal(m.state.completedTasks.at(-1)?.info.task_id.value, 'task-1');

  // KILL of a known task goes to the slave; of an unknown task it is answered by reconciliation.
  await s.call({ type: 'KILL', kill: { task_id: { value: 'ghost' } } });
  const lost = await s.next('UPDATE', (e) => e.update!.status.task_id.value === 'ghost');
  t.equal(lost.update!.status.state, 'TASK_LOST');
  t.equal(lost.update!.status.reason, 'REASON_RECONCILIATION');
  t.equal(lost.update!.status.uuid, undefined);
});

t.test('latest_state: a task that already ended frees its resources while its updates are still in flight', async (t) => {
  const m = await startTestMaster();
  t.teardown(() => m.cleanup());
  const slave = new FakeSlave(m.port);
  const agentId = await slave.register(undefined, 'host-a', 5051);
  t.teardown(() => slave.close());
  const s = new TestScheduler(m.port);
  await s.subscribe();
  t.teardown(() => s.disconnect());
  const [offer] = offersOf(await s.next('OFFERS'));
  await s.call(launchCall([offer!.id.value], agentId, 'task-1', [scalar('cpus', 1), scalar('mem', 128)]));
  await slave.next('run_task');
  const task = m.state.tasks.get(s.frameworkId)!.get('task-1')!;
  t.equal(scalarOf(m.state.agents.get(agentId)!.used, 'cpus'), 1);

  // The slave forwards RUNNING while FINISHED waits behind it (Mesos StatusUpdate.latest_state).
  const running = uuidB64(1);
  slave.send({
    type: 'status_update',
    update: {
      framework_id: { value: s.frameworkId }, latest_state: 'TASK_FINISHED',
      status: { task_id: { value: 'task-1' }, state: 'TASK_RUNNING', source: 'SOURCE_EXECUTOR', uuid: running },
    },
  });
  const update = await s.next('UPDATE');
  t.equal(update.update!.status.state, 'TASK_RUNNING', 'the framework gets the updates in order');
  t.equal(task.state, 'TASK_FINISHED', 'the master takes the latest state');
  t.equal(scalarOf(m.state.agents.get(agentId)!.used, 'cpus'), 0, 'and frees the resources at once');
  t.equal(m.state.counters.tasksFinished, 1);
  // The freed cpu comes in an offer of its own (1) or with the leftover (4), never as the leftover's 3 alone.
  const reoffered = await s.next('OFFERS', (e) => offersOf(e).some((o) => [1, 4].includes(scalarOf(o.resources ?? [], 'cpus'))));
  t.ok(reoffered, 'the freed cpu is offered again before FINISHED reached the framework');

  // Acknowledging RUNNING does not retire the task: its terminal update has not been forwarded yet.
  await s.call({ type: 'ACKNOWLEDGE', acknowledge: { agent_id: { value: agentId }, task_id: { value: 'task-1' }, uuid: running } });
  await slave.next('status_update_ack', (a) => a.uuid === running);
  t.equal(m.state.tasks.get(s.frameworkId)?.get('task-1'), task, 'still known');

  const finished = uuidB64(2);
  slave.send({
    type: 'status_update',
    update: { framework_id: { value: s.frameworkId }, status: { task_id: { value: 'task-1' }, state: 'TASK_FINISHED', uuid: finished } },
  });
  await s.next('UPDATE', (e) => e.update!.status.state === 'TASK_FINISHED');
  t.equal(m.state.counters.tasksFinished, 1, 'counted once');
  t.equal(scalarOf(m.state.agents.get(agentId)!.used, 'cpus'), 0, 'released once');
  await s.call({ type: 'ACKNOWLEDGE', acknowledge: { agent_id: { value: agentId }, task_id: { value: 'task-1' }, uuid: finished } });
  await slave.next('status_update_ack', (a) => a.uuid === finished);
  t.equal(m.state.tasks.get(s.frameworkId)?.get('task-1'), undefined, 'retired once its terminal update is acknowledged');
});

t.test('DECLINE with refuse_seconds filters until the (virtual) time passes', async (t) => {
  const clock = new ManualClock();
  const { m, agentId, s } = await masterWithOneSlave(t, { clock });
  const offer = offersOf(await s.next('OFFERS'))[0]!;

  const res = await s.call({ type: 'DECLINE', decline: { offer_ids: [offer.id], filters: { refuse_seconds: 10 } } });
  t.equal(res.status, 202);
  t.equal(m.state.offers.size, 0);
  t.equal(m.state.counters.offersDeclined, 1);
  heldBackFor(t, m, clock, 10_000);
  const next = offersOf(await s.next('OFFERS'))[0]!;
  t.equal(next.agent_id.value, agentId, 're-offered once the filter expired');

  // REVIVE clears filters at once.
  await s.call({ type: 'DECLINE', decline: { offer_ids: [next.id], filters: { refuse_seconds: 1000 } } });
  t.equal(m.state.offers.size, 0);
  await s.call({ type: 'REVIVE' });
  await s.next('OFFERS');
  // SUPPRESS stops offers until REVIVE.
  const held = [...m.state.offers.keys()];
  await s.call({ type: 'SUPPRESS' });
  await s.call({ type: 'DECLINE', decline: { offer_ids: held.map((value) => ({ value })), filters: { refuse_seconds: 0 } } });
  m.master.allocateNow();
  t.equal(m.state.offers.size, 0, 'suppressed: no offers');
  await s.call({ type: 'REVIVE' });
  await s.next('OFFERS');
});

t.test('declined resources stay away from the decliner for the floor, even with refuse_seconds 0; others get them at once', async (t) => {
  const clock = new ManualClock();
  const { m, agentId, s: a } = await masterWithOneSlave(t, { clock }, frameworkInfo({ name: 'a' }));
  const flags = JSON.parse((await request(m.port, { method: 'GET', path: '/master/flags' })).body) as { flags: Record<string, string> };
  t.equal(flags.flags.min_decline_refuse, '1secs', 'default floor: Mesos\'s one-second allocation interval');
  const first = offersOf(await a.next('OFFERS'))[0]!;

  // Alone: A does not get its own declined resources back before the floor has passed.
  await a.call({ type: 'DECLINE', decline: { offer_ids: [first.id], filters: { refuse_seconds: 0 } } });
  heldBackFor(t, m, clock, 1_000);
  const again = offersOf(await a.next('OFFERS'))[0]!;
  t.equal(again.agent_id.value, agentId, 're-offered once the floor passed');

  // Another framework is not held back: the filter is A's.
  const b = new TestScheduler(m.port);
  await b.subscribe(frameworkInfo({ name: 'b' }));
  t.teardown(() => b.disconnect());
  await a.call({ type: 'DECLINE', decline: { offer_ids: [again.id], filters: { refuse_seconds: 0 } } });
  const ofB = offersOf(await b.next('OFFERS'))[0]!;
  t.equal(ofB.agent_id.value, agentId, 'the other framework gets them without waiting');

  // An ACCEPT without operations declines too, floor included; a longer refuse_seconds wins.
  await b.call({ type: 'ACCEPT', accept: { offer_ids: [ofB.id], operations: [], filters: { refuse_seconds: 0 } } });
  m.master.allocateNow();
  t.equal(m.state.offers.size, 0, 'both frameworks filtered: nobody gets them');
  t.equal(m.state.counters.offersDeclined, 2, 'the two DECLINEs counted');
  clock.advance(1001);
  m.master.allocateNow();
  const reoffered = [...m.state.offers.values()];
  t.equal(reoffered.length, 1, 'back after the floor');
  const holder = reoffered[0]!.frameworkId === a.frameworkId ? a : b;
  const other = holder === a ? b : a;
  const back = offersOf(await holder.next('OFFERS'))[0]!;
  t.equal(back.agent_id.value, agentId);

  // REVIVE clears the floor's filter as any other.
  await holder.call({ type: 'DECLINE', decline: { offer_ids: [back.id], filters: { refuse_seconds: 0 } } });
  const ofOther = offersOf(await other.next('OFFERS'))[0]!;
  await other.call({ type: 'DECLINE', decline: { offer_ids: [ofOther.id], filters: { refuse_seconds: 0 } } });
  m.master.allocateNow();
  t.equal(m.state.offers.size, 0, 'both filtered again');
  await holder.call({ type: 'REVIVE' });
  t.equal(offersOf(await holder.next('OFFERS'))[0]!.agent_id.value, agentId, 'REVIVE: offered at once, before the floor passed');
});

t.test('on a quiet master (wall clock), resources come back to the decliner when its filter expires', async (t) => {
  // The expiry timer asks for an allocation pass, which runs on a zero-delay timer. Nothing
  // else happens meanwhile here, so the pass must not wait for other events to wake the master.
  const { m, agentId, s } = await masterWithOneSlave(t, { minDeclineRefuseMs: 0 });
  for (let round = 0; round < 3; round++) {
    const offer = offersOf(await s.next('OFFERS'))[0]!;
    t.equal(offer.agent_id.value, agentId);
    await s.call({ type: 'DECLINE', decline: { offer_ids: [offer.id], filters: { refuse_seconds: 0.05 } } });
  }
  t.equal(m.state.counters.offersDeclined, 3, 're-offered after each expiry');
});

t.test('minDeclineRefuseMs 0 turns the floor off; a negative one is refused', async (t) => {
  const { m, s } = await masterWithOneSlave(t, { minDeclineRefuseMs: 0 });
  const offer = offersOf(await s.next('OFFERS'))[0]!;
  await s.call({ type: 'DECLINE', decline: { offer_ids: [offer.id], filters: { refuse_seconds: 0 } } });
  const next = offersOf(await s.next('OFFERS'))[0]!;
  t.not(next.id.value, offer.id.value, 'offered straight back, as before the floor');
  t.equal(m.state.counters.offersDeclined, 1);
  await t.rejects(startTestMaster({ minDeclineRefuseMs: -1 }), { code: 'AGORA_MASTER_BAD_OPTION', message: /minDeclineRefuseMs/ });
  await t.rejects(startTestMaster({ minDeclineRefuseMs: Number.NaN }), { code: 'AGORA_MASTER_BAD_OPTION' });
});

t.test('invalid offers and invalid tasks', async (t) => {
  const m = await startTestMaster();
  t.teardown(() => m.cleanup());
  const a = new TestScheduler(m.port);
  await a.subscribe(frameworkInfo({ name: 'a' }));
  const b = new TestScheduler(m.port);
  await b.subscribe(frameworkInfo({ name: 'b', capabilities: [{ type: 'PARTITION_AWARE' }] }));
  t.teardown(() => { a.disconnect(); b.disconnect(); });
  const slave1 = new FakeSlave(m.port);
  const agent1 = await slave1.register(undefined, 'h1', 5051);
  const slave2 = new FakeSlave(m.port);
  await slave2.register(undefined, 'h2', 5052);
  t.teardown(() => { slave1.close(); slave2.close(); });
  // Each framework ends up with one agent's offer (DRF).
  const offerOfA = offersOf(await a.next('OFFERS'))[0]!;
  const offerOfB = offersOf(await b.next('OFFERS'))[0]!;
  t.not(offerOfA.agent_id.value, offerOfB.agent_id.value);

  // B accepts A's offer: B's task is dropped (partition-aware), A's offer stays.
  await b.call(launchCall([offerOfA.id.value], offerOfA.agent_id.value, 'stolen', [scalar('cpus', 1)]));
  const dropped = await b.next('UPDATE', (e) => e.update!.status.task_id.value === 'stolen');
  t.equal(dropped.update!.status.state, 'TASK_DROPPED');
  t.equal(dropped.update!.status.reason, 'REASON_INVALID_OFFERS');
  t.equal(dropped.update!.status.source, 'SOURCE_MASTER');
  t.equal(dropped.update!.status.uuid, undefined);
  t.ok(m.state.offers.has(offerOfA.id.value), "the other framework's offer is untouched");

  // A accepts an unknown offer: TASK_LOST (not partition-aware).
  await a.call(launchCall(['no-such-offer'], agent1, 'ghost', [scalar('cpus', 1)]));
  const lost = await a.next('UPDATE', (e) => e.update!.status.task_id.value === 'ghost');
  t.equal(lost.update!.status.state, 'TASK_LOST');
  t.equal(lost.update!.status.reason, 'REASON_INVALID_OFFERS');
  t.match(lost.update!.status.message, /invalid offers/);
  t.ok(m.state.offers.has(offerOfA.id.value), 'an unknown offer id leaves the real offer alone');

  // A asks for more than offered: TASK_ERROR; the resources come back. Without a filter: the
  // kit's 1 ms one (on the wall clock here) may still hold at the next allocation pass, which
  // would offer them to B.
  const greedy = launchCall([offerOfA.id.value], offerOfA.agent_id.value, 'greedy', [scalar('cpus', 64)]);
  await a.call({ ...greedy, accept: { ...(greedy.accept as Record<string, unknown>), filters: { refuse_seconds: 0 } } });
  const error = await a.next('UPDATE', (e) => e.update!.status.task_id.value === 'greedy');
  t.equal(error.update!.status.state, 'TASK_ERROR');
  t.equal(error.update!.status.reason, 'REASON_TASK_INVALID');
  t.match(error.update!.status.message, /more resources/);
  t.notOk(m.state.offers.has(offerOfA.id.value), 'the accepted offer is used up');
  t.equal(m.state.tasks.get(a.frameworkId)?.get('greedy'), undefined);

  // No command and no executor; duplicate ids in one call.
  const offer2 = offersOf(await a.next('OFFERS'))[0]!;
  await a.call({
    type: 'ACCEPT',
    accept: {
      offer_ids: [offer2.id],
      operations: [{
        type: 'LAUNCH',
        launch: {
          task_infos: [
            { name: 'x', task_id: { value: 'nocmd' }, agent_id: offer2.agent_id, resources: [scalar('cpus', 0.1)] },
            { name: 'x', task_id: { value: 'dup' }, agent_id: offer2.agent_id, resources: [scalar('cpus', 0.1)], command: { value: 'true' } },
            { name: 'x', task_id: { value: 'dup' }, agent_id: offer2.agent_id, resources: [scalar('cpus', 0.1)], command: { value: 'true' } },
            { name: 'x', task_id: { value: 'wrong-agent' }, agent_id: { value: 'elsewhere' }, resources: [scalar('cpus', 0.1)], command: { value: 'true' } },
          ],
        },
      }],
    },
  });
  const nocmd = await a.next('UPDATE', (e) => e.update!.status.task_id.value === 'nocmd');
  t.equal(nocmd.update!.status.state, 'TASK_ERROR');
  t.match(nocmd.update!.status.message, /at least one \(but not both\) of CommandInfo or ExecutorInfo/);
  const dup = await a.next('UPDATE', (e) => e.update!.status.task_id.value === 'dup');
  t.equal(dup.update!.status.state, 'TASK_ERROR');
  t.match(dup.update!.status.message, /duplicate ID/);
  const wrong = await a.next('UPDATE', (e) => e.update!.status.task_id.value === 'wrong-agent');
  t.equal(wrong.update!.status.state, 'TASK_ERROR');
  const slaveOf = offer2.agent_id.value === slave1.agentId ? slave1 : slave2;
  const run = await slaveOf.next('run_task');
  t.equal(run.task.task_id.value, 'dup', 'the first of the duplicates launches');
  t.equal(m.state.counters.tasksError, 4);
});
