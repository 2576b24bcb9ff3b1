/**
 * HttpExecutorTransport against a real node:http server on 127.0.0.1:0: UPDATE calls share
 * keep-alive connections, a call lost on a connection the slave dropped while idle is sent
 * again on a fresh one, and other failures are not retried. Against a slave that announces
 * call batches (Agora-Call-Batch), calls made while one is in flight go together and each
 * settles on its own.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { HttpExecutorTransport } from '../../sdk/executor/transport.js';
import type { ExecutorCall } from '../../sdk/protocol/executor.js';

const update = (state: string): ExecutorCall => ({
  type: 'UPDATE',
  framework_id: { value: 'fw' },
  executor_id: { value: 'ex' },
  update: { status: { task_id: { value: 't' }, state: state as 'TASK_RUNNING', uuid: 'dXVpZA==' } },
});

interface Server {
  endpoint: string;
  connections: number;
  bodies: string[];
}

/** Listens on 127.0.0.1:0 until the test ends; the endpoint (`host:port`). */
async function listen(t: { teardown(fn: () => unknown): void }, server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A server answering 202 to every call except where `drop` says to destroy the socket unanswered. */
async function startServer(t: { teardown(fn: () => unknown): void }, drop: (requestNumber: number) => boolean): Promise<Server> {
  const state = { endpoint: '', connections: 0, bodies: [] as string[] };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      state.bodies.push(Buffer.concat(chunks).toString('utf8'));
      if (drop(state.bodies.length)) {
        req.socket.destroy();
        return;
      }
      res.writeHead(202).end();
    });
  });
  server.on('connection', () => state.connections++);
  state.endpoint = await listen(t, server);
  return state;
}

t.test('calls reuse keep-alive connections', async (t) => {
  const server = await startServer(t, () => false);
  const transport = new HttpExecutorTransport({ agentEndpoint: server.endpoint });
  t.teardown(() => transport.close());
  for (let i = 0; i < 20; i++) await transport.send(update('TASK_RUNNING'));
  t.equal(server.bodies.length, 20, 'every call arrived');
  t.equal(server.connections, 1, 'one connection carried 20 calls made one after the other');
  await Promise.all(Array.from({ length: 40 }, () => transport.send(update('TASK_RUNNING'))));
  t.equal(server.bodies.length, 60, 'concurrent calls all arrived');
  t.ok(server.connections <= 16, `concurrent calls share a bounded pool (${server.connections} connections)`);
});

t.test('a call lost on a reused connection is sent once more on a new one', async (t) => {
  // Request 2 is the first on the reused connection: the "slave" drops the connection unanswered.
  const server = await startServer(t, (n) => n === 2);
  const transport = new HttpExecutorTransport({ agentEndpoint: server.endpoint });
  t.teardown(() => transport.close());
  await transport.send(update('TASK_STARTING'));
  await transport.send(update('TASK_RUNNING'));
  t.equal(server.bodies.length, 3, 'the second call was sent twice');
  t.equal(server.bodies[1], server.bodies[2], 'with the same body');
  t.equal(server.connections, 2, 'the retry used a new connection');
});

t.test('a call lost on a fresh connection is not retried: the error surfaces', async (t) => {
  const server = await startServer(t, () => true);
  const transport = new HttpExecutorTransport({ agentEndpoint: server.endpoint });
  t.teardown(() => transport.close());
  await t.rejects(transport.send(update('TASK_RUNNING')), { code: 'AGORA_EXECUTOR_CONNECT' });
  t.equal(server.bodies.length, 1, 'sent once');
});

t.test('an error status is not retried and carries the status', async (t) => {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(400, { 'Content-Type': 'text/plain' }).end('Task t is not a task of executor ex'));
  });
  const transport = new HttpExecutorTransport({ agentEndpoint: await listen(t, server) });
  t.teardown(() => transport.close());
  await t.rejects(transport.send(update('TASK_RUNNING')), { code: 'AGORA_EXECUTOR_HTTP', message: /UPDATE refused by the agent: 400 Task t is not a task/ });
});

