/**
 * The invariant checks of the chaos run (bench/chaos/invariants.ts) on hand-made records:
 * each check finds what it must and nothing else.
 */
import t from 'tap';
import {
  checkAllocation, checkConvergence, checkExit, checkLogRecord, checkOrphans, checkUpdateOrder, checkUpdatesDelivered,
  dedupeViolations, distinctStates, duplicatesAfterTerminal, firstDeliveries, isLeadershipLossLog, isTerminal, type UpdateRecord,
} from '../../bench/chaos/invariants.js';

const ups = (...states: string[]): UpdateRecord[] => states.map((state) => ({ state, source: 'SOURCE_EXECUTOR' }));
const kinds = (vs: { kind: string }[]): string[] => vs.map((v) => v.kind);

t.test('terminal states and duplicates', async (t) => {
  t.ok(isTerminal('TASK_FINISHED') && isTerminal('TASK_LOST') && isTerminal('TASK_GONE_BY_OPERATOR'));
  t.notOk(isTerminal('TASK_RUNNING') || isTerminal('TASK_UNREACHABLE') || isTerminal('TASK_KILLING'));
  t.same(distinctStates(['A', 'A', 'B', 'A', 'A']), ['A', 'B', 'A']);
});

t.test('invariant 1, continuous: nothing after a terminal state, the slave order kept', async (t) => {
  const good = new Map([['a', ups('TASK_STARTING', 'TASK_RUNNING', 'TASK_RUNNING', 'TASK_FINISHED')]]);
  t.same(checkUpdateOrder(good, new Map([['a', ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']]])), [], 'a clean stream with a retried update');
  t.same(checkUpdateOrder(new Map([['u', ups('TASK_RUNNING', 'TASK_UNREACHABLE', 'TASK_RUNNING')]]), new Map()), [], 'RUNNING after UNREACHABLE (not terminal) is fine');
  t.same(checkUpdateOrder(new Map([['l', ups('TASK_RUNNING', 'TASK_LOST', 'TASK_FINISHED')]]), new Map()), [], 'a second terminal state is allowed');

  const back = checkUpdateOrder(new Map([['b', ups('TASK_RUNNING', 'TASK_FINISHED', 'TASK_RUNNING')]]), new Map());
  t.same(kinds(back), ['state-backwards']);
  t.match(back[0]!.message, /TASK_RUNNING after TASK_FINISHED/);
  t.equal(back[0]!.subject, 'b');
  t.equal(back[0]!.invariant, 1);

  const swapped = checkUpdateOrder(new Map([['c', ups('TASK_RUNNING', 'TASK_STARTING')]]), new Map([['c', ['TASK_STARTING', 'TASK_RUNNING']]]));
  t.same(kinds(swapped), ['order'], 'the framework got them in the other order');

  const reconciled: UpdateRecord[] = [{ state: 'TASK_RUNNING', reason: 'REASON_RECONCILIATION', source: 'SOURCE_MASTER' }, ...ups('TASK_STARTING', 'TASK_RUNNING')];
  t.same(checkUpdateOrder(new Map([['r', reconciled]]), new Map([['r', ['TASK_STARTING', 'TASK_RUNNING']]])), [], 'a reconciliation answer ahead of the stream is not an order violation');
});

t.test('invariant 1: retransmissions (same uuid) are duplicates; after a terminal state they are stale', async (t) => {
  const u = (state: string, uuid: string): UpdateRecord => ({ state, uuid, source: 'SOURCE_EXECUTOR' });
  const replayed = [u('TASK_STARTING', 'a'), u('TASK_RUNNING', 'b'), u('TASK_FINISHED', 'c'), u('TASK_STARTING', 'a'), u('TASK_RUNNING', 'b'), u('TASK_FINISHED', 'c')];
  t.same(firstDeliveries(replayed).map((x) => x.state), ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);
  const vs = checkUpdateOrder(new Map([['t', replayed]]), new Map([['t', ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']]]));
  t.same(kinds(vs), ['stale-redelivery'], 'a stream replayed after FINISHED is a stale re-delivery, not a new state');
  t.match(vs[0]!.message, /2 earlier update\(s\) delivered again/);
  t.equal(duplicatesAfterTerminal(replayed), 2, 'the two non-terminal duplicates after FINISHED');
  const dupBefore = [u('TASK_STARTING', 'a'), u('TASK_STARTING', 'a'), u('TASK_RUNNING', 'b'), u('TASK_FINISHED', 'c'), u('TASK_FINISHED', 'c')];
  t.same(checkUpdateOrder(new Map([['t', dupBefore]]), new Map()), [], 'duplicates before the end, and of the terminal update, are fine (at-least-once)');
  const fresh = [u('TASK_RUNNING', 'b'), u('TASK_FINISHED', 'c'), u('TASK_RUNNING', 'd')];
  t.same(kinds(checkUpdateOrder(new Map([['t', fresh]]), new Map())), ['state-backwards'], 'a new RUNNING (new uuid) after FINISHED is');
  t.equal(duplicatesAfterTerminal(fresh), 0);
  t.same(firstDeliveries([{ state: 'TASK_LOST' }, { state: 'TASK_LOST' }]).length, 2, 'updates without uuid are all kept');
});

t.test('invariant 1, after convergence: what the slave and the task observed reached the framework', async (t) => {
  const fw = new Map<string, UpdateRecord[]>([
    ['ok', ups('TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED')],
    ['lost-finished', ups('TASK_STARTING', 'TASK_RUNNING')],
    ['gone', [...ups('TASK_RUNNING'), { state: 'TASK_LOST', source: 'SOURCE_MASTER', reason: 'REASON_AGENT_REMOVED' }]],
  ]);
  const slave = new Map([
    ['ok', ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']],
    ['lost-finished', ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']],
    ['gone', ['TASK_RUNNING', 'TASK_FINISHED']],
  ]);
  const markers = new Map([
    ['ok', { started: true, exited: true }],
    ['lost-finished', { started: true, exited: true }],
    ['gone', { started: true, exited: true }],
    ['unheard', { started: true, exited: false }],
  ]);
  const vs = checkUpdatesDelivered(fw, slave, markers);
  t.same(vs.map((v) => `${v.subject}:${v.kind}`).sort(), ['lost-finished:state-lost', 'lost-finished:terminal-missing', 'unheard:never-reported']);
  t.ok(vs.every((v) => v.invariant === 1));
  t.same(checkUpdatesDelivered(new Map(), new Map(), new Map()), [], 'nothing recorded, nothing to say');
});

t.test('invariant 2: allocation within the resources', async (t) => {
  const agent = (parts: Record<string, { cpus?: number; mem?: number }>) => ({ source: 'master:1', agentId: 'S0', total: { cpus: 2, mem: 512, disk: 100 }, parts });
  t.same(checkAllocation([agent({ used: { cpus: 1.5, mem: 256 }, offered: { cpus: 0.5, mem: 256 } })]), [], 'exactly full is fine');
  t.same(checkAllocation([agent({ used: { cpus: 0.1 + 0.2 + 1.7 } })]), [], 'floating-point sums do not trip it');
  const over = checkAllocation([agent({ used: { cpus: 1.5, mem: 600 }, offered: { cpus: 1 } })]);
  t.same(over.map((v) => v.message.match(/has (\w+)/)?.[1]), ['cpus', 'mem']);
  t.ok(over.every((v) => v.invariant === 2 && v.kind === 'over-allocated' && v.subject === 'S0'));
  t.match(over[0]!.message, /used 1\.5 \+ offered 1 = 2\.5/);
});

t.test('invariant 3: each app converges to its instance count', async (t) => {
  t.same(checkConvergence([{ id: '/a', instances: 2, tasksRunning: 2, liveProcesses: 2 }]), []);
  t.same(kinds(checkConvergence([{ id: '/a', instances: 2, tasksRunning: 3, liveProcesses: 2 }])), ['not-converged'], 'Marathon counts one too many');
  t.same(kinds(checkConvergence([{ id: '/a', instances: 2, tasksRunning: 2, liveProcesses: 1 }])), ['not-converged'], 'a process is missing');
});

t.test('invariant 4: orphans and dead running tasks', async (t) => {
  t.same(checkOrphans(new Map([['a', [10]], ['b', [11, 12]]]), new Set(['a', 'b'])), []);
  const vs = checkOrphans(new Map([['a', [10]], ['x', [13]]]), new Set(['a', 'dead']));
  t.same(vs.map((v) => `${v.subject}:${v.kind}`).sort(), ['dead:dead-running', 'x:orphan']);
  t.ok(vs.every((v) => v.invariant === 4));
});

t.test('invariant 5: crashes and error logs', async (t) => {
  const exit = { name: 'master-0', pid: 5, code: 1, signal: null, byHarness: false, lostLeadership: false };
  t.same(checkExit({ ...exit, byHarness: true, code: null, signal: 'SIGKILL' }), [], 'killed by the harness');
  t.same(checkExit({ ...exit, lostLeadership: true }), [], 'a leader exiting 1 after losing its session');
  t.same(kinds(checkExit(exit)), ['crash'], 'exit 1 without losing leadership');
  t.same(kinds(checkExit({ ...exit, code: 7, lostLeadership: true })), ['crash'], 'another status is a crash even after a session loss');
  t.same(kinds(checkExit({ ...exit, code: null, signal: 'SIGSEGV' })), ['crash']);
  t.ok(isLeadershipLossLog({ msg: 'lost leadership: session expired' }));
  t.ok(isLeadershipLossLog({ msg: 'this Marathon is no longer the leader: exiting (restart it to rejoin the election)' }));
  t.notOk(isLeadershipLossLog({ msg: 'elected leading master' }));

  t.same(checkLogRecord('slave-0', { level: 40, msg: 'uncaught exception' }), [], 'a warning is not judged');
  t.same(checkLogRecord('slave-0', { level: 50, msg: 'could not reach the master' }), [], 'an ordinary error line');
  t.same(kinds(checkLogRecord('slave-0', { level: 50, msg: 'uncaught exception', err: { message: 'boom' } })), ['error-log']);
  t.same(kinds(checkLogRecord('slave-0', { level: 50, msg: 'request failed', err: { type: 'UnhandledPromiseRejection' } })), ['error-log'], 'the error object counts');
  t.same(kinds(checkLogRecord('slave-0', { level: 60, msg: 'fatal' })), ['error-log'], 'fatal lines always');
});

t.test('dedupeViolations keeps the first per invariant, kind and subject', async (t) => {
  const v = (subject: string, message: string) => ({ invariant: 2 as const, kind: 'over-allocated', subject, message });
  t.same(dedupeViolations([v('S0', 'first'), v('S0', 'second'), v('S1', 'other')]).map((x) => x.message), ['first', 'other']);
});
