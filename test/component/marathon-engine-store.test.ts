/**
 * The MarathonStore contract, run against every implementation (FileStore in a temp dir,
 * MemoryStore, ZkMarathonStore on a real ZooKeeper server): what is saved is loaded back,
 * app versions are pruned to the newest 50, deletions stick, and (FileStore, ZooKeeper) a
 * new store on the same place sees everything. FileStore also: instances in one journal (torn
 * last line, compaction, conversion of the former one-file-per-instance layout). ZooKeeper also: a 3 MB value (compressed and
 * chunked) round-trips, and replacing or deleting it leaves no chunk behind.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { FileStore } from '../../frameworks/marathon/engine/file-store.js';
import { InstanceJournal } from '../../frameworks/marathon/engine/instance-journal.js';
import { MemoryStore } from '../../frameworks/marathon/engine/memory-store.js';
import { ZkMarathonStore } from '../../frameworks/marathon/engine/zk-store.js';
import { connectZk, type ZkSession } from '../../sdk/zk/index.js';
import { startZooKeeper } from '../helpers/zookeeper.js';
import { randomBytes } from 'node:crypto';
import { MAX_APP_VERSIONS, type MarathonStore } from '../../frameworks/marathon/engine/store.js';
import type { AppDefinition, DeploymentPlan, Group, Instance, TaskFailure } from '../../frameworks/marathon/model/types.js';

function ts(n: number): string {
  return new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString();
}

function app(id: string, n: number): AppDefinition {
  return {
    id, cmd: 'sleep 100', env: {}, instances: 1, cpus: 0.1, mem: 32, disk: 0, gpus: 0, executor: '', constraints: [], fetch: [],
    backoffSeconds: 1, backoffFactor: 1.15, maxLaunchDelaySeconds: 300, healthChecks: [], readinessChecks: [], dependencies: [],
    upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 1 }, labels: {}, portDefinitions: [], requirePorts: false,
    killSelection: 'YOUNGEST_FIRST', unreachableStrategy: { inactiveAfterSeconds: 0, expungeAfterSeconds: 0 }, secrets: {}, networks: [],
    version: ts(n), versionInfo: { lastScalingAt: ts(n), lastConfigChangeAt: ts(n) },
  };
}

function root(n: number, apps: AppDefinition[]): Group {
  return { id: '/', apps, groups: [], dependencies: [], version: ts(n) };
}

function instance(id: string): Instance {
  return { instanceId: `web.instance-${id}`, appId: '/web', runSpecVersion: ts(1), taskId: `web.instance-${id}._app.1`, incarnation: 1, condition: 'Running', hostPorts: [31000], goal: 'Running' };
}

function failure(appId: string, message: string): TaskFailure {
  return { appId, host: 'h', message, state: 'TASK_FAILED', taskId: 't', timestamp: ts(3), version: ts(1), slaveId: 'S0' };
}

function plan(id: string): DeploymentPlan {
  return { id, version: ts(2), original: root(1, []), target: root(2, [app('/web', 2)]), steps: [{ actions: [{ action: 'ScaleApplication', app: '/web', scaleTo: 1 }] }], affectedApps: ['/web'] };
}

const dirs: string[] = [];
/** Every FileStore made, closed at the end: an open journal handle would be closed by GC (DEP0137). */
const fileStores: FileStore[] = [];
t.teardown(async () => {
  await Promise.all(fileStores.map((s) => s.close()));
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
function fileStore(): { make: () => MarathonStore } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'marathon-store-'));
  dirs.push(dir);
  return {
    make: () => {
      const store = new FileStore(dir);
      fileStores.push(store);
      return store;
    },
  };
}
function memoryStore(): { make: () => MarathonStore } {
  const s = new MemoryStore();
  return { make: () => s };
}

/** One ZooKeeper server (and client session) for all ZooKeeper cases, each under its own path. */
let zkSession: ZkSession | undefined;
let zkStores = 0;
t.before(async () => {
  const zk = await startZooKeeper(t);
  zkSession = await connectZk(zk.url('/'));
  t.teardown(() => zkSession!.close());
});
async function zooKeeper(): Promise<ZkSession> {
  return zkSession!;
}
async function zkStore(): Promise<{ make: () => MarathonStore; session: ZkSession; base: string }> {
  const session = await zooKeeper();
  const base = `/marathon-${++zkStores}/state`;
  return { make: () => new ZkMarathonStore(session, base), session, base };
}

const implementations: Array<[string, () => Promise<{ make: () => MarathonStore }> | { make: () => MarathonStore }]> = [
  ['FileStore', fileStore],
  ['MemoryStore', memoryStore],
  ['ZkMarathonStore', zkStore],
];

