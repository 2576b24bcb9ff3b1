import t from 'tap';
import { AgoraError } from '../../sdk/core/errors.js';
import type { Range, Resource } from '../../sdk/protocol/mesos.js';
import {
  addResources, allocateResources, coalesceRanges, containsResources, detectHostResources,
  flattenResources, formatAttributes, formatResources, isEmptyResources, parseAttributes,
  parseResources, rangesOf, rangesResource, rangesSize, resourceIdentity, resourceTotals,
  scalarOf, scalarResource, setResource, subtractRanges, subtractResources, sumResources, unallocateResources,
} from '../../sdk/resources/index.js';
import { seededRandom } from '../../slave/sim/prng.js';

/** Freezes deeply so that any mutation of an input throws (ES modules are strict). */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

function throwsCode(t: TapTest, fn: () => unknown, code: string, match?: RegExp): void {
  try {
    fn();
    t.fail(`expected ${code}`);
  } catch (err) {
    t.ok(err instanceof AgoraError, 'is an AgoraError');
    t.equal((err as AgoraError).code, code);
    if (match) t.match((err as Error).message, match);
  }
}
type TapTest = Pick<typeof t, 'fail' | 'ok' | 'equal' | 'match'>;

const ports = (...rs: Array<[number, number]>): Range[] => rs.map(([begin, end]) => ({ begin, end }));

t.test('parseResources: text syntax', async (t) => {
  t.strictSame(parseResources('cpus:4;mem:4096;disk:10000;ports:[31000-32000]'), [
    { name: 'cpus', type: 'SCALAR', scalar: { value: 4 } },
    { name: 'mem', type: 'SCALAR', scalar: { value: 4096 } },
    { name: 'disk', type: 'SCALAR', scalar: { value: 10000 } },
    { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 32000 }] } },
  ]);
  t.strictSame(parseResources('cpus(web):2'), [
    { name: 'cpus', type: 'SCALAR', scalar: { value: 2 }, reservations: [{ type: 'STATIC', role: 'web' }] },
  ], 'a role in parentheses is a static reservation');
  t.strictSame(parseResources('cpus(*):2'), [{ name: 'cpus', type: 'SCALAR', scalar: { value: 2 } }], '(*) is unreserved');
  t.strictSame(parseResources('ports:[1-2,5-9]'), [{ name: 'ports', type: 'RANGES', ranges: { range: ports([1, 2], [5, 9]) } }]);
  t.strictSame(parseResources('ports:[5-9, 1-2, 3-4]'), [{ name: 'ports', type: 'RANGES', ranges: { range: ports([1, 9]) } }],
    'ranges are sorted and coalesced (adjacent ones merge)');
  t.strictSame(parseResources('names:{b, a,b}'), [{ name: 'names', type: 'SET', set: { item: ['a', 'b'] } }]);
  t.strictSame(parseResources(' cpus : 1.5 ; ; mem:10 '), [
    { name: 'cpus', type: 'SCALAR', scalar: { value: 1.5 } },
    { name: 'mem', type: 'SCALAR', scalar: { value: 10 } },
  ], 'whitespace and empty tokens are tolerated');
  t.strictSame(parseResources('cpus:1;cpus:0.5;cpus(web):1'), [
    { name: 'cpus', type: 'SCALAR', scalar: { value: 1.5 } },
    { name: 'cpus', type: 'SCALAR', scalar: { value: 1 }, reservations: [{ type: 'STATIC', role: 'web' }] },
  ], 'same identity summed, other roles kept apart');
  t.strictSame(parseResources('cpus:0.12345'), [{ name: 'cpus', type: 'SCALAR', scalar: { value: 0.123 } }], 'rounded to 3 decimals');
  t.strictSame(parseResources('cpus:0;mem:1'), [{ name: 'mem', type: 'SCALAR', scalar: { value: 1 } }], 'zero entries disappear');
  t.strictSame(parseResources('gpus:1e1'), [{ name: 'gpus', type: 'SCALAR', scalar: { value: 10 } }]);
});

t.test('parseResources: defaultRole', async (t) => {
  t.strictSame(parseResources('cpus:1;mem(*):2;disk(other):3', { defaultRole: 'r' }), [
    { name: 'cpus', type: 'SCALAR', scalar: { value: 1 }, reservations: [{ type: 'STATIC', role: 'r' }] },
    { name: 'mem', type: 'SCALAR', scalar: { value: 2 } },
    { name: 'disk', type: 'SCALAR', scalar: { value: 3 }, reservations: [{ type: 'STATIC', role: 'other' }] },
  ]);
  t.strictSame(parseResources('cpus:1', { defaultRole: '*' }), [{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 } }]);
});

