/**
 * Reconciliation rounds against a real master (real slave, real tasks): a restarted
 * Marathon's round on SUBSCRIBED asks for each stored task with its agent, the master
 * answers every one (REASON_RECONCILIATION, no uuid), so the round completes after one
 * explicit call and then reconciles implicitly; a task the master never had (a stored
 * instance whose launch was lost) is answered TASK_GONE and replaced.
 */
import path from 'node:path';
import t from 'tap';
import { MemoryStore } from '../../frameworks/marathon/engine/memory-store.js';
import type { Instance } from '../../frameworks/marathon/model/types.js';
import { cluster, tempWorkDir } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';
import { appFrom, deployApp, running, SOON, startTestMarathon, waitDeployed } from './marathon-engine-kit.js';

t.test('a restarted Marathon reconciles its stored tasks with the real master', async (t) => {
  const c = await cluster(t, { slaves: 1 });
  const workDir = path.join(tempWorkDir(t, 'marathon-'), 'm');
  const store = new MemoryStore();
  const a = await startTestMarathon(t, c, { workDir, store });
  const first = await a.logs.waitFor((l) => l.msg === 'reconciliation done' && l.why === 'subscribed', SOON, 'the first round');
  t.match(first, { outcome: 'complete', answered: 0, explicitAttempts: 0, implicitSent: true }, 'nothing known yet: implicit only');

  const plan = await deployApp(a, appFrom({ id: '/kept', cmd: 'exec sleep 3600', instances: 2, cpus: 0.1, mem: 16 }));
  await waitDeployed(a, plan);
  const kept = running(a, '/kept');
  t.equal(kept.length, 2);
  await a.close();

  // A stored instance whose LAUNCH never reached the master (Marathon crashed in between).
  const template = kept[0]!;
  const phantom: Instance = {
    ...template,
    instanceId: template.instanceId.replace(/[0-9a-f]{8}-/, 'deadbeef-'),
    taskId: template.taskId.replace(/[0-9a-f]{8}-/, 'deadbeef-'),
    condition: 'Staging',
    mesosState: 'TASK_STAGING',
  };
  t.not(phantom.taskId, template.taskId, 'a distinct task id');
  await store.saveInstance(phantom);

  const b = await startTestMarathon(t, c, { workDir, store });
  const round = await b.logs.waitFor((l) => l.msg === 'reconciliation done' && l.why === 'subscribed', SOON, 'the round after the restart');
  t.match(round, { outcome: 'complete', answered: 3, explicitAttempts: 1, implicitSent: true }, 'every stored task answered at the first call');
  const gone = await b.events.waitFor((e) => e.eventType === 'status_update_event' && e.taskId === phantom.taskId, SOON, 'the answer for the phantom task');
  t.equal(gone.eventType === 'status_update_event' ? gone.taskStatus : '', 'TASK_GONE', 'a task the agent does not have: TASK_GONE (partition-aware)');
  await waitFor(() => running(b, '/kept').length === 2 && b.marathon.service.instances('/kept').length === 2, { timeoutMs: SOON, what: 'back to 2 instances' });
  const after = running(b, '/kept').map((i) => i.taskId).sort();
  t.same(after, kept.map((i) => i.taskId).sort(), 'the two real tasks kept, the phantom expunged and not replaced beyond `instances`');
});
