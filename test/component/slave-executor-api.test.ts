/**
 * The slave's executor API (POST /api/v1/executor): bad input is refused with Mesos's
 * status codes and changes nothing; the test itself plays a custom executor to check
 * SUBSCRIBE, LAUNCH, UPDATE, MESSAGE and ACKNOWLEDGED.
 */
import t from 'tap';
import { RecordIODecoder } from '../../sdk/protocol/recordio.js';
import type { ExecutorEvent } from '../../sdk/protocol/executor.js';
import { FakeMaster, FRAMEWORK, Waiters, getJson, startTestSlave } from './slave-kit.js';

async function post(url: string, body: string, contentType = 'application/json', method = 'POST'): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(`${url}/api/v1/executor`, { method, headers: { 'Content-Type': contentType }, ...(method === 'GET' ? {} : { body }) });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/** Opens a SUBSCRIBE stream and collects its events. */
async function subscribe(url: string, call: unknown): Promise<{ status: number; events: ExecutorEvent[]; waiters: Waiters; close(): void; text?: string; headers: Headers }> {
  const ac = new AbortController();
  const res = await fetch(`${url}/api/v1/executor`, { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: JSON.stringify(call), signal: ac.signal });
  const events: ExecutorEvent[] = [];
  const waiters = new Waiters();
  if (res.status !== 200) return { status: res.status, events, waiters, close: () => ac.abort(), text: await res.text(), headers: res.headers };
  const decoder = new RecordIODecoder();
  void (async () => {
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        for (const r of decoder.push(chunk)) events.push(JSON.parse(r) as ExecutorEvent);
        waiters.notify();
      }
    } catch {
      // aborted
    }
  })();
  return { status: res.status, events, waiters, close: () => ac.abort(), headers: res.headers };
}

t.test('bad requests are refused and the slave keeps serving', async (t) => {
  const master = await FakeMaster.start({ autoAck: true });
  const { slave, log } = await startTestSlave(master);
  t.teardown(async () => { await slave.close(); await master.close(); });
  await log.waitFor('registered');
  const call = { type: 'HEARTBEAT', framework_id: { value: 'nope' }, executor_id: { value: 'nope' } };

  const get = await post(slave.url, '', 'application/json', 'GET');
  t.equal(get.status, 405);
  const text = await post(slave.url, JSON.stringify(call), 'text/plain');
  t.equal(text.status, 415);
  t.match(text.text, /application\/json/);
  const proto = await post(slave.url, 'xx', 'application/x-protobuf');
  t.equal(proto.status, 415);
  const malformed = await post(slave.url, '{"type": ');
  t.equal(malformed.status, 400);
  t.match(malformed.text, /Failed to parse body into JSON/);
  const invalid = await post(slave.url, JSON.stringify({ type: 'SUBSCRIBE' }));
  t.equal(invalid.status, 400);
  t.match(invalid.text, /Failed to validate/);
  const badType = await post(slave.url, JSON.stringify({ ...call, type: 'LAUNCH_NUKES' }));
  t.equal(badType.status, 400);
  const unknown = await post(slave.url, JSON.stringify(call));
  t.equal(unknown.status, 400);
  t.match(unknown.text, /Framework nope not found/);
  const sub = await subscribe(slave.url, { ...call, type: 'SUBSCRIBE' });
  t.equal(sub.status, 400);

  t.equal((await fetch(`${slave.url}/health`)).status, 200);
  t.equal((await getJson(`${slave.url}/state`)).body.frameworks.length, 0, 'nothing was created');
});