t.test('parseResources: JSON array form', async (t) => {
  const json = JSON.stringify([
    { name: 'cpus', type: 'SCALAR', scalar: { value: 2 }, role: '*', unknown_field: 1 },
    { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 10, end: 20 }] }, reservations: null },
    { name: 'cpus', type: 'SCALAR', scalar: { value: 1 }, reservations: [{ type: 'DYNAMIC', role: 'web', principal: 'p' }] },
  ]);
  t.strictSame(parseResources(json), [
    { name: 'cpus', type: 'SCALAR', scalar: { value: 2 } },
    { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 10, end: 20 }] } },
    { name: 'cpus', type: 'SCALAR', scalar: { value: 1 }, reservations: [{ type: 'DYNAMIC', role: 'web', principal: 'p' }] },
  ]);
  t.strictSame(parseResources('[{"name":"cpus","type":"SCALAR","scalar":{"value":1}}]', { defaultRole: 'r' }),
    [{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 }, reservations: [{ type: 'STATIC', role: 'r' }] }]);
  throwsCode(t, () => parseResources('[{"name":"cpus"'), 'AGORA_RESOURCES_INVALID', /malformed JSON/);
  throwsCode(t, () => parseResources('[{"name":"cpus","type":"SCALAR"}]'), 'AGORA_RESOURCES_INVALID', /without "scalar"/);
  throwsCode(t, () => parseResources('[{"name":"cpus","type":"BOGUS","scalar":{"value":1}}]'), 'AGORA_RESOURCES_INVALID', /type/);
  throwsCode(t, () => parseResources('[{"name":"cpus","type":"SCALAR","scalar":{"value":-1}}]'), 'AGORA_RESOURCES_INVALID', /negative/);
  throwsCode(t, () => parseResources('[{"name":"p","type":"RANGES","ranges":{"range":[{"begin":5,"end":1}]}}]'), 'AGORA_RESOURCES_INVALID', /begin > end/);
  throwsCode(t, () => parseResources('[{"name":"t","type":"TEXT"}]'), 'AGORA_RESOURCES_INVALID', /TEXT/);
  throwsCode(t, () => parseResources(`[{"name":"x","type":"SCALAR","scalar":{"value":1},"disk":{"a":${'['.repeat(100000)}${']'.repeat(100000)}}}]`),
    'AGORA_RESOURCES_INVALID', /resource #0/);
  throwsCode(t, () => parseResources('{"name":"cpus"}'), 'AGORA_RESOURCES_INVALID', /must be an array/);
});

t.test('parseResources: errors', async (t) => {
  throwsCode(t, () => parseResources('cpus:abc'), 'AGORA_RESOURCES_INVALID', /cpus: "abc" is not a number/);
  throwsCode(t, () => parseResources('ports:[5-1]'), 'AGORA_RESOURCES_INVALID', /5-1 has begin > end/);
  throwsCode(t, () => parseResources(''), 'AGORA_RESOURCES_INVALID', /empty/);
  throwsCode(t, () => parseResources('   '), 'AGORA_RESOURCES_INVALID', /empty/);
  throwsCode(t, () => parseResources('cpus:-1'), 'AGORA_RESOURCES_INVALID', /negative/);
  throwsCode(t, () => parseResources('cpus'), 'AGORA_RESOURCES_INVALID', /name:value/);
  throwsCode(t, () => parseResources('cpus:'), 'AGORA_RESOURCES_INVALID', /no value/);
  throwsCode(t, () => parseResources(':4'), 'AGORA_RESOURCES_INVALID', /bad resource name/);
  throwsCode(t, () => parseResources('cpus():4'), 'AGORA_RESOURCES_INVALID', /bad role/);
  throwsCode(t, () => parseResources('cpus:Infinity'), 'AGORA_RESOURCES_INVALID');
  throwsCode(t, () => parseResources('cpus:NaN'), 'AGORA_RESOURCES_INVALID');
  throwsCode(t, () => parseResources('cpus:1e999'), 'AGORA_RESOURCES_INVALID');
  throwsCode(t, () => parseResources('ports:[1-2'), 'AGORA_RESOURCES_INVALID', /unterminated/);
  throwsCode(t, () => parseResources('ports:[a-b]'), 'AGORA_RESOURCES_INVALID', /bad range/);
  throwsCode(t, () => parseResources('ports:[1.5-2]'), 'AGORA_RESOURCES_INVALID', /bad range/);
  throwsCode(t, () => parseResources('ports:[-1-2]'), 'AGORA_RESOURCES_INVALID', /bad range/);
  throwsCode(t, () => parseResources('names:{a,,b}'), 'AGORA_RESOURCES_INVALID', /empty set item/);
  throwsCode(t, () => parseResources('names:{a'), 'AGORA_RESOURCES_INVALID', /unterminated/);
  throwsCode(t, () => parseResources(';;'), 'AGORA_RESOURCES_INVALID', /no resources/);
  throwsCode(t, () => parseResources('cpus:1', { defaultRole: 'bad role' }), 'AGORA_RESOURCES_INVALID', /default role/);
});

