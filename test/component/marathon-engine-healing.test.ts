/**
 * Self-healing on a real cluster (Marathon in this process, in-memory store): Marathon-side
 * health checks kill and replace an unhealthy instance; a crash-looping app's launch delay
 * grows and resetDelay clears it; explicit kills with and without scale; a SIGKILLed slave's
 * instances are replaced on the other slave; offers are suppressed when nothing waits and
 * revived when something does.
 */
import path from 'node:path';
import t from 'tap';
import { removeApp } from '../../frameworks/marathon/model/index.js';
import type { MarathonService } from '../../frameworks/marathon/service.js';
import { cluster, tempWorkDir } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';
import { appFrom, deployApp, running, SOON, startTestMarathon, waitDeployed, type TestMarathon } from './marathon-engine-kit.js';

/** Waits until every mutation queued before it (status updates included) has been applied. */
async function barrier(service: MarathonService): Promise<void> {
  await service.updateRoot((root) => root, { dryRun: true });
}

async function remove(m: TestMarathon, id: string): Promise<void> {
  const plan = await m.marathon.service.updateRoot((root, version) => removeApp(root, id, version), { force: true });
  await waitDeployed(m, plan);
}

t.test('self-healing on a real cluster', async (t) => {
  const c = await cluster(t, {
    slaves: 2,
    masterArgs: ['--agent-ping-timeout', '500ms', '--max-agent-ping-timeouts', '2'],
  });
  // Frequent reconciliation: an agent back from a partition is learnt about through it (as in Mesos).
  const m = await startTestMarathon(t, c, { workDir: path.join(tempWorkDir(t, 'marathon-'), 'm'), reconciliationIntervalMs: 2000 });
  const service = m.marathon.service;

  await t.test('offers are suppressed when nothing waits and revived for new work', async (t) => {
    await m.logs.waitFor((l) => l.msg === 'suppressed offers', SOON, 'suppress with an empty queue');
    const mark = m.logs.events.length;
    const plan = await deployApp(m, appFrom({ id: '/one', cmd: 'exec sleep 3600', instances: 1, cpus: 0.1, mem: 16 }));
    await m.logs.waitFor((l) => l.msg === 'revived offers', SOON, 'revive for the new app', mark);
    await waitDeployed(m, plan);
    await m.logs.waitFor((l) => l.msg === 'suppressed offers', SOON, 'suppress again once launched', mark);
    t.pass('suppress → revive → suppress');
  });

  await t.test('kill without scale → replaced without backoff; with scale → app scaled down', async (t) => {
    const plan = await deployApp(m, { ...service.app('/one')!, instances: 3 });
    await waitDeployed(m, plan);
    const [victim, sentenced] = running(m, '/one');
    const mark = m.events.events.length;
    const { killed } = await service.killInstances('/one', [victim!.taskId]);
    t.same(killed.map((i) => i.instanceId), [victim!.instanceId]);
    await m.events.waitFor((e) => e.eventType === 'status_update_event' && e.taskId === victim!.taskId && e.taskStatus === 'TASK_KILLED', SOON, 'the kill', mark);
    await waitFor(() => running(m, '/one').length === 3 && !running(m, '/one').some((i) => i.instanceId === victim!.instanceId), { timeoutMs: SOON, what: 'a replacement' });
    t.equal(service.queue().length, 0, 'no launch delay from a kill Marathon made');

    const scaled = await service.killInstances('/one', [sentenced!.instanceId], { scale: true });
    t.ok(scaled.plan, 'a deployment');
    t.equal(service.app('/one')!.instances, 2, 'instances decremented');
    t.same(scaled.plan!.steps[0]!.actions[0]!.sentencedToDeath, [sentenced!.instanceId]);
    await waitDeployed(m, scaled.plan!);
    await waitFor(() => service.instances('/one').length === 2, { timeoutMs: SOON, what: 'the sentenced instance to go' });
    t.notOk(service.instances('/one').some((i) => i.instanceId === sentenced!.instanceId), 'the sentenced instance was the one killed');
    await remove(m, '/one');
  });

  await t.test('an unhealthy instance is killed and replaced', async (t) => {
    // Nothing listens on the port: every HTTP check fails.
    const app = appFrom({
      id: '/sick', cmd: 'exec sleep 3600', instances: 1, cpus: 0.1, mem: 16,
      healthChecks: [{ protocol: 'HTTP', portIndex: 0, intervalSeconds: 1, timeoutSeconds: 1, gracePeriodSeconds: 0, maxConsecutiveFailures: 2 }],
    });
    const mark = m.events.events.length;
    await deployApp(m, app);
    const failed = await m.events.waitFor((e) => e.eventType === 'failed_health_check_event' && e.appId === '/sick', SOON, 'failed_health_check_event', mark);
    const health = await m.events.waitFor((e) => e.eventType === 'health_status_changed_event' && e.appId === '/sick', SOON, 'health_status_changed_event', mark);
    t.equal(health.alive, false);
    const kill = await m.events.waitFor((e) => e.eventType === 'unhealthy_instance_kill_event' && e.appId === '/sick', SOON, 'unhealthy_instance_kill_event', mark);
    t.equal(kill.instanceId, failed.instanceId);
    await m.events.waitFor((e) => e.eventType === 'status_update_event' && e.taskId === kill.taskId && e.taskStatus === 'TASK_KILLED', SOON, 'the unhealthy task killed', mark);
    const replacement = await m.events.waitFor(
      (e) => e.eventType === 'instance_changed_event' && e.runSpecId === '/sick' && e.condition === 'Running' && e.instanceId !== kill.instanceId,
      SOON, 'a replacement', mark,
    );
    t.ok(replacement, 'replaced');
    await remove(m, '/sick');
  });

  await t.test('a crash-looping app backs off longer each time; resetDelay clears it', async (t) => {
    const mark = m.events.events.length;
    await deployApp(m, appFrom({ id: '/crash', cmd: 'exit 1', instances: 1, cpus: 0.1, mem: 16, backoffSeconds: 3, backoffFactor: 3, maxLaunchDelaySeconds: 3600 }));
    const delays: number[] = [];
    let after = mark;
    for (let n = 0; n < 2; n++) {
      await m.events.waitFor((e, ) => e.eventType === 'status_update_event' && e.appId === '/crash' && e.taskStatus === 'TASK_FAILED', 2 * SOON, `failure ${n + 1}`, after);
      after = m.events.events.length;
      await barrier(service);
      const entry = service.queue().find((q) => q.app.id === '/crash');
      t.ok(entry, `queued after failure ${n + 1}`);
      delays.push(entry!.delay.timeLeftSeconds);
    }
    t.ok(delays[1]! > delays[0]!, `the delay grew (${delays.join(' s → ')} s left)`);
    t.equal(service.lastTaskFailure('/crash')?.state, 'TASK_FAILED');
    service.resetDelay('/crash');
    const entry = service.queue().find((q) => q.app.id === '/crash');
    t.same(entry?.delay, { timeLeftSeconds: 0, overdue: true }, 'no delay after reset');
    await remove(m, '/crash');
  });

  await t.test('unreachableStrategy: replaced after inactiveAfterSeconds; extras killed when it comes back', async (t) => {
    const plan = await deployApp(m, appFrom({
      id: '/partition', cmd: 'exec sleep 3600', instances: 2, cpus: 0.1, mem: 16,
      unreachableStrategy: { inactiveAfterSeconds: 1, expungeAfterSeconds: 3600 },
    }));
    await waitDeployed(m, plan);
    const onSlave = (agentId: string): number => running(m, '/partition').filter((i) => i.agentId === agentId).length;
    const paused = c.slaves.reduce((a, b) => (onSlave(a.agentId) >= onSlave(b.agentId) ? a : b));
    const cut = running(m, '/partition').filter((i) => i.agentId === paused.agentId).map((i) => i.instanceId);
    const mark = m.events.events.length;
    process.kill(paused.proc.pid, 'SIGSTOP');
    let resumed = false;
    t.teardown(() => {
      if (!resumed) process.kill(paused.proc.pid, 'SIGCONT');
    });
    for (const id of cut) {
      await m.events.waitFor((e) => e.eventType === 'instance_changed_event' && e.instanceId === id && e.condition === 'UnreachableInactive', 2 * SOON, `${id} inactive`, mark);
    }
    await waitFor(() => running(m, '/partition').length === 2, { timeoutMs: 2 * SOON, what: 'replacements while the slave is away' });
    t.ok(cut.every((id) => service.instances('/partition').some((i) => i.instanceId === id)), 'the unreachable instances are kept (not expunged yet)');
    process.kill(paused.proc.pid, 'SIGCONT');
    resumed = true;
    for (const id of cut) {
      await m.events.waitFor((e) => e.eventType === 'instance_changed_event' && e.instanceId === id && e.condition === 'Running', 2 * SOON, `${id} back`, mark);
    }
    await waitFor(() => service.instances('/partition').length === 2 && running(m, '/partition').length === 2, { timeoutMs: 2 * SOON, what: 'extras killed' });
    t.equal(running(m, '/partition').length, 2, 'back to exactly 2');
    await remove(m, '/partition');
  });

  await t.test('a SIGKILLed slave: its instances are replaced on the other slave', async (t) => {
    const plan = await deployApp(m, appFrom({ id: '/spread', cmd: 'exec sleep 3600', instances: 2, cpus: 0.1, mem: 16, constraints: [['hostname', 'GROUP_BY']] }));
    await waitDeployed(m, plan);
    const onSlave = (agentId: string): number => running(m, '/spread').filter((i) => i.agentId === agentId).length;
    // Both slaves are 127.0.0.1, so GROUP_BY hostname does not separate them: pick the slave with most instances.
    const victimSlave = c.slaves.reduce((a, b) => (onSlave(a.agentId) >= onSlave(b.agentId) ? a : b));
    const survivor = c.slaves.find((s) => s !== victimSlave)!;
    const lost = running(m, '/spread').filter((i) => i.agentId === victimSlave.agentId).map((i) => i.instanceId);
    t.ok(lost.length > 0, `${lost.length} instance(s) on the slave to kill`);
    const mark = m.events.events.length;
    victimSlave.proc.signal('SIGKILL');
    for (const id of lost) {
      await m.events.waitFor((e) => e.eventType === 'instance_changed_event' && e.instanceId === id && (e.condition === 'Unreachable' || e.condition === 'Gone'), 2 * SOON, `${id} unreachable`, mark);
    }
    await waitFor(() => running(m, '/spread').length === 2 && running(m, '/spread').every((i) => i.agentId === survivor.agentId), { timeoutMs: 2 * SOON, what: 'replacements on the surviving slave' });
    t.equal(running(m, '/spread').length, 2, 'back to 2, all on the surviving slave');
  });
});
