/**
 * The slave with `--master zk://…` against a real ZooKeeper: the test plays the masters'
 * election itself, writing EPHEMERAL_SEQUENTIAL `json.info_<seq>` znodes with MasterInfo
 * JSON that point at fake masters (slave-kit), and checks that the slave waits while
 * nobody leads, registers with the leader, and on a leader change re-registers with the
 * same agent id, its running task and its unacknowledged update, which it resends.
 */
import t from 'tap';
import { connectZk, type ZkSession } from '../../sdk/zk/index.js';
import { startZkProxy, startZooKeeper, type TestZooKeeper } from '../helpers/zookeeper.js';
import { FakeMaster, FRAMEWORK, commandTask, getJson, startTestSlave } from './slave-kit.js';

const GROUP = '/agora';
/**
 * Registration retries slow enough that a loaded machine does not make the slave repeat
 * `register` before the fake master's answer arrives (a repeated one gets a second id).
 */
const CALM = { registrationBackoffMs: 400, registrationBackoffMaxMs: 800 };

/** MasterInfo as a master publishes it. */
function masterInfo(port: number, id: string): string {
  return JSON.stringify({ id, ip: 0x0100007f, port, pid: `master@127.0.0.1:${port}`, hostname: 'localhost', version: '1.11.0', address: { hostname: 'localhost', ip: '127.0.0.1', port } });
}

/** The test's own ZooKeeper session, used to "elect" masters by writing their znodes. */
async function electionWriter(t: { teardown(fn: () => unknown): void }, zk: TestZooKeeper): Promise<{ session: ZkSession; join(port: number, id: string): Promise<string> }> {
  const session = await connectZk(zk.url(GROUP));
  t.teardown(() => session.close());
  await session.mkdirp(GROUP);
  return {
    session,
    join: (port, id) => session.create(`${GROUP}/json.info_`, masterInfo(port, id), 'EPHEMERAL_SEQUENTIAL'),
  };
}

t.test('no leader: the slave waits; then it registers with the leader; on a leader change it re-registers with the same id at the new one', async (t) => {
  const zk = await startZooKeeper(t);
  const election = await electionWriter(t, zk);
  const a = await FakeMaster.start();
  const b = await FakeMaster.start();
  t.teardown(async () => { await a.close(); await b.close(); });

  const { slave, log } = await startTestSlave(a, { master: zk.url(GROUP), statusUpdateRetryMs: 60_000, statusUpdateMaxRetryMs: 60_000, ...CALM });
  t.teardown(() => slave.close());
  await log.waitFor('no leading master; waiting for one to be elected');
  t.equal(a.connections + b.connections, 0, 'nobody dialled while nobody leads');
  t.equal((await getJson(`${slave.url}/state`)).body.flags.master, zk.url(GROUP), '/state shows the zk:// master');

  // A is elected.
  const aNode = await election.join(a.port, 'master-a');
  const agentId = String((await log.waitFor('registered')).agent_id);
  t.equal(agentId, 'fake-master-S0');
  t.equal(a.received[0]?.type, 'register');

  // A task runs; RUNNING stays unacknowledged.
  a.send({ type: 'run_task', framework: FRAMEWORK, task: commandTask('long', agentId, 'sleep 60') });
  const starting = await a.waitFor('status_update', (m) => m.update.status.state === 'TASK_STARTING');
  a.ack(starting.msg);
  const running = await a.waitFor('status_update', (m) => m.update.status.state === 'TASK_RUNNING');

  // B joins as a standby, then A's znode goes (A lost its ZooKeeper session): B leads.
  await election.join(b.port, 'master-b');
  await election.session.delete(aNode);
  await log.waitFor('leading master changed; reconnecting');
  const rereg = await b.waitFor('reregister');
  t.equal(rereg.msg.agent_id.value, agentId, 're-registers with its agent id');
  t.equal(rereg.msg.agent_info.id?.value, agentId);
  t.same(rereg.msg.frameworks?.map((f) => f.id?.value), ['fw-1']);
  t.same(rereg.msg.tasks?.map((x) => [x.task.task_id.value, x.state]), [['long', 'TASK_RUNNING']]);
  t.same(rereg.msg.unacknowledged_updates?.map((u) => u.status.uuid), [running.msg.update.status.uuid]);
  t.notOk(b.received.some((m) => m.type === 'register'), 'never a fresh registration at the new leader');
  await log.waiters.until(() => log.count('registered') === 2 || undefined, 10_000, 'second registered log');
  t.equal(slave.agentId(), agentId);
  // The unacknowledged update is resent to the new leader right away (the retry interval is 60 s).
  await b.waitFor('status_update', (m) => m.update.status.uuid === running.msg.update.status.uuid, { from: rereg.index + 1 });
  b.ack(running.msg);
  // The new leader's commands reach the task.
  b.send({ type: 'kill_task', framework_id: FRAMEWORK.id, task_id: { value: 'long' } });
  const killed = await b.waitFor('status_update', (m) => m.update.status.task_id.value === 'long' && m.update.status.state === 'TASK_KILLED');
  b.ack(killed.msg);
  await b.waitFor('executor_exited');
  t.equal((await getJson(`${slave.url}/state`)).body.master_hostname, 'fake-master-host', 'the master_info of the new registration');
});

