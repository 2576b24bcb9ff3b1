/**
 * Health checks in the real command executor against the fake slave: an HTTP check on a
 * task serving HTTP, a TCP check on a closed port.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import type { TaskInfo, TaskStatus } from '../../sdk/protocol/mesos.js';
import { AGENT_ID, FakeSlave, commandTask, startCommandExecutor, type FakeSlaveOptions } from './executor-fake-slave.js';

async function slaveFor(t: { teardown(fn: () => unknown): void }, options: FakeSlaveOptions = {}): Promise<FakeSlave> {
  const slave = await FakeSlave.start(options);
  t.teardown(() => slave.close());
  return slave;
}

/** A port nothing listens on right now (bound on 127.0.0.1:0, then released). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

function portsResource(port: number): NonNullable<TaskInfo['resources']> {
  return [{ name: 'ports', type: 'RANGES', ranges: { range: [{ begin: port, end: port }] } }];
}

const healthUpdates = (slave: FakeSlave, taskId: string): TaskStatus[] =>
  slave.updates.filter((u) => u.task_id.value === taskId && u.reason === 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED');

t.test('HTTP: a task serving HTTP on $PORT0 becomes healthy', async (t) => {
  const slave = await slaveFor(t);
  startCommandExecutor(t, slave);
  await slave.waitFor(() => slave.connected, 'SUBSCRIBE');
  const port = await freePort();
  slave.launch(commandTask('web', { value: 'exec python3 -m http.server "$PORT0" --bind 127.0.0.1' }, {
    resources: portsResource(port),
    health_check: {
      type: 'HTTP', http: { port, path: '/' },
      delay_seconds: 0, interval_seconds: 0.2, timeout_seconds: 5, grace_period_seconds: 60, consecutive_failures: 3,
    },
  }));
  const healthy = await slave.waitFor(() => healthUpdates(slave, 'web').find((u) => u.healthy === true), 'a healthy update', 30_000);
  t.equal(healthy.state, 'TASK_RUNNING');
  t.equal(healthy.agent_id?.value, AGENT_ID);
  t.same(healthUpdates(slave, 'web').map((u) => u.healthy), [true], 'failures while python starts fall in the grace period; one healthy update');
  t.same(slave.statesOf('web').slice(0, 3), ['TASK_STARTING', 'TASK_RUNNING', 'TASK_RUNNING']);

  slave.send({ type: 'KILL', kill: { task_id: { value: 'web' } } });
  const terminal = await slave.terminalOf('web');
  t.equal(terminal.state, 'TASK_KILLED');
  t.equal(terminal.healthy, undefined, 'a kill by the framework says nothing about health');
});

t.test('TCP: a check on a closed port is unhealthy; consecutive_failures 0 never kills', async (t) => {
  const slave = await slaveFor(t);
  startCommandExecutor(t, slave);
  await slave.waitFor(() => slave.connected, 'SUBSCRIBE');
  const port = await freePort();
  slave.launch(commandTask('tcp', { value: 'exec sleep 100' }, {
    health_check: {
      type: 'TCP', tcp: { port },
      delay_seconds: 0, interval_seconds: 0.05, timeout_seconds: 5, grace_period_seconds: 0, consecutive_failures: 0,
    },
  }));
  const updates = await slave.waitFor(() => {
    const h = healthUpdates(slave, 'tcp');
    return h.length >= 4 ? h : undefined;
  }, 'four unhealthy updates');
  t.same(updates.slice(0, 4).map((u) => [u.state, u.healthy]), Array(4).fill(['TASK_RUNNING', false]), 'every failure is reported, as Mesos does');
  t.same(slave.statesOf('tcp').filter((s) => s !== 'TASK_RUNNING'), ['TASK_STARTING'], 'still running: no kill');

  slave.send({ type: 'KILL', kill: { task_id: { value: 'tcp' } } });
  const terminal = await slave.terminalOf('tcp');
  t.equal(terminal.state, 'TASK_KILLED');
  t.equal(terminal.healthy, undefined);
});

t.test('TCP: a check on a listening port is healthy', async (t) => {
  const slave = await slaveFor(t);
  startCommandExecutor(t, slave);
  await slave.waitFor(() => slave.connected, 'SUBSCRIBE');
  const server = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  slave.launch(commandTask('tcp-ok', { value: 'exec sleep 100' }, {
    health_check: { type: 'TCP', tcp: { port: (server.address() as AddressInfo).port }, delay_seconds: 0, interval_seconds: 0.05, grace_period_seconds: 0 },
  }));
  const healthy = await slave.waitFor(() => healthUpdates(slave, 'tcp-ok')[0], 'a health update');
  t.equal(healthy.healthy, true);
});
