/**
 * /v2/apps over HTTP against an in-memory MarathonService: status codes, headers, bodies
 * with Marathon's defaults, ids with double slashes, Python booleans, locks, and every 4xx.
 */
import t from 'tap';
import { silentLogger } from '../../sdk/core/log.js';
import { ApiContext } from '../../frameworks/marathon/api/context.js';
import type { AppEmbed } from '../../frameworks/marathon/api/query.js';
import { startApi } from './marathon-api-kit.js';

const app = (id: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ id, cmd: 'sleep 1000', ...extra });

t.test('POST /v2/apps creates an app: 201, Location, deployment header, defaults and zero counters', async (t) => {
  const h = await startApi(t);
  const res = await h.request('POST', '/v2/apps', app('/hello', { instances: 2 }));
  t.equal(res.status, 201);
  t.equal(res.headers.get('location'), '/v2/apps/hello');
  const deploymentId = res.headers.get('marathon-deployment-id');
  t.ok(deploymentId);
  t.match(res.body, {
    id: '/hello', cmd: 'sleep 1000', instances: 2, cpus: 1, mem: 128, disk: 0, gpus: 0,
    backoffSeconds: 1, backoffFactor: 1.15, maxLaunchDelaySeconds: 300,
    upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 1 },
    tasksStaged: 0, tasksRunning: 0, tasksHealthy: 0, tasksUnhealthy: 0,
    deployments: [{ id: deploymentId }],
  });
  t.equal(res.body.tasks, undefined, 'no tasks on create');
  t.ok(h.service.app('/hello'));
  const post = h.service.published.find((e) => e.eventType === 'api_post_event');
  t.match(post, { eventType: 'api_post_event', clientIp: '127.0.0.1', uri: '/v2/apps', appDefinition: { id: '/hello' } });
  t.match(post!.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});

t.test('POST /v2/apps errors: 409 existing, 400 malformed/empty, 415 content type, 422 invalid', async (t) => {
  const h = await startApi(t);
  t.equal((await h.request('POST', '/v2/apps', app('/a'))).status, 201);
  const dup = await h.request('POST', '/v2/apps', app('a'));
  t.equal(dup.status, 409);
  t.same(dup.body, { message: 'An app with id [/a] already exists.' });

  const bad = await h.request('POST', '/v2/apps', '{"id": "/x",');
  t.equal(bad.status, 400);
  t.equal(bad.body.message, 'Invalid JSON');
  t.type(bad.body.details, 'string');

  const empty = await h.request('POST', '/v2/apps', '', { 'content-type': 'application/json' });
  t.equal(empty.status, 400);
  t.same(empty.body, { message: 'Please specify data in JSON format', details: 'No content to map due to end-of-input' });

  const form = await h.request('POST', '/v2/apps', JSON.stringify(app('/b')), { 'content-type': 'application/x-www-form-urlencoded' });
  t.equal(form.status, 415);

  const invalid = await h.request('POST', '/v2/apps', app('/c', { args: ['y'] }));
  t.equal(invalid.status, 422);
  t.equal(invalid.body.message, 'Object is not valid');
  t.match(invalid.body.details, [{ path: '/', errors: Array }]);

  const outOfRange = await h.request('POST', '/v2/apps', app('/c', { cpus: -1 }));
  t.equal(outOfRange.status, 422);
  t.same(outOfRange.body, { message: 'Invalid JSON', details: [{ path: '/cpus', errors: ['error.min'] }] });

  const typeError = await h.request('POST', '/v2/apps', app('/c', { cpus: 'lots' }));
  t.equal(typeError.status, 422);
  t.equal(typeError.body.message, 'Invalid JSON');

  const noId = await h.request('POST', '/v2/apps', { cmd: 'x' });
  t.equal(noId.status, 422);
  t.ok(noId.body.details.some((d: { path: string }) => d.path === '/id'));
  const huge = await h.request('POST', '/v2/apps', JSON.stringify({ id: '/big', cmd: 'x'.repeat(11 * 1024 * 1024) }));
  t.equal(huge.status, 413);
  t.same(huge.body, { message: 'Request Entity Too Large' });
  t.equal(h.service.apps().length, 1, 'nothing else was created');
});

