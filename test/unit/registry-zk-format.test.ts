/**
 * The ZooKeeper registry's formats, its choice between appending to the log and writing
 * the whole document, and when a compaction starts beside the log (master/registry/zk-format.ts),
 * as pure functions; and the captured document a compaction encodes in parts (types.ts).
 */
import { deflateSync } from 'node:zlib';
import t from 'tap';
import {
  chooseWrite, compactionDue, decodeLogPiece, encodeLogPiece, encodeManifest, parseHead, pieceVersion, type LogLimits, type StoredShape,
} from '../../master/registry/zk-format.js';
import {
  captureRegistry, decodeRegistry, emptyRegistry, encodeCapturedRegistry, encodeRegistry, type RegistryOp,
} from '../../master/registry/types.js';
import type { AgentInfo } from '../../sdk/protocol/index.js';

const limits: LogLimits = { logFromBytes: 1_000, maxLogPieces: 4, maxNodeBytes: 10_000, maxBytes: 50_000 };
const shape = (s: Partial<StoredShape>): StoredShape => ({ snapshotBytes: 5_000, logBytes: 0, logPieces: 0, ...s });
const batch = (pieceBytes: number, headBytes = 300): { pieceBytes: number; headBytes: number } => ({ pieceBytes, headBytes });

t.test('the choice of write: the log\'s hard limits', async (t) => {
  t.equal(chooseWrite(shape({ snapshotBytes: undefined }), limits), 'full', 'no snapshot in pieces (inline, plain JSON, empty): whole');
  t.equal(chooseWrite(shape({ snapshotBytes: 999 }), limits), 'full', 'a snapshot under logFromBytes: whole, no log');
  t.equal(chooseWrite(shape({ snapshotBytes: 1_000 }), limits), 'append', 'from logFromBytes on the batch may append (before encoding it)');
  t.equal(chooseWrite(shape({ logPieces: 7 }), limits), 'append', 'past maxLogPieces the log still takes appends…');
  t.equal(chooseWrite(shape({ logPieces: 8 }), limits), 'compact', '…up to twice as many: then compact without encoding the batch');
  t.equal(chooseWrite(shape({}), limits, batch(200)), 'append');
  t.equal(chooseWrite(shape({}), limits, batch(10_001)), 'full', 'a batch over a znode: a whole write (paced)');
  t.equal(chooseWrite(shape({ logBytes: 9_800 }), limits, batch(200)), 'append', 'the log may reach twice the snapshot’s size…');
  t.equal(chooseWrite(shape({ logBytes: 9_801 }), limits, batch(200)), 'compact', '…not outgrow it');
  t.equal(chooseWrite(shape({}), limits, batch(200, 5_000)), 'append', 'a head of half a znode…');
  t.equal(chooseWrite(shape({}), limits, batch(200, 5_001)), 'compact', '…not more');
  t.equal(chooseWrite(shape({ snapshotBytes: 40_000, logBytes: 9_900 }), limits, batch(200)), 'compact', 'snapshot and log over maxBytes');
  t.equal(chooseWrite(shape({ snapshotBytes: 40_000, logBytes: 9_800 }), limits, batch(200)), 'append', 'exactly maxBytes still fits');
  t.equal(chooseWrite(shape({}), { ...limits, logFromBytes: Number.POSITIVE_INFINITY }, batch(10)), 'full', 'logFromBytes Infinity: no log');
});

