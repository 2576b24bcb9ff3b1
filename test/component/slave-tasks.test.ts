/**
 * Slave component test: a real slave in-process against a fake master, running real
 * command tasks through the built-in command executor (needs `npx tsc -p .` first).
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { waitFor } from '../helpers/wait.js';
import { FakeMaster, FRAMEWORK, commandTask, getJson, startTestSlave } from './slave-kit.js';

t.test('registers with the resources of the option string', async (t) => {
  const master = await FakeMaster.start();
  const { slave, log } = await startTestSlave(master);
  t.teardown(async () => { await slave.close(); await master.close(); });
  const listening = await log.waitFor('listening');
  t.equal(listening.port, slave.port);
  const { msg } = await master.waitFor('register');
  const names = Object.fromEntries((msg.agent_info.resources ?? []).map((r) => [r.name, r]));
  t.equal(names.cpus?.scalar?.value, 2);
  t.equal(names.mem?.scalar?.value, 1024);
  t.same(names.ports?.ranges?.range, [{ begin: 31000, end: 31010 }]);
  t.equal(msg.agent_info.port, slave.port);
  t.same(msg.agent_info.attributes?.map((a) => a.name), ['rack', 'level']);
  const registered = await log.waitFor('registered');
  t.equal(registered.agent_id, 'fake-master-S0');
  t.equal(slave.agentId(), 'fake-master-S0');
  const state = await getJson(`${slave.url}/state`);
  t.equal(state.status, 200);
  t.equal(state.body.id, 'fake-master-S0');
  t.equal(state.body.resources.cpus, 2);
  t.equal(state.body.resources.ports, '[31000-31010]');
  t.same(state.body.attributes, { rack: 'r1', level: 3 });
  t.equal(state.body.master_hostname, 'fake-master-host');
  t.match(state.body.pid, /^slave\(1\)@127\.0\.0\.1:\d+$/);
  const alias = await getJson(`${slave.url}/slave(1)/state`);
  t.equal(alias.body.id, 'fake-master-S0');
  t.equal((await fetch(`${slave.url}/health`)).status, 200);
});

t.test('echo hello: STARTING, RUNNING, FINISHED in order, each retried until acknowledged', async (t) => {
  const master = await FakeMaster.start();
  const { slave, log } = await startTestSlave(master);
  t.teardown(async () => { await slave.close(); await master.close(); });
  await master.waitFor('register');
  const agentId = String((await log.waitFor('registered')).agent_id);
  master.send({ type: 'run_task', framework: FRAMEWORK, task: commandTask('hello-1', agentId, 'echo hello') });

  // STARTING comes first; not acknowledged, it is sent again, and nothing else goes out.
  const first = await master.waitFor('status_update', (m) => m.update.status.task_id.value === 'hello-1');
  t.equal(first.msg.update.status.state, 'TASK_STARTING');
  t.equal(first.msg.update.status.source, 'SOURCE_EXECUTOR');
  t.equal(first.msg.update.status.agent_id?.value, agentId);
  t.ok(first.msg.update.status.uuid);
  const resent = await master.waitFor('status_update', (m) => m.update.status.uuid === first.msg.update.status.uuid, { from: first.index + 1 });
  t.ok(resent.index > first.index, 'the unacknowledged head is resent');
  t.same(master.updatesFor('hello-1').map((m) => m.update.status.state).filter((s) => s !== 'TASK_STARTING'), [], 'RUNNING waits behind the unacknowledged STARTING');

  master.ack(first.msg);
  const running = await master.waitFor('status_update', (m) => m.update.status.task_id.value === 'hello-1' && m.update.status.state === 'TASK_RUNNING');
  master.ack(running.msg);
  const finished = await master.waitFor('status_update', (m) => m.update.status.task_id.value === 'hello-1' && m.update.status.state === 'TASK_FINISHED');
  // Distinct updates, in order of first arrival.
  const order: string[] = [];
  for (const m of master.updatesFor('hello-1')) if (!order.includes(m.update.status.uuid!)) order.push(m.update.status.uuid!);
  const states = order.map((u) => master.updatesFor('hello-1').find((m) => m.update.status.uuid === u)!.update.status.state);
  t.same(states, ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);

  // Before the terminal ack the task is listed among completed tasks (terminated) of a live executor.
  const before = await getJson(`${slave.url}/state`);
  const executor = before.body.frameworks[0].executors[0];
  t.equal(executor.id, 'agora-command-executor');
  t.equal(executor.type, 'COMMAND');
  t.equal(executor.completed_tasks[0].state, 'TASK_FINISHED');

  master.ack(finished.msg);
  // Idle command executor: SHUTDOWN → it exits → the master hears about it.
  const exited = await master.waitFor('executor_exited', (m) => m.framework_id.value === 'fw-1');
  t.equal(exited.msg.executor_id.value, 'agora-command-executor');
  t.equal(exited.msg.status, 0, 'the executor exited cleanly after SHUTDOWN');

  const after = await getJson(`${slave.url}/state`);
  t.same(after.body.frameworks, []);
  const done = after.body.completed_frameworks.find((f: { id: string }) => f.id === 'fw-1');
  const doneExecutor = done.completed_executors[0];
  t.equal(doneExecutor.completed_tasks[0].id, 'hello-1');
  t.equal(doneExecutor.completed_tasks[0].state, 'TASK_FINISHED');
  t.same(doneExecutor.completed_tasks[0].statuses.map((s: { state: string }) => s.state), ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);

  const stdout = `${doneExecutor.directory}/tasks/hello-1/stdout`;
  const read = await getJson(`${slave.url}/files/read?path=${encodeURIComponent(stdout)}&offset=0`);
  t.equal(read.status, 200);
  t.same(read.body, { data: 'hello\n', offset: 0 });
  const size = await getJson(`${slave.url}/files/read?path=${encodeURIComponent(stdout)}`);
  t.same(size.body, { data: '', offset: 6 }, 'no offset: the file size');
  const tail = await getJson(`${slave.url}/files/read?path=${encodeURIComponent(stdout)}&offset=2&length=2`);
  t.same(tail.body, { data: 'll', offset: 2 });
  const past = await getJson(`${slave.url}/files/read?path=${encodeURIComponent(stdout)}&offset=100`);
  t.same(past.body, { data: '', offset: 100 });
  const browse = await getJson(`${slave.url}/files/browse?path=${encodeURIComponent(`${doneExecutor.directory}/tasks/hello-1`)}`);
  t.equal(browse.status, 200);
  const entry = browse.body.find((e: { path: string }) => e.path.endsWith('/stdout'));
  t.match(entry, { size: 6, nlink: 1, mode: /^-rw/ });
  t.type(entry.uid, 'string');
  const dl = await fetch(`${slave.url}/files/download?path=${encodeURIComponent(stdout)}`);
  t.equal(dl.status, 200);
  t.match(dl.headers.get('content-disposition'), /attachment; filename="stdout"/);
  t.equal(await dl.text(), 'hello\n');
});

t.test('two tasks share one executor; kill honours the grace period; idle executor is shut down', async (t) => {
  const master = await FakeMaster.start({ autoAck: true });
  const { slave, log } = await startTestSlave(master);
  t.teardown(async () => { await slave.close(); await master.close(); });
  const agentId = String((await log.waitFor('registered')).agent_id);
  const graceful = `trap 'echo got-term; sleep 0.3; exit 0' TERM; echo started; while true; do sleep 0.05; done`;
  master.send({ type: 'run_task', framework: FRAMEWORK, task: commandTask('graceful', agentId, graceful) });
  master.send({ type: 'run_task', framework: FRAMEWORK, task: commandTask('sleeper', agentId, 'sleep 60') });
  await master.waitFor('status_update', (m) => m.update.status.task_id.value === 'graceful' && m.update.status.state === 'TASK_RUNNING');
  await master.waitFor('status_update', (m) => m.update.status.task_id.value === 'sleeper' && m.update.status.state === 'TASK_RUNNING');

  const state = await getJson(`${slave.url}/state`);
  t.equal(state.body.frameworks.length, 1);
  t.equal(state.body.frameworks[0].executors.length, 1, 'one executor for both command tasks');
  t.same(state.body.frameworks[0].executors[0].tasks.map((x: { id: string }) => x.id).sort(), ['graceful', 'sleeper']);
  t.equal(state.body.frameworks[0].executors[0].tasks[0].state, 'TASK_RUNNING');
  const directory: string = state.body.frameworks[0].executors[0].directory;

  const stats = await getJson(`${slave.url}/monitor/statistics`);
  t.equal(stats.body.length, 1);
  t.equal(stats.body[0].executor_id, 'agora-command-executor');
  t.ok(stats.body[0].statistics.mem_rss_bytes > 0, 'rss read from /proc');
  t.equal(stats.body[0].statistics.cpus_limit, 0.2);

  // Wait until the trap is installed (the script printed "started").
  const stdout = `${directory}/tasks/graceful/stdout`;
  await waitForFileContent(stdout, 'started');

  master.send({ type: 'kill_task', framework_id: FRAMEWORK.id, task_id: { value: 'graceful' }, kill_policy: { grace_period: { nanoseconds: 5_000_000_000 } } });
  const killed = await master.waitFor('status_update', (m) => m.update.status.task_id.value === 'graceful' && m.update.status.state === 'TASK_KILLED');
  t.equal(killed.msg.update.status.source, 'SOURCE_EXECUTOR');
  const out = await getJson(`${slave.url}/files/read?path=${encodeURIComponent(stdout)}&offset=0`);
  t.match(out.body.data, /got-term/, 'the task saw SIGTERM and ran its trap');

  // The executor still hosts the sleeper.
  const mid = await getJson(`${slave.url}/state`);
  t.equal(mid.body.frameworks[0].executors.length, 1);

  master.send({ type: 'kill_task', framework_id: FRAMEWORK.id, task_id: { value: 'sleeper' } });
  await master.waitFor('status_update', (m) => m.update.status.task_id.value === 'sleeper' && m.update.status.state === 'TASK_KILLED');
  const exited = await master.waitFor('executor_exited', () => true);
  t.equal(exited.msg.executor_id.value, 'agora-command-executor');

  // A later task gets a fresh executor run (new container).
  master.send({ type: 'run_task', framework: FRAMEWORK, task: commandTask('later', agentId, 'echo again') });
  await master.waitFor('status_update', (m) => m.update.status.task_id.value === 'later' && m.update.status.state === 'TASK_FINISHED');
  await master.waitFor('executor_exited', () => true, { from: exited.index + 1 });
  const end = await getJson(`${slave.url}/state`);
  const fw = end.body.completed_frameworks.find((f: { id: string }) => f.id === 'fw-1');
  t.equal(fw.completed_executors.length, 2);
  t.not(fw.completed_executors[0].container, fw.completed_executors[1].container);
});

t.test('an idle command executor is kept for executorIdleTimeoutMs: the next task joins it', async (t) => {
  const master = await FakeMaster.start({ autoAck: true });
  // A long idle timeout, so the second task certainly arrives within it.
  const { slave, log } = await startTestSlave(master, { executorIdleTimeoutMs: 60_000 });
  t.teardown(async () => { await slave.close(); await master.close(); });
  const agentId = String((await log.waitFor('registered')).agent_id);
  master.send({ type: 'run_task', framework: FRAMEWORK, task: commandTask('first', agentId, 'true') });
  await master.waitFor('status_update', (m) => m.update.status.task_id.value === 'first' && m.update.status.state === 'TASK_FINISHED');
  // Every update of `first` acknowledged: the executor is idle.
  const idle = await waitFor(async () => {
    const s = await getJson(`${slave.url}/state`);
    const e = s.body.frameworks[0]?.executors[0];
    return e !== undefined && e.tasks.length === 0 && e.completed_tasks.length === 1 && e.completed_tasks[0].state === 'TASK_FINISHED' ? e : undefined;
  }, { timeoutMs: 15_000, what: 'the first task completed' });
  master.send({ type: 'run_task', framework: FRAMEWORK, task: commandTask('second', agentId, 'true') });
  await master.waitFor('status_update', (m) => m.update.status.task_id.value === 'second' && m.update.status.state === 'TASK_FINISHED');
  const end = await waitFor(async () => {
    const s = await getJson(`${slave.url}/state`);
    const e = s.body.frameworks[0]?.executors[0];
    return e !== undefined && e.completed_tasks.length === 2 ? s.body : undefined;
  }, { timeoutMs: 15_000, what: 'the second task completed' });
  t.equal(end.frameworks[0].executors.length, 1, 'one executor ran both tasks');
  t.equal(end.frameworks[0].executors[0].container, idle.container, 'the same run of it');
  t.equal(master.received.filter((m) => m.type === 'executor_exited').length, 0, 'it was not shut down in between');
});

t.test('kill of an unknown task is answered TASK_LOST; a task without command or executor is TASK_ERROR', async (t) => {
  const master = await FakeMaster.start({ autoAck: true });
  const { slave, log } = await startTestSlave(master);
  t.teardown(async () => { await slave.close(); await master.close(); });
  const agentId = String((await log.waitFor('registered')).agent_id);
  master.send({ type: 'kill_task', framework_id: FRAMEWORK.id, task_id: { value: 'ghost' } });
  const lost = await master.waitFor('status_update', (m) => m.update.status.task_id.value === 'ghost');
  t.equal(lost.msg.update.status.state, 'TASK_LOST');
  t.equal(lost.msg.update.status.source, 'SOURCE_AGENT');
  t.equal(lost.msg.update.status.reason, 'REASON_EXECUTOR_TERMINATED');
  t.ok(lost.msg.update.status.uuid);
  master.send({ type: 'run_task', framework: FRAMEWORK, task: { name: 'empty', task_id: { value: 'empty' }, agent_id: { value: agentId } } });
  const error = await master.waitFor('status_update', (m) => m.update.status.task_id.value === 'empty');
  t.equal(error.msg.update.status.state, 'TASK_ERROR');
  t.equal(error.msg.update.status.reason, 'REASON_TASK_INVALID');
});

t.test('a task killed before its executor subscribed is TASK_KILLED by the slave', async (t) => {
  const master = await FakeMaster.start({ autoAck: true });
  // An executor that never subscribes: a custom one running `sleep`.
  const { slave, log } = await startTestSlave(master, { executorRegistrationTimeoutMs: 60_000 });
  t.teardown(async () => { await slave.close(); await master.close(); });
  const agentId = String((await log.waitFor('registered')).agent_id);
  master.send({
    type: 'run_task',
    framework: FRAMEWORK,
    task: {
      name: 'custom', task_id: { value: 'custom-1' }, agent_id: { value: agentId },
      executor: { executor_id: { value: 'silent' }, command: { value: 'sleep 30' } },
    },
  });
  await log.waitFor('executor started', (l) => l.executor_id === 'silent');
  const queued = (await getJson(`${slave.url}/state`)).body;
  t.equal(queued.frameworks[0].executors[0].queued_tasks.length, 1);
  t.equal(queued.frameworks[0].executors[0].type, 'CUSTOM');
  master.send({ type: 'kill_task', framework_id: FRAMEWORK.id, task_id: { value: 'custom-1' } });
  const killed = await master.waitFor('status_update', (m) => m.update.status.task_id.value === 'custom-1');
  t.equal(killed.msg.update.status.state, 'TASK_KILLED');
  t.equal(killed.msg.update.status.reason, 'REASON_TASK_KILLED_DURING_LAUNCH');
  const exited = await master.waitFor('executor_exited', (m) => m.executor_id.value === 'silent');
  t.ok(exited.msg.status !== undefined);
});

t.test('an executor that never subscribes is killed after the registration timeout and its task fails', async (t) => {
  const master = await FakeMaster.start({ autoAck: true });
  const { slave, log } = await startTestSlave(master, { executorRegistrationTimeoutMs: 300 });
  t.teardown(async () => { await slave.close(); await master.close(); });
  const agentId = String((await log.waitFor('registered')).agent_id);
  master.send({
    type: 'run_task',
    framework: FRAMEWORK,
    task: {
      name: 'custom', task_id: { value: 'custom-2' }, agent_id: { value: agentId },
      executor: { executor_id: { value: 'silent' }, command: { value: 'sleep 30' } },
    },
  });
  const failed = await master.waitFor('status_update', (m) => m.update.status.task_id.value === 'custom-2');
  t.equal(failed.msg.update.status.state, 'TASK_FAILED');
  t.equal(failed.msg.update.status.reason, 'REASON_EXECUTOR_REGISTRATION_TIMEOUT');
  t.equal(failed.msg.update.status.source, 'SOURCE_AGENT');
  await master.waitFor('executor_exited', (m) => m.executor_id.value === 'silent');
});

t.test('an executor that dies with live tasks: TASK_FAILED REASON_EXECUTOR_TERMINATED', async (t) => {
  const master = await FakeMaster.start({ autoAck: true });
  const { slave, log } = await startTestSlave(master);
  t.teardown(async () => { await slave.close(); await master.close(); });
  const agentId = String((await log.waitFor('registered')).agent_id);
  master.send({ type: 'run_task', framework: FRAMEWORK, task: commandTask('victim', agentId, 'sleep 60') });
  await master.waitFor('status_update', (m) => m.update.status.task_id.value === 'victim' && m.update.status.state === 'TASK_RUNNING');
  const stats = await getJson(`${slave.url}/monitor/statistics`);
  t.equal(stats.body.length, 1);
  const state = await getJson(`${slave.url}/state`);
  t.ok(state.body.frameworks[0].executors[0].container);
  // Kill the executor process itself (not its task) from outside.
  const pid = (await log.waitFor('executor started')).pid as number;
  process.kill(pid, 'SIGKILL');
  const failed = await master.waitFor('status_update', (m) => m.update.status.task_id.value === 'victim' && m.update.status.state === 'TASK_FAILED');
  t.equal(failed.msg.update.status.reason, 'REASON_EXECUTOR_TERMINATED');
  t.equal(failed.msg.update.status.source, 'SOURCE_AGENT');
  const exited = await master.waitFor('executor_exited', () => true);
  t.equal(exited.msg.status, 9);
});

/** Resolves once `file` contains `text` (fs.watch on its directory, bounded). */
function waitForFileContent(file: string, text: string, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const dir = path.dirname(file);
    fs.mkdirSync(dir, { recursive: true });
    const check = (): boolean => {
      try {
        if (fs.readFileSync(file, 'utf8').includes(text)) {
          watcher.close();
          clearTimeout(timer);
          resolve();
          return true;
        }
      } catch {
        // not there yet
      }
      return false;
    };
    const watcher = fs.watch(dir, () => check());
    const timer = setTimeout(() => { watcher.close(); reject(new Error(`${file} never contained ${text}`)); }, timeoutMs);
    check();
  });
}
