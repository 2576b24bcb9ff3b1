/**
 * The slave's checkpoint: format round trip and validation, the pure recovery plan, the
 * atomic write (a writer SIGKILLed at any moment leaves the old or the new content), the
 * coalescing checkpointer, status update streams and re-attached pids on a manual clock.
 * The atomicity test spawns the compiled store (build first: `npx tsc -p .`).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import t from 'tap';
import { silentLogger } from '../../sdk/core/log.js';
import type { StatusUpdate } from '../../sdk/protocol/agent.js';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, decodeCheckpoint, encodeCheckpoint, type Checkpoint } from '../../slave/checkpoint.js';
import {
  checkpointPath, metaDir, moveMetaAside, readBootId, readCheckpoint, writeCheckpoint, writeFileAtomic,
} from '../../slave/checkpoint-store.js';
import { CHECKPOINT_RETRY_MS, Checkpointer } from '../../slave/checkpointer.js';
import { packageRoot } from '../../slave/paths.js';
import { parseProcIdentity } from '../../slave/process-tree.js';
import { UNKNOWN_EXIT, watchRecoveredProcess } from '../../slave/recovered-process.js';
import { isSameProcess, planRecovery, type ProcessIdentity } from '../../slave/recovery-plan.js';
import { StatusUpdateManager } from '../../slave/status-updates.js';
import { ManualClock } from '../unit/scheduler-helpers.js';
import { EventLog } from '../helpers/wait.js';

const tmp = (t: { teardown(fn: () => void): void }): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agora-checkpoint-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
};

const update = (task: string, state: StatusUpdate['status']['state'], uuid: string): StatusUpdate => ({
  framework_id: { value: 'fw-1' },
  executor_id: { value: 'agora-command-executor' },
  status: { task_id: { value: task }, state, uuid, source: 'SOURCE_EXECUTOR' },
});

/** A checkpoint with two executors (one with a pid, one never started) and pending updates. */
function sample(over: Partial<Checkpoint> = {}): Checkpoint {
  const task = (id: string) => ({ name: id, task_id: { value: id }, agent_id: { value: 'M-S0' }, command: { value: 'sleep 100' } });
  return {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    boot_id: 'boot-1',
    agent_id: 'M-S0',
    port: 5051,
    endpoint: '127.0.0.1:5051',
    written_at: 1_700_000_000_000,
    frameworks: [{
      info: { id: { value: 'fw-1' }, user: 'u', name: 'f', capabilities: [{ type: 'PARTITION_AWARE' }] },
      terminating: false,
      executors: [
        {
          info: { executor_id: { value: 'agora-command-executor' }, framework_id: { value: 'fw-1' }, command: { value: '/usr/bin/node', shell: false } },
          kind: 'command', container_id: 'c-live', directory: '/w/slaves/M-S0/frameworks/fw-1/executors/e/runs/c-live',
          pid: 4242, pid_start_time: 777, subscribed: true, terminating: false, retiring: false, started_at: 5,
          tasks: [{ info: task('t1'), state: 'TASK_RUNNING', phase: 'launched' }, { info: task('t2'), state: 'TASK_STAGING', phase: 'queued' }],
          queue: [{ kind: 'task', taskId: 't2' }],
          pending_kills: [{ taskId: 't1', killPolicy: { grace_period: { nanoseconds: 1e9 } } }],
        },
        {
          info: { executor_id: { value: 'custom' }, command: { value: 'run-it' } },
          kind: 'custom', container_id: 'c-unstarted', directory: '/w/x', subscribed: false, terminating: false, retiring: false, started_at: 6,
          tasks: [{ info: task('t3'), state: 'TASK_STAGING', phase: 'queued' }], queue: [{ kind: 'group', taskIds: ['t3'] }], pending_kills: [],
        },
      ],
    }],
    status_updates: [{ framework_id: 'fw-1', task_id: 't1', pending: [update('t1', 'TASK_RUNNING', 'u-2')], seen_uuids: ['u-1', 'u-2'], terminated: false }],
    ...over,
  };
}