t.test('a custom executor: SUBSCRIBE, LAUNCH, UPDATE, ACKNOWLEDGED, MESSAGE both ways', async (t) => {
  const master = await FakeMaster.start();
  const { slave, log } = await startTestSlave(master, { executorRegistrationTimeoutMs: 60_000 });
  t.teardown(async () => { await slave.close(); await master.close(); });
  const agentId = String((await log.waitFor('registered')).agent_id);
  // The slave starts `sleep 30` as the executor; this test subscribes in its place.
  master.send({
    type: 'run_task',
    framework: FRAMEWORK,
    task: {
      name: 'custom', task_id: { value: 'c-1' }, agent_id: { value: agentId }, data: 'aGk=',
      executor: { executor_id: { value: 'my-exec' }, command: { value: 'sleep 30' }, name: 'mine' },
    },
  });
  await log.waitFor('executor started', (l) => l.executor_id === 'my-exec');
  const ids = { framework_id: FRAMEWORK.id, executor_id: { value: 'my-exec' } };

  const early = await post(slave.url, JSON.stringify({ ...ids, type: 'UPDATE', update: { status: { task_id: { value: 'c-1' }, state: 'TASK_RUNNING', uuid: 'AAAAAAAAAAAAAAAAAAAAAA==' } } }));
  t.equal(early.status, 403, 'UPDATE before SUBSCRIBE');

  const sub = await subscribe(slave.url, { ...ids, type: 'SUBSCRIBE', subscribe: {} });
  t.teardown(() => sub.close());
  t.equal(sub.status, 200);
  await sub.waiters.until(() => sub.events.length >= 2 || undefined, 10_000, 'SUBSCRIBED and LAUNCH');
  t.equal(sub.events[0]!.type, 'SUBSCRIBED');
  t.equal(sub.events[0]!.subscribed?.executor_info.executor_id.value, 'my-exec');
  t.equal(sub.events[0]!.subscribed?.framework_info.id?.value, 'fw-1');
  t.equal(sub.events[0]!.subscribed?.agent_info.id?.value, agentId);
  t.ok(sub.events[0]!.subscribed?.container_id?.value);
  t.equal(sub.events[1]!.type, 'LAUNCH');
  t.equal(sub.events[1]!.launch?.task.task_id.value, 'c-1');
  t.equal(sub.events[1]!.launch?.task.data, 'aGk=');

  const status = (state: string, uuid?: string, taskId = 'c-1') => ({ ...ids, type: 'UPDATE', update: { status: { task_id: { value: taskId }, state, ...(uuid ? { uuid } : {}) } } });
  t.equal((await post(slave.url, JSON.stringify(status('TASK_RUNNING')))).status, 400, 'uuid is required');
  t.equal((await post(slave.url, JSON.stringify(status('TASK_STAGING', 'AQEBAQEBAQEBAQEBAQEBAQ==')))).status, 400, 'TASK_STAGING is not allowed');
  const foreign = await post(slave.url, JSON.stringify(status('TASK_RUNNING', 'AgICAgICAgICAgICAgICAg==', 'someone-else')));
  t.equal(foreign.status, 400);
  t.match(foreign.text, /not a task of executor my-exec/);
  t.equal(master.updatesFor('c-1').length, 0, 'refused updates went nowhere');

  const uuid = 'AwMDAwMDAwMDAwMDAwMDAw==';
  t.equal((await post(slave.url, JSON.stringify(status('TASK_RUNNING', uuid)))).status, 202);
  const fwd = await master.waitFor('status_update', (m) => m.update.status.task_id.value === 'c-1');
  t.equal(fwd.msg.update.status.state, 'TASK_RUNNING');
  t.equal(fwd.msg.update.status.source, 'SOURCE_EXECUTOR');
  t.equal(fwd.msg.update.executor_id?.value, 'my-exec');
  // A retransmission of the same update is not queued twice.
  t.equal((await post(slave.url, JSON.stringify(status('TASK_RUNNING', uuid)))).status, 202);
  master.ack(fwd.msg);
  const acked = await sub.waiters.until(() => sub.events.find((e) => e.type === 'ACKNOWLEDGED'), 10_000, 'ACKNOWLEDGED');
  t.same(acked.acknowledged, { task_id: { value: 'c-1' }, uuid });
  const state = await getJson(`${slave.url}/state`);
  t.equal(state.body.frameworks[0].executors[0].tasks[0].state, 'TASK_RUNNING');

  // Executor → framework.
  t.equal((await post(slave.url, JSON.stringify({ ...ids, type: 'MESSAGE', message: { data: 'aGVsbG8=' } }))).status, 202);
  const toFw = await master.waitFor('executor_to_framework');
  t.equal(toFw.msg.data, 'aGVsbG8=');
  t.equal(toFw.msg.executor_id.value, 'my-exec');
  // Framework → executor.
  master.send({ type: 'framework_to_executor', ...ids, data: 'eW8=' });
  const msg = await sub.waiters.until(() => sub.events.find((e) => e.type === 'MESSAGE'), 10_000, 'MESSAGE');
  t.equal(msg.message?.data, 'eW8=');
  // Kill → KILL event.
  master.send({ type: 'kill_task', framework_id: FRAMEWORK.id, task_id: { value: 'c-1' } });
  const kill = await sub.waiters.until(() => sub.events.find((e) => e.type === 'KILL'), 10_000, 'KILL');
  t.equal(kill.kill?.task_id.value, 'c-1');
  t.equal((await post(slave.url, JSON.stringify(status('TASK_KILLED', 'BAQEBAQEBAQEBAQEBAQEBA==')))).status, 202);
  const killed = await master.waitFor('status_update', (m) => m.update.status.state === 'TASK_KILLED');
  // After a terminal update nothing more is accepted into the stream.
  t.equal((await post(slave.url, JSON.stringify(status('TASK_RUNNING', 'BQUFBQUFBQUFBQUFBQUFBQ==')))).status, 202);
  master.ack(killed.msg);
  await sub.waiters.until(() => sub.events.filter((e) => e.type === 'ACKNOWLEDGED').length === 2 || undefined, 10_000, 'second ACKNOWLEDGED');
  t.equal(master.updatesFor('c-1').filter((m) => m.update.status.state === 'TASK_RUNNING' && m.update.status.uuid !== uuid).length, 0);

  // shutdown_executor → SHUTDOWN; the process (sleep) is killed after the grace period.
  master.send({ type: 'shutdown_executor', ...ids });
  await sub.waiters.until(() => sub.events.find((e) => e.type === 'SHUTDOWN'), 10_000, 'SHUTDOWN');
  const exited = await master.waitFor('executor_exited', (m) => m.executor_id.value === 'my-exec');
  t.ok(exited.msg.status !== undefined);
});

