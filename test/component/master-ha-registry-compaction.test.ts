/**
 * The ZooKeeper registry's compaction beside the log, against a real ZooKeeper server: commits
 * go on appending while a compaction's snapshot pieces are created, and all of them are read
 * back once it commits (with the next write, or by itself when no write comes); a commit waits
 * for it only at the log's hard limit (and writes the whole document itself if it fails); a
 * deposed writer's compaction commit is refused and its pieces are swept by the winner, and
 * when that commit is the compaction's own (no write awaits it) the conflict is reported; a
 * failed piece create gives the compaction up and loses no commit; the sweep spares the pieces
 * of the compaction in flight. The order of ZooKeeper operations is steered and observed
 * through a controlled session (test/helpers/registry-session.ts), never by timing.
 */
import { randomBytes } from 'node:crypto';
import t from 'tap';
import {
  applyRegistryOp, emptyRegistry, encodeRegistry, ZkRegistry,
  type RegistryOp, type RegistrySnapshot, type RegistryZkSession, type ZkRegistryOptions,
} from '../../master/registry/index.js';
import { startZooKeeper } from '../helpers/zookeeper.js';
import { controlledSession, variedAgents, type SessionCall } from '../helpers/registry-session.js';
import { withTimeout } from '../helpers/wait.js';

/** Agents with some variety, the same every run. */
const agentInfo = variedAgents(7);

const zkServer = await startZooKeeper(t);
const { connectZk } = await import('../../sdk/zk/index.js');
const session = await connectZk(zkServer.url('/'), { sessionTimeoutMs: 10_000 });
t.teardown(() => session.close());
let seq = 0;
const freshBase = (): string => `/registry-compaction-${seq++}/agora`;

/** Soft limit 2 log pieces (a compaction starts), hard limit 4 (a commit waits for it). */
const opts: ZkRegistryOptions = { maxNodeBytes: 2_000, logFromBytes: 1_000, maxLogPieces: 2 };
/**
 * No append interval: a write is then queued on the registry's head lock within the call that
 * makes it, so that a commit made before a compaction is released is surely ahead of the
 * compaction's own commit (with the interval it may wait for the next batch and come after it).
 */
const immediate: ZkRegistryOptions = { ...opts, appendIntervalMs: 0 };

interface Head { version: number; data: Buffer; chunks: string[]; log: string[] }
async function headOf(base: string): Promise<Head> {
  const got = (await session.get(`${base}/registry`))!;
  const m = JSON.parse(got.data.toString('utf8')) as { chunks: string[]; log?: string[] };
  return { version: got.version, data: got.data, chunks: m.chunks, log: m.log ?? [] };
}
const childrenOf = async (base: string): Promise<string[]> => (await session.children(`${base}/registry`)).sort();
const named = (h: Head): string[] => [...h.chunks, ...h.log].sort();
const load = (base: string): Promise<RegistrySnapshot> => new ZkRegistry(session, base, opts).load();
const leaf = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

/** A snapshot piece's create (a compaction's, or a whole write's). */
const snapshotCreate = (c: SessionCall): boolean => c.op === 'create' && /\/v\d+-[0-9a-f]{16}-\d+$/.test(c.path);
const logCreate = (c: SessionCall): boolean => c.op === 'create' && c.path.endsWith('-log');
/** The set of the head to a manifest naming snapshot pieces other than `chunks`. */
const newSnapshotSet = (base: string, chunks: readonly string[]) => (c: SessionCall): boolean => {
  if (c.op !== 'set' || c.path !== `${base}/registry`) return false;
  const m = JSON.parse(c.data!.toString('utf8')) as { chunks: string[] };
  return m.chunks.join() !== chunks.join();
};

