/**
 * The HTTP transport against a tiny fake master (node:http on 127.0.0.1:0) speaking the
 * v1 scheduler API: headers, RecordIO stream, 307 to the leader, status codes.
 */
import t from 'tap';
import { silentLogger } from '../../sdk/core/log.js';
import { encodeRecord } from '../../sdk/protocol/index.js';
import { HttpSchedulerTransport } from '../../sdk/scheduler/http-transport.js';
import { calls, CallRejectedError, parseMasterAddress, Scheduler, type SchedulerOptions } from '../../sdk/scheduler/index.js';
import { deferred, FakeMaster, ManualClock, startFakeMasters as masters } from './scheduler-helpers.js';

function scheduler(master: string, extra: Partial<SchedulerOptions> = {}): { s: Scheduler; clock: ManualClock } {
  const clock = new ManualClock();
  const s = new Scheduler({
    master, frameworkInfo: { user: 'tester', name: 'http-test' }, clock, logger: silentLogger(), random: () => 0.5, ...extra,
  });
  return { s, clock };
}

t.test('SUBSCRIBE and calls: Mesos headers, stream id, RecordIO events', async (t) => {
  const [master] = await masters(t, 1);
  const { s } = scheduler(`127.0.0.1:${master!.port}`);
  const offers = deferred<string[]>();
  s.on('OFFERS', (list) => offers.resolve(list.map((o) => o.id.value)));
  t.equal(await s.start(), 'fw-1');
  const { req } = await master!.subscribes.next();
  t.equal(req.method, 'POST');
  t.equal(req.path, '/api/v1/scheduler');
  t.equal(req.headers['content-type'], 'application/json');
  t.equal(req.headers.accept, 'application/json');
  t.same(req.body, { type: 'SUBSCRIBE', subscribe: { framework_info: { user: 'tester', name: 'http-test' } } });

  // An event written in two TCP writes, split inside the record.
  const record = encodeRecord(JSON.stringify({
    type: 'OFFERS',
    offers: { offers: [{ id: { value: 'o1' }, framework_id: { value: 'fw-1' }, agent_id: { value: 'a1' }, hostname: 'h', resources: null }] },
  }));
  master!.broadcast(encodeRecord(JSON.stringify({ type: 'HEARTBEAT' })));
  master!.broadcastRaw(record.subarray(0, 10));
  master!.broadcastRaw(record.subarray(10));
  t.same(await offers.promise, ['o1']);

  await s.decline(['o1']);
  const call = await master!.calls.next();
  t.equal(call.headers['mesos-stream-id'], 'stream-1');
  t.equal(call.headers['content-type'], 'application/json');
  t.equal(call.headers.accept, 'application/json');
  t.same(call.body, { type: 'DECLINE', framework_id: { value: 'fw-1' }, decline: { offer_ids: [{ value: 'o1' }] } });
  await s.stop();
});

t.test('307 from a standby is followed (scheme-relative Location) for SUBSCRIBE and calls', async (t) => {
  const [standby, leader] = await masters(t, 2);
  standby!.onSubscribe = (_req, res) => { res.writeHead(307, { Location: `//127.0.0.1:${leader!.port}/api/v1/scheduler` }).end(); };
  standby!.onCall = (_req, res) => { res.writeHead(307, { Location: `//127.0.0.1:${leader!.port}/api/v1/scheduler` }).end(); };
  const { s } = scheduler(`http://127.0.0.1:${standby!.port}`);
  t.equal(await s.start(), 'fw-1');
  t.equal(standby!.received.length, 1);
  t.equal(leader!.received.length, 1);
  await s.revive();
  t.equal((await leader!.calls.next()).body.type, 'REVIVE', 'calls go to the leader');
  t.equal(standby!.received.length, 1);
  await s.stop();
});

t.test('redirect loops are bounded', async (t) => {
  const [loop] = await masters(t, 1);
  loop!.onSubscribe = (_req, res) => { res.writeHead(307, { Location: `//127.0.0.1:${loop!.port}/api/v1/scheduler` }).end(); };
  const { s } = scheduler(`127.0.0.1:${loop!.port}`, { reconnect: false, maxRedirects: 3 });
  await t.rejects(s.start(), { code: 'AGORA_TOO_MANY_REDIRECTS' });
  t.equal(loop!.received.length, 4, 'the first request and 3 redirects');
});

