/**
 * The operator API: pure renderers against a hand-built MasterState (values, shapes,
 * counts), then the router over a real HTTP server on 127.0.0.1 for status codes and
 * headers.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import t from 'tap';
import { emptyCounters, type AgentRecord, type FrameworkRecord, type MasterState, type TaskRecord } from '../../master/model.js';
import {
  COUNTER_METRICS, createOperatorRouter, metricsSnapshot, parseTasksQuery, prometheusName, renderAttributes,
  renderFrameworks, renderPrometheus, renderResources, renderSlaves, renderSlavesJson, renderState, renderStateJson, renderStateSummary, renderTasks,
  AGORA_VERSION, renderVersion, unpackIp, type RenderContext,
} from '../../master/operator/index.js';
import type { Clock } from '../../sdk/core/clock.js';
import type { MasterInfo, Resource, TaskState } from '../../sdk/protocol/index.js';

const T0 = 1_700_000_000_000;

function scalar(name: string, value: number, extra: Partial<Resource> = {}): Resource {
  return { name, type: 'SCALAR', scalar: { value }, ...extra };
}
function ports(begin: number, end: number, extra: Partial<Resource> = {}): Resource {
  return { name: 'ports', type: 'RANGES', ranges: { range: [{ begin, end }] }, ...extra };
}

const masterInfo: MasterInfo = {
  id: 'm1', ip: 16777343, port: 5050, hostname: 'master.local', version: '1.11.0',
  address: { hostname: 'master.local', ip: '127.0.0.1', port: 5050 },
};

function agent(id: string, extra: Partial<AgentRecord> = {}): AgentRecord {
  const total = [scalar('cpus', 4), scalar('mem', 4096), scalar('disk', 10000), ports(31000, 32000)];
  return {
    id, info: { hostname: `${id}.local`, port: 5051 }, hostname: `${id}.local`, port: 5051, ip: '10.0.0.1',
    attributes: [
      { name: 'rack', type: 'TEXT', text: { value: 'r1' } },
      { name: 'level', type: 'SCALAR', scalar: { value: 3 } },
      { name: 'p', type: 'RANGES', ranges: { range: [{ begin: 1, end: 2 }] } },
    ],
    total, used: [], offered: [], version: '1.11.0', registeredAt: T0, active: true, missedPings: 0,
    ...extra,
  };
}

function framework(id: string, extra: Partial<FrameworkRecord> = {}): FrameworkRecord {
  return {
    id, info: { user: 'root', name: `name-${id}`, failover_timeout: 604800, checkpoint: true, roles: ['web'], hostname: 'sched.local', principal: 'p1' },
    roles: ['web'], capabilities: new Set(['MULTI_ROLE']), connected: true, streamId: 's', registeredAt: T0 + 1000,
    suppressedRoles: new Set(), used: [], offered: [], executors: new Map(), ...extra,
  };
}

function task(frameworkId: string, id: string, agentId: string, state: TaskState, startedAt: number, cpus = 1): TaskRecord {
  const resources = [scalar('cpus', cpus, { allocation_info: { role: 'web' } }), scalar('mem', 128, { allocation_info: { role: 'web' } })];
  return {
    frameworkId, agentId, state, resources,
    info: { name: `task ${id}`, task_id: { value: id }, agent_id: { value: agentId }, resources, labels: { labels: [{ key: 'k', value: 'v' }] } },
    statuses: [{ task_id: { value: id }, state: 'TASK_STAGING', timestamp: startedAt / 1000 }, { task_id: { value: id }, state, timestamp: startedAt / 1000 + 1 }],
  };
}

/**
 * Two agents (a1 active with two running tasks and a staging one, a2 inactive), one
 * connected framework fw1, one disconnected fw2, one outstanding offer, two completed
 * tasks, an unreachable agent id, and a task of an unknown framework.
 */
