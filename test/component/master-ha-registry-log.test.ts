/**
 * The ZooKeeper registry's operation log, against a real ZooKeeper server: commits append
 * log pieces that a new leader replays; compaction (by piece count, by bytes, by the size
 * limit) writes a new snapshot and sweeps the old pieces; a deposed writer's append is
 * refused and leaves nothing behind; corrupt logs are reported and change nothing; heads of
 * the formats before the log load and then take appends; appends are not paced.
 * Sizes are shrunk through the options so that a few dozen agents exercise all of it.
 */
import { randomBytes } from 'node:crypto';
import { deflateSync, inflateSync } from 'node:zlib';
import t from 'tap';
import type { Clock } from '../../sdk/core/clock.js';
import {
  applyRegistryOp, emptyRegistry, encodeRegistry, ZkRegistry,
  type RegistryOp, type RegistrySnapshot, type RegistryZkSession, type ZkRegistryOptions,
} from '../../master/registry/index.js';
import { startZooKeeper } from '../helpers/zookeeper.js';
import { decodeLogPiece } from '../../master/registry/zk-format.js';
import { controlledSession, interposedSession, variedAgents } from '../helpers/registry-session.js';
import { VirtualClock } from '../../sdk/testing/virtual-clock.js';

/** Agents with some variety, the same every run. */
const agentInfo = variedAgents(42);

const zkServer = await startZooKeeper(t);
const { connectZk } = await import('../../sdk/zk/index.js');
const session = await connectZk(zkServer.url('/'), { sessionTimeoutMs: 10_000 });
t.teardown(() => session.close());
let seq = 0;
const freshBase = (): string => `/registry-log-${seq++}/agora`;

interface Head {
  version: number;
  data: Buffer;
  chunks: string[];
  bytes: number;
  log: string[];
}

/** The head as a manifest (fails the test's expectations with a clear shape when it is not one). */
async function headOf(base: string): Promise<Head> {
  const got = (await session.get(`${base}/registry`))!;
  const m = JSON.parse(got.data.toString('utf8')) as { chunks: string[]; bytes: number; log?: string[] };
  return { version: got.version, data: got.data, chunks: m.chunks, bytes: m.bytes, log: m.log ?? [] };
}

const childrenOf = async (base: string): Promise<string[]> => (await session.children(`${base}/registry`)).sort();
const named = (h: Head): string[] => [...h.chunks, ...h.log].sort();
const sizeOf = async (base: string, name: string): Promise<number> => (await session.get(`${base}/registry/${name}`))!.data.length;

/** Applies `op` through the registry and to the expected document. */
async function apply(reg: ZkRegistry, expected: { doc: RegistrySnapshot }, op: RegistryOp): Promise<void> {
  switch (op.op) {
    case 'admitAgent': await reg.admitAgent(op.id, op.info, op.timeMs); break;
    case 'markUnreachable': await reg.markUnreachable(op.id, op.timeMs); break;
    case 'removeAgent': await reg.removeAgent(op.id); break;
    case 'pruneUnreachable': await reg.pruneUnreachable(op.ids, op.timeMs); break;
    case 'setFrameworkDeadline': await reg.setFrameworkDeadline(op.frameworkId, op.deadlineMs); break;
    case 'removeFramework': await reg.removeFramework(op.frameworkId); break;
  }
  expected.doc = applyRegistryOp(expected.doc, op);
}

/** A registry of `n` agents in snapshot pieces (one batch after the first admission), no log yet. */
async function seeded(base: string, opts: ZkRegistryOptions, n = 150): Promise<{ reg: ZkRegistry; expected: { doc: RegistrySnapshot } }> {
  const reg = new ZkRegistry(session, base, opts);
  await reg.load();
  const expected = { doc: emptyRegistry() };
  const ops: RegistryOp[] = Array.from({ length: n }, (_, i) => ({ op: 'admitAgent', id: `agent-${i}`, info: agentInfo(i), timeMs: 1000 + i }));
  await Promise.all(ops.map((op) => apply(reg, expected, op)));
  return { reg, expected };
}

const load = (base: string, opts: ZkRegistryOptions = {}): Promise<RegistrySnapshot> => new ZkRegistry(session, base, opts).load();

