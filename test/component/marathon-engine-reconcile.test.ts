/**
 * The Marathon engine against a scripted master (the SDK's in-memory transport) on virtual
 * time: reconciliation on subscribe and on Marathon's periodic schedule (initial delay, then
 * interval; explicit with backoff, then implicit), and partitions — an unreachable instance
 * is replaced after inactiveAfterSeconds, and when it comes back the app's killSelection
 * picks the surplus (the youngest by default); an instance expunged while unreachable is
 * killed when it comes back, and not killed over and over while it is unreachable.
 *
 * The master side is fake so that time can be virtual (minutes of Marathon timers in a
 * moment, no sleeps); the real-cluster version of the partition flow is in
 * marathon-engine-healing.test.ts.
 */
import t from 'tap';
import { MemoryStore } from '../../frameworks/marathon/engine/memory-store.js';
import { MarathonEngine, type EngineOptions } from '../../frameworks/marathon/engine/service.js';
import { killWhenUnknown } from '../../frameworks/marathon/engine/status-handler.js';
import { putApp } from '../../frameworks/marathon/model/index.js';
import type { AppDefinition, Instance, MarathonEvent } from '../../frameworks/marathon/model/types.js';
import type { SchedulerCall, TaskState } from '../../sdk/protocol/index.js';
import { parseResources } from '../../sdk/resources/index.js';
import type { LogRecord, Teardownable } from '../helpers/agora-process.js';
import { EventLog, withTimeout } from '../helpers/wait.js';
import { FakeTransport, ManualClock, type FakeStream } from '../unit/scheduler-helpers.js';
import { appFrom, recordingLogger, SOON } from './marathon-engine-kit.js';

/** Virtual time starts here (a plausible epoch, so timestamps look like dates). */
const T0 = Date.UTC(2026, 0, 1);
const INITIAL_DELAY_MS = 15_000;
const INTERVAL_MS = 600_000;

interface Harness {
  engine: MarathonEngine;
  store: MemoryStore;
  clock: ManualClock;
  transport: FakeTransport;
  stream: FakeStream;
  events: EventLog<MarathonEvent>;
  logs: EventLog<LogRecord>;
  /** The first call at or after `mark` (an index into transport.allCalls) that matches. */
  call(pred: (c: SchedulerCall) => boolean, what: string, mark?: number): Promise<SchedulerCall>;
  /** Writes a status update to the stream and waits until the engine applied it (for a known task). */
  update(taskId: string, state: string, agentId: string, extra?: Record<string, unknown>): Promise<void>;
  /** Offers one instance's worth of resources on `agentId`; resolves with the task ids launched. */
  offer(agentId: string): Promise<string[]>;
  /** Waits until every mutation queued before it has run. */
  barrier(): Promise<void>;
  close(): Promise<void>;
}

let offerSeq = 0;

async function startEngine(t: Teardownable, o: { store?: MemoryStore; clock?: ManualClock; extra?: Partial<EngineOptions> } = {}): Promise<Harness> {
  const clock = o.clock ?? new ManualClock();
  if (o.clock === undefined) clock.advance(T0);
  const store = o.store ?? new MemoryStore();
  const transport = new FakeTransport();
  const logs = new EventLog<LogRecord>();
  const events = new EventLog<MarathonEvent>();
  const engine = await MarathonEngine.create({
    store, clock, logger: recordingLogger(logs), master: '127.0.0.1:5050', transport,
    hostname: '127.0.0.1', httpPort: 0, version: 'test',
    reconciliationIntervalMs: INTERVAL_MS, reconciliationInitialDelayMs: INITIAL_DELAY_MS,
    reconciliationBackoff: { initialDelayMs: 2000, factor: 2, maxDelayMs: 8000, maxAttempts: 4 },
    ...o.extra,
  });
  engine.subscribe((e) => events.push(e));
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await engine.close();
  };
  t.teardown(close);
  engine.start();
  const sub = await withTimeout(transport.subscriptions.next(), SOON, 'SUBSCRIBE');
  // A long heartbeat: virtual minutes pass without the watchdog dropping the subscription.
  sub.stream.event({ type: 'SUBSCRIBED', subscribed: { framework_id: { value: 'fw-1' }, heartbeat_interval_seconds: 1e7 } });
  await logs.waitFor((l) => l.msg === 'subscribed', SOON, 'subscribed');

  const call = async (pred: (c: SchedulerCall) => boolean, what: string, mark = 0): Promise<SchedulerCall> => {
    for (let n = 0; n < 10_000; n++) {
      const found = transport.allCalls.slice(mark).find((c) => pred(c.call));
      if (found !== undefined) return found.call;
      await withTimeout(transport.calls.next(), SOON, what);
    }
    throw new Error(`${what}: not among 10000 calls`);
  };
  const barrier = async (): Promise<void> => {
    await engine.updateRoot((root) => root, { dryRun: true });
  };
  const update = async (taskId: string, state: string, agentId: string, extra: Record<string, unknown> = {}): Promise<void> => {
    const mark = events.events.length;
    sub.stream.event({ type: 'UPDATE', update: { status: { task_id: { value: taskId }, state, agent_id: { value: agentId }, ...extra } } });
    await events.waitFor((e) => e.eventType === 'status_update_event' && e.taskId === taskId && e.taskStatus === state, SOON, `${taskId} ${state}`, mark);
    await barrier();
  };
  const offer = async (agentId: string): Promise<string[]> => {
    const id = `offer-${++offerSeq}`;
    const mark = transport.allCalls.length;
    sub.stream.event({
      type: 'OFFERS',
      offers: { offers: [{ id: { value: id }, framework_id: { value: 'fw-1' }, agent_id: { value: agentId }, hostname: `host-${agentId}`, resources: parseResources('cpus:0.1;mem:16;ports:[31000-31009]') }] },
    });
    const accept = await call((c) => (c.type === 'ACCEPT' || c.type === 'DECLINE') && JSON.stringify(c).includes(`"${id}"`), `the answer to ${id}`, mark);
    return (accept.accept?.operations ?? []).flatMap((op) => op.launch?.task_infos ?? []).map((ti) => ti.task_id.value);
  };
  return { engine, store, clock, transport, stream: sub.stream, events, logs, call, update, offer, barrier, close };
}