t.test('GET /v2/apps: counts and deployments always, filters, embeds', async (t) => {
  const h = await startApi(t);
  await h.request('POST', '/v2/apps', app('/prod/web', { cmd: 'python3 -m http.server', labels: { tier: 'front', owner: 'zeus' } }));
  await h.request('POST', '/v2/apps', app('/prod/db', { labels: { tier: 'back' } }));
  await h.request('POST', '/v2/apps', app('/dev/web'));
  h.service.addInstance('/prod/web');
  h.service.addInstance('/prod/web', { condition: 'Staging', mesosState: 'TASK_STAGING', startedAt: undefined, healthy: undefined });
  h.service.addInstance('/prod/web', { condition: 'Scheduled', mesosState: undefined });

  const all = await h.request('GET', '/v2/apps');
  t.equal(all.status, 200);
  t.same(all.body.apps.map((a: { id: string }) => a.id), ['/dev/web', '/prod/db', '/prod/web']);
  const web = all.body.apps.find((a: { id: string }) => a.id === '/prod/web');
  t.match(web, { tasksRunning: 1, tasksStaged: 1, tasksHealthy: 0, tasksUnhealthy: 0 });
  t.equal(web.deployments.length, 1);
  t.equal(web.tasks, undefined, 'no tasks without embed');

  const byCmd = await h.request('GET', '/v2/apps?cmd=HTTP.server');
  t.same(byCmd.body.apps.map((a: { id: string }) => a.id), ['/prod/web']);
  const byId = await h.request('GET', '/v2/apps?id=WEB');
  t.same(byId.body.apps.map((a: { id: string }) => a.id), ['/dev/web', '/prod/web']);
  const byLabel = await h.request('GET', `/v2/apps?label=${encodeURIComponent('tier==front,owner')}`);
  t.same(byLabel.body.apps.map((a: { id: string }) => a.id), ['/prod/web']);
  const notEq = await h.request('GET', `/v2/apps?label=${encodeURIComponent('tier!=front')}`);
  t.same(notEq.body.apps.map((a: { id: string }) => a.id), ['/prod/db']);
  const inSet = await h.request('GET', `/v2/apps?label=${encodeURIComponent('tier in (front, back)')}`);
  t.same(inSet.body.apps.map((a: { id: string }) => a.id), ['/prod/db', '/prod/web']);
  const badLabel = await h.request('GET', `/v2/apps?label=${encodeURIComponent('a==b,,')}`);
  t.equal(badLabel.status, 422);

  const embedded = await h.request('GET', '/v2/apps?embed=apps.tasks&embed=apps.taskStats&embed=apps.lastTaskFailure&id=/prod/web');
  const e = embedded.body.apps[0];
  t.equal(e.tasks.length, 2, 'scheduled instances are not tasks');
  t.match(e.tasks[0], { appId: '/prod/web', host: '127.0.0.1', ports: [31001], slaveId: 'agent-1', state: 'TASK_RUNNING', localVolumes: [] });
  t.match(e.taskStats, { totalSummary: { stats: { counts: { staged: 1, running: 1, healthy: 0, unhealthy: 0 }, lifeTime: { averageSeconds: Number, medianSeconds: Number } } } });
});

t.test('GET /v2/apps/{id}: tasks, counts, deployments, lastTaskFailure; ids with // and trailing /; group listing', async (t) => {
  const h = await startApi(t);
  await h.request('POST', '/v2/apps', app('/foo', { healthChecks: [{ protocol: 'HTTP', portIndex: 0 }] }));
  h.service.addInstance('/foo', { healthy: true });
  h.service.addInstance('/foo', { healthy: false });
  h.service.failures.set('/foo', {
    appId: '/foo', host: 'h1', message: 'Command exited with status 1', state: 'TASK_FAILED', taskId: 'foo.instance-x._app.1',
    timestamp: '2026-01-01T00:00:00.000Z', version: '2026-01-01T00:00:00.000Z', slaveId: 'agent-1',
  });
  for (const path of ['/v2/apps/foo', '/v2/apps//foo', '/v2/apps/foo/', '/v2/apps///foo//']) {
    const res = await h.request('GET', path);
    t.equal(res.status, 200, path);
    t.equal(res.body.app.id, '/foo', path);
  }
  const res = await h.request('GET', '/v2/apps/foo');
  t.match(res.body.app, { tasksRunning: 2, tasksHealthy: 1, tasksUnhealthy: 1, lastTaskFailure: { appId: '/foo', state: 'TASK_FAILED', slaveId: 'agent-1' } });
  t.equal(res.body.app.tasks.length, 2);
  t.match(res.body.app.tasks[0].healthCheckResults, [{ alive: true }]);
  t.same(Object.keys(res.body), ['app']);

  const missing = await h.request('GET', '/v2/apps/nope');
  t.equal(missing.status, 404);
  t.same(missing.body, { message: "App '/nope' does not exist" });

  await h.request('POST', '/v2/apps', app('/prod/a'));
  await h.request('POST', '/v2/apps', app('/prod/sub/b'));
  const star = await h.request('GET', '/v2/apps/prod/*');
  t.same(star.body['*'].map((a: { id: string }) => a.id).sort(), ['/prod/a', '/prod/sub/b']);
  t.equal((await h.request('GET', '/v2/apps/none/*')).status, 404);
});

