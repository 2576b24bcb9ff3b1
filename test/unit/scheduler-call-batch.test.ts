/**
 * Call batches in the SDK's HTTP transport, against a tiny fake master: calls made while one
 * is in flight go together in the next request only when the master announced batches, in
 * order, and every call of a batch is settled from the master's answer (applied, failed,
 * not applied and re-sent).
 */
import t from 'tap';
import type http from 'node:http';
import { silentLogger } from '../../sdk/core/log.js';
import { encodeRecord, type SchedulerCall } from '../../sdk/protocol/index.js';
import { HttpSchedulerTransport } from '../../sdk/scheduler/http-transport.js';
import { calls, CallRejectedError, parseMasterAddress } from '../../sdk/scheduler/index.js';
import { deferred, type FakeMaster, startFakeMasters } from './scheduler-helpers.js';

/** Answers SUBSCRIBE, announcing batches of at most `limit` calls when given. */
function subscribeWith(master: FakeMaster, limit?: number): void {
  master.onSubscribe = (_req, res) => {
    res.writeHead(200, {
      'Content-Type': 'application/json', 'Mesos-Stream-Id': 'stream-1',
      ...(limit !== undefined ? { 'Agora-Call-Batch': String(limit) } : {}),
    });
    res.write(encodeRecord(JSON.stringify({ type: 'SUBSCRIBED', subscribed: { framework_id: { value: 'fw-1' } } })));
  };
}

async function connected(master: FakeMaster): Promise<HttpSchedulerTransport> {
  const transport = new HttpSchedulerTransport({ master: parseMasterAddress(`127.0.0.1:${master.port}`), logger: silentLogger() });
  const stream = await transport.subscribe(calls.subscribe({ user: 'u', name: 'batch-test' }));
  t.teardown(() => {
    stream.close();
    transport.close();
  });
  return transport;
}

const ack = (i: number): SchedulerCall => ({ ...calls.acknowledge('agent-1', `task-${i}`, 'AAAAAAAAAAAAAAAAAAAAAA=='), framework_id: { value: 'fw-1' } });
const taskIds = (body: unknown): string[] => (Array.isArray(body) ? body : [body]).map((c: SchedulerCall) => c.acknowledge!.task_id.value);

/** Holds the first call's answer until `release`, then answers every call with 202. */
function holdFirstCall(master: FakeMaster): { release: () => void } {
  const gate = deferred();
  let first = true;
  master.onCall = (_req, res) => {
    if (!first) {
      res.writeHead(202).end();
      return;
    }
    first = false;
    void gate.promise.then(() => res.writeHead(202).end());
  };
  return { release: () => gate.resolve() };
}

t.test('a master that announced batches gets the calls made meanwhile in one request, in order', async (t) => {
  const [master] = await startFakeMasters(t, 1);
  subscribeWith(master!, 1000);
  const transport = await connected(master!);
  const { release } = holdFirstCall(master!);
  const sent = [transport.send(ack(0), 'stream-1')];
  await master!.calls.next();
  for (let i = 1; i <= 20; i++) sent.push(transport.send(ack(i), 'stream-1'));
  release();
  await Promise.all(sent);
  const bodies = master!.received.filter((r) => r.body.type !== 'SUBSCRIBE').map((r) => r.body as unknown);
  t.equal(bodies.length, 2, 'two requests for 21 calls');
  t.same(taskIds(bodies[0]), ['task-0'], 'the first call went alone, at once');
  t.ok(Array.isArray(bodies[1]), 'the rest went as a JSON array');
  t.same(taskIds(bodies[1]), Array.from({ length: 20 }, (_, i) => `task-${i + 1}`), 'in the order they were made');
});

t.test('calls made in one turn leave together; an idle lane waits for nothing else', async (t) => {
  const [master] = await startFakeMasters(t, 1);
  subscribeWith(master!, 1000);
  const transport = await connected(master!);
  master!.onCall = (_req, res) => { res.writeHead(202).end(); };
  // Five acknowledgements made synchronously, as for the updates of one chunk of events.
  await Promise.all([0, 1, 2, 3, 4].map((i) => transport.send(ack(i), 'stream-1')));
  // Then one alone: it is not held back waiting for company.
  await transport.send(ack(5), 'stream-1');
  const bodies = master!.received.filter((r) => r.body.type !== 'SUBSCRIBE').map((r) => r.body as unknown);
  t.equal(bodies.length, 2, 'one request per turn');
  t.same(taskIds(bodies[0]), ['task-0', 'task-1', 'task-2', 'task-3', 'task-4'], 'the same turn, one batch, in order');
  t.same(taskIds(bodies[1]), ['task-5']);
});