for (const [name, factoryOf] of implementations) {
  t.test(`${name}: contract`, async (t) => {
    let made: { make: () => MarathonStore } | undefined;
    // Each case gets a fresh place (a new dir, a new memory store, a new ZooKeeper path).
    const factory = (): { make: () => MarathonStore } => made!;
    t.beforeEach(async () => {
      made = await factoryOf();
    });
    t.test('a fresh store is empty', async (t) => {
      const s = factory().make();
      const state = await s.load();
      t.equal(state.frameworkId, undefined);
      t.equal(state.root, undefined);
      t.same(state.groupVersions, []);
      t.equal(state.appVersions.size, 0);
      t.same(state.deployments, []);
      t.same(state.instances, []);
      t.same(state.taskFailures, []);
    });

    t.test('everything saved is loaded back (by a new store on the same place)', async (t) => {
      const f = factory();
      const s = f.make();
      await s.saveFrameworkId('fw-1');
      await s.saveAppVersion(app('/web', 1));
      await s.saveAppVersion(app('/web', 2));
      await s.saveAppVersion(app('/prod/db', 1));
      await s.saveRoot(root(1, [app('/web', 1)]));
      await s.saveRoot(root(2, [app('/web', 2)]));
      await s.saveDeployment(plan('d1'));
      await s.saveInstance(instance('a'));
      await s.saveInstance({ ...instance('b'), condition: 'Staging' });
      await s.saveInstance({ ...instance('b'), condition: 'Running' });
      await s.saveTaskFailure(failure('/web', 'first'));
      await s.saveTaskFailure(failure('/web', 'second'));
      await s.close();
      const state = await f.make().load();
      t.equal(state.frameworkId, 'fw-1');
      t.same(state.root, root(2, [app('/web', 2)]));
      t.same(state.groupVersions.map((g) => g.version), [ts(1), ts(2)]);
      t.same(state.appVersions.get('/web')!.map((a) => a.version), [ts(1), ts(2)]);
      t.same(state.appVersions.get('/prod/db')!.map((a) => a.id), ['/prod/db']);
      t.same(state.deployments, [plan('d1')]);
      t.same(state.instances.map((i) => [i.instanceId, i.condition]).sort(), [['web.instance-a', 'Running'], ['web.instance-b', 'Running']]);
      t.same(state.taskFailures, [failure('/web', 'second')], 'the last failure per app');
    });

    t.test('deletions stick', async (t) => {
      const f = factory();
      const s = f.make();
      await s.saveAppVersion(app('/gone', 1));
      await s.saveTaskFailure(failure('/gone', 'x'));
      await s.saveDeployment(plan('d2'));
      await s.saveInstance(instance('c'));
      await s.deleteApp('/gone');
      await s.deleteDeployment('d2');
      await s.deleteInstance('web.instance-c');
      await s.deleteInstance('web.instance-never-there');
      const state = await f.make().load();
      t.notOk(state.appVersions.has('/gone'));
      t.notOk(state.taskFailures.some((f) => f.appId === '/gone'), 'its task failure too');
      t.notOk(state.deployments.some((d) => d.id === 'd2'));
      t.notOk(state.instances.some((i) => i.instanceId === 'web.instance-c'));
    });

    t.test(`app versions are pruned to the newest ${MAX_APP_VERSIONS}`, async (t) => {
      const f = factory();
      const s = f.make();
      for (let n = 0; n < MAX_APP_VERSIONS + 5; n++) await s.saveAppVersion(app('/many', 100 + n));
      const versions = (await f.make().load()).appVersions.get('/many')!;
      t.equal(versions.length, MAX_APP_VERSIONS);
      t.equal(versions[0]!.version, ts(105));
      t.equal(versions.at(-1)!.version, ts(100 + MAX_APP_VERSIONS + 4));
    });

    t.test('loaded values are copies: mutating them changes nothing stored', async (t) => {
      const f = factory();
      const s = f.make();
      await s.saveInstance(instance('d'));
      const first = await s.load();
      first.instances.find((i) => i.instanceId === 'web.instance-d')!.condition = 'Failed';
      const second = await f.make().load();
      t.equal(second.instances.find((i) => i.instanceId === 'web.instance-d')!.condition, 'Running');
    });
  });
}

t.test('FileStore: concurrent writes to one file land in call order, no temp files left', async (t) => {
  const f = fileStore();
  const s = f.make() as FileStore;
  await Promise.all(['Staging', 'Starting', 'Running', 'Killing'].map((c) => s.saveInstance({ ...instance('e'), condition: c as Instance['condition'] })));
  const state = await f.make().load();
  t.equal(state.instances[0]!.condition, 'Killing');
  const leftovers = fs.readdirSync(s.dir).filter((n) => n.endsWith('.tmp'));
  t.same(leftovers, []);
});

t.test('FileStore: instances go to one journal; a torn last line is skipped and later appends stay readable', async (t) => {
  const f = fileStore();
  const s = f.make() as FileStore;
  await Promise.all(['a', 'b', 'c'].map((id) => s.saveInstance(instance(id))));
  await s.deleteInstance('web.instance-b');
  await s.close();
  const log = path.join(s.dir, 'instances.log');
  t.equal(fs.readFileSync(log, 'utf8').trim().split('\n').length, 4, 'three puts and a delete, one line each');
  t.notOk(fs.existsSync(path.join(s.dir, 'instances')), 'no file per instance');
  // A crash mid-append: half a line, no newline.
  fs.appendFileSync(log, '{"put":{"instanceId":"web.instance-torn"');
  const again = f.make();
  t.same((await again.load()).instances.map((i) => i.instanceId).sort(), ['web.instance-a', 'web.instance-c'], 'the torn line is skipped');
  await again.saveInstance({ ...instance('d'), condition: 'Staging' });
  await again.close();
  t.same((await f.make().load()).instances.map((i) => [i.instanceId, i.condition]).sort(), [
    ['web.instance-a', 'Running'], ['web.instance-c', 'Running'], ['web.instance-d', 'Staging'],
  ], 'a write after the torn line is read back');
});