function buildState(): MasterState {
  const s: MasterState = {
    info: masterInfo, startedAt: T0, electedAt: T0 + 500,
    agents: new Map(), frameworks: new Map(), tasks: new Map(), completedTasks: [], completedFrameworks: [],
    offers: new Map(), unreachableAgents: new Map([['gone-S9', T0]]), goneAgents: new Map(), counters: { ...emptyCounters(), tasksFinished: 7, tasksFailed: 2, slaveRegistrations: 2, offersDeclined: 3 },
  };
  s.agents.set('m1-S0', agent('m1-S0', {
    used: [scalar('cpus', 3), scalar('mem', 384)],
    offered: [scalar('cpus', 1, { allocation_info: { role: 'web' } })],
    total: [scalar('cpus', 4), scalar('mem', 4096), scalar('disk', 10000), ports(31000, 32000), scalar('cpus', 2, { reservations: [{ type: 'STATIC', role: 'db' }] })],
  }));
  s.agents.set('m1-S1', agent('m1-S1', { active: false, reregisteredAt: T0 + 9000 }));
  const fw1 = framework('m1-0000', { used: [scalar('cpus', 3), scalar('mem', 384)], offered: [scalar('cpus', 1)] });
  fw1.executors.set('m1-S0', new Map([['ex1', { executor_id: { value: 'ex1' }, name: 'custom', command: { value: 'run' } }]]));
  s.frameworks.set(fw1.id, fw1);
  s.frameworks.set('m1-0001', framework('m1-0001', { connected: false, unregisteredAt: T0 + 5000, info: { user: 'u', name: 'old', role: 'batch' }, roles: ['batch'] }));
  s.tasks.set('m1-0000', new Map([
    ['t1', task('m1-0000', 't1', 'm1-S0', 'TASK_RUNNING', T0 + 10_000)],
    ['t2', task('m1-0000', 't2', 'm1-S0', 'TASK_RUNNING', T0 + 20_000)],
    ['t3', task('m1-0000', 't3', 'm1-S0', 'TASK_STAGING', T0 + 30_000)],
    ['t4', task('m1-0000', 't4', 'm1-S1', 'TASK_UNREACHABLE', T0 + 5_000)],
  ]));
  s.tasks.set('unknown-fw', new Map([['orphan', task('unknown-fw', 'orphan', 'm1-S0', 'TASK_RUNNING', T0 + 1)]]));
  s.completedTasks.push(task('m1-0000', 'done1', 'm1-S0', 'TASK_FINISHED', T0 + 2_000), task('m1-0000', 'done2', 'm1-S0', 'TASK_FAILED', T0 + 3_000));
  s.offers.set('m1-O1', { id: 'm1-O1', frameworkId: 'm1-0000', agentId: 'm1-S0', role: 'web', resources: [scalar('cpus', 1, { allocation_info: { role: 'web' } })], unallocated: [scalar('cpus', 1)], createdAt: T0 });
  return s;
}

const build = { date: '2024-01-01 00:00:00', time: 1704067200, user: 'agora', gitSha: 'abc123' };
function ctx(extra: Partial<RenderContext> = {}): RenderContext {
  return { now: T0 + 60_000, isLeader: true, flags: { port: '5050', quorum: '1' }, build, ...extra };
}
type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

t.test('resources render as Mesos resource objects', async (t) => {
  t.same(renderResources([]), { cpus: 0, gpus: 0, mem: 0, disk: 0 }, 'cpus, gpus, mem, disk are always present');
  t.same(
    renderResources([scalar('cpus', 1.5), scalar('cpus', 0.5, { reservations: [{ type: 'STATIC', role: 'r' }] }), ports(31000, 31005), ports(31010, 31020), { name: 'zones', type: 'SET', set: { item: ['b', 'a'] } }]),
    { cpus: 2, gpus: 0, mem: 0, disk: 0, ports: '[31000-31005, 31010-31020]', zones: '{a, b}' },
  );
  t.same(renderAttributes(agent('x').attributes), { rack: 'r1', level: 3, p: '[1-2]' });
  t.equal(unpackIp(16777343), '127.0.0.1', 'MasterInfo.ip is packed in network order');
});

