/**
 * Highly available masters on real processes and a real ZooKeeper: three `agora master
 * --zk` processes elect one leader; standbys redirect; SIGKILL of the leader → a standby
 * leads; a leader frozen past its session timeout steps down and exits 1 when it wakes up.
 * With slaves and an SDK framework given `zk://` (leader detection: helper Z3's part), the
 * slaves re-register with their ids, the framework re-subscribes with its id and the same
 * task processes keep running with no task reported lost.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { isAlive } from '../../bin/process-sweep.js';
import type { Offer, Resource, TaskInfo } from '../../sdk/protocol/index.js';
import { commandTask, matchResources, remainingResources } from '../../sdk/scheduler/index.js';
import { spawnAgora, type AgoraProcess, type Teardownable } from '../helpers/agora-process.js';
import { defaultSlaveResources, tempWorkDir } from '../helpers/cluster.js';
import { TestFramework } from '../helpers/framework.js';
import { getJson } from '../helpers/http.js';
import { waitForSandboxOutput } from '../helpers/sandbox.js';
import { waitFor } from '../helpers/wait.js';
import { startZooKeeper, type TestZooKeeper } from '../helpers/zookeeper.js';

/** Bound on anything the cluster should do promptly (a failure limit, not a timing assertion). */
const SOON = 30_000;
const LOOPBACK = ['--bind', '127.0.0.1', '--ip', '127.0.0.1', '--hostname', '127.0.0.1'];

interface Masters {
  procs: AgoraProcess[];
  ports: number[];
}

async function startMasters(t: Teardownable, zk: TestZooKeeper, zkPath: string, n = 3): Promise<Masters> {
  const dir = tempWorkDir(t, 'agora-ha-');
  const procs = Array.from({ length: n }, (_, i) => spawnAgora([
    'master', '--port', '0', '--work-dir', path.join(dir, `master-${i}`), '--zk', zk.url(zkPath),
    '--zk-session-timeout', '4secs', ...LOOPBACK,
  ], { name: `master-${i}` }));
  t.teardown(async () => {
    if (t.passing && !t.passing()) for (const p of procs) t.comment?.(p.tail(30));
    await Promise.all(procs.map((p) => p.stop(10_000)));
  });
  const ports = await Promise.all(procs.map((p) => p.waitListening(SOON)));
  return { procs, ports };
}

/** `Location` of a GET without following it (undefined unless 307). */
async function locationOf(port: number, urlPath: string): Promise<string | undefined> {
  const res = await fetch(`http://127.0.0.1:${port}${urlPath}`, { redirect: 'manual', signal: AbortSignal.timeout(5000) });
  await res.arrayBuffer();
  return res.status === 307 ? res.headers.get('location') ?? undefined : undefined;
}

/** The leader's port once every live master agrees on it and it serves its state. */
async function leaderPort(m: Masters): Promise<number> {
  return waitFor(async () => {
    const live = m.ports.filter((_, i) => m.procs[i]!.running);
    const seen = new Set<string | undefined>();
    for (const port of live) seen.add(await locationOf(port, '/master/redirect'));
    if (seen.size !== 1) return undefined;
    const loc = [...seen][0];
    const port = Number(/^\/\/127\.0\.0\.1:(\d+)$/.exec(loc ?? '')?.[1]);
    if (!live.includes(port)) return undefined;
    const state = await fetch(`http://127.0.0.1:${port}/master/state`, { redirect: 'manual', signal: AbortSignal.timeout(5000) });
    await state.arrayBuffer();
    return state.status === 200 ? port : undefined;
  }, { timeoutMs: SOON, what: 'the masters to agree on a serving leader', intervalMs: 200 });
}

t.test('three masters: one leads, standbys redirect, SIGKILL → a standby leads', async (t) => {
  const zk = await startZooKeeper(t);
  const m = await startMasters(t, zk, '/agora');
  const leader = await leaderPort(m);
  const standbys = m.ports.filter((p) => p !== leader);
  for (const port of standbys) {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/scheduler`, {
      method: 'POST', redirect: 'manual', headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ type: 'SUBSCRIBE', subscribe: { framework_info: { user: 'u', name: 'n' } } }),
    });
    await res.arrayBuffer();
    t.equal(res.status, 307, `standby ${port}: scheduler API → 307`);
    t.equal(res.headers.get('location'), `//127.0.0.1:${leader}/api/v1/scheduler`);
    t.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 200);
  }
  const zkNodes = await getJson(`http://127.0.0.1:${leader}/master/state`);
  t.equal(zkNodes.body.leader_info.port, leader);

  m.procs[m.ports.indexOf(leader)]!.signal('SIGKILL');
  const next = await leaderPort(m);
  t.not(next, leader, 'a standby leads after the leader was SIGKILLed');
  t.ok(standbys.includes(next));
});

t.test('a leader frozen past its session timeout steps down and exits 1', async (t) => {
  const zk = await startZooKeeper(t);
  const m = await startMasters(t, zk, '/frozen', 2);
  const leader = await leaderPort(m);
  const proc = m.procs[m.ports.indexOf(leader)]!;
  proc.signal('SIGSTOP');
  t.teardown(() => { if (proc.running) proc.signal('SIGCONT'); });
  const other = m.ports.find((p) => p !== leader)!;
  await waitFor(async () => (await locationOf(other, '/master/redirect')) === `//127.0.0.1:${other}`, { timeoutMs: SOON, what: 'the standby to lead', intervalMs: 200 });
  proc.signal('SIGCONT');
  const exit = await proc.waitForExit(SOON);
  t.equal(exit.code, 1, 'the old leader exits 1');
  t.ok(proc.logs.filter((l) => typeof l.msg === 'string' && /lost leadership/.test(l.msg)).length > 0, 'with a clear log line');
});