t.test('commits append log pieces a new leader replays; at maxLogPieces a compaction beside the log commits a new snapshot, and the old pieces are swept', async (t) => {
  const base = freshBase();
  const opts: ZkRegistryOptions = { maxNodeBytes: 2_000, logFromBytes: 1_000, maxLogPieces: 4 };
  const { reg, expected } = await seeded(base, opts);
  const snap = await headOf(base);
  t.ok(snap.chunks.length >= 2, `the snapshot is ${snap.chunks.length} pieces (${snap.bytes} bytes)`);
  t.same(snap.log, [], 'no log after a whole write');
  t.same(await childrenOf(base), named(snap));

  const ops: RegistryOp[] = [
    { op: 'markUnreachable', id: 'agent-1', timeMs: 5000 },
    { op: 'setFrameworkDeadline', frameworkId: 'fw-1', deadlineMs: 9000 },
    { op: 'removeAgent', id: 'agent-2' },
    { op: 'admitAgent', id: 'agent-1', info: agentInfo(1), timeMs: 6000 },
  ];
  for (let i = 0; i < ops.length - 1; i++) {
    await apply(reg, expected, ops[i]!);
    const head = await headOf(base);
    t.same(head.chunks, snap.chunks, `append ${i + 1}: the snapshot pieces stay`);
    t.equal(head.log.length, i + 1, `append ${i + 1}: the head names ${i + 1} log pieces`);
    t.same(await childrenOf(base), named(head), `append ${i + 1}: nothing else is stored`);
    const loaded = await load(base, opts);
    t.same(loaded, expected.doc, `append ${i + 1}: a new leader reads the same document`);
    t.equal(encodeRegistry(loaded), encodeRegistry(expected.doc), `append ${i + 1}: byte for byte`);
  }

  // The fourth reaches maxLogPieces: it appends, and a compaction of the document as of it
  // starts beside the log; with no write after it, it commits by itself (and sweeps).
  await apply(reg, expected, ops[3]!);
  await reg.settled();
  const compacted = await headOf(base);
  t.same(compacted.log, [], 'compacted: no log (nothing was appended after the fourth)');
  t.notSame(compacted.chunks, snap.chunks, 'a new snapshot');
  t.same(await childrenOf(base), named(compacted), 'the old snapshot and log pieces were swept');
  t.same(await load(base, opts), expected.doc);

  // …and the next commits append to the new snapshot.
  await apply(reg, expected, { op: 'removeFramework', frameworkId: 'fw-1' });
  await apply(reg, expected, { op: 'admitAgent', id: 'agent-new', info: agentInfo(999), timeMs: 7000 });
  const after = await headOf(base);
  t.same(after.chunks, compacted.chunks);
  t.equal(after.log.length, 2);
  t.same(await load(base, opts), expected.doc);
});

t.test('a compaction starts once the log outgrows the snapshot, and the head stays small', async (t) => {
  const base = freshBase();
  const opts: ZkRegistryOptions = { maxNodeBytes: 4_000, logFromBytes: 1_000, maxLogPieces: 1_000 };
  const { reg, expected } = await seeded(base, opts, 50);
  let compactions = 0;
  let longest = 0;
  let previous = await headOf(base);
  for (let i = 0; i < 80 && compactions < 2; i++) {
    await apply(reg, expected, { op: 'admitAgent', id: `more-${i}`, info: agentInfo(100 + i), timeMs: 2000 + i });
    // The compaction started by this commit, if any, has committed.
    await reg.settled();
    const head = await headOf(base);
    if (head.chunks.join() !== previous.chunks.join()) {
      compactions++;
      t.ok(previous.log.length > 0, `compaction ${compactions} after a log of ${previous.log.length} pieces`);
      t.same(head.log, [], 'nothing was appended after it started');
    }
    const logBytes = (await Promise.all(head.log.map((name) => sizeOf(base, name)))).reduce((a, b) => a + b, 0);
    // A log over the snapshot starts a compaction, which (no write after it) commits with no log.
    if (logBytes > head.bytes) t.fail(`the log (${logBytes} bytes) outgrew the snapshot (${head.bytes})`);
    if (head.data.length > 2_000) t.fail(`the head is ${head.data.length} bytes, over half of maxNodeBytes`);
    longest = Math.max(longest, head.log.length);
    previous = head;
  }
  t.equal(compactions, 2, `two compactions (longest log: ${longest} pieces)`);
  t.ok(longest > 2, 'several appends between compactions');
  t.same(await childrenOf(base), named(previous), 'only the named pieces are stored');
  t.same(await load(base, opts), expected.doc);
});

