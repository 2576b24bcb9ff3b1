/**
 * The ZooKeeper registry at scale and across formats, against a real ZooKeeper server:
 * 20,000 agents (well over 1 MB as JSON) written, recovered by a new instance and updated;
 * documents cut into pieces, and the pieces' garbage; plain-JSON registries of older
 * versions read and rewritten; corrupt data reported.
 */
import { deflateSync } from 'node:zlib';
import t from 'tap';
import type { AgentInfo } from '../../sdk/protocol/index.js';
import {
  emptyRegistry, encodeRegistry, MAX_REGISTRY_NODE_BYTES, ZkRegistry, type RegistrySnapshot, type RegistryZkSession, type ZkRegistryOptions,
} from '../../master/registry/index.js';
import { startZooKeeper } from '../helpers/zookeeper.js';
import { seededRandom } from '../../slave/sim/prng.js';
import { interposedSession } from '../helpers/registry-session.js';
import { VirtualClock, nextTurn } from '../../sdk/testing/virtual-clock.js';

/** Seeded integers below `n` (slave/sim/prng.ts, mulberry32): the same "realistic" cluster every run. */
function prng(seed: number): (n: number) => number {
  const random = seededRandom(seed);
  return (n) => Math.floor(random() * n);
}

const MASTERS = ['1b4e28ba-2fa1-11d2-883f-0016d3cca427', '6fa459ea-ee8a-3ca4-894e-db77e160355e', '9c5b94b1-35ad-49bb-b118-8e8fc24abf80'];
const NOW = 1_795_000_000_000;

/**
 * One agent's info. Realistic ones vary like a real cluster's (EC2-style hostnames, sizes,
 * reservations, attributes): what compresses worst. Emulated ones (`emu-N`) all look alike.
 */
function agentInfo(id: string, i: number, r: (n: number) => number, emulated: boolean): AgentInfo {
  if (emulated) {
    return {
      hostname: `emu-${i}`, port: 5051, id: { value: id },
      resources: [
        { name: 'cpus', type: 'SCALAR', scalar: { value: 8 } }, { name: 'mem', type: 'SCALAR', scalar: { value: 16384 } },
        { name: 'disk', type: 'SCALAR', scalar: { value: 100000 } }, { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 32000 }] } },
      ],
      attributes: [{ name: 'rack', type: 'TEXT', text: { value: `r${i % 50}` } }, { name: 'os', type: 'TEXT', text: { value: 'linux' } }],
    };
  }
  return {
    hostname: `ip-10-${r(256)}-${r(256)}-${r(256)}.eu-west-1.compute.internal`, port: 5051, id: { value: id },
    resources: [
      { name: 'cpus', type: 'SCALAR', scalar: { value: [8, 16, 32, 64][r(4)]! } },
      { name: 'mem', type: 'SCALAR', scalar: { value: (r(500) + 10) * 1024 - r(300) } },
      { name: 'disk', type: 'SCALAR', scalar: { value: r(900000) + 50000 } },
      { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 32000 }] } },
      { name: 'gpus', type: 'SCALAR', scalar: { value: r(3) } },
      { name: 'cpus', type: 'SCALAR', scalar: { value: r(4) + 1 }, reservations: [{ type: 'STATIC', role: 'prod' }] },
      { name: 'mem', type: 'SCALAR', scalar: { value: r(8192) + 1 }, reservations: [{ type: 'STATIC', role: 'prod' }] },
    ],
    attributes: [
      { name: 'rack', type: 'TEXT', text: { value: `r${r(400)}` } },
      { name: 'zone', type: 'TEXT', text: { value: `eu-west-1${'abc'[r(3)]!}` } },
      { name: 'instance', type: 'TEXT', text: { value: ['m5.4xlarge', 'c5.9xlarge', 'r5.8xlarge'][r(3)]! } },
      { name: 'kernel', type: 'TEXT', text: { value: `5.15.0-${r(100)}` } },
      { name: 'ami', type: 'TEXT', text: { value: `ami-${r(2 ** 30).toString(16)}${r(2 ** 30).toString(16)}` } },
    ],
  } as AgentInfo;
}

