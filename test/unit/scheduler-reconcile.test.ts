/**
 * `scheduler.reconcileTasks` over the in-memory transport on virtual time: the backoff
 * schedule of explicit reconciliation, completion when every task answered (then implicit),
 * giving up, stopping (stop() and an AbortSignal), failed sends, and bad input.
 */
import t from 'tap';
import { AgoraError } from '../../sdk/core/errors.js';
import { silentLogger } from '../../sdk/core/log.js';
import type { SchedulerCall, TaskStatus } from '../../sdk/protocol/index.js';
import {
  compileReconcileOptions, reconcileDelayMs, RECONCILE_DEFAULTS, Scheduler, TaskReconciliation, type ReconcileResult,
} from '../../sdk/scheduler/index.js';
import { AsyncQueue, FakeTransport, ManualClock, subscribedEvent, updateEvent, type FakeSubscription } from './scheduler-helpers.js';

/** Delays distinct from every other timer of the scheduler (its heartbeat watchdog). */
const BACKOFF = { initialDelayMs: 700, factor: 3, maxDelayMs: 5000 };

async function setup() {
  const transport = new FakeTransport();
  const clock = new ManualClock();
  const scheduler = new Scheduler({
    master: '127.0.0.1:5050', frameworkInfo: { user: 'tester', name: 'reconcile-test' },
    transport, clock, logger: silentLogger(), random: () => 0.5,
  });
  const updates = new AsyncQueue<TaskStatus>();
  scheduler.on('UPDATE', (s) => { updates.push(s); });
  const started = scheduler.start();
  const sub: FakeSubscription = await transport.subscriptions.next();
  sub.stream.event(subscribedEvent('fw-1'));
  await started;
  t.teardown(() => scheduler.stop());
  /** Writes an update to the stream and waits until the scheduler dispatched it. */
  const update = async (taskId: string, state: string, agentId = 'agent-1'): Promise<void> => {
    const ev = updateEvent(taskId, state, undefined, agentId) as { update: { status: Record<string, unknown> } };
    ev.update.status.reason = 'REASON_RECONCILIATION';
    sub.stream.event(ev);
    const seen = await updates.next();
    if (seen.task_id.value !== taskId) throw new Error(`expected the update of ${taskId}, got ${seen.task_id.value}`);
  };
  /** The next RECONCILE call's task ids (agent ids after a colon). */
  const nextReconcile = async (): Promise<string[]> => {
    for (let n = 0; n < 20; n++) {
      const { call } = await transport.calls.next();
      if (call.type === 'RECONCILE') return reconcileIds(call);
    }
    throw new Error('no RECONCILE among the next 20 calls');
  };
  return { transport, clock, scheduler, update, nextReconcile };
}

function reconcileIds(call: SchedulerCall): string[] {
  return (call.reconcile?.tasks ?? []).map((x) => (x.agent_id === undefined ? x.task_id.value : `${x.task_id.value}:${x.agent_id.value}`));
}

function reconcileCalls(transport: FakeTransport): string[][] {
  return transport.allCalls.filter((c) => c.call.type === 'RECONCILE').map((c) => reconcileIds(c.call));
}

t.test('the backoff is initial·factor^n, truncated at the maximum', async (t) => {
  t.same([0, 1, 2, 3, 4].map((n) => reconcileDelayMs(n, BACKOFF)), [700, 2100, 5000, 5000, 5000]);
  t.same([0, 1, 5].map((n) => reconcileDelayMs(n, { initialDelayMs: 250, factor: 1, maxDelayMs: 1000 })), [250, 250, 250], 'factor 1: constant');
  t.equal(reconcileDelayMs(10_000, { initialDelayMs: 1000, factor: 2, maxDelayMs: 60_000 }), 60_000, 'huge attempts stay finite');
  t.same(compileReconcileOptions(), { ...RECONCILE_DEFAULTS, signal: undefined }, 'defaults');
});

