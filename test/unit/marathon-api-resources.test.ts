/**
 * /v2/tasks, /v2/deployments, /v2/groups, /v2/queue, /v2/info, /v2/leader, /ping, /metrics
 * over HTTP against an in-memory MarathonService.
 */
import t from 'tap';
import { startApi } from './marathon-api-kit.js';
import type { QueueEntry } from '../../frameworks/marathon/model/types.js';

t.test('/v2/tasks: all launched tasks, status filter, POST /v2/tasks/delete', async (t) => {
  const h = await startApi(t);
  await h.request('POST', '/v2/apps', { id: '/a', cmd: 'sleep 1', instances: 2 });
  await h.request('POST', '/v2/apps', { id: '/b', cmd: 'sleep 1' });
  const a1 = h.service.addInstance('/a');
  h.service.addInstance('/a', { condition: 'Staging', mesosState: 'TASK_STAGING' });
  const b1 = h.service.addInstance('/b');
  h.service.addInstance('/b', { condition: 'Scheduled' });

  const all = await h.request('GET', '/v2/tasks');
  t.equal(all.status, 200);
  t.equal(all.body.tasks.length, 3);
  t.match(all.body.tasks.find((x: { id: string }) => x.id === a1.taskId), { appId: '/a', servicePorts: Array, state: 'TASK_RUNNING' });
  t.equal((await h.request('GET', '/v2/tasks?status=running')).body.tasks.length, 2);
  t.equal((await h.request('GET', '/v2/tasks?status=staging')).body.tasks.length, 1);

  const killed = await h.request('POST', '/v2/tasks/delete', { ids: [a1.taskId, b1.taskId, 'unknown.instance-x._app.1'] });
  t.equal(killed.status, 200);
  t.same(killed.body.tasks.map((x: { id: string }) => x.id).sort(), [a1.taskId, b1.taskId].sort());
  t.match(h.service.calls.filter((c) => c.method === 'killInstances'), [{ args: ['/a', [a1.taskId], { scale: false, wipe: false, force: false }] }, { args: ['/b', [b1.taskId]] }]);

  const scaled = await h.request('POST', '/v2/tasks/delete?scale=true&force=true', { ids: [a1.taskId] });
  t.equal(scaled.status, 200);
  t.same(Object.keys(scaled.body).sort(), ['deploymentId', 'version']);

  t.equal((await h.request('POST', '/v2/tasks/delete?scale=true&wipe=true', { ids: [] })).status, 400);
  t.equal((await h.request('POST', '/v2/tasks/delete', { ids: 'x' })).status, 422);
  t.equal((await h.request('POST', '/v2/tasks/delete', '{')).status, 400);
  t.equal((await h.request('DELETE', '/v2/tasks')).status, 405);
});

t.test('/v2/deployments: GET shape, DELETE rolls back (200) or with force only stops (202), 404', async (t) => {
  const h = await startApi(t);
  const created = await h.request('POST', '/v2/apps', { id: '/d', cmd: 'sleep 1', instances: 2 });
  const id = created.headers.get('marathon-deployment-id')!;
  const list = await h.request('GET', '/v2/deployments');
  t.equal(list.status, 200);
  t.equal(list.body.length, 1);
  const d = list.body[0];
  t.same(Object.keys(d).sort(), ['affectedApps', 'affectedPods', 'currentActions', 'currentStep', 'id', 'steps', 'totalSteps', 'version']);
  t.match(d, {
    id, affectedApps: ['/d'], affectedPods: [], currentStep: 1, totalSteps: 2,
    steps: [{ actions: [{ action: 'StartApplication', app: '/d' }] }, { actions: [{ action: 'ScaleApplication', app: '/d' }] }],
    currentActions: [{ action: 'StartApplication', app: '/d', readinessCheckResults: [] }],
  });
  t.same(Object.keys(d.steps[0].actions[0]).sort(), ['action', 'app']);

  const missing = await h.request('DELETE', '/v2/deployments/nope');
  t.equal(missing.status, 404);
  t.same(missing.body, { message: 'DeploymentPlan nope does not exist' });

  const rollback = await h.request('DELETE', `/v2/deployments/${id}`);
  t.equal(rollback.status, 200);
  t.same(Object.keys(rollback.body).sort(), ['deploymentId', 'version']);
  t.equal(rollback.headers.get('marathon-deployment-id'), rollback.body.deploymentId);
  t.equal(h.service.app('/d'), undefined, 'the rollback removes the new app');

  const forced = await h.request('DELETE', `/v2/deployments/${rollback.body.deploymentId}?force=true`);
  t.equal(forced.status, 202);
  t.equal(forced.text, '');
});