t.test('/master/state: top level', async (t) => {
  const s = buildState();
  const out = renderState(s, ctx()) as J;
  t.equal(out.version, '1.11.0');
  t.equal(out.git_sha, 'abc123');
  t.equal(out.build_time, 1704067200);
  t.equal(out.start_time, T0 / 1000);
  t.equal(out.elected_time, (T0 + 500) / 1000);
  t.equal(out.id, 'm1');
  t.equal(out.pid, 'master@127.0.0.1:5050');
  t.equal(out.hostname, 'master.local');
  t.equal(out.leader, 'master@127.0.0.1:5050');
  t.same(out.leader_info, masterInfo);
  t.equal(out.activated_slaves, 1);
  t.equal(out.deactivated_slaves, 1);
  t.equal(out.unreachable_slaves, 1);
  t.same(out.flags, { port: '5050', quorum: '1' });
  t.equal(out.slaves.length, 2);
  t.equal(out.frameworks.length, 2);
  t.same(out.completed_frameworks, []);
  t.same(out.orphan_tasks.map((x: J) => x.id), ['orphan']);
  t.same(out.unregistered_frameworks, ['unknown-fw']);
  t.same(JSON.parse(JSON.stringify(out)), out, 'plain JSON (no Maps or Sets)');

  const standby = renderState({ ...s, leader: { ...masterInfo, id: 'm2', hostname: 'other', address: { ip: '10.0.0.9', port: 5050 } } }, ctx({ isLeader: false })) as J;
  t.equal(standby.leader, 'master@10.0.0.9:5050', 'a standby names the leader');
  t.notOk('elected_time' in standby, 'a standby was not elected');
  const alone = renderState(s, ctx({ isLeader: false })) as J;
  t.notOk('leader' in alone, 'no leader known, no leader field');
});

t.test('/master/state: slaves', async (t) => {
  const [a1, a2] = (renderState(buildState(), ctx()) as J).slaves as J[];
  t.equal(a1!.id, 'm1-S0');
  t.equal(a1!.pid, 'slave(1)@10.0.0.1:5051');
  t.equal(a1!.hostname, 'm1-S0.local');
  t.equal(a1!.port, 5051);
  t.same(a1!.resources, { cpus: 6, gpus: 0, mem: 4096, disk: 10000, ports: '[31000-32000]' });
  t.same(a1!.unreserved_resources, { cpus: 4, gpus: 0, mem: 4096, disk: 10000, ports: '[31000-32000]' });
  t.same(a1!.reserved_resources, { db: { cpus: 2, gpus: 0, mem: 0, disk: 0 } });
  t.same(a1!.used_resources, { cpus: 3, gpus: 0, mem: 384, disk: 0 });
  t.same(a1!.offered_resources, { cpus: 1, gpus: 0, mem: 0, disk: 0 });
  t.same(a1!.attributes, { rack: 'r1', level: 3, p: '[1-2]' });
  t.equal(a1!.registered_time, T0 / 1000);
  t.notOk('reregistered_time' in a1!);
  t.equal(a1!.active, true);
  t.equal(a1!.version, '1.11.0');
  t.ok(Array.isArray(a1!.capabilities));
  t.equal(a2!.active, false);
  t.equal(a2!.reregistered_time, (T0 + 9000) / 1000);
});

