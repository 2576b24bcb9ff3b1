/**
 * The ZooKeeper election and detection recipes against a real ZooKeeper server.
 */
import t, { type Test } from 'tap';
import { connectZk, createZkDetector, createZkElector, type NativeZkSession, type ZkElector } from '../../sdk/zk/index.js';
import { expireZkSession, startZkProxy, startZooKeeper, type TestZooKeeper } from '../helpers/zookeeper.js';
import { EventLog } from '../helpers/wait.js';

const WAIT = 10_000;
const GROUP = '/agora';

async function session(t: Test, zk: TestZooKeeper, sessionTimeoutMs = 4000): Promise<NativeZkSession> {
  const s = (await connectZk(zk.url(GROUP), { sessionTimeoutMs })) as NativeZkSession;
  t.teardown(() => s.close());
  return s;
}

interface Contender {
  session: NativeZkSession;
  elector: ZkElector;
  log: EventLog<string>;
}

async function contender(t: Test, zk: TestZooKeeper, data: string): Promise<Contender> {
  const s = await session(t, zk);
  const elector = createZkElector(s, GROUP);
  const log = new EventLog<string>();
  elector.onElected(() => log.push('elected'));
  elector.onDemoted((why) => log.push(`demoted:${why}`));
  t.teardown(() => elector.stop());
  await elector.start(data);
  return { session: s, elector, log };
}

function member(c: Contender): string {
  return c.elector.znode!.split('/').pop()!;
}

t.test('three contenders: the lowest leads, each watches only its predecessor', async (t) => {
  const zk = await startZooKeeper(t);
  const a = await contender(t, zk, 'A');
  const b = await contender(t, zk, 'B');
  const c = await contender(t, zk, 'C');
  t.ok(a.elector.isLeader);
  t.notOk(b.elector.isLeader);
  t.notOk(c.elector.isLeader);
  t.equal(a.elector.watching, undefined);
  t.equal(b.elector.watching, member(a));
  t.equal(c.elector.watching, member(b));

  const ds = await session(t, zk);
  const detector = createZkDetector(ds, GROUP);
  const seen = new EventLog<string | undefined>();
  detector.onChange((d) => seen.push(d));
  await detector.start();
  t.equal(detector.current(), 'A');
  t.equal(await detector.waitForLeader(WAIT), 'A');
  t.same(seen.events, ['A'], 'first known state reported once');

  // Kill the middle one: the leader is unchanged, the third now watches the first.
  await b.session.close();
  await waitUntil(() => c.elector.watching === member(a), 'C to watch A');
  t.ok(a.elector.isLeader);
  t.notOk(c.elector.isLeader);
  t.equal(detector.current(), 'A');

  // The leader stops: the next one is elected, the detector follows.
  await a.elector.stop();
  await c.log.waitFor((e) => e === 'elected', WAIT, 'C elected');
  t.ok(c.elector.isLeader);
  await seen.waitFor((d) => d === 'C', WAIT, 'detector sees C');
  t.equal(detector.current(), 'C');
  t.same(a.log.filter((e) => e.startsWith('demoted')), [], 'a voluntary stop is not a demotion');

  // No contender left: no leader.
  await c.elector.stop();
  await seen.waitFor((d) => d === undefined, WAIT, 'detector sees no leader');
  await t.rejects(detector.waitForLeader(50), { code: 'AGORA_LEADER_TIMEOUT' });
  await detector.stop();
});

t.test('session expiry demotes the leader, which re-joins with a new znode', async (t) => {
  const zk = await startZooKeeper(t);
  const a = await contender(t, zk, 'A');
  const b = await contender(t, zk, 'B');
  const ds = await session(t, zk);
  const detector = createZkDetector(ds, GROUP);
  const seen = new EventLog<string | undefined>();
  detector.onChange((d) => seen.push(d));
  await detector.start();
  t.ok(a.elector.isLeader);
  const oldZnode = a.elector.znode;

  await expireZkSession(a.session, zk);
  await a.log.waitFor((e) => e.startsWith('demoted:'), WAIT, 'A demoted');
  t.notOk(a.elector.isLeader);
  await b.log.waitFor((e) => e === 'elected', WAIT, 'B elected');
  await seen.waitFor((d) => d === 'B', WAIT, 'detector sees B');
  await waitUntil(() => a.elector.znode !== undefined && a.elector.znode !== oldZnode && a.elector.watching === member(b), 'A re-joined behind B');
  t.notOk(a.elector.isLeader);

  // The detector's own session expires: it finds the leader again on the new session.
  await expireZkSession(ds, zk);
  await seen.waitFor((d) => d === undefined, WAIT, 'detector forgets the leader on expiry');
  await seen.waitFor((d) => d === 'B', WAIT, 'detector sees B again', seen.events.length);
  t.equal(detector.current(), 'B');
  await detector.stop();
});

