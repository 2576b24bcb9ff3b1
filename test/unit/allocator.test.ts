/**
 * The allocator is a pure function of a snapshot: these tests build snapshots by hand and
 * assert on the returned allocations (who gets which agent, under which role, with what).
 */
import t from 'tap';
import { allocate, dominantShare, offerableTo } from '../../master/allocator/allocate.js';
import type {
  AllocationSnapshot, AllocatorAgent, AllocatorFramework, OfferFilter,
} from '../../master/allocator/types.js';
import type { Resource } from '../../sdk/protocol/index.js';
import {
  addResources, containsResources, scalarOf, subtractResources, unallocateResources,
} from '../../sdk/resources/index.js';
import { seededRandom } from '../../slave/sim/prng.js';

function scalar(name: string, value: number, reservedTo?: string): Resource {
  const r: Resource = { name, type: 'SCALAR', scalar: { value } };
  if (reservedTo !== undefined) r.reservations = [{ type: 'STATIC', role: reservedTo }];
  return r;
}
function ports(begin: number, end: number): Resource {
  return { name: 'ports', type: 'RANGES', ranges: { range: [{ begin, end }] } };
}
function res(cpus: number, mem: number, reservedTo?: string): Resource[] {
  return [scalar('cpus', cpus, reservedTo), scalar('mem', mem, reservedTo)];
}

function agent(id: string, total: Resource[], extra: Partial<AllocatorAgent> = {}): AllocatorAgent {
  return { id, total, available: total, active: true, ...extra };
}
function framework(id: string, extra: Partial<AllocatorFramework> = {}): AllocatorFramework {
  return { id, roles: ['*'], suppressedRoles: new Set(), allocated: [], active: true, ...extra };
}
function snapshot(partial: Partial<AllocationSnapshot>): AllocationSnapshot {
  return { agents: [], frameworks: [], filters: [], now: 1_000_000, ...partial };
}
/** agentId → frameworkId of the allocations, for compact assertions. */
function owners(s: AllocationSnapshot): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of allocate(s).allocations) out[a.agentId] = a.frameworkId;
  return out;
}

t.test('dominant share is the max over resource names of allocated/total', async (t) => {
  const totals = new Map([['cpus', 10], ['mem', 1000]]);
  t.equal(dominantShare(new Map([['cpus', 1], ['mem', 500]]), totals), 0.5);
  t.equal(dominantShare(new Map([['cpus', 3], ['mem', 100]]), totals), 0.3);
  t.equal(dominantShare(new Map(), totals), 0);
  t.equal(dominantShare(new Map([['gpus', 1]]), totals), 0, 'a resource the cluster lacks does not count');
});

t.test('two equal frameworks and two agents: one agent each', async (t) => {
  const s = snapshot({
    agents: [agent('a1', res(4, 4096)), agent('a2', res(4, 4096))],
    frameworks: [framework('fw-b'), framework('fw-a')],
  });
  const result = allocate(s);
  t.equal(result.allocations.length, 2);
  t.same(owners(s), { a1: 'fw-a', a2: 'fw-b' }, 'tie broken by framework id, then shares updated');
  for (const a of result.allocations) {
    t.equal(scalarOf(a.resources, 'cpus'), 4, 'the whole agent is offered');
    t.equal(a.role, '*');
    t.notOk(a.resources.some((r) => r.allocation_info !== undefined), 'the agent’s entries as they are: the role is the allocation’s (createOffer sets allocation_info)');
  }
});

t.test('DRF order: the framework with the higher dominant share waits', async (t) => {
  const cluster = [agent('a1', res(4, 4096)), agent('a2', res(4, 4096)), agent('a3', res(4, 4096))];
  // Totals: 12 cpus, 12288 mem. fw-a holds 25% of mem (dominant), fw-b 1/6 of cpus.
  const used = [agent('used', res(4, 4096), { available: [] })];
  const s2 = snapshot({
    agents: [...cluster.slice(0, 1), ...used],
    frameworks: [
      framework('fw-a', { allocated: res(0.5, 2048) }), // mem share 2048/8192 = 0.25
      framework('fw-b', { allocated: res(1, 128) }), // cpus share 1/8 = 0.125
    ],
  });
  t.same(owners(s2), { a1: 'fw-b' }, 'lower dominant share first (shares across cpus and mem)');

  const s3 = snapshot({
    agents: [...cluster, ...used],
    frameworks: [
      framework('fw-a', { allocated: res(0, 4096) }), // mem 4096/16384 = 0.25
      framework('fw-b', { allocated: res(2, 0) }), // cpus 2/16 = 0.125
      framework('fw-c', { allocated: res(3, 0) }), // cpus 3/16 = 0.1875
    ],
  });
  // a1 → fw-b (0.125 → 0.375), a2 → fw-c (0.1875 → 0.4375), a3 → fw-a (0.25 → 0.5)
  t.same(owners(s3), { a1: 'fw-b', a2: 'fw-c', a3: 'fw-a' }, 'three frameworks, shares updated after each agent');
});

