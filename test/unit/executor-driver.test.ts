/**
 * ExecutorDriver with an in-memory transport and a manual clock: event dispatch, status
 * update bookkeeping, re-subscription with unacknowledged tasks/updates, recovery timeout.
 */
import t from 'tap';
import type { Clock, TimerHandle } from '../../sdk/core/clock.js';
import { AgoraError } from '../../sdk/core/errors.js';
import { ExecutorDriver, type ExecutorDriverEvent } from '../../sdk/executor/driver.js';
import type { ExecutorConfig } from '../../sdk/executor/options.js';
import type { ExecutorTransport, SubscriptionStream } from '../../sdk/executor/transport.js';
import type { ExecutorCall, ExecutorEvent } from '../../sdk/protocol/executor.js';
import type { TaskInfo } from '../../sdk/protocol/mesos.js';
import { encodeRecord } from '../../sdk/protocol/recordio.js';

class ManualClock implements Clock {
  private current = 1_000_000;
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private nextId = 0;
  now(): number { return this.current; }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.push({ at: this.current + Math.max(0, ms), fn, id });
    return { cancel: () => { this.timers = this.timers.filter((x) => x.id !== id); } };
  }
  setInterval(): TimerHandle { throw new Error('not used'); }
  /** Moves time forward, firing due timers in order. */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.timers[0];
      if (next === undefined || next.at > target) break;
      this.timers.shift();
      this.current = next.at;
      next.fn();
      await flush();
    }
    this.current = target;
    await flush();
  }
  get pending(): number { return this.timers.length; }
}

const flush = async (): Promise<void> => { for (let i = 0; i < 10; i++) await new Promise<void>((r) => setImmediate(r)); };

/** A controllable event stream. */
class FakeStream implements SubscriptionStream {
  private queue: Array<Uint8Array | Error | null> = [];
  private wake: (() => void) | undefined;
  closed = false;
  push(item: Uint8Array | Error | null): void { this.queue.push(item); this.wake?.(); }
  event(e: ExecutorEvent): void { this.push(encodeRecord(JSON.stringify(e))); }
  close(): void { this.closed = true; this.push(null); }
  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      while (this.queue.length === 0) await new Promise<void>((r) => { this.wake = r; });
      const item = this.queue.shift()!;
      if (item === null) return;
      if (item instanceof Error) throw item;
      yield item;
    }
  }
}

class FakeTransport implements ExecutorTransport {
  readonly subscribeCalls: ExecutorCall[] = [];
  readonly sent: ExecutorCall[] = [];
  readonly streams: FakeStream[] = [];
  /** Next subscribe outcomes; default: a new stream. */
  refuseSubscribe = false;
  pendingSubscribe: Array<(s: FakeStream) => void> = [];
  holdSubscribe = false;
  failSend: Error | undefined;
  async subscribe(call: ExecutorCall): Promise<SubscriptionStream> {
    this.subscribeCalls.push(call);
    if (this.refuseSubscribe) throw new AgoraError('AGORA_EXECUTOR_CONNECT', 'refused');
    const stream = new FakeStream();
    this.streams.push(stream);
    if (this.holdSubscribe) await new Promise<void>((r) => this.pendingSubscribe.push(() => r()));
    return stream;
  }
  async send(call: ExecutorCall): Promise<void> {
    if (this.failSend !== undefined) throw this.failSend;
    this.sent.push(call);
  }
  get stream(): FakeStream { return this.streams.at(-1)!; }
}

const config: ExecutorConfig = {
  frameworkId: 'fw', executorId: 'ex', agentId: '', agentEndpoint: '127.0.0.1:1', sandboxDir: '/sb', checkpoint: true,
  recoveryTimeoutMs: 10_000, subscriptionBackoffMaxMs: 1_000, shutdownGracePeriodMs: 5_000,
};

const subscribed: ExecutorEvent = {
  type: 'SUBSCRIBED',
  subscribed: {
    executor_info: { executor_id: { value: 'ex' } },
    framework_info: { user: 'u', name: 'f', id: { value: 'fw' }, capabilities: [{ type: 'TASK_KILLING_STATE' }] },
    agent_info: { hostname: 'h', id: { value: 'agent-9' } },
    container_id: { value: 'c1' },
  },
};
const task: TaskInfo = { name: 'a', task_id: { value: 'a' }, agent_id: { value: 'agent-9' }, command: { value: 'true' } };

function setup(): { driver: ExecutorDriver; transport: FakeTransport; clock: ManualClock; seen: ExecutorDriverEvent[] } {
  const transport = new FakeTransport();
  const clock = new ManualClock();
  const driver = new ExecutorDriver({ config, transport, clock, random: () => 0.5 });
  const seen: ExecutorDriverEvent[] = [];
  void (async () => { for await (const e of driver.events()) seen.push(e); })();
  return { driver, transport, clock, seen };
}

