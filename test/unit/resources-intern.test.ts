/**
 * The value interner (sdk/resources/intern.ts): plain scalar resource lists and `{ value }`
 * ids are replaced by shared equal ones that serialise to the same bytes; anything else is
 * left as it is; the cache is bounded.
 */
import t from 'tap';
import type { Resource } from '../../sdk/protocol/index.js';
import { ValueInterner } from '../../sdk/resources/intern.js';

/** A task's resources as an ACCEPT brings them (parsed: a fresh copy each time). */
const parsed = (text: string): Resource[] => JSON.parse(text) as Resource[];
const TASK = '[{"name":"cpus","type":"SCALAR","scalar":{"value":0.1},"role":"*","allocation_info":{"role":"*"}},{"name":"mem","type":"SCALAR","scalar":{"value":32},"role":"*","allocation_info":{"role":"*"}}]';

t.test('equal plain scalar lists become one shared list, serialised as before', async (t) => {
  const interner = new ValueInterner();
  const a = interner.resourceList(parsed(TASK));
  const b = interner.resourceList(parsed(TASK));
  t.equal(a, b, 'the second list is the first one');
  t.equal(JSON.stringify(b), TASK, 'same bytes');
  const other = interner.resourceList(parsed(TASK.replace('0.1', '0.2')));
  t.not(other, a, 'a different value is another list');
  t.equal(other[1], a[1], 'its equal entry (mem) is shared');
  t.equal(JSON.stringify(other), TASK.replace('0.1', '0.2'));
});

t.test('key order, absent fields and values all tell lists apart', async (t) => {
  const interner = new ValueInterner();
  const texts = [
    '[{"name":"cpus","type":"SCALAR","scalar":{"value":1}}]',
    '[{"name":"cpus","type":"SCALAR","scalar":{"value":1},"role":"*"}]',
    '[{"name":"cpus","type":"SCALAR","scalar":{"value":1},"allocation_info":{"role":"*"}}]',
    '[{"name":"cpus","type":"SCALAR","scalar":{"value":1},"role":"r"}]',
    '[{"name":"cpus","type":"SCALAR","scalar":{"value":1},"allocation_info":{"role":"r"}}]',
    '[{"name":"cpus","type":"SCALAR","scalar":{"value":-0}}]',
    '[{"name":"cpu","type":"SCALAR","scalar":{"value":1}}]',
  ];
  const lists = texts.map((x) => interner.resourceList(parsed(x)));
  t.equal(new Set(lists).size, texts.length, 'each list its own');
  t.same(lists.map((l) => JSON.stringify(l)), texts.map((x) => JSON.stringify(JSON.parse(x))), 'each serialises as it came');
  t.ok(Object.is(interner.resourceList(parsed(texts[5]!))[0]!.scalar!.value, -0), '-0 stays -0');
  t.equal(interner.resourceList(parsed(texts[5]!)), lists[5]);
});

t.test('resources that are not plain scalars, or carry more fields, are kept as they are', async (t) => {
  const interner = new ValueInterner();
  const texts = [
    '[{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":31000,"end":31000}]}}]',
    '[{"name":"cpus","type":"SCALAR","scalar":{"value":1},"reservations":[{"type":"STATIC","role":"r"}]}]',
    '[{"type":"SCALAR","name":"cpus","scalar":{"value":1}}]',
    '[{"name":"cpus","type":"SCALAR","scalar":{"value":1,"extra":2}}]',
    '[{"name":"cpus","type":"SCALAR","scalar":{"value":1},"allocation_info":{"role":"*","x":1}}]',
  ];
  for (const text of texts) {
    const first = parsed(text);
    const firstEntry = first[0];
    t.equal(interner.resourceList(first), first, `kept: ${text}`);
    t.equal(first[0], firstEntry);
    const second = parsed(text);
    t.not(interner.resourceList(second)[0], firstEntry, 'not shared with an equal one');
  }
  const mixed = parsed(`[${JSON.parse(TASK).map((r: Resource) => JSON.stringify(r)).join(',')},${texts[0]!.slice(1, -1)}]`);
  const plain = interner.resourceList(parsed(TASK));
  const out = interner.resourceList(mixed);
  t.equal(out, mixed, 'a mixed list stays the same list');
  t.equal(out[0], plain[0], 'its plain entries are shared');
  t.equal(out[2]!.name, 'ports');
  t.same(interner.resourceList([]), [], 'empty');
});

t.test('ids: a shared { value } per id; ids with more fields kept', async (t) => {
  const interner = new ValueInterner();
  const a = interner.idRef({ value: 'agent-S1' });
  t.equal(interner.idRef({ value: 'agent-S1' }), a);
  t.not(interner.idRef({ value: 'agent-S2' }), a);
  const odd = { value: 'agent-S1', extra: 1 };
  t.equal(interner.idRef(odd), odd);
});

t.test('bounded: a full cache starts afresh, values handed out stay valid', async (t) => {
  const interner = new ValueInterner(4);
  const first = interner.idRef({ value: 'id-0' });
  for (let i = 1; i < 10; i++) interner.idRef({ value: `id-${i}` });
  const again = interner.idRef({ value: 'id-0' });
  t.not(again, first, 'forgotten after the cache filled');
  t.same(again, first, 'equal all the same');
  t.equal(interner.idRef({ value: 'id-0' }), again);
});

t.test('a list like the last one but for one field is not taken for it', async (t) => {
  const interner = new ValueInterner();
  const shared = interner.resourceList(parsed(TASK));
  const near = [
    TASK.replace('"role":"*","allocation_info"', '"allocation_info"'), // a field fewer
    TASK.replace('{"value":0.1}', '{"value":0.1,"x":1}'), // a field more in scalar
    TASK.replace('"allocation_info":{"role":"*"}}]', '"allocation_info":{"role":"*","x":1}}]'), // …in allocation_info
    TASK.replace('"name":"cpus","type":"SCALAR"', '"type":"SCALAR","name":"cpus"'), // reordered
    TASK.replace('"role":"*","allocation_info":{"role":"*"}}]', '"role":"*","allocation_info":{"role":"r"}}]'), // another role
    TASK.replace('}]', '},"reservations":[]}]').replace('},"reservations":[]}]', '}]').replace('"role":"*"}}]', '"role":"*"},"extra":1}]'), // an extra field
    TASK.replace('"value":32', '"value":-0'),
  ];
  for (const text of near) {
    interner.resourceList(parsed(TASK)); // the last list is the shared one again
    const got = interner.resourceList(parsed(text));
    t.not(got, shared, `not the shared list: ${text}`);
    t.equal(JSON.stringify(got), JSON.stringify(JSON.parse(text)), 'serialised as it came');
  }
  t.equal(interner.resourceList(parsed(TASK)), shared, 'an equal list is still the shared one');
  t.equal(interner.resourceList(parsed(TASK.replace('0.1', '0.3'))), interner.resourceList(parsed(TASK.replace('0.1', '0.3'))), 'a new list becomes the last one');
});
