/**
 * The status update manager on a hand-driven clock: in-order delivery, doubling retries,
 * acknowledgement matching, duplicates and updates after a terminal one.
 */
import t from 'tap';
import type { Clock, TimerHandle } from '../../sdk/core/clock.js';
import { silentLogger } from '../../sdk/core/log.js';
import type { StatusUpdate } from '../../sdk/protocol/agent.js';
import type { TaskState } from '../../sdk/protocol/mesos.js';
import { registrationDelay, nextRetryInterval } from '../../slave/backoff.js';
import { MAX_CHECKPOINTED_UUIDS } from '../../slave/checkpoint.js';
import { StatusUpdateManager } from '../../slave/status-updates.js';

/** A clock that only moves when told to. */
class ManualClock implements Clock {
  private t = 0;
  private timers: { at: number; fn: () => void; cancelled: boolean }[] = [];
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { at: this.t + ms, fn, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => { timer.cancelled = true; } };
  }
  setInterval(): TimerHandle {
    throw new Error('not used');
  }
  /** Timers scheduled and neither fired nor cancelled. */
  liveTimers(): number {
    return this.timers.filter((x) => !x.cancelled).length;
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const next = this.timers.filter((x) => !x.cancelled && x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (next === undefined) break;
      this.t = next.at;
      next.cancelled = true;
      next.fn();
    }
    this.t = end;
  }
}

const update = (task: string, state: TaskState, uuid: string | undefined): StatusUpdate => ({
  framework_id: { value: 'f' },
  status: { task_id: { value: task }, state, ...(uuid !== undefined ? { uuid } : {}) },
});

function setup(forwardOk = true) {
  const clock = new ManualClock();
  const sent: { at: number; uuid: string | undefined; state: string }[] = [];
  const acked: StatusUpdate[] = [];
  const sum = new StatusUpdateManager({
    clock,
    logger: silentLogger(),
    retryMs: 100,
    maxRetryMs: 350,
    forward: (u) => { sent.push({ at: clock.now(), uuid: u.status.uuid, state: u.status.state }); return forwardOk; },
    onAcknowledged: (u) => acked.push(u),
  });
  return { clock, sent, acked, sum };
}

t.test('only the head is in flight, retried with a doubling capped interval', async (t) => {
  const { clock, sent, acked, sum } = setup();
  t.equal(sum.update(update('a', 'TASK_STARTING', 'u1')), 'queued');
  t.equal(sum.update(update('a', 'TASK_RUNNING', 'u2')), 'queued');
  t.equal(sum.update(update('a', 'TASK_FINISHED', 'u3')), 'queued');
  t.same(sent.map((s) => s.uuid), ['u1']);
  clock.advance(1000);
  t.same(sent.map((s) => s.at), [0, 100, 300, 650, 1000], '100, 200, then capped at 350');
  t.ok(sent.every((s) => s.uuid === 'u1'));
  t.ok(sum.hasPending('f', 'a'));
  t.same(sum.pendingUpdates().map((u) => u.status.uuid), ['u1', 'u2', 'u3']);

  t.equal(sum.acknowledge('f', 'a', 'u2'), undefined, 'an ack for a non-head is ignored');
  t.equal(sum.acknowledge('f', 'b', 'u1'), undefined, 'unknown task');
  t.equal(sum.acknowledge('f', 'a', 'u1')?.status.uuid, 'u1');
  t.equal(sum.acknowledge('f', 'a', 'u1'), undefined, 'a duplicate ack is ignored');
  t.same(acked.map((u) => u.status.uuid), ['u1']);
  t.equal(sent.at(-1)?.uuid, 'u2', 'the next update goes out at once');
  const before = sent.length;
  clock.advance(100);
  t.equal(sent.length, before + 1, 'the interval restarts from the minimum');
  sum.acknowledge('f', 'a', 'u2');
  sum.acknowledge('f', 'a', 'u3');
  t.notOk(sum.hasPending('f', 'a'));
  t.same(sum.pendingUpdates(), []);
  const after = sent.length;
  clock.advance(10_000);
  t.equal(sent.length, after, 'nothing left to retry');
});

