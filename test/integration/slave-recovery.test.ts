/**
 * Slave recovery on real processes: an `agora master`, `agora slave` processes on
 * 127.0.0.1 (OS-picked ports), an SDK framework in this test process, real tasks. A slave
 * is SIGKILLed and started again on the same work dir: it recovers its id, its port and
 * its executors; a task that finished meanwhile has its TASK_FINISHED delivered. A
 * tampered boot id makes a new agent. Executors whose slave never comes back kill their
 * tasks and exit after MESOS_RECOVERY_TIMEOUT.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { Offer, TaskState } from '../../sdk/protocol/index.js';
import { commandTask, matchResources } from '../../sdk/scheduler/index.js';
import { checkpointPath, readCheckpoint } from '../../slave/checkpoint-store.js';
import { readProcessIdentity } from '../../slave/process-tree.js';
import { spawnAgora, type AgoraProcess } from '../helpers/agora-process.js';
import { cluster } from '../helpers/cluster.js';
import { TestFramework } from '../helpers/framework.js';
import { waitFor } from '../helpers/wait.js';

/** Bound on anything the cluster should do promptly (a generous failure limit, not a timing assertion). */
const SOON = 30_000;
const BAD: TaskState[] = ['TASK_LOST', 'TASK_FAILED', 'TASK_GONE', 'TASK_DROPPED', 'TASK_UNREACHABLE'];

/** Alive and not a zombie (tasks re-parented to a non-reaping init linger as zombies). */
const alive = (pid: number): boolean => {
  const id = readProcessIdentity(pid);
  return id !== undefined && id.state !== 'Z' && id.state !== 'X';
};

const readPid = (file: string): Promise<number> => waitFor(() => {
  const n = Number(fs.readFileSync(file, 'utf8').trim());
  return n > 1 ? n : undefined;
}, { timeoutMs: SOON, what: `pid in ${file}` });

