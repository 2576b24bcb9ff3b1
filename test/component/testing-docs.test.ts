/**
 * The examples of docs/testing.md, verbatim (keep the two in sync): a framework written
 * with the SDK tested against a TestCluster on virtual time.
 */
import t from 'tap';
import { TestCluster } from '../../sdk/testing/index.js';
import { commandTask, matchOffer, type TaskStatus } from '../../sdk/scheduler/index.js';

// --- docs/testing.md: example 1 ---
t.test('a batch of tasks finishes, across a master failover', async (t) => {
  const cluster = await TestCluster.create({ slaves: 3 });
  t.teardown(() => cluster.close());

  let toLaunch = 6;
  const updates: TaskStatus[] = [];
  const scheduler = cluster.scheduler({
    frameworkInfo: { user: 'me', name: 'batch', failover_timeout: 300 },
  });
  scheduler.on('OFFERS', async (offers) => {
    for (const offer of offers) {
      const resources = toLaunch > 0 ? matchOffer(offer, { cpus: 1, mem: 128 }) : undefined;
      if (resources === undefined) {
        await scheduler.decline([offer.id.value], { refuse_seconds: 5 });
        continue;
      }
      await scheduler.launch([offer.id.value], [commandTask({
        taskId: `job-${toLaunch--}`, agentId: offer.agent_id.value, resources, command: 'make test',
        // Nothing runs: the simulated slave reports the task running for 2 minutes, then exiting 0.
        labels: { 'agora.sim.duration': '2mins' },
      })]);
    }
  });
  scheduler.on('UPDATE', (status) => { updates.push(status); });
  const frameworkId = await scheduler.start();
  const finished = (): number => updates.filter((u) => u.state === 'TASK_FINISHED').length;

  // All six start (offers come back every few virtual seconds until they are placed).
  await cluster.waitFor(() => Object.values(cluster.taskStates(frameworkId)).filter((s) => s === 'TASK_RUNNING').length === 6);
  t.equal(finished(), 0);

  // The master crashes and a new one takes over its registry: the slaves re-register with
  // their tasks and the SDK re-subscribes as the same framework.
  const before = cluster.masterInfo().id;
  await cluster.failoverMaster();
  t.not(cluster.masterInfo().id, before, 'a new master leads');
  await cluster.waitForSlaves();
  await cluster.waitFor(() => cluster.state().frameworks !== undefined
    && (cluster.state().frameworks as Array<{ id: string; active: boolean }>).some((f) => f.id === frameworkId && f.active));

  // Two minutes of virtual time later every task has finished — in well under a second of wall time.
  await cluster.waitFor(() => finished() === 6, { timeoutMs: 10 * 60_000, what: 'six TASK_FINISHED updates' });
  t.same(Object.values(cluster.taskStates(frameworkId)), Array(6).fill('TASK_FINISHED'));
  await scheduler.stop();
});
// --- end of example 1 ---

// --- docs/testing.md: example 2 ---
t.test('a killed slave takes its tasks with it', async (t) => {
  const cluster = await TestCluster.create({ slaves: 2, master: { agentPingTimeoutMs: 10_000, maxAgentPingTimeouts: 3 } });
  t.teardown(() => cluster.close());

  const scheduler = cluster.scheduler({ frameworkInfo: { user: 'me', name: 'service' } });
  let launched = false;
  const updates: TaskStatus[] = [];
  scheduler.on('UPDATE', (status) => { updates.push(status); });
  scheduler.on('OFFERS', async (offers) => {
    const offer = offers.find((o) => o.hostname === 'slave-1');
    const resources = offer === undefined || launched ? undefined : matchOffer(offer, { cpus: 1, mem: 128 });
    if (offer !== undefined && resources !== undefined) {
      launched = true;
      await scheduler.launch([offer.id.value], [commandTask({ taskId: 'web', agentId: offer.agent_id.value, resources, command: 'serve' })]);
    }
    const unused = offers.filter((o) => o !== offer || resources === undefined).map((o) => o.id.value);
    if (unused.length > 0) await scheduler.decline(unused);
  });
  const frameworkId = await scheduler.start();
  await cluster.waitFor(() => cluster.taskStates(frameworkId).web === 'TASK_RUNNING');

  cluster.slave(1).kill();
  const killedAt = cluster.now();
  // After 3 missed pings (30 s of virtual time) the master gives the slave up: a framework
  // that is not PARTITION_AWARE hears TASK_LOST; the master keeps the task as unreachable.
  await cluster.waitFor(() => updates.some((u) => u.task_id.value === 'web' && u.state === 'TASK_LOST'), { timeoutMs: 5 * 60_000 });
  t.equal(updates.at(-1)!.reason, 'REASON_AGENT_REMOVED');
  t.equal(cluster.taskStates(frameworkId).web, 'TASK_UNREACHABLE');
  t.equal(cluster.now() - killedAt, 30_000, 'lost after 3 ping timeouts of 10 s');
  await scheduler.stop();
});
// --- end of example 2 ---