t.test('pendingHeads: one update per stream, the one in flight (what reregister carries)', async (t) => {
  const { sum } = setup();
  sum.update(update('a', 'TASK_STARTING', 'a1'));
  sum.update(update('a', 'TASK_RUNNING', 'a2'));
  sum.update(update('a', 'TASK_FINISHED', 'a3'));
  sum.update(update('b', 'TASK_RUNNING', 'b1'));
  t.same(sum.pendingHeads().map((u) => u.status.uuid), ['a1', 'b1']);
  sum.acknowledge('f', 'a', 'a1');
  t.same(sum.pendingHeads().map((u) => u.status.uuid), ['a2', 'b1'], 'the next head once the first is acknowledged');
  sum.close();
});

t.test('duplicates, updates after a terminal one, updates without uuid', async (t) => {
  const { sent, sum } = setup();
  sum.update(update('a', 'TASK_RUNNING', 'u1'));
  t.equal(sum.update(update('a', 'TASK_RUNNING', 'u1')), 'duplicate');
  t.equal(sum.update(update('a', 'TASK_FAILED', 'u2')), 'queued');
  t.equal(sum.update(update('a', 'TASK_RUNNING', 'u3')), 'after_terminal');
  t.equal(sum.update(update('b', 'TASK_RUNNING', undefined)), 'forwarded_once');
  t.same(sum.pendingUpdates().map((u) => u.status.uuid), ['u1', 'u2']);
  t.same(sent.map((s) => s.uuid), ['u1', undefined]);
});

t.test('streams are independent per task; resume resends heads; cleanup drops a framework', async (t) => {
  const { clock, sent, sum } = setup(false);
  sum.update(update('a', 'TASK_RUNNING', 'a1'));
  sum.update(update('b', 'TASK_RUNNING', 'b1'));
  t.same(sent.map((s) => s.uuid), ['a1', 'b1'], 'each task has its own head');
  clock.advance(50);
  sum.resume();
  t.same(sent.map((s) => s.uuid), ['a1', 'b1', 'a1', 'b1']);
  sum.cleanupFramework('f');
  t.same(sum.pendingUpdates(), []);
  clock.advance(10_000);
  t.equal(sent.length, 4);
  sum.update(update('c', 'TASK_RUNNING', 'c1'));
  sum.close();
  clock.advance(10_000);
  t.equal(sent.length, 5, 'closed: no retries');
});