/** An "Agora slave": SUBSCRIBE announces call batches; `answer` decides each other request's reply. */
async function startBatchingServer(
  t: { teardown(fn: () => unknown): void },
  answer: (body: unknown, n: number) => { status: number; headers?: Record<string, string>; text?: string },
): Promise<Server> {
  const state = { endpoint: '', connections: 0, bodies: [] as string[] };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const body = JSON.parse(text) as unknown;
      if (!Array.isArray(body) && (body as { type?: string }).type === 'SUBSCRIBE') {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Agora-Call-Batch': '1000' });
        res.write('20\n{"type":"HEARTBEAT"}');
        return;
      }
      state.bodies.push(text);
      const a = answer(body, state.bodies.length);
      res.writeHead(a.status, { 'Content-Type': 'text/plain', ...a.headers }).end(a.text ?? '');
    });
  });
  server.on('connection', () => state.connections++);
  state.endpoint = await listen(t, server);
  return state;
}

const subscribeCall: ExecutorCall = { type: 'SUBSCRIBE', framework_id: { value: 'fw' }, executor_id: { value: 'ex' }, subscribe: {} };
const updateOf = (task: string): ExecutorCall => ({ ...update('TASK_RUNNING'), update: { status: { task_id: { value: task }, state: 'TASK_RUNNING', uuid: 'dXVpZA==' } } });

t.test('against a slave that announces batches, calls made while one is in flight go together, in order', async (t) => {
  const server = await startBatchingServer(t, (body) => ({ status: 202, headers: { 'Agora-Calls-Applied': String(Array.isArray(body) ? body.length : 1) } }));
  const transport = new HttpExecutorTransport({ agentEndpoint: server.endpoint });
  t.teardown(() => transport.close());
  const stream = await transport.subscribe(subscribeCall);
  t.teardown(() => stream.close());
  await Promise.all(['a', 'b', 'c', 'd'].map((task) => transport.send(updateOf(task))));
  t.equal(server.bodies.length, 2, 'two requests for four calls');
  t.equal((JSON.parse(server.bodies[0]!) as ExecutorCall).update?.status.task_id.value, 'a', 'the first call went alone');
  const batch = JSON.parse(server.bodies[1]!) as ExecutorCall[];
  t.ok(Array.isArray(batch), 'the calls made meanwhile went as one array');
  t.same(batch.map((c) => c.update?.status.task_id.value), ['b', 'c', 'd'], 'in the order they were made');
});

t.test('a batch answer settles each call: applied ones resolve, the failed one rejects, later ones are sent again', async (t) => {
  const server = await startBatchingServer(t, (body, n) => {
    if (Array.isArray(body) && n === 2) {
      return { status: 400, headers: { 'Agora-Calls-Applied': '1', 'Agora-Failed-Call': '1' }, text: 'Call 1 of the batch (UPDATE): Task c is not a task of executor ex' };
    }
    return { status: 202 };
  });
  const transport = new HttpExecutorTransport({ agentEndpoint: server.endpoint });
  t.teardown(() => transport.close());
  const stream = await transport.subscribe(subscribeCall);
  t.teardown(() => stream.close());
  const results = await Promise.allSettled(['a', 'b', 'c', 'd'].map((task) => transport.send(updateOf(task))));
  t.same(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
  const failed = results[2] as PromiseRejectedResult;
  t.match(failed.reason, { code: 'AGORA_EXECUTOR_HTTP', message: /UPDATE refused by the agent: 400 Call 1 of the batch/ });
  t.equal(server.bodies.length, 3, 'the call after the failed one was sent again');
  t.equal((JSON.parse(server.bodies[2]!) as ExecutorCall).update?.status.task_id.value, 'd');
});

t.test('a slave that does not announce batches (Mesos) gets every call alone', async (t) => {
  const server = await startServer(t, () => false);
  const transport = new HttpExecutorTransport({ agentEndpoint: server.endpoint });
  t.teardown(() => transport.close());
  await Promise.all(['a', 'b', 'c'].map((task) => transport.send(updateOf(task))));
  t.equal(server.bodies.length, 3);
  t.notOk(server.bodies.some((b) => b.startsWith('[')), 'no arrays');
});
