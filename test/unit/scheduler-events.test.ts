/**
 * Event dispatch of the Scheduler over an in-memory transport: handler order and typing,
 * auto-acknowledgement rules, invalid events, ERROR, lifecycle guards.
 */
import t from 'tap';
import { AgoraError } from '../../sdk/core/errors.js';
import { silentLogger } from '../../sdk/core/log.js';
import type { Offer, TaskStatus } from '../../sdk/protocol/index.js';
import { assertTransition } from '../../sdk/scheduler/lifecycle.js';
import { Scheduler, type SchedulerOptions } from '../../sdk/scheduler/index.js';
import {
  deferred, FakeTransport, ManualClock, offer, subscribedEvent, updateEvent, type FakeSubscription,
} from './scheduler-helpers.js';

function setup(extra: Partial<SchedulerOptions> = {}) {
  const transport = new FakeTransport();
  const clock = new ManualClock();
  const scheduler = new Scheduler({
    master: '127.0.0.1:5050',
    frameworkInfo: { user: 'tester', name: 'events-test' },
    transport, clock, logger: silentLogger(), random: () => 0.5,
    ...extra,
  });
  return { transport, clock, scheduler };
}

async function subscribe(transport: FakeTransport, scheduler: Scheduler, frameworkId = 'fw-1'): Promise<FakeSubscription> {
  const started = scheduler.start();
  const sub = await transport.subscriptions.next();
  sub.stream.event(subscribedEvent(frameworkId));
  t.equal(await started, frameworkId);
  return sub;
}

t.test('handlers run in order per event, with typed payloads, then "*"', async (t) => {
  const { transport, scheduler } = setup();
  const seen: string[] = [];
  const done = deferred();
  scheduler
    .on('SUBSCRIBED', (s) => { seen.push(`SUBSCRIBED ${s.framework_id.value}`); })
    .on('OFFERS', async (offers: Offer[]) => {
      // An async handler: the next handler and the next event wait for it.
      await Promise.resolve();
      seen.push(`OFFERS#1 ${offers.map((o) => o.id.value).join(',')}`);
    })
    .on('OFFERS', (offers) => { seen.push(`OFFERS#2 ${offers.length}`); })
    .on('RESCIND', (offerId: string) => { seen.push(`RESCIND ${offerId}`); })
    .on('UPDATE', (status: TaskStatus) => { seen.push(`UPDATE ${status.task_id.value} ${status.state}`); })
    .on('MESSAGE', (m) => { seen.push(`MESSAGE ${Buffer.from(m.data, 'base64').toString()}`); })
    .on('FAILURE', (f) => { seen.push(`FAILURE ${f.agent_id?.value}`); })
    .on('HEARTBEAT', () => { seen.push('HEARTBEAT'); })
    .on('*', (e) => {
      seen.push(`* ${e.type}`);
      if (e.type === 'HEARTBEAT') done.resolve();
    });
  const sub = await subscribe(transport, scheduler);
  sub.stream.event({ type: 'OFFERS', offers: { offers: [offer('o1', []), offer('o2', [])] } });
  sub.stream.event({ type: 'RESCIND', rescind: { offer_id: { value: 'o2' } } });
  sub.stream.event(updateEvent('t1', 'TASK_RUNNING'));
  sub.stream.event({ type: 'MESSAGE', message: { agent_id: { value: 'a' }, executor_id: { value: 'e' }, data: Buffer.from('hi').toString('base64') } });
  sub.stream.event({ type: 'FAILURE', failure: { agent_id: { value: 'agent-9' } } });
  sub.stream.event({ type: 'HEARTBEAT' });
  await done.promise;
  t.same(seen, [
    'SUBSCRIBED fw-1', '* SUBSCRIBED',
    'OFFERS#1 o1,o2', 'OFFERS#2 2', '* OFFERS',
    'RESCIND o2', '* RESCIND',
    'UPDATE t1 TASK_RUNNING', '* UPDATE',
    'MESSAGE hi', '* MESSAGE',
    'FAILURE agent-9', '* FAILURE',
    'HEARTBEAT', '* HEARTBEAT',
  ]);
  t.equal(scheduler.state, 'subscribed');
  t.equal(scheduler.frameworkId, 'fw-1');
  t.equal(scheduler.streamId, 'stream-1');
  await scheduler.stop();
});

