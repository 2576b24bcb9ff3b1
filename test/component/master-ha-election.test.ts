/**
 * Masters in HA mode, in process, against a real ZooKeeper: election, standby answers
 * (scheduler 307, /master/redirect, state redirects, agent socket refusal, /health),
 * handover on close, and a leader stepping down when its session is lost.
 */
import WebSocket from 'ws';
import t from 'tap';
import { agentRefusal, parseLeaderInfo, schedulerGate } from '../../master/leadership.js';
import { compileMasterOptions } from '../../master/config.js';
import { buildMasterInfo } from '../../master/master-info.js';
import { startZooKeeper } from '../helpers/zookeeper.js';
import { waitFor } from '../helpers/wait.js';
import { startHaMaster } from './master-ha-kit.js';
import { FakeSlave, TestScheduler, frameworkInfo, request } from './master-kit.js';

const WAIT = { timeoutMs: 15_000 };

t.test('one of three masters leads; standbys send schedulers, operators and slaves to it', async (t) => {
  const zk = await startZooKeeper(t);
  const a = await startHaMaster(t, zk, '/agora');
  await waitFor(() => a.isReady(), { ...WAIT, what: 'first master to lead' });
  const b = await startHaMaster(t, zk, '/agora');
  const c = await startHaMaster(t, zk, '/agora');
  await waitFor(() => b.state.leader?.id === a.masterInfo.id && c.state.leader?.id === a.masterInfo.id, { ...WAIT, what: 'standbys to detect the leader' });
  t.equal(b.isLeader() || c.isLeader(), false, 'only one leads');

  const body = JSON.stringify({ type: 'SUBSCRIBE', subscribe: { framework_info: frameworkInfo() } });
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
  const sched = await request(b.port, { headers, body });
  t.equal(sched.status, 307, 'scheduler API on a standby → 307');
  t.equal(sched.headers.location, `//127.0.0.1:${a.port}/api/v1/scheduler`);
  const alias = await request(c.port, { path: '/master/api/v1/scheduler', headers, body });
  t.equal(alias.status, 307);
  t.equal(alias.headers.location, `//127.0.0.1:${a.port}/master/api/v1/scheduler`);

  const redirect = await request(b.port, { method: 'GET', path: '/master/redirect' });
  t.equal(redirect.status, 307);
  t.equal(redirect.headers.location, `//127.0.0.1:${a.port}`);
  const leaderRedirect = await request(a.port, { method: 'GET', path: '/master/redirect' });
  t.equal(leaderRedirect.headers.location, `//127.0.0.1:${a.port}`, 'the leader redirects to itself');
  const state = await request(b.port, { method: 'GET', path: '/master/state' });
  t.equal(state.status, 307);
  t.equal(state.headers.location, `//127.0.0.1:${a.port}/master/state`);
  t.equal((await request(b.port, { method: 'GET', path: '/health' })).status, 200, '/health on a standby');
  const leaderState = JSON.parse((await request(a.port, { method: 'GET', path: '/master/state' })).body) as { leader_info: { id: string }; flags: Record<string, string> };
  t.equal(leaderState.leader_info.id, a.masterInfo.id);
  t.match(leaderState.flags.zk, /^zk:\/\/127\.0\.0\.1:\d+\/agora$/);

  // A slave connecting to a standby gets an error naming the leader and a close.
  const ws = new WebSocket(`ws://127.0.0.1:${b.port}/api/v1/agent`);
  const got = await new Promise<{ message: string; code: number; reason: string }>((resolve, reject) => {
    let message = '';
    ws.on('message', (d) => { message = String(d); });
    ws.on('close', (code, reason) => resolve({ message, code, reason: String(reason) }));
    ws.on('error', reject);
  });
  t.match(JSON.parse(got.message), { type: 'error', message: new RegExp(`leader is 127\\.0\\.0\\.1:${a.port}`) });
  t.equal(got.code, 1013);

  // The leader serves the scheduler API.
  const s = new TestScheduler(a.port);
  await s.subscribe();
  t.match(s.frameworkId, /-0000$/);
  s.disconnect();
});

t.test('the leader closes → a standby leads, again and again', async (t) => {
  const zk = await startZooKeeper(t);
  const a = await startHaMaster(t, zk, '/handover');
  await waitFor(() => a.isReady(), { ...WAIT, what: 'a to lead' });
  const b = await startHaMaster(t, zk, '/handover');
  await waitFor(() => b.state.leader !== undefined, { ...WAIT, what: 'b to see a' });
  await a.close();
  await waitFor(() => b.isReady(), { ...WAIT, what: 'b to lead after a closed' });
  t.equal(b.state.leader, undefined);
  const redirect = await request(b.port, { method: 'GET', path: '/master/redirect' });
  t.equal(redirect.headers.location, `//127.0.0.1:${b.port}`);
  const s = new TestScheduler(b.port);
  await s.subscribe();
  s.disconnect();
  t.same(a.demoted, [], 'a planned stop is not a demotion');

  const c = await startHaMaster(t, zk, '/handover');
  await waitFor(() => c.state.leader?.id === b.masterInfo.id, { ...WAIT, what: 'c to see b' });
  await b.close();
  await waitFor(() => c.isReady(), { ...WAIT, what: 'c to lead' });
  t.pass('c took over from b');
});