t.test('/master/state: frameworks and tasks', async (t) => {
  const [fw1, fw2] = (renderState(buildState(), ctx()) as J).frameworks as J[];
  t.equal(fw1!.id, 'm1-0000');
  t.equal(fw1!.name, 'name-m1-0000');
  t.equal(fw1!.user, 'root');
  t.equal(fw1!.hostname, 'sched.local');
  t.equal(fw1!.webui_url, '');
  t.equal(fw1!.active, true);
  t.equal(fw1!.connected, true);
  t.equal(fw1!.recovered, false);
  t.equal(fw1!.role, 'web');
  t.same(fw1!.roles, ['web']);
  t.same(fw1!.capabilities, ['MULTI_ROLE']);
  t.equal(fw1!.failover_timeout, 604800);
  t.equal(fw1!.checkpoint, true);
  t.equal(fw1!.principal, 'p1');
  t.equal(fw1!.registered_time, (T0 + 1000) / 1000);
  t.equal(fw1!.unregistered_time, 0);
  t.same(fw1!.used_resources, { cpus: 3, gpus: 0, mem: 384, disk: 0 });
  t.same(fw1!.offered_resources, { cpus: 1, gpus: 0, mem: 0, disk: 0 });
  t.same(fw1!.allocated_resources, { cpus: 4, gpus: 0, mem: 384, disk: 0 }, 'allocated = used + offered');
  t.same(fw1!.tasks.map((x: J) => x.id), ['t1', 't2', 't3']);
  t.same(fw1!.unreachable_tasks.map((x: J) => x.id), ['t4']);
  t.same(fw1!.completed_tasks.map((x: J) => x.id), ['done1', 'done2']);
  t.same(fw1!.offers, [{ id: 'm1-O1', framework_id: 'm1-0000', allocation_info: { role: 'web' }, slave_id: 'm1-S0', resources: { cpus: 1, gpus: 0, mem: 0, disk: 0 } }]);
  t.equal(fw1!.executors.length, 1);
  t.match(fw1!.executors[0], { executor_id: 'ex1', name: 'custom', framework_id: 'm1-0000', slave_id: 'm1-S0', command: { value: 'run' } });

  const t1 = fw1!.tasks[0] as J;
  t.same(t1, {
    id: 't1', name: 'task t1', framework_id: 'm1-0000', executor_id: '', slave_id: 'm1-S0', state: 'TASK_RUNNING',
    resources: { cpus: 1, gpus: 0, mem: 128, disk: 0 }, role: 'web',
    statuses: [{ state: 'TASK_STAGING', timestamp: (T0 + 10_000) / 1000 }, { state: 'TASK_RUNNING', timestamp: (T0 + 10_000) / 1000 + 1 }],
    labels: [{ key: 'k', value: 'v' }],
  });

  t.equal(fw2!.active, false);
  t.equal(fw2!.connected, false);
  t.equal(fw2!.role, 'batch');
  t.equal(fw2!.unregistered_time, (T0 + 5000) / 1000);
  t.same(fw2!.tasks, []);
});

t.test('/master/frameworks and /master/slaves', async (t) => {
  const s = buildState();
  s.completedFrameworks.push(framework('m1-old', { connected: false }));
  const fws = renderFrameworks(s) as J;
  t.same(fws.frameworks.map((f: J) => f.id), ['m1-0000', 'm1-0001']);
  t.same(fws.completed_frameworks.map((f: J) => f.id), ['m1-old']);
  t.same(fws.unregistered_frameworks, ['unknown-fw']);
  const slaves = renderSlaves(s) as J;
  t.same(slaves.slaves.map((a: J) => a.id), ['m1-S0', 'm1-S1']);
  t.same(slaves.recovered_slaves, []);
});

t.test('/master/state and /master/slaves text is the plain render, byte for byte, as agents change', async (t) => {
  const s = buildState();
  const check = (what: string, c = ctx()): void => {
    t.equal(renderStateJson(s, c), JSON.stringify(renderState(s, c)), `state: ${what}`);
    t.equal(renderSlavesJson(s), JSON.stringify(renderSlaves(s)), `slaves: ${what}`);
  };
  check('first render');
  check('second render (from the cache)');
  const a0 = s.agents.get('m1-S0')!;
  a0.used = [scalar('cpus', 4), scalar('mem', 512)];
  check('used changed');
  a0.offered = [];
  check('offer gone');
  a0.active = false;
  check('deactivated');
  a0.reregisteredAt = T0 + 99_000;
  a0.active = true;
  a0.ip = '10.0.0.7';
  a0.version = '1.12.0';
  check('re-registered from another address');
  a0.total = [scalar('cpus', 1)];
  a0.attributes = [];
  check('new total and attributes');
  s.agents.set('m1-S2', agent('m1-S2'));
  s.agents.delete('m1-S1');
  check('one agent added, one removed');
  check('standby without a leader', ctx({ isLeader: false }));
  check('no git sha, a log dir', ctx({ build: { ...build, gitSha: undefined }, logDir: '/var/log/agora' }));
  s.agents.clear();
  check('no agents');
  const out = JSON.parse(renderStateJson(buildState(), ctx())) as J;
  t.same(Object.keys(out).slice(-6), ['flags', 'slaves', 'frameworks', 'completed_frameworks', 'orphan_tasks', 'unregistered_frameworks'], 'Mesos key order');
});