t.test('a framework with the highest share gets nothing while lower ones are eligible', async (t) => {
  const s = snapshot({
    agents: [agent('a1', res(2, 2048)), agent('big', res(8, 8192), { available: [] })],
    frameworks: [framework('fw-a', { allocated: res(5, 100) }), framework('fw-b'), framework('fw-c')],
  });
  const result = allocate(s);
  t.equal(result.allocations.length, 1);
  t.equal(result.allocations[0]?.frameworkId, 'fw-b');
  t.notOk(result.allocations.some((a) => a.frameworkId === 'fw-a'));
});

t.test('filters: honoured until they expire at now >= expiresAt', async (t) => {
  const now = 50_000;
  const filter: OfferFilter = { frameworkId: 'fw-a', agentId: 'a1', resources: res(4, 4096), expiresAt: now + 5000 };
  const base = {
    agents: [agent('a1', res(4, 4096))],
    frameworks: [framework('fw-a'), framework('fw-b', { allocated: res(1, 1) })],
    filters: [filter],
  };
  const before = allocate(snapshot({ ...base, now }));
  t.same(before.allocations.map((a) => a.frameworkId), ['fw-b'], 'the filtered framework is skipped, the next one gets it');
  t.same(before.filters, [filter], 'the filter is kept while in force');
  t.equal(before.nextFilterExpiry, now + 5000);

  const justBefore = allocate(snapshot({ ...base, now: now + 4999 }));
  t.same(justBefore.allocations.map((a) => a.frameworkId), ['fw-b']);

  const at = allocate(snapshot({ ...base, now: now + 5000 }));
  t.same(at.allocations.map((a) => a.frameworkId), ['fw-a'], 'expired at now == expiresAt');
  t.same(at.filters, [], 'the expired filter is dropped');
  t.equal(at.nextFilterExpiry, undefined);
});

t.test('filters: only the (framework, agent) pair is filtered, and nextFilterExpiry is the earliest', async (t) => {
  const s = snapshot({
    agents: [agent('a1', res(1, 100)), agent('a2', res(1, 100))],
    frameworks: [framework('fw-a')],
    filters: [
      { frameworkId: 'fw-a', agentId: 'a1', resources: res(1, 100), expiresAt: 2_000_000 },
      { frameworkId: 'fw-other', agentId: 'a2', resources: res(1, 100), expiresAt: 1_500_000 },
    ],
  });
  const result = allocate(s);
  t.same(result.allocations.map((a) => `${a.frameworkId}@${a.agentId}`), ['fw-a@a2']);
  t.equal(result.nextFilterExpiry, 1_500_000);
  t.equal(result.filters.length, 2);
});

t.test('a filter with fewer resources than offered does not block', async (t) => {
  const s = snapshot({
    agents: [agent('a1', res(4, 4096))],
    frameworks: [framework('fw-a')],
    // Refused 2 cpus; 2 more were freed since: the offer is no longer a subset.
    filters: [{ frameworkId: 'fw-a', agentId: 'a1', resources: res(2, 4096), expiresAt: 2_000_000 }],
  });
  t.same(owners(s), { a1: 'fw-a' });
  const covering = snapshot({ ...s, filters: [{ frameworkId: 'fw-a', agentId: 'a1', resources: res(8, 8192), expiresAt: 2_000_000 }] });
  t.same(owners(covering), {}, 'a filter with more than offered blocks');
  const allocatedFilter = snapshot({
    ...s,
    filters: [{ frameworkId: 'fw-a', agentId: 'a1', resources: res(4, 4096).map((r) => ({ ...r, allocation_info: { role: '*' } })), expiresAt: 2_000_000 }],
  });
  t.same(owners(allocatedFilter), {}, 'filters built from offers (with allocation_info) still match');
});

