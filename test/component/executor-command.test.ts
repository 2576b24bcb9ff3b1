/**
 * The real command executor process (dist/slave/executor/command-executor-main.js) against a
 * fake slave: launching, states and messages, environment, argv, fetching.
 */
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import {
  FakeSlave, commandTask, pollFor, startCommandExecutor, within, AGENT_ID, EXECUTOR_ID, FRAMEWORK_ID, type FakeSlaveOptions,
} from './executor-fake-slave.js';

async function slaveFor(t: { teardown(fn: () => unknown): void }, options: FakeSlaveOptions = {}): Promise<FakeSlave> {
  const slave = await FakeSlave.start(options);
  t.teardown(() => slave.close());
  return slave;
}

t.test('echo hi: STARTING, RUNNING, FINISHED in order, with uuids, and the output in the task sandbox', async (t) => {
  const slave = await slaveFor(t);
  const exec = startCommandExecutor(t, slave);
  await slave.waitFor(() => slave.connected, 'SUBSCRIBE');
  const sub = slave.subscribes[0]!;
  t.equal(sub.executor_id.value, EXECUTOR_ID);
  t.equal(sub.framework_id.value, FRAMEWORK_ID);
  slave.launch(commandTask('t1', { value: 'echo hi' }));
  const terminal = await slave.terminalOf('t1');
  t.same(slave.statesOf('t1'), ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);
  t.equal(terminal.message, 'Command exited with status 0');
  const uuids = new Set<string>();
  for (const u of slave.updates) {
    t.equal(Buffer.from(u.uuid!, 'base64').length, 16, 'uuid is 16 bytes');
    uuids.add(u.uuid!);
    t.equal(u.source, 'SOURCE_EXECUTOR');
    t.equal(u.executor_id?.value, EXECUTOR_ID);
    t.equal(u.agent_id?.value, AGENT_ID);
    t.ok(typeof u.timestamp === 'number' && Math.abs(u.timestamp - Date.now() / 1000) < 60, 'timestamp in seconds');
  }
  t.equal(uuids.size, slave.updates.length, 'uuids are distinct');
  t.equal(readFileSync(exec.taskFile('t1', 'stdout'), 'utf8'), 'hi\n');
  t.equal(readFileSync(exec.taskFile('t1', 'stderr'), 'utf8'), '');
});

t.test('exit 3 → TASK_FAILED "Command exited with status 3"; a signal is named', async (t) => {
  const slave = await slaveFor(t);
  startCommandExecutor(t, slave);
  await slave.waitFor(() => slave.connected, 'SUBSCRIBE');
  slave.launch(commandTask('t3', { value: 'exit 3' }));
  slave.launch(commandTask('tsig', { value: 'kill -USR1 $$' }));
  const failed = await slave.terminalOf('t3');
  t.equal(failed.state, 'TASK_FAILED');
  t.equal(failed.message, 'Command exited with status 3');
  const signalled = await slave.terminalOf('tsig');
  t.equal(signalled.state, 'TASK_FAILED');
  t.equal(signalled.message, 'Command terminated with signal SIGUSR1');
});

t.test('environment: ports, sandbox, task id, host and CommandInfo.environment', async (t) => {
  const slave = await slaveFor(t);
  const exec = startCommandExecutor(t, slave);
  await slave.waitFor(() => slave.connected, 'SUBSCRIBE');
  slave.launch(commandTask('tenv', {
    value: 'echo "PORT0=$PORT0 PORT1=$PORT1 PORT2=$PORT2 PORTS=$PORTS PORT=$PORT"; echo "SANDBOX=$MESOS_SANDBOX"; echo "TASK=$MESOS_TASK_ID HOST=$HOST"; echo "CUSTOM=$CUSTOM_VAR"; echo "PWD=$(pwd)"',
    environment: { variables: [{ name: 'CUSTOM_VAR', value: 'hello world' }] },
  }, {
    resources: [
      { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 } },
      { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31005, end: 31005 }, { begin: 31000, end: 31001 }] } },
    ],
  }));
  const done = await slave.terminalOf('tenv');
  t.equal(done.state, 'TASK_FINISHED');
  const out = readFileSync(exec.taskFile('tenv', 'stdout'), 'utf8');
  const sandbox = path.join(exec.sandbox, 'tasks', 'tenv');
  t.match(out, 'PORT0=31000 PORT1=31001 PORT2=31005 PORTS=31000,31001,31005 PORT=31000');
  t.match(out, `SANDBOX=${sandbox}\n`);
  t.match(out, 'TASK=tenv HOST=fake-agent.local');
  t.match(out, 'CUSTOM=hello world');
  t.match(out, `PWD=${sandbox}\n`);
});

