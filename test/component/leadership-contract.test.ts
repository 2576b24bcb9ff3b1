/**
 * One contract for LeaderElector / LeaderDetector, run against the ZooKeeper
 * implementations (a real ZooKeeper server) and the standalone ones. Cases that need more
 * than one contender (only ZooKeeper has them) are in zk-election.test.ts.
 */
import t, { type Test } from 'tap';
import { StandaloneElector, StaticDetector, type LeaderDetector, type LeaderElector } from '../../sdk/core/leadership.js';
import { connectZk, createZkDetector, createZkElector } from '../../sdk/zk/index.js';
import { startZooKeeper } from '../helpers/zookeeper.js';
import { EventLog } from '../helpers/wait.js';

const WAIT = 10_000;

interface Implementation {
  name: string;
  /** A fresh elector and a detector of the same election (for standalone: fixed to `leaderData`). */
  make(t: Test, leaderData: string): Promise<{ elector: LeaderElector; detector: LeaderDetector }>;
}

const implementations: Implementation[] = [
  {
    name: 'standalone',
    async make(_t, leaderData) {
      return { elector: new StandaloneElector(), detector: new StaticDetector(leaderData) };
    },
  },
  {
    name: 'zookeeper',
    async make(t, _leaderData) {
      const zk = await startZooKeeper(t);
      const es = await connectZk(zk.url('/agora'), { sessionTimeoutMs: 4000 });
      const ds = await connectZk(zk.url('/agora'), { sessionTimeoutMs: 4000 });
      t.teardown(async () => {
        await es.close();
        await ds.close();
      });
      return { elector: createZkElector(es, '/agora'), detector: createZkDetector(ds, '/agora') };
    },
  },
];

for (const impl of implementations) {
  t.test(`${impl.name}: the only contender leads once started`, async (t) => {
    const { elector, detector } = await impl.make(t, 'me');
    t.teardown(() => elector.stop());
    const log = new EventLog<string>();
    elector.onElected(() => log.push('elected'));
    elector.onDemoted((why) => log.push(`demoted:${why}`));
    t.notOk(elector.isLeader, 'not leading before start');
    await elector.start('me');
    await log.waitFor((e) => e === 'elected', WAIT, 'elected');
    t.ok(elector.isLeader);
    // A listener added while leading hears about it at once.
    let late = 0;
    elector.onElected(() => late++);
    t.equal(late, 1);

    await detector.start();
    t.equal(await detector.waitForLeader(WAIT), 'me');
    t.equal(detector.current(), 'me');
    const seen: Array<string | undefined> = [];
    const unsubscribe = detector.onChange((d) => seen.push(d));
    t.same(seen, ['me'], 'onChange reports the known leader at once');
    unsubscribe();

    await elector.stop();
    t.notOk(elector.isLeader, 'not leading after stop');
    t.same(log.filter((e) => e.startsWith('demoted')), [], 'stopping is not a demotion');
    await detector.stop();
  });

  t.test(`${impl.name}: unsubscribed listeners are not called`, async (t) => {
    const { elector, detector } = await impl.make(t, 'me');
    t.teardown(() => elector.stop());
    let called = 0;
    const off = elector.onElected(() => called++);
    off();
    elector.onDemoted(() => undefined)();
    await elector.start('me');
    await detector.start();
    await detector.waitForLeader(WAIT);
    t.ok(elector.isLeader);
    t.equal(called, 0);
    await detector.stop();
  });
}

t.test('zookeeper: the detector reports no leader, then the leader, then none', async (t) => {
  const impl = implementations.find((i) => i.name === 'zookeeper')!;
  const { elector, detector } = await impl.make(t, 'me');
  const seen = new EventLog<string | undefined>();
  detector.onChange((d) => seen.push(d));
  await detector.start();
  t.same(seen.events, [undefined], 'first known state: no leader');
  await t.rejects(detector.waitForLeader(20), { code: 'AGORA_LEADER_TIMEOUT' });
  const waiting = detector.waitForLeader(WAIT);
  await elector.start('me');
  t.equal(await waiting, 'me');
  await elector.stop();
  await seen.waitFor((d) => d === undefined, WAIT, 'no leader again', 1);
  t.same(seen.events, [undefined, 'me', undefined]);
  await detector.stop();
});

t.test('zookeeper: starting twice is refused', async (t) => {
  const impl = implementations.find((i) => i.name === 'zookeeper')!;
  const { elector, detector } = await impl.make(t, 'me');
  await elector.start('me');
  await t.rejects(elector.start('me'), { code: 'AGORA_LEADERSHIP_STATE' });
  await detector.start();
  await t.rejects(detector.start(), { code: 'AGORA_LEADERSHIP_STATE' });
  await elector.stop();
  await detector.stop();
});
