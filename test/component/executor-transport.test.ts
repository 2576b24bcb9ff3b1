/**
 * HttpExecutorTransport against a real node:http server on 127.0.0.1:0: UPDATE calls share
 * keep-alive connections, a call lost on a connection the slave dropped while idle is sent
 * again on a fresh one, and other failures are not retried.
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
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  state.endpoint = `127.0.0.1:${(server.address() as AddressInfo).port}`;
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
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  const transport = new HttpExecutorTransport({ agentEndpoint: `127.0.0.1:${(server.address() as AddressInfo).port}` });
  t.teardown(() => transport.close());
  await t.rejects(transport.send(update('TASK_RUNNING')), { code: 'AGORA_EXECUTOR_HTTP', message: /UPDATE refused by the agent: 400 Task t is not a task/ });
});
