/**
 * Leader detection in the scheduler SDK, without ZooKeeper: the pure parts (MasterInfo →
 * address, zk:// checks, option compilation) and a Scheduler driven by an in-memory
 * detector against fake masters over real HTTP (waits with no leader, follows a leader
 * change with its framework id, still follows 307s).
 */
import t from 'tap';
import type { LeaderDetector } from '../../sdk/core/leadership.js';
import { silentLogger } from '../../sdk/core/log.js';
import { HttpSchedulerTransport } from '../../sdk/scheduler/http-transport.js';
import { Scheduler, type SchedulerOptions } from '../../sdk/scheduler/index.js';
import { formatMasterAddress, isZkUrl, leaderAddress, redactMasterUrl, sameMaster, zkUrlProblem } from '../../sdk/scheduler/leader.js';
import { compileSchedulerOptions } from '../../sdk/scheduler/options.js';
import { calls } from '../../sdk/scheduler/calls.js';
import { FakeMaster, ManualClock, startFakeMasters as masters } from './scheduler-helpers.js';

/** A detector the test moves by hand. */
class HandDetector implements LeaderDetector {
  private data: string | undefined;
  private readonly listeners = new Set<(d: string | undefined) => void>();
  started = 0;
  stopped = 0;
  async start(): Promise<void> { this.started++; }
  current(): string | undefined { return this.data; }
  onChange(fn: (d: string | undefined) => void): () => void {
    this.listeners.add(fn);
    fn(this.data);
    return () => this.listeners.delete(fn);
  }
  async waitForLeader(): Promise<string> { throw new Error('unused'); }
  async stop(): Promise<void> { this.stopped++; }
  set(data: string | undefined): void {
    this.data = data;
    for (const fn of [...this.listeners]) fn(data);
  }
  get listenerCount(): number { return this.listeners.size; }
}

/** MasterInfo JSON as a master publishes it in `json.info_<seq>`. */
const masterInfo = (port: number, id = `m-${port}`): string =>
  JSON.stringify({ id, ip: 0x0100007f, port, pid: `master@127.0.0.1:${port}`, hostname: 'localhost', version: '1.11.0', address: { hostname: 'localhost', ip: '127.0.0.1', port } });

function scheduler(detector: LeaderDetector, extra: Partial<SchedulerOptions> = {}): Scheduler {
  return new Scheduler({
    master: 'zk://127.0.0.1:2181/agora',
    leaderDetector: detector,
    frameworkInfo: { user: 'tester', name: 'zk-test' },
    logger: silentLogger(),
    backoffMs: 5,
    maxBackoffMs: 20,
    ...extra,
  });
}

t.test('leaderAddress: MasterInfo JSON (address, hostname, pid fallbacks), host:port, junk', async (t) => {
  t.same(leaderAddress(masterInfo(5050)), { protocol: 'http:', host: '127.0.0.1', port: 5050 });
  t.same(leaderAddress(JSON.stringify({ id: 'm', ip: 0, port: 6000, hostname: 'm1.local' })), { protocol: 'http:', host: 'm1.local', port: 6000 });
  t.same(leaderAddress(JSON.stringify({ id: 'm', ip: 0, port: 6000, address: { hostname: 'h', port: 7000 } })), { protocol: 'http:', host: 'h', port: 7000 });
  t.same(leaderAddress(JSON.stringify({ id: 'm', pid: 'master@10.1.2.3:5051' })), { protocol: 'http:', host: '10.1.2.3', port: 5051 });
  t.same(leaderAddress(JSON.stringify({ address: { ip: '::1', port: 5050 } })), { protocol: 'http:', host: '::1', port: 5050 });
  t.same(leaderAddress('10.0.0.1:5050'), { protocol: 'http:', host: '10.0.0.1', port: 5050 });
  t.same(leaderAddress('ws://[::1]:6000/api/v1/agent'), { protocol: 'http:', host: '::1', port: 6000 });
  t.same(leaderAddress('https://m:8443'), { protocol: 'https:', host: 'm', port: 8443 });
  t.same(leaderAddress('m1'), { protocol: 'http:', host: 'm1', port: 5050 });
  for (const junk of [undefined, '', '   ', '{not json', '{}', '{"hostname":"h"}', '{"address":{"ip":"h","port":0}}', '[1,2]', 'ftp://h:1', '{"port":70000,"hostname":"h"}']) {
    t.equal(leaderAddress(junk), undefined, `junk: ${String(junk)}`);
  }
  t.ok(sameMaster(leaderAddress('127.0.0.1:5050'), leaderAddress(masterInfo(5050))));
  t.notOk(sameMaster(leaderAddress('127.0.0.1:5050'), leaderAddress(masterInfo(5051))));
  t.notOk(sameMaster(undefined, undefined));
  t.equal(formatMasterAddress({ protocol: 'http:', host: '::1', port: 1 }), '[::1]:1');
});

