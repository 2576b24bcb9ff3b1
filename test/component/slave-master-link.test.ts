/**
 * The slave's master link: garbage from the master is ignored, a dropped socket leads to
 * `reregister` with the agent id, live tasks and unacknowledged updates, missing pings
 * make the slave reconnect, and `shutdown` makes it kill everything and register afresh.
 */
import t from 'tap';
import { FakeMaster, FRAMEWORK, commandTask, getJson, startTestSlave } from './slave-kit.js';

t.test('garbage from the master is ignored; the slave stays registered', async (t) => {
  const master = await FakeMaster.start();
  const { slave, log } = await startTestSlave(master);
  t.teardown(async () => { await slave.close(); await master.close(); });
  await log.waitFor('registered');
  master.sendRaw('this is not json');
  master.sendRaw('{"type":"bogus"}');
  master.sendRaw(Buffer.from([0xff, 0x00, 0x13]));
  master.sendRaw('{"type":"run_task"}');
  master.sendRaw('[]');
  await log.waiters.until(() => log.count('ignoring invalid message from master') === 5 || undefined, 10_000, 'five warnings');
  master.send({ type: 'ping' });
  await master.waitFor('pong');
  t.equal(slave.agentId(), 'fake-master-S0');
  t.equal(master.connections, 1, 'no reconnect');
  t.equal((await getJson(`${slave.url}/state`)).body.id, 'fake-master-S0');
});

t.test('dropped socket: reregisters with its id, running tasks and unacknowledged updates', async (t) => {
  const master = await FakeMaster.start();
  const { slave, log } = await startTestSlave(master, { statusUpdateRetryMs: 60_000, statusUpdateMaxRetryMs: 60_000 });
  t.teardown(async () => { await slave.close(); await master.close(); });
  const agentId = String((await log.waitFor('registered')).agent_id);
  master.send({ type: 'run_task', framework: FRAMEWORK, task: commandTask('long', agentId, 'sleep 60') });
  const starting = await master.waitFor('status_update', (m) => m.update.status.state === 'TASK_STARTING');
  master.ack(starting.msg);
  const running = await master.waitFor('status_update', (m) => m.update.status.state === 'TASK_RUNNING');
  // RUNNING stays unacknowledged across the reconnect.
  master.drop();
  const rereg = await master.waitFor('reregister');
  t.equal(rereg.msg.agent_id.value, agentId);
  t.equal(rereg.msg.agent_info.id?.value, agentId);
  t.same(rereg.msg.frameworks?.map((f) => f.id?.value), ['fw-1']);
  t.same(rereg.msg.tasks?.map((x) => [x.task.task_id.value, x.state, x.executor_id?.value]), [['long', 'TASK_RUNNING', 'agora-command-executor']]);
  t.same(rereg.msg.unacknowledged_updates?.map((u) => u.status.uuid), [running.msg.update.status.uuid]);
  await log.waiters.until(() => log.count('registered') === 2 || undefined, 10_000, 'second registered log');
  // The head is resent right after re-registering (long before the 60 s retry).
  await master.waitFor('status_update', (m) => m.update.status.uuid === running.msg.update.status.uuid, { from: rereg.index + 1 });
  master.ack(running.msg);
  // Commands work on the new connection.
  master.send({ type: 'kill_task', framework_id: FRAMEWORK.id, task_id: { value: 'long' } });
  const killed = await master.waitFor('status_update', (m) => m.update.status.task_id.value === 'long' && m.update.status.state === 'TASK_KILLED');
  master.ack(killed.msg);
  await master.waitFor('executor_exited');
});

t.test('no pings for 3 intervals: the slave reconnects and reregisters', async (t) => {
  const master = await FakeMaster.start({ pingIntervalSeconds: 0.1 });
  const { slave, log } = await startTestSlave(master);
  t.teardown(async () => { await slave.close(); await master.close(); });
  await log.waitFor('registered');
  const rereg = await master.waitFor('reregister');
  t.equal(rereg.msg.agent_id.value, 'fake-master-S0');
  t.ok(master.connections >= 2);
  await log.waitFor('no ping from master; reconnecting');
});

t.test('pings keep the link up', async (t) => {
  const master = await FakeMaster.start({ pingIntervalSeconds: 0.1, pingEveryMs: 100 });
  const { slave, log } = await startTestSlave(master);
  t.teardown(async () => { await slave.close(); await master.close(); });
  await log.waitFor('registered');
  // 12 pongs span 1.2 s, four times the 0.3 s watchdog.
  await master.waiters.until(() => master.received.filter((m) => m.type === 'pong').length >= 12 || undefined, 10_000, '12 pongs');
  t.equal(master.connections, 1);
  t.equal(log.count('no ping from master; reconnecting'), 0);
});

