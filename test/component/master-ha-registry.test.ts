/**
 * Contract tests of the master registry: the same cases against the ZooKeeper store (a
 * real server) and the file store (a temp work dir), plus the pure operations and the
 * recovery plan.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { AgoraError } from '../../sdk/core/errors.js';
import type { AgentInfo } from '../../sdk/protocol/index.js';
import {
  applyRegistryOp, emptyRegistry, FileRegistry, planRecovery, REGISTRY_FILE, ZkRegistry, type MasterRegistry,
} from '../../master/registry/index.js';
import { startZooKeeper } from '../helpers/zookeeper.js';

const info = (host: string): AgentInfo => ({ hostname: host, port: 5051, resources: [] });

interface Store {
  /** A fresh registry over the same storage (what a new leader or a restarted master sees). */
  open(): MasterRegistry;
  /** Writes garbage where the registry lives. */
  corrupt(): Promise<void>;
}

type Test = { teardown(fn: () => unknown): void };

function contract(name: string, makeStore: (t: Test) => Promise<Store>): void {
  t.test(`${name}: an empty store loads as an empty registry`, async (t) => {
    const store = await makeStore(t);
    const r = store.open();
    t.same(await r.load(), emptyRegistry());
    await r.close();
  });

  t.test(`${name}: writes are durable and seen by a new instance`, async (t) => {
    const store = await makeStore(t);
    const r = store.open();
    await r.load();
    await r.admitAgent('a1', info('h1'), 1000);
    await r.admitAgent('a2', info('h2'), 1001);
    await r.admitAgent('a3', info('h3'), 1002);
    await r.markUnreachable('a2', 5000);
    await r.removeAgent('a3');
    await r.setFrameworkDeadline('f1', 9000);
    await r.setFrameworkDeadline('f2', undefined);
    await r.setFrameworkDeadline('f3', 7000);
    await r.removeFramework('f3');
    await r.close();

    const again = store.open();
    const s = await again.load();
    t.same(Object.keys(s.agents), ['a1']);
    t.equal(s.agents.a1!.info.hostname, 'h1');
    t.equal(s.agents.a1!.admittedAt, 1000);
    t.same(s.unreachable, { a2: 5000 });
    t.same(s.frameworks, { f1: { deadlineMs: 9000 }, f2: {} });
    await again.close();
  });

  t.test(`${name}: re-admitting an unreachable agent makes it admitted again`, async (t) => {
    const store = await makeStore(t);
    const r = store.open();
    await r.load();
    await r.admitAgent('a1', info('h1'), 1);
    await r.markUnreachable('a1', 2);
    await r.admitAgent('a1', info('h1b'), 3);
    const s = await store.open().load();
    t.same(s.unreachable, {});
    t.equal(s.agents.a1!.info.hostname, 'h1b');
    await r.close();
  });

  t.test(`${name}: bad input is refused and changes nothing`, async (t) => {
    const store = await makeStore(t);
    const r = store.open();
    await r.load();
    await r.admitAgent('a1', info('h1'), 1);
    await t.rejects(r.admitAgent('', info('h'), 1), { code: 'AGORA_REGISTRY_BAD_INPUT' });
    await t.rejects(r.markUnreachable('a1', Number.NaN), { code: 'AGORA_REGISTRY_BAD_INPUT' });
    await t.rejects(r.setFrameworkDeadline('f', -5), { code: 'AGORA_REGISTRY_BAD_INPUT' });
    await r.setFrameworkDeadline('f', 10); // the queue keeps working after a refusal
    const s = await store.open().load();
    t.same(Object.keys(s.agents), ['a1']);
    t.same(s.unreachable, {});
    t.same(s.frameworks, { f: { deadlineMs: 10 } });
    await r.close();
  });

  t.test(`${name}: concurrent writes all land, in call order`, async (t) => {
    const store = await makeStore(t);
    const r = store.open();
    await r.load();
    await Promise.all(Array.from({ length: 20 }, (_, i) => r.admitAgent(`a${i}`, info(`h${i}`), i)));
    await Promise.all([r.setFrameworkDeadline('f', 1), r.setFrameworkDeadline('f', 2), r.setFrameworkDeadline('f', undefined)]);
    const s = await store.open().load();
    t.equal(Object.keys(s.agents).length, 20);
    t.same(s.frameworks, { f: {} });
    await r.close();
  });

  t.test(`${name}: a corrupt registry is reported, not silently reset`, async (t) => {
    const store = await makeStore(t);
    const r = store.open();
    await r.load();
    await r.admitAgent('a1', info('h1'), 1);
    await store.corrupt();
    await t.rejects(store.open().load(), { code: 'AGORA_REGISTRY_CORRUPT' });
    await r.close();
  });
}