t.test('snapshot and log together stay within maxBytes; a snapshot over it is refused and changes nothing', async (t) => {
  const base = freshBase();
  const { reg: seed } = await seeded(base, { maxNodeBytes: 1_000, logFromBytes: 1_000 }, 50);
  await seed.close();
  const first = await headOf(base);
  // Room for the snapshot and a little log: the size limit, not the snapshot's size, ends the log.
  const maxBytes = Math.max(1_000, first.bytes + 600);
  const opts: ZkRegistryOptions = { maxNodeBytes: 1_000, maxBytes, logFromBytes: 1_000, maxLogPieces: 1_000 };
  const reg = new ZkRegistry(session, base, opts);
  const expected = { doc: await reg.load() };
  let refused: unknown;
  let compactions = 0;
  for (let i = 0; i < 200 && refused === undefined; i++) {
    const op: RegistryOp = { op: 'admitAgent', id: `big-${i}`, info: agentInfo(500 + i), timeMs: 3000 + i };
    try {
      await apply(reg, expected, op);
    } catch (err) {
      refused = err;
      break;
    }
    // A compaction this commit started beside the log has committed (or failed: a snapshot over the limit).
    await reg.settled();
    const head = await headOf(base);
    const stored = head.bytes + (await Promise.all(head.log.map((name) => sizeOf(base, name)))).reduce((a, b) => a + b, 0);
    if (stored > maxBytes) t.fail(`${stored} bytes stored, over ${maxBytes}`);
    if (head.log.length === 0) compactions++;
  }
  t.ok(compactions >= 1, `compacted ${compactions} times to stay within ${maxBytes} bytes`);
  t.match(refused, { code: 'AGORA_REGISTRY_TOO_LARGE' }, 'the snapshot outgrew the limit');
  const before = await headOf(base);
  t.same(await load(base, opts), expected.doc, 'what was acknowledged is stored, the refused admission is not');
  t.same(await childrenOf(base), named(before));
  await apply(reg, expected, { op: 'removeAgent', id: 'big-0' });
  t.same(await load(base, opts), expected.doc, 'the registry keeps working for what fits');
});

t.test('a deposed writer\'s append is refused and leaves no visible change, and no garbage after the winner\'s next sweep', async (t) => {
  const base = freshBase();
  const opts: ZkRegistryOptions = { maxNodeBytes: 2_000, logFromBytes: 1_000, maxLogPieces: 3 };
  const { reg: seed, expected } = await seeded(base, opts);
  await seed.close();
  const a = await connectZk(zkServer.url('/'), { sessionTimeoutMs: 10_000 });
  const b = await connectZk(zkServer.url('/'), { sessionTimeoutMs: 10_000 });
  t.teardown(async () => { await a.close(); await b.close(); });
  const old = new ZkRegistry(a, base, opts);
  await old.load();
  const winner = new ZkRegistry(b, base, opts);
  await winner.load();
  await apply(winner, expected, { op: 'admitAgent', id: 'won-1', info: agentInfo(201), timeMs: 10 });
  const before = await headOf(base);
  await t.rejects(old.admitAgent('lost-1', agentInfo(202), 11), { code: 'AGORA_REGISTRY_CONFLICT' });
  const after = await headOf(base);
  t.equal(after.version, before.version, 'the head did not move');
  t.same(after.data, before.data);
  t.same(await childrenOf(base), named(after), 'the refused writer deleted its log piece');
  t.same(await load(base, opts), expected.doc);

  // A deposed writer that cannot delete its piece (its connection went): the piece stays
  // until the winner's next sweep (its next whole write).
  const cannotDelete: RegistryZkSession = {
    get: (p) => a.get(p),
    set: (p, d, v) => a.set(p, d, v),
    create: (p, d, m) => a.create(p, d, m),
    mkdirp: (p) => a.mkdirp(p),
    children: (p) => a.children(p),
    delete: () => Promise.reject(Object.assign(new Error('connection lost'), { code: 'AGORA_ZK_CONNECTION_LOSS' })),
  };
  const stuck = new ZkRegistry(cannotDelete, base, opts);
  await stuck.load();
  await apply(winner, expected, { op: 'admitAgent', id: 'won-2', info: agentInfo(203), timeMs: 12 });
  await t.rejects(stuck.admitAgent('lost-2', agentInfo(204), 13), { code: 'AGORA_REGISTRY_CONFLICT' });
  const current = named(await headOf(base));
  const orphans = (await childrenOf(base)).filter((name) => !current.includes(name));
  t.equal(orphans.length, 1, 'its log piece is left behind');
  t.match(orphans[0], /-log$/);
  t.same(await load(base, opts), expected.doc, 'and not visible');
  // The winner's log reaches maxLogPieces with the next append: a compaction commits and sweeps.
  const unswept = await headOf(base);
  for (let i = 0; i < 2; i++) await apply(winner, expected, { op: 'setFrameworkDeadline', frameworkId: `fw-${i}`, deadlineMs: 100 + i });
  await winner.settled();
  const swept = await headOf(base);
  t.notSame(swept.chunks, unswept.chunks, 'compacted');
  t.same(await childrenOf(base), named(swept), 'the orphan was swept');
  t.same(await load(base, opts), expected.doc);
});

