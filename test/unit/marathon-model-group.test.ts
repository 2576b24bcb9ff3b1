import t from 'tap';
import {
  allApps, assignServicePorts, emptyRoot, findApp, findGroup, GROUP_MESSAGES, instanceIdFor, isValidPathId,
  normalizePathId, parseGroup, parseInstanceId, parseTaskId, putApp, putGroup, removeApp, removeGroup,
  renderGroup, renderApp, scaleGroup, servicePortsOf, taskIdFor, validateRoot, parseAppDefinition,
  PortRangeExhaustedError, type GroupResult, type AppResult,
} from '../../frameworks/marathon/model/index.js';
import type { AppDefinition, Group } from '../../frameworks/marathon/model/types.js';

const t0 = '2026-01-01T00:00:00.000Z';
const t1 = '2026-01-02T00:00:00.000Z';

function okGroup(r: GroupResult): Group {
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r)}`);
  return r.group;
}
function okApp(r: AppResult): AppDefinition {
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r)}`);
  return r.app;
}
const app = (id: string, extra: Record<string, unknown> = {}): AppDefinition =>
  okApp(parseAppDefinition({ id, cmd: 'sleep 100', ...extra }, { now: t0 }));

t.test('path ids', async (t) => {
  t.equal(normalizePathId('web', '/prod'), '/prod/web');
  t.equal(normalizePathId('../db', '/prod/web'), '/prod/db');
  t.equal(normalizePathId('/a/b/'), '/a/b');
  t.equal(normalizePathId('/A'), undefined);
  t.ok(isValidPathId('/prod/web-1.x'));
  t.notOk(isValidPathId('prod'));
  t.notOk(isValidPathId('/a_b'));
});

t.test('instance and task ids round-trip', async (t) => {
  const uuid = '1f0cd7e6-b4a4-11ef-9a0f-0242ac110002';
  const instanceId = instanceIdFor('/prod/web', uuid);
  t.equal(instanceId, `prod_web.instance-${uuid}`);
  const taskId = taskIdFor(instanceId, 3);
  t.equal(taskId, `prod_web.instance-${uuid}._app.3`);
  t.same(parseTaskId(taskId), { instanceId, appId: '/prod/web', incarnation: 3 });
  t.same(parseInstanceId(instanceId), { appId: '/prod/web', uuid });
  t.same(parseTaskId(`web.marathon-${uuid}`), { instanceId: `web.marathon-${uuid}`, appId: '/web', incarnation: 0 });
  t.equal(parseTaskId('garbage'), undefined);
});

t.test('parseGroup resolves nested relative ids and dependencies', async (t) => {
  const g = okGroup(parseGroup({
    id: 'prod',
    apps: [{ id: 'db', cmd: 'sleep 1' }],
    groups: [{ id: 'web', dependencies: ['../db'], apps: [{ id: 'front', cmd: 'sleep 1', dependencies: ['back'] }, { id: '/prod/web/back', cmd: 'sleep 1' }] }],
  }, { now: t0 }));
  t.equal(g.id, '/prod');
  t.same(g.apps.map((a) => a.id), ['/prod/db']);
  t.equal(g.groups[0]!.id, '/prod/web');
  t.same(g.groups[0]!.dependencies, ['/prod/db']);
  t.same(g.groups[0]!.apps.map((a) => [a.id, a.dependencies]), [['/prod/web/front', ['/prod/web/back']], ['/prod/web/back', []]]);
  t.equal(g.version, t0);
  const under = okGroup(parseGroup({ id: 'x', apps: [] }, { now: t0, basePath: '/a' }));
  t.equal(under.id, '/a/x');
});

t.test('parseGroup reports errors with Marathon paths', async (t) => {
  t.match(parseGroup({ id: 'g', apps: [{ id: 'a', cmd: 'sleep 1', cpus: 'x' }] }, { now: t0 }),
    { ok: false, message: 'Invalid JSON', details: [{ path: '/apps(0)/cpus', errors: ['error.expected.jsnumber'] }] });
  t.match(parseGroup({ id: 'g', apps: [{ id: 'A', cmd: 'sleep 1' }] }, { now: t0 }),
    { ok: false, message: 'Object is not valid', details: [{ path: '/apps(0)/id' }] });
  t.match(parseGroup({ id: 'g', groups: [{ id: 'h', apps: [{ id: 'a' }] }] }, { now: t0 }),
    { ok: false, details: [{ path: '/groups(0)/apps(0)', errors: ["AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'."] }] });
  t.match(parseGroup({ id: 'g', apps: [{ id: '/elsewhere/a', cmd: 'sleep 1' }] }, { now: t0 }),
    { ok: false, details: [{ path: '/apps(0)/id', errors: ["Identifier is not child of '/g'"] }] });
  t.match(parseGroup({ id: 'g', groups: [{ id: '/other' }] }, { now: t0 }),
    { ok: false, details: [{ path: '/groups(0)/id', errors: ["Identifier is not child of '/g'"] }] });
});

t.test('parseGroup keeps current fields the body omits and unchanged apps as they are', async (t) => {
  const current = okGroup(parseGroup({ id: 'g', dependencies: ['/x'], apps: [{ id: 'a', cmd: 'sleep 1' }, { id: 'b', cmd: 'sleep 1' }] }, { now: t0 }));
  const next = okGroup(parseGroup({ id: 'g', apps: [{ id: 'a', cmd: 'sleep 1' }, { id: 'b', cmd: 'sleep 1', instances: 3 }] }, { now: t1, current }));
  t.same(next.dependencies, ['/x']);
  t.equal(next.apps[0], current.apps[0], 'unchanged app kept');
  t.same(next.apps[1]!.versionInfo, { lastScalingAt: t1, lastConfigChangeAt: t0 }, 'scaled app');
  const noApps = okGroup(parseGroup({ id: 'g', dependencies: [] }, { now: t1, current }));
  t.same(noApps.apps.map((a) => a.id), ['/g/a', '/g/b']);
  t.same(noApps.dependencies, []);
});

