import t from 'tap';
import { readFileSync } from 'node:fs';
import {
  APP_MESSAGES, parseAppDefinition, renderApp, type AppResult,
} from '../../frameworks/marathon/model/index.js';
import type { AppDefinition } from '../../frameworks/marathon/model/types.js';

const now = '2026-01-01T00:00:00.000Z';
const ID_ERROR = "must fully match regular expression '^(([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])\\.)*([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])|(\\.|\\.\\.)$'";

function ok(r: AppResult): AppDefinition {
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r)}`);
  return r.app;
}
function parse(json: unknown): AppResult {
  return parseAppDefinition(json, { now });
}
/** The errors reported at `path` (fails the test when the parse succeeded). */
function errorsAt(t: Pick<typeof import('tap').default, 'fail'>, r: AppResult, path: string): string[] {
  if (r.ok) {
    t.fail('expected a failure');
    return [];
  }
  return r.details.find((d) => d.path === path)?.errors ?? [];
}

t.test('a minimal app gets Marathon 1.10 defaults', async (t) => {
  const app = ok(parse({ id: 'web', cmd: 'sleep 100' }));
  t.match(app, {
    id: '/web', cmd: 'sleep 100', env: {}, instances: 1, cpus: 1, mem: 128, disk: 0, gpus: 0, executor: '',
    constraints: [], fetch: [], backoffSeconds: 1, backoffFactor: 1.15, maxLaunchDelaySeconds: 300,
    healthChecks: [], readinessChecks: [], dependencies: [],
    upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 1 }, labels: {},
    portDefinitions: [{ port: 0, protocol: 'tcp', name: 'default', labels: {} }], requirePorts: false,
    killSelection: 'YOUNGEST_FIRST', unreachableStrategy: { inactiveAfterSeconds: 0, expungeAfterSeconds: 0 },
    secrets: {}, networks: [{ mode: 'host' }], role: '*',
    version: now, versionInfo: { lastScalingAt: now, lastConfigChangeAt: now },
  });
  t.equal(app.args, undefined);
  t.equal(app.user, undefined);
  t.equal(app.container, undefined);
  t.equal(app.acceptedResourceRoles, undefined);
});

t.test('ids resolve against the base path; . and .. are canonicalised', async (t) => {
  t.equal(ok(parseAppDefinition({ id: 'web', cmd: 'sleep 1' }, { now, basePath: '/prod' })).id, '/prod/web');
  t.equal(ok(parse({ id: '/a/./b/../c', cmd: 'sleep 1' })).id, '/a/c');
  t.equal(ok(parse({ id: '/a//b/', cmd: 'sleep 1' })).id, '/a/b');
});

t.test('wrong JSON types are "Invalid JSON" with Play paths and messages', async (t) => {
  const r = parse({ id: 123, cmd: 'x' });
  t.match(r, { ok: false, message: 'Invalid JSON' });
  t.same(errorsAt(t, r, '/id'), ['error.expected.jsstring']);
  const r2 = parse({
    id: 'a', cmd: 'sleep 1', cpus: 'one', instances: 1.5, requirePorts: 'yes', labels: { a: 1 },
    env: { A: 2 }, healthChecks: [{ portIndex: 'x' }], constraints: [['a', 1]], args: 'x',
  });
  t.match(r2, { ok: false, message: 'Invalid JSON' });
  t.same(errorsAt(t, r2, '/cpus'), ['error.expected.jsnumber']);
  t.same(errorsAt(t, r2, '/instances'), ['error.expected.int']);
  t.same(errorsAt(t, r2, '/requirePorts'), ['error.expected.jsboolean']);
  t.same(errorsAt(t, r2, '/labels/a'), ['error.expected.jsstring']);
  t.same(errorsAt(t, r2, '/env/A'), ['error.expected.jsstring']);
  t.same(errorsAt(t, r2, '/healthChecks(0)/portIndex'), ['error.expected.jsnumber']);
  t.same(errorsAt(t, r2, '/constraints(0)(1)'), ['error.expected.jsstring']);
  t.same(errorsAt(t, r2, '/args'), ['error.expected.jsarray']);
  t.match(parse('nope'), { ok: false, message: 'Invalid JSON', details: [{ path: '/', errors: ['error.expected.jsobject'] }] });
  t.match(parse({ cmd: 'sleep 1' }), { ok: false, details: [{ path: '/id', errors: ['error.path.missing'] }] });
});

t.test('RAML bounds: error.min / error.max', async (t) => {
  const r = parse({
    id: 'a', cmd: 'sleep 1', cpus: -1, mem: -1, disk: -0.5, gpus: -1, instances: -1, backoffFactor: 0.5,
    backoffSeconds: -1, maxLaunchDelaySeconds: -1, upgradeStrategy: { minimumHealthCapacity: 1.5, maximumOverCapacity: -0.1 },
  });
  t.match(r, { ok: false, message: 'Invalid JSON' });
  for (const p of ['/cpus', '/mem', '/disk', '/gpus', '/instances', '/backoffFactor', '/backoffSeconds', '/maxLaunchDelaySeconds', '/upgradeStrategy/maximumOverCapacity']) {
    t.same(errorsAt(t, r, p), ['error.min'], p);
  }
  t.same(errorsAt(t, r, '/upgradeStrategy/minimumHealthCapacity'), ['error.max']);
  t.ok(parse({ id: 'a', cmd: 'sleep 1', cpus: 0, mem: 0, instances: 0, backoffFactor: 1 }).ok, 'zero is allowed');
  t.same(errorsAt(t, parse({ id: 'a', cmd: 'sleep 1', executor: 'a//b' }), '/executor'), ['error.pattern']);
  t.same(errorsAt(t, parse({ id: 'a', cmd: '' }), '/cmd'), ['error.minLength']);
});

t.test('id validation', async (t) => {
  for (const id of ['/Web', '/a b', '/-dash', '/dash-', '/a_b', '/a#b']) {
    const r = parse({ id, cmd: 'sleep 1' });
    t.match(r, { ok: false, message: 'Object is not valid' }, id);
    t.same(errorsAt(t, r, '/id'), [ID_ERROR], id);
  }
  for (const id of ['/a.b', '/a-b/c1', '/1', '/x.y-z.9']) t.ok(parse({ id, cmd: 'sleep 1' }).ok, id);
  t.same(errorsAt(t, parse({ id: '/a/tasks', cmd: 'sleep 1' }), '/id'),
    ['must not end with any of the following reserved keywords: restart, tasks, versions, ., ..']);
  const root = parse({ id: '/', cmd: 'sleep 1' });
  t.same(errorsAt(t, root, '/id'), [APP_MESSAGES.emptyPath]);
  t.same(errorsAt(t, root, '/'), [APP_MESSAGES.root]);
});

t.test('cmd / args / container rule', async (t) => {
  const msg = "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.";
  t.equal(APP_MESSAGES.cmdArgsContainer, msg);
  t.same(errorsAt(t, parse({ id: 'a' }), '/'), [msg]);
  t.same(errorsAt(t, parse({ id: 'a', cmd: 'sleep 1', args: ['x'] }), '/'), [msg]);
  t.ok(parse({ id: 'a', args: ['sleep', '1'] }).ok);
  t.ok(parse({ id: 'a', container: { docker: { image: 'nginx' } } }).ok, 'a docker container alone');
  t.ok(parse({ id: 'a', cmd: 'sleep 1', args: null }).ok, 'null counts as absent');
  t.same(errorsAt(t, parse({ id: 'a', cmd: 'x' }), '/'), [APP_MESSAGES.emptyCmd], 'Marathon rejects one-character commands');
  t.same(errorsAt(t, parse({ id: 'a', container: { type: 'DOCKER', docker: {} } }), '/container/docker/image'), ['error.path.missing']);
});

t.test('ports: uniqueness, names, legacy ports', async (t) => {
  t.same(errorsAt(t, parse({ id: 'a', cmd: 'sleep 1', portDefinitions: [{ port: 80 }, { port: 80 }] }), '/portDefinitions'),
    [APP_MESSAGES.portsUnique]);
  t.ok(parse({ id: 'a', cmd: 'sleep 1', portDefinitions: [{ port: 0 }, { port: 0 }] }).ok, 'zeros do not clash');
  t.same(errorsAt(t, parse({ id: 'a', cmd: 'sleep 1', portDefinitions: [{ port: 1, name: 'x' }, { port: 2, name: 'x' }] }), '/portDefinitions'),
    [APP_MESSAGES.portNamesUnique]);
  const legacy = ok(parse({ id: 'a', cmd: 'sleep 1', ports: [8080, 0] }));
  t.same(legacy.portDefinitions, [{ port: 8080, protocol: 'tcp', labels: {} }, { port: 0, protocol: 'tcp', labels: {} }]);
  t.same(errorsAt(t, parse({ id: 'a', cmd: 'sleep 1', ports: [1, 1] }), '/'), ['ports must be unique']);
  t.same(errorsAt(t, parse({ id: 'a', cmd: 'sleep 1', ports: [1], portDefinitions: [{ port: 2 }] }), '/'),
    ['cannot specify both ports and port definitions']);
  t.ok(parse({ id: 'a', cmd: 'sleep 1', ports: [1], portDefinitions: [{ port: 1 }] }).ok, 'equivalent ports are fine');
  t.same(ok(parse({ id: 'a', cmd: 'sleep 1', portDefinitions: [] })).portDefinitions, [], 'explicit empty list kept');
});

t.test('legacy uris become fetch entries', async (t) => {
  const app = ok(parse({ id: 'a', cmd: 'sleep 1', uris: ['http://x/a.tgz', 'http://x/run.sh'] }));
  t.same(app.fetch, [
    { uri: 'http://x/a.tgz', extract: true, executable: false, cache: false },
    { uri: 'http://x/run.sh', extract: false, executable: false, cache: false },
  ]);
  t.same(ok(parse({ id: 'a', cmd: 'sleep 1', fetch: [{ uri: 'http://x/y' }] })).fetch,
    [{ uri: 'http://x/y', extract: true, executable: false, cache: false }]);
  t.same(errorsAt(t, parse({ id: 'a', cmd: 'sleep 1', uris: ['a'], fetch: [{ uri: 'b' }] }), '/uris'),
    ['may not be set in conjunction with fetch']);
  t.same(errorsAt(t, parse({ id: 'a', cmd: 'sleep 1', fetch: [{}] }), '/fetch(0)/uri'), ['error.path.missing']);
});

t.test('health checks: defaults and portIndex rule', async (t) => {
  const app = ok(parse({ id: 'a', cmd: 'sleep 1', healthChecks: [{ protocol: 'HTTP' }, { protocol: 'TCP', port: 8080 }, { protocol: 'COMMAND', command: { value: 'true' } }] }));
  t.same(app.healthChecks[0], {
    protocol: 'HTTP', path: '/', portIndex: 0, gracePeriodSeconds: 300, intervalSeconds: 60, timeoutSeconds: 20,
    maxConsecutiveFailures: 3, ignoreHttp1xx: false, delaySeconds: 15, ipProtocol: 'IPv4',
  });
  t.match(app.healthChecks[1], { protocol: 'TCP', port: 8080, portIndex: undefined, path: undefined });
  t.match(app.healthChecks[2], { protocol: 'COMMAND', command: { value: 'true' }, portIndex: undefined });
  t.same(errorsAt(t, parse({ id: 'a', cmd: 'sleep 1', healthChecks: [{ protocol: 'HTTP', portIndex: 1 }] }), '/healthChecks(0)'),
    [APP_MESSAGES.portIndex]);
  t.same(errorsAt(t, parse({ id: 'a', cmd: 'sleep 1', portDefinitions: [], healthChecks: [{ protocol: 'HTTP' }] }), '/healthChecks(0)'),
    [APP_MESSAGES.portIndex], 'no ports at all');
  t.same(errorsAt(t, parse({ id: 'a', cmd: 'sleep 1', healthChecks: [{ protocol: 'MESOS_HTTP' }, { protocol: 'MESOS_TCP' }] }), '/'),
    [APP_MESSAGES.oneMesosHealthCheck]);
  t.same(errorsAt(t, parse({ id: 'a', cmd: 'sleep 1', healthChecks: [{ protocol: 'HTTP', ipProtocol: 'IPv6' }] }), '/healthChecks(0)'),
    [APP_MESSAGES.ipv6]);
  t.same(errorsAt(t, parse({ id: 'a', cmd: 'sleep 1', healthChecks: [{ protocol: 'FOO' }] }), '/healthChecks(0)/protocol'),
    ['error.unknown.enum.literal']);
});

t.test('readiness checks: defaults and rules', async (t) => {
  const app = ok(parse({ id: 'a', cmd: 'sleep 1', portDefinitions: [{ port: 0, name: 'http-api' }], readinessChecks: [{}] }));
  t.same(app.readinessChecks, [{
    name: 'readinessCheck', protocol: 'HTTP', path: '/', portName: 'http-api', intervalSeconds: 30, timeoutSeconds: 10,
    httpStatusCodesForReady: [200], preserveLastResponse: false,
  }]);
  const bad = parse({ id: 'a', cmd: 'sleep 1', readinessChecks: [{ portName: 'nope', intervalSeconds: 5, timeoutSeconds: 5 }] });
  t.same(errorsAt(t, bad, '/readinessChecks(0)/portName'), ['No port definition reference for portName nope']);
  t.same(errorsAt(t, bad, '/readinessChecks(0)/timeoutSeconds'), ['got 5, expected less than 5']);
});

t.test('constraints use launch/constraints messages at /constraints(i)', async (t) => {
  const r = parse({ id: 'a', cmd: 'sleep 1', constraints: [['hostname', 'UNIQUE'], ['rack', 'MAX_PER', 'x'], ['a'], ['a', 'NOPE']] });
  t.match(r, { ok: false, message: 'Object is not valid' });
  t.equal(errorsAt(t, r, '/constraints(0)').length, 0);
  t.same(errorsAt(t, r, '/constraints(1)'), ['MAX_PER requires an integer value']);
  t.same(errorsAt(t, r, '/constraints(2)'), ['Each constraint must have either 2 or 3 fields']);
  t.equal(errorsAt(t, r, '/constraints(3)').length, 1);
  for (const c of [['hostname', 'CLUSTER', 'a'], ['@zone', 'GROUP_BY', '2'], ['rack', 'LIKE', 'r[0-9]'], ['rack', 'UNLIKE', 'x'], ['@region', 'IS', 'us-east']]) {
    t.ok(parse({ id: 'a', cmd: 'sleep 1', constraints: [c] }).ok, c.join(' '));
  }
});

t.test('env, secrets, labels, roles', async (t) => {
  const app = ok(parse({ id: 'a', cmd: 'sleep 1', env: { A: 'x', P: { secret: 's' } }, secrets: { s: { source: '/db' } }, labels: { k: 'v' } }));
  t.same(app.env, { A: 'x', P: { secret: 's' } });
  t.same(app.secrets, { s: { source: '/db' } });
  t.same(errorsAt(t, parse({ id: 'a', cmd: 'sleep 1', env: { P: { secret: 'missing' } } }), '/env/P/secret'),
    ['references an undefined secret']);
  t.same(errorsAt(t, parse({ id: 'a', cmd: 'sleep 1', acceptedResourceRoles: [] }), '/acceptedResourceRoles'), [APP_MESSAGES.notEmpty]);
  t.ok(parse({ id: 'a', cmd: 'sleep 1', acceptedResourceRoles: ['*', 'prod'] }).ok);
  t.same(errorsAt(t, parse({ id: 'a', cmd: 'sleep 1', acceptedResourceRoles: ['-x', 'a b'] }), '/acceptedResourceRoles'),
    ["A role name must not start with a '-'.", 'A role name must not include a space (\\x20) character.']);
  t.equal(ok(parseAppDefinition({ id: 'a', cmd: 'sleep 1' }, { now, defaultRole: 'marathon' })).role, 'marathon');
  t.equal(ok(parse({ id: 'a', cmd: 'sleep 1', role: 'r' })).role, 'r');
});

t.test('unknown top-level fields are ignored', async (t) => {
  const app = ok(parse({ id: 'a', cmd: 'sleep 1', tty: true, somethingElse: { x: 1 } }));
  t.notOk('tty' in app);
  t.notOk('somethingElse' in renderApp(app));
});

t.test('single-instance label and unreachable strategy rules', async (t) => {
  const r = parse({ id: 'a', cmd: 'sleep 1', instances: 2, labels: { MARATHON_SINGLE_INSTANCE_APP: 'true' } });
  t.same(errorsAt(t, r, '/'), [APP_MESSAGES.singleInstance]);
  t.same(errorsAt(t, parse({ id: 'a', cmd: 'sleep 1', unreachableStrategy: { inactiveAfterSeconds: 10, expungeAfterSeconds: 5 } }), '/unreachableStrategy/inactiveAfterSeconds'),
    ['inactiveAfterSeconds (10) must be less or equal to expungeAfterSeconds, which is 5']);
  t.same(ok(parse({ id: 'a', cmd: 'sleep 1', unreachableStrategy: { inactiveAfterSeconds: 60, expungeAfterSeconds: 120 } })).unreachableStrategy,
    { inactiveAfterSeconds: 60, expungeAfterSeconds: 120 });
});

t.test('networking: docker BRIDGE becomes container/bridge with port mappings', async (t) => {
  const app = ok(parse({
    id: 'a', container: { type: 'DOCKER', docker: { image: 'nginx', network: 'BRIDGE', portMappings: [{ containerPort: 80 }] } },
  }));
  t.same(app.networks, [{ mode: 'container/bridge' }]);
  t.same(app.portDefinitions, []);
  t.same(app.container, {
    type: 'DOCKER', docker: { forcePullImage: false, image: 'nginx', parameters: [], privileged: false }, volumes: [],
    portMappings: [{ containerPort: 80, hostPort: 0, labels: {}, protocol: 'tcp', servicePort: 0 }],
  });
  const host = ok(parse({ id: 'a', networks: [{ mode: 'host' }], container: { docker: { image: 'nginx', portMappings: [{ containerPort: 80 }] } } }));
  t.equal(host.container?.['portMappings'], undefined, 'port mappings are dropped for host networking');
  t.same(host.portDefinitions, [{ port: 0, protocol: 'tcp', name: 'default', labels: {} }]);
  t.same(errorsAt(t, parse({ id: 'a', networks: [{ mode: 'host' }], container: { docker: { image: 'x', network: 'HOST' } } }), '/'),
    ['must not specify both container.docker.network and networks']);
  const userNet = ok(parse({ id: 'a', cmd: 'sleep 1', networks: [{ name: 'dcos' }] }));
  t.same(userNet.networks, [{ mode: 'container', name: 'dcos' }]);
  t.match(userNet.container, { type: 'MESOS', portMappings: [{ name: 'default', containerPort: 0 }] });
  t.equal(userNet.requirePorts, false);
});

t.test('renderApp on the reference app.json writes Marathon 1.10 fields', async (t) => {
  const ref = JSON.parse(readFileSync('/work/shared/reference/marathon-v2/app.json', 'utf8')) as Record<string, unknown>;
  // The reference example is not a valid app as given: Marathon rejects cmd together with
  // args, ipAddress.discovery on a Docker container, and an env secret naming no declared secret.
  const asIs = parse(ref);
  t.match(asIs, { ok: false, message: 'Object is not valid' });
  delete ref['args'];
  delete ref['ipAddress'];
  (ref['env'] as Record<string, unknown>)['PASSWORD'] = { secret: 'secret1' };
  const out = renderApp(ok(parse(ref)));
  t.same(Object.keys(out), [
    'id', 'cmd', 'user', 'env', 'instances', 'cpus', 'mem', 'disk', 'gpus', 'executor', 'constraints', 'fetch',
    'backoffSeconds', 'backoffFactor', 'maxLaunchDelaySeconds', 'container', 'healthChecks', 'readinessChecks',
    'dependencies', 'upgradeStrategy', 'labels', 'acceptedResourceRoles', 'requirePorts', 'version', 'versionInfo',
    'killSelection', 'unreachableStrategy', 'taskKillGracePeriodSeconds', 'secrets', 'networks', 'role',
  ]);
  t.match(out, {
    id: '/foo', cmd: 'sleep 1000', instances: 2, cpus: 0.1, mem: 16, maxLaunchDelaySeconds: 3600,
    networks: [{ mode: 'container/bridge' }],
    container: { type: 'DOCKER', portMappings: [{ containerPort: 80, hostPort: 0, servicePort: 10019, name: 'http', protocol: 'tcp', labels: { vip: '192.168.0.1:80' } }] },
    fetch: [{ uri: 'https://foo.com/setup.py', extract: true, executable: false, cache: false }, { destPath: 'newname.zip', cache: true }],
    healthChecks: [{ protocol: 'HTTP', path: '/', portIndex: 0, intervalSeconds: 20, ignoreHttp1xx: false }],
  });
  t.notOk('portDefinitions' in out, 'no port definitions for bridge networking');
  t.notOk('ipAddress' in out);
});

t.test('renderApp omits empty omitEmpty collections and absent optionals', async (t) => {
  const out = renderApp(ok(parse({ id: 'a', cmd: 'sleep 1' })));
  for (const k of ['args', 'env', 'constraints', 'fetch', 'healthChecks', 'readinessChecks', 'dependencies', 'secrets', 'user', 'container', 'acceptedResourceRoles', 'taskKillGracePeriodSeconds']) {
    t.notOk(k in out, k);
  }
  t.same(out['portDefinitions'], [{ port: 0, protocol: 'tcp', name: 'default' }]);
  t.same(out['labels'], {});
  t.same(out['networks'], [{ mode: 'host' }]);
  const round = ok(parse(out));
  t.same(renderApp(round), out, 'rendered JSON parses back to the same app');
});