t.test('/v2/groups: GET with embeds, POST, PUT (dryRun, scaleBy, rollback), DELETE, versions, 4xx', async (t) => {
  const h = await startApi(t);
  const root = await h.request('GET', '/v2/groups');
  t.equal(root.status, 200);
  t.match(root.body, { id: '/', apps: [], groups: [], pods: [], dependencies: [], version: String });

  const created = await h.request('POST', '/v2/groups', { id: '/prod', apps: [{ id: 'web', cmd: 'sleep 1', instances: 2 }], groups: [{ id: 'db', apps: [{ id: 'pg', cmd: 'sleep 1' }] }] });
  t.equal(created.status, 201);
  t.equal(created.headers.get('location'), '/v2/groups/prod');
  t.same(Object.keys(created.body).sort(), ['deploymentId', 'version']);
  t.ok(h.service.app('/prod/web'));
  t.ok(h.service.app('/prod/db/pg'));

  const conflict = await h.request('POST', '/v2/groups', { id: '/prod' });
  t.equal(conflict.status, 409);
  t.same(conflict.body, { message: 'Group /prod is already created. Use PUT to change this group.' });

  const appPath = await h.request('POST', '/v2/groups', { id: '/prod/web' });
  t.equal(appPath.status, 409);
  t.same(appPath.body, { message: 'An app with the path /prod/web already exists.' });

  const sub = await h.request('POST', '/v2/groups/prod', { id: 'cache', apps: [] });
  t.equal(sub.status, 201);
  t.equal(sub.headers.get('location'), '/v2/groups/prod/cache');

  const prod = await h.request('GET', '/v2/groups/prod');
  t.equal(prod.status, 200);
  t.same(prod.body.apps.map((a: { id: string }) => a.id), ['/prod/web']);
  t.same(prod.body.groups.map((g: { id: string }) => g.id).sort(), ['/prod/cache', '/prod/db']);
  t.equal(prod.body.apps[0].tasksRunning, undefined, 'no counters without group.apps.counts');
  const onlyGroups = await h.request('GET', '/v2/groups/prod?embed=group.groups');
  t.same(onlyGroups.body.apps, []);
  t.equal(onlyGroups.body.groups.length, 2);
  const counts = await h.request('GET', '/v2/groups/prod?embed=group.apps&embed=group.apps.counts');
  t.match(counts.body.apps[0], { id: '/prod/web', tasksRunning: 0 });
  t.same(counts.body.groups, []);

  t.equal((await h.request('GET', '/v2/groups/nope')).status, 404);
  t.same((await h.request('GET', '/v2/groups/nope')).body, { message: "Group '/nope' does not exist" });

  h.service.running = [];
  const dry = await h.request('PUT', '/v2/groups/prod?dryRun=true', { apps: [{ id: 'web', cmd: 'sleep 1', instances: 5 }] });
  t.equal(dry.status, 200);
  t.same(Object.keys(dry.body), ['steps']);
  t.match(dry.body.steps, [{ actions: [{ action: String, app: '/prod/web' }] }]);
  t.equal(h.service.app('/prod/web')!.instances, 2, 'dry run changes nothing');

  const scale = await h.request('PUT', '/v2/groups/prod', { scaleBy: 2 });
  t.equal(scale.status, 200);
  t.equal(h.service.app('/prod/web')!.instances, 4);
  t.equal(h.service.app('/prod/db/pg')!.instances, 2);

  const locked = await h.request('PUT', '/v2/groups/prod', { scaleBy: 2 });
  t.equal(locked.status, 409);
  t.ok(Array.isArray(locked.body.deployments));

  const versions = await h.request('GET', '/v2/groups/prod/versions');
  t.equal(versions.status, 200);
  t.ok(Array.isArray(versions.body) && versions.body.length >= 2);
  const oldest = versions.body[versions.body.length - 1];
  t.equal((await h.request('GET', `/v2/groups/prod/versions/${oldest}`)).body.id, '/prod');

  const rollback = await h.request('PUT', '/v2/groups/prod?force=true', { version: oldest });
  t.equal(rollback.status, 200);
  t.equal(h.service.app('/prod/web')!.instances, 2);

  const invalid = await h.request('PUT', '/v2/groups/prod?force=true', { apps: [{ id: 'bad', cmd: 'x', cpus: -1 }] });
  t.equal(invalid.status, 422);
  t.match(invalid.body.details, [{ path: '/apps(0)/cpus' }]);

  const patched = await h.request('PATCH', '/v2/groups/prod/cache?force=true', { dependencies: ['/prod/db'] });
  t.equal(patched.status, 200);
  t.same((await h.request('GET', '/v2/groups/prod/cache')).body.dependencies, ['/prod/db']);
  t.equal((await h.request('GET', '/v2/groups/nope/versions')).status, 404);
  t.equal((await h.request('GET', '/v2/groups/prod/versions/2000-01-01T00:00:00.000Z')).status, 404);
  t.equal((await h.request('PUT', '/v2/groups/prod', { scaleBy: 'x' })).status, 422);
  t.equal((await h.request('PUT', '/v2/groups/nope', { scaleBy: 2 })).status, 404);
  t.equal((await h.request('PUT', '/v2/groups/prod', '[')).status, 400);

  t.equal((await h.request('DELETE', '/v2/groups/nope')).status, 404);
  const del = await h.request('DELETE', '/v2/groups/prod?force=true');
  t.equal(del.status, 200);
  t.same(Object.keys(del.body).sort(), ['deploymentId', 'version']);
  t.equal(h.service.app('/prod/web'), undefined);
  t.equal((await h.request('GET', '/v2/groups/prod')).status, 404);
});

