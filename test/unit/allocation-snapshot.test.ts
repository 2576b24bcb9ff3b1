/**
 * The master's allocator input (master/allocation.ts): the snapshot lists only the agents a
 * pass may offer, the DRF denominators and available lists are remembered between passes
 * (AgentScan) and follow every change, and a pass on that snapshot decides exactly as one
 * over every agent did.
 */
import t from 'tap';
import { AgentScan, buildSnapshot } from '../../master/allocation.js';
import { availableOf } from '../../master/accounting.js';
import { allocate, clusterTotalsOf } from '../../master/allocator/allocate.js';
import { OfferFilters } from '../../master/context.js';
import type { AgentRecord, FrameworkRecord } from '../../master/model.js';
import { createMasterState } from '../../master/state.js';
import type { Resource } from '../../sdk/protocol/index.js';

function scalar(name: string, value: number): Resource {
  return { name, type: 'SCALAR', scalar: { value } };
}

function agent(id: string, cpus: number, extra: Partial<AgentRecord> = {}): AgentRecord {
  return {
    id, info: { hostname: `${id}.local`, port: 5051 }, hostname: `${id}.local`, port: 5051, ip: '10.0.0.1',
    attributes: [], total: [scalar('cpus', cpus), scalar('mem', cpus * 1024)], used: [], offered: [],
    version: '1.11.0', registeredAt: 0, active: true, missedPings: 0, ...extra,
  };
}

function framework(id: string, extra: Partial<FrameworkRecord> = {}): FrameworkRecord {
  return {
    id, info: { user: 'root', name: id }, roles: ['*'], capabilities: new Set(), connected: true, streamId: 's',
    registeredAt: 0, suppressedRoles: new Set(), used: [], offered: [], executors: new Map(), ...extra,
  };
}

function stateWith(agents: AgentRecord[], frameworks: FrameworkRecord[]) {
  const state = createMasterState({ id: 'm', ip: 0, port: 5050 } as never, 0);
  for (const a of agents) state.agents.set(a.id, a);
  for (const f of frameworks) state.frameworks.set(f.id, f);
  return state;
}

t.test('the snapshot lists the agents a pass may offer; the totals count every agent', async (t) => {
  const a1 = agent('m-S1', 4);
  const a2 = agent('m-S2', 8, { offered: [scalar('cpus', 8), scalar('mem', 8192)] }); // all of it offered
  const a3 = agent('m-S3', 2, { active: false });
  const a4 = agent('m-S4', 1, { used: [scalar('cpus', 0.5)] });
  const state = stateWith([a1, a2, a3, a4], [framework('f1', { used: [scalar('cpus', 0.5)] })]);
  const s = buildSnapshot(state, new OfferFilters(), 5, new AgentScan());
  t.same(s.agents.map((a) => a.id), ['m-S1', 'm-S4'], 'inactive and fully offered agents are left out');
  t.same([...s.clusterTotals!], [['cpus', 15], ['mem', 15 * 1024]], 'every registered agent counts for DRF');
  t.same(s.agents[1]!.available, [scalar('cpus', 0.5), scalar('mem', 1024)]);

  // The pass decides as one over every agent (the totals then summed by the allocator).
  const everyAgent = { ...s, clusterTotals: undefined, agents: [a1, a2, a3, a4].map((a) => ({ id: a.id, total: a.total, available: s.agents.find((x) => x.id === a.id)?.available ?? [], active: a.active })) };
  delete everyAgent.clusterTotals;
  t.same(allocate(s), allocate(everyAgent), 'the same allocations');
});

t.test('the totals are summed again only when an agent comes, goes or changes its total', async (t) => {
  const a1 = agent('m-S1', 4);
  const a2 = agent('m-S2', 8);
  const state = stateWith([a1, a2], []);
  const scan = new AgentScan();
  const totals = () => scan.scan(state.agents).clusterTotals;
  const first = totals();
  t.same([...first], [['cpus', 12], ['mem', 12 * 1024]]);
  a1.used = [scalar('cpus', 1)];
  a2.offered = [scalar('cpus', 2)];
  a2.active = false;
  t.equal(totals(), first, 'used, offered and active changes keep the same totals object');

  state.agents.set('m-S3', agent('m-S3', 1));
  t.same([...totals()], [['cpus', 13], ['mem', 13 * 1024]], 'an agent came');

  a2.total = [scalar('cpus', 16), scalar('gpus', 2)];
  t.same([...totals()], [['cpus', 21], ['mem', 5 * 1024], ['gpus', 2]], 'an agent re-registered with a new total');

  state.agents.delete('m-S1');
  state.agents.set('m-S4', agent('m-S4', 4));
  const fourth = totals();
  t.same([...fourth], [['cpus', 21], ['gpus', 2], ['mem', 5 * 1024]], 'one went, one came: same count, new totals');
  t.same(fourth, clusterTotalsOf(state.agents.values()));

  state.agents.clear();
  t.same([...totals()], [], 'no agents, no totals');
});

t.test('the offerable agents follow every change of used, offered, total, activity and registry', async (t) => {
  const agents = Array.from({ length: 6 }, (_, i) => agent(`m-S${i}`, 2 + i));
  const state = stateWith(agents, []);
  const scan = new AgentScan();
  // What a scan must list: recomputed from scratch, no memory.
  const expected = () => [...state.agents.values()].filter((a) => a.active && availableOf(a).length > 0).map((a) => [a.id, availableOf(a)]);
  const listed = () => scan.scan(state.agents).offerable.map((a) => [a.id, a.available]);
  t.same(listed(), expected(), 'every agent whole');
  const steps: Array<[string, () => void]> = [
    ['an agent fully offered', () => { agents[1]!.offered = [...agents[1]!.total]; }],
    ['part of one used', () => { agents[2]!.used = [scalar('cpus', 1)]; }],
    ['an offer back', () => { agents[1]!.offered = []; }],
    ['an agent inactive', () => { agents[3]!.active = false; }],
    ['its resources change while inactive, then it is back', () => { agents[3]!.used = [scalar('mem', 100)]; agents[3]!.active = true; }],
    ['a new total', () => { agents[4]!.total = [scalar('cpus', 1)]; }],
    ['an agent removed from the middle', () => { state.agents.delete('m-S2'); }],
    ['a record replaced under the same id', () => { state.agents.set('m-S5', agent('m-S5', 9, { used: [scalar('cpus', 9), scalar('mem', 9 * 1024)] })); }],
    ['a new agent at the end', () => { state.agents.set('m-S9', agent('m-S9', 3)); }],
  ];
  for (const [what, change] of steps) {
    change();
    t.same(listed(), expected(), what);
  }
  t.same(listed(), expected(), 'nothing changed: the same list');
});
