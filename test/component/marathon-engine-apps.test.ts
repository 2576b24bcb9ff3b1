/**
 * The Marathon engine against a real master and two real slaves (no fakes of Mesos),
 * Marathon in this process with the in-memory store: an app comes up, a task killed with
 * SIGKILL is replaced, scaling up and down, a rolling restart with HTTP health checks that
 * never drops below minimumHealthCapacity, and deleting an app kills its tasks.
 */
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { removeApp } from '../../frameworks/marathon/model/index.js';
import type { MarathonEvent } from '../../frameworks/marathon/model/types.js';
import { cluster, tempWorkDir } from '../helpers/cluster.js';
import { getJson } from '../helpers/http.js';
import { waitFor } from '../helpers/wait.js';
import { appFrom, deployApp, running, SOON, startTestMarathon, taskPid, waitDeployed } from './marathon-engine-kit.js';

t.test('apps on a real cluster', async (t) => {
  const c = await cluster(t, { slaves: 2 });
  const m = await startTestMarathon(t, c, { workDir: path.join(tempWorkDir(t, 'marathon-'), 'm') });
  const service = m.marathon.service;
  const frameworkId = service.info().frameworkId!;
  t.ok(frameworkId, 'subscribed with a framework id');

  const sleeper = appFrom({ id: '/sleeper', cmd: 'echo $$; exec sleep 3600', instances: 3, cpus: 0.1, mem: 16 });

  await t.test('an app of 3 instances comes up Running', async (t) => {
    const plan = await deployApp(m, sleeper);
    t.same(plan.affectedApps, ['/sleeper']);
    await waitDeployed(m, plan);
    const up = running(m, '/sleeper');
    t.equal(up.length, 3, '3 Running');
    t.equal(new Set(up.map((i) => i.taskId)).size, 3);
    t.ok(up.every((i) => i.hostPorts.length === 1 && i.host === '127.0.0.1'), 'placed with a host port');
    const tasks = (await getJson(`${c.masterUrl}/master/tasks`)).body.tasks as Array<{ id: string; state: string; framework_id: string }>;
    t.same(tasks.filter((x) => x.framework_id === frameworkId && x.state === 'TASK_RUNNING').map((x) => x.id).sort(), up.map((i) => i.taskId).sort(), 'the master runs exactly those tasks');
  });

  await t.test('SIGKILL of a task process → replaced', async (t) => {
    const victim = running(m, '/sleeper')[0]!;
    const pid = await taskPid(c, frameworkId, victim);
    const mark = m.events.events.length;
    process.kill(pid, 'SIGKILL');
    await m.events.waitFor((e) => e.eventType === 'status_update_event' && e.taskId === victim.taskId && e.taskStatus === 'TASK_FAILED', SOON, 'the failure', mark);
    const replacement = await m.events.waitFor(
      (e) => e.eventType === 'instance_changed_event' && e.condition === 'Running' && e.instanceId !== victim.instanceId && e.runSpecId === '/sleeper',
      SOON, 'a replacement Running', mark,
    );
    t.not(replacement.instanceId, victim.instanceId);
    const up = running(m, '/sleeper');
    t.equal(up.length, 3, 'back to 3');
    t.notOk(up.some((i) => i.instanceId === victim.instanceId), 'the failed instance is gone');
    const failure = service.lastTaskFailure('/sleeper');
    t.equal(failure?.taskId, victim.taskId, 'lastTaskFailure names it');
    t.equal(failure?.state, 'TASK_FAILED');
  });

  await t.test('scale up to 5 and down to 2', async (t) => {
    const up = await deployApp(m, { ...service.app('/sleeper')!, instances: 5 });
    t.same(up.steps.map((s) => s.actions.map((a) => a.action)), [['ScaleApplication']]);
    await waitDeployed(m, up);
    t.equal(running(m, '/sleeper').length, 5);
    const before = new Set(running(m, '/sleeper').map((i) => i.instanceId));
    const down = await deployApp(m, { ...service.app('/sleeper')!, instances: 2 });
    await waitDeployed(m, down);
    await waitFor(() => service.instances('/sleeper').length === 2, { timeoutMs: SOON, what: 'killed instances to be gone' });
    const left = service.instances('/sleeper');
    t.equal(left.filter((i) => i.condition === 'Running').length, 2, 'exactly 2 left, Running');
    t.ok(left.every((i) => before.has(i.instanceId)), 'scaling down only kills');
  });

  await t.test('rolling restart with HTTP health checks keeps minimumHealthCapacity', async (t) => {
    const web = appFrom({
      id: '/web', cmd: 'exec python3 -m http.server $PORT0 --bind 127.0.0.1', instances: 4, cpus: 0.1, mem: 32,
      healthChecks: [{ protocol: 'HTTP', portIndex: 0, path: '/', intervalSeconds: 1, timeoutSeconds: 2, gracePeriodSeconds: 30, maxConsecutiveFailures: 3 }],
      upgradeStrategy: { minimumHealthCapacity: 0.5, maximumOverCapacity: 0 },
    });
    const first = await deployApp(m, web);
    await waitDeployed(m, first);
    const healthy = (): number => service.instances('/web').filter((i) => i.condition === 'Running' && i.healthy === true).length;
    t.equal(healthy(), 4, '4 healthy before the restart');
    const oldIds = new Set(service.instances('/web').map((i) => i.instanceId));

    const samples: number[] = [];
    const unsubscribe = service.subscribe((e: MarathonEvent) => {
      if (e.eventType === 'instance_changed_event' || e.eventType === 'health_status_changed_event') samples.push(healthy());
    });
    const restart = await service.restartApp('/web');
    t.same(restart.steps.map((s) => s.actions.map((a) => a.action)), [['RestartApplication']]);
    await waitDeployed(m, restart, 2 * SOON);
    unsubscribe();
    t.ok(samples.length > 8, `sampled the restart (${samples.length} samples)`);
    t.ok(Math.min(...samples) >= 2, `never fewer than ceil(4 × 0.5) = 2 healthy (min ${Math.min(...samples)})`);
    const after = service.instances('/web').filter((i) => i.goal === 'Running');
    t.equal(after.length, 4, '4 instances after');
    t.ok(after.every((i) => !oldIds.has(i.instanceId) && i.healthy === true), 'all new and healthy');
    t.ok(after.every((i) => i.runSpecVersion === service.app('/web')!.version), 'all on the new version');
  });

  await t.test('readiness checks gate a deployment', async (t) => {
    const base = {
      id: '/ready', cmd: 'exec python3 -m http.server $PORT0 --bind 127.0.0.1', instances: 2, cpus: 0.1, mem: 32,
      portDefinitions: [{ port: 0, name: 'http' }],
    };
    const notReady = appFrom({ ...base, readinessChecks: [{ name: 'r', protocol: 'HTTP', path: '/missing', portName: 'http', intervalSeconds: 2, timeoutSeconds: 1, httpStatusCodesForReady: [200], preserveLastResponse: true }] });
    const stuck = await deployApp(m, notReady);
    const status = await waitFor(() => {
      const d = service.deployments().find((x) => x.plan.id === stuck.id);
      return d !== undefined && d.readinessCheckResults.length === 2 && d.readinessCheckResults.every((r) => r.lastResponse?.status === 404) ? d : undefined;
    }, { timeoutMs: SOON, what: 'readiness results with 404' });
    t.ok(status.readinessCheckResults.every((r) => r.ready === false && r.name === 'r'), 'not ready: the deployment waits');
    t.equal(running(m, '/ready').length, 2, 'while the tasks run');

    const ready = appFrom({ ...base, readinessChecks: [{ name: 'r', protocol: 'HTTP', path: '/', portName: 'http', intervalSeconds: 2, timeoutSeconds: 1, httpStatusCodesForReady: [200] }] });
    const fixed = await deployApp(m, ready, true);
    await waitDeployed(m, fixed);
    t.ok(m.events.events.some((e) => e.eventType === 'deployment_failed' && e.id === stuck.id), 'the forced update superseded the stuck deployment');
    const after = service.instances('/ready').filter((i) => i.goal === 'Running');
    t.equal(after.length, 2);
    t.ok(after.every((i) => i.ready === true && i.condition === 'Running'), 'new instances ready');
  });

  await t.test('deleting an app kills its tasks', async (t) => {
    const ids = service.instances('/sleeper').map((i) => i.taskId);
    const mark = m.events.events.length;
    const plan = await service.updateRoot((root, version) => removeApp(root, '/sleeper', version));
    t.same(plan.steps.map((s) => s.actions.map((a) => a.action)), [['StopApplication']]);
    await m.events.waitFor((e) => e.eventType === 'app_terminated_event' && e.appId === '/sleeper', SOON, 'app_terminated_event', mark);
    await waitDeployed(m, plan);
    t.same(service.instances('/sleeper'), [], 'no instance left');
    t.equal(service.app('/sleeper'), undefined, 'app gone');
    const tasks = (await getJson(`${c.masterUrl}/master/tasks`)).body.tasks as Array<{ id: string; state: string }>;
    for (const id of ids) {
      const task = tasks.find((x) => x.id === id);
      t.ok(task === undefined || task.state === 'TASK_KILLED', `${id} killed (${task?.state ?? 'gone'})`);
    }
  });
  void os;
});