t.test('PUT /v2/apps/{id}: creates (201), updates (200), partialUpdate, rollback, locks and Python booleans', async (t) => {
  const h = await startApi(t);
  const created = await h.request('PUT', '/v2/apps/svc', { cmd: 'sleep 1', instances: 1, mem: 64 });
  t.equal(created.status, 201);
  t.equal(created.headers.get('location'), '/v2/apps/svc');
  t.same(Object.keys(created.body).sort(), ['deploymentId', 'version']);
  t.equal(created.headers.get('marathon-deployment-id'), created.body.deploymentId);
  const v1 = h.service.app('/svc')!.version;

  // Locked by the creating deployment.
  const locked = await h.request('PUT', '/v2/apps/svc?force=False', { instances: 3 });
  t.equal(locked.status, 409);
  t.match(locked.body, { message: /^App is locked by one or more deployments\. Override with the option '\?force=true'\./, deployments: [{ id: created.body.deploymentId }] });
  t.same(Object.keys(locked.body).sort(), ['deployments', 'message']);

  const forced = await h.request('PUT', '/v2/apps/svc?force=True', { instances: 3 });
  t.equal(forced.status, 200);
  t.match(h.service.app('/svc'), { instances: 3, mem: 64, cmd: 'sleep 1' }, 'partial update keeps other fields');
  t.match(h.service.published.filter((e) => e.eventType === 'api_post_event').at(-1), { uri: '/v2/apps/svc' });

  h.service.running = [];
  const replaced = await h.request('PUT', '/v2/apps/svc?partialUpdate=false', { cmd: 'sleep 2' });
  t.equal(replaced.status, 200);
  t.match(h.service.app('/svc'), { cmd: 'sleep 2', instances: 1, mem: 128 }, 'full replacement takes defaults');

  h.service.running = [];
  const rollback = await h.request('PUT', '/v2/apps/svc', { version: v1 });
  t.equal(rollback.status, 200);
  t.match(h.service.app('/svc'), { cmd: 'sleep 1', mem: 64 });
  const badVersion = await h.request('PUT', '/v2/apps/svc', { version: '2000-01-01T00:00:00.000Z' });
  t.equal(badVersion.status, 404);
  t.same(badVersion.body, { message: "App '/svc' does not exist in version 2000-01-01T00:00:00.000Z" });

  h.service.running = [];
  const invalid = await h.request('PUT', '/v2/apps/svc', { instances: -1 });
  t.equal(invalid.status, 422);

  const patchMissing = await h.request('PATCH', '/v2/apps/missing', { instances: 1 });
  t.equal(patchMissing.status, 404);
  t.same(patchMissing.body, { message: "App '/missing' does not exist" });
  const patch = await h.request('PATCH', '/v2/apps/svc', { instances: 2 });
  t.equal(patch.status, 200);
  t.equal(h.service.app('/svc')!.instances, 2);
});

t.test('bulk PUT/PATCH /v2/apps', async (t) => {
  const h = await startApi(t);
  const put = await h.request('PUT', '/v2/apps', [{ id: '/test/sleep60', cmd: 'sleep 60', instances: 2 }, { id: '/test/sleep120', cmd: 'sleep 120' }]);
  t.equal(put.status, 200);
  t.same(Object.keys(put.body).sort(), ['deploymentId', 'version']);
  t.equal(h.service.apps().length, 2);
  h.service.running = [];
  const patch = await h.request('PATCH', '/v2/apps', [{ id: '/test/sleep60', cpus: 0.3 }, { id: '/test/sleep120', instances: 2 }]);
  t.equal(patch.status, 200);
  t.match(h.service.app('/test/sleep60'), { cpus: 0.3, instances: 2 });
  t.match(h.service.app('/test/sleep120'), { instances: 2 });
  const missing = await h.request('PATCH', '/v2/apps', [{ id: '/nope', cpus: 1 }]);
  t.equal(missing.status, 404);
  const noId = await h.request('PATCH', '/v2/apps', [{ cpus: 1 }]);
  t.equal(noId.status, 422);
  const notArray = await h.request('PUT', '/v2/apps', { id: '/x' });
  t.equal(notArray.status, 422);
});

