/**
 * The ZooKeeper registry's formats and its choice between appending to the log and writing
 * the whole document (master/registry/zk-format.ts), as pure functions.
 */
import { deflateSync } from 'node:zlib';
import t from 'tap';
import {
  chooseWrite, decodeLogPiece, encodeLogPiece, encodeManifest, parseHead, pieceVersion, type LogLimits, type StoredShape,
} from '../../master/registry/zk-format.js';
import type { RegistryOp } from '../../master/registry/types.js';

const limits: LogLimits = { logFromBytes: 1_000, maxLogPieces: 4, maxNodeBytes: 10_000, maxBytes: 50_000 };
const shape = (s: Partial<StoredShape>): StoredShape => ({ snapshotBytes: 5_000, logBytes: 0, logPieces: 0, ...s });
const batch = (pieceBytes: number, headBytes = 300): { pieceBytes: number; headBytes: number } => ({ pieceBytes, headBytes });

t.test('the choice of write', async (t) => {
  t.equal(chooseWrite(shape({ snapshotBytes: undefined }), limits), 'full', 'no snapshot in pieces (inline, plain JSON, empty): whole');
  t.equal(chooseWrite(shape({ snapshotBytes: 999 }), limits), 'full', 'a snapshot under logFromBytes: whole, no log');
  t.equal(chooseWrite(shape({ snapshotBytes: 1_000 }), limits), 'append', 'from logFromBytes on the batch may append (before encoding it)');
  t.equal(chooseWrite(shape({ logPieces: 4 }), limits), 'compact', 'maxLogPieces reached: compact without encoding the batch');
  t.equal(chooseWrite(shape({}), limits, batch(200)), 'append');
  t.equal(chooseWrite(shape({}), limits, batch(10_001)), 'full', 'a batch over a znode: a whole write (paced)');
  t.equal(chooseWrite(shape({ logBytes: 4_800 }), limits, batch(200)), 'append', 'the log may reach the snapshot’s size…');
  t.equal(chooseWrite(shape({ logBytes: 4_801 }), limits, batch(200)), 'compact', '…not outgrow it');
  t.equal(chooseWrite(shape({}), limits, batch(200, 2_501)), 'compact', 'a head over a quarter of a znode');
  t.equal(chooseWrite(shape({ snapshotBytes: 40_000, logBytes: 9_900 }), limits, batch(200)), 'compact', 'snapshot and log over maxBytes');
  t.equal(chooseWrite(shape({ snapshotBytes: 40_000, logBytes: 9_800 }), limits, batch(200)), 'append', 'exactly maxBytes still fits');
  t.equal(chooseWrite(shape({}), { ...limits, logFromBytes: Number.POSITIVE_INFINITY }, batch(10)), 'full', 'logFromBytes Infinity: no log');
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
