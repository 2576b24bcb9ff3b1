/**
 * The chaos harness's fault proxy (bench/chaos/proxy.ts) on real sockets: it forwards to the
 * target resolved at each connection, closes when there is none, cuts, blackholes (and lets
 * the held bytes through intact when restored) and delays without reordering.
 */
import net from 'node:net';
import t, { type Test } from 'tap';
import { systemClock } from '../../sdk/core/clock.js';
import { FaultProxy, type ProxyTarget } from '../../bench/chaos/proxy.js';
import { EventLog, withTimeout } from '../helpers/wait.js';

const BOUND = 10_000;

/** An echo server on 127.0.0.1:0 that also records what it received. */
async function echoServer(t: Test): Promise<{ port: number; received: () => string; connections: EventLog<net.Socket> }> {
  let received = '';
  const connections = new EventLog<net.Socket>();
  const server = net.createServer((s) => {
    connections.push(s);
    s.on('data', (c) => {
      received += c.toString();
      s.write(c);
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => {
    for (const s of connections.events) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { port: (server.address() as net.AddressInfo).port, received: () => received, connections };
}

async function startProxy(t: Test, resolve: () => Promise<ProxyTarget | undefined>): Promise<FaultProxy> {
  const proxy = new FaultProxy({ resolveTarget: resolve, clock: systemClock });
  await proxy.listen();
  t.teardown(() => proxy.close());
  return proxy;
}

/** A client whose received text can be awaited. */
async function client(t: Test, port: number): Promise<{ socket: net.Socket; text: () => string; data: EventLog<string>; closed: Promise<void> }> {
  const socket = net.createConnection({ host: '127.0.0.1', port });
  t.teardown(() => { socket.destroy(); });
  socket.on('error', () => undefined);
  let text = '';
  const data = new EventLog<string>();
  socket.on('data', (c) => {
    text += c.toString();
    data.push(text);
  });
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  await withTimeout(new Promise<void>((r) => socket.once('connect', () => r())), BOUND, 'connect');
  return { socket, text: () => text, data, closed };
}

t.test('forwards both ways to the target resolved at connection time', async (t) => {
  const a = await echoServer(t);
  const b = await echoServer(t);
  let target = a.port;
  let resolved = 0;
  const proxy = await startProxy(t, async () => { resolved++; return { host: '127.0.0.1', port: target }; });
  const c1 = await client(t, proxy.port);
  c1.socket.write('hello');
  await c1.data.waitFor((s) => s === 'hello', BOUND, 'echo through the proxy');
  t.equal(a.received(), 'hello');
  target = b.port;
  const c2 = await client(t, proxy.port);
  c2.socket.write('again');
  await c2.data.waitFor((s) => s === 'again', BOUND, 'echo from the new target');
  t.equal(b.received(), 'again', 'a new connection goes to the new target');
  t.equal(resolved, 2, 'resolved once per connection');
});

t.test('no target: the connection is closed', async (t) => {
  const proxy = await startProxy(t, async () => undefined);
  const c = await client(t, proxy.port);
  await withTimeout(c.closed, BOUND, 'the proxy to close the connection');
  t.equal(c.text(), '');
});

t.test('cut destroys current connections and accepts new ones', async (t) => {
  const a = await echoServer(t);
  const proxy = await startProxy(t, async () => ({ host: '127.0.0.1', port: a.port }));
  const c = await client(t, proxy.port);
  c.socket.write('x');
  await c.data.waitFor((s) => s === 'x', BOUND, 'echo');
  const upstream = a.connections.events[0]!;
  const upstreamClosed = new Promise<void>((r) => upstream.once('close', () => r()));
  proxy.cut();
  await withTimeout(c.closed, BOUND, 'the client side to be cut');
  await withTimeout(upstreamClosed, BOUND, 'the target side to be cut');
  t.equal(proxy.connections, 0);
  const c2 = await client(t, proxy.port);
  c2.socket.write('y');
  await c2.data.waitFor((s) => s === 'y', BOUND, 'echo after the cut');
  t.pass('a new connection works after a cut');
});

t.test('drop holds bytes and new connections; restore delivers them intact', async (t) => {
  const a = await echoServer(t);
  let resolved = 0;
  const proxy = await startProxy(t, async () => { resolved++; return { host: '127.0.0.1', port: a.port }; });
  const c = await client(t, proxy.port);
  c.socket.write('before');
  await c.data.waitFor((s) => s === 'before', BOUND, 'echo before the drop');
  proxy.drop();
  t.ok(proxy.dropping);
  c.socket.write('-during-drop');
  const held = await client(t, proxy.port);
  held.socket.write('held');
  t.equal(resolved, 1, 'a connection accepted during the drop does not dial');
  proxy.restore();
  await c.data.waitFor((s) => s === 'before-during-drop', BOUND, 'the held bytes after restore');
  await held.data.waitFor((s) => s === 'held', BOUND, 'the held connection after restore');
  t.equal(resolved, 2, 'the held connection dialled once restored');
  t.equal(a.received().length, 'before-during-dropheld'.length, 'the target got every byte, once');
  t.ok(a.received().startsWith('before') && a.received().includes('-during-drop') && a.received().includes('held'));
});

t.test('delay keeps the order of chunks, also when the latency changes', async (t) => {
  const a = await echoServer(t);
  const proxy = await startProxy(t, async () => ({ host: '127.0.0.1', port: a.port }));
  const c = await client(t, proxy.port);
  proxy.delay(200);
  const parts = Array.from({ length: 20 }, (_, i) => `<${i}>`);
  for (const p of parts.slice(0, 10)) c.socket.write(p);
  proxy.delay(0);
  for (const p of parts.slice(10)) c.socket.write(p);
  const all = parts.join('');
  await c.data.waitFor((s) => s === all, BOUND, 'every chunk echoed in order');
  t.equal(c.text(), all);
  proxy.restore();
  t.equal(proxy.latencyMs, 0, 'restore clears the latency');
});