/** A registry of `agents` admitted agents, `unreachable` unreachable ones and `frameworks` frameworks. */
function cluster(agents: number, unreachable: number, frameworks: number, opts: { seed?: number; emulated?: boolean } = {}): RegistrySnapshot {
  const r = prng(opts.seed ?? 1);
  const s = emptyRegistry();
  for (let i = 0; i < agents; i++) {
    const id = `${MASTERS[i % 3]!}-S${i}`;
    s.agents[id] = { info: agentInfo(id, i, r, opts.emulated ?? false), admittedAt: NOW - r(1e9) };
  }
  for (let i = 0; i < unreachable; i++) s.unreachable[`${MASTERS[i % 3]!}-S${agents + i}`] = NOW - r(1e9);
  for (let i = 0; i < frameworks; i++) s.frameworks[`${MASTERS[i % 3]!}-${String(i).padStart(4, '0')}`] = i % 2 === 0 ? {} : { deadlineMs: NOW + r(604_800_000) };
  return s;
}

/** Stores `s` through a registry's operations (group-committed: a few writes). */
async function store(reg: ZkRegistry, s: RegistrySnapshot): Promise<void> {
  await reg.load();
  const ops: Promise<void>[] = [];
  for (const [id, a] of Object.entries(s.agents)) ops.push(reg.admitAgent(id, a.info, a.admittedAt));
  for (const [id, fw] of Object.entries(s.frameworks)) ops.push(reg.setFrameworkDeadline(id, fw.deadlineMs));
  // Unreachable agents enter as admitted ones that are then marked.
  for (const [id, time] of Object.entries(s.unreachable)) {
    ops.push(reg.admitAgent(id, { hostname: 'gone', port: 5051 }, 1), reg.markUnreachable(id, time));
  }
  await Promise.all(ops);
}

const zlibMagic = (data: Buffer): boolean => data[0] === 0x78 && ((data[0] << 8) | data[1]!) % 31 === 0;

const zkServer = await startZooKeeper(t);
const { connectZk } = await import('../../sdk/zk/index.js');
const session = await connectZk(zkServer.url('/'), { sessionTimeoutMs: 10_000 });
t.teardown(() => session.close());
let seq = 0;
const freshBase = (): string => `/registry-scale-${seq++}/agora`;

t.test('20,000 varied agents + 10,000 unreachable: written in pieces, recovered equal, updated', async (t) => {
  const base = freshBase();
  const expected = cluster(20_000, 10_000, 2_000);
  const json = encodeRegistry(expected);
  t.ok(json.length > 10 * MAX_REGISTRY_NODE_BYTES, `the document is ${json.length} bytes as JSON`);

  const first = new ZkRegistry(session, base);
  await store(first, expected);
  const head = await session.get(`${base}/registry`);
  const manifest = JSON.parse(head!.data.toString('utf8')) as { registryChunks: number; chunks: string[]; bytes: number };
  t.equal(manifest.registryChunks, 1, 'the head is a manifest');
  t.ok(manifest.chunks.length >= 2, `compressed it needs ${manifest.chunks.length} pieces (${manifest.bytes} bytes)`);
  t.same((await session.children(`${base}/registry`)).sort(), [...manifest.chunks].sort(), 'only the named pieces exist');

  // A new leader recovers exactly what was written.
  const leader = new ZkRegistry(session, base);
  const loaded = await leader.load();
  t.equal(encodeRegistry(loaded), json, 'recovered byte for byte');

  // …and updates it: the old pieces are replaced, the deposed instance cannot write.
  const moved = Object.keys(expected.agents).slice(0, 100);
  await Promise.all(moved.map((id) => leader.markUnreachable(id, NOW + 1)));
  await leader.admitAgent('new-agent', { hostname: 'new', port: 5051 }, NOW + 2);
  await t.rejects(first.admitAgent('stale', { hostname: 'stale', port: 5051 }, NOW + 3), { code: 'AGORA_REGISTRY_CONFLICT' });
  const after = await new ZkRegistry(session, base).load();
  t.equal(Object.keys(after.agents).length, 20_000 - 100 + 1);
  t.equal(after.agents['new-agent']!.info.hostname, 'new');
  t.notOk(Object.hasOwn(after.agents, 'stale'));
  t.equal(Object.keys(after.unreachable).length, 10_000, 'still bounded to 10,000 unreachable (oldest dropped)');
  t.ok(moved.every((id) => after.unreachable[id] === NOW + 1), 'the agents marked unreachable are');
  // The updates were appended to a log: the snapshot pieces stay, the head names the log too.
  const head2 = JSON.parse((await session.get(`${base}/registry`))!.data.toString('utf8')) as { chunks: string[]; log?: string[] };
  t.same(head2.chunks, manifest.chunks, 'the snapshot was not rewritten');
  t.ok(head2.log !== undefined && head2.log.length >= 2, `the updates are ${head2.log?.length} log pieces`);
  t.same((await session.children(`${base}/registry`)).sort(), [...head2.chunks, ...head2.log!].sort(), 'only the named pieces exist (the deposed write left none)');
});