t.test('encode → decode is the identity', async (t) => {
  const c = sample();
  const decoded = decodeCheckpoint(encodeCheckpoint(c));
  t.ok(decoded.ok);
  if (decoded.ok) t.same(decoded.checkpoint, c);
  const minimal = sample({ agent_id: undefined, frameworks: [], status_updates: [] });
  delete minimal.agent_id;
  const d2 = decodeCheckpoint(encodeCheckpoint(minimal));
  t.ok(d2.ok && d2.checkpoint.agent_id === undefined);
});

t.test('encoding reuses the JSON of unchanged parts and still writes what JSON.stringify writes', async (t) => {
  const c = sample();
  t.equal(encodeCheckpoint(c), JSON.stringify(c), 'first encoding');
  // The next write: same TaskInfo/ExecutorInfo/update objects, new task states, a task gone, one more update.
  const executor = c.frameworks[0]!.executors[0]!;
  const next: Checkpoint = {
    ...c,
    written_at: c.written_at + 1,
    frameworks: [{ ...c.frameworks[0]!, executors: [{ ...executor, tasks: [{ ...executor.tasks[0]!, state: 'TASK_FINISHED', phase: 'terminated' }], queue: [] }] }],
    status_updates: [{ ...c.status_updates[0]!, pending: [...c.status_updates[0]!.pending, update('t1', 'TASK_FINISHED', 'u-3')], terminated: true }],
  };
  t.equal(encodeCheckpoint(next), JSON.stringify(next), 'with cached parts');
  t.equal(encodeCheckpoint(c), JSON.stringify(c), 'the first state again, from the caches');
  t.equal(encodeCheckpoint(next), JSON.stringify(next), 'and the second');
  t.equal(encodeCheckpoint(sample({ agent_id: undefined, frameworks: [], status_updates: [] })), JSON.stringify(sample({ agent_id: undefined, frameworks: [], status_updates: [] })), 'undefined fields are left out');
});

t.test('decode says what is wrong and never throws', async (t) => {
  const reason = (text: string): string => {
    const d = decodeCheckpoint(text);
    return d.ok ? 'ok' : d.reason;
  };
  t.match(reason(''), /^not JSON/);
  t.match(reason('{"format":'), /^not JSON/);
  t.equal(reason('[1]'), 'not a JSON object');
  t.equal(reason('null'), 'not a JSON object');
  t.match(reason('{"format":"mesos"}'), /unknown format "mesos"/);
  t.match(reason(JSON.stringify({ ...sample(), version: 3 })), /unsupported version 3 \(this slave reads versions 1 and 2\)/);
  t.ok(decodeCheckpoint(JSON.stringify({ ...sample(), version: 1 })).ok, 'version 1 (before the journal) is read');
  t.match(reason(JSON.stringify({ ...sample(), port: 70000 })), /invalid checkpoint: port/);
  const badTask = sample();
  (badTask.frameworks[0]!.executors[0]!.tasks[0] as { state: string }).state = 'TASK_BOGUS';
  t.match(reason(JSON.stringify(badTask)), /invalid checkpoint: frameworks\.0\.executors\.0\.tasks\.0\.state/);
});

