/**
 * Slave recovery, in-process: a real slave against the fake master, real command
 * executors and tasks. The first slave is closed WITHOUT cleanup (its tasks outlive it, as
 * after a crash); a second slave on the same work dir recovers from the checkpoint. (The
 * SIGKILL case, with `agora` processes, is test/integration/slave-recovery.test.ts.)
 * Needs `npx tsc -p .` first (the executor runs from dist/).
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { checkpointPath, journalPath, peekCheckpoint, readCheckpoint, writeCheckpoint } from '../../slave/checkpoint-store.js';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION } from '../../slave/checkpoint.js';
import { readProcessIdentity } from '../../slave/process-tree.js';
import { waitFor } from '../helpers/wait.js';
import { FakeMaster, FRAMEWORK, commandTask, startTestSlave, tempWorkDir } from './slave-kit.js';

const alive = (pid: number): boolean => {
  const id = readProcessIdentity(pid);
  return id !== undefined && id.state !== 'Z';
};

/** Waits until `file` holds a pid (the task writes it). */
function readPidFile(file: string): Promise<number> {
  return waitFor(() => {
    const n = Number(fs.readFileSync(file, 'utf8').trim());
    return n > 1 ? n : undefined;
  }, { timeoutMs: 15_000, what: `pid file ${file}` });
}

type TestSlave = Awaited<ReturnType<typeof startTestSlave>>;

/**
 * A fake master and a first slave on a fresh work dir that keeps its checkpoint when it
 * stops. A slave a test starts later goes in `later.slave`, so that the teardown stops it too.
 */
async function recoveryRig(t: { teardown(fn: () => unknown): void }): Promise<{ master: FakeMaster; workDir: string; first: TestSlave; later: { slave?: TestSlave } }> {
  const master = await FakeMaster.start({ autoAck: true });
  const workDir = tempWorkDir();
  const first = await startTestSlave(master, { workDir, cleanupOnExit: false });
  const later: { slave?: TestSlave } = {};
  t.teardown(async () => {
    await later.slave?.slave.close();
    await first.slave.close();
    await master.close();
  });
  return { master, workDir, first, later };
}

/** Runs `taskId` on `slave` (a shell that writes its pid, then sleeps) until TASK_RUNNING: the agent id and the task's pid. */
async function runSleepingTask(master: FakeMaster, slave: TestSlave, taskId: string): Promise<{ agentId: string; taskPid: number }> {
  const agentId = String((await slave.log.waitFor('registered')).agent_id);
  const pidFile = path.join(tempWorkDir('agora-recovery-pid-'), 'pid');
  master.send({ type: 'run_task', framework: FRAMEWORK, task: commandTask(taskId, agentId, `echo $$ > ${pidFile}; exec sleep 100`) });
  await master.waitFor('status_update', (m) => m.update.status.task_id.value === taskId && m.update.status.state === 'TASK_RUNNING');
  return { agentId, taskPid: await readPidFile(pidFile) };
}

/** Waits until `pid` is gone (no event tells us: it is not our child). */
function waitGone(pid: number, what: string): Promise<true> {
  return waitFor(() => !alive(pid), { timeoutMs: 15_000, what });
}

