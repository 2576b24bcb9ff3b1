/**
 * The engine's pure pieces: Mesos states → conditions, the TaskInfo Marathon builds (env,
 * command, health check, kill policy), offer packing, event shapes.
 */
import t from 'tap';
import { conditionOf, isActive } from '../../frameworks/marathon/engine/conditions.js';
import { instanceChangedEvent, statusUpdateEvent } from '../../frameworks/marathon/engine/events.js';
import { attributesOf, matchOffers } from '../../frameworks/marathon/engine/offer-matcher.js';
import { buildTaskInfo, mesosHealthCheck, taskNameOf } from '../../frameworks/marathon/engine/task-builder.js';
import { marathonFrameworkInfo } from '../../frameworks/marathon/engine/framework.js';
import { nowTimestamp, parseAppDefinition } from '../../frameworks/marathon/model/index.js';
import type { AppDefinition, Instance } from '../../frameworks/marathon/model/types.js';
import type { Offer } from '../../sdk/protocol/index.js';
import { parseResources } from '../../sdk/resources/index.js';

function app(json: Record<string, unknown>): AppDefinition {
  const r = parseAppDefinition(json, { now: nowTimestamp(Date.UTC(2026, 0, 1)) });
  if (!r.ok) throw new Error(JSON.stringify(r));
  return r.app;
}

function scheduled(a: AppDefinition, n: number): Instance {
  const instanceId = `${a.id.slice(1)}.instance-${n}`;
  return { instanceId, appId: a.id, runSpecVersion: a.version, taskId: `${instanceId}._app.1`, incarnation: 1, condition: 'Scheduled', hostPorts: [], goal: 'Running' };
}

function offer(id: string, spec: string): Offer {
  return {
    id: { value: id }, framework_id: { value: 'fw' }, agent_id: { value: `agent-${id}` }, hostname: `host-${id}`,
    resources: parseResources(spec), attributes: [{ name: 'rack', type: 'TEXT', text: { value: 'r1' } }],
  };
}

t.test('Mesos task states map to Marathon conditions', async (t) => {
  const expected: Record<string, string> = {
    TASK_STAGING: 'Staging', TASK_STARTING: 'Starting', TASK_RUNNING: 'Running', TASK_KILLING: 'Killing', TASK_FINISHED: 'Finished',
    TASK_FAILED: 'Failed', TASK_KILLED: 'Killed', TASK_ERROR: 'Error', TASK_LOST: 'Unreachable', TASK_UNREACHABLE: 'Unreachable',
    TASK_DROPPED: 'Dropped', TASK_GONE: 'Gone', TASK_GONE_BY_OPERATOR: 'Gone', TASK_UNKNOWN: 'Unknown',
  };
  for (const [state, condition] of Object.entries(expected)) t.equal(conditionOf(state as never), condition, state);
  const base = scheduled(app({ id: '/a', cmd: 'sleep 1' }), 1);
  t.ok(isActive(base), 'scheduled counts');
  t.notOk(isActive({ ...base, condition: 'UnreachableInactive' }), 'inactive does not');
  t.notOk(isActive({ ...base, goal: 'Decommissioned' }), 'decommissioned does not');
  t.notOk(isActive({ ...base, condition: 'Failed' }), 'terminal does not');
});

t.test('the TaskInfo Marathon builds', async (t) => {
  const a = app({
    id: '/prod/web', cmd: 'python3 -m http.server $PORT0', cpus: 0.5, mem: 64, env: { A: '1' }, labels: { team: 'x' },
    portDefinitions: [{ port: 10001, name: 'http' }, { port: 0 }], taskKillGracePeriodSeconds: 3,
    fetch: [{ uri: 'http://example.com/x.tgz' }],
    healthChecks: [{ protocol: 'MESOS_HTTP', portIndex: 1, path: '/health', intervalSeconds: 5 }],
  });
  const task = buildTaskInfo(a, { taskId: 'prod_web.instance-1._app.1' }, { agentId: 'S0', hostname: 'h1', resources: parseResources('cpus:0.5;mem:64'), hostPorts: [31000, 31001] });
  t.equal(task.name, 'web.prod');
  t.equal(taskNameOf('/a/b/c'), 'c.b.a');
  t.same(task.task_id, { value: 'prod_web.instance-1._app.1' });
  t.same(task.agent_id, { value: 'S0' });
  t.equal(task.command?.shell, true);
  t.equal(task.command?.value, 'python3 -m http.server $PORT0');
  const env = Object.fromEntries((task.command?.environment?.variables ?? []).map((v) => [v.name, v.value]));
  t.match(env, {
    A: '1', PORT0: '31000', PORT1: '31001', PORT: '31000', PORTS: '31000,31001', PORT_10001: '31000', PORT_HTTP: '31000',
    HOST: 'h1', MESOS_TASK_ID: 'prod_web.instance-1._app.1', MARATHON_APP_ID: '/prod/web', MARATHON_APP_VERSION: a.version,
    MARATHON_APP_RESOURCE_CPUS: '0.5', MARATHON_APP_RESOURCE_MEM: '64.0', MARATHON_APP_RESOURCE_DISK: '0.0', MARATHON_APP_RESOURCE_GPUS: '0',
    MARATHON_APP_LABELS: 'TEAM', MARATHON_APP_LABEL_TEAM: 'x',
  });
  t.same(task.labels, { labels: [{ key: 'team', value: 'x' }] });
  t.same(task.kill_policy, { grace_period: { nanoseconds: 3e9 } });
  t.equal(task.command?.uris?.[0]?.value, 'http://example.com/x.tgz');
  t.match(task.health_check, { type: 'HTTP', http: { port: 31001, path: '/health', scheme: 'http' }, interval_seconds: 5 });

  const argsApp = app({ id: '/args', args: ['/bin/echo', 'hi'] });
  const argsTask = buildTaskInfo(argsApp, { taskId: 't' }, { agentId: 'S0', hostname: 'h', resources: [], hostPorts: [] });
  t.match(argsTask.command, { shell: false, value: '/bin/echo', arguments: ['/bin/echo', 'hi'] });
  t.equal(argsTask.health_check, undefined);
  t.notOk('PORT' in Object.fromEntries((argsTask.command?.environment?.variables ?? []).map((v) => [v.name, v.value])), 'no PORT without ports');
});