t.test('/master/state-summary counts tasks per state', async (t) => {
  const out = renderStateSummary(buildState(), { cluster: 'test' }) as J;
  t.equal(out.hostname, 'master.local');
  t.equal(out.cluster, 'test');
  const [a1, a2] = out.slaves as J[];
  t.match(a1, { id: 'm1-S0', pid: 'slave(1)@10.0.0.1:5051', hostname: 'm1-S0.local', active: true, TASK_RUNNING: 3, TASK_STAGING: 1, TASK_FINISHED: 1, TASK_FAILED: 1, TASK_KILLED: 0, TASK_LOST: 0 });
  t.same(a1!.framework_ids, ['m1-0000', 'unknown-fw'], 'frameworks with live tasks or executors on the agent');
  t.same(a1!.used_resources, { cpus: 3, gpus: 0, mem: 384, disk: 0 });
  t.notOk('tasks' in a1!, 'no task lists in the summary');
  t.match(a2, { id: 'm1-S1', active: false, TASK_UNREACHABLE: 1, TASK_RUNNING: 0 });
  const [fw1, fw2] = out.frameworks as J[];
  t.match(fw1, { id: 'm1-0000', name: 'name-m1-0000', active: true, TASK_RUNNING: 2, TASK_STAGING: 1, TASK_UNREACHABLE: 1, TASK_FINISHED: 1, TASK_FAILED: 1 });
  t.same(fw1!.slave_ids, ['m1-S0', 'm1-S1']);
  t.same(fw1!.offered_resources, { cpus: 1, gpus: 0, mem: 0, disk: 0 });
  t.match(fw2, { id: 'm1-0001', active: false, TASK_RUNNING: 0 });
  t.same(fw2!.slave_ids, []);
});

t.test('/master/tasks query parsing and paging', async (t) => {
  t.same(parseTasksQuery({}), { ok: true, value: { limit: 100, offset: 0, order: 'desc' } });
  t.same(parseTasksQuery({ limit: '2', offset: '1', order: 'asc', framework_id: 'f', task_id: 'x' }),
    { ok: true, value: { limit: 2, offset: 1, order: 'asc', frameworkId: 'f', taskId: 'x' } });
  for (const bad of [{ limit: 'abc' }, { limit: '-1' }, { limit: '1.5' }, { offset: 'x' }, { order: 'up' }, { limit: ['1', '2'] }]) {
    const r = parseTasksQuery(bad);
    t.equal(r.ok, false, `rejects ${JSON.stringify(bad)}`);
    if (!r.ok) t.match(r.error, /limit|offset|order/);
  }

  const s = buildState();
  const ids = (q: Parameters<typeof renderTasks>[1]) => (renderTasks(s, q) as J).tasks.map((x: J) => x.id);
  t.same(ids({ limit: 100, offset: 0, order: 'desc' }), ['t3', 't2', 't1', 't4', 'done2', 'done1', 'orphan'], 'newest first by default, completed included');
  t.same(ids({ limit: 2, offset: 1, order: 'asc' }), ['done1', 'done2']);
  t.same(ids({ limit: 100, offset: 0, order: 'asc', frameworkId: 'm1-0000', taskId: 't2' }), ['t2']);
  t.same(ids({ limit: 0, offset: 0, order: 'asc' }), []);
});