t.test('a restarted slave re-attaches to its executor: same id, same port, same task process', async (t) => {
  const { master, workDir, first, later } = await recoveryRig(t);
  const { agentId, taskPid } = await runSleepingTask(master, first, 'long-1');
  const port = first.slave.port;
  await first.slave.close();

  const cp = readCheckpoint(workDir);
  t.ok(cp.found && cp.ok, 'the closed slave left a valid checkpoint');
  if (!cp.found || !cp.ok) return;
  t.equal(cp.checkpoint.agent_id, agentId);
  t.equal(cp.checkpoint.port, port);
  const executor = cp.checkpoint.frameworks[0]?.executors[0];
  t.equal(executor?.tasks[0]?.info.task_id.value, 'long-1');
  t.equal(executor?.tasks[0]?.state, 'TASK_RUNNING');
  t.ok(executor?.pid !== undefined && alive(executor.pid), 'the executor outlived the slave');

  const from = master.received.length;
  const second = (later.slave = await startTestSlave(master, { workDir, cleanupOnExit: true }));
  t.equal(second.slave.port, port, 'port 0 reuses the checkpointed port');
  const rereg = await master.waitFor('reregister', () => true, { from });
  t.equal(rereg.msg.agent_id.value, agentId, 're-registers with the same agent id');
  t.same(rereg.msg.tasks?.map((x) => [x.task.task_id.value, x.state]), [['long-1', 'TASK_RUNNING']]);
  const registered = await second.log.waitFor('registered');
  t.equal(registered.agent_id, agentId);
  t.equal(registered.reregistered, true);
  await second.log.waitFor('executor subscribed');
  t.ok(alive(taskPid), 'the task process is still the same');

  // The recovered executor obeys: a kill reaches the task.
  master.send({ type: 'kill_task', framework_id: { value: 'fw-1' }, task_id: { value: 'long-1' } });
  const killed = await master.waitFor('status_update', (m) => m.update.status.task_id.value === 'long-1' && m.update.status.state === 'TASK_KILLED', { from });
  t.equal(killed.msg.update.status.source, 'SOURCE_EXECUTOR');
  const lostOrFailed = master.updatesFor('long-1').filter((m) => ['TASK_LOST', 'TASK_FAILED', 'TASK_GONE'].includes(m.update.status.state));
  t.same(lostOrFailed, [], 'no TASK_LOST/FAILED across the restart');
});

t.test('an executor that died while the slave was down: its tasks are lost after re-registration', async (t) => {
  const { master, workDir, first, later } = await recoveryRig(t);
  const { agentId, taskPid } = await runSleepingTask(master, first, 'doomed-1');
  await first.slave.close();
  const cp = readCheckpoint(workDir);
  const executorPid = cp.found && cp.ok ? cp.checkpoint.frameworks[0]?.executors[0]?.pid : undefined;
  t.ok(executorPid !== undefined, 'the executor pid is checkpointed');
  // The executor dies while no slave runs (SIGKILL: it cannot report anything). Its task,
  // in its own process group, is left behind: the recovering slave kills it.
  process.kill(executorPid!, 'SIGKILL');
  await waitGone(executorPid!, 'the executor to die');

  const from = master.received.length;
  later.slave = await startTestSlave(master, { workDir, cleanupOnExit: true });
  const rereg = await master.waitFor('reregister', () => true, { from });
  t.equal(rereg.msg.agent_id.value, agentId);
  const lost = await master.waitFor('status_update', (m) => m.update.status.task_id.value === 'doomed-1' && m.update.status.state === 'TASK_LOST', { from });
  t.equal(lost.msg.update.status.reason, 'REASON_EXECUTOR_TERMINATED');
  t.equal(lost.msg.update.status.source, 'SOURCE_AGENT');
  const exited = await master.waitFor('executor_exited', () => true, { from });
  t.equal(exited.msg.executor_id.value, 'agora-command-executor');
  await waitGone(taskPid, 'the orphaned task to be killed');
  t.notOk(alive(taskPid), 'the task left in the sandbox was killed');
});

