/**
 * planDeployment: Marathon's DeploymentPlan.apply — stops, starts at 0, then scale/restart
 * per dependency level. Assertions are on the pure plan.
 */
import t from 'tap';
import { planDeployment } from '../../frameworks/marathon/plan/index.js';
import type { DeploymentPlan, Group } from '../../frameworks/marathon/model/types.js';
import { app, group, instance } from './marathon-plan-fixtures.js';

const V2 = '2026-01-02T00:00:00.000Z';
const plan = (a: Group, b: Group, toKill?: Record<string, string[]>, instances = [] as ReturnType<typeof instance>[]): DeploymentPlan =>
  planDeployment(a, b, { id: 'p1', version: V2, instances, ...(toKill ? { toKill } : {}) });
/** Compact form: one string per step, `Action:/app[:scaleTo]`. */
const shape = (p: DeploymentPlan): string[] =>
  p.steps.map((s) => s.actions.map((a) => `${a.action}:${a.app}${a.scaleTo !== undefined ? `:${a.scaleTo}` : ''}`).join(' '));

t.test('new app: start at 0, then scale to instances', async (t) => {
  const p = plan(group('/', []), group('/', [app('/web', { instances: 3 })]));
  t.same(shape(p), ['StartApplication:/web:0', 'ScaleApplication:/web:3']);
  t.same(p.affectedApps, ['/web']);
  t.equal(p.id, 'p1');
  t.equal(p.version, V2);
});

t.test('removed app: one stop step', async (t) => {
  const p = plan(group('/', [app('/a'), app('/b')]), group('/', [app('/b')]));
  t.same(shape(p), ['StopApplication:/a']);
  t.same(p.affectedApps, ['/a']);
});

t.test('unchanged root: empty plan', async (t) => {
  const root = group('/', [app('/a')], [group('/g', [app('/g/b')])]);
  const p = plan(root, root);
  t.equal(p.steps.length, 0);
  t.same(p.affectedApps, []);
});

t.test('instances changed only: scale', async (t) => {
  const p = plan(group('/', [app('/a', { instances: 1 })]),
    group('/', [app('/a', { instances: 5, version: V2, versionInfo: { lastScalingAt: V2, lastConfigChangeAt: app('/a').versionInfo.lastConfigChangeAt } })]));
  t.same(shape(p), ['ScaleApplication:/a:5']);
});

t.test('config changed: restart (even with instances changed)', async (t) => {
  const p = plan(group('/', [app('/a')]), group('/', [app('/a', { cmd: 'sleep 2', instances: 4, version: V2 })]));
  t.same(shape(p), ['RestartApplication:/a']);
});

t.test('same config, new version (POST /restart): restart', async (t) => {
  const p = plan(group('/', [app('/a')]), group('/', [app('/a', { version: V2 })]));
  t.same(shape(p), ['RestartApplication:/a']);
});

t.test('toKill: scale with sentencedToDeath (unknown ids dropped)', async (t) => {
  const i1 = instance('/a');
  const i2 = instance('/a');
  const other = instance('/b');
  const p = plan(group('/', [app('/a', { instances: 2 }), app('/b')]),
    group('/', [app('/a', { instances: 1 }), app('/b')]),
    { '/a': [i1.instanceId, 'nope', other.instanceId] }, [i1, i2, other]);
  t.equal(p.steps.length, 1);
  t.same(p.steps[0]!.actions, [{ action: 'ScaleApplication', app: '/a', scaleTo: 1, sentencedToDeath: [i1.instanceId] }]);
});

t.test('dependencies: levels from the longest dependency path', async (t) => {
  const target = group('/', [
    app('/db', { instances: 1 }),
    app('/cache', { instances: 1 }),
    app('/api', { dependencies: ['/db', '/cache'] }),
    app('/web', { dependencies: ['/api'] }),
    app('/batch', { dependencies: ['/db'] }),
  ]);
  const p = plan(group('/', []), target);
  t.same(shape(p), [
    'StartApplication:/api:0 StartApplication:/batch:0 StartApplication:/cache:0 StartApplication:/db:0 StartApplication:/web:0',
    'ScaleApplication:/cache:1 ScaleApplication:/db:1',
    'ScaleApplication:/api:1 ScaleApplication:/batch:1',
    'ScaleApplication:/web:1',
  ]);
  t.same(p.affectedApps, ['/api', '/batch', '/cache', '/db', '/web']);
});

t.test('unaffected dependencies still count for the level; empty levels are dropped', async (t) => {
  const db = app('/db');
  const before = group('/', [db, app('/api', { dependencies: ['/db'] })]);
  const after = group('/', [db, app('/api', { dependencies: ['/db'], cmd: 'new' })]);
  t.same(shape(plan(before, after)), ['RestartApplication:/api']);
});

t.test('group dependencies: every app of the group depends on the named group\'s apps', async (t) => {
  const target = group('/', [], [
    group('/data', [app('/data/db'), app('/data/queue')]),
    group('/front', [app('/front/web')], [group('/front/inner', [app('/front/inner/x')])], ['/data']),
  ]);
  const p = plan(group('/', []), target);
  t.same(shape(p).slice(1), [
    'ScaleApplication:/data/db:1 ScaleApplication:/data/queue:1',
    'ScaleApplication:/front/inner/x:1 ScaleApplication:/front/web:1',
  ]);
});

t.test('stop, start and changes together; a cycle does not hang the planner', async (t) => {
  const before = group('/', [app('/old'), app('/keep', { instances: 1 })]);
  const after = group('/', [app('/new'), app('/keep', { instances: 2 }),
    app('/c1', { dependencies: ['/c2'] }), app('/c2', { dependencies: ['/c1'] })]);
  const p = plan(before, after);
  t.equal(p.steps[0]!.actions[0]!.action, 'StopApplication');
  t.same(p.steps[1]!.actions.map((a) => a.app), ['/c1', '/c2', '/new']);
  t.same(p.affectedApps, ['/c1', '/c2', '/keep', '/new', '/old']);
  const scaleKeep = p.steps.flatMap((s) => s.actions).find((a) => a.app === '/keep');
  t.same(scaleKeep, { action: 'ScaleApplication', app: '/keep', scaleTo: 2 });
});