t.test('/metrics/snapshot values', async (t) => {
  const m = metricsSnapshot(buildState(), { now: T0 + 60_000, isLeader: true });
  t.equal(m['master/uptime_secs'], 60);
  t.equal(m['master/elected'], 1);
  t.equal(m['master/slaves_active'], 1);
  t.equal(m['master/slaves_inactive'], 1);
  t.equal(m['master/slaves_connected'], 1);
  t.equal(m['master/slaves_disconnected'], 1);
  t.equal(m['master/slaves_unreachable'], 1);
  t.equal(m['master/frameworks_active'], 1);
  t.equal(m['master/frameworks_inactive'], 1);
  t.equal(m['master/frameworks_connected'], 1);
  t.equal(m['master/frameworks_disconnected'], 1);
  t.equal(m['master/outstanding_offers'], 1);
  t.equal(m['master/tasks_running'], 3, 'live tasks, orphans included');
  t.equal(m['master/tasks_staging'], 1);
  t.equal(m['master/tasks_unreachable'], 1);
  t.equal(m['master/tasks_finished'], 7, 'terminal counts come from the counters');
  t.equal(m['master/tasks_failed'], 2);
  t.equal(m['master/tasks_killed'], 0);
  t.equal(m['master/cpus_total'], 10);
  t.equal(m['master/cpus_used'], 3);
  t.equal(m['master/cpus_percent'], 0.3);
  t.equal(m['master/mem_total'], 8192);
  t.equal(m['master/mem_used'], 384);
  t.equal(m['master/gpus_total'], 0);
  t.equal(m['master/gpus_percent'], 0, 'no division by zero');
  t.equal(m['master/slave_registrations'], 2);
  t.equal(m['master/messages_decline_offers'], 3);
  t.ok(Object.values(m).every((v) => typeof v === 'number' && Number.isFinite(v)), 'every value is a finite number');
  t.equal(metricsSnapshot(buildState(), { now: T0, isLeader: false })['master/elected'], 0);
});