t.test('zk:// URLs: recognised, checked, redacted', async (t) => {
  t.ok(isZkUrl('zk://h:2181/agora'));
  t.ok(isZkUrl(' ZK://h/agora'));
  t.notOk(isZkUrl('h:5050'));
  for (const ok of ['zk://h:2181/agora', 'zk://a:1,b:2,c:3/agora/sub', 'zk://user:pw@h:2181/agora', 'zk://h/agora', 'zk://[::1]:2181/agora']) {
    t.equal(zkUrlProblem(ok), undefined, ok);
  }
  for (const bad of ['zk://h:2181', 'zk://h:2181/', 'zk:///agora', 'zk://h:x/agora', 'zk://h:2181/a//b', 'zk://h:2181/a/', 'zk://a:1,,b:2/agora', 'zk://h:2181/a b']) {
    t.type(zkUrlProblem(bad), 'string', bad);
  }
  t.equal(redactMasterUrl('zk://user:secret@h:2181/agora'), 'zk://***@h:2181/agora');
  t.equal(redactMasterUrl('zk://h:2181/agora'), 'zk://h:2181/agora');
});

t.test('options: zk:// accepted (no address), host:port unchanged, bad zk:// and bad detectors refused', async (t) => {
  const base = { frameworkInfo: { user: 'u', name: 'n' }, logger: silentLogger() };
  const zk = compileSchedulerOptions({ ...base, master: ' zk://h:2181/agora ' });
  t.equal(zk.zk, 'zk://h:2181/agora');
  t.equal(zk.master, undefined);
  t.equal(zk.leaderDetector, undefined);
  const plain = compileSchedulerOptions({ ...base, master: 'h:5050' });
  t.same(plain.master, { protocol: 'http:', host: 'h', port: 5050 });
  t.equal(plain.zk, undefined);
  t.throws(() => compileSchedulerOptions({ ...base, master: 'zk://h:2181' }), { code: 'AGORA_SCHEDULER_OPTIONS_INVALID', message: /needs a path/ });
  t.throws(() => compileSchedulerOptions({ ...base, master: 'h:1', leaderDetector: {} as LeaderDetector }), { code: 'AGORA_SCHEDULER_OPTIONS_INVALID', message: /leaderDetector/ });
  const d = new HandDetector();
  t.equal(compileSchedulerOptions({ ...base, master: 'h:1', leaderDetector: d }).leaderDetector, d);
  t.equal(zk.zkSessionTimeoutMs, 10_000, 'ZooKeeper session timeout: 10 s by default');
  t.equal(compileSchedulerOptions({ ...base, master: 'zk://h:2181/agora', zkSessionTimeoutMs: 4000 }).zkSessionTimeoutMs, 4000);
  for (const bad of [0, -1, Number.NaN, '4s' as unknown as number]) {
    t.throws(() => compileSchedulerOptions({ ...base, master: 'zk://h:2181/agora', zkSessionTimeoutMs: bad }), { code: 'AGORA_SCHEDULER_OPTIONS_INVALID', message: /zkSessionTimeoutMs/ });
  }
});

t.test('transport with detectLeader: no leader → MASTER_UNREACHABLE; starts at the detected leader', async (t) => {
  const [a, b] = await masters(t, 2);
  let leader: string | undefined;
  const transport = new HttpSchedulerTransport({ detectLeader: () => leaderAddress(leader), logger: silentLogger() });
  t.teardown(() => transport.close());
  t.equal(transport.endpoint, '');
  await t.rejects(transport.subscribe(calls.subscribe({ user: 'u', name: 'n' })), { code: 'AGORA_MASTER_UNREACHABLE', message: /no leading master/ });
  leader = masterInfo(a!.port);
  const s1 = await transport.subscribe(calls.subscribe({ user: 'u', name: 'n' }));
  t.equal(a!.received.length, 1);
  s1.close();
  leader = masterInfo(b!.port);
  const s2 = await transport.subscribe(calls.subscribe({ user: 'u', name: 'n' }));
  t.equal(b!.received.length, 1, 'the next subscription goes to the newly detected leader, not the remembered one');
  await transport.send(calls.revive(), s2.streamId);
  t.equal((await b!.calls.next()).body.type, 'REVIVE');
  s2.close();
  t.throws(() => new HttpSchedulerTransport({ logger: silentLogger() }), { code: 'AGORA_SCHEDULER_OPTIONS_INVALID' });
});

