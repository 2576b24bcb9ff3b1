/**
 * The master's allocator input (master/allocation.ts): the snapshot lists only the agents a
 * pass may offer, the DRF denominators and available lists are remembered between passes
 * (AgentScan) and follow every change, and a pass on that snapshot decides exactly as one
 * over every agent did.
 */
import t from 'tap';
import { AgentScan, buildSnapshot } from '../../master/allocation.js';
import { AgentChangeLog } from '../../master/agent-changes.js';
import { seededRandom } from '../../slave/sim/prng.js';
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

t.test('with a change log, a scan revisits only the reported agents and lists what a full walk lists', async (t) => {
  const random = seededRandom(20261126); // seeded: a failure reproduces
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const log = new AgentChangeLog();
  const state = stateWith(Array.from({ length: 40 }, (_, i) => agent(`m-S${i}`, 1 + (i % 5))), []);
  const scan = new AgentScan(log);
  let next = 40;
  const fresh = () => new AgentScan().scan(state.agents);
  const view = (r: ReturnType<AgentScan['scan']>) => ({ offerable: r.offerable.map((a) => [a.id, a.total, a.available]), totals: [...r.clusterTotals] });
  t.same(view(scan.scan(state.agents)), view(fresh()), 'the first scan walks every agent');
  let mismatches = 0;
  const steps = 600;
  for (let step = 0; step < steps; step++) {
    const agents = [...state.agents.values()];
    const a = pick(agents);
    const roll = random();
    if (roll < 0.3) {
      a.used = random() < 0.3 ? [] : [scalar('cpus', Math.floor(random() * 3))];
      log.touched(a);
    } else if (roll < 0.6) {
      a.offered = random() < 0.4 ? [] : random() < 0.5 ? [...a.total] : [scalar('mem', 512)];
      log.touched(a);
    } else if (roll < 0.72) {
      a.active = !a.active;
      log.touched(a);
    } else if (roll < 0.8) {
      a.total = [scalar('cpus', 1 + Math.floor(random() * 8)), scalar('mem', 1024)];
      log.touched(a);
    } else if (roll < 0.87) {
      state.agents.delete(a.id);
      log.membershipChanged();
    } else if (roll < 0.94) {
      const added = agent(`m-S${next++}`, 1 + Math.floor(random() * 4));
      state.agents.set(added.id, added);
      log.membershipChanged();
    } else {
      // Several changes before one scan (a pass coalesces the requests of a turn).
      for (const b of agents.slice(0, 5)) {
        b.used = [scalar('cpus', 0.5)];
        log.touched(b);
      }
    }
    if (random() < 0.7 && JSON.stringify(view(scan.scan(state.agents))) !== JSON.stringify(view(fresh()))) mismatches++;
  }
  t.equal(mismatches, 0, `${steps} random changes: the kept list always equals a full walk's`);
  t.same(view(scan.scan(state.agents)), view(fresh()), 'and at the end');

  // Only reported agents are revisited: an unreported change stays unseen until reported.
  const listedNow = scan.scan(state.agents).offerable;
  const quiet = [...state.agents.values()].find((x) => listedNow.some((l) => l.id === x.id))!;
  quiet.active = false;
  t.ok(scan.scan(state.agents).offerable.some((x) => x.id === quiet.id), 'an unreported change is not looked for');
  log.touched(quiet);
  t.notOk(scan.scan(state.agents).offerable.some((x) => x.id === quiet.id), 'once reported, it is');
});
