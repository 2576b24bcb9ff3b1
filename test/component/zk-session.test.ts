import t from 'tap';
import { connectZk, type ZkSession } from '../../sdk/zk/index.js';
import { startZooKeeper, startZkProxy, expireZkSession } from '../helpers/zookeeper.js';
import { EventLog } from '../helpers/wait.js';

t.test('session CRUD, mkdirp, watches', async (t) => {
  const zk = await startZooKeeper(t);
  const s = await connectZk(zk.url('/agora'), { sessionTimeoutMs: 4000 });
  t.teardown(() => s.close());
  t.ok(s.connected);
  t.match(s.sessionId, /^[0-9a-f]+$/);
  await s.mkdirp('/agora/a/b');
  t.ok(await s.exists('/agora/a/b'));
  await s.mkdirp('/agora/a/b');
  const p = await s.create('/agora/a/b/x', 'hello', 'PERSISTENT');
  t.equal(p, '/agora/a/b/x');
  const got = await s.get('/agora/a/b/x');
  t.equal(got?.data.toString(), 'hello');
  t.equal(got?.version, 0);
  t.equal(await s.set('/agora/a/b/x', 'v2', 0), 1);
  await t.rejects(s.set('/agora/a/b/x', 'v3', 0), { code: 'AGORA_ZK_BAD_VERSION' });
  await t.rejects(s.create('/agora/a/b/x', '', 'PERSISTENT'), { code: 'AGORA_ZK_NODE_EXISTS' });
  await t.rejects(s.create('/agora/none/x', '', 'PERSISTENT'), { code: 'AGORA_ZK_NO_NODE' });
  t.equal(await s.get('/agora/missing'), undefined);
  const seq = await s.create('/agora/a/s_', Buffer.from([1, 2]), 'EPHEMERAL_SEQUENTIAL');
  t.match(seq, /^\/agora\/a\/s_\d{10}$/);
  t.same((await s.children('/agora/a')).sort(), ['b', seq.split('/').pop()].sort());
  const fired = new Promise<string>((resolve) => void s.children('/agora/a', () => resolve('children')));
  const dataFired = new Promise<string>((resolve) => void s.get('/agora/a/b/x', () => resolve('data')));
  const existsFired = new Promise<string>((resolve) => void s.exists('/agora/a/new', () => resolve('exists')));
  await s.create('/agora/a/new', '', 'PERSISTENT');
  await s.set('/agora/a/b/x', 'v3');
  t.equal(await fired, 'children');
  t.equal(await dataFired, 'data');
  t.equal(await existsFired, 'exists');
  await t.rejects(s.delete('/agora/a'), { code: 'AGORA_ZK_NOT_EMPTY' });
  await s.deleteRecursive('/agora/a');
  t.notOk(await s.exists('/agora/a'));
  await s.delete('/agora/a');
});

t.test('expiry: new session, ephemerals gone', async (t) => {
  const zk = await startZooKeeper(t);
  const s = (await connectZk(zk.url('/'), { sessionTimeoutMs: 2000 })) as ZkSession & { credentials(): { sessionId: string; password: string } };
  t.teardown(() => s.close());
  await s.create('/eph', 'x', 'EPHEMERAL');
  const old = s.sessionId;
  const events = new EventLog<string>();
  for (const e of ['connected', 'disconnected', 'expired'] as const) s.on(e, () => events.push(e));
  await expireZkSession(s, zk);
  const expired = await events.waitFor((e) => e === 'expired', 10_000, 'expired');
  await events.waitFor((e) => e === 'connected', 10_000, 'connected after expiry', events.events.indexOf(expired));
  t.not(s.sessionId, old);
  t.notOk(await s.exists('/eph'));
  await s.create('/eph', 'y', 'EPHEMERAL');
});

