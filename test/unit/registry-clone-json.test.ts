/** cloneJson: the deep copy a registry load hands its caller. */
import t from 'tap';
import { cloneJson } from '../../master/registry/index.js';

t.test('copies JSON data deeply: changing the copy leaves the original', async (t) => {
  const original = { agents: { a1: { info: { hostname: 'h', resources: [{ name: 'cpus', scalar: { value: 1 } }], id: null }, admittedAt: 3 } }, list: [1, 'x', true, null, [2]] };
  const copy = cloneJson(original);
  t.same(copy, original);
  copy.agents.a1.info.resources[0]!.scalar.value = 99;
  copy.agents.a1.info.hostname = 'other';
  (copy.list[4] as number[]).push(3);
  t.equal(original.agents.a1.info.resources[0]!.scalar.value, 1);
  t.equal(original.agents.a1.info.hostname, 'h');
  t.same(original.list[4], [2]);
  t.not(copy.agents, original.agents);
});

t.test('a "__proto__" key (JSON.parse makes it an own key) stays a plain own key', async (t) => {
  const parsed = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>;
  const copy = cloneJson(parsed);
  t.ok(Object.hasOwn(copy, '__proto__'));
  t.equal(Object.getPrototypeOf(copy), Object.prototype);
  t.equal((copy as { polluted?: unknown }).polluted, undefined);
  t.same(Object.keys(copy), ['__proto__', 'a']);
});

t.test('scalars are returned as they are', async (t) => {
  t.equal(cloneJson(5), 5);
  t.equal(cloneJson('s'), 's');
  t.equal(cloneJson(null), null);
});