t.test('20,000 emulated agents: the snapshot is one piece, and commits append to a log', async (t) => {
  const base = freshBase();
  const expected = cluster(20_000, 0, 10, { emulated: true });
  const json = encodeRegistry(expected);
  t.ok(json.length > 5 * MAX_REGISTRY_NODE_BYTES, `the document is ${json.length} bytes as JSON`);
  await store(new ZkRegistry(session, base), expected);
  const head = (await session.get(`${base}/registry`))!;
  const manifest = JSON.parse(head.data.toString('utf8')) as { chunks: string[]; bytes: number; log?: string[] };
  t.equal(manifest.chunks.length, 1, `the compressed snapshot (${manifest.bytes} bytes) is one piece`);
  t.ok(manifest.bytes <= MAX_REGISTRY_NODE_BYTES);
  t.ok(head.data.length < 200, `the head is a small manifest (${head.data.length} bytes)`);
  t.same(await session.children(`${base}/registry`), manifest.chunks, 'only the named piece exists');
  const leader = new ZkRegistry(session, base);
  t.equal(encodeRegistry(await leader.load()), json, 'recovered byte for byte');
  await leader.removeAgent(`${MASTERS[0]!}-S0`);
  const after = await new ZkRegistry(session, base).load();
  t.equal(Object.keys(after.agents).length, 19_999);
  const head2 = JSON.parse((await session.get(`${base}/registry`))!.data.toString('utf8')) as { chunks: string[]; log?: string[] };
  t.same(head2.chunks, manifest.chunks, 'the removal was appended, not a new snapshot');
  t.equal(head2.log?.length, 1);
});

t.test('a plain-JSON registry (older versions) is read, then rewritten compressed', async (t) => {
  const base = freshBase();
  const legacy = cluster(50, 5, 3);
  await session.mkdirp(base);
  await session.create(`${base}/registry`, encodeRegistry(legacy), 'PERSISTENT');
  const reg = new ZkRegistry(session, base);
  t.equal(encodeRegistry(await reg.load()), encodeRegistry(legacy), 'read as it was');
  await reg.admitAgent('a-new', { hostname: 'h-new', port: 5051 }, 5);
  const head = (await session.get(`${base}/registry`))!;
  t.ok(zlibMagic(head.data), 'rewritten in the compressed format');
  const s = await new ZkRegistry(session, base).load();
  t.equal(Object.keys(s.agents).length, 51);
  t.same(s.unreachable, legacy.unreachable);
  t.same(s.frameworks, legacy.frameworks);
});

t.test('a document moves between one znode and pieces as it grows and shrinks', async (t) => {
  const base = freshBase();
  // Without a log (master-ha-registry-log.test.ts has the log): whole writes only.
  const small: ZkRegistryOptions = { maxNodeBytes: 2_000, logFromBytes: Number.POSITIVE_INFINITY };
  const reg = new ZkRegistry(session, base, small);
  await reg.load();
  await reg.admitAgent('a0', { hostname: 'h0', port: 5051 }, 1);
  t.ok(zlibMagic((await session.get(`${base}/registry`))!.data), 'small: one znode');
  const big = cluster(200, 0, 0, { seed: 7 });
  await Promise.all(Object.entries(big.agents).map(([id, a]) => reg.admitAgent(id, a.info, a.admittedAt)));
  const manifest = JSON.parse((await session.get(`${base}/registry`))!.data.toString('utf8')) as { chunks: string[] };
  t.ok(manifest.chunks.length > 2, `big: ${manifest.chunks.length} pieces`);
  t.equal(Object.keys((await new ZkRegistry(session, base, small).load()).agents).length, 201);
  await Promise.all(Object.keys(big.agents).map((id) => reg.removeAgent(id)));
  t.ok(zlibMagic((await session.get(`${base}/registry`))!.data), 'small again: one znode');
  t.same(await session.children(`${base}/registry`), [], 'the pieces were deleted');
  t.same(Object.keys((await new ZkRegistry(session, base, small).load()).agents), ['a0']);
});