t.test('suppressed roles get nothing; reviving (empty suppressed set) gets offers again', async (t) => {
  const agents = [agent('a1', res(2, 1024))];
  const suppressed = snapshot({ agents, frameworks: [framework('fw-a', { suppressedRoles: new Set(['*']) })] });
  t.same(allocate(suppressed).allocations, []);
  const withOther = snapshot({ agents, frameworks: [framework('fw-a', { suppressedRoles: new Set(['*']) }), framework('fw-z', { allocated: res(1, 1) })] });
  t.same(owners(withOther), { a1: 'fw-z' }, 'the next framework gets what the suppressed one would have');
  const revived = snapshot({ agents, frameworks: [framework('fw-a', { suppressedRoles: new Set() })] });
  t.same(owners(revived), { a1: 'fw-a' });
});

t.test('multi-role framework: offers per role, suppression per role', async (t) => {
  const agents = [agent('a1', [...res(2, 1024), ...res(1, 512, 'db')])];
  const multi = framework('fw-m', { roles: ['web', 'db'] });
  const result = allocate(snapshot({ agents, frameworks: [multi] }));
  t.same(result.allocations.map((a) => a.role), ['web', 'db'], 'unreserved to the first role, the db reservation to db');
  t.equal(scalarOf(result.allocations[0]!.resources, 'cpus'), 2);
  t.equal(scalarOf(result.allocations[1]!.resources, 'cpus'), 1);
  t.notOk(result.allocations[1]!.resources.some((r) => r.allocation_info !== undefined), 'no allocation_info on the entries');

  const webSuppressed = allocate(snapshot({ agents, frameworks: [{ ...multi, suppressedRoles: new Set(['web']) }] }));
  t.same(webSuppressed.allocations.map((a) => a.role), ['db']);
  t.equal(scalarOf(webSuppressed.allocations[0]!.resources, 'cpus'), 3, 'db gets its reservation and the unreserved pool');
});

t.test('reserved resources are only offered to their role', async (t) => {
  const agents = [agent('a1', [...res(2, 1024), ...res(4, 4096, 'analytics')])];
  const s = snapshot({
    agents,
    frameworks: [framework('fw-web', { roles: ['web'] }), framework('fw-x', { roles: ['analytics'], allocated: res(1, 1) })],
  });
  const result = allocate(s);
  t.equal(result.allocations.length, 2);
  const [web, analytics] = result.allocations;
  t.equal(web?.frameworkId, 'fw-web');
  t.equal(scalarOf(web!.resources, 'cpus'), 2, 'only the unreserved part to another role');
  t.notOk(web!.resources.some((r) => r.reservations !== undefined), 'no reservation of another role');
  t.equal(analytics?.frameworkId, 'fw-x');
  t.equal(scalarOf(analytics!.resources, 'cpus'), 4, 'the reservation goes to its role');

  const onlyOthers = snapshot({ agents: [agent('a1', res(4, 4096, 'analytics'))], frameworks: [framework('fw-web', { roles: ['web'] })] });
  t.same(allocate(onlyOthers).allocations, [], 'an agent with only other roles’ reservations offers nothing');
  t.same(offerableTo(res(1, 1, 'analytics'), 'web'), []);
});

t.test('inactive agents and frameworks, and agents with nothing available, are skipped', async (t) => {
  const s = snapshot({
    agents: [
      agent('a1', res(2, 1024), { active: false }),
      agent('a2', res(2, 1024), { available: [] }),
      agent('a3', res(2, 1024), { available: [scalar('cpus', 0)] }),
      agent('a4', res(2, 1024)),
    ],
    frameworks: [framework('fw-a', { active: false }), framework('fw-b', { allocated: res(1, 1) })],
  });
  t.same(owners(s), { a4: 'fw-b' });
  t.same(allocate(snapshot({ ...s, frameworks: [framework('fw-a', { active: false })] })).allocations, [], 'no active framework, no offers');
});

t.test('ports and other non-scalar resources are offered along', async (t) => {
  const s = snapshot({ agents: [agent('a1', [...res(1, 128), ports(31000, 32000)])], frameworks: [framework('fw-a')] });
  const [a] = allocate(s).allocations;
  t.same(a?.resources.find((r) => r.name === 'ports')?.ranges?.range, [{ begin: 31000, end: 32000 }]);
});