t.test('formatResources round-trips with parseResources', async (t) => {
  for (const spec of [
    'cpus:4;mem:4096;disk:10000;ports:[31000-32000]',
    'cpus:0.5;cpus(web):1.25;ports:[1-2,5-9];names:{a,b}',
    'gpus(ml):1;mem(ml):128.001',
  ]) {
    const parsed = parseResources(spec);
    t.equal(formatResources(parsed), spec, `format(parse(${spec}))`);
    t.strictSame(parseResources(formatResources(parsed)), parsed, `parse(format(parse(${spec})))`);
  }
  t.equal(formatResources([rangesResource('ports', ports([5, 9], [1, 3], [4, 4]))]), 'ports:[1-9]');
  t.equal(formatResources([]), '');
  t.equal(formatResources([{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 }, role: 'legacy' }]), 'cpus(legacy):1',
    'the deprecated role field is shown too');
});

t.test('fixed-point scalars', async (t) => {
  const sum = addResources([scalarResource('cpus', 0.1)], [scalarResource('cpus', 0.2)]);
  t.equal(scalarOf(sum, 'cpus'), 0.3, '0.1 + 0.2 is exactly 0.3');
  t.equal(sum[0]!.scalar!.value, 0.3);

  let acc: Resource[] = [];
  for (let i = 0; i < 1000; i++) acc = addResources(acc, [scalarResource('cpus', 0.001)]);
  t.equal(scalarOf(acc, 'cpus'), 1, 'a thousand adds of 0.001 are exactly 1');

  let left: Resource[] = [scalarResource('mem', 1)];
  for (let i = 0; i < 9; i++) left = subtractResources(left, [scalarResource('mem', 0.1)]);
  t.equal(scalarOf(left, 'mem'), 0.1, 'nine subtractions of 0.1 from 1 leave exactly 0.1');
  left = subtractResources(left, [scalarResource('mem', 0.1)]);
  t.strictSame(left, [], 'and the tenth removes the entry');

  t.strictSame(flattenResources([scalarResource('cpus', 0.0004)]), [], 'a scalar that rounds to 0 disappears');
  t.equal(scalarResource('cpus', 1.23456).scalar!.value, 1.235);
  t.equal(scalarOf([], 'cpus'), 0);
  t.equal(scalarOf([scalarResource('cpus', 0.7), scalarResource('cpus', 0.1, 'web')], 'cpus'), 0.8, 'scalarOf sums every identity');
});

t.test('scalars: add, subtract, contains', async (t) => {
  const a = deepFreeze(parseResources('cpus:4;mem:1024'));
  const b = deepFreeze(parseResources('cpus:1.5;mem:1024;disk:10'));
  t.strictSame(addResources(a, b), parseResources('cpus:5.5;mem:2048;disk:10'));
  t.strictSame(subtractResources(a, b), parseResources('cpus:2.5'), 'mem reaches 0 and is dropped; disk absent in a is ignored');
  t.strictSame(subtractResources(b, a), parseResources('disk:10'), 'never negative: cpus clamps to 0 and disappears');
  t.ok(containsResources(a, parseResources('cpus:4;mem:1024')), 'equal is contained');
  t.ok(containsResources(a, parseResources('cpus:0.5')));
  t.notOk(containsResources(a, parseResources('cpus:4.001')));
  t.notOk(containsResources(a, parseResources('disk:1')), 'missing resource not contained');
  t.ok(containsResources(a, []), 'empty is contained in anything');
  t.ok(containsResources([], []));
  t.notOk(containsResources([], parseResources('cpus:1')));
  t.ok(containsResources(a, [scalarResource('disk', 0)]), 'a zero request is satisfied');
});

