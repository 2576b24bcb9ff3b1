/**
 * The real command executor against a fake slave: KILL with and without grace, TASK_KILLING,
 * task groups, SHUTDOWN.
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

const seconds = (s: number): { nanoseconds: number } => ({ nanoseconds: s * 1e9 });

t.test('a task trapping SIGTERM gets its grace period; TASK_KILLING first when the framework supports it', async (t) => {
  const slave = await slaveFor(t, { frameworkCapabilities: ['TASK_KILLING_STATE'] });
  const exec = startCommandExecutor(t, slave);
  await slave.waitFor(() => slave.connected, 'SUBSCRIBE');
  slave.launch(commandTask('trap', {
    value: "trap 'sleep 0.3; echo got-term > term.txt; exit 0' TERM; echo $$ > pid; while true; do sleep 0.05; done",
  }, { kill_policy: { grace_period: seconds(10) } }));
  await pollFor(() => existsSync(exec.taskFile('trap', 'pid')), 'the task to install its trap');
  const started = Date.now();
  slave.send({ type: 'KILL', kill: { task_id: { value: 'trap' } } });
  const terminal = await slave.terminalOf('trap');
  t.same(slave.statesOf('trap'), ['TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING', 'TASK_KILLED']);
  t.equal(terminal.message, 'Command exited with status 0');
  t.equal(readFileSync(exec.taskFile('trap', 'term.txt'), 'utf8'), 'got-term\n');
  t.ok(Date.now() - started < 9_000, 'ended by its own exit, not by SIGKILL after 10 s');
  const pid = Number(readFileSync(exec.taskFile('trap', 'pid'), 'utf8'));
  t.notOk(isAlive(pid), 'task process is gone');
});

t.test('a task ignoring SIGTERM is SIGKILLed after the KILL event\'s grace period', async (t) => {
  const slave = await slaveFor(t);
  const exec = startCommandExecutor(t, slave);
  await slave.waitFor(() => slave.connected, 'SUBSCRIBE');
  slave.launch(commandTask('stubborn', { value: "trap '' TERM; echo $$ > pid; while true; do sleep 0.05; done" }));
  await pollFor(() => existsSync(exec.taskFile('stubborn', 'pid')), 'the task to ignore SIGTERM');
  const started = Date.now();
  slave.send({ type: 'KILL', kill: { task_id: { value: 'stubborn' }, kill_policy: { grace_period: { nanoseconds: 500_000_000 } } } });
  const terminal = await slave.terminalOf('stubborn');
  const elapsed = Date.now() - started;
  t.same(slave.statesOf('stubborn'), ['TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLED'], 'no TASK_KILLING without the capability');
  t.equal(terminal.message, 'Command terminated with signal SIGKILL');
  t.ok(elapsed >= 450, `waited the grace period (${elapsed} ms)`);
  t.ok(elapsed < 3_000, `then killed promptly (${elapsed} ms)`);
  t.notOk(isAlive(Number(readFileSync(exec.taskFile('stubborn', 'pid'), 'utf8'))));
});

t.test('LAUNCH_GROUP: a failing task kills the rest of its group', async (t) => {
  const slave = await slaveFor(t);
  const exec = startCommandExecutor(t, slave);
  await slave.waitFor(() => slave.connected, 'SUBSCRIBE');
  slave.send({
    type: 'LAUNCH_GROUP',
    launch_group: {
      task_group: {
        tasks: [
          commandTask('g-long', { value: 'echo $$ > pid; exec sleep 100' }),
          commandTask('g-fail', { value: 'sleep 0.3; exit 2' }),
        ],
      },
    },
  });
  const failed = await slave.terminalOf('g-fail');
  t.equal(failed.state, 'TASK_FAILED');
  const killed = await slave.terminalOf('g-long');
  t.equal(killed.state, 'TASK_KILLED');
  t.equal(killed.message, 'Command terminated with signal SIGTERM');
  t.notOk(isAlive(Number(readFileSync(exec.taskFile('g-long', 'pid'), 'utf8'))));
});

t.test('LAUNCH_GROUP: a task failing before its sibling even started still takes the group down', async (t) => {
  const slave = await slaveFor(t);
  startCommandExecutor(t, slave);
  await slave.waitFor(() => slave.connected, 'SUBSCRIBE');
  slave.send({
    type: 'LAUNCH_GROUP',
    launch_group: { task_group: { tasks: [commandTask('h-fail', {}), commandTask('h-long', { value: 'exec sleep 100' })] } },
  });
  t.equal((await slave.terminalOf('h-fail')).reason, 'REASON_TASK_INVALID');
  t.equal((await slave.terminalOf('h-long')).state, 'TASK_KILLED');
});

t.test('SHUTDOWN kills every task and the executor exits 0', async (t) => {
  const slave = await slaveFor(t);
  const exec = startCommandExecutor(t, slave);
  await slave.waitFor(() => slave.connected, 'SUBSCRIBE');
  slave.launch(commandTask('s1', { value: 'echo $$ > pid; exec sleep 100' }));
  slave.launch(commandTask('s2', { value: "trap 'exit 0' TERM; echo $$ > pid; while true; do sleep 0.05; done" }));
  await pollFor(() => existsSync(exec.taskFile('s1', 'pid')) && existsSync(exec.taskFile('s2', 'pid')), 'both tasks running');
  slave.send({ type: 'SHUTDOWN' });
  const exit = await within(exec.exited, 10_000, 'the executor to exit');
  t.same(exit, { code: 0, signal: null });
  t.equal(slave.statesOf('s1').at(-1), 'TASK_KILLED');
  t.equal(slave.statesOf('s2').at(-1), 'TASK_KILLED');
  for (const id of ['s1', 's2']) t.notOk(isAlive(Number(readFileSync(exec.taskFile(id, 'pid'), 'utf8'))), `${id} is gone`);
});

t.test('KILL for an unknown task is ignored', async (t) => {
  const slave = await slaveFor(t);
  const exec = startCommandExecutor(t, slave);
  await slave.waitFor(() => slave.connected, 'SUBSCRIBE');
  slave.send({ type: 'KILL', kill: { task_id: { value: 'nope' } } });
  slave.launch(commandTask('after', { value: 'true' }));
  t.equal((await slave.terminalOf('after')).state, 'TASK_FINISHED');
  t.same(slave.statesOf('nope'), []);
  await pollFor(() => exec.log().includes('KILL for an unknown task'), 'the log line');
});