contract('file', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'agora-registry-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return {
    open: () => new FileRegistry(dir),
    corrupt: async () => writeFileSync(path.join(dir, REGISTRY_FILE), '{"agents": 12'),
  };
});

const zkServer = await startZooKeeper(t);
let seq = 0;
contract('zookeeper', async (t) => {
  const { connectZk } = await import('../../sdk/zk/index.js');
  const session = await connectZk(zkServer.url('/'), { sessionTimeoutMs: 4000 });
  t.teardown(() => session.close());
  const base = `/registry-contract-${seq++}/agora`;
  return {
    open: () => new ZkRegistry(session, base),
    corrupt: async () => { await session.set(`${base}/registry`, 'not json'); },
  };
});

// The same contract with a document cut into pieces of 64 bytes (what a large cluster needs).
contract('zookeeper in pieces', async (t) => {
  const { connectZk } = await import('../../sdk/zk/index.js');
  const session = await connectZk(zkServer.url('/'), { sessionTimeoutMs: 4000 });
  t.teardown(() => session.close());
  const base = `/registry-contract-${seq++}/agora`;
  return {
    open: () => new ZkRegistry(session, base, { maxNodeBytes: 64 }),
    corrupt: async () => {
      const pieces = await session.children(`${base}/registry`);
      await session.set(`${base}/registry/${pieces[0]!}`, 'not the piece');
    },
  };
});

t.test('zookeeper: a deposed leader cannot overwrite the new leader\'s registry', async (t) => {
  const { connectZk } = await import('../../sdk/zk/index.js');
  const a = await connectZk(zkServer.url('/'), { sessionTimeoutMs: 4000 });
  const b = await connectZk(zkServer.url('/'), { sessionTimeoutMs: 4000 });
  t.teardown(async () => { await a.close(); await b.close(); });
  const old = new ZkRegistry(a, '/conflict/agora');
  await old.load();
  await old.admitAgent('a1', info('h1'), 1);
  const fresh = new ZkRegistry(b, '/conflict/agora');
  await fresh.load();
  await fresh.markUnreachable('a1', 2);
  await t.rejects(old.admitAgent('a2', info('h2'), 3), { code: 'AGORA_REGISTRY_CONFLICT' });
  const s = await new ZkRegistry(b, '/conflict/agora').load();
  t.same(s.agents, {});
  t.same(s.unreachable, { a1: 2 });
});

t.test('file: the document is replaced atomically (no temp file left)', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'agora-registry-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const r = new FileRegistry(dir);
  await r.admitAgent('a1', info('h1'), 1);
  const doc = JSON.parse(readFileSync(path.join(dir, REGISTRY_FILE), 'utf8')) as { format: number };
  t.equal(doc.format, 1);
  t.throws(() => readFileSync(path.join(dir, `${REGISTRY_FILE}.tmp`)), { code: 'ENOENT' });
});

t.test('pure operations do not mutate their input', async (t) => {
  const s0 = emptyRegistry();
  const s1 = applyRegistryOp(s0, { op: 'admitAgent', id: 'a', info: info('h'), timeMs: 1 });
  t.same(s0, emptyRegistry());
  t.same(Object.keys(s1.agents), ['a']);
  t.throws(() => applyRegistryOp(s1, { op: 'removeFramework', frameworkId: '' }), AgoraError);
});

t.test('recovery plan: agents to await, expired and pending framework deadlines', async (t) => {
  const plan = planRecovery({
    agents: { a1: { info: info('h1'), admittedAt: 1 }, a2: { info: info('h2'), admittedAt: 1 } },
    unreachable: { a3: 50 },
    frameworks: { past: { deadlineMs: 900 }, now: { deadlineMs: 1000 }, future: { deadlineMs: 1600 }, connected: {} },
    gone: {},
  }, 1000, new Set(['a2']));
  t.same([...plan.awaitAgents.keys()], ['a1']);
  t.same([...plan.unreachable], [['a3', 50]]);
  t.same([...plan.expiredFrameworks].sort(), ['now', 'past']);
  t.same([...plan.pendingFrameworks], [['future', { deadlineMs: 1600, remainingMs: 600 }]]);
});