t.test('rejected calls carry status and body; rejected SUBSCRIBE is fatal on 4xx', async (t) => {
  const [master] = await masters(t, 1);
  master!.onCall = (_req, res) => { res.writeHead(400, { 'Content-Type': 'text/plain' }).end("Expecting 'kill' to be present"); };
  const { s } = scheduler(`127.0.0.1:${master!.port}`);
  await s.start();
  const err = await s.kill('t1').catch((e: unknown) => e);
  t.ok(err instanceof CallRejectedError);
  t.match(err, { code: 'AGORA_CALL_REJECTED', status: 400, body: "Expecting 'kill' to be present", callType: 'KILL' });
  await s.stop();

  master!.onSubscribe = (_req, res) => { res.writeHead(403, { 'Content-Type': 'text/plain' }).end('Framework has been removed'); };
  const second = scheduler(`127.0.0.1:${master!.port}`).s;
  await t.rejects(second.start(), { code: 'AGORA_SUBSCRIBE_REJECTED', status: 403, body: 'Framework has been removed' });
  t.equal(second.state, 'stopped');
});

t.test('503 to SUBSCRIBE is retried soon (a live master not ready yet); the stream drop resubscribes with the framework id', async (t) => {
  const [master] = await masters(t, 1);
  let unavailable = 1;
  master!.onSubscribe = (req, res) => {
    if (unavailable-- > 0) res.writeHead(503).end('No leader elected');
    else master!.acceptSubscribe(req, res);
  };
  const { s, clock } = scheduler(`127.0.0.1:${master!.port}`, { backoffMs: 100, maxBackoffMs: 100 });
  const started = s.start();
  const retry = await clock.nextTimer((tm) => tm.delay <= 100);
  t.equal(retry.delay, 38, 'from the 50 ms base of 503 retries (equal jitter at 0.5), not backoffMs');
  clock.advance(38);
  t.equal(await started, 'fw-1');

  const reconnected = deferred<string>();
  s.on('reconnected', ({ frameworkId }) => reconnected.resolve(frameworkId));
  const backoff = clock.nextTimer((tm) => tm.delay <= 100);
  master!.dropStreams();
  clock.advance((await backoff).delay);
  t.equal(await reconnected.promise, 'fw-1');
  const resubscribe = master!.received.filter((r) => r.body.type === 'SUBSCRIBE').at(-1)!;
  t.same(resubscribe.body.framework_id, { value: 'fw-1' });
  t.same(resubscribe.body.subscribe?.framework_info.id, { value: 'fw-1' });
  await s.stop();
});

t.test('the transport alone: unreachable master, 202, stream ids', async (t) => {
  const [master] = await masters(t, 1);
  const transport = new HttpSchedulerTransport({ master: parseMasterAddress(`127.0.0.1:${master!.port}`), logger: silentLogger() });
  const stream = await transport.subscribe(calls.subscribe({ user: 'u', name: 'n' }));
  t.equal(stream.streamId, 'stream-1');
  await transport.send({ ...calls.suppress(), framework_id: { value: 'fw-1' } }, stream.streamId);
  t.equal((await master!.calls.next()).headers['mesos-stream-id'], 'stream-1');
  stream.close();
  transport.close();
  const port = master!.port;
  await master!.close();
  const dead = new HttpSchedulerTransport({ master: parseMasterAddress(`127.0.0.1:${port}`), logger: silentLogger() });
  await t.rejects(dead.subscribe(calls.subscribe({ user: 'u', name: 'n' })), { code: 'AGORA_MASTER_UNREACHABLE' });
  dead.close();
});

t.test('master address parsing', async (t) => {
  t.same(parseMasterAddress('10.0.0.1:5050'), { protocol: 'http:', host: '10.0.0.1', port: 5050 });
  t.same(parseMasterAddress('master.local'), { protocol: 'http:', host: 'master.local', port: 5050 });
  t.same(parseMasterAddress('http://m:80/'), { protocol: 'http:', host: 'm', port: 80 });
  t.same(parseMasterAddress('https://m:8443'), { protocol: 'https:', host: 'm', port: 8443 });
  t.same(parseMasterAddress('[::1]:5050'), { protocol: 'http:', host: '::1', port: 5050 });
  t.throws(() => parseMasterAddress('http://m:5050/master'), { code: 'AGORA_SCHEDULER_OPTIONS_INVALID' });
  t.throws(() => parseMasterAddress('ftp://m:21'), { code: 'AGORA_SCHEDULER_OPTIONS_INVALID' });
});
