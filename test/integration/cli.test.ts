/**
 * The `agora` command line, run as users run it: `node dist/bin/agora.js …`.
 */
import t from 'tap';
import path from 'node:path';
import { isAlive } from '../../bin/process-sweep.js';
import { spawnAgora } from '../helpers/agora-process.js';
import { cluster, tempWorkDir } from '../helpers/cluster.js';
import { getJson } from '../helpers/http.js';
import { waitFor } from '../helpers/wait.js';

const SOON = 60_000;

t.test('agora --help lists the subcommands', async (t) => {
  const p = spawnAgora(['--help'], { t });
  const { code } = await p.waitForExit(SOON);
  t.equal(code, 0);
  for (const cmd of ['master', 'slave', 'local', 'run', 'version']) t.match(p.stdout, new RegExp(`^\\s+${cmd}\\b`, 'm'), `lists ${cmd}`);
});

t.test('agora version prints the package version', async (t) => {
  const p = spawnAgora(['version'], { t });
  const { code } = await p.waitForExit(SOON);
  t.equal(code, 0);
  t.match(p.stdout, /^agora \d+\.\d+\.\d+/);
});

t.test('bad flags are refused with a clear message', async (t) => {
  const dir = tempWorkDir(t);
  const zk = spawnAgora(['master', '--zk', 'zk://127.0.0.1:2181/a//b', '--work-dir', dir], { t });
  t.equal((await zk.waitForExit(SOON)).code, 1, 'a bad --zk URL exits 1');
  t.match(zk.stderr, /invalid ZooKeeper URL/);
  const dur = spawnAgora(['master', '--port', '0', '--agent-ping-timeout', 'soon', '--work-dir', dir], { t });
  t.not((await dur.waitForExit(SOON)).code, 0, 'a bad duration is refused');
  t.match(dur.stderr, /invalid duration "soon"/);
  const launcher = spawnAgora(['slave', '--master', '127.0.0.1:1', '--port', '0', '--work-dir', dir], { t, env: { AGORA_TASK_LAUNCHER: 'fork' } });
  t.equal((await launcher.waitForExit(SOON)).code, 1, 'a bad AGORA_TASK_LAUNCHER stops the slave before it starts');
  t.match(launcher.stderr, /AGORA_TASK_LAUNCHER must be native, perl or node, got "fork"/);
});

t.test('slave executor timeouts are flags, shown in /state like Mesos\'s', async (t) => {
  const c = await cluster(t, { slaves: 1, slaveArgs: ['--executor-registration-timeout', '7secs', '--executor-idle-timeout', '0secs', '--executor-shutdown-grace', '3secs'] });
  const { body } = await getJson(`${c.slaves[0]!.url}/state`);
  t.equal(body.flags.executor_registration_timeout, '7secs');
  t.equal(body.flags.executor_idle_timeout, '0secs');
  t.equal(body.flags.executor_shutdown_grace_period, '3secs');
  const bad = spawnAgora(['slave', '--master', c.masterAddress, '--work-dir', tempWorkDir(t), '--executor-idle-timeout', 'later'], { t });
  t.not((await bad.waitForExit(SOON)).code, 0, 'a bad duration is refused');
  t.match(bad.stderr, /invalid duration "later"/);
});

t.test('agora run against a cluster', async (t) => {
  const c = await cluster(t, { slaves: 1 });

  t.test('run -- echo hello prints hello and exits 0', async (t) => {
    const p = spawnAgora(['run', '--master', c.masterAddress, '--', 'echo', 'hello'], { t });
    const { code } = await p.waitForExit(SOON);
    t.equal(code, 0, 'exits 0', { output: p.tail() });
    t.equal(p.stdout, 'hello\n', 'prints the task\'s stdout, and nothing else');
  });

  t.test('the task\'s stderr goes to stderr, --env reaches the task', async (t) => {
    const p = spawnAgora(['run', '--master', c.masterAddress, '--env', 'GREETING=bonjour', '--', 'echo "$GREETING"; echo oops >&2'], { t });
    const { code } = await p.waitForExit(SOON);
    t.equal(code, 0, 'exits 0', { output: p.tail() });
    t.equal(p.stdout, 'bonjour\n');
    t.match(p.stderr, /^oops$/m);
  });

  t.test('run -- sh -c \'exit 3\' exits 3', async (t) => {
    const p = spawnAgora(['run', '--master', c.masterAddress, '--', 'sh', '-c', 'exit 3'], { t });
    const { code } = await p.waitForExit(SOON);
    t.equal(code, 3, 'exits 3', { output: p.tail() });
  });

  t.test('a task that cannot fit times out with 124', async (t) => {
    const p = spawnAgora(['run', '--master', c.masterAddress, '--cpus', '1000', '--timeout', '1s', '--', 'true'], { t });
    const { code } = await p.waitForExit(SOON);
    t.equal(code, 124, 'exits 124', { output: p.tail() });
    t.match(p.stderr, /timed out/);
  });
});