t.test('corrupt logs are reported, never silently reset, and change nothing', async (t) => {
  const opts: ZkRegistryOptions = { maxNodeBytes: 2_000, logFromBytes: 1_000 };
  const corrupt = async (what: string, damage: (base: string, head: Head) => Promise<void>): Promise<void> => {
    const base = freshBase();
    const { reg, expected } = await seeded(base, opts, 40);
    await apply(reg, expected, { op: 'markUnreachable', id: 'agent-3', timeMs: 50 });
    await apply(reg, expected, { op: 'removeAgent', id: 'agent-4' });
    await reg.close();
    const head = await headOf(base);
    t.equal(head.log.length, 2, `${what}: set up with two log pieces`);
    await damage(base, head);
    const rawHead = (await session.get(`${base}/registry`))!;
    const stored = await childrenOf(base);
    await t.rejects(load(base, opts), { code: 'AGORA_REGISTRY_CORRUPT' }, `${what}: a load is refused`);
    await t.rejects(new ZkRegistry(session, base, opts).admitAgent('x', agentInfo(0), 1), { code: 'AGORA_REGISTRY_CORRUPT' }, `${what}: a write does not replace it`);
    const now = (await session.get(`${base}/registry`))!;
    t.equal(now.version, rawHead.version, `${what}: the head is unchanged`);
    t.same(now.data, rawHead.data);
    t.same(await childrenOf(base), stored, `${what}: no piece was added or deleted`);
  };
  const setPiece = (base: string, name: string, data: Buffer | string): Promise<unknown> => session.set(`${base}/registry/${name}`, data);
  const setManifest = (base: string, h: Head, log: unknown): Promise<unknown> => {
    const m = JSON.parse(h.data.toString('utf8')) as Record<string, unknown>;
    return session.set(`${base}/registry`, JSON.stringify({ ...m, log }));
  };
  await corrupt('a missing log piece under an unchanged head', (b, h) => session.delete(`${b}/registry/${h.log[0]!}`));
  await corrupt('a log piece that is not compressed', (b, h) => setPiece(b, h.log[1]!, 'not compressed at all').then(() => undefined));
  await corrupt('a truncated log piece', async (b, h) => {
    const data = (await session.get(`${b}/registry/${h.log[0]!}`))!.data;
    await setPiece(b, h.log[0]!, data.subarray(0, data.length - 4));
  });
  await corrupt('a log piece that is not a log', (b, h) => setPiece(b, h.log[0]!, deflateSync('[1,2,3]')).then(() => undefined));
  await corrupt('a log piece with no operations', (b, h) => setPiece(b, h.log[0]!, deflateSync('{"registryLog":1,"ops":[]}')).then(() => undefined));
  await corrupt('a log piece holding something that is not an operation', (b, h) => setPiece(b, h.log[1]!, deflateSync('{"registryLog":1,"ops":[{"op":"explode"}]}')).then(() => undefined));
  await corrupt('a log piece holding an invalid operation', (b, h) => setPiece(b, h.log[1]!, deflateSync('{"registryLog":1,"ops":[{"op":"admitAgent","id":"","info":{},"timeMs":1}]}')).then(() => undefined));
  await corrupt('a manifest naming a log with a bad name', (b, h) => setManifest(b, h, ['v9-nothex-log']).then(() => undefined));
  await corrupt('a manifest naming a snapshot piece as its log', (b, h) => setManifest(b, h, [h.chunks[0]!]).then(() => undefined));
  await corrupt('a manifest with an empty log', (b, h) => setManifest(b, h, []).then(() => undefined));
  await corrupt('a manifest naming its log out of order', (b, h) => setManifest(b, h, [h.log[1]!, h.log[0]!]).then(() => undefined));
  await corrupt('a manifest naming a log older than its snapshot', (b, h) => setManifest(b, h, [`v0-${randomBytes(8).toString('hex')}-log`]).then(() => undefined));
});

