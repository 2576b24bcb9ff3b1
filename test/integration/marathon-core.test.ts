/**
 * `agora marathon` as a real process next to a real master and two slaves: an app POSTed
 * over HTTP comes up; Marathon SIGKILLed and restarted on the same work dir loses no app
 * and starts no duplicate task; a SIGTERMed Marathon leaves its tasks running.
 */
import path from 'node:path';
import t from 'tap';
import { startAgora, type AgoraProcess } from '../helpers/agora-process.js';
import { cluster, tempWorkDir, type Cluster } from '../helpers/cluster.js';
import { getJson, postJson } from '../helpers/http.js';
import { waitFor } from '../helpers/wait.js';

const SOON = 60_000;

function startMarathonProcess(t: Parameters<typeof cluster>[0], c: Cluster, workDir: string): Promise<AgoraProcess> {
  return startAgora([
    'marathon', '--master', c.masterAddress, '--port', '0', '--work-dir', workDir, '--bind', '127.0.0.1', '--hostname', '127.0.0.1',
  ], { t, name: 'marathon' });
}

async function runningTaskIds(url: string, appId: string): Promise<string[]> {
  const r = await getJson(`${url}/v2/apps${appId}/tasks`);
  return (r.body.tasks as Array<{ id: string; state: string }>).filter((x) => x.state === 'TASK_RUNNING').map((x) => x.id).sort();
}

async function masterRunning(c: Cluster, frameworkId: string): Promise<string[]> {
  const tasks = (await getJson(`${c.masterUrl}/master/tasks`)).body.tasks as Array<{ id: string; state: string; framework_id: string }>;
  return tasks.filter((x) => x.framework_id === frameworkId && ['TASK_STAGING', 'TASK_STARTING', 'TASK_RUNNING'].includes(x.state)).map((x) => x.id).sort();
}

/** Waits until /v2/deployments is empty (bounded polling of a REST endpoint). */
async function deploymentsDone(url: string): Promise<void> {
  await waitFor(async () => ((await getJson(`${url}/v2/deployments`)).body as unknown[]).length === 0, { timeoutMs: SOON, what: 'deployments to finish', intervalMs: 200 });
}

t.test('agora marathon: SIGKILL and restart loses no app and duplicates no task', async (t) => {
  const c = await cluster(t, { slaves: 2 });
  const workDir = path.join(tempWorkDir(t, 'marathon-'), 'marathon');
  const first = await startMarathonProcess(t, c, workDir);
  const subscribed = await first.waitForLog((l) => l.msg === 'subscribed' && typeof l.framework_id === 'string', SOON, 'subscribed');
  const frameworkId = subscribed.framework_id as string;
  const url = `http://127.0.0.1:${first.port}`;

  const created = await postJson(`${url}/v2/apps`, { id: '/sleeper', cmd: 'exec sleep 3600', instances: 3, cpus: 0.1, mem: 16 });
  t.equal(created.status, 201, 'POST /v2/apps → 201');
  await deploymentsDone(url);
  const ids = await runningTaskIds(url, '/sleeper');
  t.equal(ids.length, 3, '3 tasks Running');
  t.same(await masterRunning(c, frameworkId), ids, 'the master runs exactly those');

  first.signal('SIGKILL');
  await first.waitForExit(SOON);
  t.same(await masterRunning(c, frameworkId), ids, 'SIGKILL of Marathon kills no task');

  const second = await startMarathonProcess(t, c, workDir);
  const again = await second.waitForLog((l) => l.msg === 'subscribed' && typeof l.framework_id === 'string', SOON, 'subscribed again');
  t.equal(again.framework_id, frameworkId, 'same framework id');
  const url2 = `http://127.0.0.1:${second.port}`;
  const app = await getJson(`${url2}/v2/apps/sleeper`);
  t.equal(app.status, 200, 'the app survived');
  t.equal(app.body.app.instances, 3);
  // A deployment after the restart: once it is done, reconciliation and the engine's ticks have run.
  t.equal((await postJson(`${url2}/v2/apps`, { id: '/barrier', cmd: 'exec sleep 3600', instances: 1, cpus: 0.1, mem: 16 })).status, 201);
  await deploymentsDone(url2);
  await waitFor(async () => (await runningTaskIds(url2, '/sleeper')).length === 3, { timeoutMs: SOON, what: 'reconciled tasks', intervalMs: 200 });
  t.same(await runningTaskIds(url2, '/sleeper'), ids, 'the same 3 tasks');
  t.same((await masterRunning(c, frameworkId)).filter((id) => id.startsWith('sleeper.')), ids, 'no duplicate task on the master');

  await second.stop(SOON);
  t.same((await masterRunning(c, frameworkId)).filter((id) => id.startsWith('sleeper.')), ids, 'SIGTERM of Marathon kills no task');
});
