/**
 * Marathon HA with real processes: a ZooKeeper server, a master, two slaves and two
 * `agora marathon --zk …` processes. The leading Marathon is SIGKILLed right after it
 * accepted a scale-up (the deployment is in ZooKeeper, some tasks may be launching): the
 * standby takes over once the dead leader's session expires, subscribes as the same
 * framework, finishes the deployment, and the instance count is exact — in Marathon and on
 * the master (no duplicate, no loss). The old tasks are still the same. And Marathon finds
 * the master through ZooKeeper too (`--master zk://…/agora`, masters run with `--zk`).
 */
import path from 'node:path';
import t from 'tap';
import { startAgora, type AgoraProcess } from '../helpers/agora-process.js';
import { cluster, tempWorkDir, type Cluster } from '../helpers/cluster.js';
import { getJson, postJson } from '../helpers/http.js';
import { waitFor } from '../helpers/wait.js';
import { startZooKeeper } from '../helpers/zookeeper.js';

const SOON = 60_000;

function startHaMarathon(t: Parameters<typeof cluster>[0], c: Cluster, zkUrl: string, workDir: string, name: string, master = c.masterAddress): Promise<AgoraProcess> {
  return startAgora([
    'marathon', '--master', master, '--zk', zkUrl, '--zk-session-timeout', '4secs', '--port', '0', '--work-dir', workDir,
    '--bind', '127.0.0.1', '--hostname', '127.0.0.1',
  ], { t, name });
}

async function runningTaskIds(url: string, appId: string): Promise<string[]> {
  const r = await getJson(`${url}/v2/apps${appId}/tasks`);
  return (r.body.tasks as Array<{ id: string; state: string }>).filter((x) => x.state === 'TASK_RUNNING').map((x) => x.id).sort();
}

async function masterLive(c: Cluster, frameworkId: string, prefix: string): Promise<string[]> {
  const tasks = (await getJson(`${c.masterUrl}/master/tasks`)).body.tasks as Array<{ id: string; state: string; framework_id: string }>;
  return tasks
    .filter((x) => x.framework_id === frameworkId && x.id.startsWith(prefix) && ['TASK_STAGING', 'TASK_STARTING', 'TASK_RUNNING'].includes(x.state))
    .map((x) => x.id)
    .sort();
}

/** Waits until /v2/deployments answers 200 with nothing in flight (bounded polling). */
async function deploymentsDone(url: string): Promise<void> {
  await waitFor(async () => {
    const r = await getJson(`${url}/v2/deployments`);
    return r.status === 200 && (r.body as unknown[]).length === 0;
  }, { timeoutMs: SOON, what: 'deployments to finish', intervalMs: 200 });
}

t.test('agora marathon --zk: SIGKILL of the leader while an app scales → the standby finishes with the exact count', async (t) => {
  const zk = await startZooKeeper(t);
  const c = await cluster(t, { slaves: 2 });
  const dir = tempWorkDir(t, 'marathon-ha-');
  const zkUrl = zk.url('/marathon');

  const a = await startHaMarathon(t, c, zkUrl, path.join(dir, 'a'), 'marathon-a');
  await a.waitForLog((l) => l.msg === 'leading', SOON, 'the first Marathon to lead');
  const subscribed = await a.waitForLog((l) => l.msg === 'subscribed' && typeof l.framework_id === 'string', SOON, 'subscribed');
  const frameworkId = subscribed.framework_id as string;
  const b = await startHaMarathon(t, c, zkUrl, path.join(dir, 'b'), 'marathon-b');
  // A failed test gets the Marathons' last log lines.
  t.teardown(() => {
    if (!t.passing()) for (const p of [a, b]) t.comment(p.tail(60));
  });
  const urlA = `http://127.0.0.1:${a.port}`;
  const urlB = `http://127.0.0.1:${b.port}`;

  const created = await postJson(`${urlB}/v2/apps`, { id: '/scaler', cmd: 'exec sleep 3600', instances: 2, cpus: 0.1, mem: 16 });
  t.equal(created.status, 201, 'POST via the standby → 201');
  t.equal(created.headers.get('x-marathon-leader'), urlA, 'answered by the leader');
  await deploymentsDone(urlB);
  const before = await runningTaskIds(urlB, '/scaler');
  t.equal(before.length, 2, '2 tasks Running');

  const scale = await fetch(`${urlA}/v2/apps/scaler`, { method: 'PUT', body: JSON.stringify({ instances: 8 }), headers: { 'content-type': 'application/json' } });
  t.equal(scale.status, 200, 'scale-up accepted (the deployment is stored)');
  a.signal('SIGKILL');
  await a.waitForExit(SOON);

  const again = await b.waitForLog((l) => l.msg === 'subscribed' && typeof l.framework_id === 'string', SOON, 'the standby to take over');
  t.equal(again.framework_id, frameworkId, 'the same framework id');
  t.ok(b.logs.filter((l) => l.msg === 'resuming deployment').length > 0, 'the standby resumed the scale-up deployment from ZooKeeper');
  await deploymentsDone(urlB);
  await waitFor(async () => (await runningTaskIds(urlB, '/scaler')).length === 8, { timeoutMs: SOON, what: '8 running tasks', intervalMs: 200 });
  const after = await runningTaskIds(urlB, '/scaler');
  t.equal(after.length, 8, 'exactly 8 instances Running');
  t.ok(before.every((id) => after.includes(id)), 'the first 2 tasks are still the same');
  t.same(await masterLive(c, frameworkId, 'scaler.'), after, 'the master runs exactly those 8: no duplicate, no loss');
  const app = await getJson(`${urlB}/v2/apps/scaler`);
  t.equal(app.body.app.instances, 8);
  t.equal(app.headers.get('x-marathon-leader'), urlB, 'the standby now leads');

  await b.stop(SOON);
  t.equal((await masterLive(c, frameworkId, 'scaler.')).length, 8, 'stopping Marathon kills no task');
});

t.test('agora marathon --master zk://…: the framework finds the elected master through ZooKeeper', async (t) => {
  const zk = await startZooKeeper(t);
  const masters = zk.url('/agora');
  const c = await cluster(t, { slaves: 1, masterArgs: ['--zk', masters], slaveArgs: ['--master', masters] });
  const dir = tempWorkDir(t, 'marathon-ha-');
  const m = await startHaMarathon(t, c, zk.url('/marathon'), path.join(dir, 'a'), 'marathon', masters);
  t.teardown(() => {
    if (!t.passing()) t.comment(m.tail(60));
  });
  await m.waitForLog((l) => l.msg === 'subscribed' && typeof l.framework_id === 'string', SOON, 'subscribed via ZooKeeper');
  const url = `http://127.0.0.1:${m.port}`;
  t.equal((await postJson(`${url}/v2/apps`, { id: '/zk', cmd: 'exec sleep 3600', instances: 1, cpus: 0.1, mem: 16 })).status, 201);
  await deploymentsDone(url);
  t.equal((await runningTaskIds(url, '/zk')).length, 1, 'the task runs');
  t.match((await getJson(`${url}/v2/info`)).body, { marathon_config: { master: masters }, zookeeper_config: { zk: zk.url('/marathon') } });
});