/** Applies `op` through the registry and to the expected document. */
async function apply(reg: ZkRegistry, expected: { doc: RegistrySnapshot }, op: RegistryOp): Promise<void> {
  switch (op.op) {
    case 'admitAgent': await reg.admitAgent(op.id, op.info, op.timeMs); break;
    case 'removeAgent': await reg.removeAgent(op.id); break;
    case 'setFrameworkDeadline': await reg.setFrameworkDeadline(op.frameworkId, op.deadlineMs); break;
    default: throw new Error(`not used here: ${op.op}`);
  }
  expected.doc = applyRegistryOp(expected.doc, op);
}
const admit = (i: number): RegistryOp => ({ op: 'admitAgent', id: `more-${i}`, info: agentInfo(1_000 + i), timeMs: 5_000 + i });

/** A registry seeded with 150 agents by another writer, loaded by a registry on a controlled session. */
async function rig(options: ZkRegistryOptions = opts, inner: RegistryZkSession = session): Promise<{ base: string; expected: { doc: RegistrySnapshot }; ctl: ReturnType<typeof controlledSession>; reg: ZkRegistry }> {
  const base = freshBase();
  const expected = await seeded(base);
  const ctl = controlledSession(inner);
  const reg = new ZkRegistry(ctl.session, base, options);
  await reg.load();
  return { base, expected, ctl, reg };
}

/** A registry of 150 agents in snapshot pieces, no log; closed. */
async function seeded(base: string): Promise<{ doc: RegistrySnapshot }> {
  const reg = new ZkRegistry(session, base, opts);
  await reg.load();
  const expected = { doc: emptyRegistry() };
  await Promise.all(Array.from({ length: 150 }, (_, i) => apply(reg, expected, { op: 'admitAgent', id: `agent-${i}`, info: agentInfo(i), timeMs: 1_000 + i })));
  await reg.close();
  return expected;
}

/** {@link rig} on `inner`, four admissions in: its compaction has started and its first snapshot piece create is held at `gate`. */
async function compactionHeld(inner: RegistryZkSession, options: ZkRegistryOptions) {
  const { base, expected, ctl, reg: old } = await rig(options, inner);
  const gate = ctl.hold(snapshotCreate);
  for (let i = 1; i <= 4; i++) await apply(old, expected, admit(i));
  await gate.reached(1);
  return { base, expected, old, gate };
}

/** Two admissions start a compaction whose first piece is created and whose next creates are held at `gate`; `created` names that first piece. */
async function compactionPastFirstPiece(ctl: ReturnType<typeof controlledSession>, reg: ZkRegistry, expected: { doc: RegistrySnapshot }) {
  const gate = ctl.hold((c) => snapshotCreate(c) && !c.path.endsWith('-0'));
  const firstPiece = ctl.next((c) => snapshotCreate(c) && c.path.endsWith('-0'));
  await apply(reg, expected, admit(1));
  await apply(reg, expected, admit(2));
  const created = leaf((await firstPiece).path);
  await gate.reached(1);
  return { gate, created };
}