t.test('ranges: splitting, coalescing, boundaries', async (t) => {
  t.strictSame(coalesceRanges(ports([5, 9], [1, 2], [3, 4])), ports([1, 9]));
  t.strictSame(coalesceRanges(ports([1, 2], [4, 5])), ports([1, 2], [4, 5]), 'a gap keeps ranges apart');
  t.strictSame(coalesceRanges(ports([1, 10], [2, 3], [10, 12])), ports([1, 12]), 'contained and overlapping');
  t.strictSame(subtractRanges(ports([31000, 32000]), ports([31500, 31600])), ports([31000, 31499], [31601, 32000]), 'splits in the middle');
  t.strictSame(subtractRanges(ports([31000, 32000]), ports([31000, 31000])), ports([31001, 32000]), 'lower boundary');
  t.strictSame(subtractRanges(ports([31000, 32000]), ports([32000, 32010])), ports([31000, 31999]), 'upper boundary, overhanging');
  t.strictSame(subtractRanges(ports([1, 10]), ports([0, 11])), [], 'fully covered');
  t.strictSame(subtractRanges(ports([1, 10], [20, 30]), ports([5, 25])), ports([1, 4], [26, 30]), 'one range across two');
  t.strictSame(subtractRanges(ports([1, 10]), ports([2, 2], [4, 4], [6, 6])), ports([1, 1], [3, 3], [5, 5], [7, 10]), 'many holes');
  t.strictSame(subtractRanges(ports([5, 5]), ports([5, 5])), []);
  t.equal(rangesSize(ports([1, 2], [5, 9])), 7);
  t.equal(rangesSize(ports([1, 5], [3, 7])), 7, 'overlap counted once');

  const offered = deepFreeze([rangesResource('ports', ports([31000, 32000]))]);
  const used = [rangesResource('ports', ports([31000, 31000], [31005, 31010], [32000, 32000]))];
  const left = subtractResources(offered, used);
  t.strictSame(rangesOf(left, 'ports'), ports([31001, 31004], [31011, 31999]));
  t.strictSame(rangesOf(addResources(left, used), 'ports'), ports([31000, 32000]), 'adding back coalesces to the original');
  t.ok(containsResources(offered, used));
  t.notOk(containsResources(left, [rangesResource('ports', ports([31004, 31005]))]), 'partly covered is not contained');
  t.ok(containsResources(left, [rangesResource('ports', ports([31001, 31004], [31500, 31500]))]));
  t.strictSame(subtractResources(offered, [rangesResource('ports', ports([0, 65535]))]), [], 'emptied ranges are dropped');
  t.strictSame(rangesOf([], 'ports'), []);
  t.strictSame(rangesOf([rangesResource('ports', ports([5, 6])), rangesResource('ports', ports([7, 8]), 'web')], 'ports'), ports([5, 8]),
    'rangesOf unions every identity');
});

t.test('sets', async (t) => {
  const a = deepFreeze([setResource('gpu_ids', ['g0', 'g1', 'g2'])]);
  t.strictSame(addResources(a, [setResource('gpu_ids', ['g3', 'g1'])]), [setResource('gpu_ids', ['g0', 'g1', 'g2', 'g3'])]);
  t.strictSame(subtractResources(a, [setResource('gpu_ids', ['g1', 'g9'])]), [setResource('gpu_ids', ['g0', 'g2'])]);
  t.strictSame(subtractResources(a, [setResource('gpu_ids', ['g0', 'g1', 'g2'])]), []);
  t.ok(containsResources(a, [setResource('gpu_ids', ['g2', 'g0'])]));
  t.notOk(containsResources(a, [setResource('gpu_ids', ['g3'])]));
});

t.test('roles, reservations and allocations are kept apart', async (t) => {
  const a = deepFreeze(parseResources('cpus:2;cpus(web):1;mem:100'));
  t.equal(a.length, 3);
  t.equal(scalarOf(a, 'cpus'), 3);
  t.notOk(containsResources(a, parseResources('cpus:3')), 'reserved cpus do not count for unreserved requests');
  t.notOk(containsResources(a, parseResources('cpus(web):2')), 'nor unreserved cpus for reserved requests');
  t.ok(containsResources(a, parseResources('cpus:2;cpus(web):1')));
  t.notOk(containsResources(a, parseResources('cpus(db):1')));
  t.strictSame(subtractResources(a, parseResources('cpus(web):5')), parseResources('cpus:2;mem:100'), 'only the same role is subtracted');

  const dynamic: Resource = { name: 'cpus', type: 'SCALAR', scalar: { value: 1 }, reservations: [{ type: 'DYNAMIC', role: 'web', principal: 'ops' }] };
  t.equal(flattenResources([...a, dynamic]).length, 4, 'a dynamic reservation differs from a static one for the same role');
  t.not(resourceIdentity(dynamic), resourceIdentity(scalarResource('cpus', 1, 'web')));
  const sameDynamic: Resource = { scalar: { value: 2 }, reservations: [{ principal: 'ops', role: 'web', type: 'DYNAMIC' }], type: 'SCALAR', name: 'cpus' };
  t.strictSame(addResources([dynamic], [sameDynamic]), [{ ...dynamic, scalar: { value: 3 } }], 'deep-equal reservations merge regardless of key order');
  t.equal(resourceIdentity({ name: 'cpus', type: 'SCALAR', role: '*' }), resourceIdentity({ name: 'cpus', type: 'SCALAR' }), "legacy role '*' is unreserved");
  // The fast key of a plain resource is the general key: a resource that takes the general
  // path (a present but null field) with nothing else set gets the very same key.
  const plain = resourceIdentity({ name: 'mem', type: 'SCALAR', scalar: { value: 1 } });
  t.equal(plain, resourceIdentity({ name: 'mem', type: 'SCALAR', reservation: null } as unknown as Resource), 'fast and general keys agree');
  t.equal(plain, resourceIdentity({ name: 'mem', type: 'SCALAR', reservations: [] }), 'empty reservations are unreserved');
  t.not(plain, resourceIdentity({ name: 'mem', type: 'SCALAR', revocable: {} }), 'revocable is another resource');
  t.not(resourceIdentity({ name: 'a"b', type: 'SCALAR' }), resourceIdentity({ name: 'a', type: 'SCALAR' }), 'names are escaped');
  t.not(resourceIdentity({ name: 'cpus', type: 'SCALAR', role: 'x' }), resourceIdentity({ name: 'cpus', type: 'SCALAR' }));
  // The fast key of an allocated plain resource is the general key too: a resource that
  // takes the general path (a present but null reservation) with the same allocation.
  const allocatedKey = resourceIdentity({ name: 'mem', type: 'SCALAR', allocation_info: { role: 'w"b' } });
  t.equal(allocatedKey, resourceIdentity({ name: 'mem', type: 'SCALAR', reservation: null, allocation_info: { role: 'w"b' } } as unknown as Resource), 'fast and general keys agree for allocated resources');
  t.not(allocatedKey, plain, 'an allocation is part of the identity');
  t.not(allocatedKey, resourceIdentity({ name: 'mem', type: 'SCALAR', allocation_info: { role: 'web' } }));
  t.equal(resourceIdentity({ name: 'mem', type: 'SCALAR', allocation_info: {} }), plain, 'an allocation without a role is none');

  const allocated = allocateResources(a, 'web');
  t.ok(allocated.every((r) => r.allocation_info?.role === 'web'));
  t.equal(a[0]!.allocation_info, undefined, 'input not mutated');
  t.notOk(containsResources(allocated, a), 'allocated resources are a different identity');
  t.notOk(containsResources(allocateResources(a, 'db'), allocateResources(parseResources('mem:1'), 'web')), 'allocation role must match');
  t.ok(containsResources(allocated, allocateResources(parseResources('cpus:1'), 'web')));
  t.strictSame(unallocateResources(allocated), a, 'unallocate undoes allocate');
  t.strictSame(addResources(allocated, a).length, 6);
});

