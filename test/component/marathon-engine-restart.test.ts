/**
 * Marathon restarted on the same work dir (file store) against a real cluster: it
 * resubscribes as the same framework, reloads apps, versions and unfinished deployments,
 * reconciles, and neither loses nor duplicates a task. An unfinished deployment resumes and
 * can be rolled back (DELETE /v2/deployments without force).
 */
import path from 'node:path';
import t from 'tap';
import { FileStore } from '../../frameworks/marathon/engine/file-store.js';
import type { Instance } from '../../frameworks/marathon/model/types.js';
import { cluster, tempWorkDir } from '../helpers/cluster.js';
import { getJson } from '../helpers/http.js';
import { waitFor } from '../helpers/wait.js';
import { appFrom, deployApp, running, SOON, startTestMarathon, waitDeployed } from './marathon-engine-kit.js';

t.test('restart on the same work dir loses nothing and duplicates nothing', async (t) => {
  const c = await cluster(t, { slaves: 2 });
  const workDir = path.join(tempWorkDir(t, 'marathon-'), 'm');
  const a = await startTestMarathon(t, c, { workDir, store: 'file' });
  const frameworkId = a.marathon.service.info().frameworkId!;

  const plan = await deployApp(a, appFrom({ id: '/sleeper', cmd: 'exec sleep 3600', instances: 3, cpus: 0.1, mem: 16 }));
  await waitDeployed(a, plan);
  const taskIds = running(a, '/sleeper').map((i) => i.taskId).sort();
  t.equal(taskIds.length, 3);
  // A deployment that cannot finish (no slave has 64 cpus): it must survive the restart.
  const stuck = await deployApp(a, appFrom({ id: '/too-big', cmd: 'exec sleep 3600', instances: 1, cpus: 64, mem: 16 }));
  const versions = a.marathon.service.appVersions('/sleeper');
  await a.close();

  const masterTasks = async (): Promise<string[]> => {
    const tasks = (await getJson(`${c.masterUrl}/master/tasks`)).body.tasks as Array<{ id: string; state: string; framework_id: string }>;
    return tasks.filter((x) => x.framework_id === frameworkId && !['TASK_KILLED', 'TASK_FAILED', 'TASK_FINISHED', 'TASK_LOST', 'TASK_GONE'].includes(x.state)).map((x) => x.id).sort();
  };
  t.same(await masterTasks(), taskIds, 'closing Marathon kills no task');

  const b = await startTestMarathon(t, c, { workDir, store: 'file' });
  const service = b.marathon.service;
  t.equal(service.info().frameworkId, frameworkId, 'resubscribed as the same framework');
  t.same(service.appVersions('/sleeper'), versions, 'app versions reloaded');
  t.same(service.deployments().map((d) => d.plan.id), [stuck.id], 'the unfinished deployment resumed');
  // Reconciliation answers for every known task (explicit, then implicit).
  for (const id of taskIds) {
    await b.events.waitFor((e) => e.eventType === 'status_update_event' && e.taskId === id && e.taskStatus === 'TASK_RUNNING', SOON, `reconciliation of ${id}`);
  }
  // A deployment after the reconciliation: once it finished, the engine has ticked with what it learnt.
  const barrier = await deployApp(b, appFrom({ id: '/barrier', cmd: 'exec sleep 3600', instances: 0 }));
  await waitDeployed(b, barrier);

  t.same(running(b, '/sleeper').map((i) => i.taskId).sort(), taskIds, 'the same 3 tasks, Running');
  t.equal(service.instances('/sleeper').length, 3, 'no extra instance');
  t.same((await masterTasks()).filter((id) => id.startsWith('sleeper.')), taskIds, 'the master runs exactly those 3 tasks');

  // Roll the stuck deployment back: the new app goes away again.
  const rollback = await service.cancelDeployment(stuck.id);
  t.ok(rollback, 'a rollback deployment');
  await waitDeployed(b, rollback!);
  t.equal(service.app('/too-big'), undefined, 'rolled back: the app is gone');
  t.same(service.deployments(), [], 'nothing left running');
  t.ok(b.events.events.some((e) => e.eventType === 'deployment_failed' && e.id === stuck.id), 'deployment_failed for the cancelled one');
});

t.test('after a restart, reconciliation kills tasks Marathon does not know and replaces known tasks the master does not have', async (t) => {
  const c = await cluster(t, { slaves: 1 });
  const workDir = path.join(tempWorkDir(t, 'marathon-'), 'm');
  const a = await startTestMarathon(t, c, { workDir, store: 'file' });
  const frameworkId = a.marathon.service.info().frameworkId!;
  const plan = await deployApp(a, appFrom({ id: '/keep', cmd: 'exec sleep 3600', instances: 2, cpus: 0.1, mem: 16 }));
  await waitDeployed(a, plan);
  const [forgotten, kept] = running(a, '/keep');
  await a.close();

  // Edit the stored state: forget one instance, and invent one whose task the master never had.
  const store = new FileStore(path.join(workDir, 'state'));
  await store.deleteInstance(forgotten!.instanceId);
  const ghost: Instance = { ...kept!, instanceId: 'keep.instance-00000000-0000-0000-0000-000000000000', taskId: 'keep.instance-00000000-0000-0000-0000-000000000000._app.1' };
  await store.saveInstance(ghost);
  await store.close();

  const b = await startTestMarathon(t, c, { workDir, store: 'file' });
  await b.events.waitFor((e) => e.eventType === 'status_update_event' && e.taskId === ghost.taskId && ['TASK_GONE', 'TASK_LOST', 'TASK_UNKNOWN'].includes(e.taskStatus as string), SOON, 'the ghost task reported gone');
  await b.logs.waitFor((l) => l.msg === 'killing a task Marathon does not know' && l.taskId === forgotten!.taskId, SOON, 'the forgotten task killed');
  await waitFor(() => running(b, '/keep').length === 2 && !running(b, '/keep').some((i) => i.instanceId === ghost.instanceId), { timeoutMs: SOON, what: 'the ghost replaced' });
  const ids = running(b, '/keep').map((i) => i.taskId).sort();
  t.ok(ids.includes(kept!.taskId), 'the known task is kept');
  t.notOk(ids.includes(forgotten!.taskId), 'the unknown task is not adopted');
  await waitFor(async () => {
    const tasks = (await getJson(`${c.masterUrl}/master/tasks`)).body.tasks as Array<{ id: string; state: string; framework_id: string }>;
    const live = tasks.filter((x) => x.framework_id === frameworkId && x.state === 'TASK_RUNNING').map((x) => x.id).sort();
    return JSON.stringify(live) === JSON.stringify(ids);
  }, { timeoutMs: SOON, what: 'the master to run exactly the known tasks' });
  t.equal(b.marathon.service.instances('/keep').length, 2, 'exactly 2 instances');
});