t.test('subscribes, dispatches typed events, fills status updates and tracks acknowledgements', async (t) => {
  const { driver, transport, seen } = setup();
  const calls: string[] = [];
  driver
    .onSubscribed((info) => { calls.push(`subscribed ${info.agentInfo.hostname} ${info.containerId}`); })
    .onLaunch((tk) => { calls.push(`launch ${tk.task_id.value}`); })
    .onLaunchGroup((g) => { calls.push(`group ${g.tasks?.length}`); })
    .onKill((id, policy) => { calls.push(`kill ${id.value} ${policy?.grace_period?.nanoseconds}`); })
    .onAcknowledged((id) => { calls.push(`ack ${id.value}`); })
    .onMessage((data) => { calls.push(`message ${data.toString('utf8')}`); })
    .onShutdown(() => { calls.push('shutdown'); })
    .onError((err) => { calls.push(`error ${err.code}`); });
  driver.start();
  t.throws(() => driver.start(), { code: 'AGORA_EXECUTOR_STATE', message: /subscribing/ });
  await flush();
  t.equal(transport.subscribeCalls.length, 1);
  t.same(transport.subscribeCalls[0]!.subscribe, { unacknowledged_tasks: [], unacknowledged_updates: [] });
  transport.stream.event(subscribed);
  transport.stream.event({ type: 'LAUNCH', launch: { task } });
  // One chunk holding two records, and a record split over chunks.
  const two = Buffer.concat([
    encodeRecord(JSON.stringify({ type: 'KILL', kill: { task_id: { value: 'a' }, kill_policy: { grace_period: { nanoseconds: '5' } } } })),
    encodeRecord(JSON.stringify({ type: 'MESSAGE', message: { data: Buffer.from('héllo').toString('base64') } })),
  ]);
  transport.stream.push(two.subarray(0, 7));
  transport.stream.push(two.subarray(7));
  transport.stream.event({ type: 'LAUNCH_GROUP', launch_group: { task_group: { tasks: [{ ...task, task_id: { value: 'b' } }] } } });
  transport.stream.event({ type: 'HEARTBEAT' });
  await flush();
  t.equal(driver.state, 'subscribed');
  t.equal(driver.agentId, 'agent-9');

  const status = await driver.update({ task_id: { value: 'a' }, state: 'TASK_RUNNING' });
  t.equal(Buffer.from(status.uuid!, 'base64').length, 16);
  t.equal(status.timestamp, 1_000);
  t.equal(status.source, 'SOURCE_EXECUTOR');
  t.same(status.executor_id, { value: 'ex' });
  t.same(status.agent_id, { value: 'agent-9' });
  t.same(transport.sent.at(-1), { executor_id: { value: 'ex' }, framework_id: { value: 'fw' }, type: 'UPDATE', update: { status } });
  t.same(driver.unacknowledgedUpdates, [status]);
  t.same(driver.unacknowledgedTasks.map((x) => x.task_id.value), ['a', 'b']);
  const waiting = driver.waitForAcknowledgements(1_000);
  transport.stream.event({ type: 'ACKNOWLEDGED', acknowledged: { task_id: { value: 'a' }, uuid: status.uuid! } });
  await flush();
  t.equal(await waiting, true);
  t.same(driver.unacknowledgedUpdates, []);
  t.same(driver.unacknowledgedTasks.map((x) => x.task_id.value), ['b']);

  await driver.sendMessage('to framework');
  t.equal(Buffer.from(transport.sent.at(-1)!.message!.data, 'base64').toString(), 'to framework');

  transport.stream.push(encodeRecord('{not json'));
  transport.stream.event({ type: 'LAUNCH' } as ExecutorEvent);
  transport.stream.event({ type: 'ERROR', error: { message: 'boom' } });
  transport.stream.event({ type: 'SHUTDOWN' });
  await flush();
  t.same(calls, [
    'subscribed h c1', 'launch a', 'kill a 5', 'message héllo', 'group 1', 'ack a',
    'error AGORA_EXECUTOR_BAD_EVENT', 'error AGORA_EXECUTOR_BAD_EVENT', 'error AGORA_EXECUTOR_ERROR_EVENT', 'shutdown',
  ]);
  t.same(seen.map((e) => e.type), [
    'SUBSCRIBED', 'LAUNCH', 'KILL', 'MESSAGE', 'LAUNCH_GROUP', 'HEARTBEAT', 'ACKNOWLEDGED', 'ERROR', 'ERROR', 'ERROR', 'SHUTDOWN',
  ]);
  await t.rejects(driver.update({ task_id: { value: '' }, state: 'TASK_RUNNING' }), { code: 'AGORA_INVALID_STATUS' });
  await driver.stop();
  t.equal(driver.state, 'stopped');
  t.ok(transport.stream.closed);
  await t.rejects(driver.update({ task_id: { value: 'a' }, state: 'TASK_FINISHED' }), { code: 'AGORA_EXECUTOR_STATE' });
});