t.test('a standby with no leader known answers 503', async (t) => {
  const zk = await startZooKeeper(t);
  // A leader that never recovers its registry: the group node holds a leader that is not a master.
  const { connectZk } = await import('../../sdk/zk/index.js');
  const session = await connectZk(zk.url('/'), { sessionTimeoutMs: 4000 });
  t.teardown(() => session.close());
  await session.mkdirp('/noleader');
  await session.create('/noleader/json.info_', 'not master info', 'EPHEMERAL_SEQUENTIAL');
  const m = await startHaMaster(t, zk, '/noleader');
  t.equal(m.isLeader(), false);
  const body = JSON.stringify({ type: 'SUBSCRIBE', subscribe: { framework_info: frameworkInfo() } });
  const res = await request(m.port, { headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body });
  t.equal(res.status, 503);
  t.equal((await request(m.port, { method: 'GET', path: '/master/redirect' })).status, 503);
  t.equal((await request(m.port, { method: 'GET', path: '/master/state' })).status, 503);
  t.equal((await request(m.port, { method: 'GET', path: '/health' })).status, 200);
});

t.test('a leader that loses its ZooKeeper session stops acting as leader', async (t) => {
  const zk = await startZooKeeper(t);
  const a = await startHaMaster(t, zk, '/expiry', { zkSessionTimeoutMs: 2000 });
  await waitFor(() => a.isReady(), { ...WAIT, what: 'a to lead' });
  const s = new TestScheduler(a.port);
  await s.subscribe();
  const slave = new FakeSlave(a.port);
  await slave.register();
  zk.pause();
  t.teardown(() => zk.resume());
  await waitFor(() => a.demoted.length > 0, { ...WAIT, what: 'a to be demoted' });
  t.equal(a.isLeader(), false);
  await waitFor(() => s.closed, { ...WAIT, what: 'the framework stream to be closed' });
  t.ok(await slave.closedPromise, 'the slave socket was closed');
  zk.resume();
});

t.test('pure: scheduler gate, agent refusal, leader parsing', async (t) => {
  const leader = buildMasterInfo({ id: 'L', ip: '10.0.0.1', port: 5050, hostname: 'm1' });
  t.same(schedulerGate({ isLeader: true, recovered: true, leader: undefined, path: '/api/v1/scheduler' }), { kind: 'serve' });
  t.equal(schedulerGate({ isLeader: true, recovered: false, leader: undefined, path: '/api/v1/scheduler' }).kind, 'unavailable', 'a leader loading its registry → 503');
  t.same(schedulerGate({ isLeader: false, recovered: false, leader, path: '/api/v1/scheduler' }), { kind: 'redirect', location: '//m1:5050/api/v1/scheduler' });
  t.equal(schedulerGate({ isLeader: false, recovered: true, leader: undefined, path: '/api/v1/scheduler' }).kind, 'unavailable');
  t.match(agentRefusal(leader), /leader is m1:5050 \(10\.0\.0\.1:5050\)/);
  t.match(agentRefusal(undefined), /no leader/);
  t.same(parseLeaderInfo(JSON.stringify(leader)), leader, 'Mesos json.info_ layout round-trips');
  t.equal(parseLeaderInfo('{"id":1}'), undefined);
  t.equal(parseLeaderInfo('nope'), undefined);
  t.equal(parseLeaderInfo(undefined), undefined);
});

t.test('HA options: defaults and bad values', async (t) => {
  const c = compileMasterOptions({ port: 0, workDir: '/tmp/x' });
  t.equal(c.zk, undefined, 'standalone by default');
  t.equal(c.zkSessionTimeoutMs, 10_000);
  t.equal(c.agentReregisterTimeoutMs, 600_000, 'Mesos\'s 10 minutes');
  t.throws(() => compileMasterOptions({ port: 0, workDir: '/tmp/x', zk: 'http://h:2181/agora' }), { code: 'AGORA_MASTER_BAD_OPTION' });
  t.throws(() => compileMasterOptions({ port: 0, workDir: '/tmp/x', agentReregisterTimeoutMs: 0 }), { code: 'AGORA_MASTER_BAD_OPTION' });
  t.throws(() => compileMasterOptions({ port: 0, workDir: '/tmp/x', zkSessionTimeoutMs: -1 }), { code: 'AGORA_MASTER_BAD_OPTION' });
});