t.test('the recovery plan', async (t) => {
  const c = sample();
  const found = { found: true as const, ok: true as const, checkpoint: c };
  const running = (start = 777): ProcessIdentity => ({ startTime: start, state: 'S' });
  const live = (pid: number): ProcessIdentity | undefined => (pid === 4242 ? running() : undefined);

  t.match(planRecovery({ found: false }, { bootId: 'boot-1', identity: live, mode: 'reconnect' }), { kind: 'fresh', reason: 'no checkpoint', warn: false, moveAside: false });
  t.match(planRecovery({ found: true, ok: false, reason: 'not JSON: x' }, { bootId: 'boot-1', identity: live, mode: 'reconnect' }),
    { kind: 'fresh', reason: 'checkpoint is unusable (not JSON: x)', warn: true, moveAside: true });

  const rebooted = planRecovery(found, { bootId: 'boot-2', identity: live, mode: 'reconnect' });
  t.match(rebooted, { kind: 'fresh', warn: true, moveAside: false, kill: [] });
  t.match(rebooted.kind === 'fresh' ? rebooted.reason : '', /the host rebooted \(boot id boot-2, checkpoint written under boot-1\)/);
  t.equal(planRecovery(found, { bootId: '', identity: live, mode: 'reconnect' }).kind, 'recover', 'an unknown boot id is not compared');

  const cleanup = planRecovery(found, { bootId: 'boot-1', identity: live, mode: 'cleanup' });
  t.match(cleanup, { kind: 'fresh', warn: false });
  t.same(cleanup.kind === 'fresh' ? cleanup.kill : [], [{ frameworkId: 'fw-1', executorId: 'agora-command-executor', containerId: 'c-live', pid: 4242, directory: c.frameworks[0]!.executors[0]!.directory }]);

  const neverRegistered = { ...found, checkpoint: { ...c, agent_id: undefined } };
  t.match(planRecovery(neverRegistered, { bootId: 'boot-1', identity: live, mode: 'reconnect' }), { kind: 'fresh', reason: 'the previous run never registered' });

  const plan = planRecovery(found, { bootId: 'boot-1', identity: live, mode: 'reconnect' });
  t.equal(plan.kind, 'recover');
  if (plan.kind === 'recover') {
    t.equal(plan.agentId, 'M-S0');
    t.equal(plan.port, 5051);
    t.same([...plan.live], ['c-live']);
    t.same([...plan.gone], ['c-unstarted'], 'an executor without a pid is gone');
  }
  const reused = planRecovery(found, { bootId: 'boot-1', identity: () => running(999), mode: 'reconnect' });
  t.same(reused.kind === 'recover' ? [...reused.gone].sort() : [], ['c-live', 'c-unstarted'], 'a reused pid (other start time) is not our executor');
  const zombie = planRecovery(found, { bootId: 'boot-1', identity: () => ({ startTime: 777, state: 'Z' }), mode: 'reconnect' });
  t.same(zombie.kind === 'recover' ? [...zombie.live] : ['?'], [], 'a zombie is dead');
});

t.test('process identity from /proc/<pid>/stat', async (t) => {
  const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
  fields[0] = 'S';
  t.same(parseProcIdentity(`123 (a (weird) name) ${fields.join(' ')}`), { state: 'S', startTime: 22 });
  t.equal(parseProcIdentity('garbage'), undefined);
  t.equal(parseProcIdentity('1 (x) S 2 3'), undefined);
  t.same(isSameProcess({ pid: 1, pid_start_time: 22 }, { state: 'R', startTime: 22 }), true);
  t.same(isSameProcess({ pid: 1 }, { state: 'R', startTime: 22 }), true, 'no recorded start time: the pid decides');
  t.same(isSameProcess({ pid: undefined }, { state: 'R', startTime: 22 }), false);
  t.same(isSameProcess({ pid: 1, pid_start_time: 22 }, undefined), false);
  const self = fs.existsSync('/proc/self/stat') ? parseProcIdentity(fs.readFileSync(`/proc/${process.pid}/stat`, 'utf8')) : undefined;
  if (self !== undefined) t.ok(self.startTime > 0 && self.state.length === 1, 'parses the real /proc');
  t.equal(typeof readBootId(), 'string');
  t.equal(readBootId('/nonexistent/boot_id'), '');
});