t.test('Mesos-side health checks only', async (t) => {
  const check = (protocol: string): ReturnType<typeof mesosHealthCheck> => mesosHealthCheck({ ...app({ id: '/x', cmd: 'sleep 1', healthChecks: [{ protocol, ...(protocol === 'COMMAND' ? { command: { value: 'true' } } : {}) }] }).healthChecks[0]! }, [31000]);
  t.match(check('COMMAND'), { type: 'COMMAND', command: { value: 'true' } });
  t.match(check('MESOS_TCP'), { type: 'TCP', tcp: { port: 31000 } });
  t.match(check('MESOS_HTTPS'), { type: 'HTTP', http: { scheme: 'https' } });
  t.equal(check('HTTP'), undefined, 'HTTP is run by Marathon');
  t.equal(check('TCP'), undefined, 'TCP is run by Marathon');
});

t.test('offers: several instances per offer, first fit, misses reported', async (t) => {
  const small = app({ id: '/small', cmd: 'sleep 1', cpus: 1, mem: 32 });
  const big = app({ id: '/big', cmd: 'sleep 1', cpus: 8, mem: 32 });
  const r = matchOffers(
    [offer('1', 'cpus:2.5;mem:1024;ports:[31000-31010]'), offer('2', 'cpus:4;mem:1024;ports:[32000-32010]')],
    [
      { app: big, scheduled: [scheduled(big, 1)], placed: [] },
      { app: small, scheduled: [1, 2, 3, 4].map((n) => scheduled(small, n)), placed: [] },
    ],
  );
  t.same(r.launches.map((l) => [l.offer.id.value, l.matched.map((m) => m.instance.instanceId)]), [
    ['1', ['small.instance-1', 'small.instance-2']],
    ['2', ['small.instance-3', 'small.instance-4']],
  ]);
  t.same(r.unused, []);
  t.same(r.launches[0]!.matched.map((m) => m.hostPorts), [[31000], [31001]], 'distinct ports in one offer');
  t.equal(r.launches[0]!.matched[0]!.instance.host, 'host-1');
  t.same(r.launches[0]!.matched[0]!.instance.agentAttributes, { rack: 'r1' });
  t.ok(r.stats.get('/big')!.reasons.includes('InsufficientCpus'), 'why /big did not fit');
  t.same(attributesOf([{ name: 'n', type: 'SCALAR', scalar: { value: 2 } }]), { n: '2' });

  const capped = matchOffers([offer('3', 'cpus:100;mem:10000;ports:[31000-31100]')], [{ app: small, scheduled: [1, 2, 3, 4, 5, 6, 7].map((n) => scheduled(small, n)), placed: [] }], 5);
  t.equal(capped.launches[0]!.matched.length, 5, 'at most 5 per offer');
  const none = matchOffers([offer('4', 'cpus:0.1;mem:10')], [{ app: small, scheduled: [scheduled(small, 1)], placed: [] }]);
  t.same(none.unused.map((o) => o.id.value), ['4'], 'unused offers returned for declining');
});

t.test('FrameworkInfo and event shapes', async (t) => {
  t.match(marathonFrameworkInfo({ name: 'marathon', failoverTimeoutSeconds: 604800, frameworkId: 'fw-1', user: 'me' }), {
    user: 'me', name: 'marathon', id: { value: 'fw-1' }, failover_timeout: 604800, checkpoint: true, roles: ['*'],
    capabilities: [{ type: 'PARTITION_AWARE' }, { type: 'TASK_KILLING_STATE' }, { type: 'MULTI_ROLE' }],
  });
  const i: Instance = { ...scheduled(app({ id: '/a', cmd: 'sleep 1' }), 1), condition: 'Running', agentId: 'S0', host: '10.0.0.1', hostPorts: [31000] };
  const status = statusUpdateEvent({ task_id: { value: i.taskId }, state: 'TASK_RUNNING', agent_id: { value: 'S0' } }, i, '2026-01-01T00:00:00.000Z');
  t.same(Object.keys(status).sort(), ['appId', 'eventType', 'host', 'ipAddresses', 'message', 'ports', 'slaveId', 'taskId', 'taskStatus', 'timestamp', 'version'].sort());
  t.same(status.ipAddresses, [{ ipAddress: '10.0.0.1', protocol: 'IPv4' }]);
  const changed = instanceChangedEvent(i, '2026-01-01T00:00:00.000Z');
  t.same(Object.keys(changed).sort(), ['agentId', 'condition', 'eventType', 'goal', 'host', 'instanceId', 'runSpecId', 'runSpecVersion', 'timestamp'].sort());
});