t.test('call batches: announced on SUBSCRIBE, validated whole, applied in order up to the first failure', async (t) => {
  const master = await FakeMaster.start();
  const { slave, log } = await startTestSlave(master, { executorRegistrationTimeoutMs: 60_000 });
  t.teardown(async () => { await slave.close(); await master.close(); });
  const agentId = String((await log.waitFor('registered')).agent_id);
  const executor = { executor_id: { value: 'batch-exec' }, command: { value: 'sleep 30' }, name: 'batches' };
  for (const id of ['b-1', 'b-2']) {
    master.send({ type: 'run_task', framework: FRAMEWORK, task: { name: id, task_id: { value: id }, agent_id: { value: agentId }, executor } });
  }
  await log.waitFor('executor started', (l) => l.executor_id === 'batch-exec');
  const ids = { framework_id: FRAMEWORK.id, executor_id: { value: 'batch-exec' } };
  const sub = await subscribe(slave.url, { ...ids, type: 'SUBSCRIBE', subscribe: {} });
  t.teardown(() => sub.close());
  t.equal(sub.status, 200);
  t.equal(sub.headers.get('agora-call-batch'), '1000', 'the SUBSCRIBE response announces batches');
  await sub.waiters.until(() => sub.events.filter((e) => e.type === 'LAUNCH').length === 2 || undefined, 10_000, 'two LAUNCHes');

  const update = (taskId: string, state: string, uuid: string) => ({ ...ids, type: 'UPDATE', update: { status: { task_id: { value: taskId }, state, uuid } } });
  const batch = (calls: unknown[]) => post(slave.url, JSON.stringify(calls));
  const stateOf = async (taskId: string) => {
    const s = await getJson(`${slave.url}/state`);
    const e = s.body.frameworks[0].executors[0] as { tasks: Array<{ id: string; state: string }>; completed_tasks: Array<{ id: string; state: string }> };
    return [...e.tasks, ...e.completed_tasks].find((x) => x.id === taskId)?.state;
  };

  const both = await batch([update('b-1', 'TASK_RUNNING', 'AQEBAQEBAQEBAQEBAQEBAQ=='), update('b-2', 'TASK_RUNNING', 'AgICAgICAgICAgICAgICAg==')]);
  t.equal(both.status, 202, 'a batch of valid calls');
  t.equal(both.headers.get('agora-calls-applied'), '2');
  await master.waitFor('status_update', (m) => m.update.status.task_id.value === 'b-2');
  t.equal(master.updatesFor('b-1').length, 1, 'each update of the batch reached the master');

  const empty = await batch([]);
  t.equal(empty.status, 400, 'an empty batch');
  t.equal(empty.headers.get('agora-calls-applied'), '0');
  const invalid = await batch([update('b-1', 'TASK_FINISHED', 'AwMDAwMDAwMDAwMDAwMDAw=='), { ...ids, type: 'LAUNCH_NUKES' }]);
  t.equal(invalid.status, 400, 'a batch with an invalid call');
  t.equal(invalid.headers.get('agora-calls-applied'), '0');
  t.equal(invalid.headers.get('agora-failed-call'), '1');
  t.match(invalid.text, /Call 1 of the batch/);
  const withSubscribe = await batch([{ ...ids, type: 'SUBSCRIBE', subscribe: {} }]);
  t.equal(withSubscribe.status, 400, 'SUBSCRIBE cannot be batched');
  t.match(withSubscribe.text, /SUBSCRIBE cannot be batched/);
  t.equal(await stateOf('b-1'), 'TASK_RUNNING', 'a refused batch applied nothing');

  const partial = await batch([
    update('b-1', 'TASK_FINISHED', 'BAQEBAQEBAQEBAQEBAQEBA=='),
    update('someone-else', 'TASK_RUNNING', 'BQUFBQUFBQUFBQUFBQUFBQ=='),
    { ...ids, type: 'MESSAGE', message: { data: 'aGk=' } },
  ]);
  t.equal(partial.status, 400, 'the failing call answers with its own status');
  t.equal(partial.headers.get('agora-calls-applied'), '1');
  t.equal(partial.headers.get('agora-failed-call'), '1');
  t.match(partial.text, /Call 1 of the batch \(UPDATE\): Task someone-else is not a task of executor batch-exec/);
  t.equal(await stateOf('b-1'), 'TASK_FINISHED', 'the call before it was applied');
  t.notOk(master.received.some((m) => m.type === 'executor_to_framework'), 'the call after it was not');

  const alone = await post(slave.url, JSON.stringify({ ...ids, type: 'MESSAGE', message: { data: 'aGk=' } }));
  t.equal(alone.status, 202, 'single calls (Mesos executors) still work');
  await master.waitFor('executor_to_framework');
});
