/**
 * The real command executor against a fake slave that goes away: re-subscription with the
 * unacknowledged tasks and updates, and the recovery timeout.
 */
import { existsSync, readFileSync } from 'node:fs';
import t from 'tap';
import {
  FakeSlave, commandTask, isAlive, pollFor, startCommandExecutor, within, type FakeSlaveOptions,
} from './executor-fake-slave.js';

async function slaveFor(t: { teardown(fn: () => unknown): void }, options: FakeSlaveOptions = {}): Promise<FakeSlave> {
  const slave = await FakeSlave.start(options);
  t.teardown(() => slave.close());
  return slave;
}

t.test('after the connection drops the executor re-subscribes with its unacknowledged tasks and updates', async (t) => {
  const slave = await slaveFor(t, { autoAck: false });
  const exec = startCommandExecutor(t, slave);
  await slave.waitFor(() => slave.connected, 'SUBSCRIBE');
  t.same(slave.subscribes[0]!.subscribe?.unacknowledged_updates ?? [], [], 'nothing unacknowledged at first');

  // `short` ends while the slave is away; `long` keeps running and never gets an ack.
  slave.launch(commandTask('short', { value: 'while [ ! -e go ]; do sleep 0.05; done; echo done' }));
  slave.launch(commandTask('long', { value: 'echo $$ > pid; exec sleep 100' }));
  await slave.waitFor(() => slave.statesOf('short').includes('TASK_RUNNING') && slave.statesOf('long').includes('TASK_RUNNING'), 'both RUNNING');
  const shortStarting = slave.updates.find((u) => u.task_id.value === 'short' && u.state === 'TASK_STARTING')!;
  slave.ack(shortStarting);
  await pollFor(() => exec.log().includes('"type":"ACKNOWLEDGED"'), 'the executor to see the ack');

  slave.accepting = false;
  slave.dropConnection();
  const updatesBefore = slave.updates.length;
  // Let `short` finish while nobody listens: its TASK_FINISHED must ride on the next SUBSCRIBE.
  const { writeFileSync } = await import('node:fs');
  writeFileSync(exec.taskFile('short', 'go'), '');
  await pollFor(() => exec.log().includes('"taskId":"short"') && /"taskId":"short"[^\n]*task process exited/.test(exec.log()), 'short to exit while disconnected');
  await slave.waitFor(() => slave.calls.filter((c) => c.type === 'SUBSCRIBE').length >= 2, 'a refused re-SUBSCRIBE');
  slave.accepting = true;
  await slave.waitFor(() => slave.subscribes.length === 2, 'the re-SUBSCRIBE', 10_000);

  t.equal(slave.updates.length, updatesBefore, 'nothing was sent as UPDATE while disconnected');
  const resub = slave.subscribes[1]!.subscribe!;
  // Order is kept per task (each task's updates go out one after another); two tasks'
  // updates travel side by side, so the slave may have seen them interleaved differently.
  const statesOf = (updates: Array<{ task_id: { value: string }; state: string }>, task: string): string[] =>
    updates.filter((u) => u.task_id.value === task).map((u) => u.state);
  const unacked = (resub.unacknowledged_updates ?? []).map((u) => u.status);
  const seen = slave.updates.filter((u) => u.uuid !== shortStarting.uuid);
  t.same(statesOf(unacked, 'short'), [...statesOf(seen, 'short'), 'TASK_FINISHED'], 'every unacknowledged update of short, in the order they were made');
  t.same(statesOf(unacked, 'long'), statesOf(seen, 'long'), 'every unacknowledged update of long, in the order they were made');
  t.equal(unacked.length, seen.length + 1, 'no other update');
  const previous = new Set(slave.updates.map((u) => u.uuid));
  for (const u of resub.unacknowledged_updates ?? []) {
    if (u.status.state !== 'TASK_FINISHED') t.ok(previous.has(u.status.uuid), `${u.status.task_id.value} ${u.status.state} keeps its uuid`);
    t.equal(u.framework_id.value, 'fw-1');
  }
  t.same((resub.unacknowledged_tasks ?? []).map((task) => task.task_id.value), ['long'], 'the task with no acknowledged update');

  // Once acknowledged after re-subscription, nothing is left over for the next one.
  for (const u of resub.unacknowledged_updates ?? []) slave.ack(u.status);
  slave.send({ type: 'KILL', kill: { task_id: { value: 'long' } } });
  await slave.terminalOf('long');
  t.notOk(isAlive(Number(readFileSync(exec.taskFile('long', 'pid'), 'utf8'))));
});

t.test('without the slave for MESOS_RECOVERY_TIMEOUT the executor kills its tasks and exits 1', async (t) => {
  const slave = await slaveFor(t);
  const exec = startCommandExecutor(t, slave, { MESOS_RECOVERY_TIMEOUT: '1secs' });
  await slave.waitFor(() => slave.connected, 'SUBSCRIBE');
  slave.launch(commandTask('orphan', { value: "trap 'echo got-term > term.txt; exit 0' TERM; echo $$ > pid; while true; do sleep 0.05; done" }));
  await pollFor(() => existsSync(exec.taskFile('orphan', 'pid')), 'the task to run');
  const pid = Number(readFileSync(exec.taskFile('orphan', 'pid'), 'utf8'));
  slave.accepting = false;
  const lostAt = Date.now();
  slave.dropConnection();
  const exit = await within(exec.exited, 10_000, 'the executor to give up');
  t.same(exit, { code: 1, signal: null });
  t.ok(Date.now() - lostAt >= 900, 'it waited the recovery timeout');
  t.notOk(isAlive(pid), 'the task was killed');
  t.equal(readFileSync(exec.taskFile('orphan', 'term.txt'), 'utf8'), 'got-term\n', 'with SIGTERM first');
  t.match(exec.log(), 'recovery timeout');
});

t.test('an executor whose slave never answers gives up after the recovery timeout too', async (t) => {
  const slave = await slaveFor(t);
  slave.accepting = false;
  const exec = startCommandExecutor(t, slave, { MESOS_RECOVERY_TIMEOUT: '500ms' });
  const exit = await within(exec.exited, 10_000, 'the executor to give up');
  t.same(exit, { code: 1, signal: null });
  t.ok(slave.calls.length >= 2, `it retried (${slave.calls.length} attempts)`);
});

t.test('a bad environment is refused with a clear message and status 1', async (t) => {
  const slave = await slaveFor(t);
  const exec = startCommandExecutor(t, slave, { MESOS_RECOVERY_TIMEOUT: 'soon', MESOS_FRAMEWORK_ID: '' });
  const exit = await within(exec.exited, 10_000, 'the executor to exit');
  t.same(exit, { code: 1, signal: null });
  t.match(exec.log(), /MESOS_FRAMEWORK_ID is not set.*MESOS_RECOVERY_TIMEOUT: invalid Mesos duration/);
});