t.test('detector waits for a group that does not exist yet', async (t) => {
  const zk = await startZooKeeper(t);
  const ds = await session(t, zk);
  const detector = createZkDetector(ds, '/later/group');
  await detector.start();
  t.equal(detector.current(), undefined);
  const leader = detector.waitForLeader(WAIT);
  const s = await session(t, zk);
  const e = createZkElector(s, '/later/group');
  t.teardown(() => e.stop());
  await e.start('X');
  t.equal(await leader, 'X');
  await detector.stop();
});

async function waitUntil(cond: () => boolean, what: string, timeoutMs = WAIT): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}


t.test('a leader cut off from ZooKeeper demotes itself after a session timeout, and re-joins', async (t) => {
  const zk = await startZooKeeper(t);
  const proxy = await startZkProxy(t, zk);
  const as = (await connectZk(proxy.url(GROUP), { sessionTimeoutMs: 2000 })) as NativeZkSession;
  t.teardown(() => as.close());
  const sessionEvents = new EventLog<string>();
  for (const e of ['connected', 'disconnected', 'expired'] as const) as.on(e, () => sessionEvents.push(e));
  const a = createZkElector(as, GROUP);
  const aLog = new EventLog<string>();
  a.onElected(() => aLog.push('elected'));
  a.onDemoted((why) => aLog.push(`demoted:${why}`));
  t.teardown(() => a.stop());
  await a.start('A');
  const b = await contender(t, zk, 'B');
  t.ok(a.isLeader);
  const oldZnode = a.znode;

  proxy.cut();
  await sessionEvents.waitFor((e) => e === 'disconnected', WAIT, 'A disconnected');
  // Nobody can tell A its session expired: it concludes so itself after the session timeout.
  await aLog.waitFor((e) => e === 'demoted:ZooKeeper session expired', WAIT, 'A demoted');
  t.notOk(a.isLeader);
  await b.log.waitFor((e) => e === 'elected', WAIT, 'B elected once the server expired A');

  proxy.restore();
  await waitUntil(() => a.znode !== undefined && a.znode !== oldZnode && a.watching === member(b), 'A re-joined behind B');
  t.notOk(a.isLeader);
  t.ok(b.elector.isLeader);
});

t.test('a contender whose znode is deleted from outside is demoted and re-joins', async (t) => {
  const zk = await startZooKeeper(t);
  const a = await contender(t, zk, 'A');
  let calls = 0;
  a.elector.onElected(() => {
    // Called at once (A leads); later calls throw, which must not break the election.
    if (calls++ > 0) throw new Error('listener failure');
  });
  t.ok(a.elector.isLeader);
  const first = a.elector.znode!;
  const admin = await session(t, zk);
  await admin.delete(first);
  await a.log.waitFor((e) => e === 'demoted:election znode deleted', WAIT, 'A demoted');
  await a.log.waitFor((e) => e === 'elected', WAIT, 'A elected again', a.log.events.indexOf('demoted:election znode deleted'));
  t.ok(a.elector.isLeader);
  t.not(a.elector.znode, first);
  t.equal((await admin.get(a.elector.znode!))?.data.toString(), 'A', 're-joined with the same data');

  // The whole group deleted: it is created again.
  await admin.deleteRecursive(GROUP);
  await waitUntil(() => a.elector.isLeader && a.elector.znode !== undefined && a.log.events.filter((e) => e === 'elected').length >= 3, 'A re-elected after the group was deleted');
  t.ok(await admin.exists(a.elector.znode!));
});