function reconcileOf(c: SchedulerCall): string[] | undefined {
  if (c.type !== 'RECONCILE') return undefined;
  return (c.reconcile?.tasks ?? []).map((x) => `${x.task_id.value}@${x.agent_id?.value ?? '-'}`).sort();
}

async function deploy(h: Harness, app: AppDefinition): Promise<void> {
  await h.engine.updateRoot((root, version) => putApp(root, { ...app, version, versionInfo: { lastScalingAt: version, lastConfigChangeAt: version } }, version));
}

/** Launches `count` instances of the app deployed last, one per agent, each RUNNING; returns task id → agent. */
async function launch(h: Harness, agents: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const agent of agents) {
    const [taskId] = await h.offer(agent);
    if (taskId === undefined) throw new Error(`nothing launched on ${agent}`);
    // A second between launches: distinct start times for killSelection.
    h.clock.advance(1000);
    await h.update(taskId, 'TASK_RUNNING', agent);
    out.set(taskId, agent);
  }
  return out;
}

const byTask = (h: Harness, taskId: string): Instance | undefined => h.engine.allInstances().find((i) => i.taskId === taskId);

t.test('reconciliation on subscribe, after the initial delay and every interval; restart reconciles stored tasks', async (t) => {
  const h = await startEngine(t);
  // The round of the subscription: nothing known yet, so implicit only.
  t.same(reconcileOf(await h.call((c) => c.type === 'RECONCILE', 'the round of SUBSCRIBED')), [], 'implicit on subscribe');
  await h.logs.waitFor((l) => l.msg === 'reconciliation done' && l.outcome === 'complete', SOON, 'first round done');

  await deploy(h, appFrom({ id: '/web', cmd: 'sleep 1000', instances: 2, cpus: 0.1, mem: 16 }));
  const tasks = await launch(h, ['agent-a', 'agent-b']);
  const expected = [...tasks].map(([id, agent]) => `${id}@${agent}`).sort();

  // First periodic round: the initial delay after start (2 s of it already went on launches).
  let mark = h.transport.allCalls.length;
  h.clock.advance(INITIAL_DELAY_MS - 2000 - 1);
  await h.barrier();
  t.equal(h.transport.allCalls.slice(mark).filter((c) => c.call.type === 'RECONCILE').length, 0, 'nothing before the initial delay');
  h.clock.advance(1);
  t.same(reconcileOf(await h.call((c) => c.type === 'RECONCILE', 'first periodic round', mark)), expected, 'explicit: every known task with its agent');

  // Only one task answers: the other is asked again after the backoff, alone.
  const [first, second] = [...tasks.keys()];
  await h.update(first!, 'TASK_RUNNING', tasks.get(first!)!, { reason: 'REASON_RECONCILIATION' });
  mark = h.transport.allCalls.length;
  h.clock.advance(2000);
  t.same(reconcileOf(await h.call((c) => c.type === 'RECONCILE', 'the retry', mark)), [`${second}@${tasks.get(second!)}`], 'the unanswered task, after initialDelayMs');
  mark = h.transport.allCalls.length;
  await h.update(second!, 'TASK_RUNNING', tasks.get(second!)!, { reason: 'REASON_RECONCILIATION' });
  t.same(reconcileOf(await h.call((c) => c.type === 'RECONCILE', 'implicit', mark)), [], 'then implicit');
  const done = await h.logs.waitFor((l) => l.msg === 'reconciliation done' && l.why === 'periodic' && l.explicitAttempts === 2, SOON, 'the periodic round done');
  t.match(done, { outcome: 'complete', answered: 2, implicitSent: true });

  // Next round: one interval after the first periodic one.
  mark = h.transport.allCalls.length;
  h.clock.advance(INTERVAL_MS - 2000 - 1);
  await h.barrier();
  t.equal(h.transport.allCalls.slice(mark).filter((c) => c.call.type === 'RECONCILE').length, 0, 'nothing before the interval');
  h.clock.advance(1);
  t.same(reconcileOf(await h.call((c) => c.type === 'RECONCILE', 'second periodic round', mark)), expected);
  for (const [id, agent] of tasks) await h.update(id, 'TASK_RUNNING', agent, { reason: 'REASON_RECONCILIATION' });
  await h.call((c) => reconcileOf(c)?.length === 0, 'implicit of the second round', mark);

  // A restart on the same store: the round of the new subscription is explicit for the stored tasks.
  await h.close();
  const again = await startEngine(t, { store: h.store, clock: h.clock });
  t.same(reconcileOf(await again.call((c) => c.type === 'RECONCILE', 'the round after the restart')), expected, 'stored tasks reconciled on subscribe');
  for (const [id, agent] of tasks) await again.update(id, 'TASK_RUNNING', agent, { reason: 'REASON_RECONCILIATION' });
  t.same(reconcileOf(await again.call((c) => reconcileOf(c)?.length === 0, 'implicit after the restart')), []);
  t.equal(again.engine.allInstances().filter((i) => i.condition === 'Running').length, 2, 'both instances kept');
});