t.test('a first write that needs pieces creates the registry too', async (t) => {
  const base = freshBase();
  const reg = new ZkRegistry(session, base, { maxNodeBytes: 1_000 });
  await reg.load();
  const big = cluster(100, 0, 0, { seed: 3 });
  await Promise.all(Object.entries(big.agents).map(([id, a]) => reg.admitAgent(id, a.info, a.admittedAt)));
  const loaded = await new ZkRegistry(session, base).load();
  t.equal(encodeRegistry(loaded), encodeRegistry(big));
});

t.test('orphan pieces (a writer that died before its commit) are deleted; a racing writer\'s are not', async (t) => {
  const base = freshBase();
  const opts: ZkRegistryOptions = { maxNodeBytes: 1_000 };
  const reg = new ZkRegistry(session, base, opts);
  await reg.load();
  await reg.admitAgent('a0', { hostname: 'h0', port: 5051 }, 1); // version 0, one znode
  const orphan = 'v1-00000000deadbeef-0'; // for the version this write will reach: no head can name it after
  const future = 'v99-00000000cafebabe-0'; // for a version not reached yet: a racing writer's
  await session.create(`${base}/registry/${orphan}`, 'x', 'PERSISTENT');
  await session.create(`${base}/registry/${future}`, 'x', 'PERSISTENT');
  const leader = new ZkRegistry(session, base, opts);
  await leader.load();
  await leader.admitAgent('a1', { hostname: 'h1', port: 5051 }, 2);
  t.same(await session.children(`${base}/registry`), [future]);
});

t.test('a reader whose pieces vanish under a newer head reads that head', async (t) => {
  const base = freshBase();
  const opts: ZkRegistryOptions = { maxNodeBytes: 1_000 };
  await store(new ZkRegistry(session, base, opts), cluster(60, 0, 0, { seed: 5 }));
  const writer = new ZkRegistry(session, base, opts);
  await writer.load();
  // The reader's first piece read waits until the writer committed (and swept) a new version:
  // its append's head passes a quarter of a znode, so a compaction beside the log commits too.
  const slow = interposedSession(session, `${base}/registry/`, async () => {
    await writer.admitAgent('late', { hostname: 'late', port: 5051 }, 9);
    await writer.settled();
  });

  const s = await new ZkRegistry(slow.session, base, opts).load();
  t.ok(slow.interposed(), 'the writer committed during the read');
  t.equal(Object.keys(s.agents).length, 61, 'the newer document was read');
  t.equal(s.agents.late!.info.hostname, 'late');
});

t.test('slow writes are paced: the next batch waits as long as the last write took, and grows meanwhile', async (t) => {
  const base = freshBase();
  const clock = new VirtualClock({ startMs: 1_000 });
  let writes = 0;
  let costMs = 40;
  // Each write of the head takes `costMs` of (virtual) time, as a large registry's would.
  const slow: RegistryZkSession = {
    get: (p) => session.get(p),
    set: async (p, d, v) => {
      const version = await session.set(p, d, v);
      writes++;
      clock.advance(costMs);
      return version;
    },
    create: async (p, d, m) => {
      const created = await session.create(p, d, m);
      if (p === `${base}/registry`) {
        writes++;
        clock.advance(costMs);
      }
      return created;
    },
    mkdirp: (p) => session.mkdirp(p),
    children: (p) => session.children(p),
    delete: (p, v) => session.delete(p, v),
  };
  const r = new ZkRegistry(slow, base, { clock });
  await r.load();
  await r.admitAgent('a', { hostname: 'a', port: 5051 }, 1);
  t.equal(writes, 1);
  // The next operations wait for a pause as long as that write (40 ms), queued together.
  const b = r.admitAgent('b', { hostname: 'b', port: 5051 }, 2);
  const c = r.admitAgent('c', { hostname: 'c', port: 5051 }, 3);
  // The pause is set once the write loop comes round (a few promise turns; bounded).
  for (let turn = 0; turn < 20 && clock.pending().length === 0; turn++) await nextTurn();
  const timer = clock.pending();
  t.equal(timer.length, 1, 'one pause is pending');
  t.equal(timer[0]!.at - clock.now(), 40, 'as long as the last write took');
  t.equal(writes, 1, 'nothing written during the pause');
  costMs = 0;
  clock.advance(40);
  await Promise.all([b, c]);
  t.equal(writes, 2, 'both operations went in one write after the pause');
  // A quick write (under PACE_FROM_MS) is not followed by a pause.
  await r.admitAgent('d', { hostname: 'd', port: 5051 }, 4);
  t.equal(writes, 3);
  t.equal(clock.pending().length, 0, 'no pause after a quick write');
  t.same(Object.keys((await new ZkRegistry(session, base).load()).agents).sort(), ['a', 'b', 'c', 'd']);
});