t.test('heads of the formats before the log load, and the next writes append and compact', async (t) => {
  const opts: ZkRegistryOptions = { maxNodeBytes: 2_000, logFromBytes: 1_000, maxLogPieces: 2 };
  const doc = emptyRegistry();
  for (let i = 0; i < 150; i++) doc.agents[`old-${i}`] = { info: agentInfo(300 + i), admittedAt: 100 + i };
  doc.unreachable['old-gone'] = 7;
  doc.frameworks['fw-old'] = { deadlineMs: 99 };
  const compressed = deflateSync(Buffer.from(encodeRegistry(doc)));
  t.ok(compressed.length > 2_000, `the document is ${compressed.length} bytes compressed: more than a piece`);

  /** What the current code wrote for a large document: pieces and a manifest without a log. */
  const manifestHead = async (base: string): Promise<void> => {
    await session.mkdirp(base);
    await session.create(`${base}/registry`, '', 'PERSISTENT');
    const token = randomBytes(8).toString('hex');
    const chunks: string[] = [];
    for (let i = 0, off = 0; off < compressed.length; i++, off += 2_000) {
      chunks.push(`v1-${token}-${i}`);
      await session.create(`${base}/registry/v1-${token}-${i}`, compressed.subarray(off, off + 2_000), 'PERSISTENT');
    }
    const { createHash } = await import('node:crypto');
    await session.set(`${base}/registry`, JSON.stringify({ registryChunks: 1, chunks, bytes: compressed.length, sha256: createHash('sha256').update(compressed).digest('hex') }), 0);
  };
  const formats: [string, (base: string) => Promise<void>, 'append' | 'whole'][] = [
    ['a manifest without a log', manifestHead, 'append'],
    ['a compressed document in the head', async (base) => { await session.mkdirp(base); await session.create(`${base}/registry`, compressed, 'PERSISTENT'); }, 'whole'],
    ['a plain-JSON document in the head', async (base) => { await session.mkdirp(base); await session.create(`${base}/registry`, encodeRegistry(doc), 'PERSISTENT'); }, 'whole'],
  ];
  for (const [what, write, first] of formats) {
    const base = freshBase();
    await write(base);
    const reg = new ZkRegistry(session, base, opts);
    const expected = { doc: await reg.load() };
    t.equal(encodeRegistry(expected.doc), encodeRegistry(doc), `${what}: loads as written`);
    await apply(reg, expected, { op: 'admitAgent', id: 'new-1', info: agentInfo(1), timeMs: 1 });
    const h1 = await headOf(base);
    // A head with the document itself has no snapshot to append to: the first write makes one.
    t.equal(h1.log.length, first === 'append' ? 1 : 0, `${what}: the first write ${first === 'append' ? 'appends' : 'writes a snapshot in pieces'}`);
    t.same(await load(base, opts), expected.doc, `${what}: read back after the first write`);
    for (let i = 2; i <= 4; i++) await apply(reg, expected, { op: 'admitAgent', id: `new-${i}`, info: agentInfo(i), timeMs: i });
    // The compaction the log started beside it has committed (and swept).
    await reg.settled();
    const h2 = await headOf(base);
    t.ok(h2.log.length <= 2, `${what}: appended and compacted within maxLogPieces (log now ${h2.log.length})`);
    t.notSame(h2.chunks, h1.chunks, `${what}: compacted to a new snapshot`);
    t.same(await childrenOf(base), named(h2), `${what}: old pieces swept`);
    t.same(await load(base, opts), expected.doc, `${what}: read back after appends and a compaction`);
  }
});