t.test('shell=false runs value with arguments as argv (argv[0] included)', async (t) => {
  const slave = await slaveFor(t);
  const exec = startCommandExecutor(t, slave);
  await slave.waitFor(() => slave.connected, 'SUBSCRIBE');
  slave.launch(commandTask('targv', {
    shell: false,
    value: '/bin/sh',
    arguments: ['my-sh', '-c', 'echo "argv0=$0 one=$1"; echo "$*"', 'zero', 'a b', '$HOME'],
  }));
  const done = await slave.terminalOf('targv');
  t.equal(done.state, 'TASK_FINISHED');
  const out = readFileSync(exec.taskFile('targv', 'stdout'), 'utf8');
  t.equal(out, 'argv0=zero one=a b\na b $HOME\n', 'no shell expansion of the arguments themselves');

  slave.launch(commandTask('tmissing', { shell: false, value: '/nonexistent/program', arguments: ['program'] }));
  const failed = await slave.terminalOf('tmissing');
  t.equal(failed.state, 'TASK_FAILED');
  t.equal(failed.reason, 'REASON_CONTAINER_LAUNCH_FAILED');
  t.match(failed.message, /Failed to launch the command: .*ENOENT/);
});

t.test('URIs are fetched into the task sandbox; a fetch failure is TASK_FAILED REASON_CONTAINER_LAUNCH_FAILED', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agora-exec-uris-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const script = path.join(dir, 'hello.sh');
  writeFileSync(script, '#!/bin/sh\necho fetched-script-ran\n');
  const slave = await slaveFor(t);
  const exec = startCommandExecutor(t, slave);
  await slave.waitFor(() => slave.connected, 'SUBSCRIBE');
  slave.launch(commandTask('tfetch', { value: './hello.sh', uris: [{ value: script, executable: true }] }));
  const ok = await slave.terminalOf('tfetch');
  t.equal(ok.state, 'TASK_FINISHED', ok.message ?? '');
  t.equal(readFileSync(exec.taskFile('tfetch', 'stdout'), 'utf8'), 'fetched-script-ran\n');

  slave.launch(commandTask('tbad', { value: 'true', uris: [{ value: path.join(dir, 'missing.tar.gz') }] }));
  const bad = await slave.terminalOf('tbad');
  t.same(slave.statesOf('tbad'), ['TASK_STARTING', 'TASK_FAILED']);
  t.equal(bad.reason, 'REASON_CONTAINER_LAUNCH_FAILED');
  t.match(bad.message, /Failed to fetch URIs: .*missing\.tar\.gz.*no such file/);
});

t.test('a task without a command fails as invalid; an ended task\'s id may come again; a duplicate LAUNCH of a live task is ignored', async (t) => {
  const slave = await slaveFor(t);
  const exec = startCommandExecutor(t, slave);
  await slave.waitFor(() => slave.connected, 'SUBSCRIBE');
  slave.launch(commandTask('tnone', {}));
  const failed = await slave.terminalOf('tnone');
  t.equal(failed.state, 'TASK_FAILED');
  t.equal(failed.reason, 'REASON_TASK_INVALID');
  // Mesos lets a framework reuse the id of a task that has ended; the shared executor keeps
  // no record of ended tasks (it runs for as long as its framework has tasks here).
  slave.launch(commandTask('tnone', { value: 'echo again' }));
  await slave.waitFor(() => slave.statesOf('tnone').length >= 5, 'the second run of tnone to end');
  t.same(slave.statesOf('tnone'), ['TASK_STARTING', 'TASK_FAILED', 'TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED'], 'the id ran again');
  slave.launch(commandTask('tlive', { value: 'exec sleep 30' }));
  await slave.waitFor(() => slave.statesOf('tlive').includes('TASK_RUNNING'), 'tlive running');
  slave.launch(commandTask('tlive', { value: 'echo twice' }));
  await pollFor(() => exec.log().includes('already has'), 'the duplicate launch to be logged', 5_000);
  t.same(slave.statesOf('tlive'), ['TASK_STARTING', 'TASK_RUNNING'], 'a LAUNCH of a task still running is ignored');
  slave.send({ type: 'KILL', kill: { task_id: { value: 'tlive' } } });
  t.equal((await slave.terminalOf('tlive')).state, 'TASK_KILLED');
});