t.test('a task the master does not know any more is replaced; an unknown live task is killed', async (t) => {
  const h = await startEngine(t);
  await deploy(h, appFrom({ id: '/lost', cmd: 'sleep 1000', instances: 1, cpus: 0.1, mem: 16 }));
  const [[taskId, agent]] = [...(await launch(h, ['agent-a']))];
  let mark = h.transport.allCalls.length;
  h.clock.advance(INITIAL_DELAY_MS);
  await h.call((c) => (reconcileOf(c)?.length ?? 0) > 0, 'periodic round', mark);
  await h.update(taskId!, 'TASK_GONE', agent!, { reason: 'REASON_RECONCILIATION' });
  t.equal(byTask(h, taskId!), undefined, 'the gone instance is expunged');
  await h.barrier();
  t.equal(h.engine.allInstances().filter((i) => i.condition === 'Scheduled').length, 1, 'and replaced');

  // The implicit round reports a task Marathon never had: it is killed.
  mark = h.transport.allCalls.length;
  h.stream.event({ type: 'UPDATE', update: { status: { task_id: { value: 'stranger.1' }, state: 'TASK_RUNNING', agent_id: { value: 'agent-z' }, reason: 'REASON_RECONCILIATION' } } });
  const kill = await h.call((c) => c.type === 'KILL', 'the kill of the stranger', mark);
  t.same(kill.kill, { task_id: { value: 'stranger.1' }, agent_id: { value: 'agent-z' } });
});

