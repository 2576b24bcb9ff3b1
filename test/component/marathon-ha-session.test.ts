/**
 * Marathon HA on a real ZooKeeper and cluster: a leader whose ZooKeeper session is lost (the
 * server frozen past the session timeout) stops its engine at once (its tasks keep
 * running); the standby takes over with the same framework id and the same tasks.
 */
import path from 'node:path';
import t from 'tap';
import { cluster, tempWorkDir } from '../helpers/cluster.js';
import { postJson } from '../helpers/http.js';
import { EventLog, waitFor } from '../helpers/wait.js';
import { startZooKeeper } from '../helpers/zookeeper.js';
import { deploymentsDone, masterLive, runningTaskIds, SOON, startHaMarathon } from './marathon-ha-kit.js';

t.test('Marathon HA: a leader that loses its ZooKeeper session stops; the standby takes over the same tasks', async (t) => {
  const zk = await startZooKeeper(t);
  t.teardown(() => zk.resume());
  const c = await cluster(t, { slaves: 1 });
  const dir = tempWorkDir(t, 'marathon-ha-');
  const zkUrl = zk.url('/marathon');
  const lost = new EventLog<string>();
  const a = await startHaMarathon(t, c, zkUrl, path.join(dir, 'a'), (reason) => lost.push(reason));
  const subscribed = await a.logs.waitFor((l) => l.msg === 'subscribed' && typeof l.framework_id === 'string', SOON, 'the first Marathon to subscribe');
  const frameworkId = subscribed.framework_id as string;
  const b = await startHaMarathon(t, c, zkUrl, path.join(dir, 'b'));
  t.equal((await postJson(`${b.m.url}/v2/apps`, { id: '/kept', cmd: 'exec sleep 3600', instances: 2, cpus: 0.1, mem: 16 })).status, 201);
  await deploymentsDone(b.m.url);
  const ids = await runningTaskIds(a.m.url, '/kept');
  t.equal(ids.length, 2);

  zk.pause();
  const reason = await lost.waitFor(() => true, SOON, 'the leader to notice it lost its session');
  t.ok(reason, `demoted: ${reason}`);
  t.notOk(a.m.isLeader, 'the old leader stopped its engine');
  t.same(await masterLive(c, frameworkId), ids, 'its tasks keep running');
  zk.resume();

  const again = await b.logs.waitFor((l) => l.msg === 'subscribed' && typeof l.framework_id === 'string', SOON, 'the standby to take over');
  t.equal(again.framework_id, frameworkId, 'the same framework id');
  await waitFor(async () => (await runningTaskIds(b.m.url, '/kept')).length === 2, { timeoutMs: SOON, what: 'reconciled tasks', intervalMs: 200 });
  t.same(await runningTaskIds(b.m.url, '/kept'), ids, 'the same 2 tasks');
  t.same((await masterLive(c, frameworkId)).filter((id) => id.startsWith('kept.')), ids, 'no duplicate on the master');
});