t.test('when a compaction starts beside the log: its soft limits, half the hard ones', async (t) => {
  t.notOk(compactionDue(shape({ logPieces: 3, logBytes: 600 }), 300, limits), 'a short log: no');
  t.notOk(compactionDue(shape({ snapshotBytes: undefined, logPieces: 9 }), 300, limits), 'no snapshot in pieces: no');
  t.notOk(compactionDue(shape({ snapshotBytes: 999, logPieces: 9 }), 300, limits), 'a snapshot under logFromBytes: no');
  t.notOk(compactionDue(shape({ logPieces: 0 }), 20_000, limits), 'no log: nothing to compact');
  t.ok(compactionDue(shape({ logPieces: 4, logBytes: 400 }), 300, limits), 'maxLogPieces pieces');
  t.notOk(compactionDue(shape({ logPieces: 1, logBytes: 5_000 }), 300, limits), 'a log as large as the snapshot…');
  t.ok(compactionDue(shape({ logPieces: 1, logBytes: 5_001 }), 300, limits), '…or larger');
  t.notOk(compactionDue(shape({ logPieces: 1, logBytes: 100 }), 2_500, limits), 'a head of a quarter of a znode…');
  t.ok(compactionDue(shape({ logPieces: 1, logBytes: 100 }), 2_501, limits), '…or larger');
  t.notOk(compactionDue(shape({ snapshotBytes: 40_000, logPieces: 1, logBytes: 5_000 }), 300, limits), 'half the room beside the snapshot…');
  t.ok(compactionDue(shape({ snapshotBytes: 40_000, logPieces: 1, logBytes: 5_001 }), 300, limits), '…or more');
  // A soft limit is reached before the hard one of the same kind.
  for (const s of [shape({ logPieces: 7, logBytes: 100 }), shape({ logPieces: 1, logBytes: 9_000 }), shape({ snapshotBytes: 40_000, logPieces: 1, logBytes: 9_000 })]) {
    t.equal(chooseWrite(s, limits, batch(100)), 'append', `${JSON.stringify(s)}: the hard limits still let it append`);
    t.ok(compactionDue(s, 300, limits), `${JSON.stringify(s)}: a compaction is due`);
  }
  t.notOk(compactionDue(shape({ logPieces: 4 }), 300, limits, 4), 'after a failure at 4 pieces: not at once…');
  t.ok(compactionDue(shape({ logPieces: 5 }), 300, limits, 4), '…but a quarter of maxLogPieces later (here one piece)');
  const wide = { ...limits, maxLogPieces: 256 };
  t.notOk(compactionDue(shape({ logPieces: 256 + 63 }), 300, wide, 256), 'with 256: 64 pieces later…');
  t.ok(compactionDue(shape({ logPieces: 256 + 64 }), 300, wide, 256), '…not before');
});

t.test('a captured registry encodes in parts to exactly encodeRegistry of it, unchanged by later changes', async (t) => {
  const s = emptyRegistry();
  t.equal([...encodeCapturedRegistry(captureRegistry(s), 2)].join(''), encodeRegistry(s), 'empty');
  for (let i = 0; i < 7; i++) s.agents[`a-${i}`] = { info: { hostname: `h${i}`, port: 5051 } as AgentInfo, admittedAt: i };
  s.unreachable['u-1'] = 5;
  s.frameworks['f-1'] = { deadlineMs: 9 };
  s.frameworks['f-2'] = {};
  s.gone['g-1'] = 3;
  const expected = encodeRegistry(s);
  const captured = captureRegistry(s);
  // The registry replaces entries (never mutates them) and changes its sections in place.
  s.agents['a-0'] = { info: { hostname: 'changed', port: 1 } as AgentInfo, admittedAt: 99 };
  delete s.agents['a-1'];
  s.agents['a-new'] = { info: { hostname: 'new', port: 1 } as AgentInfo, admittedAt: 100 };
  s.unreachable['u-2'] = 6;
  delete s.frameworks['f-1'];
  for (const per of [1, 2, 3, 7, 100]) {
    const parts = [...encodeCapturedRegistry(captured, per)];
    t.equal(parts.join(''), expected, `${per} per part: the document as captured, byte for byte`);
    t.equal(parts.length, Math.ceil(7 / per) + 1, `${per} per part: ${parts.length} parts`);
  }
  t.same(decodeRegistry([...encodeCapturedRegistry(captured, 3)].join(''), 'x').agents['a-0']!.info, { hostname: 'h0', port: 5051 });
});

