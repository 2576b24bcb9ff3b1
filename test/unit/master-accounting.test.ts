/**
 * accounting.ts charges `used` without `allocation_info`, remembering the copy for the few
 * lists it saw last (tasks share interned lists). The remembered copy must never outlive a
 * change of the list: the same array with an entry added or replaced is charged as it is now.
 */
import t from 'tap';
import { addUsed, addUsedAll, releaseUsed } from '../../master/accounting.js';
import type { MasterState } from '../../master/model.js';
import type { Resource } from '../../sdk/protocol/index.js';

const scalar = (name: string, value: number): Resource => ({ name, type: 'SCALAR', scalar: { value }, allocation_info: { role: '*' } });
const plain = (name: string, value: number): Resource => ({ name, type: 'SCALAR', scalar: { value } });

/** Just the records addUsed/releaseUsed touch: one agent and one framework. */
function state(): { state: MasterState; agent: { used: Resource[] }; fw: { used: Resource[] } } {
  const agent = { used: [] as Resource[] };
  const fw = { used: [] as Resource[] };
  const s = { agents: new Map([['a1', agent]]), frameworks: new Map([['f1', fw]]) } as unknown as MasterState;
  return { state: s, agent, fw };
}

t.test('a shared list charged many times adds up, without allocation_info', async (t) => {
  const { state: s, agent, fw } = state();
  const shared = [scalar('cpus', 0.1), scalar('mem', 32)];
  for (let i = 0; i < 10; i++) addUsed(s, 'f1', 'a1', shared);
  t.strictSame(agent.used, [plain('cpus', 1), plain('mem', 320)]);
  t.strictSame(fw.used, [plain('cpus', 1), plain('mem', 320)]);
  t.strictSame(shared, [scalar('cpus', 0.1), scalar('mem', 32)], 'the charged list is left as it was');
  for (let i = 0; i < 10; i++) releaseUsed(s, 'f1', 'a1', shared);
  t.strictSame(agent.used, []);
  t.strictSame(fw.used, []);
});

t.test('the same array changed in place is charged as it is now', async (t) => {
  const { state: s, agent } = state();
  const list = [scalar('cpus', 1)];
  addUsed(s, 'f1', 'a1', list);
  list.push(scalar('mem', 64));
  addUsed(s, 'f1', 'a1', list);
  t.strictSame(agent.used, [plain('cpus', 2), plain('mem', 64)], 'an entry added');
  list[0] = scalar('cpus', 3);
  addUsed(s, 'f1', 'a1', list);
  t.strictSame(agent.used, [plain('cpus', 5), plain('mem', 128)], 'an entry replaced');
});

t.test('more lists than remembered, in turn: each charged right', async (t) => {
  const { state: s, agent } = state();
  const lists = Array.from({ length: 20 }, (_, i) => [scalar('cpus', (i + 1) / 10)]);
  for (let round = 0; round < 3; round++) for (const list of lists) addUsed(s, 'f1', 'a1', list);
  // 3 × (0.1 + 0.2 + … + 2.0) = 3 × 21
  t.strictSame(agent.used, [plain('cpus', 63)]);
});

t.test('addUsedAll charges what addUsed list by list charges', async (t) => {
  const ports = (begin: number, end: number): Resource => ({ name: 'ports', type: 'RANGES', ranges: { range: [{ begin, end }] }, allocation_info: { role: '*' } });
  const shared = [scalar('cpus', 0.1), scalar('mem', 32)];
  const lists: Resource[][] = [shared, shared, [scalar('cpus', 0.25), ports(31000, 31001)], shared, [ports(31005, 31005), scalar('disk', 10)]];
  const one = state();
  const all = state();
  addUsed(one.state, 'f1', 'a1', [scalar('mem', 1)]);
  addUsed(all.state, 'f1', 'a1', [scalar('mem', 1)]);
  for (const list of lists) addUsed(one.state, 'f1', 'a1', list);
  const agentBefore = all.agent.used;
  addUsedAll(all.state, 'f1', 'a1', lists);
  t.strictSame(all.agent.used, one.agent.used, 'the agent\'s used');
  t.strictSame(all.fw.used, one.fw.used, 'the framework\'s used');
  t.not(all.agent.used, agentBefore, 'a new list, not the old one changed in place');
  t.strictSame(shared, [scalar('cpus', 0.1), scalar('mem', 32)], 'the charged lists are left as they were');
  addUsedAll(all.state, 'f1', 'a1', []);
  t.strictSame(all.agent.used, one.agent.used, 'nothing to charge changes nothing');
  for (const list of lists) releaseUsed(all.state, 'f1', 'a1', list);
  t.strictSame(all.agent.used, [plain('mem', 1)], 'released one by one, back to what it held');
});