t.test('commits append while a compaction is prepared, are not held for it, and are all read back once it commits by itself', async (t) => {
  const { base, expected, ctl, reg } = await rig();
  const first = await headOf(base);
  t.same(first.log, [], 'a snapshot, no log');
  const gate = ctl.hold(snapshotCreate);

  // The second append reaches the soft limit: it commits, and a compaction of the document as of it starts.
  await apply(reg, expected, admit(1));
  await apply(reg, expected, admit(2));
  const captured = await headOf(base);
  await gate.reached(1);
  const pieces = gate.held.map((c) => leaf(c.path));
  t.ok(pieces.every((name) => name.startsWith(`v${captured.version}-`)), `its pieces are named for the version whose document they hold (v${captured.version})`);

  // Two more commits while its piece creates are held: they append, up to the hard limit.
  await apply(reg, expected, admit(3));
  await apply(reg, expected, { op: 'removeAgent', id: 'agent-5' });
  const during = await headOf(base);
  t.same(during.chunks, first.chunks, 'the old snapshot is still the head\'s');
  t.equal(during.log.length, 4, 'four log pieces: two past the soft limit');
  t.equal(during.version, captured.version + 2);
  t.same(await load(base), expected.doc, 'a reader meanwhile reads every commit');
  // Ordering: both appends set the head after the compaction had issued its piece creates, and before any was done.
  const issued = ctl.events.findIndex((e) => e.at === 'called' && snapshotCreate(e.call));
  t.ok(issued >= 0, 'the compaction issued its piece creates');
  t.equal(ctl.events.filter((e, i) => i > issued && e.at === 'done' && e.call.op === 'set').length, 2, 'two head sets were done after that…');
  t.notOk(ctl.events.some((e) => e.at === 'done' && snapshotCreate(e.call)), '…while none of its creates was');

  const committed = ctl.next(newSnapshotSet(base, first.chunks));
  gate.release();
  await committed;
  await reg.settled();
  const after = await headOf(base);
  t.same(after.chunks, pieces, 'no write came: it committed by itself, naming its pieces');
  t.same(after.log, during.log.slice(2), 'and the log pieces appended after the version it holds');
  t.equal(after.version, during.version + 1, 'in one compare-and-set');
  t.same(await childrenOf(base), named(after), 'the old snapshot and log pieces were swept');
  const loaded = await load(base);
  t.same(loaded, expected.doc, 'a new leader reads every commit');
  t.equal(encodeRegistry(loaded), encodeRegistry(expected.doc), 'byte for byte');

  // The next commit appends to the new snapshot (and starts another compaction: held).
  const again = ctl.hold(snapshotCreate);
  await apply(reg, expected, admit(4));
  const next = await headOf(base);
  t.same(next.chunks, pieces);
  t.equal(next.log.length, 3);
  again.release();
  await reg.settled();
  t.same(await load(base), expected.doc);
  await reg.close();
});

t.test('at the hard limit a commit waits for the compaction and commits it with its batch; if it fails, writes the whole document', async (t) => {
  for (const outcome of ['ready', 'failed'] as const) {
    const { base, expected, ctl, reg } = await rig(immediate);
    const first = await headOf(base);
    const gate = ctl.hold(snapshotCreate);
    for (let i = 1; i <= 4; i++) await apply(reg, expected, admit(i));
    await gate.reached(1);
    const pieces = gate.held.map((c) => leaf(c.path));
    const full = await headOf(base);
    t.equal(full.log.length, 4, `${outcome}: the log is at its hard limit`);

    const op = admit(5);
    const waiting = apply(reg, expected, op);
    // The waiting commit writes nothing until the compaction is over.
    const itsSet = ctl.next((c) => c.op === 'set', 'begun');
    // (The commit of the compaction with the batch starts another compaction: held.)
    let again: ReturnType<typeof ctl.hold> | undefined;
    if (outcome === 'ready') {
      gate.release();
      again = ctl.hold(snapshotCreate);
    } else {
      gate.fail(Object.assign(new Error('operation timed out'), { code: 'AGORA_ZK_OPERATION_TIMEOUT' }));
    }
    await waiting;
    const setCall = await itsSet;
    const overs = ctl.events.filter((e) => (e.at === 'done' || e.at === 'failed') && snapshotCreate(e.call) && pieces.includes(leaf(e.call.path)));
    const setAt = ctl.events.findIndex((e) => e.at === 'begun' && e.call === setCall);
    t.equal(overs.length, pieces.length, `${outcome}: every create of the compaction is over…`);
    t.ok(overs.every((e) => ctl.events.indexOf(e) < setAt), `${outcome}: …before the waiting commit's head set`);
    const after = await headOf(base);
    t.equal(after.version, full.version + 1, `${outcome}: one commit`);
    if (outcome === 'ready') {
      t.same(after.chunks, pieces, 'ready: the commit named the compaction\'s snapshot…');
      t.same(after.log.slice(0, 2), full.log.slice(2), '…the log pieces after it…');
      t.equal(after.log.length, 3, '…and its own batch\'s piece');
    } else {
      t.notSame(after.chunks, first.chunks, 'failed: the commit wrote a new snapshot itself…');
      t.ok(after.chunks.every((name) => !pieces.includes(name)), '…not the failed one');
      t.same(after.log, [], '…with no log');
    }
    t.same(await childrenOf(base), named(after), `${outcome}: nothing else is stored`);
    t.same(await load(base), expected.doc, `${outcome}: every commit is read back`);
    again?.release();
    await reg.close();
  }
});

