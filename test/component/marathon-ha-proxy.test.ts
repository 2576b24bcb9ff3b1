/**
 * The HA front of Marathon (createLeaderProxy) over real HTTP, with a stand-in leader: a
 * standby forwards method, path, query, headers and body and relays the answer with
 * X-Marathon-Leader; its own Via is a loop (508); /v2/events is redirected (307); /ping is
 * answered locally; with no leader it waits (on the Clock) and then answers 503, or
 * forwards as soon as a leader appears; the leader serves locally.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { pino } from 'pino';
import type { Clock, TimerHandle } from '../../sdk/core/clock.js';
import { createLeaderProxy, nextVia, viaIncludes, type RequestListener } from '../../frameworks/marathon/leader-proxy.js';
import { waitFor } from '../helpers/wait.js';

class ManualClock implements Clock {
  ms = 1_000_000;
  timers: Array<{ fn: () => void; at: number; cancelled: boolean }> = [];
  now(): number {
    return this.ms;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { fn, at: this.ms + ms, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => { timer.cancelled = true; } };
  }
  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.setTimeout(fn, ms);
  }
  pending(): number {
    return this.timers.filter((x) => !x.cancelled && x.at <= this.ms + 2000).length;
  }
  advance(ms: number): void {
    this.ms += ms;
    for (const x of this.timers) {
      if (!x.cancelled && x.at <= this.ms) {
        x.cancelled = true;
        x.fn();
      }
    }
  }
}

async function serve(t: Test, listener: RequestListener): Promise<string> {
  const server = http.createServer(listener);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  }));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

interface Seen { method: string; url: string; headers: IncomingMessage['headers']; body: string }

async function fakeLeader(t: Test): Promise<{ address: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const address = await serve(t, (req: IncomingMessage, res: ServerResponse) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(parts).toString() });
      res.writeHead(201, { 'Content-Type': 'application/json', 'Marathon-Deployment-Id': 'd-1' });
      res.end(JSON.stringify({ created: true }));
    });
  });
  return { address, seen };
}

function standby(t: Test, o: { self: string; leader: () => string | undefined; local?: () => RequestListener | undefined; clock?: Clock }): { listeners: Set<() => void>; start: () => Promise<string> } {
  const listeners = new Set<() => void>();
  const proxy = createLeaderProxy({
    self: o.self,
    leader: o.leader,
    local: o.local ?? (() => undefined),
    onChange: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    clock: o.clock ?? new ManualClock(),
    logger: pino({ level: 'silent' }),
  });
  return { listeners, start: () => serve(t, proxy) };
}

t.test('Via helpers', async (t) => {
  t.equal(nextVia(undefined, 'a:1'), '1.1 a:1');
  t.equal(nextVia('1.1 b:2', 'a:1'), '1.1 b:2, 1.1 a:1');
  t.ok(viaIncludes('1.1 b:2, 1.1 a:1', 'a:1'));
  t.notOk(viaIncludes('1.1 b:2', 'a:1'));
  t.notOk(viaIncludes('1.1 a:12', 'a:1'), 'a longer port is another instance');
  t.notOk(viaIncludes(undefined, 'a:1'));
});

t.test('a standby forwards method, path, query, headers and body, and relays the answer', async (t) => {
  const leader = await fakeLeader(t);
  const s = standby(t, { self: 'standby:9', leader: () => leader.address });
  const address = await s.start();
  const body = JSON.stringify({ id: '/web', cmd: 'sleep 1', instances: 2 });
  const res = await fetch(`http://${address}/v2/apps?force=true&embed=apps.tasks`, {
    method: 'POST', body, headers: { 'content-type': 'application/json', authorization: 'Basic eDp5', 'x-custom': 'kept' },
  });
  t.equal(res.status, 201, 'the leader\'s status');
  t.same(await res.json(), { created: true }, 'the leader\'s body');
  t.equal(res.headers.get('marathon-deployment-id'), 'd-1', 'the leader\'s headers');
  t.equal(res.headers.get('x-marathon-leader'), `http://${leader.address}`);
  t.equal(leader.seen.length, 1);
  const seen = leader.seen[0]!;
  t.equal(seen.method, 'POST');
  t.equal(seen.url, '/v2/apps?force=true&embed=apps.tasks');
  t.equal(seen.body, body);
  t.equal(seen.headers['content-type'], 'application/json');
  t.equal(seen.headers.authorization, 'Basic eDp5');
  t.equal(seen.headers['x-custom'], 'kept');
  t.equal(seen.headers['x-marathon-via'], '1.1 standby:9');

  const del = await fetch(`http://${address}/v2/apps/web`, { method: 'DELETE' });
  t.equal(del.status, 201);
  t.equal(leader.seen[1]!.method, 'DELETE');
  t.equal(leader.seen[1]!.url, '/v2/apps/web');
});

t.test('a request that already went through this instance is a loop: 508', async (t) => {
  const leader = await fakeLeader(t);
  const address = await standby(t, { self: 'standby:9', leader: () => leader.address }).start();
  const res = await fetch(`http://${address}/v2/apps`, { headers: { 'x-marathon-via': '1.1 other:1, 1.1 standby:9' } });
  t.equal(res.status, 508);
  t.same(await res.json(), { message: 'Detected proxying loop.' });
  t.equal(leader.seen.length, 0, 'nothing forwarded');
});

t.test('/v2/events is redirected to the leader; /ping is answered locally', async (t) => {
  const leader = await fakeLeader(t);
  const address = await standby(t, { self: 'standby:9', leader: () => leader.address }).start();
  const events = await fetch(`http://${address}/v2/events?event_type=deployment_info`, { redirect: 'manual' });
  t.equal(events.status, 307);
  t.equal(events.headers.get('location'), `http://${leader.address}/v2/events?event_type=deployment_info`);
  const ping = await fetch(`http://${address}/ping`);
  t.equal(ping.status, 200);
  t.equal(await ping.text(), 'pong');
  t.equal(leader.seen.length, 0);
});

t.test('no leader: 503 once the wait (on the Clock) is over', async (t) => {
  const clock = new ManualClock();
  const address = await standby(t, { self: 'standby:9', leader: () => undefined, clock }).start();
  const pending = fetch(`http://${address}/v2/apps`);
  await waitFor(() => clock.pending() > 0, { timeoutMs: 10_000, what: 'the request to wait' });
  clock.advance(2000);
  const res = await pending;
  t.equal(res.status, 503);
  t.same(await res.json(), { message: 'Could not determine the current leader' });
});

t.test('no leader yet: the request is forwarded as soon as one is elected', async (t) => {
  const clock = new ManualClock();
  const leader = await fakeLeader(t);
  let current: string | undefined;
  const s = standby(t, { self: 'standby:9', leader: () => current, clock });
  const address = await s.start();
  const pending = fetch(`http://${address}/v2/apps`, { method: 'POST', body: '{"id":"/x"}', headers: { 'content-type': 'application/json' } });
  await waitFor(() => s.listeners.size > 0, { timeoutMs: 10_000, what: 'the request to wait' });
  current = leader.address;
  for (const l of [...s.listeners]) l();
  const res = await pending;
  t.equal(res.status, 201);
  t.equal(leader.seen[0]!.body, '{"id":"/x"}');
});

t.test('an unreachable leader: retried until the wait is over, then 503', async (t) => {
  const clock = new ManualClock();
  // Port 1 on loopback: connections are refused.
  const s = standby(t, { self: 'standby:9', leader: () => '127.0.0.1:1', clock });
  const address = await s.start();
  const pending = fetch(`http://${address}/v2/apps`);
  await waitFor(() => clock.pending() > 0, { timeoutMs: 10_000, what: 'the request to retry' });
  clock.advance(2000);
  const res = await pending;
  t.equal(res.status, 503);
});

t.test('the leader serves locally, with X-Marathon-Leader naming itself', async (t) => {
  const local: RequestListener = (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{"local":true}');
  };
  const address = await standby(t, { self: 'me:1', leader: () => 'me:1', local: () => local }).start();
  const res = await fetch(`http://${address}/v2/apps`, { headers: { 'x-marathon-via': '1.1 other:2' } });
  t.equal(res.status, 200);
  t.same(await res.json(), { local: true });
  t.equal(res.headers.get('x-marathon-leader'), 'http://me:1');
});