t.test('agora local starts a master and slaves as processes and Ctrl-C stops them all', async (t) => {
  const dir = tempWorkDir(t);
  const local = spawnAgora(['local', '--master-port', '0', '--slaves', '2', '--work-dir', path.join(dir, 'cluster')], { t });
  await local.waitForLine(/Press Ctrl-C to stop/, SOON, 'the ready banner');
  const masterLine = /^\s+master\s+(http:\/\/127\.0\.0\.1:(\d+))\s+pid (\d+)/m.exec(local.stdout);
  t.ok(masterLine, 'prints the master URL and pid');
  const slaveLines = [...local.stdout.matchAll(/^\s+slave-\d+\s+(http:\/\/127\.0\.0\.1:\d+)\s+pid (\d+)\s+agent (\S+)/gm)];
  t.equal(slaveLines.length, 2, 'prints each slave\'s URL, pid and agent id');
  t.match(local.stdout, /npx agora run --master 127\.0\.0\.1:\d+ -- echo hello/, 'prints the hint');
  t.match(local.stdout, new RegExp(`logs in ${path.join(dir, 'cluster', 'logs').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), 'says where the logs are');
  const masterUrl = masterLine![1]!;
  const pids = [Number(masterLine![3]), ...slaveLines.map((m) => Number(m[2]))];
  t.equal(new Set(pids).size, 3, 'three distinct processes');
  t.ok(!pids.includes(local.pid), 'none of them is agora local itself');

  const { body } = await getJson(`${masterUrl}/master/state-summary`);
  t.equal((body.slaves as Array<{ active: boolean }>).filter((s) => s.active).length, 2, 'the master reports 2 active slaves');
  t.same(new Set((body.slaves as Array<{ id: string }>).map((s) => s.id)), new Set(slaveLines.map((m) => m[3])), 'with the agent ids printed');
  for (const m of slaveLines) {
    const state = await getJson(`${m[1]}/state`);
    t.equal(state.status, 200, `slave ${m[1]} serves /state`);
  }

  // A long task, so that stopping must also kill an executor and its task.
  const run = spawnAgora(['run', '--master', masterUrl.replace('http://', ''), '--', 'echo $$; exec sleep 120'], { t });
  const taskPid = Number(await run.waitForLine(/^\d+$/, SOON, 'the task\'s PID'));
  t.ok(isAlive(taskPid), `the task runs (pid ${taskPid})`);

  local.signal('SIGINT');
  const { code } = await local.waitForExit(SOON);
  t.equal(code, 0, 'agora local exits 0 after Ctrl-C');
  for (const pid of pids) t.notOk(isAlive(pid), `${pid === pids[0] ? 'master' : 'slave'} process ${pid} is gone`);
  t.notOk(isAlive(taskPid), `task process ${taskPid} is gone`);
});

t.test('agora local reports a child that dies and exits non-zero', async (t) => {
  const dir = tempWorkDir(t);
  const local = spawnAgora(['local', '--master-port', '0', '--slaves', '1', '--work-dir', dir], { t });
  await local.waitForLine(/Press Ctrl-C to stop/, SOON, 'the ready banner');
  const slavePid = Number(/^\s+slave-0\s+\S+\s+pid (\d+)/m.exec(local.stdout)![1]);
  const masterPid = Number(/^\s+master\s+\S+\s+pid (\d+)/m.exec(local.stdout)![1]);
  process.kill(slavePid, 'SIGKILL');
  const { code } = await local.waitForExit(SOON);
  t.not(code, 0, 'exits non-zero');
  t.match(local.stderr, /slave-0 \(pid \d+\) exited unexpectedly/, 'names the child that died');
  await waitFor(() => !isAlive(masterPid), { timeoutMs: SOON, what: 'the master to be stopped' });
  t.pass('the rest was stopped');
});
