/**
 * MarathonService's change rules, without a cluster (the master address answers nothing;
 * no tick runs, so deployments stay in flight): validation leaves everything unchanged, dry
 * runs change nothing, locks answer 'locked' with the blocking deployments, force
 * supersedes, cancelling rolls back, unknown apps are 'not-found'; plans are persisted.
 */
import t from 'tap';
import { MemoryStore } from '../../frameworks/marathon/engine/memory-store.js';
import { MarathonEngine } from '../../frameworks/marathon/engine/service.js';
import { nowTimestamp, parseAppDefinition, putApp } from '../../frameworks/marathon/model/index.js';
import type { AppDefinition, MarathonEvent } from '../../frameworks/marathon/model/types.js';
import { MarathonError } from '../../frameworks/marathon/service.js';
import { silentLogger } from '../../sdk/core/log.js';
import { systemClock } from '../../sdk/core/clock.js';

function app(json: Record<string, unknown>): AppDefinition {
  const r = parseAppDefinition(json, { now: nowTimestamp(Date.now()) });
  if (!r.ok) throw new Error(JSON.stringify(r));
  return r.app;
}

async function rejection(p: Promise<unknown>): Promise<MarathonError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof MarathonError) return err;
    throw err;
  }
  throw new Error('expected a MarathonError');
}

t.test('MarathonService change rules', async (t) => {
  const store = new MemoryStore();
  const engine = await MarathonEngine.create({
    store, clock: systemClock, logger: silentLogger(), master: '127.0.0.1:9', hostname: 'h', httpPort: 8080, version: '0.1.0',
  });
  t.teardown(() => engine.close());
  const events: MarathonEvent[] = [];
  engine.subscribe((e) => events.push(e));
  const put = (a: AppDefinition) => (root: Parameters<typeof putApp>[0], version: string) =>
    putApp(root, { ...a, version, versionInfo: { lastScalingAt: version, lastConfigChangeAt: version } }, version);

  await t.test('an invalid root is refused and changes nothing', async (t) => {
    // A dependency cycle: /a → /b → /a.
    const cycle = (root: Parameters<typeof putApp>[0], version: string): Parameters<typeof putApp>[0] =>
      put(app({ id: '/b', cmd: 'sleep 1', dependencies: ['/a'] }))(put(app({ id: '/a', cmd: 'sleep 1', dependencies: ['/b'] }))(root, version), version);
    const err = await rejection(engine.updateRoot(cycle));
    t.equal(err.kind, 'validation');
    t.equal(err.message, 'Object is not valid');
    t.ok(err.details!.length > 0, 'details name the problem');
    t.same(engine.apps(), []);
    t.equal((await store.load()).root, undefined, 'nothing stored');
    const thrown = await rejection(engine.updateRoot(() => {
      throw new Error('boom');
    }));
    t.equal(thrown.kind, 'bad-request');
  });

  await t.test('dry run plans without applying', async (t) => {
    const plan = await engine.updateRoot(put(app({ id: '/a', cmd: 'sleep 1', instances: 2 })), { dryRun: true });
    t.same(plan.steps.map((s) => s.actions.map((a) => a.action)), [['StartApplication'], ['ScaleApplication']]);
    t.same(engine.apps(), []);
    t.same(engine.deployments(), []);
  });

  let first: string;
  await t.test('a change starts a persisted deployment and locks its apps', async (t) => {
    const plan = await engine.updateRoot(put(app({ id: '/a', cmd: 'sleep 1', instances: 2, portDefinitions: [{ port: 0 }] })));
    first = plan.id;
    t.equal(engine.app('/a')!.instances, 2);
    t.ok(engine.app('/a')!.portDefinitions[0]!.port >= 10000, 'a service port was assigned');
    t.same(engine.deployments().map((d) => d.plan.id), [plan.id]);
    t.equal(engine.deployments()[0]!.currentStep, 1);
    t.same(engine.deploymentsOf('/a'), [plan.id]);
    const stored = await store.load();
    t.same(stored.deployments.map((d) => d.id), [plan.id], 'the plan is stored');
    t.equal(stored.root!.apps[0]!.id, '/a', 'the root is stored');
    t.ok(events.some((e) => e.eventType === 'group_change_success'), 'group_change_success');
    t.ok(events.some((e) => e.eventType === 'deployment_info'), 'deployment_info');

    const locked = await rejection(engine.updateRoot(put(app({ id: '/a', cmd: 'sleep 2', instances: 2 }))));
    t.equal(locked.kind, 'locked');
    t.same(locked.deployments, [plan.id]);
    t.match(locked.message, /App is locked by one or more deployments/);
    t.equal(engine.app('/a')!.cmd, 'sleep 1', 'unchanged');
    const restartLocked = await rejection(engine.restartApp('/a'));
    t.equal(restartLocked.kind, 'locked');
  });

  await t.test('force supersedes the running deployment; cancel rolls back', async (t) => {
    const before = engine.app('/a')!;
    const forced = await engine.updateRoot(put(app({ id: '/a', cmd: 'sleep 2', instances: 2 })), { force: true });
    t.same(engine.deployments().map((d) => d.plan.id), [forced.id], 'only the new deployment runs');
    t.ok(events.some((e) => e.eventType === 'deployment_failed' && e.id === first), 'deployment_failed for the superseded one');
    t.equal(engine.app('/a')!.cmd, 'sleep 2');
    t.same(engine.appVersions('/a'), [engine.app('/a')!.version, before.version], 'both versions, newest first');

    const rollback = await engine.cancelDeployment(forced.id);
    t.ok(rollback, 'a rollback deployment');
    t.equal(engine.app('/a')!.cmd, 'sleep 1', 'back to the original definition');
    t.same(engine.deployments().map((d) => d.plan.id), [rollback!.id]);
    const cancelled = await engine.cancelDeployment(rollback!.id, { force: true });
    t.equal(cancelled?.id, rollback!.id, 'force only stops it');
    t.same(engine.deployments(), []);
    t.equal(await engine.cancelDeployment('nope'), undefined, 'unknown deployment');
  });

  await t.test('unknown apps', async (t) => {
    t.equal((await rejection(engine.restartApp('/missing'))).kind, 'not-found');
    t.equal((await rejection(engine.killInstances('/missing', ['x']))).kind, 'not-found');
    t.equal((await rejection(engine.killAppInstances('/missing'))).kind, 'not-found');
  });

  await t.test('reads: info, metrics, queue', async (t) => {
    t.match(engine.info(), { elected: true, leader: 'h:8080', httpPort: 8080, hostname: 'h', master: '127.0.0.1:9', version: '0.1.0' });
    const metrics = engine.metrics();
    for (const k of ['marathon.apps.active.gauge', 'marathon.tasks.running.gauge', 'marathon.deployments.active.gauge']) t.type(metrics[k], 'number', k);
    t.equal(metrics['marathon.apps.active.gauge'], 1);
    t.same(engine.queue(), [], 'nothing scheduled without ticks');
    t.equal(engine.group('/')!.id, '/');
    t.ok(engine.groupVersions('/')!.length >= 3, 'root versions kept');
  });
});
