/**
 * The master's allocator input (master/allocation.ts): the snapshot lists only the agents a
 * pass may offer, the DRF denominators and available lists are remembered between passes
 * (AgentScan) and follow every change, and a pass on that snapshot decides exactly as one
 * over every agent did.
 */
import t from 'tap';
import { AgentScan, AllocationLoop, buildSnapshot } from '../../master/allocation.js';
import { AgentChangeLog } from '../../master/agent-changes.js';
import { seededRandom } from '../../slave/sim/prng.js';
import { addUsed, availableOf, releaseUsed } from '../../master/accounting.js';
import { allocate, clusterTotalsOf } from '../../master/allocator/allocate.js';
import { compileMasterOptions } from '../../master/config.js';
import type { MasterContext } from '../../master/context.js';
import { IdGenerator } from '../../master/ids.js';
import type { AgentRecord, FrameworkRecord } from '../../master/model.js';
import { OfferFilters } from '../../master/offer-filters.js';
import { removeOffer } from '../../master/offers.js';
import { createMasterState } from '../../master/state.js';
import { silentLogger } from '../../sdk/core/log.js';
import type { Resource } from '../../sdk/protocol/index.js';
import { scalarOf, unallocateResources } from '../../sdk/resources/index.js';

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

/** What an AllocationLoop needs of a master, with no timers (the test calls `run` itself) and no connections. */
function loopContext(state: ReturnType<typeof stateWith>, filters: OfferFilters, now: () => number): MasterContext {
  const noTimers = { timeout: () => undefined, cancel: () => undefined, has: () => false, interval: () => undefined, cancelAll: () => undefined };
  return {
    state, filters, config: compileMasterOptions({ port: 0, workDir: '/unused' }), clock: { now },
    logger: silentLogger(), ids: new IdGenerator('m'), timers: noTimers,
    conns: { sendEvent: () => true }, requestAllocation: () => undefined,
  } as unknown as MasterContext;
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

t.test('the allocation loop visits only what changed and offers exactly what a pass over every agent offers', async (t) => {
  const random = seededRandom(20261127); // seeded: a failure reproduces
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  let now = 1_000_000;
  const state = stateWith(Array.from({ length: 30 }, (_, i) => agent(`m-S${String(i).padStart(2, '0')}`, 1 + (i % 4))), [
    framework('f1'), framework('f2', { roles: ['*', 'web'] }),
  ]);
  const filters = new OfferFilters();
  const ctx = loopContext(state, filters, () => now);
  const loop = new AllocationLoop(ctx, allocate);
  let nextFramework = 3;
  let nextAgent = 30;
  let mismatches = 0;
  let offersMade = 0;
  const steps = 1_500;
  for (let step = 0; step < steps; step++) {
    // What a pass over every agent with every filter in force would offer now.
    const expected = allocate({ ...buildSnapshot(state, filters, now, new AgentScan()), filters: filters.all() })
      .allocations.map((a) => `${a.frameworkId}>${a.agentId}:${JSON.stringify(unallocateResources(a.resources))}`);
    const before = new Set(state.offers.keys());
    const sentBefore = state.counters.offersSent;
    loop.run();
    const made = [...state.offers.values()].filter((o) => !before.has(o.id))
      .map((o) => `${o.frameworkId}>${o.agentId}:${JSON.stringify(unallocateResources(o.resources))}`);
    if (JSON.stringify(made) !== JSON.stringify(expected)) mismatches++;
    offersMade += state.counters.offersSent - sentBefore;

    // Then something happens, as in a master.
    const offers = [...state.offers.values()];
    const roll = random();
    if (roll < 0.3 && offers.length > 0) {
      // DECLINE (or an ACCEPT's leftover), with or without a filter.
      removeOffer(ctx, pick(offers).id, { refuseSeconds: pick([0, 0, 1, 5]) });
    } else if (roll < 0.45 && offers.length > 0) {
      // A task takes part of an offer; the rest comes back filtered or not.
      const offer = pick(offers);
      removeOffer(ctx, offer.id, { refuseSeconds: pick([0, 2]), filterResources: [scalar('mem', 1)] });
      addUsed(state, offer.frameworkId, offer.agentId, [scalar('cpus', 1)].filter(() => scalarOf(availableOf(state.agents.get(offer.agentId)!), 'cpus') >= 1));
    } else if (roll < 0.55) {
      // A task ends somewhere.
      const a = pick([...state.agents.values()]);
      const fw = pick([...state.frameworks.values()]);
      if (scalarOf(a.used, 'cpus') >= 1 && scalarOf(fw.used, 'cpus') >= 1) releaseUsed(state, fw.id, a.id, [scalar('cpus', 1)]);
    } else if (roll < 0.72) {
      now += Math.floor(random() * 2_500); // filters expire
    } else if (roll < 0.78) {
      const fw = pick([...state.frameworks.values()]);
      if (random() < 0.5) fw.suppressedRoles.add(pick(fw.roles));
      else { filters.clearFramework(fw.id); fw.suppressedRoles.clear(); } // REVIVE
    } else if (roll < 0.84) {
      // A framework disconnects (its offers come back) or reconnects.
      const fw = pick([...state.frameworks.values()]);
      if (fw.connected) for (const o of offers) if (o.frameworkId === fw.id) removeOffer(ctx, o.id, { reallocate: false });
      fw.connected = !fw.connected;
    } else if (roll < 0.87) {
      const f = framework(`f${nextFramework++}`, { roles: random() < 0.5 ? ['web'] : ['*'] });
      state.frameworks.set(f.id, f);
    } else if (roll < 0.93) {
      // An agent goes inactive (its offers rescinded) or comes back.
      const a = pick([...state.agents.values()]);
      if (a.active) for (const o of offers) if (o.agentId === a.id) removeOffer(ctx, o.id, { reallocate: false });
      a.active = !a.active;
      state.agentChanges!.touched(a);
    } else if (roll < 0.96) {
      const reserved: Resource = { ...scalar('cpus', 1), reservations: [{ type: 'STATIC', role: 'web' }] } as Resource;
      const added = agent(`m-S${nextAgent++}`, 2, { total: [scalar('cpus', 2), scalar('mem', 2048), reserved] });
      state.agents.set(added.id, added);
      state.agentChanges!.membershipChanged();
    } else if (offers.length > 0) {
      // REVIVE of the framework of some offer, and time passes: many changes in one turn.
      const fw = state.frameworks.get(pick(offers).frameworkId)!;
      filters.clearFramework(fw.id);
      fw.suppressedRoles.clear();
      now += 700;
    }
  }
  t.equal(mismatches, 0, `${steps} passes: every one made the offers a pass over every agent makes`);
  t.ok(offersMade > 300, `offers were made (${offersMade})`);
});

t.test('a pass visits the agents that changed, not the ones every framework filters', async (t) => {
  const agents = Array.from({ length: 5 }, (_, i) => agent(`m-S${i}`, 2));
  const state = stateWith(agents, [framework('f1')]);
  const log = new AgentChangeLog();
  const scan = new AgentScan(log);
  const ids = (r: ReturnType<AgentScan['scan']>) => r.visit.map((a) => a.id);
  t.same(ids(scan.scan(state.agents, {})), ['m-S0', 'm-S1', 'm-S2', 'm-S3', 'm-S4'], 'the first scan visits every agent');
  t.same(ids(scan.scan(state.agents, {})), [], 'nothing changed: nothing to visit');
  agents[3]!.used = [scalar('cpus', 1)];
  log.touched(agents[3]!);
  agents[1]!.used = [scalar('cpus', 1)];
  log.touched(agents[1]!);
  t.same(ids(scan.scan(state.agents, { released: new Set(['m-S4', 'nobody']) })), ['m-S1', 'm-S3', 'm-S4'], 'the reported ones and the released ones, in registry order');
  agents[2]!.offered = [...agents[2]!.total];
  log.touched(agents[2]!);
  const r = scan.scan(state.agents, { released: new Set(['m-S2']) });
  t.same(ids(r), [], 'an agent with nothing available is not visited');
  t.same(r.offerable.map((a) => a.id), ['m-S0', 'm-S1', 'm-S3', 'm-S4'], 'though the offerable list follows it');
  t.same(ids(scan.scan(state.agents, { all: true })), ['m-S0', 'm-S1', 'm-S3', 'm-S4'], 'all: every offerable agent');
});

t.test('a run visits every agent when a framework may take more than before, none when it may take less', async (t) => {
  const state = stateWith(Array.from({ length: 6 }, (_, i) => agent(`m-S${i}`, 2)), [framework('f1'), framework('f2', { roles: ['*', 'web'] })]);
  const filters = new OfferFilters();
  const ctx = loopContext(state, filters, () => 1_000);
  const visited: number[] = [];
  const loop = new AllocationLoop(ctx, (snapshot) => {
    visited.push(snapshot.agents.length);
    return allocate(snapshot);
  });
  const visits = (what: () => void): number => {
    what();
    loop.run();
    return visited.at(-1)!;
  };
  t.equal(visits(() => undefined), 6, 'the first run visits every agent');
  // Every offer declined for a long time by whoever got it: the agents stay offerable, filtered.
  const declineAll = (): void => {
    for (const o of [...state.offers.values()]) removeOffer(ctx, o.id, { refuseSeconds: 3_600 });
  };
  t.equal(visits(declineAll), 6, 'the declined agents are visited again, for the other framework');
  t.equal(visits(declineAll), 6, 'and again when it declines them too');
  t.equal(state.offers.size, 0, 'every agent is filtered by both frameworks');
  t.equal(visits(() => undefined), 0, 'nothing changed: no visit');
  const f2 = state.frameworks.get('f2')!;
  t.equal(visits(() => f2.suppressedRoles.add('web')), 0, 'a role suppressed: no visit');
  t.equal(visits(() => { state.frameworks.get('f1')!.connected = false; }), 0, 'a framework disconnected: no visit');
  t.equal(visits(() => f2.suppressedRoles.delete('web')), 6, 'the role revived: every agent');
  t.equal(visits(() => { state.frameworks.get('f1')!.connected = true; }), 6, 'the framework back: every agent');
  t.equal(visits(() => f2.roles.push('batch')), 6, 'a role taken: every agent');
  t.equal(visits(() => undefined), 0, 'nothing changed: no visit');
  t.equal(state.offers.size, 0, 'every agent stayed filtered for everyone (filters are per framework and agent)');
});
