import t from 'tap';
import { readFileSync } from 'node:fs';
import {
  applyAppUpdate, isConfigChange, nowTimestamp, parseAppDefinition, renderApp, rollbackVersionOf, VERSION_ONLY_MESSAGE,
  type AppResult,
} from '../../frameworks/marathon/model/index.js';
import type { AppDefinition } from '../../frameworks/marathon/model/types.js';

const t0 = nowTimestamp(Date.UTC(2026, 0, 1));
const t1 = nowTimestamp(Date.UTC(2026, 0, 2));

function ok(r: AppResult): AppDefinition {
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r)}`);
  return r.app;
}
const base = ok(parseAppDefinition({ id: '/web', cmd: 'sleep 100', instances: 2, mem: 64, labels: { a: 'b' } }, { now: t0 }));

t.test('nowTimestamp is Marathon\'s ISO format', async (t) => {
  t.equal(nowTimestamp(Date.UTC(2015, 8, 25, 15, 13, 48, 343)), '2015-09-25T15:13:48.343Z');
});

t.test('partial update merges top-level fields', async (t) => {
  const app = ok(applyAppUpdate(base, { cpus: 0.5 }, { partial: true, now: t1, idFromPath: '/web' }));
  t.match(app, { id: '/web', cmd: 'sleep 100', instances: 2, mem: 64, cpus: 0.5, labels: { a: 'b' } });
  t.same(app.labels, { a: 'b' });
  const labels = ok(applyAppUpdate(base, { labels: { c: 'd' } }, { partial: true, now: t1, idFromPath: '/web' }));
  t.same(labels.labels, { c: 'd' }, 'a given field replaces the old one as a whole');
});

t.test('full replace (PUT partialUpdate=false) resets omitted fields to defaults', async (t) => {
  const app = ok(applyAppUpdate(base, { cmd: 'sleep 5' }, { partial: false, now: t1, idFromPath: '/web' }));
  t.match(app, { id: '/web', cmd: 'sleep 5', instances: 1, mem: 128, labels: {} });
});

t.test('the id in the URL wins over the body', async (t) => {
  t.equal(ok(applyAppUpdate(base, { id: '/other', cpus: 2 }, { partial: true, now: t1, idFromPath: '/web' })).id, '/web');
});

t.test('update of a missing app creates it', async (t) => {
  const app = ok(applyAppUpdate(undefined, { cmd: 'sleep 1' }, { partial: true, now: t1, idFromPath: '/new' }));
  t.match(app, { id: '/new', instances: 1, version: t1, versionInfo: { lastScalingAt: t1, lastConfigChangeAt: t1 } });
});

t.test('versionInfo: instances-only change is a scaling, anything else a config change', async (t) => {
  const scaled = ok(applyAppUpdate(base, { instances: 5 }, { partial: true, now: t1, idFromPath: '/web' }));
  t.equal(scaled.instances, 5);
  t.same([scaled.version, scaled.versionInfo], [t1, { lastScalingAt: t1, lastConfigChangeAt: t0 }]);
  t.notOk(isConfigChange(base, scaled));
  const changed = ok(applyAppUpdate(base, { instances: 5, mem: 32 }, { partial: true, now: t1, idFromPath: '/web' }));
  t.same([changed.version, changed.versionInfo], [t1, { lastScalingAt: t1, lastConfigChangeAt: t1 }]);
  t.ok(isConfigChange(base, changed));
});

t.test('legacy fields in updates replace their canonical fields', async (t) => {
  const withPorts = ok(applyAppUpdate(base, { ports: [8080] }, { partial: true, now: t1, idFromPath: '/web' }));
  t.same(withPorts.portDefinitions, [{ port: 8080, protocol: 'tcp', labels: {} }]);
  const withUris = ok(applyAppUpdate(base, { uris: ['http://x/a.zip'] }, { partial: true, now: t1, idFromPath: '/web' }));
  t.same(withUris.fetch, [{ uri: 'http://x/a.zip', extract: true, executable: false, cache: false }]);
});

t.test('updates are validated like new apps', async (t) => {
  t.match(applyAppUpdate(base, { cpus: -1 }, { partial: true, now: t1, idFromPath: '/web' }),
    { ok: false, message: 'Invalid JSON', details: [{ path: '/cpus', errors: ['error.min'] }] });
  t.match(applyAppUpdate(base, { args: ['x'] }, { partial: true, now: t1, idFromPath: '/web' }),
    { ok: false, message: 'Object is not valid', details: [{ path: '/' }] }, 'cmd and args together');
  t.match(applyAppUpdate(base, { version: t0, cpus: 1 }, { partial: true, now: t1, idFromPath: '/web' }),
    { ok: false, details: [{ path: '/', errors: [VERSION_ONLY_MESSAGE] }] });
});

t.test('rollback requests are recognised for the caller', async (t) => {
  t.equal(rollbackVersionOf({ version: t0 }), t0);
  t.equal(rollbackVersionOf({ id: '/web', version: t0 }), t0);
  t.equal(rollbackVersionOf({ version: t0, cpus: 1 }), undefined);
  t.equal(rollbackVersionOf({ cpus: 1 }), undefined);
});

t.test('inputs are not mutated', async (t) => {
  const before = JSON.stringify(base);
  const body = { labels: { x: 'y' } };
  applyAppUpdate(base, body, { partial: true, now: t1, idFromPath: '/web' });
  t.equal(JSON.stringify(base), before);
  t.same(body, { labels: { x: 'y' } });
});

t.test('re-normalising a stored app is idempotent, so scaling a complex app is not a config change', async (t) => {
  const ref = JSON.parse(readFileSync('/work/shared/reference/marathon-v2/app.json', 'utf8')) as Record<string, unknown>;
  delete ref['args'];
  delete ref['ipAddress'];
  (ref['env'] as Record<string, unknown>)['PASSWORD'] = { secret: 'secret1' };
  const variants: Array<Record<string, unknown>> = [
    ref,
    { id: '/u', cmd: 'sleep 1', networks: [{ name: 'overlay', labels: { a: 'b' } }], readinessChecks: [{ portName: 'default' }] },
    { id: '/h', cmd: 'sleep 1', ports: [0, 0], uris: ['http://x/y.tgz'], healthChecks: [{ protocol: 'TCP', portIndex: 1 }, { protocol: 'COMMAND', command: { value: 'true' } }] },
  ];
  for (const v of variants) {
    const app = ok(parseAppDefinition(v, { now: t0 }));
    const scaled = ok(applyAppUpdate(app, { instances: 7 }, { partial: true, now: t1, idFromPath: app.id }));
    t.notOk(isConfigChange(app, scaled), String(v['id']));
    t.same(scaled.versionInfo.lastConfigChangeAt, t0);
    const same = ok(parseAppDefinition(renderApp(app), { now: t0 }));
    t.notOk(isConfigChange(app, same), `${String(v['id'])} survives render → parse`);
  }
});
