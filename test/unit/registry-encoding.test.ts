/**
 * The registry document's cheap writes: a batch of operations applied to one working copy
 * (RegistryDraft) gives exactly what applying them one by one gives, and the encoding with
 * cached agent entries is byte for byte `JSON.stringify({ format: 1, ...snapshot })`.
 */
import t from 'tap';
import {
  applyRegistryOp, decodeRegistry, emptyRegistry, encodeRegistry, MAX_UNREACHABLE_AGENTS, RegistryDraft,
  type RegistryOp, type RegistrySnapshot,
} from '../../master/registry/index.js';
import type { AgentInfo } from '../../sdk/protocol/index.js';

const info = (host: string, cpus = 1): AgentInfo => ({
  hostname: host, port: 5051, resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: cpus } }],
});

const plain = (s: RegistrySnapshot): string => JSON.stringify({ format: 1, ...s });

/** A deterministic pseudo-random operation sequence over a small id space (so ops collide). */
function opSequence(seed: number, count: number): RegistryOp[] {
  let x = seed;
  const next = (n: number): number => {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    return x % n;
  };
  const ops: RegistryOp[] = [];
  for (let i = 0; i < count; i++) {
    const id = `a${next(12)}`;
    switch (next(7)) {
      case 0: case 1: ops.push({ op: 'admitAgent', id, info: info(`h${next(3)}`, next(4)), timeMs: i }); break;
      case 2: ops.push({ op: 'markUnreachable', id, timeMs: i }); break;
      case 3: ops.push({ op: 'removeAgent', id }); break;
      case 4: ops.push({ op: 'pruneUnreachable', ids: [id, `a${next(12)}`], timeMs: i }); break;
      case 5: ops.push({ op: 'setFrameworkDeadline', frameworkId: `f${next(3)}`, deadlineMs: next(2) === 0 ? undefined : i }); break;
      default: ops.push({ op: 'removeFramework', frameworkId: `f${next(3)}` }); break;
    }
  }
  return ops;
}

t.test('a batch on one draft equals the operations applied one by one', async (t) => {
  for (const seed of [1, 7, 42, 1234]) {
    const ops = opSequence(seed, 200);
    let oneByOne = emptyRegistry();
    const base = emptyRegistry();
    const draft = new RegistryDraft(base);
    for (const op of ops) {
      oneByOne = applyRegistryOp(oneByOne, op);
      draft.apply(op);
    }
    t.equal(plain(draft.snapshot), plain(oneByOne), `seed ${seed}: same document, same key order`);
    t.same(base, emptyRegistry(), `seed ${seed}: the base is not changed`);
  }
});

t.test('an in-place draft changes its base and its rollback puts back every entry', async (t) => {
  for (const seed of [3, 99]) {
    let base = emptyRegistry();
    for (const op of opSequence(seed, 100)) base = applyRegistryOp(base, op);
    const before = structuredClone(base);
    const draft = new RegistryDraft(base, 'inPlace');
    let expected = structuredClone(base);
    for (const op of opSequence(seed + 1, 100)) {
      draft.apply(op);
      expected = applyRegistryOp(expected, op);
    }
    t.equal(draft.snapshot, base, 'the base itself is the draft');
    t.same(base, expected, `seed ${seed}: same content as the operations applied one by one`);
    draft.rollback();
    t.same(base, before, `seed ${seed}: rolled back`);
    t.same(Object.keys(base.agents).sort(), Object.keys(before.agents).sort());
  }
});