t.test('flatten, isEmpty, totals', async (t) => {
  const mixed = deepFreeze<Resource[]>([
    rangesResource('ports', ports([10, 12])),
    scalarResource('cpus', 1),
    rangesResource('ports', ports([1, 3], [13, 15])),
    scalarResource('cpus', 0.5),
    { name: 'mem', type: 'SCALAR', scalar: { value: 0 } },
  ]);
  t.strictSame(flattenResources(mixed), [rangesResource('ports', ports([1, 3], [10, 15])), scalarResource('cpus', 1.5)],
    'one entry per identity, first-seen order, zero entries dropped');
  t.ok(isEmptyResources([]));
  t.ok(isEmptyResources([scalarResource('cpus', 0), rangesResource('ports', []), setResource('s', [])]));
  t.ok(isEmptyResources([{ name: 'cpus', type: 'SCALAR', scalar: { value: 0.0001 } }]));
  t.notOk(isEmptyResources([scalarResource('cpus', 0), scalarResource('mem', 0.001)]));
  const totals = resourceTotals([...parseResources('cpus:1.1;cpus(web):0.2;mem:10;ports:[31000-32000];names:{a,b}'), ...mixed]);
  t.strictSame([...totals.entries()].sort(), [['cpus', 2.8], ['mem', 10], ['names', 2], ['ports', 1001 + 9]].sort());
});

t.test('parseAttributes / formatAttributes', async (t) => {
  const attrs = parseAttributes('rack:r1;zone:a;level:3;p:[1-2];weight:0.5;host:node-1.example.com');
  t.strictSame(attrs, [
    { name: 'rack', type: 'TEXT', text: { value: 'r1' } },
    { name: 'zone', type: 'TEXT', text: { value: 'a' } },
    { name: 'level', type: 'SCALAR', scalar: { value: 3 } },
    { name: 'p', type: 'RANGES', ranges: { range: [{ begin: 1, end: 2 }] } },
    { name: 'weight', type: 'SCALAR', scalar: { value: 0.5 } },
    { name: 'host', type: 'TEXT', text: { value: 'node-1.example.com' } },
  ]);
  t.equal(formatAttributes(attrs), 'rack:r1;zone:a;level:3;p:[1-2];weight:0.5;host:node-1.example.com');
  t.strictSame(parseAttributes(formatAttributes(attrs)), attrs);
  t.strictSame(parseAttributes(''), []);
  t.strictSame(parseAttributes(' rack : r1 ;'), [{ name: 'rack', type: 'TEXT', text: { value: 'r1' } }]);
  t.strictSame(parseAttributes('url:http://x:80'), [{ name: 'url', type: 'TEXT', text: { value: 'http://x:80' } }], 'split on the first colon');
  throwsCode(t, () => parseAttributes('rack'), 'AGORA_ATTRIBUTES_INVALID', /name:value/);
  throwsCode(t, () => parseAttributes('rack:'), 'AGORA_ATTRIBUTES_INVALID', /no value/);
  throwsCode(t, () => parseAttributes('s:{a,b}'), 'AGORA_ATTRIBUTES_INVALID', /set/);
  throwsCode(t, () => parseAttributes('p:[3-1]'), 'AGORA_ATTRIBUTES_INVALID', /begin > end/);
});

