/**
 * The reconnect loop over an in-memory transport and a manual clock: resubscription with
 * the same framework id, backoff growth and reset, missed heartbeats, fatal rejections.
 * Time only moves when the test calls `clock.advance`.
 */
import t from 'tap';
import { AgoraError } from '../../sdk/core/errors.js';
import { silentLogger } from '../../sdk/core/log.js';
import { backoffDelayMs } from '../../sdk/scheduler/backoff.js';
import { Scheduler, SubscribeRejectedError, type SchedulerOptions } from '../../sdk/scheduler/index.js';
import { deferred, FakeTransport, ManualClock, subscribedEvent, AsyncQueue } from './scheduler-helpers.js';

/** Backoff timers are at most maxBackoffMs (4 s here); the stream watchdog is 75 s (5 × 15 s). */
const isBackoff = (tm: { delay: number }): boolean => tm.delay <= 4000;

function setup(extra: Partial<SchedulerOptions> = {}) {
  const transport = new FakeTransport();
  const clock = new ManualClock();
  const scheduler = new Scheduler({
    master: '127.0.0.1:5050',
    frameworkInfo: { user: 'tester', name: 'reconnect-test', failover_timeout: 60 },
    transport, clock, logger: silentLogger(),
    random: () => 0.5, backoffMs: 1000, maxBackoffMs: 4000,
    ...extra,
  });
  return { transport, clock, scheduler };
}

t.test('backoff arithmetic: equal jitter, exponential, capped', async (t) => {
  t.equal(backoffDelayMs(0, 1000, 4000, () => 0), 500);
  t.equal(backoffDelayMs(0, 1000, 4000, () => 0.5), 750);
  t.equal(backoffDelayMs(0, 1000, 4000, () => 0.999999), 1000);
  t.equal(backoffDelayMs(1, 1000, 4000, () => 0.5), 1500);
  t.equal(backoffDelayMs(2, 1000, 4000, () => 0.5), 3000);
  t.equal(backoffDelayMs(3, 1000, 4000, () => 0.5), 3000, 'capped at max');
  t.equal(backoffDelayMs(500, 1000, 4000, () => 0), 2000, 'huge attempt numbers stay finite');
});

t.test('stream drop → disconnected, backoff on the clock, resubscribe with the same framework id, reconnected', async (t) => {
  const { transport, clock, scheduler } = setup();
  const lifecycle = new AsyncQueue<string>();
  scheduler
    .on('disconnected', ({ reason }) => { lifecycle.push(`disconnected ${(reason as AgoraError).code}`); })
    .on('reconnected', ({ frameworkId }) => { lifecycle.push(`reconnected ${frameworkId}`); });

  const started = scheduler.start();
  const first = await transport.subscriptions.next();
  t.notOk(first.call.framework_id, 'first SUBSCRIBE has no framework id');
  first.stream.event(subscribedEvent('fw-7'));
  t.equal(await started, 'fw-7');

  const backoff = clock.nextTimer(isBackoff);
  first.stream.end();
  t.equal(await lifecycle.next(), 'disconnected AGORA_STREAM_ENDED');
  const timer = await backoff;
  t.equal(timer.delay, 750, 'first delay: base 1000, equal jitter at 0.5');
  t.equal(scheduler.state, 'reconnecting');
  await t.rejects(scheduler.decline(['o1']), { code: 'AGORA_SCHEDULER_NOT_SUBSCRIBED', message: /reconnecting/ });

  clock.advance(749);
  t.notOk(timer.fired);
  t.equal(transport.subscribeCount, 1, 'nothing before the delay');
  clock.advance(1);
  t.ok(timer.fired);
  const second = await transport.subscriptions.next();
  t.same(second.call.framework_id, { value: 'fw-7' });
  t.same(second.call.subscribe?.framework_info.id, { value: 'fw-7' });
  t.equal(second.call.subscribe?.framework_info.failover_timeout, 60);
  second.stream.event(subscribedEvent('fw-7'));
  t.equal(await lifecycle.next(), 'reconnected fw-7');
  t.equal(scheduler.state, 'subscribed');
  t.equal(scheduler.streamId, 'stream-2');
  await scheduler.stop();
});

t.test('failed attempts back off exponentially; a SUBSCRIBED resets the backoff', async (t) => {
  const { transport, clock, scheduler } = setup();
  const started = scheduler.start();
  const first = await transport.subscriptions.next();
  first.stream.event(subscribedEvent('fw-1'));
  await started;

  transport.subscribeFailures.push(
    new AgoraError('AGORA_MASTER_UNREACHABLE', 'connect ECONNREFUSED'),
    new SubscribeRejectedError(503, 'no leader'),
  );
  const delays: number[] = [];
  let next = clock.nextTimer(isBackoff);
  first.stream.fail(new Error('socket hang up'));
  for (let i = 0; i < 3; i++) {
    const timer = await next;
    delays.push(timer.delay);
    next = clock.nextTimer(isBackoff);
    clock.advance(timer.delay);
  }
  // The 2nd attempt failed unreachable (base 1000, attempt 1); the 3rd got a 503 from a live
  // master that is not ready (a new leader loading its registry): its retry comes from a 50 ms base.
  t.same(delays, [750, 1500, 150], 'the 2nd and 3rd attempts failed (unreachable, 503)');
  const third = await transport.subscriptions.next();
  t.equal(transport.subscribeCount, 4);
  t.same(third.call.framework_id, { value: 'fw-1' });
  third.stream.event(subscribedEvent('fw-1'));
  const reconnected = deferred();
  scheduler.on('reconnected', () => reconnected.resolve());
  await reconnected.promise;

  const afterReset = clock.nextTimer(isBackoff);
  third.stream.end();
  t.equal((await afterReset).delay, 750, 'backoff starts over after a successful subscription');
  await scheduler.stop();
  t.equal(clock.pending().length, 0, 'stop cancels the backoff timer');
});