t.test('names: snapshot and log pieces carry the version they were written for', async (t) => {
  t.equal(pieceVersion('v12-0123456789abcdef-0'), 12);
  t.equal(pieceVersion('v7-0123456789abcdef-log'), 7);
  t.equal(pieceVersion('v7-0123456789abcdef-logs'), undefined);
  t.equal(pieceVersion('json.info_0000000001'), undefined, 'other children are never swept');
  t.equal(pieceVersion('v7-0123456789ABCDEF-0'), undefined);
});

t.test('the head formats', async (t) => {
  const where = 'zk:/x/registry';
  t.same(parseHead(Buffer.alloc(0), where), { kind: 'empty' });
  t.equal(parseHead(deflateSync('{}'), where).kind, 'compressed');
  t.same(parseHead(Buffer.from('{"format":1}'), where), { kind: 'json', text: '{"format":1}' });
  const base = { registryChunks: 1 as const, chunks: ['v3-0123456789abcdef-0'], bytes: 10, sha256: 'a'.repeat(64) };
  t.equal(encodeManifest(base), JSON.stringify(base), 'no log: the format before the log, byte for byte');
  t.equal(encodeManifest({ ...base, log: [] }), JSON.stringify(base), 'an empty log is not written');
  const withLog = { ...base, log: ['v4-0123456789abcdef-log', 'v6-fedcba9876543210-log'] };
  const text = encodeManifest(withLog);
  t.ok(text.startsWith('{"registryChunks":'), 'recognised by its first key');
  t.same(parseHead(Buffer.from(text), where), { kind: 'manifest', manifest: withLog });
  const bad = (m: unknown, why: string): void => {
    t.throws(() => parseHead(Buffer.from(JSON.stringify(m)), where), { code: 'AGORA_REGISTRY_CORRUPT' }, why);
  };
  bad({ ...base, log: ['v4-0123456789abcdef-0'] }, 'a snapshot piece in the log');
  bad({ ...base, log: ['v4-xyz-log'] }, 'a bad log name');
  bad({ ...base, log: [] }, 'an empty log');
  bad({ ...base, log: ['v6-0123456789abcdef-log', 'v4-fedcba9876543210-log'] }, 'out of order');
  bad({ ...base, log: ['v4-0123456789abcdef-log', 'v4-fedcba9876543210-log'] }, 'two for one version');
  bad({ ...base, log: ['v3-0123456789abcdef-log'] }, 'not after the snapshot');
  bad({ ...base, log: 'v4-0123456789abcdef-log' }, 'not a list');
  bad({ ...base, extra: 1 }, 'an unknown key');
  t.throws(() => parseHead(Buffer.from('{"registryChunks": nope'), where), { code: 'AGORA_REGISTRY_CORRUPT' }, 'not JSON');
});

t.test('log pieces', async (t) => {
  const ops: RegistryOp[] = [
    { op: 'admitAgent', id: 'a', info: { hostname: 'h', port: 5051, resources: [] }, timeMs: 1 },
    { op: 'setFrameworkDeadline', frameworkId: 'f', deadlineMs: undefined },
    { op: 'pruneUnreachable', ids: ['b'], timeMs: 2 },
  ];
  const decoded = decodeLogPiece(encodeLogPiece(ops), 'p');
  t.same(decoded, [ops[0], { op: 'setFrameworkDeadline', frameworkId: 'f' }, ops[2]], 'round trip (an undefined deadline is absent)');
  for (const [text, why] of [
    ['not json', 'not JSON'], ['null', 'null'], ['[]', 'an array'], ['{"registryLog":2,"ops":[{"op":"removeAgent","id":"a"}]}', 'another version'],
    ['{"registryLog":1,"ops":[]}', 'no operations'], ['{"registryLog":1}', 'no list'], ['{"registryLog":1,"ops":[{"op":"removeAgent"}]}', 'an operation missing its id'],
  ] as const) {
    t.throws(() => decodeLogPiece(text, 'p'), { code: 'AGORA_REGISTRY_CORRUPT' }, why);
  }
});