t.test('DELETE /v2/apps/{id} (force defaults to true) and restart', async (t) => {
  const h = await startApi(t);
  await h.request('POST', '/v2/apps', app('/gone'));
  const restartLocked = await h.request('POST', '/v2/apps/gone/restart');
  t.equal(restartLocked.status, 409, 'restart does not force by default');
  const restart = await h.request('POST', '/v2/apps/gone/restart?force=true');
  t.equal(restart.status, 200);
  t.same(Object.keys(restart.body).sort(), ['deploymentId', 'version']);
  t.equal((await h.request('POST', '/v2/apps/none/restart')).status, 404);

  const del = await h.request('DELETE', '/v2/apps/gone');
  t.equal(del.status, 200, 'locked app deleted: force defaults to true');
  t.equal(h.service.app('/gone'), undefined);
  t.match(h.service.calls.at(-1), { method: 'updateRoot', args: [{ force: true }] });
  const again = await h.request('DELETE', '/v2/apps/gone');
  t.equal(again.status, 404);
  t.same(again.body, { message: "App '/gone' does not exist" });
});

t.test('tasks of an app: GET, DELETE with scale/wipe/host, single task, 4xx', async (t) => {
  const h = await startApi(t);
  await h.request('POST', '/v2/apps', app('/w', { instances: 3 }));
  const a = h.service.addInstance('/w', { host: 'h1' });
  h.service.addInstance('/w', { host: 'h2' });
  const list = await h.request('GET', '/v2/apps/w/tasks');
  t.equal(list.status, 200);
  t.equal(list.body.tasks.length, 2);
  t.match(list.body.tasks[0], { id: a.taskId, appId: '/w', version: a.runSpecVersion, stagedAt: String, startedAt: String });
  t.equal((await h.request('GET', '/v2/apps/nope/tasks')).status, 404);

  const both = await h.request('DELETE', '/v2/apps/w/tasks?scale=true&wipe=true');
  t.equal(both.status, 400);
  t.same(both.body, { message: 'You cannot use scale and wipe at the same time.' });

  const byHost = await h.request('DELETE', '/v2/apps/w/tasks?host=h1');
  t.equal(byHost.status, 200);
  t.same(byHost.body.tasks.map((x: { host: string }) => x.host), ['h1']);

  const one = await h.request('DELETE', `/v2/apps/w/tasks/${a.taskId}`);
  t.equal(one.status, 200);
  t.equal(one.body.task.id, a.taskId);
  const unknown = await h.request('DELETE', '/v2/apps/w/tasks/w.instance-nope._app.1');
  t.equal(unknown.status, 404);
  t.same(unknown.body, { message: "Task 'w.instance-nope._app.1' does not exist" });

  const scaled = await h.request('DELETE', `/v2/apps/w/tasks/${a.taskId}?scale=true&force=true`);
  t.equal(scaled.status, 200);
  t.same(Object.keys(scaled.body).sort(), ['deploymentId', 'version']);
  t.equal(h.service.app('/w')!.instances, 2);
});

t.test('versions of an app', async (t) => {
  const h = await startApi(t);
  await h.request('POST', '/v2/apps', app('/v'));
  await h.request('PUT', '/v2/apps/v?force=true', { cmd: 'sleep 2' });
  const list = await h.request('GET', '/v2/apps/v/versions');
  t.equal(list.status, 200);
  t.equal(list.body.versions.length, 2);
  const oldest = list.body.versions[1];
  const one = await h.request('GET', `/v2/apps/v/versions/${oldest}`);
  t.equal(one.status, 200);
  t.match(one.body, { id: '/v', cmd: 'sleep 1000', version: oldest });
  t.equal((await h.request('GET', '/v2/apps/v/versions/2000-01-01T00:00:00.000Z')).status, 404);
  t.equal((await h.request('GET', '/v2/apps/none/versions')).status, 404);
});

t.test('wrong methods answer 405', async (t) => {
  const h = await startApi(t);
  t.equal((await h.request('DELETE', '/v2/apps')).status, 405);
  t.equal((await h.request('GET', '/v2/apps/x/restart')).status, 405);
});

