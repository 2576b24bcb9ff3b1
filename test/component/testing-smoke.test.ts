import t from 'tap';
import { TestCluster } from '../../sdk/testing/index.js';
import { commandTask, matchOffer } from '../../sdk/scheduler/index.js';

t.test('smoke', async (t) => {
  const wall = Date.now();
  const cluster = await TestCluster.create({ slaves: 2 });
  t.teardown(() => cluster.close());
  t.equal(cluster.slaves.filter((s) => s.registered).length, 2);
  const scheduler = cluster.scheduler({ frameworkInfo: { user: 'me', name: 'smoke' } });
  let launched = 0;
  scheduler.on('OFFERS', async (offers) => {
    for (const offer of offers) {
      const r = matchOffer(offer, { cpus: 1, mem: 64 });
      if (r === undefined || launched >= 2) { await scheduler.decline([offer.id.value]); continue; }
      launched++;
      await scheduler.launch([offer.id.value], [commandTask({ taskId: `t${launched}`, agentId: offer.agent_id.value, resources: r, command: 'true', labels: { 'agora.sim.duration': '10s' } })]);
    }
  });
  await scheduler.start();
  await cluster.waitFor(() => Object.values(cluster.taskStates()).filter((s) => s === 'TASK_FINISHED').length === 2, { timeoutMs: 60_000 });
  t.pass(`virtual ${cluster.now() - Date.UTC(2026,0,1)} wall ${Date.now() - wall}`);
  console.log(cluster.taskStates(), cluster.now() - Date.UTC(2026,0,1), Date.now() - wall);
  await scheduler.stop();
});