t.test('missed heartbeats → the stream is closed and the scheduler resubscribes', async (t) => {
  const { transport, clock, scheduler } = setup({ missedHeartbeats: 3 });
  const disconnected = deferred<Error>();
  const heartbeat = deferred();
  scheduler.on('disconnected', ({ reason }) => disconnected.resolve(reason));
  scheduler.on('HEARTBEAT', () => heartbeat.resolve());

  const started = scheduler.start();
  const first = await transport.subscriptions.next();
  const armed = clock.nextTimer((tm) => tm.delay !== 45_000); // not the initial 3 × 15 s watchdog
  first.stream.event(subscribedEvent('fw-1', 2)); // heartbeat every 2 s → silence limit 6 s
  await started;
  t.equal((await armed).delay, 6000);

  clock.advance(5999);
  t.equal(scheduler.state, 'subscribed');
  const rearmed = clock.nextTimer();
  first.stream.event({ type: 'HEARTBEAT' });
  await heartbeat.promise;
  const watchdog = await rearmed;
  t.equal(watchdog.delay, 6000, 'a heartbeat re-arms the watchdog');
  clock.advance(5999);
  t.notOk(watchdog.fired);
  t.equal(scheduler.state, 'subscribed');

  const backoff = clock.nextTimer(isBackoff);
  clock.advance(1);
  t.ok(watchdog.fired);
  t.ok(first.stream.closed, 'the silent stream is closed');
  const reason = await disconnected.promise;
  t.equal((reason as AgoraError).code, 'AGORA_HEARTBEAT_TIMEOUT');
  clock.advance((await backoff).delay);
  const second = await transport.subscriptions.next();
  t.same(second.call.framework_id, { value: 'fw-1' });
  await scheduler.stop();
});

t.test('a 4xx answer to SUBSCRIBE is fatal: start() rejects, no retry', async (t) => {
  const { transport, clock, scheduler } = setup();
  transport.subscribeFailures.push(new SubscribeRejectedError(403, 'Framework has been removed'));
  await t.rejects(scheduler.start(), { code: 'AGORA_SUBSCRIBE_REJECTED', status: 403 });
  t.equal(scheduler.state, 'stopped');
  t.equal(clock.pending().length, 0);
  t.equal(transport.subscribeCount, 1);
});

t.test('reconnect: false stops at the first loss', async (t) => {
  const { transport, clock, scheduler } = setup({ reconnect: false });
  const started = scheduler.start();
  const sub = await transport.subscriptions.next();
  sub.stream.event(subscribedEvent('fw-1'));
  await started;
  sub.stream.end();
  const reason = await scheduler.whenStopped();
  t.equal((reason as AgoraError).code, 'AGORA_STREAM_ENDED');
  t.equal(transport.subscribeCount, 1);
  t.equal(clock.pending().length, 0);

  const second = setup({ reconnect: false });
  second.transport.subscribeFailures.push(new AgoraError('AGORA_MASTER_UNREACHABLE', 'connect ECONNREFUSED'));
  await t.rejects(second.scheduler.start(), { code: 'AGORA_MASTER_UNREACHABLE' });
});

t.test('a call answered 503 is retried after a backoff on the clock', async (t) => {
  const { transport, clock, scheduler } = setup({ callRetries: 2 });
  const started = scheduler.start();
  const sub = await transport.subscriptions.next();
  sub.stream.event(subscribedEvent('fw-1'));
  await started;
  let answers = [503, 503, 202];
  transport.answer = () => answers.shift() ?? 202;
  const retry1 = clock.nextTimer(isBackoff);
  const declined = scheduler.decline(['o1']);
  const t1 = await retry1;
  t.equal(t1.delay, 750);
  const retry2 = clock.nextTimer(isBackoff);
  clock.advance(750);
  const t2 = await retry2;
  t.equal(t2.delay, 1500);
  clock.advance(1500);
  await declined;
  t.equal(transport.allCalls.length, 3);

  answers = [503, 503, 503];
  const retries = (async () => {
    for (let i = 0; i < 2; i++) clock.advance((await clock.nextTimer(isBackoff)).delay);
  })();
  await t.rejects(scheduler.decline(['o2']), { code: 'AGORA_CALL_REJECTED', status: 503 });
  await retries;
  await scheduler.stop();
});