t.test('determinism: same input, same output, whatever the input order', async (t) => {
  const s = snapshot({
    agents: [agent('a2', res(2, 100)), agent('a1', res(2, 100)), agent('a3', res(1, 100))],
    frameworks: [framework('fw-b'), framework('fw-a'), framework('fw-c')],
  });
  const first = allocate(s);
  t.same(allocate(s), first);
  const reversed = snapshot({ ...s, agents: [...s.agents].reverse(), frameworks: [...s.frameworks].reverse() });
  t.same(allocate(reversed), first);
  t.same(first.allocations.map((a) => `${a.frameworkId}@${a.agentId}`), ['fw-a@a1', 'fw-b@a2', 'fw-c@a3']);
});

t.test('the snapshot is not mutated', async (t) => {
  const s = snapshot({
    agents: [agent('a1', res(2, 100))],
    frameworks: [framework('fw-a')],
    filters: [{ frameworkId: 'x', agentId: 'a1', resources: res(1, 1), expiresAt: 1 }],
  });
  const copy = structuredClone(s);
  allocate(s);
  t.same(s, copy);
});

/** mulberry32, seeded (slave/sim/prng.ts), so every case is reproducible from its seed. */
const prng = seededRandom;

/** A random snapshot (reproducible from `seed`): agents with reservations, multi-role frameworks, filters. */
function randomSnapshot(seed: number): { s: AllocationSnapshot; agents: AllocatorAgent[]; frameworks: AllocatorFramework[]; filters: OfferFilter[] } {
  const roles = ['*', 'web', 'db', 'batch'];
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const agents: AllocatorAgent[] = [];
  const nAgents = 1 + Math.floor(rnd() * 6);
  for (let i = 0; i < nAgents; i++) {
    const total: Resource[] = [...res(1 + Math.floor(rnd() * 8), 256 * (1 + Math.floor(rnd() * 16))), ports(31000, 31000 + Math.floor(rnd() * 100))];
    if (rnd() < 0.5) total.push(...res(1 + Math.floor(rnd() * 4), 512, pick(roles.slice(1))));
    const available = rnd() < 0.3 ? subtractResources(total, [scalar('cpus', Math.floor(rnd() * 3))]) : total;
    agents.push({ id: `a${i}`, total, available, active: rnd() < 0.85 });
  }
  const frameworks: AllocatorFramework[] = [];
  const nFrameworks = 1 + Math.floor(rnd() * 5);
  for (let i = 0; i < nFrameworks; i++) {
    const fwRoles = [...new Set([pick(roles), pick(roles)])];
    frameworks.push({
      id: `fw${i}`,
      roles: fwRoles,
      suppressedRoles: new Set(rnd() < 0.2 ? [fwRoles[0]!] : []),
      allocated: res(Math.floor(rnd() * 4), Math.floor(rnd() * 2048)),
      active: rnd() < 0.9,
    });
  }
  const filters: OfferFilter[] = [];
  for (let i = 0; i < Math.floor(rnd() * 4); i++) {
    filters.push({ frameworkId: pick(frameworks).id, agentId: pick(agents).id, resources: [...pick(agents).total], expiresAt: 1_000_000 + Math.floor((rnd() - 0.5) * 10_000) });
  }
  return { s: snapshot({ agents, frameworks, filters }), agents, frameworks, filters };
}