t.test('explicit reconciliation is re-sent for the unanswered tasks until all answered, then implicit', async (t) => {
  const { clock, scheduler, update, nextReconcile, transport } = await setup();
  const firstWait = clock.nextTimer((x) => x.delay === 700);
  const round = scheduler.reconcileTasks([{ taskId: 't1', agentId: 'a1' }, { taskId: 't2', agentId: 'a2' }, { taskId: 't3' }], { ...BACKOFF, maxAttempts: 6 });
  t.same(await nextReconcile(), ['t1:a1', 't2:a2', 't3'], 'first explicit call: every task');
  await firstWait;
  await update('t1', 'TASK_RUNNING', 'a1');

  const secondWait = clock.nextTimer((x) => x.delay === 2100);
  clock.advance(700);
  t.same(await nextReconcile(), ['t2:a2', 't3'], 'second call: only the unanswered tasks');
  await secondWait;

  const thirdWait = clock.nextTimer((x) => x.delay === 5000);
  clock.advance(2100);
  t.same(await nextReconcile(), ['t2:a2', 't3'], 'third call after initial·factor');
  await thirdWait;
  await update('t2', 'TASK_UNREACHABLE', 'a2');
  await update('t3', 'TASK_UNKNOWN');
  // The last answer ends the wait at once (no clock advance): the implicit call follows.
  t.same(await nextReconcile(), [], 'implicit reconciliation after the explicit phase');
  const result = await round;
  t.equal(result.outcome, 'complete');
  t.equal(result.explicitAttempts, 3);
  t.equal(result.implicitSent, true);
  t.same([...result.statuses.entries()].map(([id, s]) => `${id}=${s.state}`), ['t1=TASK_RUNNING', 't2=TASK_UNREACHABLE', 't3=TASK_UNKNOWN']);
  t.same(result.unanswered, []);
  t.equal(reconcileCalls(transport).length, 4, 'three explicit calls and one implicit, nothing more');
  t.same(clock.pending().filter((x) => x.delay === 5000), [], 'no backoff timer left behind');
});

t.test('a round gives up after maxAttempts unanswered calls, still reconciling implicitly', async (t) => {
  const { clock, scheduler, nextReconcile, transport, update } = await setup();
  const waits = [700, 2100, 5000].map((d) => clock.nextTimer((x) => x.delay === d));
  const round = scheduler.reconcileTasks([{ taskId: 'a', agentId: 'x' }, { taskId: 'b', agentId: 'y' }], { ...BACKOFF, maxAttempts: 3 });
  t.same(await nextReconcile(), ['a:x', 'b:y']);
  await waits[0];
  await update('a', 'TASK_RUNNING', 'x');
  await update('elsewhere', 'TASK_RUNNING');
  clock.advance(700);
  t.same(await nextReconcile(), ['b:y']);
  await waits[1];
  clock.advance(2100);
  t.same(await nextReconcile(), ['b:y'], 'third and last explicit call');
  await waits[2];
  clock.advance(5000);
  t.same(await nextReconcile(), [], 'implicit after giving up');
  const result: ReconcileResult = await round;
  t.equal(result.outcome, 'gave-up');
  t.equal(result.explicitAttempts, 3);
  t.same(result.unanswered, [{ taskId: 'b', agentId: 'y' }]);
  t.same([...result.statuses.keys()], ['a'], 'updates of other tasks are not collected');
  t.equal(reconcileCalls(transport).length, 4);
});

t.test('stop() and an aborted signal end a round: no further calls, outcome stopped', async (t) => {
  await t.test('AbortSignal', async (t) => {
    const { clock, scheduler, nextReconcile, transport } = await setup();
    const controller = new AbortController();
    const wait = clock.nextTimer((x) => x.delay === 700);
    const round = scheduler.reconcileTasks([{ taskId: 'a' }], { ...BACKOFF, signal: controller.signal });
    await nextReconcile();
    await wait;
    controller.abort();
    const result = await round;
    t.equal(result.outcome, 'stopped');
    t.equal(result.implicitSent, false);
    clock.advance(60_000);
    t.equal(reconcileCalls(transport).length, 1, 'nothing sent after the abort');
    t.same(clock.pending().filter((x) => x.delay === 700), [], 'its timer is cancelled');

    const already = await scheduler.reconcileTasks([{ taskId: 'b' }], { signal: AbortSignal.abort() });
    t.equal(already.outcome, 'stopped', 'an already aborted signal sends nothing');
    t.equal(reconcileCalls(transport).length, 1);
  });

  await t.test('scheduler.stop()', async (t) => {
    const { clock, scheduler, nextReconcile, transport } = await setup();
    const wait = clock.nextTimer((x) => x.delay === 700);
    const round = scheduler.reconcileTasks([{ taskId: 'a' }], BACKOFF);
    await nextReconcile();
    await wait;
    await scheduler.stop();
    const result = await round;
    t.equal(result.outcome, 'stopped');
    t.same(result.unanswered, [{ taskId: 'a' }]);
    t.equal(reconcileCalls(transport).length, 1);
    const after = await scheduler.reconcileTasks([{ taskId: 'b' }]);
    t.equal(after.outcome, 'stopped', 'a round on a stopped scheduler ends at once');
  });

  await t.test('TaskReconciliation.stop() and a second run', async (t) => {
    const clock = new ManualClock();
    const sent: string[][] = [];
    const round = new TaskReconciliation({
      clock, send: async (tasks) => { sent.push(tasks.map((x) => x.taskId)); },
      onUpdate: () => () => undefined, onStop: () => () => undefined, stopped: () => false,
    }, [{ taskId: 'a' }, { taskId: 'a', agentId: 'z' }], BACKOFF);
    const wait = clock.nextTimer((x) => x.delay === 700);
    const running = round.run();
    await wait;
    round.stop();
    t.equal((await running).outcome, 'stopped');
    t.same(sent, [['a']], 'duplicate task ids are sent once');
    await t.rejects(round.run(), { code: 'AGORA_SCHEDULER_STATE' });
  });
});