t.test('Prometheus text exposition', async (t) => {
  t.equal(prometheusName('master/tasks_running'), 'agora_master_tasks_running');
  t.equal(prometheusName('system/load_1min'), 'agora_system_load_1min');
  const text = renderPrometheus({ 'master/tasks_running': 3, 'master/tasks_finished': 7, 'master/cpus_percent': 0.25 });
  t.equal(text, [
    '# HELP agora_master_cpus_percent Mesos metric master/cpus_percent',
    '# TYPE agora_master_cpus_percent gauge',
    'agora_master_cpus_percent 0.25',
    '# HELP agora_master_tasks_finished Mesos metric master/tasks_finished',
    '# TYPE agora_master_tasks_finished counter',
    'agora_master_tasks_finished 7',
    '# HELP agora_master_tasks_running Mesos metric master/tasks_running',
    '# TYPE agora_master_tasks_running gauge',
    'agora_master_tasks_running 3',
    '',
  ].join('\n'));
  const full = renderPrometheus(metricsSnapshot(buildState(), { now: T0, isLeader: true }));
  for (const line of full.trimEnd().split('\n')) {
    t.match(line, /^(# (HELP|TYPE) [a-zA-Z_][a-zA-Z0-9_]* .+|[a-zA-Z_][a-zA-Z0-9_]* -?[0-9.e+-]+)$/, 'valid exposition line');
  }
  t.ok(COUNTER_METRICS.has('master/slave_registrations'));
});

t.test('/version', async (t) => {
  const v = renderVersion(build);
  t.same(v, { version: '1.11.0', build_date: '2024-01-01 00:00:00', build_time: 1704067200, build_user: 'agora', git_sha: 'abc123', agora_version: AGORA_VERSION });
  const [major] = v.version.split('.').map(Number);
  t.ok(major! >= 1, 'looks like Mesos >= 1.0');
});

// ---- the router over real HTTP ----

const fixedClock: Clock = {
  now: () => T0 + 60_000,
  setTimeout: () => ({ cancel() {} }),
  setInterval: () => ({ cancel() {} }),
};

async function serve(t: { teardown(fn: () => unknown): void }, state: MasterState, leader: { value: boolean }): Promise<string> {
  const app = express();
  app.use(createOperatorRouter({ state, clock: fixedClock, isLeader: () => leader.value, flags: { port: '5050' }, build, systemMetrics: false }));
  const server: Server = await new Promise((resolve) => {
    const srv = app.listen(0, '127.0.0.1', () => resolve(srv));
  });
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

t.test('router: status codes and headers', async (t) => {
  const leader = { value: true };
  const state = buildState();
  const base = await serve(t, state, leader);

  const health = await fetch(`${base}/health`);
  t.equal(health.status, 200);
  t.equal(await health.text(), '', 'empty body');

  const redirect = await fetch(`${base}/master/redirect`, { redirect: 'manual' });
  t.equal(redirect.status, 307);
  t.equal(redirect.headers.get('location'), '//master.local:5050', 'the leader is this master');

  const stateRes = await fetch(`${base}/master/state`);
  t.equal(stateRes.status, 200);
  t.match(stateRes.headers.get('content-type'), /^application\/json/);
  t.equal(((await stateRes.json()) as J).id, 'm1');
  for (const path of ['/state', '/master/state-summary', '/master/frameworks', '/master/slaves', '/master/tasks', '/version', '/master/flags', '/metrics/snapshot']) {
    const r = await fetch(`${base}${path}`);
    t.equal(r.status, 200, path);
    await r.arrayBuffer();
  }

  const tasks = await fetch(`${base}/master/tasks?limit=2&order=asc`);
  t.same(((await tasks.json()) as J).tasks.map((x: J) => x.id), ['orphan', 'done1']);
  const badLimit = await fetch(`${base}/master/tasks?limit=abc`);
  t.equal(badLimit.status, 400);
  t.match(await badLimit.text(), /limit/);
  const badOrder = await fetch(`${base}/tasks?order=sideways`);
  t.equal(badOrder.status, 400);
  await badOrder.arrayBuffer();

  const metrics = await fetch(`${base}/metrics`);
  t.equal(metrics.status, 200);
  t.match(metrics.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  t.match(await metrics.text(), /\nagora_master_tasks_running 3\n/);

  const snapshot = (await (await fetch(`${base}/metrics/snapshot`)).json()) as J;
  t.equal(snapshot['master/tasks_running'], 3);

  const unknown = await fetch(`${base}/master/nope`);
  t.equal(unknown.status, 404);
  await unknown.arrayBuffer();

  const post = await fetch(`${base}/master/state`, { method: 'POST' });
  t.equal(post.status, 405);
  t.equal(post.headers.get('allow'), 'GET, HEAD');
  await post.arrayBuffer();
});

t.test('router on a standby: redirects state to the leader, health and metrics still served', async (t) => {
  const leader = { value: false };
  const state = buildState();
  const base = await serve(t, state, leader);

  const noLeader = await fetch(`${base}/master/state`, { redirect: 'manual' });
  t.equal(noLeader.status, 503, 'no leader known');
  await noLeader.arrayBuffer();
  const noRedirect = await fetch(`${base}/master/redirect`, { redirect: 'manual' });
  t.equal(noRedirect.status, 503);
  await noRedirect.arrayBuffer();

  state.leader = { id: 'm2', ip: 0, port: 5052, hostname: 'leader.local' };
  const redirected = await fetch(`${base}/master/state?x=1`, { redirect: 'manual' });
  t.equal(redirected.status, 307);
  t.equal(redirected.headers.get('location'), '//leader.local:5052/master/state?x=1', 'same path on the leader');
  const redirect = await fetch(`${base}/master/redirect`, { redirect: 'manual' });
  t.equal(redirect.status, 307);
  t.equal(redirect.headers.get('location'), '//leader.local:5052');

  const health = await fetch(`${base}/health`);
  t.equal(health.status, 200, 'standbys are healthy too');
  await health.arrayBuffer();
  const snapshot = (await (await fetch(`${base}/metrics/snapshot`)).json()) as J;
  t.equal(snapshot['master/elected'], 0);
});
