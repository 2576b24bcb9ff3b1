/**
 * Health checks in the real command executor against the fake slave: a failing COMMAND
 * check kills the task after consecutive failures, the grace period, invalid checks.
 */
import { existsSync } from 'node:fs';
import t from 'tap';
import type { TaskStatus } from '../../sdk/protocol/mesos.js';
import { FakeSlave, commandTask, startCommandExecutor, type FakeSlaveOptions } from './executor-fake-slave.js';

async function slaveFor(t: { teardown(fn: () => unknown): void }, options: FakeSlaveOptions = {}): Promise<FakeSlave> {
  const slave = await FakeSlave.start(options);
  t.teardown(() => slave.close());
  return slave;
}

const healthUpdates = (slave: FakeSlave, taskId: string): TaskStatus[] =>
  slave.updates.filter((u) => u.task_id.value === taskId && u.reason === 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED');

t.test('COMMAND `exit 1`: unhealthy, then killed after consecutive_failures failures; TASK_KILLED says healthy false', async (t) => {
  const slave = await slaveFor(t, { frameworkCapabilities: ['TASK_KILLING_STATE'] });
  startCommandExecutor(t, slave);
  await slave.waitFor(() => slave.connected, 'SUBSCRIBE');
  slave.launch(commandTask('sick', { value: 'exec sleep 100' }, {
    health_check: {
      type: 'COMMAND', command: { value: 'exit 1' },
      delay_seconds: 0, interval_seconds: 0.05, timeout_seconds: 5, grace_period_seconds: 0, consecutive_failures: 3,
    },
  }));
  const terminal = await slave.terminalOf('sick');
  t.equal(terminal.state, 'TASK_KILLED');
  t.equal(terminal.healthy, false);
  t.equal(terminal.message, 'Command terminated with signal SIGTERM');
  t.same(slave.statesOf('sick'), ['TASK_STARTING', 'TASK_RUNNING', 'TASK_RUNNING', 'TASK_RUNNING', 'TASK_RUNNING', 'TASK_KILLING', 'TASK_KILLED']);
  t.same(healthUpdates(slave, 'sick').map((u) => u.healthy), [false, false, false], 'three failures reported, none after the kill started');
});

t.test('COMMAND check runs in the task sandbox with the task environment', async (t) => {
  const slave = await slaveFor(t);
  const exec = startCommandExecutor(t, slave);
  await slave.waitFor(() => slave.connected, 'SUBSCRIBE');
  slave.launch(commandTask('env', { value: 'exec sleep 100', environment: { variables: [{ name: 'WANTED', value: 'yes' }] } }, {
    health_check: {
      type: 'COMMAND', command: { value: 'test "$WANTED" = yes && test "$MESOS_TASK_ID" = env && touch checked-here' },
      delay_seconds: 0, interval_seconds: 0.05, grace_period_seconds: 0,
    },
  }));
  const update = await slave.waitFor(() => healthUpdates(slave, 'env')[0], 'a health update');
  t.equal(update.healthy, true);
  t.ok(existsSync(exec.taskFile('env', 'checked-here')), 'the check ran in the task sandbox');
});

t.test('grace period: failures before the first success are not reported; then healthy', async (t) => {
  const slave = await slaveFor(t);
  const exec = startCommandExecutor(t, slave);
  await slave.waitFor(() => slave.connected, 'SUBSCRIBE');
  // The check fails until the task has written `ready`; one failure would kill it without the grace period.
  slave.launch(commandTask('slow', { value: 'sleep 0.5; touch ready; exec sleep 100' }, {
    health_check: {
      type: 'COMMAND', command: { value: 'test -f ready' },
      delay_seconds: 0, interval_seconds: 0.05, grace_period_seconds: 60, consecutive_failures: 1,
    },
  }));
  const first = await slave.waitFor(() => healthUpdates(slave, 'slow')[0], 'a health update');
  t.equal(first.healthy, true, 'the first report is the first success');
  t.match(exec.log(), /still in grace period/, 'failures happened and were ignored');
  t.same(slave.statesOf('slow'), ['TASK_STARTING', 'TASK_RUNNING', 'TASK_RUNNING']);
});

t.test('grace period over: a failure counts and kills', async (t) => {
  const slave = await slaveFor(t);
  const exec = startCommandExecutor(t, slave);
  await slave.waitFor(() => slave.connected, 'SUBSCRIBE');
  slave.launch(commandTask('late', { value: 'exec sleep 100' }, {
    health_check: {
      type: 'COMMAND', command: { value: 'exit 1' },
      delay_seconds: 0, interval_seconds: 0.05, grace_period_seconds: 1, consecutive_failures: 1,
    },
  }));
  const terminal = await slave.terminalOf('late');
  t.equal(terminal.state, 'TASK_KILLED');
  t.equal(terminal.healthy, false);
  t.match(exec.log(), /still in grace period/, 'the failures within the first second were ignored');
  t.same(healthUpdates(slave, 'late').map((u) => u.healthy), [false]);
});

t.test('an invalid health check fails the task as TASK_INVALID without running it', async (t) => {
  const slave = await slaveFor(t);
  const exec = startCommandExecutor(t, slave);
  await slave.waitFor(() => slave.connected, 'SUBSCRIBE');
  slave.launch(commandTask('bad', { value: 'touch ran' }, { health_check: { type: 'HTTP' } }));
  const terminal = await slave.terminalOf('bad');
  t.equal(terminal.state, 'TASK_FAILED');
  t.equal(terminal.reason, 'REASON_TASK_INVALID');
  t.equal(terminal.message, "Task's health check is invalid: Expecting 'http' to be set for HTTP health check");
  t.notOk(existsSync(exec.taskFile('bad', 'ran')));
});