t.test('a reader whose log pieces vanish under a compaction reads the newer head', async (t) => {
  const base = freshBase();
  const opts: ZkRegistryOptions = { maxNodeBytes: 2_000, logFromBytes: 1_000, maxLogPieces: 2 };
  const { reg: seed, expected } = await seeded(base, opts);
  await seed.close();
  // The writer's compaction (started by its second append) is held until the reader reads.
  const ctl = controlledSession(session);
  const gate = ctl.hold((c) => c.op === 'create' && !c.path.endsWith('-log'));
  const writer = new ZkRegistry(ctl.session, base, opts);
  await writer.load();
  await apply(writer, expected, { op: 'removeAgent', id: 'agent-0' });
  await apply(writer, expected, { op: 'removeAgent', id: 'agent-1' });
  await gate.reached(1);
  t.equal((await headOf(base)).log.length, 2);
  // The reader's first piece read waits until the writer compacted (and swept) the pieces it named.
  const slow = interposedSession(session, `${base}/registry/`, async () => {
    gate.release();
    await writer.settled();
  });

  const s = await new ZkRegistry(slow.session, base, opts).load();
  t.ok(slow.interposed(), 'the writer committed during the read');
  t.same((await headOf(base)).log, [], 'it compacted');
  t.same(s, expected.doc, 'the newer document was read');
});

t.test('appends and compactions are not paced, only spaced by the append interval; a whole write without a log is paced', async (t) => {
  // (Compactions run beside the log here: the commits that carry them are appends.)
  const base = freshBase();
  const opts: ZkRegistryOptions = { maxNodeBytes: 2_000, logFromBytes: 1_000, maxLogPieces: 2 };
  const { reg: seed } = await seeded(base, opts);
  await seed.close();
  const clock = new VirtualClock({ startMs: 1_000 });
  let paused: (() => void) | undefined;
  const pauses: number[] = [];
  const watched: Clock = {
    now: () => clock.now(),
    setTimeout: (fn, ms) => {
      pauses.push(ms);
      paused?.();
      return clock.setTimeout(fn, ms);
    },
    setInterval: (fn, ms) => clock.setInterval(fn, ms),
  };
  // Every head write takes `costMs` of (virtual) time, 40 ms as a large registry's whole write would.
  let costMs = 40;
  /** The log pieces created, in order. */
  const logPieces: Buffer[] = [];
  const slow: RegistryZkSession = {
    get: (p) => session.get(p),
    set: async (p, d, v) => {
      const version = await session.set(p, d, v);
      clock.advance(costMs);
      return version;
    },
    create: (p, d, m) => {
      if (p.endsWith('-log')) logPieces.push(Buffer.from(d));
      return session.create(p, d, m);
    },
    mkdirp: (p) => session.mkdirp(p),
    children: (p) => session.children(p),
    delete: (p, v) => session.delete(p, v),
  };
  /** Resolves with whether the write set a pause before it completed (then lets the pause end). */
  const write = async (reg: ZkRegistry, id: string): Promise<boolean> => {
    const pause = new Promise<'paused'>((resolve) => { paused = () => resolve('paused'); });
    const done = reg.admitAgent(id, agentInfo(7), 1).then(() => 'done' as const);
    const first = await Promise.race([done, pause]);
    if (first === 'paused') {
      clock.advance(1_000);
      await done;
    }
    paused = undefined;
    return first === 'paused';
  };
  const reg = new ZkRegistry(slow, base, { ...opts, clock: watched });
  await reg.load();
  const seededChunks = (await headOf(base)).chunks;
  for (let i = 0; i < 5; i++) {
    t.notOk(await write(reg, `p-${i}`), `write ${i + 1} was not held back`);
  }
  await reg.settled();
  t.notSame((await headOf(base)).chunks, seededChunks, 'compactions committed meanwhile');
  t.same(pauses, [], 'no pause was ever set');

  // Quick appends are spaced: the next batch is taken appendIntervalMs after the last append
  // began, and what arrives meanwhile goes out together.
  costMs = 0;
  t.notOk(await write(reg, 'i-0'), 'an append long after the last one is not held back');
  const pause = new Promise<void>((resolve) => { paused = resolve; });
  const queued = ['i-1', 'i-2', 'i-3'].map((id) => reg.admitAgent(id, agentInfo(8), 2));
  await pause;
  t.same(pauses, [10], 'the next batch waits the append interval (10 ms: nothing of it has passed)');
  clock.advance(10);
  await Promise.all(queued);
  paused = undefined;
  const lastPiece = decodeLogPiece(inflateSync(logPieces.at(-1)!).toString('utf8'), 'last');
  t.same(lastPiece.map((op) => (op as { id: string }).id), ['i-1', 'i-2', 'i-3'], 'the three went out in one commit');
  pauses.length = 0;

  // The same registry with the log turned off: every commit is a whole write, paced.
  costMs = 40;
  const noLog = new ZkRegistry(slow, base, { ...opts, logFromBytes: Number.POSITIVE_INFINITY, clock: watched });
  await noLog.load();
  t.notOk(await write(noLog, 'q-0'), 'the first write is not held back');
  t.ok(await write(noLog, 'q-1'), 'the one after a 40 ms whole write is');
  t.same(pauses, [40]);

  // A whole write that makes the first snapshot in pieces is followed by appends: not paced.
  pauses.length = 0;
  const grown = freshBase();
  const grow = new ZkRegistry(slow, grown, { ...opts, clock: watched });
  await grow.load();
  // The first batch (one agent) creates the head inline (a create: no cost); the second (149
  // agents) sets it to the first snapshot in pieces, taking 40 ms.
  await Promise.all(Array.from({ length: 150 }, (_, i) => grow.admitAgent(`g-${i}`, agentInfo(i), 1)));
  const firstSnapshot = (await session.get(`${grown}/registry`))!;
  t.equal(firstSnapshot.version, 1, 'two commits');
  t.notOk(await write(grow, 'g-next'), 'the write after the first snapshot is not held back');
  t.equal((await headOf(grown)).log.length, 1, 'and appends');
  t.same(pauses, []);
});