t.test('detectHostResources', async (t) => {
  const host = detectHostResources(process.cwd());
  t.ok(scalarOf(host, 'cpus') >= 1, 'positive cpus');
  t.ok(scalarOf(host, 'mem') > 0, 'positive mem');
  t.ok(scalarOf(host, 'disk') >= 0);
  t.strictSame(rangesOf(host, 'ports'), ports([31000, 32000]));
  t.ok(host.every((r) => r.reservations === undefined), 'unreserved');
  t.ok(detectHostResources('/definitely/not/an/existing/dir').length >= 2, 'a missing work dir uses its nearest existing parent');

  const GB = 1024 ** 3;
  t.strictSame(detectHostResources('/', { cpus: 8, totalMemBytes: 16 * GB, freeDiskBytes: 100 * GB }),
    parseResources(`cpus:8;mem:${16 * 1024 - 1024};disk:${100 * 1024 - 5120};ports:[31000-32000]`), 'large host: 1 GB and 5 GB held back');
  t.strictSame(detectHostResources('/', { cpus: 1, totalMemBytes: 1 * GB, freeDiskBytes: 4 * GB }),
    parseResources('cpus:1;mem:512;disk:2048;ports:[31000-32000]'), 'small host: half held back');
});

// ---- property-style test with a seeded PRNG ----

/** mulberry32, seeded (slave/sim/prng.ts). */
const mulberry32 = seededRandom;

t.test('property: contains(a+b, b) and (a+b)-b = flatten(a)', async (t) => {
  const rand = mulberry32(0xa60a);
  const int = (n: number) => Math.floor(rand() * n);
  const roles = ['*', 'web', 'db'];
  let checked = 0;
  for (let iter = 0; iter < 300; iter++) {
    // Ports and set items of one identity are owned by a or b, never both: unions of
    // overlapping ranges cannot be undone, which is also why an agent never double-books ports.
    const portOwner = Array.from({ length: 3 * 120 }, () => int(3)); // 0: a, 1: b, 2: nobody
    const itemOwner = Array.from({ length: 3 * 12 }, () => int(3));
    const gen = (who: number): Resource[] => {
      const out: Resource[] = [];
      for (let k = int(7); k > 0; k--) {
        const roleIndex = int(roles.length);
        const role = roles[roleIndex];
        switch (int(4)) {
          case 0:
          case 1:
            out.push(scalarResource(['cpus', 'mem', 'disk'][int(3)]!, int(5000) / 1000 * (int(3) === 0 ? 100 : 1), role));
            break;
          case 2: {
            const start = int(120);
            const len = int(30);
            const owned: Range[] = [];
            for (let p = start; p < Math.min(120, start + len); p++) {
              if (portOwner[roleIndex * 120 + p] === who) owned.push({ begin: 1000 + p, end: 1000 + p });
            }
            out.push(rangesResource('ports', owned, role));
            break;
          }
          default: {
            const items: string[] = [];
            for (let i = 0; i < 12; i++) if (itemOwner[roleIndex * 12 + i] === who && int(2) === 0) items.push(`i${i}`);
            out.push(setResource('ids', items, role));
          }
        }
      }
      if (int(4) === 0) return allocateResources(out, 'web');
      return out;
    };
    const a = deepFreeze(gen(0));
    const b = deepFreeze(gen(1));
    const sum = addResources(a, b);
    if (!containsResources(sum, b) || !containsResources(sum, a)) {
      t.fail('a+b contains a and b', { a, b, sum });
      break;
    }
    const back = subtractResources(sum, b);
    if (JSON.stringify(back) !== JSON.stringify(flattenResources(a))) {
      t.strictSame(back, flattenResources(a), '(a+b)-b = flatten(a)', { a, b });
      break;
    }
    if (!containsResources(a, subtractResources(a, b))) {
      t.fail('a contains a-b', { a, b });
      break;
    }
    checked++;
  }
  t.equal(checked, 300, 'all random cases hold');
});