t.test('unreachable: replaced after inactiveAfterSeconds; back → exactly `instances` remain, per killSelection', async (t) => {
  for (const killSelection of ['YOUNGEST_FIRST', 'OLDEST_FIRST'] as const) {
    await t.test(killSelection, async (t) => {
      const h = await startEngine(t);
      await deploy(h, appFrom({
        id: '/p', cmd: 'sleep 1000', instances: 2, cpus: 0.1, mem: 16, killSelection,
        unreachableStrategy: { inactiveAfterSeconds: 60, expungeAfterSeconds: 3600 },
      }));
      const tasks = await launch(h, ['agent-a', 'agent-b']);
      const [, cutTask] = [...tasks.keys()];
      const cut = byTask(h, cutTask!)!;

      await h.update(cutTask!, 'TASK_UNREACHABLE', 'agent-b');
      t.equal(byTask(h, cutTask!)?.condition, 'Unreachable');
      h.clock.advance(59_000);
      await h.barrier();
      await h.barrier();
      t.equal(h.engine.allInstances().filter((i) => i.condition === 'Scheduled').length, 0, 'no replacement before inactiveAfterSeconds');
      h.clock.advance(1000);
      await h.events.waitFor((e) => e.eventType === 'instance_changed_event' && e.instanceId === cut.instanceId && e.condition === 'UnreachableInactive', SOON, 'inactive');
      await h.barrier();
      t.equal(h.engine.allInstances().filter((i) => i.condition === 'Scheduled').length, 1, 'a replacement is scheduled');
      const replacement = await launch(h, ['agent-c']);
      const [replacementTask] = [...replacement.keys()];
      t.equal(h.engine.instances('/p').length, 3, 'the inactive instance is kept meanwhile');

      // The agent comes back: its task runs again and the app has one instance too many.
      const mark = h.transport.allCalls.length;
      await h.update(cutTask!, 'TASK_RUNNING', 'agent-b');
      const kill = await h.call((c) => c.type === 'KILL', 'the surplus kill', mark);
      // Start times: a (oldest), b (returning, started before c), c (the replacement, youngest).
      const [oldestTask] = [...tasks.keys()];
      const expectedVictim = killSelection === 'YOUNGEST_FIRST' ? replacementTask : oldestTask;
      t.equal(kill.kill?.task_id.value, expectedVictim, `${killSelection}: killed ${expectedVictim}`);
      await h.barrier();
      t.equal(h.transport.allCalls.slice(mark).filter((c) => c.call.type === 'KILL').length, 1, 'exactly one kill');
      await h.update(expectedVictim!, 'TASK_KILLED', tasks.get(expectedVictim!) ?? 'agent-c');
      await h.barrier();
      const left = h.engine.instances('/p');
      t.equal(left.length, 2, 'exactly `instances` remain');
      t.ok(left.every((i) => i.condition === 'Running'), 'all running');
      t.ok(left.some((i) => i.instanceId === cut.instanceId), 'the returning instance is one of them');
    });
  }
});

t.test('an instance expunged while unreachable is killed when it comes back', async (t) => {
  const h = await startEngine(t);
  await deploy(h, appFrom({
    id: '/x', cmd: 'sleep 1000', instances: 1, cpus: 0.1, mem: 16,
    unreachableStrategy: { inactiveAfterSeconds: 10, expungeAfterSeconds: 30 },
  }));
  const [[taskId]] = [...(await launch(h, ['agent-a']))];
  const instance = byTask(h, taskId!)!;
  await h.update(taskId!, 'TASK_UNREACHABLE', 'agent-a');

  let mark = h.transport.allCalls.length;
  h.clock.advance(30_000);
  const killAtExpunge = await h.call((c) => c.type === 'KILL', 'the kill at expunge', mark);
  t.equal(killAtExpunge.kill?.task_id.value, taskId, 'a kill is sent for when it comes back');
  await h.barrier();
  t.notOk(h.engine.allInstances().some((i) => i.instanceId === instance.instanceId), 'expunged');
  const replacement = await launch(h, ['agent-b']);
  t.equal(replacement.size, 1, 'replaced');

  // The master answers the kill of a task on an unreachable agent with TASK_UNREACHABLE:
  // no new kill for that (it would only bring the same answer again).
  mark = h.transport.allCalls.length;
  h.stream.event({ type: 'UPDATE', update: { status: { task_id: { value: taskId }, state: 'TASK_UNREACHABLE', agent_id: { value: 'agent-a' }, reason: 'REASON_RECONCILIATION' } } });
  await h.logs.waitFor((l) => l.msg === 'ignoring an update of a task Marathon does not know' && l.taskId === taskId, SOON, 'ignored');
  await h.barrier();
  t.equal(h.transport.allCalls.slice(mark).filter((c) => c.call.type === 'KILL').length, 0, 'no kill while it is unreachable');

  // Back running: killed.
  h.stream.event({ type: 'UPDATE', update: { status: { task_id: { value: taskId }, state: 'TASK_RUNNING', agent_id: { value: 'agent-a' } } } });
  const kill = await h.call((c) => c.type === 'KILL', 'the kill of the returning task', mark);
  t.same(kill.kill, { task_id: { value: taskId }, agent_id: { value: 'agent-a' } });
  t.equal(h.engine.instances('/x').length, 1, 'the replacement alone stays');
  t.equal(h.engine.instances('/x')[0]!.taskId, [...replacement.keys()][0]);
});

t.test('which updates of unknown tasks call for a kill (Marathon\'s killWhenUnknown)', async (t) => {
  const states: TaskState[] = [
    'TASK_STAGING', 'TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING', 'TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_ERROR',
    'TASK_LOST', 'TASK_UNREACHABLE', 'TASK_DROPPED', 'TASK_GONE', 'TASK_GONE_BY_OPERATOR', 'TASK_UNKNOWN',
  ];
  t.same(states.filter(killWhenUnknown), ['TASK_STAGING', 'TASK_STARTING', 'TASK_RUNNING'], 'only live tasks');
});