t.test('a dropped connection is re-subscribed after backoff with the unacknowledged tasks and updates', async (t) => {
  const { driver, transport, clock, seen } = setup();
  const disconnects: string[] = [];
  driver.onDisconnected((err) => { disconnects.push(err.message); });
  driver.start();
  await flush();
  transport.stream.event(subscribed);
  transport.stream.event({ type: 'LAUNCH', launch: { task } });
  await flush();
  const running = await driver.update({ task_id: { value: 'a' }, state: 'TASK_RUNNING' });
  transport.stream.push(new Error('socket hang up'));
  await flush();
  t.equal(driver.state, 'disconnected');
  t.same(disconnects, ['socket hang up']);
  await t.rejects(driver.sendMessage('x'), { code: 'AGORA_EXECUTOR_STATE' });

  // Made while disconnected: not sent, kept for the SUBSCRIBE.
  const sentBefore = transport.sent.length;
  const finished = await driver.update({ task_id: { value: 'a' }, state: 'TASK_FINISHED' });
  t.equal(transport.sent.length, sentBefore);

  await clock.advance(49);
  t.equal(transport.subscribeCalls.length, 1, 'waits for the backoff (0.5 × 100 ms)');
  transport.refuseSubscribe = true;
  await clock.advance(1);
  t.equal(transport.subscribeCalls.length, 2, 'retried');
  transport.refuseSubscribe = false;
  await clock.advance(100); // second backoff: 0.5 × 200 ms
  t.equal(transport.subscribeCalls.length, 3);
  const sub = transport.subscribeCalls[2]!.subscribe!;
  t.same(sub.unacknowledged_updates?.map((u) => [u.status.uuid, u.framework_id.value]), [[running.uuid, 'fw'], [finished.uuid, 'fw']]);
  t.same(sub.unacknowledged_tasks?.map((x) => x.task_id.value), ['a']);

  // An update made while that SUBSCRIBE is unanswered goes out as an UPDATE once subscribed.
  const late = await driver.update({ task_id: { value: 'a' }, state: 'TASK_RUNNING', message: 'late' });
  transport.stream.event(subscribed);
  await flush();
  t.equal(driver.state, 'subscribed');
  t.same(transport.sent.filter((c) => c.type === 'UPDATE').map((c) => c.update!.status.uuid).slice(-1), [late.uuid]);
  await clock.advance(20_000);
  t.equal(driver.state, 'subscribed', 'the recovery timer was cancelled');
  t.same(seen.filter((e) => e.type === 'DISCONNECTED').length, 1);
  await driver.stop();
  t.equal(clock.pending, 0, 'no timer left');
});

t.test('recovery timeout: the driver gives up, reports it and stops', async (t) => {
  const { driver, transport, clock, seen } = setup();
  let timedOut = 0;
  driver.onRecoveryTimeout(() => { timedOut++; });
  driver.start();
  await flush();
  transport.stream.event(subscribed);
  await flush();
  transport.refuseSubscribe = true;
  transport.stream.close();
  await flush();
  await clock.advance(9_999);
  t.equal(timedOut, 0);
  t.ok(transport.subscribeCalls.length > 5, `kept retrying (${transport.subscribeCalls.length})`);
  await clock.advance(1);
  t.equal(timedOut, 1);
  t.equal(driver.state, 'stopped');
  t.same(seen.map((e) => e.type), ['SUBSCRIBED', 'DISCONNECTED', 'RECOVERY_TIMEOUT']);
  const attempts = transport.subscribeCalls.length;
  await clock.advance(60_000);
  t.equal(transport.subscribeCalls.length, attempts, 'no more attempts');
  t.equal(clock.pending, 0);
});

t.test('an update the slave rejects with 400 is dropped and the error surfaces', async (t) => {
  const { driver, transport } = setup();
  driver.start();
  await flush();
  transport.stream.event(subscribed);
  await flush();
  transport.failSend = new AgoraError('AGORA_EXECUTOR_HTTP', 'UPDATE refused by the agent: 400 bad', { cause: { status: 400 } });
  await t.rejects(driver.update({ task_id: { value: 'a' }, state: 'TASK_RUNNING' }), { code: 'AGORA_EXECUTOR_HTTP' });
  t.same(driver.unacknowledgedUpdates, []);
  transport.failSend = new AgoraError('AGORA_EXECUTOR_CONNECT', 'ECONNRESET');
  const kept = await driver.update({ task_id: { value: 'a' }, state: 'TASK_RUNNING' });
  t.same(driver.unacknowledgedUpdates, [kept], 'a connection failure keeps it for re-subscription');
  await driver.stop();
});