t.test('slave recovery', async (t) => {
  const c = await cluster(t, { slaves: 0 });
  const f = await TestFramework.start(t, c.masterAddress, { info: { name: 'recovery' } });
  const pids = path.join(c.workDir, 'pids');
  fs.mkdirSync(pids);

  const startSlave = async (name: string, dir: string, extra: string[] = []): Promise<{ proc: AgoraProcess; port: number; registered: Record<string, unknown> }> => {
    const proc = spawnAgora([
      'slave', '--master', c.masterAddress, '--port', '0', '--work-dir', dir,
      '--resources', 'cpus:2;mem:1024;disk:1000;ports:[31000-31099]',
      '--bind', '127.0.0.1', '--ip', '127.0.0.1', '--hostname', '127.0.0.1', ...extra,
    ], { t, name });
    const port = await proc.waitListening(SOON);
    const registered = await proc.waitForLog((l) => l.msg === 'registered', SOON, 'registered');
    return { proc, port, registered };
  };
  const kill9 = async (p: AgoraProcess): Promise<void> => {
    p.signal('SIGKILL');
    await p.waitForExit(SOON);
  };
  const launch = async (agentId: string, tasks: Array<{ taskId: string; command: string }>): Promise<void> => {
    const offer: Offer = await f.offerFrom(agentId, SOON);
    f.used(offer.id.value);
    const infos = tasks.map((x) => commandTask({ taskId: x.taskId, agentId, command: x.command, resources: matchResources(offer.resources ?? [], { cpus: 0.1, mem: 32 })! }));
    await f.scheduler.launch([offer.id.value], infos, { refuse_seconds: 0 });
    for (const x of tasks) await f.waitForState(x.taskId, 'TASK_RUNNING', SOON);
  };

  t.test('a SIGKILLed slave restarted on its work dir keeps its id, port and tasks; a task that ended meanwhile is reported', async (t) => {
    const dir = path.join(c.workDir, 'slave-a');
    const first = await startSlave('slave-a', dir, ['--recovery-timeout', '2mins']);
    const agentId = String(first.registered.agent_id);
    const release = path.join(pids, 'release');
    await launch(agentId, [
      { taskId: 'long', command: `echo $$ > ${pids}/long; exec sleep 100` },
      { taskId: 'short', command: `echo $$ > ${pids}/short; while [ ! -e ${release} ]; do sleep 0.1; done` },
    ]);
    const longPid = await readPid(path.join(pids, 'long'));
    const shortPid = await readPid(path.join(pids, 'short'));

    await kill9(first.proc);
    // The short task ends while no slave runs: its executor keeps the TASK_FINISHED.
    fs.writeFileSync(release, '');
    await waitFor(() => !alive(shortPid), { timeoutMs: SOON, what: 'the short task to end' });
    t.notOk(f.statesOf('short').includes('TASK_FINISHED'), 'nobody could report it yet');

    const second = await startSlave('slave-a-again', dir, ['--recovery-timeout', '2mins', '--cleanup-on-exit']);
    t.equal(second.port, first.port, 'the checkpointed port is reused');
    t.equal(second.registered.agent_id, agentId, 'the same agent id');
    t.equal(second.registered.reregistered, true, 're-registered');
    await second.proc.waitForLog((l) => l.msg === 'recovered the previous run from the checkpoint' && l.live_executors === 1, SOON, 'recovered');
    await second.proc.waitForLog((l) => l.msg === 'executor subscribed', SOON, 'the executor re-subscribed');
    await f.waitForState('short', 'TASK_FINISHED', SOON);
    t.ok(alive(longPid), 'the long task runs on, same process');
    t.same(f.statesOf('long').filter((s) => BAD.includes(s)), [], 'the framework saw no TASK_LOST/FAILED for the long task');
    t.same(f.statesOf('short').filter((s) => BAD.includes(s)), [], '…nor for the short one');

    // The recovered executor still obeys the framework.
    await f.scheduler.kill('long', agentId);
    await f.waitForState('long', 'TASK_KILLED', SOON);
    await waitFor(() => !alive(longPid), { timeoutMs: SOON, what: 'the long task to be killed' });
  });

  t.test('a checkpoint from another boot: a new agent, and the log says why', async (t) => {
    const dir = path.join(c.workDir, 'slave-b');
    const first = await startSlave('slave-b', dir);
    await kill9(first.proc);
    const cp = JSON.parse(fs.readFileSync(checkpointPath(dir), 'utf8')) as { boot_id: string };
    cp.boot_id = 'a-boot-long-ago';
    fs.writeFileSync(checkpointPath(dir), JSON.stringify(cp));
    const second = await startSlave('slave-b-again', dir, ['--cleanup-on-exit']);
    const why = await second.proc.waitForLog((l) => l.msg === 'not recovering the previous run; starting as a new agent', SOON, 'why');
    t.match(String(why.reason), /the host rebooted/);
    t.not(second.registered.agent_id, first.registered.agent_id, 'a new agent id');
    t.equal(second.registered.reregistered, false);
  });

  t.test('executors whose slave never comes back kill their tasks and exit after the recovery timeout', async (t) => {
    const dir = path.join(c.workDir, 'slave-c');
    const first = await startSlave('slave-c', dir, ['--recovery-timeout', '3secs']);
    await launch(String(first.registered.agent_id), [{ taskId: 'orphan', command: `echo $$ > ${pids}/orphan; exec sleep 100` }]);
    const taskPid = await readPid(path.join(pids, 'orphan'));
    const cp = readCheckpoint(dir);
    const executorPid = cp.found && cp.ok ? cp.checkpoint.frameworks[0]?.executors[0]?.pid : undefined;
    t.ok(executorPid !== undefined && alive(executorPid), 'the executor pid is checkpointed');
    await kill9(first.proc);
    await waitFor(() => !alive(taskPid) && !alive(executorPid!), { timeoutMs: SOON, what: 'the executor and its task to give up' });
    t.pass('the task and its executor are gone');
  });
});