t.test('GET /v2/apps renders each app as appInfo does (cached definitions), and lists the current version', async (t) => {
  const h = await startApi(t);
  for (const id of ['/a', '/b/c', '/d']) t.equal((await h.request('POST', '/v2/apps', app(id, { instances: 1, labels: { tier: id } }))).status, 201);
  const ctx = new ApiContext({ service: h.service, clock: h.clock, logger: silentLogger() });
  const embedSets: AppEmbed[][] = [[], ['counts', 'deployments'], ['counts', 'deployments', 'tasks', 'lastTaskFailure', 'taskStats', 'readiness']];
  const check = (what: string): void => {
    for (const app of h.service.apps()) {
      for (const embeds of embedSets) {
        const set = new Set(embeds);
        t.equal(ctx.appInfoJson(app, set), JSON.stringify(ctx.appInfo(app, set)), `${what}: ${app.id} [${embeds.join(',')}]`);
        t.equal(ctx.appInfoJson(app, set), JSON.stringify(ctx.appInfo(app, set)), `${what}: ${app.id} again, from the cache`);
      }
    }
  };
  check('as created');
  t.equal((await h.request('PUT', '/v2/apps/b/c?force=true', { cmd: 'sleep 2000', instances: 3 })).status, 200, 'updated (forced past the creating deployment)');
  check('after an update');
  const list = await h.request('GET', '/v2/apps');
  t.equal(list.status, 200);
  t.match(list.headers.get('content-type'), /^application\/json/);
  const updated = list.body.apps.find((a: { id: string }) => a.id === '/b/c');
  t.equal(updated.cmd, 'sleep 2000', 'the updated definition is listed, not a cached one');
  t.equal(updated.instances, 3);
  t.same(list.body.apps.map((a: { id: string }) => a.id).sort(), ['/a', '/b/c', '/d']);
});

t.test('GET /v2/apps keeps each app encoded until its instances, deployments or last failure change', async (t) => {
  const h = await startApi(t);
  for (const id of ['/a', '/b']) t.equal((await h.request('POST', '/v2/apps', app(id, { instances: 1 }))).status, 201);
  const ctx = new ApiContext({ service: h.service, clock: h.clock, logger: silentLogger() });
  const fresh = (embeds: AppEmbed[]): string => `{"apps":[${h.service.apps().map((a) => JSON.stringify(ctx.appInfo(a, new Set(embeds)))).join(',')}]}`;
  const listed = async (query = ''): Promise<string> => {
    const r = await h.request('GET', `/v2/apps${query}`);
    t.equal(r.status, 200);
    t.equal(r.headers.get('content-type'), 'application/json; charset=utf-8');
    return r.text;
  };
  const plain: AppEmbed[] = ['counts', 'deployments'];
  const withTasks: AppEmbed[] = ['counts', 'deployments', 'tasks', 'lastTaskFailure'];
  t.equal(await listed(), fresh(plain), 'as rendered afresh');
  t.equal(await listed(), fresh(plain), 'again, from the cache');

  const inst = h.service.addInstance('/a', { condition: 'Staging', mesosState: 'TASK_STAGING' });
  t.equal(await listed(), fresh(plain), 'a new instance shows');
  t.match(JSON.parse(await listed()).apps.find((x: { id: string }) => x.id === '/a'), { tasksStaged: 1, tasksRunning: 0 });
  // The engine replaces an instance object on every change.
  h.service.instanceList = h.service.instanceList.map((i) => (i === inst ? { ...i, condition: 'Running', mesosState: 'TASK_RUNNING' } : i));
  t.match(JSON.parse(await listed()).apps.find((x: { id: string }) => x.id === '/a'), { tasksStaged: 0, tasksRunning: 1 }, 'a changed instance shows');
  t.equal(await listed('?embed=apps.tasks&embed=apps.lastTaskFailure'), fresh(withTasks), 'other embeds are kept apart');
  h.service.failures.set('/b', { appId: '/b', host: 'h', message: 'boom', state: 'TASK_FAILED', taskId: 't', timestamp: h.service.app('/b')!.version, version: h.service.app('/b')!.version });
  t.equal(await listed('?embed=apps.tasks&embed=apps.lastTaskFailure'), fresh(withTasks), 'a new last failure shows');
  t.equal(await listed(), fresh(plain), 'and the plain list is still right');
  h.service.instanceList = [];
  t.equal(await listed(), fresh(plain), 'expunged instances are gone');
  h.clock.ms += 5000;
  t.equal(await listed('?embed=apps.taskStats'), fresh(['counts', 'deployments', 'taskStats']), 'clock-dependent embeds are rendered afresh');
});