/** A transport whose UPDATE/MESSAGE calls stay in flight until released, to see what overlaps. */
class HeldTransport extends FakeTransport {
  readonly inFlight: Array<{ call: ExecutorCall; release: () => void }> = [];
  closedCount = 0;
  override async send(call: ExecutorCall): Promise<void> {
    await new Promise<void>((release) => this.inFlight.push({ call, release }));
    this.sent.push(call);
  }
  close(): void { this.closedCount++; }
  /** The in-flight calls as `task:state` (or `MESSAGE`). */
  get flying(): string[] {
    return this.inFlight.map(({ call }) => (call.type === 'UPDATE' ? `${call.update!.status.task_id.value}:${call.update!.status.state}` : call.type));
  }
  /** Releases the oldest in-flight call whose label is `label`. */
  release(label: string): void {
    const i = this.flying.indexOf(label);
    if (i < 0) throw new Error(`${label} is not in flight (${this.flying.join(', ')})`);
    this.inFlight.splice(i, 1)[0]!.release();
  }
}

t.test("a task's updates go out one at a time in order; different tasks' updates travel side by side", async (t) => {
  const transport = new HeldTransport();
  const driver = new ExecutorDriver({ config, transport, clock: new ManualClock(), random: () => 0.5 });
  driver.start();
  await flush();
  transport.stream.event(subscribed);
  await flush();
  const a1 = driver.update({ task_id: { value: 'a' }, state: 'TASK_STARTING' });
  const a2 = driver.update({ task_id: { value: 'a' }, state: 'TASK_RUNNING' });
  const b1 = driver.update({ task_id: { value: 'b' }, state: 'TASK_STARTING' });
  const m1 = driver.sendMessage('hello');
  await flush();
  t.same(transport.flying.sort(), ['MESSAGE', 'a:TASK_STARTING', 'b:TASK_STARTING'], "a's second update waits for its first; b's and the message do not wait for a's");
  transport.release('b:TASK_STARTING');
  await b1;
  const b2 = driver.update({ task_id: { value: 'b' }, state: 'TASK_FINISHED' });
  await flush();
  t.ok(transport.flying.includes('b:TASK_FINISHED'), "b's next update leaves while a's first is still in flight");
  transport.release('a:TASK_STARTING');
  await a1;
  await flush();
  t.ok(transport.flying.includes('a:TASK_RUNNING'), "a's second update leaves once its first is answered");
  transport.release('a:TASK_RUNNING');
  transport.release('b:TASK_FINISHED');
  transport.release('MESSAGE');
  await Promise.all([a2, b2, m1]);
  const order = (id: string): string[] => transport.sent.filter((c) => c.type === 'UPDATE' && c.update!.status.task_id.value === id).map((c) => c.update!.status.state);
  t.same(order('a'), ['TASK_STARTING', 'TASK_RUNNING'], "a's updates reached the slave in order");
  t.same(order('b'), ['TASK_STARTING', 'TASK_FINISHED'], "b's updates reached the slave in order");
  await driver.stop();
  t.equal(transport.closedCount, 1, 'stop() closes the transport once the calls in flight are done');
});

t.test('an update that fails on one task does not hold up the next update of that task or others', async (t) => {
  const transport = new HeldTransport();
  const driver = new ExecutorDriver({ config, transport, clock: new ManualClock(), random: () => 0.5 });
  driver.start();
  await flush();
  transport.stream.event(subscribed);
  await flush();
  transport.failSend = new AgoraError('AGORA_EXECUTOR_HTTP', 'UPDATE refused by the agent: 400 bad', { cause: { status: 400 } });
  const sendOriginal = transport.send.bind(transport);
  let failed = 0;
  transport.send = async (call) => {
    if (failed === 0) { failed++; throw transport.failSend!; }
    return sendOriginal(call);
  };
  await t.rejects(driver.update({ task_id: { value: 'a' }, state: 'TASK_STARTING' }), { code: 'AGORA_EXECUTOR_HTTP' }, 'a 400 rejects that update');
  const next = driver.update({ task_id: { value: 'a' }, state: 'TASK_RUNNING' });
  await flush();
  t.same(transport.flying, ['a:TASK_RUNNING'], "the task's chain carries on after a failed call");
  transport.release('a:TASK_RUNNING');
  await next;
  t.same(driver.unacknowledgedUpdates.map((s) => s.state), ['TASK_RUNNING'], 'the refused update was dropped, the other is kept until acknowledged');
  await driver.stop();
});