t.test('property: sumResources(lists) is addResources folded over them', async (t) => {
  const rand = mulberry32(0x5a3);
  const int = (n: number) => Math.floor(rand() * n);
  const roles = ['*', 'web'];
  const gen = (): Resource[] => {
    const out: Resource[] = [];
    for (let k = int(5); k > 0; k--) {
      const role = roles[int(roles.length)];
      switch (int(5)) {
        case 0:
        case 1:
          out.push(scalarResource(['cpus', 'mem'][int(2)]!, int(5000) / 1000, role));
          break;
        case 2: {
          const start = int(100);
          out.push(rangesResource('ports', [{ begin: 1000 + start, end: 1000 + start + int(10) }], role));
          break;
        }
        case 3:
          out.push(setResource('ids', Array.from({ length: int(4) }, () => `i${int(8)}`), role));
          break;
        default:
          out.push({ name: 'note', type: 'TEXT', text: { value: `t${int(3)}` } } as Resource);
      }
    }
    return int(3) === 0 ? allocateResources(out, 'web') : out;
  };
  let checked = 0;
  for (let iter = 0; iter < 300; iter++) {
    // Many lists, as an ACCEPT's tasks; sometimes the same list object again (interned).
    const lists: Resource[][] = [];
    for (let n = 1 + int(25); n > 0; n--) lists.push(lists.length > 0 && int(3) === 0 ? lists[int(lists.length)]! : deepFreeze(gen()));
    const folded = lists.reduce<Resource[]>((acc, list) => addResources(acc, list), []);
    const summed = sumResources(lists);
    if (JSON.stringify(summed) !== JSON.stringify(folded)) {
      t.strictSame(summed, folded, 'the sum equals the fold', { lists });
      break;
    }
    checked++;
  }
  t.equal(checked, 300, 'all random cases hold');
  t.strictSame(sumResources([]), [], 'the sum of nothing is empty');
});

t.test('flatten: short plain lists (the shortcut) give what the general path gives', async (t) => {
  // The general path is taken for lists longer than 16; padding with 17 distinct zero
  // scalars (dropped by flattening) forces it on the same content.
  const padding = Array.from({ length: 17 }, (_, i) => scalarResource(`pad${i}`, 0));
  const cases: Resource[][] = [
    [scalarResource('cpus', 2), scalarResource('mem', 1024.00049), scalarResource('disk', 0)],
    [scalarResource('cpus', 1), { ...scalarResource('cpus', 0.5), role: '*' }],
    [scalarResource('cpus', 1), { ...scalarResource('cpus', 0.5), role: 'web' }],
    [rangesResource('ports', [{ begin: 10, end: 12 }, { begin: 1, end: 3 }, { begin: 4, end: 5 }])],
    [setResource('zones', ['b', 'a', 'b']), scalarResource('gpus', -1)],
    [{ ...scalarResource('cpus', 1), allocation_info: { role: 'web' } }, scalarResource('cpus', 1)],
    [{ ...scalarResource('cpus', 1), allocation_info: { role: 'web' } }, { ...scalarResource('cpus', 0.5), allocation_info: { role: 'web' } }],
    [{ ...scalarResource('cpus', 1), allocation_info: { role: 'web' } }, { ...scalarResource('cpus', 0.5), allocation_info: { role: 'db' } }, { ...scalarResource('cpus', 2), allocation_info: {} }],
    // Roles that would run into the allocation role if the cheap keys were not length-prefixed.
    [{ ...scalarResource('cpus', 1, 'a\u0000+b'), allocation_info: {} }, { ...scalarResource('cpus', 1, 'a'), allocation_info: { role: 'b' } }],
    [{ ...scalarResource('cpus', 1), allocation_info: { role: 'web', extra: { deep: [1] } } as unknown as Resource['allocation_info'] }],
  ];
  for (const rs of cases) {
    deepFreeze(rs);
    t.strictSame(flattenResources(rs), flattenResources([...rs, ...padding]), JSON.stringify(rs));
  }
});

t.test('property: add, subtract and contains give the same on short plain lists (shortcuts) as on the general path', async (t) => {
  const rand = mulberry32(0x5eed);
  const int = (n: number) => Math.floor(rand() * n);
  // Zero scalars with distinct names vanish when flattened; 17 of them force the general path.
  const padding = Array.from({ length: 17 }, (_, i) => scalarResource(`pad${i}`, 0));
  // Entries are unallocated, allocated to web or db, or carry an allocation_info without a
  // role (the same identity as none): offers and the tasks launched on them are allocated.
  const allocations = [undefined, { role: 'web' }, { role: 'db' }, {}] as const;
  // Roles: none, the legacy role field ('*' is the same as none, 'web' is not), or a static
  // reservation for web (which takes the general path even in a short list).
  const roleKinds = [
    { key: '*', apply: (r: Resource): Resource => r },
    { key: '*', apply: (r: Resource): Resource => ({ ...r, role: '*' }) },
    { key: 'legacy-web', apply: (r: Resource): Resource => ({ ...r, role: 'web' }) },
    { key: 'reserved-web', apply: (r: Resource): Resource => ({ ...r, reservations: [{ type: 'STATIC', role: 'web' }] }) },
  ];
  const gen = (): Resource[] => {
    const out: Resource[] = [];
    const used = new Set<string>();
    for (let k = int(8); k > 0; k--) {
      const kind = int(4);
      const name = ['cpus', 'mem', 'ports', 'zones'][kind]!;
      // Mostly simple identities, so that both lists often take the shortcuts.
      const roleKind = roleKinds[int(10) === 0 ? 3 : int(3)]!;
      const allocation = int(2) === 0 ? undefined : allocations[int(allocations.length)];
      const allocationKey = allocation === undefined ? '' : (allocation as { role?: string }).role ?? '';
      if (used.has(`${name}/${roleKind.key}/${allocationKey}`)) continue; // distinct identities: the shortcut's case
      used.add(`${name}/${roleKind.key}/${allocationKey}`);
      let r: Resource;
      if (kind < 2) r = scalarResource(name, (int(4000) - 500) / 1000);
      else if (kind === 2) r = rangesResource(name, [{ begin: int(50), end: 50 + int(50) }, { begin: 120 + int(20), end: 140 + int(20) }]);
      else r = setResource(name, ['a', 'b', 'c', 'b'].slice(int(3)));
      r = roleKind.apply(r);
      out.push(allocation === undefined ? r : { ...r, allocation_info: { ...allocation } });
    }
    return out;
  };
  let checked = 0;
  for (let i = 0; i < 500; i++) {
    const a = deepFreeze(gen());
    const b = deepFreeze(gen());
    const pa = [...a, ...padding];
    const pb = [...b, ...padding];
    const same = (x: unknown, y: unknown, what: string) => {
      if (JSON.stringify(x) !== JSON.stringify(y)) t.strictSame(x, y, what, { a, b });
      checked++;
    };
    same(addResources(a, b), addResources(pa, pb), 'add');
    same(subtractResources(a, b), subtractResources(pa, pb), 'subtract');
    same(containsResources(a, b), containsResources(pa, pb), 'contains a ⊇ b');
    same(containsResources(a, a), containsResources(pa, pa), 'contains a ⊇ a');
    same(flattenResources(a), flattenResources(pa), 'flatten');
  }
  t.equal(checked, 2500);
});