t.test('several events in one chunk and one event split over chunks are all dispatched in order', async (t) => {
  const { transport, scheduler } = setup();
  const seen: string[] = [];
  const done = deferred();
  scheduler.on('UPDATE', (s) => {
    seen.push(s.task_id.value);
    if (s.task_id.value === 't3') done.resolve();
  });
  const sub = await subscribe(transport, scheduler);
  const rec = (id: string) => {
    const body = JSON.stringify(updateEvent(id, 'TASK_RUNNING'));
    return `${Buffer.byteLength(body)}\n${body}`;
  };
  sub.stream.push(rec('t1') + rec('t2').slice(0, 7));
  sub.stream.push(rec('t2').slice(7) + rec('t3'));
  await done.promise;
  t.same(seen, ['t1', 't2', 't3']);
  await scheduler.stop();
});

t.test('UPDATE with a uuid is acknowledged after its handlers; without uuid it is not', async (t) => {
  const { transport, scheduler } = setup();
  const order: string[] = [];
  const done = deferred();
  scheduler.on('UPDATE', (s) => { order.push(`handler ${s.task_id.value}`); });
  scheduler.on('HEARTBEAT', () => done.resolve());
  const sub = await subscribe(transport, scheduler);
  transport.answer = (call) => {
    order.push(`${call.type} ${call.acknowledge?.task_id.value}`);
    return 202;
  };
  sub.stream.event(updateEvent('t1', 'TASK_RUNNING', 'dXVpZC0x'));
  sub.stream.event(updateEvent('t2', 'TASK_LOST')); // reconciliation-style: no uuid
  sub.stream.event({ type: 'HEARTBEAT' });
  await done.promise;
  t.same(order, ['handler t1', 'ACKNOWLEDGE t1', 'handler t2']);
  t.equal(transport.allCalls.length, 1);
  const ack = transport.allCalls[0]!;
  t.same(ack.call, {
    type: 'ACKNOWLEDGE', framework_id: { value: 'fw-1' },
    acknowledge: { agent_id: { value: 'agent-1' }, task_id: { value: 't1' }, uuid: 'dXVpZC0x' },
  });
  t.equal(ack.streamId, 'stream-1');
  await scheduler.stop();
});

t.test('no auto-acknowledgement when disabled or when a handler threw', async (t) => {
  const { transport, scheduler } = setup({ autoAcknowledge: false });
  const done = deferred();
  scheduler.on('HEARTBEAT', () => done.resolve());
  const sub = await subscribe(transport, scheduler);
  sub.stream.event(updateEvent('t1', 'TASK_RUNNING', 'dXVpZC0x'));
  sub.stream.event({ type: 'HEARTBEAT' });
  await done.promise;
  t.equal(transport.allCalls.length, 0);
  await scheduler.stop();

  const second = setup();
  const done2 = deferred();
  const ran: string[] = [];
  second.scheduler
    .on('UPDATE', () => { throw new Error('boom'); })
    .on('UPDATE', () => { ran.push('second handler still runs'); })
    .on('HEARTBEAT', () => done2.resolve());
  const sub2 = await subscribe(second.transport, second.scheduler);
  sub2.stream.event(updateEvent('t1', 'TASK_RUNNING', 'dXVpZC0x'));
  sub2.stream.event({ type: 'HEARTBEAT' });
  await done2.promise;
  t.same(ran, ['second handler still runs']);
  t.equal(second.transport.allCalls.length, 0, 'not acknowledged: the master will resend it');
  await second.scheduler.stop();
});

t.test('an async UPDATE handler holds back the handlers after it, the acknowledgement and the next event; sync ones do not wait', async (t) => {
  const { transport, scheduler } = setup();
  const order: string[] = [];
  const gate = deferred();
  const started = deferred();
  const done = deferred();
  scheduler
    .on('UPDATE', (s) => { order.push(`sync#1 ${s.task_id.value}`); })
    .on('UPDATE', async (s) => {
      if (s.task_id.value === 't1') {
        started.resolve();
        await gate.promise;
      }
      order.push(`async ${s.task_id.value}`);
    })
    .on('UPDATE', (s) => { order.push(`sync#2 ${s.task_id.value}`); })
    .on('*', (e) => {
      if (e.type === 'UPDATE') order.push(`* ${e.update!.status.task_id.value}`);
      if (e.type === 'HEARTBEAT') done.resolve();
    });
  const sub = await subscribe(transport, scheduler);
  transport.answer = (call) => {
    order.push(`ACK ${call.acknowledge?.task_id.value}`);
    return 202;
  };
  sub.stream.event(updateEvent('t1', 'TASK_RUNNING', 'dXVpZC0x'));
  sub.stream.event(updateEvent('t2', 'TASK_RUNNING', 'dXVpZC0y'));
  sub.stream.event({ type: 'HEARTBEAT' });
  await started.promise;
  t.same(order, ['sync#1 t1'], 'the async handler holds the rest of t1 and all of t2');
  gate.resolve();
  await done.promise;
  t.same(order, [
    'sync#1 t1', 'async t1', 'sync#2 t1', 'ACK t1', '* t1',
    'sync#1 t2', 'async t2', 'sync#2 t2', 'ACK t2', '* t2',
  ]);
  await scheduler.stop();
});