t.test('a recovered executor that does not re-subscribe is killed; its tasks are lost (re-registration timeout)', async (t) => {
  const { master, workDir, first, later } = await recoveryRig(t);
  const agentId = String((await first.log.waitFor('registered')).agent_id);
  // A custom executor that never subscribes (its task stays queued).
  const task = {
    name: 'mute', task_id: { value: 'mute-1' }, agent_id: { value: agentId },
    executor: { executor_id: { value: 'mute-exec' }, command: { value: 'exec sleep 100' } },
  };
  master.send({ type: 'run_task', framework: FRAMEWORK, task });
  const started = await first.log.waitFor('executor started');
  const executorPid = Number(started.pid);
  await first.slave.close();
  t.ok(alive(executorPid));

  const from = master.received.length;
  const second = (later.slave = await startTestSlave(master, { workDir, cleanupOnExit: true, executorReregistrationTimeoutMs: 300 }));
  await second.log.waitFor('recovered executor did not re-subscribe in time; killing it');
  const lost = await master.waitFor('status_update', (m) => m.update.status.task_id.value === 'mute-1', { from });
  t.equal(lost.msg.update.status.state, 'TASK_LOST');
  t.equal(lost.msg.update.status.reason, 'REASON_EXECUTOR_REREGISTRATION_TIMEOUT');
  await master.waitFor('executor_exited', (m) => m.executor_id.value === 'mute-exec', { from });
  await waitGone(executorPid, 'the mute executor to be killed');
  t.notOk(alive(executorPid), 'the executor was killed');
});