t.test('no leader: the scheduler waits without subscribing, then subscribes when one is elected', async (t) => {
  const [a] = await masters(t, 1);
  const detector = new HandDetector();
  const s = scheduler(detector);
  const started = s.start();
  // Give the loop every chance to (wrongly) dial something.
  await new Promise((r) => setImmediate(r));
  t.equal(s.state, 'subscribing');
  t.equal(a!.received.length, 0);
  detector.set('{garbage');
  t.equal(a!.received.length, 0);
  detector.set(masterInfo(a!.port));
  t.equal(await started, 'fw-1');
  t.equal(a!.received.length, 1);
  await s.stop();
  t.equal(detector.listenerCount, 0, 'the scheduler unsubscribed from the detector');
  t.equal(detector.stopped, 0, 'a caller-provided detector is not stopped');
});

t.test('leader change: the stream to the old leader is closed, resubscribe at the new one with the framework id', async (t) => {
  const [a, b] = await masters(t, 2);
  const detector = new HandDetector();
  detector.set(masterInfo(a!.port));
  const s = scheduler(detector);
  const events: string[] = [];
  s.on('disconnected', () => { events.push('disconnected'); });
  s.on('reconnected', ({ frameworkId }) => { events.push(`reconnected ${frameworkId}`); });
  t.equal(await s.start(), 'fw-1');
  const reconnected = new Promise<void>((resolve) => s.on('reconnected', () => resolve()));
  // A re-read of the same data changes nothing.
  detector.set(masterInfo(a!.port));
  t.equal(a!.received.length, 1);
  detector.set(masterInfo(b!.port));
  await reconnected;
  const { req } = await b!.subscribes.next();
  t.same(req.body.subscribe?.framework_info.id, { value: 'fw-1' }, 'resubscribed with the framework id');
  t.same(events, ['disconnected', 'reconnected fw-1']);
  t.equal(a!.received.length, 1, 'the old leader was not asked again');
  // Calls follow the new leader.
  await s.revive();
  t.equal((await b!.calls.next()).body.type, 'REVIVE');
  // Losing the leader (no leader reported) does not drop a working stream.
  detector.set(undefined);
  await s.suppress();
  t.equal((await b!.calls.next()).body.type, 'SUPPRESS');
  t.equal(s.state, 'subscribed');
  await s.stop();
});

t.test('a leader elected while backing off from the dead one is followed at once, not after the backoff', async (t) => {
  const [a, b] = await masters(t, 2);
  const detector = new HandDetector();
  detector.set(masterInfo(a!.port));
  // The clock never advances: any backoff sleep would last forever, so reconnecting proves
  // the new leader cut it short.
  const s = scheduler(detector, { clock: new ManualClock(), backoffMs: 60_000, maxBackoffMs: 60_000 });
  t.equal(await s.start(), 'fw-1');
  const disconnected = new Promise<void>((resolve) => s.on('disconnected', () => resolve()));
  const reconnected = new Promise<void>((resolve) => s.on('reconnected', () => resolve()));
  a!.dropStreams(); // the leader dies
  await disconnected;
  detector.set(masterInfo(b!.port)); // a standby takes over
  await reconnected;
  const { req } = await b!.subscribes.next();
  t.same(req.body.subscribe?.framework_info.id, { value: 'fw-1' }, 'resubscribed at the new leader with the framework id');
  await s.stop();
});

t.test('the detected "leader" is a standby: its 307 is followed to the real leader', async (t) => {
  const [standby, leader] = await masters(t, 2);
  standby!.onSubscribe = (_req, res) => { res.writeHead(307, { Location: `//127.0.0.1:${leader!.port}/api/v1/scheduler` }).end(); };
  const detector = new HandDetector();
  detector.set(masterInfo(standby!.port));
  const s = scheduler(detector);
  t.equal(await s.start(), 'fw-1');
  t.equal(standby!.received.length, 1);
  t.equal(leader!.received.length, 1);
  await s.revive();
  t.equal((await leader!.calls.next()).body.type, 'REVIVE');
  await s.stop();
});

t.test('stop while waiting for a leader: start() rejects, the loop ends', async (t) => {
  const s = scheduler(new HandDetector());
  const started = s.start();
  await new Promise((r) => setImmediate(r));
  await s.stop();
  await t.rejects(started, { code: 'AGORA_SCHEDULER_STOPPED' });
  t.equal(await s.whenStopped(), undefined);
});