t.test('normalised entries keep their keys in the order they came in (as JSON shows them)', async (t) => {
  const reserved: Resource = {
    name: 'ports', type: 'RANGES', role: 'web', ranges: { range: [{ begin: 7, end: 9 }, { begin: 1, end: 3 }] },
    reservations: [{ type: 'STATIC', role: 'web' }],
  } as Resource;
  const cases: Array<[Resource, string]> = [
    [{ name: 'cpus', type: 'SCALAR', scalar: { value: 1.00049 }, role: '*' }, '{"name":"cpus","type":"SCALAR","scalar":{"value":1},"role":"*"}'],
    [{ name: 'cpus', role: '*', type: 'SCALAR', scalar: { value: 2 } } as Resource, '{"name":"cpus","type":"SCALAR","role":"*","scalar":{"value":2}}'],
    [reserved, '{"name":"ports","type":"RANGES","role":"web","ranges":{"range":[{"begin":1,"end":3},{"begin":7,"end":9}]},"reservations":[{"type":"STATIC","role":"web"}]}'],
    [{ name: 'zones', type: 'SET', set: { item: ['b', 'a', 'b'] }, role: '*' }, '{"name":"zones","type":"SET","set":{"item":["a","b"]},"role":"*"}'],
    // A value missing from the input comes last, as assigning it to a copy would put it.
    [{ name: 'cpus', type: 'SCALAR', role: '*' } as Resource, '{"name":"cpus","type":"SCALAR","role":"*","scalar":{"value":0}}'],
  ];
  for (const [r, json] of cases) {
    deepFreeze(r);
    // Two entries of one identity take the merging path; one alone is just normalised.
    t.equal(JSON.stringify(flattenResources([r])), r.name === 'cpus' && r.scalar === undefined ? '[]' : `[${json}]`, `alone: ${json}`);
    t.equal(JSON.stringify(subtractResources([r], [])), JSON.stringify(flattenResources([r])), `subtracting nothing: ${json}`);
  }
  t.equal(JSON.stringify(addResources([cases[1]![0]], [])), `[${cases[1]![1]}]`, 'a sum keeps the order too');
});

t.test('property: coalesceRanges gives the same for any order of the ranges, and coalesced input comes back as it is', async (t) => {
  const rand = seededRandom(0xc0a1);
  const shuffled = <T>(xs: readonly T[]): T[] => {
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  };
  let sortedInputs = 0;
  for (let i = 0; i < 3_000; i++) {
    const ranges: Range[] = Array.from({ length: Math.floor(rand() * 6) }, () => {
      const begin = Math.floor(rand() * 40);
      return { begin, end: begin + Math.floor(rand() * 10) - 3 }; // sometimes end < begin
    });
    // Half of them sorted by begin (then touching or overlapping neighbours must still merge).
    if (rand() < 0.5) {
      ranges.sort((x, y) => x.begin - y.begin || x.end - y.end);
      sortedInputs++;
    }
    deepFreeze(ranges);
    const got = coalesceRanges(ranges);
    t.strictSame(coalesceRanges(shuffled(ranges)), got, `any order: ${JSON.stringify(ranges)}`);
    t.strictSame(coalesceRanges(got), got, 'coalesced input comes back as it is');
    t.ok(got.every((r) => !ranges.includes(r)), 'new objects');
  }
  t.ok(sortedInputs > 1_000, `sorted inputs: ${sortedInputs}`);
});
