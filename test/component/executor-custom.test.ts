/** The example custom executor (dist/examples/custom-executor.js) against the fake slave. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { FakeSlave, REPO_ROOT, commandTask, startCommandExecutor, within } from './executor-fake-slave.js';

const CUSTOM_EXECUTOR_JS = path.join(REPO_ROOT, 'dist/examples/custom-executor.js');

t.test('runs each task, reports RUNNING then FINISHED, exits on SHUTDOWN', async (t) => {
  const slave = await FakeSlave.start();
  t.teardown(() => slave.close());
  const exec = startCommandExecutor(t, slave, { MESOS_EXECUTOR_ID: 'custom-1' }, CUSTOM_EXECUTOR_JS);
  await slave.waitFor(() => slave.connected, 'SUBSCRIBE');
  slave.launch(commandTask('c1', undefined, { name: 'greeter', data: Buffer.from('hello data').toString('base64') }));
  const done = await slave.terminalOf('c1');
  t.same(slave.statesOf('c1'), ['TASK_RUNNING', 'TASK_FINISHED']);
  t.equal(done.message, 'custom executor ran greeter');
  t.equal(done.executor_id?.value, 'custom-1');
  slave.send({ type: 'SHUTDOWN' });
  t.same(await within(exec.exited, 10_000, 'exit'), { code: 0, signal: null });
  const out = readFileSync(path.join(exec.sandbox, 'executor.log'), 'utf8');
  t.match(out, 'custom executor running task greeter (c1)');
  t.match(out, 'task data: hello data');
});