t.test('shutdown: kills every task and registers afresh under a new id', async (t) => {
  const master = await FakeMaster.start({ autoAck: true });
  const { slave, log } = await startTestSlave(master);
  t.teardown(async () => { await slave.close(); await master.close(); });
  const agentId = String((await log.waitFor('registered')).agent_id);
  master.send({ type: 'run_task', framework: FRAMEWORK, task: commandTask('doomed', agentId, 'sleep 60') });
  await master.waitFor('status_update', (m) => m.update.status.state === 'TASK_RUNNING');
  master.send({ type: 'shutdown', message: 'agent removed' });
  const second = await master.waitFor('register', () => true, { from: 1 });
  t.notOk(second.msg.agent_info.id, 'a fresh registration carries no id');
  await log.waitFor('registered', (l) => l.agent_id === 'fake-master-S1');
  t.equal(slave.agentId(), 'fake-master-S1');
  await log.waitFor('framework has no executors left; removed');
  t.same((await getJson(`${slave.url}/state`)).body.frameworks, []);
});

t.test('the master is not there yet: the slave keeps trying and registers when it appears', async (t) => {
  // Reserve a port, close it, start the slave against it, then start the master there.
  const probe = await FakeMaster.start();
  const port = probe.port;
  await probe.close();
  const { WebSocketServer } = await import('ws');
  const { slave, log } = await startTestSlave({ address: `127.0.0.1:${port}` } as FakeMaster);
  t.teardown(() => slave.close());
  await log.waitFor('connecting to master');
  const wss = new WebSocketServer({ host: '127.0.0.1', port, path: '/api/v1/agent' });
  t.teardown(() => new Promise<void>((r) => { for (const c of wss.clients) c.terminate(); wss.close(() => r()); }));
  wss.on('connection', (ws) => ws.on('message', (d) => {
    if (JSON.parse(d.toString()).type === 'register') {
      ws.send(JSON.stringify({ type: 'registered', agent_id: { value: 'late-S0' }, master_info: { id: 'late', ip: 0, port }, ping_interval_seconds: 10 }));
    }
  }));
  await log.waitFor('registered', (l) => l.agent_id === 'late-S0');
  t.equal(slave.agentId(), 'late-S0');
});

t.test('batch frames: offered at registration, used once the master accepts them, handled in order', async (t) => {
  const master = await FakeMaster.start({ batches: true });
  const { slave, log } = await startTestSlave(master);
  t.teardown(async () => { await slave.close(); await master.close(); });
  await log.waitFor('registered');
  const register = master.received.find((m) => m.type === 'register');
  t.equal(register?.type === 'register' && register.batches, true, 'the registration offers batches');

  // Two pings in one batch frame: two pongs, sent in the same turn, so in one batch frame.
  master.sendRaw(JSON.stringify({ type: 'batch', messages: [{ type: 'ping' }, { type: 'ping' }] }));
  await master.waiters.until(() => master.received.filter((m) => m.type === 'pong').length >= 2 || undefined, 10_000, 'two pongs');
  t.equal(master.frameSizes.at(-1), 2, 'both pongs left in one frame');

  // A batch with one bad message is ignored whole: its ping gets no pong.
  master.sendRaw(JSON.stringify({ type: 'batch', messages: [{ type: 'ping' }, { type: 'bogus' }] }));
  master.sendRaw(JSON.stringify({ type: 'batch', messages: [{ type: 'batch', messages: [{ type: 'ping' }] }] }));
  await log.waiters.until(() => log.count('ignoring invalid message from master') === 2 || undefined, 10_000, 'two warnings');
  master.send({ type: 'ping' });
  await master.waiters.until(() => master.received.filter((m) => m.type === 'pong').length >= 3 || undefined, 10_000, 'a third pong');
  t.equal(master.received.filter((m) => m.type === 'pong').length, 3, 'no pong for the rejected batch');

  // A run_task and its kill in one frame, handled in that order: the task is killed during its
  // launch (the other order would report an unknown task lost).
  master.sendRaw(JSON.stringify({
    type: 'batch',
    messages: [
      { type: 'run_task', framework: FRAMEWORK, task: commandTask('both', 'fake-master-S0', 'sleep 60') },
      { type: 'kill_task', framework_id: FRAMEWORK.id, task_id: { value: 'both' } },
    ],
  }));
  const first = await master.waitFor('status_update', (m) => m.update.status.task_id.value === 'both');
  t.equal(first.msg.update.status.state, 'TASK_KILLED');
  t.equal(first.msg.update.status.reason, 'REASON_TASK_KILLED_DURING_LAUNCH');
  master.ack(first.msg);
});

t.test('a master that does not accept batches never gets one', async (t) => {
  const master = await FakeMaster.start();
  const { slave, log } = await startTestSlave(master);
  t.teardown(async () => { await slave.close(); await master.close(); });
  await log.waitFor('registered');
  // Two pings in one frame (a newer master would not do this unasked, but the slave still reads batches).
  master.sendRaw(JSON.stringify({ type: 'batch', messages: [{ type: 'ping' }, { type: 'ping' }] }));
  await master.waiters.until(() => master.received.filter((m) => m.type === 'pong').length >= 2 || undefined, 10_000, 'two pongs');
  t.ok(master.frameSizes.every((n) => n === 1), 'every frame from the slave carried one message');
});