t.test('manual acknowledge() sends ACKNOWLEDGE and ignores statuses without uuid', async (t) => {
  const { transport, scheduler } = setup({ autoAcknowledge: false });
  await subscribe(transport, scheduler);
  await scheduler.acknowledge({ task_id: { value: 't1' }, state: 'TASK_FINISHED' });
  t.equal(transport.allCalls.length, 0);
  await scheduler.acknowledge({ task_id: { value: 't1' }, state: 'TASK_FINISHED', agent_id: { value: 'a1' }, uuid: 'AAAA' });
  t.equal(transport.allCalls[0]!.call.type, 'ACKNOWLEDGE');
  await t.rejects(scheduler.acknowledge({ task_id: { value: 't1' }, state: 'TASK_FINISHED', uuid: 'AAAA' }), { code: 'AGORA_SCHEDULER_OPTIONS_INVALID' });
  await scheduler.stop();
});

t.test('invalid events are skipped, valid ones around them dispatched', async (t) => {
  const { transport, scheduler } = setup();
  const seen: string[] = [];
  const done = deferred();
  scheduler.on('*', (e) => {
    seen.push(e.type);
    if (e.type === 'HEARTBEAT') done.resolve();
  });
  const sub = await subscribe(transport, scheduler);
  sub.stream.push('9\nnot json!');
  sub.stream.event({ type: 'NOT_A_TYPE' });
  sub.stream.event({ type: 'UPDATE' }); // no payload
  sub.stream.event({ type: 'UPDATE', update: { status: { task_id: { value: 't' }, state: 'TASK_BOGUS' } } });
  sub.stream.event({ type: 'OFFERS', offers: { offers: [{ id: { value: 'o1' } }] } }); // offer missing fields
  sub.stream.event({ type: 'HEARTBEAT', extra: null });
  await done.promise;
  t.same(seen, ['SUBSCRIBED', 'HEARTBEAT']);
  t.equal(scheduler.state, 'subscribed');
  await scheduler.stop();
});

t.test('ERROR event: handlers run, the scheduler stops and does not reconnect', async (t) => {
  const { transport, scheduler, clock } = setup();
  const errors: string[] = [];
  const stoppedWith: (Error | undefined)[] = [];
  scheduler.on('ERROR', (e) => { errors.push(e.message); });
  scheduler.on('stopped', ({ reason }) => { stoppedWith.push(reason); });
  const sub = await subscribe(transport, scheduler);
  sub.stream.event({ type: 'ERROR', error: { message: 'Framework failed over' } });
  const reason = await scheduler.whenStopped();
  t.same(errors, ['Framework failed over']);
  t.equal(scheduler.state, 'stopped');
  t.ok(reason instanceof AgoraError);
  t.equal((reason as AgoraError).code, 'AGORA_FRAMEWORK_ERROR');
  t.match(reason!.message, /Framework failed over/);
  t.equal(stoppedWith[0], reason);
  t.ok(sub.stream.closed, 'stream closed');
  t.equal(clock.pending().length, 0, 'no reconnection timer');
  t.equal(transport.subscribeCount, 1);
  await t.rejects(scheduler.decline(['o1']), { code: 'AGORA_SCHEDULER_NOT_SUBSCRIBED', message: /stopped/ });
});