t.test('InstanceJournal: compaction keeps the log proportional to the live instances and the state intact', async (t) => {
  const f = fileStore();
  const dir = (f.make() as FileStore).dir;
  const file = path.join(dir, 'instances.log');
  const syncDir = async (): Promise<void> => undefined;
  const j = new InstanceJournal(file, { syncDir, compactSlack: 10 });
  const conditions: Instance['condition'][] = ['Scheduled', 'Provisioned', 'Staging', 'Starting', 'Running'];
  for (const c of conditions) await Promise.all(['a', 'b', 'c', 'd'].map((id) => j.put({ ...instance(id), condition: c })));
  await j.delete('web.instance-d');
  await j.close();
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n').length;
  t.ok(lines <= 2 * 3 + 10, `compacted: ${lines} lines for 21 changes to 4 instances`);
  const loaded = await new InstanceJournal(file, { syncDir }).instances();
  t.same(loaded.map((i) => [i.instanceId, i.condition]).sort(), [['web.instance-a', 'Running'], ['web.instance-b', 'Running'], ['web.instance-c', 'Running']]);
  t.same(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp')), [], 'no temp file left');
});

t.test('FileStore: a state dir with one file per instance (the former layout) is converted on load', async (t) => {
  const f = fileStore();
  const dir = (f.make() as FileStore).dir;
  fs.mkdirSync(path.join(dir, 'instances'), { recursive: true });
  for (const id of ['x', 'y']) fs.writeFileSync(path.join(dir, 'instances', `web.instance-${id}.json`), JSON.stringify(instance(id)));
  const s = f.make();
  t.same((await s.load()).instances.map((i) => i.instanceId).sort(), ['web.instance-x', 'web.instance-y'], 'the former files are loaded');
  t.notOk(fs.existsSync(path.join(dir, 'instances')), 'and removed once in the journal');
  await s.deleteInstance('web.instance-x');
  await s.close();
  t.same((await f.make().load()).instances.map((i) => i.instanceId), ['web.instance-y'], 'a later delete sticks');
});

t.test('ZkMarathonStore: a 3 MB value is compressed and chunked, read back whole, and its chunks go with it', async (t) => {
  const { make, session, base } = await zkStore();
  const s = make();
  // Random bytes as base64: compresses to ~2.3 MB, still over one znode.
  const big = { ...app('/big', 1), env: { BLOB: randomBytes(2_250_000).toString('base64') } };
  t.ok(JSON.stringify(big).length > 3_000_000, 'the value is over 3 MB');
  await s.saveAppVersion(big);
  const chunks = await session.children(`${base}/chunks`);
  t.ok(chunks.length >= 2, `stored in ${chunks.length} chunks`);
  const node = await session.get(`${base}/apps/%2Fbig`);
  t.ok(node!.data.length < 1000, 'the app znode holds only the manifest');
  const loaded = (await make().load()).appVersions.get('/big')!;
  t.same(loaded, [big], 'loaded back whole by a new store');

  // A second big version replaces the value: the old generation's chunks are deleted.
  const bigger = { ...app('/big', 2), env: { BLOB: randomBytes(2_250_000).toString('base64') } };
  await s.saveAppVersion(bigger);
  const after = await session.children(`${base}/chunks`);
  t.notOk(after.some((c) => chunks.includes(c)), 'the old chunks are gone');
  t.same((await make().load()).appVersions.get('/big')!.map((a) => a.env.BLOB), [big.env.BLOB, bigger.env.BLOB], 'both versions');

  // A leftover chunk of a leader that died mid-write is garbage-collected by load.
  await session.create(`${base}/chunks/dead-0`, Buffer.from('x'), 'PERSISTENT');
  await make().load();
  t.notOk((await session.children(`${base}/chunks`)).includes('dead-0'), 'unreferenced chunks are removed on load');

  await s.deleteApp('/big');
  t.same(await session.children(`${base}/chunks`), [], 'deleting the app deletes its chunks');
  t.notOk((await make().load()).appVersions.has('/big'));
});

t.test('ZkMarathonStore: a big value that compresses well is only compressed', async (t) => {
  const { make, session, base } = await zkStore();
  const s = make();
  const repetitive = { ...app('/repetitive', 1), env: { BLOB: 'abc'.repeat(400_000) } };
  await s.saveAppVersion(repetitive);
  const node = await session.get(`${base}/apps/%2Frepetitive`);
  t.same([...node!.data.subarray(0, 2)], [0x1f, 0x8b], 'gzip');
  t.same(await session.children(`${base}/chunks`), [], 'no chunks');
  t.same((await make().load()).appVersions.get('/repetitive'), [repetitive]);
});
