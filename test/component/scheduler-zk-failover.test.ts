/**
 * The scheduler SDK with `master: 'zk://…'` against a real ZooKeeper: the test plays the
 * masters' election itself (EPHEMERAL_SEQUENTIAL `json.info_<seq>` znodes holding
 * MasterInfo JSON pointing at fake v1 scheduler endpoints) and checks that the scheduler
 * waits while nobody leads, subscribes to the leader, and resubscribes with its framework
 * id when the leader changes; `stop()` closes its ZooKeeper session.
 */
import t from 'tap';
import { silentLogger } from '../../sdk/core/log.js';
import { Scheduler } from '../../sdk/scheduler/index.js';
import { connectZk, type ZkSession } from '../../sdk/zk/index.js';
import { startZooKeeper } from '../helpers/zookeeper.js';
import { FakeMaster, startFakeMasters as fakeMasters } from '../unit/scheduler-helpers.js';
import { LogCapture } from './slave-kit.js';

const GROUP = '/agora';

function masterInfo(port: number, id: string): string {
  return JSON.stringify({ id, ip: 0x0100007f, port, pid: `master@127.0.0.1:${port}`, hostname: 'localhost', version: '1.11.0', address: { hostname: 'localhost', ip: '127.0.0.1', port } });
}

t.test('zk:// master: waits for a leader, subscribes to it, resubscribes with the framework id at the next leader', async (t) => {
  const zk = await startZooKeeper(t);
  const writer: ZkSession = await connectZk(zk.url(GROUP));
  t.teardown(() => writer.close());
  await writer.mkdirp(GROUP);
  const [a, b] = await fakeMasters(t, 2);
  const log = new LogCapture('info');

  const scheduler = new Scheduler({
    master: zk.url(GROUP),
    frameworkInfo: { user: 'tester', name: 'zk-framework', failover_timeout: 60 },
    logger: log.logger,
    backoffMs: 20,
    maxBackoffMs: 200,
  });
  t.teardown(() => scheduler.stop());
  const started = scheduler.start();
  await log.waitFor('no leading master; waiting for one to be elected');
  t.equal(scheduler.state, 'subscribing');
  t.equal(a!.received.length + b!.received.length, 0, 'nothing dialled while nobody leads');

  // A is elected: the waiting scheduler subscribes there.
  const aNode = await writer.create(`${GROUP}/json.info_`, masterInfo(a!.port, 'master-a'), 'EPHEMERAL_SEQUENTIAL');
  t.equal(await started, 'fw-1');
  t.equal(b!.received.length, 0, 'nobody else was asked');
  t.equal((await a!.subscribes.next()).req.body.subscribe?.framework_info.id, undefined, 'first subscription: no id yet');

  // B joins as a standby, then A's znode goes: B leads.
  const reconnected = new Promise<string>((resolve) => scheduler.on('reconnected', ({ frameworkId }) => resolve(frameworkId)));
  await writer.create(`${GROUP}/json.info_`, masterInfo(b!.port, 'master-b'), 'EPHEMERAL_SEQUENTIAL');
  await writer.delete(aNode);
  t.equal(await reconnected, 'fw-1');
  const { req } = await b!.subscribes.next();
  t.same(req.body.subscribe?.framework_info.id, { value: 'fw-1' }, 'resubscribed with the framework id');
  t.equal(req.body.subscribe?.framework_info.failover_timeout, 60);
  await scheduler.revive();
  t.equal((await b!.calls.next()).body.type, 'REVIVE', 'calls go to the new leader');

  await scheduler.stop();
  t.equal(await scheduler.whenStopped(), undefined, 'stopped cleanly (its ZooKeeper session closed)');
});

t.test('zk:// master whose group does not exist yet: the scheduler waits, then subscribes when the first master registers', async (t) => {
  const zk = await startZooKeeper(t);
  const [a] = await fakeMasters(t, 1);
  const scheduler = new Scheduler({
    master: zk.url('/fresh/agora'), frameworkInfo: { user: 'tester', name: 'zk-late' }, logger: silentLogger(), backoffMs: 20, maxBackoffMs: 200,
  });
  t.teardown(() => scheduler.stop());
  const started = scheduler.start();
  const writer = await connectZk(zk.url('/fresh/agora'));
  t.teardown(() => writer.close());
  await writer.mkdirp('/fresh/agora');
  await writer.create('/fresh/agora/json.info_', masterInfo(a!.port, 'master-a'), 'EPHEMERAL_SEQUENTIAL');
  t.equal(await started, 'fw-1');
  await scheduler.stop();
});
