/**
 * The health probes (slave/executor/health-probes.ts) against real local sockets and
 * processes; timeouts on a manual clock.
 */
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { systemClock } from '../../sdk/core/clock.js';
import { runHealthProbe, type ProbeContext } from '../../slave/executor/health-probes.js';
import { ManualClock } from './scheduler-helpers.js';

function ctx(t: { teardown(fn: () => void): void }, extra: Partial<ProbeContext> = {}): ProbeContext {
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'agora-probe-'));
  t.teardown(() => rmSync(cwd, { recursive: true, force: true }));
  return { clock: systemClock, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', GREETING: 'hi' }, cwd, ...extra };
}

async function httpServer(t: { teardown(fn: () => Promise<void>): void }, handler: http.RequestListener): Promise<number> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  return (server.address() as AddressInfo).port;
}

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

t.test('COMMAND: exit 0 is healthy; runs in the sandbox with the task env plus the check env', async (t) => {
  const c = ctx(t);
  const r = await runHealthProbe({ type: 'COMMAND', command: { value: 'echo "$GREETING $EXTRA" > out.txt', environment: { variables: [{ name: 'EXTRA', value: 'there' }] } } }, 5_000, c);
  t.same(r, { healthy: true, message: 'Command exited with status 0' });
  t.equal(readFileSync(path.join(c.cwd, 'out.txt'), 'utf8'), 'hi there\n');
});

t.test('COMMAND: a non-zero exit is unhealthy, with the status and stderr', async (t) => {
  const r = await runHealthProbe({ type: 'COMMAND', command: { value: 'echo broken >&2; exit 3' } }, 5_000, ctx(t));
  t.same(r, { healthy: false, message: 'Command returned exited with status 3: broken' });
});

t.test('COMMAND: argv form (shell false)', async (t) => {
  const r = await runHealthProbe({ type: 'COMMAND', command: { shell: false, value: '/bin/sh', arguments: ['sh', '-c', 'exit 0'] } }, 5_000, ctx(t));
  t.equal(r.healthy, true);
  const missing = await runHealthProbe({ type: 'COMMAND', command: { shell: false, value: '/nonexistent/program', arguments: ['x'] } }, 5_000, ctx(t));
  t.equal(missing.healthy, false);
  t.match(missing.message, /Failed to create subprocess/);
});

t.test('COMMAND: timeout kills the check and fails', async (t) => {
  const clock = new ManualClock();
  const c = ctx(t, { clock });
  const pending = runHealthProbe({ type: 'COMMAND', command: { value: 'echo $$ > pid; exec sleep 100' } }, 2_000, c);
  // Wait for the shell to be up before timing it out.
  for (let i = 0; i < 500; i++) {
    try { readFileSync(path.join(c.cwd, 'pid')); break; } catch { await new Promise<void>((r) => setTimeout(r, 10)); }
  }
  clock.advance(2_000);
  const r = await pending;
  t.same(r, { healthy: false, message: 'Command has not returned after 2secs; aborting' });
  const pid = Number(readFileSync(path.join(c.cwd, 'pid'), 'utf8'));
  // SIGKILL is delivered asynchronously; the kernel reaps it quickly, poll briefly with a bound.
  let alive = true;
  for (let i = 0; i < 200 && alive; i++) {
    try { process.kill(pid, 0); await new Promise<void>((r) => setTimeout(r, 10)); } catch { alive = false; }
  }
  t.notOk(alive, 'the check process was killed');
});

t.test('HTTP: 2xx and 3xx are healthy, redirects are followed, 4xx/5xx are not', async (t) => {
  const port = await httpServer(t, (req, res) => {
    if (req.url === '/ok') res.writeHead(200).end('ok');
    else if (req.url === '/moved') res.writeHead(302, { Location: '/broken' }).end();
    else if (req.url === '/not-modified') res.writeHead(304).end();
    else if (req.url === '/broken') res.writeHead(503).end();
    else res.writeHead(404).end();
  });
  const probe = (p: string) => runHealthProbe({ type: 'HTTP', scheme: 'http', host: '127.0.0.1', port, path: p }, 5_000, ctx(t));
  t.same(await probe('/ok'), { healthy: true, message: 'HTTP 200' });
  t.same(await probe('/not-modified'), { healthy: true, message: 'HTTP 304' });
  t.same(await probe('/moved'), { healthy: false, message: 'Unexpected HTTP response code: 503 Service Unavailable' });
  t.same(await probe('/missing'), { healthy: false, message: 'Unexpected HTTP response code: 404 Not Found' });
});

t.test('HTTP: a closed port is unhealthy', async (t) => {
  const port = await closedPort();
  const r = await runHealthProbe({ type: 'HTTP', scheme: 'http', host: '127.0.0.1', port, path: '/' }, 5_000, ctx(t));
  t.equal(r.healthy, false);
  t.match(r.message, /ECONNREFUSED/);
});

t.test('HTTP: a server that never answers times out', async (t) => {
  const clock = new ManualClock();
  let arrived!: () => void;
  const requestSeen = new Promise<void>((r) => { arrived = r; });
  const port = await httpServer(t, () => arrived());
  const pending = runHealthProbe({ type: 'HTTP', scheme: 'http', host: '127.0.0.1', port, path: '/' }, 1_000, ctx(t, { clock }));
  await requestSeen;
  clock.advance(1_000);
  t.same(await pending, { healthy: false, message: 'HTTP check has not returned after 1secs; aborting' });
});

t.test('TCP: open port healthy, closed port unhealthy', async (t) => {
  const server = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const open = await runHealthProbe({ type: 'TCP', host: '127.0.0.1', port: (server.address() as AddressInfo).port }, 5_000, ctx(t));
  t.equal(open.healthy, true);
  const closed = await runHealthProbe({ type: 'TCP', host: '127.0.0.1', port: await closedPort() }, 5_000, ctx(t));
  t.equal(closed.healthy, false);
  t.match(closed.message, /^Failed to connect to 127\.0\.0\.1:\d+: .*ECONNREFUSED/);
});

t.test('an aborted probe fails with "aborted"', async (t) => {
  const controller = new AbortController();
  const c = ctx(t, { signal: controller.signal });
  const pending = runHealthProbe({ type: 'COMMAND', command: { value: 'exec sleep 100' } }, 0, c);
  controller.abort();
  t.same(await pending, { healthy: false, message: 'aborted' });
});