t.test('read / write / move aside on disk', async (t) => {
  const dir = tmp(t);
  t.same(readCheckpoint(dir), { found: false });
  writeCheckpoint(dir, sample());
  const back = readCheckpoint(dir);
  t.ok(back.found && back.ok && back.checkpoint.agent_id === 'M-S0');
  t.same(fs.readdirSync(metaDir(dir)), ['checkpoint.json'], 'no temp file left behind');
  fs.writeFileSync(path.join(metaDir(dir), '.checkpoint.json.tmp-99999'), 'half a write');
  readCheckpoint(dir);
  t.same(fs.readdirSync(metaDir(dir)), ['checkpoint.json'], 'a crashed write\'s temp file is removed on read');
  fs.writeFileSync(checkpointPath(dir), 'garbage');
  const bad = readCheckpoint(dir);
  t.ok(bad.found && !bad.ok);
  const moved = moveMetaAside(dir, Date.UTC(2026, 0, 2, 3, 4, 5, 6));
  t.equal(moved, path.join(dir, 'meta.corrupt-2026-01-02T03-04-05-006Z'));
  t.equal(fs.readFileSync(path.join(moved!, 'checkpoint.json'), 'utf8'), 'garbage');
  t.same(readCheckpoint(dir), { found: false });
  t.equal(moveMetaAside(dir, 0), undefined, 'nothing to move');
  fs.mkdirSync(checkpointPath(dir), { recursive: true });
  const unreadable = readCheckpoint(dir);
  t.ok(unreadable.found && !unreadable.ok && /^unreadable/.test(unreadable.reason), 'an unreadable checkpoint is a failure with a reason');
  t.throws(() => writeFileAtomic(checkpointPath(dir), 'x'), 'renaming over a directory fails…');
  t.same(fs.readdirSync(metaDir(dir)), ['checkpoint.json'], '…and leaves no temp file');
});

