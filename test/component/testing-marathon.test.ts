/**
 * Marathon's scheduler engine (frameworks/marathon/engine), unchanged, against a
 * TestCluster on virtual time: deploy an app, kill a slave, see the app healed; then a
 * master failover it rides out.
 */
import t from 'tap';
import { MarathonEngine } from '../../frameworks/marathon/engine/service.js';
import { MemoryStore } from '../../frameworks/marathon/engine/memory-store.js';
import { nowTimestamp, parseAppDefinition, putApp } from '../../frameworks/marathon/model/index.js';
import type { AppDefinition, MarathonEvent } from '../../frameworks/marathon/model/types.js';
import { TestCluster } from '../../sdk/testing/index.js';

async function startEngine(cluster: TestCluster): Promise<{ engine: MarathonEngine; events: MarathonEvent[] }> {
  const { master, transport } = cluster.schedulerOptions();
  const engine = await MarathonEngine.create({
    store: new MemoryStore(),
    clock: cluster.clock,
    logger: cluster.logger,
    master,
    ...(transport !== undefined ? { transport } : {}),
    hostname: 'marathon.test',
    httpPort: 8080,
    version: 'test',
  });
  const events: MarathonEvent[] = [];
  engine.subscribe((e) => events.push(e));
  engine.start();
  return { engine, events };
}

function app(cluster: TestCluster, json: Record<string, unknown>): AppDefinition {
  const r = parseAppDefinition(json, { now: nowTimestamp(cluster.now()) });
  if (!r.ok) throw new Error(`invalid app: ${JSON.stringify(r)}`);
  return r.app;
}

t.test('an app of 3 instances is healed after its slave dies, and rides out a master failover', async (t) => {
  const wall = Date.now();
  const cluster = await TestCluster.create({ slaves: 4 });
  t.teardown(() => cluster.close());
  const { engine, events } = await startEngine(cluster);
  t.teardown(() => engine.close());
  const running = (): Array<{ agentId?: string; host?: string }> => engine.instances('/web').filter((i) => i.condition === 'Running');

  const web = app(cluster, { id: '/web', cmd: 'serve', cpus: 0.5, mem: 64, instances: 3, constraints: [['hostname', 'UNIQUE']] });
  const plan = await engine.updateRoot((root, version) => putApp(root, { ...web, version, versionInfo: { lastScalingAt: version, lastConfigChangeAt: version } }));
  await cluster.waitFor(() => events.some((e) => e.eventType === 'deployment_success' && e.id === plan.id), { what: 'the deployment to succeed' });
  t.equal(running().length, 3);
  const hosts = new Set(running().map((i) => i.host));
  t.equal(hosts.size, 3, 'one instance per host (UNIQUE)');

  // Kill a slave that runs an instance: the master gives it up after its pings go unanswered,
  // Marathon hears TASK_UNREACHABLE and starts a replacement on the one free slave.
  const victim = cluster.slaves.find((s) => running().some((i) => i.agentId === s.agentId))!;
  const free = cluster.slaves.find((s) => !hosts.has(s.hostname))!;
  victim.kill();
  await cluster.waitFor(() => running().length === 3 && running().every((i) => i.agentId !== victim.agentId), { timeoutMs: 10 * 60_000, what: 'the app healed' });
  t.ok(running().some((i) => i.host === free.hostname), 'the replacement runs on the free slave');
  const healedAt = cluster.now();

  // A master failover: slaves re-register, Marathon re-subscribes; nothing is relaunched.
  const before = engine.instances('/web').map((i) => i.taskId).sort();
  await cluster.failoverMaster();
  await cluster.waitForSlaves();
  await cluster.waitFor(() => (cluster.state().frameworks as Array<{ name: string; active: boolean }>).some((f) => f.name === 'marathon' && f.active), { what: 'marathon re-subscribed' });
  await cluster.advance(60_000);
  t.same(engine.instances('/web').map((i) => i.taskId).sort(), before, 'the same tasks, none relaunched');
  t.equal(running().length, 3);
  t.comment(`virtual ${(cluster.now() - Date.UTC(2026, 0, 1)) / 1000} s (healed at ${(healedAt - Date.UTC(2026, 0, 1)) / 1000} s) in ${Date.now() - wall} ms of wall time`);
});