t.test('/v2/queue and DELETE /v2/queue/{id}/delay', async (t) => {
  const h = await startApi(t);
  await h.request('POST', '/v2/apps', { id: '/q/crash', cmd: 'exit 1' });
  const entry: QueueEntry = {
    app: h.service.app('/q/crash')!, count: 1, role: '*', delay: { timeLeftSeconds: 3, overdue: false }, since: '2026-01-01T00:00:00.000Z',
    processedOffersSummary: {
      processedOffersCount: 4, unusedOffersCount: 1, lastUnusedOfferAt: '2026-01-01T00:00:01.000Z',
      rejectSummaryLastOffers: [{ reason: 'InsufficientCpus', declined: 1, processed: 4 }], rejectSummaryLaunchAttempt: [],
    },
  };
  h.service.queueEntries = [entry];
  const q = await h.request('GET', '/v2/queue');
  t.equal(q.status, 200);
  t.same(Object.keys(q.body.queue[0]).sort(), ['app', 'count', 'delay', 'processedOffersSummary', 'role', 'since']);
  t.match(q.body.queue[0], {
    count: 1, role: '*', delay: { timeLeftSeconds: 3, overdue: false }, app: { id: '/q/crash', cmd: 'exit 1' },
    processedOffersSummary: { processedOffersCount: 4, unusedOffersCount: 1, rejectSummaryLastOffers: [{ reason: 'InsufficientCpus', declined: 1, processed: 4 }] },
  });
  t.same((await h.request('GET', '/v2/queue?embed=lastUnusedOffers')).body.queue[0].lastUnusedOffers, []);

  const reset = await h.request('DELETE', '/v2/queue//q/crash/delay');
  t.equal(reset.status, 204);
  t.same(h.service.resets, ['/q/crash']);
  const missing = await h.request('DELETE', '/v2/queue/nope/delay');
  t.equal(missing.status, 404);
  t.same(missing.body, { message: 'Application /nope not found in tasks queue.' });
});

t.test('/v2/info, /v2/leader, /ping, /metrics, unknown routes', async (t) => {
  const h = await startApi(t);
  const info = await h.request('GET', '/v2/info');
  t.equal(info.status, 200);
  t.match(info.body, {
    name: 'marathon', version: '1.10.17', elected: true, leader: '127.0.0.1:8080', frameworkId: 'fw-1',
    marathon_config: { master: '127.0.0.1:5050', failover_timeout: 604800, framework_name: 'marathon', local_port_min: 10000, local_port_max: 20000 },
    zookeeper_config: { zk_timeout: 10000 }, http_config: { http_port: 8080 },
  });
  t.same((await h.request('GET', '/v2/leader')).body, { leader: '127.0.0.1:8080' });
  const abdicate = await h.request('DELETE', '/v2/leader');
  t.same(abdicate.body, { message: 'Leadership abdicated' });
  t.equal(h.service.abdicated, 1);
  h.service.leader = undefined;
  h.service.elected = false;
  const none = await h.request('GET', '/v2/leader');
  t.equal(none.status, 404);
  t.same(none.body, { message: 'There is no leader' });
  t.equal((await h.request('DELETE', '/v2/leader')).status, 404);

  const ping = await h.request('GET', '/ping');
  t.equal(ping.status, 200);
  t.equal(ping.text, 'pong');
  t.match(ping.headers.get('content-type'), /^text\/plain/);
  t.match(ping.headers.get('cache-control'), /no-cache/);

  const metrics = await h.request('GET', '/metrics');
  t.same(metrics.body, {
    version: '4.0.0', counters: { 'marathon.http.requests.counter': { count: 3 } }, gauges: { 'marathon.apps.active.gauge': { value: 0 } },
    histograms: {}, meters: {}, timers: {},
  });
  const prom = await h.request('GET', '/metrics/prometheus');
  t.match(prom.text, /# TYPE marathon_http_requests_counter counter\nmarathon_http_requests_counter 3\n/);

  const unknown = await h.request('GET', '/v2/nothing');
  t.equal(unknown.status, 404);
  t.same(unknown.body, { message: 'URI not found' });
  t.equal((await h.request('POST', '/v2/info', {})).status, 405);
});

// Standbys (HA mode) forward to the leader in front of the API: test/component/marathon-ha-proxy.test.ts.