t.test('a deposed writer\'s compaction commit is refused; its pieces are swept by the winner', async (t) => {
  const a = await connectZk(zkServer.url('/'), { sessionTimeoutMs: 10_000 });
  t.teardown(() => a.close());
  // The deposed writer cannot delete what it wrote (its connection is going): the winner must.
  const cannotDelete: RegistryZkSession = {
    get: (p) => a.get(p), set: (p, d, v) => a.set(p, d, v), create: (p, d, m) => a.create(p, d, m),
    mkdirp: (p) => a.mkdirp(p), children: (p) => a.children(p),
    delete: () => Promise.reject(Object.assign(new Error('connection lost'), { code: 'AGORA_ZK_CONNECTION_LOSS' })),
  };
  const { base, expected, old, gate } = await compactionHeld(cannotDelete, immediate);
  const pieces = gate.held.map((c) => leaf(c.path));

  // A new leader loads (a log at its hard limit) and commits: a whole write.
  const winner = new ZkRegistry(session, base, opts);
  await winner.load();
  const lost = old.admitAgent('lost', agentInfo(900), 9);
  await apply(winner, expected, { op: 'admitAgent', id: 'won', info: agentInfo(901), timeMs: 10 });
  const won = await headOf(base);
  gate.release();
  await t.rejects(lost, { code: 'AGORA_REGISTRY_CONFLICT' }, 'the deposed writer\'s commit of its compaction is refused');
  t.same(await headOf(base), won, 'the winner\'s head is untouched');
  t.same(await load(base), expected.doc, 'and its registry intact');
  const orphans = (await childrenOf(base)).filter((name) => !named(won).includes(name));
  t.same(orphans.filter((name) => !name.endsWith('-log')).sort(), [...pieces].sort(), 'the compaction\'s pieces are left behind');

  // The winner's next compaction commit sweeps them (they are for a version before its head).
  for (let i = 10; i <= 11; i++) await apply(winner, expected, admit(i));
  await winner.settled();
  const swept = await headOf(base);
  t.notSame(swept.chunks, won.chunks, 'the winner compacted');
  t.same(await childrenOf(base), named(swept), 'and swept the deposed writer\'s pieces');
  t.same(await load(base), expected.doc);
  await winner.close();
  await old.close();
});

t.test('a deposed writer\'s compaction committing by itself reports the conflict, which nobody awaits', async (t) => {
  let reported!: (err: Error) => void;
  const conflict = new Promise<Error>((resolve) => { reported = resolve; });
  const { base, expected, old, gate } = await compactionHeld(session, { ...immediate, onBackgroundConflict: (err) => reported(err) });

  // A new leader commits while the old one's compaction is prepared; the old one writes nothing more.
  const winner = new ZkRegistry(session, base, opts);
  await winner.load();
  await apply(winner, expected, { op: 'admitAgent', id: 'won', info: agentInfo(901), timeMs: 10 });
  const won = await headOf(base);
  gate.release();
  t.match(await withTimeout(conflict, 20_000, 'the conflict report'), { code: 'AGORA_REGISTRY_CONFLICT' }, 'the compaction\'s own commit finds the head changed and says so');
  t.same(await headOf(base), won, 'the winner\'s head is untouched');
  t.same(await load(base), expected.doc, 'and its registry intact');
  await winner.close();
  await old.close();
});