t.test('batches respect the announced limit', async (t) => {
  const [master] = await startFakeMasters(t, 1);
  subscribeWith(master!, 3);
  const transport = await connected(master!);
  const { release } = holdFirstCall(master!);
  const sent = [transport.send(ack(0), 'stream-1')];
  await master!.calls.next();
  for (let i = 1; i <= 7; i++) sent.push(transport.send(ack(i), 'stream-1'));
  release();
  await Promise.all(sent);
  const sizes = master!.received.filter((r) => r.body.type !== 'SUBSCRIBE').map((r) => taskIds(r.body).length);
  t.same(sizes, [1, 3, 3, 1]);
});

t.test('a master that did not announce batches (every Mesos master) gets one call per request', async (t) => {
  const [master] = await startFakeMasters(t, 1);
  subscribeWith(master!);
  const transport = await connected(master!);
  const { release } = holdFirstCall(master!);
  const sent = [transport.send(ack(0), 'stream-1')];
  await master!.calls.next();
  for (let i = 1; i <= 5; i++) sent.push(transport.send(ack(i), 'stream-1'));
  release();
  await Promise.all(sent);
  const bodies = master!.received.filter((r) => r.body.type !== 'SUBSCRIBE').map((r) => r.body as unknown);
  t.equal(bodies.length, 6);
  t.notOk(bodies.some((b) => Array.isArray(b)), 'no arrays');
  t.same(bodies.map((b) => taskIds(b)[0]), Array.from({ length: 6 }, (_, i) => `task-${i}`));
});

t.test('each call of a batch is settled from the answer', async (t) => {
  const [master] = await startFakeMasters(t, 1);
  subscribeWith(master!, 1000);
  const transport = await connected(master!);
  const gate = deferred();
  let n = 0;
  master!.onCall = (req, res) => {
    n++;
    if (n === 1) {
      void gate.promise.then(() => res.writeHead(202).end());
    } else if (n === 2) {
      // Calls 0 applied, 1 failed, 2 and 3 not applied.
      t.same(taskIds(req.body), ['task-1', 'task-2', 'task-3', 'task-4']);
      res.writeHead(400, { 'Agora-Calls-Applied': '1' }).end('Call 1 of the batch (ACKNOWLEDGE): bad');
    } else if (n === 3) {
      t.same(taskIds(req.body), ['task-3', 'task-4'], 'the calls not applied are sent again');
      // Validation failure of call 1: nothing applied.
      res.writeHead(400, { 'Agora-Calls-Applied': '0', 'Agora-Failed-Call': '1' }).end('Call 1 of the batch: invalid');
    } else {
      t.same(taskIds(req.body), ['task-3'], 'the valid call is sent again');
      res.writeHead(202).end();
    }
  };
  const first = transport.send(ack(0), 'stream-1');
  await master!.calls.next();
  const settled = [1, 2, 3, 4].map((i) => transport.send(ack(i), 'stream-1').then(() => 'ok', (e: unknown) => e));
  gate.resolve();
  await first;
  const [r1, r2, r3, r4] = await Promise.all(settled);
  t.equal(r1, 'ok', 'applied call resolves');
  t.type(r2, CallRejectedError);
  t.equal((r2 as CallRejectedError).status, 400);
  t.equal((r2 as CallRejectedError).callType, 'ACKNOWLEDGE');
  t.equal(r3, 'ok', 'a call not applied was sent again and resolved');
  t.type(r4, CallRejectedError, 'the invalid call rejects');
  t.equal(n, 4);
});

t.test('an answer about the whole batch rejects every call in it', async (t) => {
  const [master] = await startFakeMasters(t, 1);
  subscribeWith(master!, 1000);
  const transport = await connected(master!);
  const gate = deferred();
  let n = 0;
  master!.onCall = (_req: unknown, res: http.ServerResponse) => {
    n++;
    if (n === 1) void gate.promise.then(() => res.writeHead(202).end());
    else res.writeHead(503).end('not ready');
  };
  const first = transport.send(ack(0), 'stream-1');
  await master!.calls.next();
  const rest = [1, 2, 3].map((i) => transport.send(ack(i), 'stream-1').then(() => 'ok', (e: unknown) => e));
  gate.resolve();
  await first;
  for (const r of await Promise.all(rest)) {
    t.type(r, CallRejectedError);
    t.equal((r as CallRejectedError).status, 503);
  }
  t.equal(n, 2, 'one request for the batch');
});
