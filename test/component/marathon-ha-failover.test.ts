/**
 * Two Marathons in this process in HA mode (`zk`) on a real ZooKeeper, next to a real
 * master and slave: the first leads and runs the framework; the second is a standby whose
 * REST API forwards to the leader (an app POSTed to it is created on the leader, answers
 * carry X-Marathon-Leader). When the leader closes, the standby takes over: it loads the
 * app from ZooKeeper, subscribes with the same framework id, and the instance count stays
 * exact (the same tasks, no duplicates). A leader that abdicates (DELETE /v2/leader, here
 * sent through the standby) stops its engine and leaves the election; the standby leads. (The
 * loss of the ZooKeeper session: marathon-ha-session.test.ts.)
 */
import path from 'node:path';
import t from 'tap';
import { cluster, tempWorkDir } from '../helpers/cluster.js';
import { postJson, getJson } from '../helpers/http.js';
import { EventLog, waitFor } from '../helpers/wait.js';
import { startZooKeeper } from '../helpers/zookeeper.js';
import { deploymentsDone, masterLive, runningTaskIds, SOON, startHaMarathon } from './marathon-ha-kit.js';

t.test('Marathon HA: the standby forwards to the leader and takes over when it leaves', async (t) => {
  const zk = await startZooKeeper(t);
  const c = await cluster(t, { slaves: 1 });
  const dir = tempWorkDir(t, 'marathon-ha-');
  const zkUrl = zk.url('/marathon');

  const a = await startHaMarathon(t, c, zkUrl, path.join(dir, 'a'));
  await a.logs.waitFor((l) => l.msg === 'leading', SOON, 'the first Marathon to lead');
  const subscribed = await a.logs.waitFor((l) => l.msg === 'subscribed' && typeof l.framework_id === 'string', SOON, 'subscribed');
  const frameworkId = subscribed.framework_id as string;
  const b = await startHaMarathon(t, c, zkUrl, path.join(dir, 'b'));
  t.ok(a.m.isLeader, 'the first leads');
  t.notOk(b.m.isLeader, 'the second is a standby');

  // REST through the standby.
  const created = await postJson(`${b.m.url}/v2/apps`, { id: '/ha', cmd: 'exec sleep 3600', instances: 2, cpus: 0.1, mem: 16 });
  t.equal(created.status, 201, 'POST /v2/apps via the standby → 201');
  t.equal(created.headers.get('x-marathon-leader'), a.m.url, 'X-Marathon-Leader names the leader');
  t.ok(created.headers.get('marathon-deployment-id'), 'the leader\'s headers come through');
  t.ok(a.m.service.app('/ha'), 'the app exists on the leader');
  const info = await getJson(`${b.m.url}/v2/info`);
  t.equal(info.body.leader, '127.0.0.1:' + a.m.port, '/v2/info via the standby is the leader\'s');
  t.equal(info.body.frameworkId, frameworkId);
  t.equal((await getJson(`${a.m.url}/v2/info`)).headers.get('x-marathon-leader'), a.m.url, 'the leader names itself');
  const ping = await fetch(`${b.m.url}/ping`);
  t.equal(await ping.text(), 'pong', 'the standby answers /ping itself');
  const events = await fetch(`${b.m.url}/v2/events`, { redirect: 'manual' });
  t.equal(events.status, 307, '/v2/events on the standby → 307');
  t.equal(events.headers.get('location'), `${a.m.url}/v2/events`);
  await events.body?.cancel();

  await deploymentsDone(b.m.url);
  const ids = await runningTaskIds(b.m.url, '/ha');
  t.equal(ids.length, 2, '2 tasks Running');
  t.same(await masterLive(c, frameworkId), ids, 'the master runs exactly those');

  // The leader leaves (as on SIGTERM): the standby takes over.
  await a.m.close();
  const again = await b.logs.waitFor((l) => l.msg === 'subscribed' && typeof l.framework_id === 'string', SOON, 'the standby to subscribe');
  t.equal(again.framework_id, frameworkId, 'the same framework id (from ZooKeeper)');
  t.ok(b.m.isLeader, 'the standby leads');
  t.equal(b.m.service.app('/ha')?.instances, 2, 'the app was loaded from ZooKeeper');
  // A deployment after the takeover: once it is done, reconciliation and the engine's ticks have run.
  t.equal((await postJson(`${b.m.url}/v2/apps`, { id: '/barrier', cmd: 'exec sleep 3600', instances: 1, cpus: 0.1, mem: 16 })).status, 201);
  await deploymentsDone(b.m.url);
  await waitFor(async () => (await runningTaskIds(b.m.url, '/ha')).length === 2, { timeoutMs: SOON, what: 'reconciled tasks', intervalMs: 200 });
  t.same(await runningTaskIds(b.m.url, '/ha'), ids, 'the same 2 tasks');
  t.same((await masterLive(c, frameworkId)).filter((id) => id.startsWith('ha.')), ids, 'no duplicate on the master');

  // Scaling on the new leader is exact.
  const scaled = await fetch(`${b.m.url}/v2/apps/ha`, { method: 'PUT', body: JSON.stringify({ instances: 3 }), headers: { 'content-type': 'application/json' } });
  t.equal(scaled.status, 200);
  await deploymentsDone(b.m.url);
  t.equal((await runningTaskIds(b.m.url, '/ha')).length, 3, '3 tasks after scaling');
  t.equal((await masterLive(c, frameworkId)).filter((id) => id.startsWith('ha.')).length, 3, '3 on the master');
});

t.test('Marathon HA: DELETE /v2/leader makes the leader step down; the standby leads', async (t) => {
  const zk = await startZooKeeper(t);
  const c = await cluster(t, { slaves: 1 });
  const dir = tempWorkDir(t, 'marathon-ha-');
  const zkUrl = zk.url('/marathon');
  const lost = new EventLog<string>();
  const a = await startHaMarathon(t, c, zkUrl, path.join(dir, 'a'), (reason) => lost.push(reason));
  await a.logs.waitFor((l) => l.msg === 'subscribed', SOON, 'the first Marathon to subscribe');
  const b = await startHaMarathon(t, c, zkUrl, path.join(dir, 'b'));

  const res = await fetch(`${b.m.url}/v2/leader`, { method: 'DELETE' });
  t.equal(res.status, 200);
  t.same(await res.json(), { message: 'Leadership abdicated' });
  t.equal(res.headers.get('x-marathon-leader'), a.m.url, 'answered by the old leader');
  t.match(await lost.waitFor(() => true, SOON, 'onLeadershipLost'), /abdicated/);
  t.notOk(a.m.isLeader, 'the old leader stopped leading');
  await b.logs.waitFor((l) => l.msg === 'subscribed', SOON, 'the standby to subscribe');
  t.ok(b.m.isLeader, 'the standby leads');
  const leader = await getJson(`${a.m.url}/v2/leader`);
  t.same(leader.body, { leader: `127.0.0.1:${b.m.port}` }, 'the old leader now forwards to the new one');
});