t.test('retries of many streams share one timer and keep each stream\'s own schedule', async (t) => {
  const clock = new ManualClock();
  const sent: { at: number; task: string; uuid: string | undefined }[] = [];
  const sum = new StatusUpdateManager({
    clock, logger: silentLogger(), retryMs: 100, maxRetryMs: 350,
    forward: (u) => { sent.push({ at: clock.now(), task: u.status.task_id.value, uuid: u.status.uuid }); return true; },
    onAcknowledged: () => {},
  });
  // a at 0, b at 30, c at 60: each first due 100 after its send.
  sum.update(update('a', 'TASK_RUNNING', 'a1'));
  clock.advance(30);
  sum.update(update('b', 'TASK_RUNNING', 'b1'));
  clock.advance(30);
  sum.update(update('c', 'TASK_RUNNING', 'c1'));
  t.equal(clock.liveTimers(), 1, 'one timer for three heads in flight');
  clock.advance(50); // 110: a resent (due 100), now on the 200 interval
  t.same(sent.filter((s) => s.task === 'a').map((s) => s.at), [0, 100]);
  t.equal(sum.acknowledge('f', 'b', 'b1')?.status.uuid, 'b1', 'b acknowledged before its retry');
  sum.update(update('b', 'TASK_FINISHED', 'b2')); // b2 sent at 110, due 210
  clock.advance(1000 - 110);
  const at = (task: string) => sent.filter((s) => s.task === task).map((s) => s.at);
  t.same(at('a'), [0, 100, 300, 650, 1000], 'a: 100, 200, then capped at 350');
  t.same(at('b'), [30, 110, 210, 410, 760], "b's second update on its own fresh schedule");
  t.same(at('c'), [60, 160, 360, 710], 'c: its own doubling from its own send');
  t.same(sent.filter((s) => s.task === 'b').map((s) => s.uuid), ['b1', 'b2', 'b2', 'b2', 'b2']);
  t.equal(clock.liveTimers(), 1, 'still one timer');

  // resume() resends every head now and restarts its interval at the minimum.
  sum.resume();
  t.same(sent.slice(-3).map((s) => [s.task, s.at]), [['a', 1000], ['b', 1000], ['c', 1000]]);
  clock.advance(100);
  t.same(sent.slice(-3).map((s) => [s.task, s.at]), [['a', 1100], ['b', 1100], ['c', 1100]], 'each retried once, 100 after the resume');
  const count = sent.length;
  sum.acknowledge('f', 'a', 'a1');
  sum.acknowledge('f', 'b', 'b2');
  sum.acknowledge('f', 'c', 'c1');
  clock.advance(10_000);
  t.equal(sent.length, count, 'nothing left to retry once everything is acknowledged');
  t.equal(clock.liveTimers(), 0, 'and no timer left');
  sum.close();
});

t.test('a stream dropped or acknowledged while its retry waits is not resent; new streams schedule again', async (t) => {
  const { clock, sent, sum } = setup(false);
  for (const task of ['a', 'b', 'c', 'd']) sum.update(update(task, 'TASK_RUNNING', `${task}1`));
  sum.acknowledge('f', 'b', 'b1');
  sum.cleanupFramework('f');
  clock.advance(1000);
  t.equal(sent.length, 4, 'the framework is gone: no retries');
  t.equal(clock.liveTimers(), 0);
  sum.update(update('e', 'TASK_RUNNING', 'e1'));
  clock.advance(100);
  t.same(sent.slice(4).map((s) => [s.uuid, s.at]), [['e1', 1000], ['e1', 1100]], 'a later stream is retried on time');
  sum.reset();
  clock.advance(10_000);
  t.equal(sent.length, 6, 'reset: no retries');
  t.equal(clock.liveTimers(), 0);
});

t.test('backoff arithmetic', async (t) => {
  t.equal(registrationDelay(0, 1000, 10_000, 0), 500);
  t.equal(registrationDelay(0, 1000, 10_000, 0.999999), 1000);
  t.equal(registrationDelay(3, 1000, 10_000, 1), 8000);
  t.equal(registrationDelay(10, 1000, 10_000, 0), 5000, 'capped');
  t.equal(registrationDelay(10_000, 1000, 10_000, 1), 10_000, 'huge attempts do not overflow');
  t.equal(nextRetryInterval(10_000, 600_000), 20_000);
  t.equal(nextRetryInterval(400_000, 600_000), 600_000);
});