t.test('validateRoot: cycles, clashes, duplicates', async (t) => {
  let root = emptyRoot(t0);
  root = putApp(root, app('/a', { dependencies: ['/b'] }));
  root = putApp(root, app('/b'));
  t.same(validateRoot(root), []);
  const cyclic = putApp(root, app('/b', { dependencies: ['/a'] }));
  t.same(validateRoot(cyclic), [{ path: '/', errors: [GROUP_MESSAGES.cycle] }]);
  const viaGroup = putGroup(putApp(putApp(emptyRoot(t0), app('/x/a')), app('/y/b', { dependencies: ['/x'] })),
    { id: '/x', apps: [app('/x/a')], groups: [], dependencies: ['/y'], version: t0 });
  t.same(validateRoot(viaGroup), [{ path: '/', errors: [GROUP_MESSAGES.cycle] }], 'group dependencies count for their apps');
  t.same(validateRoot(putApp(emptyRoot(t0), app('/a', { dependencies: ['/a'] }))), [{ path: '/', errors: [GROUP_MESSAGES.cycle] }]);
  const clash = putApp(putApp(emptyRoot(t0), app('/g/x')), app('/g'));
  t.same(validateRoot(clash), [{ path: '/', errors: [GROUP_MESSAGES.sameId] }]);
  const dup: Group = { ...emptyRoot(t0), apps: [app('/a'), app('/a')] };
  t.equal(validateRoot(dup).length, 1);
  const missing = putApp(emptyRoot(t0), app('/a', { dependencies: ['/nope'] }));
  t.same(validateRoot(missing), [], 'Marathon ignores missing dependencies');
  t.equal(validateRoot(missing, { requireDependencies: true }).length, 1);
});

t.test('tree operations are pure', async (t) => {
  const root0 = emptyRoot(t0);
  const root1 = putApp(root0, app('/prod/web/front'), t1);
  t.same(root0.groups, []);
  t.ok(findGroup(root1, '/prod'));
  t.ok(findGroup(root1, '/prod/web'));
  t.equal(findApp(root1, '/prod/web/front')?.id, '/prod/web/front');
  t.equal(findGroup(root1, '/prod')!.version, t1);
  const root2 = putApp(root1, app('/prod/db'));
  t.same(allApps(root2).map((a) => a.id), ['/prod/db', '/prod/web/front']);
  const root3 = removeApp(root2, '/prod/db');
  t.equal(findApp(root3, '/prod/db'), undefined);
  t.ok(findApp(root2, '/prod/db'), 'old tree unchanged');
  t.equal(removeGroup(root2, '/prod/web').groups[0]!.groups.length, 0);
  t.same(allApps(removeGroup(root2, '/')), []);
});

t.test('scaleGroup multiplies instances (ceil) as a scaling change', async (t) => {
  let root = putApp(emptyRoot(t0), app('/g/a', { instances: 3 }));
  root = putApp(root, app('/g/h/b', { instances: 1 }));
  root = putApp(root, app('/other', { instances: 2 }));
  const scaled = scaleGroup(root, '/g', 1.5, t1);
  t.equal(findApp(scaled, '/g/a')!.instances, 5);
  t.equal(findApp(scaled, '/g/h/b')!.instances, 2);
  t.equal(findApp(scaled, '/other')!.instances, 2);
  t.same(findApp(scaled, '/g/a')!.versionInfo, { lastScalingAt: t1, lastConfigChangeAt: t0 });
});

t.test('service ports: unique, in range, kept across redeploys', async (t) => {
  let root = putApp(emptyRoot(t0), app('/a', { portDefinitions: [{ port: 0 }, { port: 0 }] }));
  root = putApp(root, app('/b', { portDefinitions: [{ port: 10000 }, { port: 0 }] }));
  const assigned = assignServicePorts(root);
  const a = servicePortsOf(findApp(assigned, '/a')!);
  const b = servicePortsOf(findApp(assigned, '/b')!);
  t.same(b[0], 10000);
  const all = [...a, ...b];
  t.equal(new Set(all).size, 4, 'unique');
  t.ok(all.every((p) => p >= 10000 && p < 20000), 'in range');
  // Redeploying /a with port 0 again gets its previous ports back.
  const redeploy = putApp(assigned, app('/a', { portDefinitions: [{ port: 0 }, { port: 0 }], mem: 1 }));
  t.same(servicePortsOf(findApp(assignServicePorts(redeploy, assigned), '/a')!), a);
  // Bridge apps get service ports on their port mappings.
  const bridged = putApp(emptyRoot(t0), app('/c', { cmd: undefined, container: { docker: { image: 'x', network: 'BRIDGE', portMappings: [{ containerPort: 80 }] } } }));
  t.same(servicePortsOf(findApp(assignServicePorts(bridged, undefined, [15000, 15010]), '/c')!), [15000]);
  t.throws(() => assignServicePorts(root, undefined, [10000, 10002]), PortRangeExhaustedError);
});

t.test('renderGroup', async (t) => {
  const root = putApp(emptyRoot(t0), app('/g/a'));
  const out = renderGroup(root, { embedApps: true, embedGroups: true, renderApp });
  t.match(out, { id: '/', apps: [], pods: [], dependencies: [], version: t0, groups: [{ id: '/g', apps: [{ id: '/g/a' }], groups: [] }] });
  t.same(renderGroup(root, { embedApps: false, embedGroups: false, renderApp }).groups, []);
});