t.test('failed sends count as attempts and are retried; a 4xx rejects the round', async (t) => {
  const { clock, scheduler, nextReconcile, transport, update } = await setup();
  let failures = 1;
  transport.answer = (call) => (call.type === 'RECONCILE' && failures-- > 0 ? 500 : 202);
  const wait = clock.nextTimer((x) => x.delay === 700);
  const round = scheduler.reconcileTasks([{ taskId: 'a', agentId: 'x' }], BACKOFF);
  t.same(await nextReconcile(), ['a:x'], 'first call (answered 500)');
  await wait;
  clock.advance(700);
  t.same(await nextReconcile(), ['a:x'], 'retried after the backoff');
  await update('a', 'TASK_RUNNING', 'x');
  t.same(await nextReconcile(), []);
  const result = await round;
  t.equal(result.outcome, 'complete');
  t.equal(result.explicitAttempts, 2);

  transport.answer = (call) => (call.type === 'RECONCILE' ? 400 : 202);
  await t.rejects(scheduler.reconcileTasks([{ taskId: 'b' }], BACKOFF), { code: 'AGORA_CALL_REJECTED', status: 400 });
});

t.test('an empty list is implicit reconciliation only; implicit: false skips it', async (t) => {
  const { scheduler, nextReconcile, transport, update } = await setup();
  const round = scheduler.reconcileTasks([]);
  t.same(await nextReconcile(), []);
  t.match(await round, { outcome: 'complete', explicitAttempts: 0, implicitSent: true });

  const explicitOnly = scheduler.reconcileTasks([{ taskId: 'a', agentId: 'x' }], { implicit: false });
  t.same(await nextReconcile(), ['a:x']);
  await update('a', 'TASK_RUNNING', 'x');
  t.match(await explicitOnly, { outcome: 'complete', explicitAttempts: 1, implicitSent: false });
  t.equal(reconcileCalls(transport).length, 2, 'no implicit call');
});

t.test('bad input is rejected before anything is sent', async (t) => {
  const { scheduler, transport } = await setup();
  const bad: Array<[unknown, unknown, RegExp]> = [
    ['nope', {}, /tasks must be an array/],
    [[{ taskId: '' }], {}, /tasks\[0\] needs a non-empty string taskId/],
    [[{ taskId: 'a' }, { taskId: 'b', agentId: 7 }], {}, /tasks\[1\]\.agentId/],
    [[null], {}, /tasks\[0\]/],
    [[], { factor: 0.5 }, /factor must be >= 1/],
    [[], { initialDelayMs: -1 }, /initialDelayMs/],
    [[], { initialDelayMs: 2000, maxDelayMs: 1000 }, /maxDelayMs \(1000\) must be >= initialDelayMs \(2000\)/],
    [[], { maxAttempts: 0 }, /maxAttempts must be an integer >= 1/],
    [[], { maxAttempts: 1.5 }, /maxAttempts/],
    [[], { implicit: 'yes' }, /implicit must be a boolean/],
    [[], { signal: {} }, /signal must be an AbortSignal/],
    [[], { initialDelayMs: Number.NaN }, /initialDelayMs/],
  ];
  for (const [tasks, options, message] of bad) {
    const err = await scheduler.reconcileTasks(tasks as never, options as never).then(() => undefined, (e: unknown) => e);
    t.ok(err instanceof AgoraError, `${JSON.stringify(tasks)} ${JSON.stringify(options)} rejected`);
    t.equal((err as AgoraError).code, 'AGORA_SCHEDULER_OPTIONS_INVALID');
    t.match((err as AgoraError).message, message);
  }
  t.equal(reconcileCalls(transport).length, 0, 'nothing sent');
});