t.test('forward carries the checkpoint ticket of the update and the latest state behind it', async (t) => {
  const clock = new ManualClock();
  const sent: { update: StatusUpdate; ticket: number | undefined }[] = [];
  let ticket = 0;
  const sum = new StatusUpdateManager({
    clock, logger: silentLogger(), retryMs: 100, maxRetryMs: 350,
    forward: (u, tk) => { sent.push({ update: u, ticket: tk }); return true; },
    onAcknowledged: () => undefined,
    onChange: () => ++ticket,
  });
  sum.update(update('t', 'TASK_STARTING', 'u1'));
  t.same(sent.map((s) => s.ticket), [1], 'the head goes out with the ticket of the change that holds it');
  t.equal(sent[0]!.update.latest_state, undefined, 'nothing behind it: no latest_state');
  sum.update(update('t', 'TASK_RUNNING', 'u2'));
  sum.update(update('t', 'TASK_FINISHED', 'u3'));
  clock.advance(100);
  t.equal(sent.length, 2, 'the retry of the head');
  t.equal(sent[1]!.update.status.state, 'TASK_STARTING');
  t.equal(sent[1]!.update.latest_state, 'TASK_FINISHED', 'the retry says the task has finished meanwhile');
  t.equal(sent[1]!.ticket, 1);
  sum.acknowledge('f', 't', 'u1');
  t.equal(sent[2]!.update.status.state, 'TASK_RUNNING');
  t.equal(sent[2]!.ticket, 2, 'the next head keeps the ticket it got when it arrived (already written: sent at once)');
  t.equal(sent[2]!.update.latest_state, 'TASK_FINISHED');
  t.same(sum.snapshot()[0]!.pending.map((u) => u.latest_state), [undefined, undefined], 'the streams themselves are untouched');
  sum.acknowledge('f', 't', 'u2');
  t.equal(sent[3]!.update.latest_state, undefined, 'the terminal update is the latest');
  sum.close();
});

t.test('a long-running task: duplicates are recognised across many updates; a drained stream takes the next', async (t) => {
  const { sent, acked, sum } = setup();
  // More updates than the small seen-uuid array holds (and than the checkpoint keeps), each
  // acknowledged (the stream drains between them), then every one of them retransmitted.
  const n = MAX_CHECKPOINTED_UUIDS + 20;
  const outcomes = new Set<string>();
  for (let i = 0; i < n; i++) {
    outcomes.add(sum.update(update('a', 'TASK_RUNNING', `u${i}`)));
    outcomes.add(sum.acknowledge('f', 'a', `u${i}`)?.status.uuid === `u${i}` ? 'acknowledged' : 'not acknowledged');
    outcomes.add(sum.hasPending('f', 'a') ? 'pending' : 'drained');
  }
  t.same([...outcomes].sort(), ['acknowledged', 'drained', 'queued'], 'each update accepted, acknowledged, the stream drained');
  const again = new Set<string>();
  for (let i = 0; i < n; i++) again.add(sum.update(update('a', 'TASK_RUNNING', `u${i}`)));
  t.same([...again], ['duplicate'], 'every retransmission dropped');
  t.equal(sent.length, n, 'no duplicate forwarded');
  t.equal(acked.length, n);
  const seen = sum.snapshot()[0]!.seen_uuids;
  t.equal(seen.length, MAX_CHECKPOINTED_UUIDS, 'the checkpoint keeps the last uuids only');
  t.equal(seen.at(-1), `u${n - 1}`);
  t.equal(sum.update(update('a', 'TASK_FINISHED', 'end')), 'queued');
  t.equal(sum.acknowledge('f', 'a', 'end')?.status.state, 'TASK_FINISHED');
  t.same(sum.snapshot(), [], 'the terminal update acknowledged: the stream is gone');
  sum.close();
});

t.test('the same task id under two frameworks: two streams', async (t) => {
  const { sent, sum } = setup();
  const of = (framework: string, uuid: string): StatusUpdate => ({ framework_id: { value: framework }, status: { task_id: { value: 'x' }, state: 'TASK_RUNNING', uuid } });
  t.equal(sum.update(of('f1', 'a')), 'queued');
  t.equal(sum.update(of('f2', 'a')), 'queued', 'the same uuid in another framework is no duplicate');
  t.same(sent.map((s) => s.uuid), ['a', 'a'], 'both heads in flight');
  t.equal(sum.acknowledge('f2', 'x', 'a')?.framework_id.value, 'f2');
  t.ok(sum.hasPending('f1', 'x'));
  t.notOk(sum.hasPending('f2', 'x'));
  sum.cleanupFramework('f1');
  t.notOk(sum.hasPending('f1', 'x'));
  t.same(sum.snapshot().map((s) => s.framework_id), ['f2'], 'the other framework keeps its stream');
  sum.close();
});