t.test('a session the native client gives up on its own is replaced at the first failed call', async (t) => {
  const zk = await startZooKeeper(t);
  // A response spread over more socket reads than the limit makes the native client close its
  // handle (it reports expiry). With a limit of 1, reading a 900 KB znode does that.
  const s = await connectZk(zk.url('/'), { sessionTimeoutMs: 4000, responseCounterLimit: 1 });
  t.teardown(() => s.close());
  const events = new EventLog<string>();
  for (const e of ['connected', 'expired'] as const) s.on(e, () => events.push(e));
  await s.create('/big', Buffer.alloc(900_000, 120), 'PERSISTENT');
  const errors: Array<{ code: string; rc?: number }> = [];
  // Bounded: one read of the whole response (possible on loopback) does not trip the limit.
  for (let i = 0; i < 20 && errors.length === 0; i++) {
    try {
      await s.get('/big');
    } catch (err) {
      errors.push({ code: (err as { code: string }).code, rc: (err as { zkReturnCode?: number }).zkReturnCode });
    }
  }
  t.equal(errors.length, 1, 'a read of the large znode made the native client give the session up');
  t.equal(errors[0]?.code, 'AGORA_ZK_CLOSING');
  // Right away (before the native client's own 'close' event), the next call goes to a new
  // session, not to the dead handle (which answered ZMARSHALLINGERROR until that event came).
  await s.create('/after', 'x', 'PERSISTENT');
  t.equal((await s.get('/after'))?.data.toString(), 'x');
  const expired = await events.waitFor((e) => e === 'expired', 10_000, 'expired');
  await events.waitFor((e) => e === 'connected', 10_000, 'connected after the replacement', events.events.indexOf(expired));
  t.ok(await s.exists('/big'), 'the data is all there');
});

t.test('digest credentials in the URL; bad URLs; closed sessions; unreachable servers', async (t) => {
  const zk = await startZooKeeper(t);
  const s = await connectZk(`zk://alice:secret@${zk.connectString}/agora`, { sessionTimeoutMs: 2000 });
  await s.mkdirp('/agora/auth');
  t.ok(await s.exists('/agora/auth'), 'an authenticated session works');
  await s.close();
  await s.close();
  t.notOk(s.connected);
  await t.rejects(s.get('/agora/auth'), { code: 'AGORA_ZK_CLOSING' });

  await t.rejects(connectZk('http://127.0.0.1:1/x'), { code: 'AGORA_ZK_URL_INVALID' });
  const direct = await connectZk(zk.url('/'), { sessionTimeoutMs: 2000 });
  t.teardown(() => direct.close());
  await t.rejects(direct.get('relative'), { code: 'AGORA_ZK_BAD_ARGUMENTS' });
  await t.rejects(direct.create('/x/', '', 'PERSISTENT'), { code: 'AGORA_ZK_BAD_ARGUMENTS' });
  await t.rejects(direct.create('/x', '', 'BOGUS' as 'PERSISTENT'), { code: 'AGORA_ZK_BAD_ARGUMENTS' });
  await t.rejects(direct.deleteRecursive('/'), { code: 'AGORA_ZK_BAD_ARGUMENTS' });

  // Nothing listens on the proxy's port once it is closed.
  const proxy = await startZkProxy(t, zk);
  proxy.cut();
  await t.rejects(connectZk(proxy.url('/'), { connectTimeoutMs: 300 }), { code: 'AGORA_ZK_CONNECT_TIMEOUT' });
});

t.test('a short connection loss keeps the session, its ephemerals and its watches', async (t) => {
  const zk = await startZooKeeper(t);
  const proxy = await startZkProxy(t, zk);
  const s = await connectZk(proxy.url('/'), { sessionTimeoutMs: 10_000 });
  t.teardown(() => s.close());
  const events = new EventLog<string>();
  for (const e of ['connected', 'disconnected', 'expired'] as const) s.on(e, () => events.push(e));
  await s.create('/eph', 'x', 'EPHEMERAL');
  const id = s.sessionId;
  let fire!: () => void;
  const watched = new Promise<void>((resolve) => (fire = resolve));
  t.ok(await s.get('/eph', fire));
  proxy.cut();
  await events.waitFor((e) => e === 'disconnected', 10_000, 'disconnected');
  t.notOk(s.connected);
  proxy.restore();
  await events.waitFor((e) => e === 'connected', 10_000, 'reconnected');
  t.equal(s.sessionId, id, 'same session');
  t.same(events.filter((e) => e === 'expired'), []);
  const other = await connectZk(zk.url('/'), { sessionTimeoutMs: 2000 });
  t.teardown(() => other.close());
  await other.set('/eph', 'y');
  await watched;
  t.equal((await s.get('/eph'))?.data.toString(), 'y');
});