const SMALL = { cpus: 0.1, mem: 32 };
function sleeperTasks(offer: Offer, taskIds: string[]): TaskInfo[] {
  let left: Resource[] = offer.resources ?? [];
  return taskIds.map((taskId) => {
    const resources = matchResources(left, SMALL);
    if (!resources) throw new Error(`offer ${offer.id.value} too small`);
    left = remainingResources(left, resources);
    return commandTask({ taskId, agentId: offer.agent_id.value, command: 'echo $$; exec sleep 600', resources });
  });
}

t.test('slaves and an SDK framework follow the leader through a SIGKILL', async (t) => {
  const zk = await startZooKeeper(t);
  const zkUrl = zk.url('/follow');
  const m = await startMasters(t, zk, '/follow');
  const first = await leaderPort(m);
  const dir = tempWorkDir(t, 'agora-ha-slaves-');
  const slaves = [0, 1].map((i) => spawnAgora([
    'slave', '--master', zkUrl, '--port', '0', '--work-dir', path.join(dir, `slave-${i}`),
    '--resources', defaultSlaveResources(i), '--cleanup-on-exit', ...LOOPBACK,
  ], { name: `slave-${i}` }));
  t.teardown(async () => {
    if (!t.passing()) for (const s of slaves) t.comment(s.tail(30));
    await Promise.all(slaves.map((s) => s.stop(20_000)));
  });
  const slavePorts = await Promise.all(slaves.map((s) => s.waitListening(SOON)));
  const agentIds = await Promise.all(slaves.map(async (s) => (await s.waitForLog((l) => l.msg === 'registered' && typeof l.agent_id === 'string', SOON, 'registered')).agent_id as string));

  const f = await TestFramework.start(t, zkUrl, { info: { failover_timeout: 300 } });
  const fwId = f.id;
  const pids = new Map<string, number>();
  // A task that finishes when told to: told right after the leader dies, so its
  // TASK_FINISHED happens during the failover and must still reach the framework.
  const goFile = path.join(dir, 'go');
  let waiter: TaskInfo | undefined;
  for (const [i, agentId] of agentIds.entries()) {
    const offer = await f.offerFrom(agentId, SOON);
    f.used(offer.id.value);
    const taskId = `sleeper-${i}`;
    const tasks = sleeperTasks(offer, i === 0 ? [taskId, 'waiter'] : [taskId]);
    if (i === 0) {
      waiter = { ...tasks[1]!, command: { shell: true, value: `while [ ! -f ${goFile} ]; do sleep 0.05; done; exit 0` } };
      tasks[1] = waiter;
    }
    await f.scheduler.launch([offer.id.value], tasks);
    await f.waitForState(taskId, 'TASK_RUNNING', SOON);
    const out = await waitForSandboxOutput(`http://127.0.0.1:${slavePorts[i]}`, fwId, taskId, (s) => /^\d+\n/.test(s), { timeoutMs: SOON });
    pids.set(taskId, Number(out.trim()));
  }

  await f.waitForState('waiter', 'TASK_RUNNING', SOON);
  m.procs[m.ports.indexOf(first)]!.signal('SIGKILL');
  fs.writeFileSync(goFile, '');
  const next = await leaderPort(m);
  t.not(next, first);
  await waitFor(async () => {
    const { body } = await getJson(`http://127.0.0.1:${next}/master/slaves`);
    const active = (body.slaves as Array<{ id: string; active: boolean }>).filter((s) => s.active).map((s) => s.id).sort();
    return JSON.stringify(active) === JSON.stringify([...agentIds].sort());
  }, { timeoutMs: SOON, what: 'both slaves re-registered with their ids' });
  await waitFor(async () => {
    const { body } = await getJson(`http://127.0.0.1:${next}/master/frameworks`);
    return (body.frameworks as Array<{ id: string; active: boolean }>).some((fw) => fw.id === fwId && fw.active);
  }, { timeoutMs: SOON, what: 'the framework re-subscribed with its id' });
  await f.waitForState('waiter', 'TASK_FINISHED', SOON);
  t.ok(waiter, 'the waiter task was launched');
  t.same(f.statesOf('waiter').filter((s) => s === 'TASK_LOST' || s === 'TASK_UNREACHABLE'), [], 'the update from the failover window arrived, nothing reported lost');
  const { body } = await getJson(`http://127.0.0.1:${next}/master/tasks`);
  const states = new Map((body.tasks as Array<{ id: string; state: string }>).map((task) => [task.id, task.state]));
  for (const [taskId, pid] of pids) {
    t.equal(states.get(taskId), 'TASK_RUNNING', `${taskId} still running on the new leader`);
    t.ok(isAlive(pid), `${taskId}'s process ${pid} survived the failover`);
    t.same(f.statesOf(taskId).filter((s) => s !== 'TASK_RUNNING' && s !== 'TASK_STARTING' && s !== 'TASK_STAGING'), [], `no ${taskId} reported lost`);
  }
});