t.test('a writer SIGKILLed mid-stream leaves either the old or the new checkpoint', async (t) => {
  const dir = tmp(t);
  const file = path.join(dir, 'meta', 'checkpoint.json');
  // Two large, different documents so that a torn write would show.
  const a = JSON.stringify({ which: 'a', pad: 'a'.repeat(2_000_000) });
  const b = JSON.stringify({ which: 'b', pad: 'b'.repeat(2_000_000) });
  const store = path.join(packageRoot(), 'dist', 'slave', 'checkpoint-store.js');
  const script = `
    const { writeFileAtomic } = await import(${JSON.stringify(store)});
    const a = JSON.stringify({ which: 'a', pad: 'a'.repeat(2_000_000) });
    const b = JSON.stringify({ which: 'b', pad: 'b'.repeat(2_000_000) });
    for (let i = 0; i < 100000; i++) { writeFileAtomic(${JSON.stringify(file)}, i % 2 ? b : a); console.log('wrote', i); }
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => { child.kill('SIGKILL'); });
  const lines = new EventLog<string>();
  createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
  // Kill it while it is busy writing: after a few completed writes.
  await lines.waitFor((l) => l === 'wrote 5', 60_000, 'five writes');
  child.kill('SIGKILL');
  await new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const content = fs.readFileSync(file, 'utf8');
  t.ok(content === a || content === b, 'the file holds one whole document');
});

t.test('the checkpointer coalesces changes and flushes on demand', async (t) => {
  const dir = tmp(t);
  const clock = new ManualClock();
  let built = 0;
  const cp = new Checkpointer({ workDir: dir, clock, logger: silentLogger(), build: () => { built++; return sample({ written_at: clock.now() }); }, coalesceMs: 50 });
  cp.changed();
  cp.changed();
  cp.changed();
  t.equal(cp.writes, 0, 'nothing written yet');
  clock.advance(50);
  await cp.idle();
  t.equal(cp.writes, 1, 'one write for three changes');
  await cp.flush();
  t.equal(cp.writes, 1, 'a flush with nothing changed writes nothing');
  cp.changed();
  await cp.flush();
  t.equal(cp.writes, 2, 'a flush writes a change at once');
  clock.advance(100);
  await cp.idle();
  t.equal(cp.writes, 2, 'and cancels the coalesced write');
  t.equal(built, 2);
  await cp.close('remove');
  t.notOk(fs.existsSync(checkpointPath(dir)));
  cp.changed();
  await cp.flush();
  t.equal(cp.writes, 2, 'closed: no more writes');

  // A failing write (the work dir is a file) is logged, not thrown, and retried on the next flush.
  const file = path.join(dir, 'not-a-dir');
  fs.writeFileSync(file, '');
  const failing = new Checkpointer({ workDir: file, clock, logger: silentLogger(), build: () => sample() });
  failing.changed();
  await failing.flush();
  t.equal(failing.writes, 0);
  fs.rmSync(file);
  clock.advance(CHECKPOINT_RETRY_MS);
  await failing.idle();
  t.equal(failing.writes, 1, 'tried again after a while without another change, and written once the disk is usable again');
  await failing.close('keep');
});

t.test('the checkpointer writes one at a time; changes made during a write go in the next one', async (t) => {
  const dir = tmp(t);
  const clock = new ManualClock();
  let version = 0;
  // The second state has its updates acknowledged.
  const cp = new Checkpointer({ workDir: dir, clock, logger: silentLogger(), build: () => sample({ written_at: ++version, ...(version > 1 ? { status_updates: [] } : {}) }) });
  cp.changed();
  const first = cp.flush();
  cp.changed(); // while the first write is in flight
  const second = cp.flush();
  await Promise.all([first, second]);
  t.equal(cp.writes, 2, 'the change made during the first write was written after it');
  const stored = readCheckpoint(dir);
  t.equal(stored.found && stored.ok ? stored.checkpoint.written_at : undefined, 2, 'the files hold the latest state, not the older write');
  t.same(stored.found && stored.ok ? stored.checkpoint.status_updates : undefined, []);
  t.equal(cp.snapshots, 1, 'the first write was a snapshot, the second a journal line');
  t.same(fs.readdirSync(path.dirname(checkpointPath(dir))).sort(), ['checkpoint.journal', 'checkpoint.json'], 'no temp file left behind');
  await cp.close('keep');
  t.same(fs.readdirSync(path.dirname(checkpointPath(dir))), ['checkpoint.json'], 'a stopping slave leaves one snapshot without a journal');
});

t.test('afterDurable: a group commit, one write then the sends in order', async (t) => {
  const dir = tmp(t);
  const clock = new ManualClock();
  const order: string[] = [];
  const cp = new Checkpointer({ workDir: dir, clock, logger: silentLogger(), build: () => { order.push('write'); return sample(); } });
  cp.changed();
  cp.afterDurable(() => order.push('update-1'));
  cp.changed();
  cp.afterDurable(() => order.push('launch-1'));
  cp.afterDurable(() => { throw new Error('a closed stream'); });
  cp.afterDurable(() => order.push('update-2'));
  t.same(order, [], 'nothing leaves before the write');
  clock.advance(0);
  t.same(order, ['write'], 'the write started; nothing is sent until it is durable');
  await cp.idle();
  t.same(order, ['write', 'update-1', 'launch-1', 'update-2'], 'one write, then everything in order (a throwing send does not stop the rest)');
  t.equal(cp.writes, 1);
  cp.afterDurable(() => order.push('ack'));
  clock.advance(0);
  await cp.idle();
  t.same(order.slice(4), ['ack'], 'nothing changed: sent without a write');
  t.equal(cp.writes, 1);
  cp.changed();
  cp.afterDurable(() => order.push('pending-at-close'));
  await cp.close('keep');
  t.same(order.slice(5), ['write', 'pending-at-close'], 'close writes the final state and releases what waited');
  cp.afterDurable(() => order.push('after-close'));
  t.same(order.slice(7), ['after-close'], 'closed: runs at once');
  clock.advance(100);
  t.equal(cp.writes, 2);
});

t.test('afterDurable with tickets and lanes: a send waits only for the change it needs, in order on its lane', async (t) => {
  const dir = tmp(t);
  const clock = new ManualClock();
  const order: string[] = [];
  const cp = new Checkpointer({ workDir: dir, clock, logger: silentLogger(), build: () => { order.push('write'); return sample(); } });
  const first = cp.changed();
  cp.afterDurable(() => order.push('update-1'), { needs: first });
  t.same(order, [], 'a send needing an unwritten change waits');
  clock.advance(0);
  await cp.idle();
  t.same(order, ['write', 'update-1']);

  // update-1 is on disk; later changes (an acknowledgement, another task) are not.
  const later = cp.changed();
  cp.afterDurable(() => order.push('update-1 again'), { needs: first });
  t.same(order.slice(2), ['update-1 again'], 'a send whose change is already written leaves at once');
  cp.afterDurable(() => order.push('launch'), { lane: 'executor-a' });
  cp.afterDurable(() => order.push('ack'), { lane: 'executor-a', needs: 0 });
  cp.afterDurable(() => order.push('ack on another lane'), { lane: 'executor-b', needs: 0 });
  t.same(order.slice(3), ['ack on another lane'], 'a send needing nothing waits behind an earlier one of its lane, not of another');
  t.ok(later > first, 'tickets grow');
  clock.advance(0);
  await cp.idle();
  t.same(order.slice(4), ['write', 'launch', 'ack'], 'after the write, the lane in order');

  // A change made while a write is in flight needs the next write.
  cp.changed();
  const inFlight = cp.flush();
  const during = cp.changed();
  cp.afterDurable(() => order.push('after the second write'), { needs: during });
  await inFlight;
  clock.advance(0);
  await cp.idle();
  t.same(order.slice(7), ['write', 'write', 'after the second write'], 'one write did not hold it; the next one did');
  t.equal(cp.writes, 4);
  await cp.close('keep');
});

t.test('status update streams survive a snapshot/restore', async (t) => {
  const clock = new ManualClock();
  const sent: StatusUpdate[] = [];
  let changes = 0;
  const make = () => new StatusUpdateManager({
    clock, logger: silentLogger(), retryMs: 1000, maxRetryMs: 4000,
    forward: (u) => { sent.push(u); return true; }, onAcknowledged: () => undefined, onChange: () => { changes++; },
  });
  const before = make();
  before.update(update('t1', 'TASK_RUNNING', 'u-1'));
  before.update(update('t1', 'TASK_FINISHED', 'u-2'));
  t.equal(changes, 2, 'every accepted update is a change (before it is forwarded)');
  const snap = before.snapshot();
  t.same(snap, [{ framework_id: 'fw-1', task_id: 't1', pending: [update('t1', 'TASK_RUNNING', 'u-1'), update('t1', 'TASK_FINISHED', 'u-2')], seen_uuids: ['u-1', 'u-2'], terminated: true }]);
  before.close();

  sent.length = 0;
  const after = make();
  after.restore(snap);
  t.same(sent, [], 'nothing is sent before re-registration');
  t.equal(after.update(update('t1', 'TASK_FINISHED', 'u-2')), 'duplicate', 'an executor retransmission is recognised');
  t.equal(after.update(update('t1', 'TASK_FAILED', 'u-3')), 'after_terminal');
  after.resume();
  t.same(sent.map((u) => u.status.uuid), ['u-1'], 'the head goes out on resume');
  after.acknowledge('fw-1', 't1', 'u-1');
  after.acknowledge('fw-1', 't1', 'u-2');
  t.same(after.snapshot(), [], 'a stream acknowledged to its terminal update leaves the checkpoint');
  after.close();
});

t.test('a re-attached pid is polled until it is gone or reused', async (t) => {
  const clock = new ManualClock();
  let now: ProcessIdentity | undefined = { startTime: 10, state: 'S' };
  const w = watchRecoveredProcess(4242, 10, clock, { pollMs: 1000, identity: () => now });
  let exit: unknown;
  void w.process.exited.then((e) => { exit = e; });
  clock.advance(3000);
  await Promise.resolve();
  t.equal(exit, undefined, 'still running');
  now = { startTime: 11, state: 'S' };
  clock.advance(1000);
  await w.process.exited;
  t.same(exit, UNKNOWN_EXIT, 'a pid with another start time is another process: ours exited');
  t.same(w.process.treePids(), [], 'nothing to signal once gone');
  t.equal(clock.pending().length, 0, 'polling stopped');

  const w2 = watchRecoveredProcess(4243, undefined, clock, { pollMs: 1000, identity: () => ({ startTime: 1, state: 'S' }) });
  w2.stopWatching();
  t.equal(clock.pending().length, 0, 'stopWatching cancels the poll');
});