t.test('a failed piece create gives the compaction up without losing a commit, and a later one succeeds', async (t) => {
  const { base, expected, ctl, reg } = await rig();
  const first = await headOf(base);
  const gate = ctl.hold(snapshotCreate);
  await apply(reg, expected, admit(1));
  await apply(reg, expected, admit(2));
  await gate.reached(1);
  const failedPieces = gate.held.map((c) => leaf(c.path));
  // Its pieces are deleted once it is given up.
  const cleaned = ctl.next((c) => c.op === 'delete' && failedPieces.includes(leaf(c.path)), 'begun');
  gate.fail(Object.assign(new Error('operation timed out'), { code: 'AGORA_ZK_OPERATION_TIMEOUT' }));
  await cleaned;
  t.same((await headOf(base)).chunks, first.chunks, 'nothing was committed');
  t.same(await load(base), expected.doc, 'and nothing lost');

  // The next append (the log has grown since the failure) starts another, which commits.
  const committed = ctl.next(newSnapshotSet(base, first.chunks));
  await apply(reg, expected, admit(3));
  await committed;
  await reg.settled();
  const after = await headOf(base);
  t.ok(after.chunks.every((name) => !failedPieces.includes(name)), 'a new snapshot');
  t.same(await childrenOf(base), named(after), 'the failed one\'s pieces are gone');
  t.same(await load(base), expected.doc, 'every commit is read back');
  await reg.close();
});

t.test('the sweep spares the pieces of the compaction in flight', async (t) => {
  const { base, expected, ctl, reg } = await rig();
  const first = await headOf(base);
  // The compaction's first piece is created; the others are held.
  const { gate, created: createdPiece } = await compactionPastFirstPiece(ctl, reg, expected);
  // An orphan for an old version (what a master that died before its commit leaves): the sweep's to delete.
  const orphan = `v1-${randomBytes(8).toString('hex')}-0`;
  await session.create(`${base}/registry/${orphan}`, 'x', 'PERSISTENT');
  // A failed append makes a sweep due; the next append runs it.
  ctl.failNext(logCreate, Object.assign(new Error('operation timed out'), { code: 'AGORA_ZK_OPERATION_TIMEOUT' }));
  await t.rejects(reg.admitAgent('failed', agentInfo(999), 1), { code: 'AGORA_ZK_OPERATION_TIMEOUT' });
  const swept = ctl.next((c) => c.op === 'children');
  await apply(reg, expected, admit(3));
  await swept;
  const stored = await childrenOf(base);
  t.notOk(stored.includes(orphan), 'the sweep ran: the orphan is gone');
  t.ok(stored.includes(createdPiece), `the compaction's created piece ${createdPiece} (for a version before the head's) is kept`);
  t.ok(Number(/^v(\d+)-/.exec(createdPiece)![1]) < (await headOf(base)).version);

  const committed = ctl.next(newSnapshotSet(base, first.chunks));
  gate.release();
  await committed;
  await reg.settled();
  const after = await headOf(base);
  t.ok(after.chunks.includes(createdPiece), 'the compaction committed with it');
  t.same(await childrenOf(base), named(after));
  t.same(await load(base), expected.doc);
  await reg.close();
});

t.test('a load, a whole write or close gives the compaction in flight up and deletes its pieces', async (t) => {
  for (const how of ['load', 'close'] as const) {
    const { base, expected, ctl, reg } = await rig();
    const { gate, created } = await compactionPastFirstPiece(ctl, reg, expected);
    const before = await headOf(base);
    const done = how === 'load' ? reg.load() : reg.close();
    // The load or close waits for the creates in flight, then deletes what was created.
    gate.release();
    const doc = await done;
    if (how === 'load') t.same(doc, expected.doc, 'load: reads what is committed');
    t.same(await headOf(base), before, `${how}: the head is untouched`);
    t.notOk((await childrenOf(base)).includes(created), `${how}: its piece ${created} is deleted`);
    t.same(await childrenOf(base), named(before), `${how}: nothing else is stored`);
    await reg.settled();
    t.same(await load(base), expected.doc);
    if (how === 'load') {
      // After the load the registry appends and compacts afresh.
      await apply(reg, expected, admit(3));
      await reg.settled();
      t.same(await load(base), expected.doc);
      await reg.close();
    }
  }
});