t.test('a bad operation in a draft throws and changes nothing', async (t) => {
  const draft = new RegistryDraft(emptyRegistry());
  draft.apply({ op: 'admitAgent', id: 'a', info: info('h'), timeMs: 1 });
  const before = plain(draft.snapshot);
  const bad: RegistryOp[] = [
    { op: 'admitAgent', id: '', info: info('h'), timeMs: 1 },
    { op: 'admitAgent', id: '__proto__', info: info('h'), timeMs: 1 },
    { op: 'admitAgent', id: 'b', info: null as unknown as AgentInfo, timeMs: 1 },
    { op: 'markUnreachable', id: 'a', timeMs: -1 },
    { op: 'pruneUnreachable', ids: ['a', ''], timeMs: 1 },
    { op: 'setFrameworkDeadline', frameworkId: 'f', deadlineMs: Number.NaN },
  ];
  for (const op of bad) t.throws(() => draft.apply(op), { code: 'AGORA_REGISTRY_BAD_INPUT' }, JSON.stringify(op));
  t.equal(plain(draft.snapshot), before);
});

t.test('unreachable agents stay bounded, the oldest dropped first, as one by one', async (t) => {
  let base = emptyRegistry();
  for (let i = 0; i < MAX_UNREACHABLE_AGENTS; i++) base.unreachable[`u${i}`] = 1000 + i;
  base = applyRegistryOp(base, { op: 'admitAgent', id: 'x', info: info('x'), timeMs: 1 });
  const draft = new RegistryDraft(base);
  let oneByOne = base;
  const ops: RegistryOp[] = [
    { op: 'markUnreachable', id: 'x', timeMs: 5_000_000 },
    { op: 'markUnreachable', id: 'u5', timeMs: 6_000_000 },
    { op: 'removeAgent', id: 'u9' },
    { op: 'markUnreachable', id: 'new', timeMs: 7_000_000 },
    { op: 'markUnreachable', id: 'newer', timeMs: 8_000_000 },
  ];
  for (const op of ops) {
    draft.apply(op);
    oneByOne = applyRegistryOp(oneByOne, op);
  }
  t.equal(Object.keys(draft.snapshot.unreachable).length, MAX_UNREACHABLE_AGENTS);
  t.notOk('u0' in draft.snapshot.unreachable, 'the oldest went first');
  t.equal(draft.snapshot.unreachable.newer, 8_000_000);
  t.equal(plain(draft.snapshot), plain(oneByOne));
});

t.test('the encoding is JSON.stringify of the document, with cached agent entries', async (t) => {
  let s = emptyRegistry();
  t.equal(encodeRegistry(s), plain(s), 'empty');
  for (let i = 0; i < 50; i++) s = applyRegistryOp(s, { op: 'admitAgent', id: `m-S${i}`, info: info(`h"${i}\u2028`, i), timeMs: i });
  s = applyRegistryOp(s, { op: 'markUnreachable', id: 'm-S3', timeMs: 99 });
  s = applyRegistryOp(s, { op: 'setFrameworkDeadline', frameworkId: 'f1', deadlineMs: 5 });
  s = applyRegistryOp(s, { op: 'setFrameworkDeadline', frameworkId: 'f2', deadlineMs: undefined });
  s = applyRegistryOp(s, { op: 'pruneUnreachable', ids: ['m-S3'], timeMs: 100 });
  t.equal(encodeRegistry(s), plain(s), 'every section');
  t.equal(encodeRegistry(s), plain(s), 'again, from the cache');
  s = applyRegistryOp(s, { op: 'admitAgent', id: 'm-S7', info: info('changed', 9), timeMs: 200 });
  s = applyRegistryOp(s, { op: 'admitAgent', id: '12', info: info('numeric id'), timeMs: 201 });
  t.equal(encodeRegistry(s), plain(s), 'a re-admitted agent is serialised anew; integer-like ids keep JSON key order');
  t.match(decodeRegistry(encodeRegistry(s), 'test').agents['m-S7'], { info: { hostname: 'changed' }, admittedAt: 200 });
  t.same(decodeRegistry(encodeRegistry(s), 'test'), s, 'round trip');
  // The cache holds the member ("id":entry): one entry object under another id is not mistaken for it.
  const twice = { ...s, agents: { ...s.agents, 'm-S99': s.agents['m-S1']! } };
  t.equal(encodeRegistry(twice), plain(twice), 'one entry object under two ids');
  t.equal(encodeRegistry(s), plain(s), 'and under its own id again');
});