t.test('corrupt data is reported, never silently reset', async (t) => {
  const corrupt = async (setup: (base: string) => Promise<void>, opts: ZkRegistryOptions = {}): Promise<void> => {
    const base = freshBase();
    await session.mkdirp(base);
    await setup(base);
    await t.rejects(new ZkRegistry(session, base, opts).load(), { code: 'AGORA_REGISTRY_CORRUPT' });
    const reg = new ZkRegistry(session, base, opts);
    await t.rejects(reg.admitAgent('a', { hostname: 'h', port: 5051 }, 1), { code: 'AGORA_REGISTRY_CORRUPT' }, 'a write does not replace it');
  };
  const good = deflateSync(Buffer.from(encodeRegistry(cluster(20, 0, 0))));
  // zlib header, then garbage
  await corrupt((b) => session.create(`${b}/registry`, Buffer.concat([Buffer.from([0x78, 0x9c]), Buffer.from('garbage here')]), 'PERSISTENT').then(() => undefined));
  // a truncated stream
  await corrupt((b) => session.create(`${b}/registry`, good.subarray(0, good.length - 10), 'PERSISTENT').then(() => undefined));
  // valid compression of something that is not a registry
  await corrupt((b) => session.create(`${b}/registry`, deflateSync(Buffer.from('{"agents": 12}')), 'PERSISTENT').then(() => undefined));
  // a gzip stream of garbage
  await corrupt((b) => session.create(`${b}/registry`, Buffer.from([0x1f, 0x8b, 1, 2, 3, 4]), 'PERSISTENT').then(() => undefined));
  // manifests: malformed, naming missing pieces, pieces not matching
  await corrupt((b) => session.create(`${b}/registry`, '{"registryChunks":1,"chunks":[]}', 'PERSISTENT').then(() => undefined));
  await corrupt((b) => session.create(`${b}/registry`, JSON.stringify({ registryChunks: 1, chunks: ['v1-0123456789abcdef-0'], bytes: good.length, sha256: 'a'.repeat(64) }), 'PERSISTENT').then(() => undefined));
  await corrupt(async (b) => {
    await session.create(`${b}/registry`, JSON.stringify({ registryChunks: 1, chunks: ['v1-0123456789abcdef-0'], bytes: good.length, sha256: 'a'.repeat(64) }), 'PERSISTENT');
    await session.create(`${b}/registry/v1-0123456789abcdef-0`, good, 'PERSISTENT');
  });
});

t.test('a document over the limit is refused with the limit in the message, and nothing changes', async (t) => {
  const base = freshBase();
  const opts: ZkRegistryOptions = { maxNodeBytes: 1_000, maxBytes: 3_000 };
  const reg = new ZkRegistry(session, base, opts);
  await reg.load();
  await reg.admitAgent('a0', { hostname: 'h0', port: 5051 }, 1);
  const big = cluster(200, 0, 0, { seed: 11 });
  const results = await Promise.allSettled(Object.entries(big.agents).map(([id, a]) => reg.admitAgent(id, a.info, a.admittedAt)));
  const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  t.ok(refused.length > 0, 'some admissions were refused');
  t.equal(refused[0]!.reason.code, 'AGORA_REGISTRY_TOO_LARGE');
  t.match(refused[0]!.reason.message, /over the limit of 3000 bytes \(3 znodes of 1000\)/);
  // What was acknowledged is stored, what was refused is not.
  const stored = await new ZkRegistry(session, base, opts).load();
  const admitted = Object.entries(big.agents).filter((_, i) => results[i]!.status === 'fulfilled').map(([id]) => id);
  t.same(Object.keys(stored.agents).sort(), ['a0', ...admitted].sort());
  // The registry keeps working for what fits.
  await reg.removeAgent('a0');
  t.notOk(Object.hasOwn((await new ZkRegistry(session, base, opts).load()).agents, 'a0'));
});

t.test('bad options are refused', async (t) => {
  t.throws(() => new ZkRegistry(session, '/x', { maxNodeBytes: 10 }), { code: 'AGORA_REGISTRY_BAD_INPUT' });
  t.throws(() => new ZkRegistry(session, '/x', { maxNodeBytes: 1000, maxBytes: 500 }), { code: 'AGORA_REGISTRY_BAD_INPUT' });
  t.throws(() => new ZkRegistry(session, '/x', { compressionLevel: 12 }), { code: 'AGORA_REGISTRY_BAD_INPUT' });
});