t.test('lifecycle guards name the current state', async (t) => {
  const { transport, scheduler } = setup();
  t.equal(scheduler.state, 'idle');
  await t.rejects(scheduler.decline(['o1']), { code: 'AGORA_SCHEDULER_NOT_SUBSCRIBED', message: 'cannot send DECLINE: scheduler is idle' });
  const started = scheduler.start();
  t.equal(scheduler.state, 'subscribing');
  t.throws(() => scheduler.start(), { code: 'AGORA_SCHEDULER_STATE', message: 'cannot start: scheduler is subscribing' });
  await t.rejects(scheduler.kill('t1'), { code: 'AGORA_SCHEDULER_NOT_SUBSCRIBED', message: /subscribing/ });
  const sub = await transport.subscriptions.next();
  sub.stream.event(subscribedEvent('fw-1'));
  await started;
  t.throws(() => scheduler.start(), { code: 'AGORA_SCHEDULER_STATE', message: 'cannot start: scheduler is subscribed' });
  await t.rejects(scheduler.call({ type: 'SUBSCRIBE' }), { code: 'AGORA_SCHEDULER_OPTIONS_INVALID' });
  await scheduler.stop();
  await scheduler.stop(); // idempotent
  t.equal(scheduler.state, 'stopped');
  t.throws(() => scheduler.start(), { code: 'AGORA_SCHEDULER_STATE', message: 'cannot start: scheduler is stopped' });
  t.equal(await scheduler.whenStopped(), undefined);

  t.throws(() => assertTransition('idle', 'subscribed', 'subscribe'), { code: 'AGORA_SCHEDULER_STATE', message: 'cannot subscribe: scheduler is idle' });
  t.equal(assertTransition('reconnecting', 'subscribing'), 'subscribing');
});

t.test('stop() before SUBSCRIBED rejects start()', async (t) => {
  const { transport, scheduler } = setup();
  const started = scheduler.start();
  const sub = await transport.subscriptions.next();
  await scheduler.stop();
  await t.rejects(started, { code: 'AGORA_SCHEDULER_STOPPED' });
  t.ok(sub.stream.closed);
});

t.test('calls carry framework_id and the stream id; rejections keep the status', async (t) => {
  const { transport, scheduler } = setup();
  await subscribe(transport, scheduler, 'fw-42');
  await scheduler.decline(['o1', 'o2'], { refuse_seconds: 30 });
  await scheduler.suppress();
  await scheduler.revive(['r1']);
  await scheduler.reconcile();
  t.same(transport.allCalls.map((c) => c.call), [
    { type: 'DECLINE', framework_id: { value: 'fw-42' }, decline: { offer_ids: [{ value: 'o1' }, { value: 'o2' }], filters: { refuse_seconds: 30 } } },
    { type: 'SUPPRESS', framework_id: { value: 'fw-42' } },
    { type: 'REVIVE', framework_id: { value: 'fw-42' }, revive: { roles: ['r1'] } },
    { type: 'RECONCILE', framework_id: { value: 'fw-42' }, reconcile: { tasks: [] } },
  ]);
  transport.answer = () => 400;
  await t.rejects(scheduler.kill('t1'), { code: 'AGORA_CALL_REJECTED', status: 400, callType: 'KILL' });
  await scheduler.stop();
});

t.test('teardown sends TEARDOWN then stops without reconnecting', async (t) => {
  const { transport, scheduler, clock } = setup();
  const sub = await subscribe(transport, scheduler);
  await scheduler.teardown();
  t.equal(transport.allCalls.at(-1)!.call.type, 'TEARDOWN');
  t.equal(scheduler.state, 'stopped');
  t.ok(sub.stream.closed);
  t.equal(await scheduler.whenStopped(), undefined);
  t.equal(clock.pending().length, 0, 'no watchdog or reconnection timer left');
  t.equal(transport.subscribeCount, 1);
});

t.test('unknown handler types and bad options fail at once', async (t) => {
  const { scheduler } = setup();
  t.throws(() => scheduler.on('OFFER' as 'OFFERS', () => undefined), { code: 'AGORA_SCHEDULER_OPTIONS_INVALID' });
  const base = { frameworkInfo: { user: 'u', name: 'n' }, logger: silentLogger(), transport: new FakeTransport() };
  t.throws(() => new Scheduler({ ...base, master: '' }), { code: 'AGORA_SCHEDULER_OPTIONS_INVALID' });
  t.doesNotThrow(() => new Scheduler({ ...base, master: 'zk://h:2181/agora' }), 'zk:// is a leader detection URL');
  t.throws(() => new Scheduler({ ...base, master: 'zk://h:2181' }), { code: 'AGORA_SCHEDULER_OPTIONS_INVALID', message: /zk:\/\/.*path/ });
  t.throws(() => new Scheduler({ ...base, master: 'h:1', backoffMs: 2000, maxBackoffMs: 1000 }), { message: /maxBackoffMs/ });
  t.throws(() => new Scheduler({ ...base, master: 'h:1', missedHeartbeats: 0 }), { message: /missedHeartbeats/ });
  t.throws(() => new Scheduler({ ...base, master: 'h:1', frameworkInfo: { name: 'n' } as never }), { message: /frameworkInfo: user/ });
});