t.test('the leader dies (socket drops, its znode goes later): the slave backs off on the dead address, then follows the detector', async (t) => {
  const zk = await startZooKeeper(t);
  const election = await electionWriter(t, zk);
  const a = await FakeMaster.start();
  const b = await FakeMaster.start();
  t.teardown(async () => { await a.close(); await b.close(); });
  const aNode = await election.join(a.port, 'master-a');
  await election.join(b.port, 'master-b');

  const { slave, log } = await startTestSlave(a, { master: zk.url(GROUP), ...CALM });
  t.teardown(() => slave.close());
  const agentId = String((await log.waitFor('registered')).agent_id);
  t.equal(b.connections, 0, 'the standby is not dialled');

  // A dies: its socket drops at once; ZooKeeper notices only when A's session expires.
  await a.close();
  await log.waitFor('disconnected from master');
  await log.waitFor('connecting to master', (l) => String(l.url).includes(`:${a.port}/`) && log.count('connecting to master') >= 3);
  t.equal(b.connections, 0, 'the slave does not guess: it keeps to the detected leader');
  await election.session.delete(aNode);
  const rereg = await b.waitFor('reregister');
  t.equal(rereg.msg.agent_id.value, agentId);
  await log.waiters.until(() => log.count('registered') === 2 || undefined, 10_000, 'registered with B');
  t.equal(slave.agentId(), agentId);
});

t.test('a standby that refuses agent sockets is not hammered: reconnections back off until the detector names the real leader', async (t) => {
  const zk = await startZooKeeper(t);
  const election = await electionWriter(t, zk);
  // The "standby": accepts the WebSocket and closes it at once (refusing agents).
  const { WebSocketServer } = await import('ws');
  const standby = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/api/v1/agent' });
  await new Promise<void>((r) => standby.once('listening', () => r()));
  const standbyPort = (standby.address() as { port: number }).port;
  let refused = 0;
  standby.on('connection', (ws) => { refused++; ws.close(1013, 'not the leading master'); });
  t.teardown(() => new Promise<void>((r) => { for (const c of standby.clients) c.terminate(); standby.close(() => r()); }));
  const b = await FakeMaster.start();
  t.teardown(() => b.close());
  const staleNode = await election.join(standbyPort, 'stale');
  await election.join(b.port, 'master-b');

  const { slave, log } = await startTestSlave(b, { master: zk.url(GROUP), registrationBackoffMs: 50, registrationBackoffMaxMs: 400 });
  t.teardown(() => slave.close());
  await log.waiters.until(() => refused >= 4 || undefined, 15_000, 'four refusals');
  // Backoff between refusals: each reconnection is scheduled with a growing, jittered delay.
  const delays = log.lines.filter((l) => l.msg === 'reconnecting to master').map((l) => Number(l.delay_ms));
  t.ok(delays.length >= 3, 'reconnections are logged with their delay');
  t.ok(delays.slice(0, 3).every((d, i) => d >= 50 * 2 ** i / 2), `delays grow: ${delays.join(', ')}`);
  t.equal(b.connections, 0);
  await election.session.delete(staleNode);
  await log.waitFor('registered', (l) => l.agent_id === 'fake-master-S0');
  t.equal(b.received[0]?.type, 'register');
});

t.test('ZooKeeper unreachable at start: the slave starts anyway, keeps trying, and registers once it can follow the leader', async (t) => {
  const zk = await startZooKeeper(t);
  const proxy = await startZkProxy(t, zk);
  proxy.cut(); // ZooKeeper cannot be reached through the slave's URL
  const a = await FakeMaster.start();
  t.teardown(() => a.close());

  const { slave, log } = await startTestSlave(a, { master: proxy.url(GROUP), zkSessionTimeoutMs: 1000, ...CALM });
  t.teardown(() => slave.close());
  const failed = await log.waitFor('cannot follow the leading master through ZooKeeper; retrying');
  t.match(String(failed.err), /could not connect to ZooKeeper/, 'says why');
  t.equal((await getJson(`${slave.url}/state`)).status, 200, 'the slave serves its endpoints meanwhile');
  t.equal(a.connections, 0, 'nothing dialled without a leader');

  const election = await electionWriter(t, zk);
  await election.join(a.port, 'master-a');
  proxy.restore();
  await log.waitFor('following the leading master through ZooKeeper');
  const registered = await log.waitFor('registered');
  t.equal(String(registered.agent_id), 'fake-master-S0', 'registered with the leader once ZooKeeper answered');
});