t.test('a corrupt checkpoint: the slave starts as a new agent, says why and keeps the bad file', async (t) => {
  const master = await FakeMaster.start();
  const workDir = tempWorkDir();
  fs.mkdirSync(path.dirname(checkpointPath(workDir)), { recursive: true });
  fs.writeFileSync(checkpointPath(workDir), '{"format":"agora-slave-checkpoint","version":1,"boot_id":');
  const s = await startTestSlave(master, { workDir });
  t.teardown(async () => { await s.slave.close(); await master.close(); });
  const warned = await s.log.waitFor('not recovering the previous run; starting as a new agent');
  t.match(String(warned.reason), /checkpoint is unusable \(not JSON/);
  const moved = await s.log.waitFor('moved the unusable checkpoint aside');
  t.match(String(moved.moved_to), /meta\.corrupt-/);
  t.equal(fs.readFileSync(path.join(String(moved.moved_to), 'checkpoint.json'), 'utf8').slice(0, 10), '{"format":');
  await master.waitFor('register');
  t.equal(master.received.filter((m) => m.type === 'reregister').length, 0, 'registers afresh');
  await s.log.waitFor('registered');
  // The id is written right after registration, without blocking the slave: wait for the write.
  const cp = await waitFor(() => {
    const read = peekCheckpoint(workDir);
    return read.found && read.ok && read.checkpoint.agent_id === s.slave.agentId() ? read : undefined;
  }, { timeoutMs: 10_000, what: 'the checkpoint with the new agent id' });
  t.ok(cp.found && cp.ok && cp.checkpoint.agent_id === s.slave.agentId(), 'a new checkpoint holds the new id');
});

t.test('a checkpoint from another boot: the slave starts as a new agent and says the host rebooted', async (t) => {
  const master = await FakeMaster.start();
  const workDir = tempWorkDir();
  writeCheckpoint(workDir, {
    format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, boot_id: 'some-other-boot', agent_id: 'old-agent-S9',
    port: 1, endpoint: '127.0.0.1:1', written_at: 0, frameworks: [], status_updates: [],
  });
  const s = await startTestSlave(master, { workDir });
  t.teardown(async () => { await s.slave.close(); await master.close(); });
  const warned = await s.log.waitFor('not recovering the previous run; starting as a new agent');
  t.match(String(warned.reason), /the host rebooted/);
  await master.waitFor('register');
  const registered = await s.log.waitFor('registered');
  t.not(registered.agent_id, 'old-agent-S9');
  t.equal(master.received.filter((m) => m.type === 'reregister').length, 0);
});

t.test('cleanupOnExit leaves no checkpoint to recover', async (t) => {
  const master = await FakeMaster.start();
  const workDir = tempWorkDir();
  const s = await startTestSlave(master, { workDir, cleanupOnExit: true });
  t.teardown(() => master.close());
  await s.log.waitFor('registered');
  t.ok(fs.existsSync(checkpointPath(workDir)), 'a running slave keeps a checkpoint');
  await s.slave.close();
  t.notOk(fs.existsSync(checkpointPath(workDir)), 'removed after killing everything');
  t.notOk(fs.existsSync(journalPath(workDir)), 'its journal too');
});

t.test('--recover=cleanup kills the executors of the previous run and starts a new agent', async (t) => {
  const { master, workDir, first, later } = await recoveryRig(t);
  const { agentId, taskPid } = await runSleepingTask(master, first, 'victim-1');
  await first.slave.close();

  const from = master.received.length;
  const second = (later.slave = await startTestSlave(master, { workDir, cleanupOnExit: true, recover: 'cleanup' }));
  const why = await second.log.waitFor('not recovering a previous run; starting as a new agent');
  t.match(String(why.reason), /--recover=cleanup/);
  await second.log.waitFor('killing an executor of the previous run');
  await waitGone(taskPid, 'the task of the previous run to be killed');
  t.notOk(alive(taskPid));
  await master.waitFor('register', () => true, { from });
  t.equal(master.received.slice(from).filter((m) => m.type === 'reregister').length, 0, 'registers as a new agent');
});

t.test('finished work leaves the checkpoint: it holds only what runs', async (t) => {
  const master = await FakeMaster.start({ autoAck: true });
  const workDir = tempWorkDir();
  const s = await startTestSlave(master, { workDir });
  t.teardown(async () => { await s.slave.close(); await master.close(); });
  const agentId = String((await s.log.waitFor('registered')).agent_id);
  const frameworks = (): string[] => {
    const cp = peekCheckpoint(workDir);
    return cp.found && cp.ok ? cp.checkpoint.frameworks.map((f) => f.info.id?.value ?? '?') : ['unreadable'];
  };
  master.send({ type: 'run_task', framework: FRAMEWORK, task: commandTask('short-1', agentId, 'echo hi') });
  await master.waitFor('status_update', (m) => m.update.status.task_id.value === 'short-1' && m.update.status.state === 'TASK_FINISHED');
  // Acknowledged, the idle command executor is shut down and exits; the framework goes with it.
  await master.waitFor('executor_exited', (m) => m.framework_id.value === 'fw-1');
  await waitFor(() => frameworks().length === 0, { timeoutMs: 15_000, what: 'the checkpoint to drop the framework' });
  t.same(frameworks(), []);
  const cp = peekCheckpoint(workDir);
  t.same(cp.found && cp.ok ? cp.checkpoint.status_updates : ['?'], [], 'no update stream left');

  const fw2 = { ...FRAMEWORK, id: { value: 'fw-2' } };
  master.send({ type: 'run_task', framework: fw2, task: commandTask('long-2', agentId, 'exec sleep 100') });
  await master.waitFor('status_update', (m) => m.update.status.task_id.value === 'long-2' && m.update.status.state === 'TASK_RUNNING');
  await waitFor(() => frameworks().includes('fw-2'), { timeoutMs: 15_000, what: 'the checkpoint to hold fw-2' });
  master.send({ type: 'shutdown_framework', framework_id: { value: 'fw-2' } });
  await master.waitFor('executor_exited', (m) => m.framework_id.value === 'fw-2');
  await waitFor(() => frameworks().length === 0, { timeoutMs: 15_000, what: 'the checkpoint to drop the shut-down framework' });
  t.same(frameworks(), [], 'a shut-down framework leaves the checkpoint');
});

t.test('bad recovery options are refused before anything starts', async (t) => {
  const master = await FakeMaster.start();
  t.teardown(() => master.close());
  await t.rejects(startTestSlave(master, { recover: 'bogus' as 'cleanup' }), { code: 'AGORA_SLAVE_OPTIONS_INVALID', message: /recover must be reconnect or cleanup/ });
  await t.rejects(startTestSlave(master, { executorReregistrationTimeoutMs: -1 }), { code: 'AGORA_SLAVE_OPTIONS_INVALID', message: /executorReregistrationTimeoutMs/ });
});