t.test('property: nothing is offered twice and every offer fits the agent', async (t) => {
  let checkedAllocations = 0;
  for (let seed = 1; seed <= 200; seed++) {
    const { s, agents, frameworks, filters } = randomSnapshot(seed);
    const result = allocate(s);

    const seen = new Set<string>();
    const perAgent = new Map<string, Resource[]>();
    for (const a of result.allocations) {
      const key = `${a.frameworkId}/${a.agentId}/${a.role}`;
      if (seen.has(key)) t.fail(`seed ${seed}: ${key} allocated twice`);
      seen.add(key);
      const fw = frameworks.find((f) => f.id === a.frameworkId)!;
      const ag = agents.find((x) => x.id === a.agentId)!;
      if (!fw.active || !ag.active || fw.suppressedRoles.has(a.role) || !fw.roles.includes(a.role)) {
        t.fail(`seed ${seed}: ineligible allocation ${key}`);
      }
      if (a.resources.some((r) => r.allocation_info !== undefined)) t.fail(`seed ${seed}: allocation_info on an allocation's resources`);
      if (offerableTo(unallocateResources(a.resources), a.role).length !== unallocateResources(a.resources).length) {
        t.fail(`seed ${seed}: another role's reservation offered to ${a.role}`);
      }
      perAgent.set(a.agentId, addResources(perAgent.get(a.agentId) ?? [], unallocateResources(a.resources)));
      checkedAllocations++;
    }
    for (const [agentId, sum] of perAgent) {
      const ag = agents.find((x) => x.id === agentId)!;
      if (!containsResources(ag.available, sum)) t.fail(`seed ${seed}: agent ${agentId} over-allocated`);
    }
    t.same(result.filters, filters.filter((f) => f.expiresAt > s.now), `seed ${seed}: exactly the live filters remain`);
  }
  t.ok(checkedAllocations > 100, `the generator produced allocations to check (${checkedAllocations})`);
});

/**
 * The allocator as first written: every framework sorted again for each agent, offers
 * computed with the generic arithmetic. The fast allocator must decide exactly the same.
 */
function referenceAllocate(snap: AllocationSnapshot): Array<{ frameworkId: string; agentId: string; role: string; resources: Resource[] }> {
  const totals = scalarTotalsOf(snap.agents.flatMap((a) => a.total));
  const candidates = snap.frameworks.filter((f) => f.active).map((framework) => {
    const allocated = scalarTotalsOf(framework.allocated);
    return { framework, allocated, share: dominantShare(allocated, totals) };
  });
  const live = snap.filters.filter((f) => f.expiresAt > snap.now);
  const out: Array<{ frameworkId: string; agentId: string; role: string; resources: Resource[] }> = [];
  const agents = snap.agents.filter((a) => a.active).sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  for (const agent of agents) {
    let remaining = addResources([], unallocateResources(agent.available));
    candidates.sort((x, y) => x.share - y.share || (x.framework.id < y.framework.id ? -1 : x.framework.id > y.framework.id ? 1 : 0));
    for (const c of candidates) {
      for (const role of c.framework.roles) {
        if (c.framework.suppressedRoles.has(role)) continue;
        const offerable = offerableTo(remaining, role);
        if (offerable.length === 0) continue;
        if (live.some((f) => f.frameworkId === c.framework.id && f.agentId === agent.id && containsResources(unallocateResources(f.resources), offerable))) continue;
        out.push({ frameworkId: c.framework.id, agentId: agent.id, role, resources: offerable });
        remaining = subtractResources(remaining, offerable);
        for (const [name, v] of scalarTotalsOf(offerable)) c.allocated.set(name, (c.allocated.get(name) ?? 0) + v);
        c.share = dominantShare(c.allocated, totals);
      }
      if (remaining.length === 0) break;
    }
  }
  return out;
}

function scalarTotalsOf(rs: readonly Resource[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of rs) if (r.type === 'SCALAR') m.set(r.name, (m.get(r.name) ?? 0) + (r.scalar?.value ?? 0));
  return m;
}

t.test('property: the same decisions as the straightforward allocator (sort every framework for every agent)', async (t) => {
  let compared = 0;
  for (let seed = 1; seed <= 300; seed++) {
    const { s } = randomSnapshot(seed);
    const fast = allocate(s).allocations.map((a) => ({ ...a, resources: unallocateResources(a.resources) }));
    const reference = referenceAllocate(s);
    if (JSON.stringify(fast) !== JSON.stringify(reference)) t.same(fast, reference, `seed ${seed}`);
    compared += fast.length;
  }
  // Many frameworks with close shares over many agents: the order kept between agents matters most here.
  const many = snapshot({
    agents: Array.from({ length: 60 }, (_, i) => agent(`a${String(i).padStart(2, '0')}`, res(1 + (i % 3), 512 * (1 + (i % 4))))),
    frameworks: Array.from({ length: 12 }, (_, i) => framework(`fw${i}`, { allocated: res((i % 4) * 0.5, (i % 5) * 300) })),
  });
  t.same(allocate(many).allocations.map((a) => ({ ...a, resources: unallocateResources(a.resources) })), referenceAllocate(many), '60 agents, 12 frameworks');
  t.ok(compared > 100, `compared ${compared} allocations`);
});