t.test('an append whose log piece cannot be created fails alone and changes nothing', async (t) => {
  const base = freshBase();
  const opts: ZkRegistryOptions = { maxNodeBytes: 2_000, logFromBytes: 1_000 };
  const { reg: seed, expected } = await seeded(base, opts);
  await seed.close();
  let failNext = true;
  const flaky: RegistryZkSession = {
    get: (p) => session.get(p),
    set: (p, d, v) => session.set(p, d, v),
    create: (p, d, m) => {
      if (failNext && p.endsWith('-log')) {
        failNext = false;
        return Promise.reject(Object.assign(new Error('operation timed out'), { code: 'AGORA_ZK_OPERATION_TIMEOUT' }));
      }
      return session.create(p, d, m);
    },
    mkdirp: (p) => session.mkdirp(p),
    children: (p) => session.children(p),
    delete: (p, v) => session.delete(p, v),
  };
  const reg = new ZkRegistry(flaky, base, opts);
  await reg.load();
  const before = await headOf(base);
  await t.rejects(reg.admitAgent('failed', agentInfo(1), 1), { code: 'AGORA_ZK_OPERATION_TIMEOUT' });
  t.equal((await headOf(base)).version, before.version, 'the head did not move');
  t.same(await childrenOf(base), named(before));
  await apply(reg, expected, { op: 'admitAgent', id: 'next', info: agentInfo(2), timeMs: 2 });
  const after = await headOf(base);
  t.equal(after.log.length, 1, 'the next commit appends');
  const s = await load(base, opts);
  t.same(s, expected.doc);
  t.notOk(Object.hasOwn(s.agents, 'failed'));
});

t.test('bad log options are refused', async (t) => {
  t.throws(() => new ZkRegistry(session, '/x', { logFromBytes: 0 }), { code: 'AGORA_REGISTRY_BAD_INPUT' });
  t.throws(() => new ZkRegistry(session, '/x', { logFromBytes: 1.5 }), { code: 'AGORA_REGISTRY_BAD_INPUT' });
  t.throws(() => new ZkRegistry(session, '/x', { maxLogPieces: 0 }), { code: 'AGORA_REGISTRY_BAD_INPUT' });
  t.throws(() => new ZkRegistry(session, '/x', { appendIntervalMs: -1 }), { code: 'AGORA_REGISTRY_BAD_INPUT' });
  t.throws(() => new ZkRegistry(session, '/x', { appendIntervalMs: Number.NaN }), { code: 'AGORA_REGISTRY_BAD_INPUT' });
  t.doesNotThrow(() => new ZkRegistry(session, '/x', { logFromBytes: Number.POSITIVE_INFINITY, appendIntervalMs: 0 }));
});
