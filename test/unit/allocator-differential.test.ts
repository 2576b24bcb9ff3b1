/**
 * The allocator against the one it replaced (issue 6, round 3): the same offers to the same
 * frameworks in the same order on random snapshots, including reservations, several roles,
 * suppressed roles, filters (some with allocation_info), inactive agents and frameworks,
 * lists that are not flattened, many frameworks with tied shares, and a few garbage scalars
 * (NaN, Infinity) that make a share go down. Also the DRF order structure against a plain
 * array moved element by element.
 */
import t, { type Test } from 'tap';
import { allocate, clusterTotalsOf } from '../../master/allocator/allocate.js';
import { byShareThenId, DrfOrder } from '../../master/allocator/drf-order.js';
import { dominantShare, scalarTotals } from '../../master/allocator/drf.js';
import type {
  AllocationResult, Allocation, AllocationSnapshot, AllocatorAgent, AllocatorFramework, OfferFilter,
} from '../../master/allocator/types.js';
import type { Resource } from '../../sdk/protocol/index.js';
import {
  allocateResources, containsResources, flattenResources, fromMilli, isEmptyResources, isFlattened, reservationRole,
  subtractResources, toMilli, unallocateResources,
} from '../../sdk/resources/index.js';
import { seededRandom } from '../../slave/sim/prng.js';

// ---------------------------------------------------------------------------------------
// The previous allocator (master/allocator/allocate.ts at d571685), verbatim but for names.

interface PrevCandidate {
  framework: AllocatorFramework;
  allocated: Map<string, number>;
  share: number;
}

function previousAllocate(s: AllocationSnapshot): AllocationResult {
  const filters = s.filters.filter((f) => f.expiresAt > s.now);
  const filtersByPair = new Map<string, OfferFilter[]>();
  for (const f of filters) {
    const key = pairKey(f.frameworkId, f.agentId);
    const list = filtersByPair.get(key);
    if (list === undefined) filtersByPair.set(key, [f]);
    else list.push(f);
  }
  const totals = prevClusterScalarTotals(s.agents);
  const candidates: PrevCandidate[] = s.frameworks
    .filter((f) => f.active)
    .map((framework) => {
      const allocated = scalarTotals(framework.allocated);
      return { framework, allocated, share: dominantShare(allocated, totals) };
    });
  const agents = s.agents
    .filter((a) => a.active && !isEmptyResources(a.available))
    .sort((x, y) => compareIds(x.id, y.id));
  candidates.sort(prevByShareThenId);
  const allocations: Allocation[] = [];
  for (const agent of agents) {
    let remaining: readonly Resource[] = isFlattened(agent.available)
      ? agent.available
      : flattenResources(agent.available.some((r) => r.allocation_info !== undefined) ? unallocateResources(agent.available) : agent.available);
    const served: PrevCandidate[] = [];
    for (const candidate of candidates) {
      const fw = candidate.framework;
      for (const role of fw.roles) {
        if (fw.suppressedRoles.has(role)) continue;
        const offerable = remaining.filter((r) => {
          const reserved = reservationRole(r);
          return reserved === '*' || reserved === role;
        });
        if (offerable.length === 0) continue;
        const pairFilters = filtersByPair.get(pairKey(fw.id, agent.id));
        if (pairFilters !== undefined && pairFilters.some((f) => containsResources(unallocateResources(f.resources), offerable))) continue;
        prevAddScalarsInto(candidate.allocated, offerable);
        if (offerable.length === remaining.length) {
          const allocationInfo = { role };
          allocations.push({ frameworkId: fw.id, agentId: agent.id, role, resources: offerable.map((r) => Object.assign(Object.assign({}, r), { allocation_info: allocationInfo })) });
          remaining = [];
        } else {
          allocations.push({ frameworkId: fw.id, agentId: agent.id, role, resources: allocateResources(offerable, role) });
          remaining = subtractResources(remaining, offerable);
        }
        candidate.share = dominantShare(candidate.allocated, totals);
        if (served.at(-1) !== candidate) served.push(candidate);
      }
      if (remaining.length === 0) break;
    }
    for (let i = served.length - 1; i >= 0; i--) {
      const c = served[i]!;
      let at = candidates.indexOf(c);
      while (at + 1 < candidates.length && prevByShareThenId(candidates[at + 1]!, c) < 0) {
        candidates[at] = candidates[at + 1]!;
        at++;
      }
      candidates[at] = c;
    }
  }
  let nextFilterExpiry: number | undefined;
  for (const f of filters) if (nextFilterExpiry === undefined || f.expiresAt < nextFilterExpiry) nextFilterExpiry = f.expiresAt;
  const result: AllocationResult = { allocations, filters };
  if (nextFilterExpiry !== undefined) result.nextFilterExpiry = nextFilterExpiry;
  return result;
}

function prevAddScalarsInto(into: Map<string, number>, rs: readonly Resource[]): void {
  for (let i = 0; i < rs.length; i++) {
    const r = rs[i]!;
    if (r.type !== 'SCALAR' || rs.slice(0, i).some((o) => o.type === 'SCALAR' && o.name === r.name)) continue;
    let milli = 0;
    for (let j = i; j < rs.length; j++) {
      const o = rs[j]!;
      if (o.type === 'SCALAR' && o.name === r.name) milli += Math.max(0, toMilli(o.scalar?.value ?? 0));
    }
    into.set(r.name, (into.get(r.name) ?? 0) + fromMilli(milli));
  }
}

function prevClusterScalarTotals(agents: readonly AllocatorAgent[]): Map<string, number> {
  const milli = new Map<string, number>();
  for (const agent of agents) {
    for (const r of agent.total) {
      if (r.type === 'SCALAR') milli.set(r.name, (milli.get(r.name) ?? 0) + Math.max(0, toMilli(r.scalar?.value ?? 0)));
    }
  }
  const totals = new Map<string, number>();
  for (const [name, m] of milli) totals.set(name, fromMilli(m));
  return totals;
}

function prevByShareThenId(x: PrevCandidate, y: PrevCandidate): number {
  return x.share - y.share || compareIds(x.framework.id, y.framework.id);
}

function compareIds(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

function pairKey(frameworkId: string, agentId: string): string {
  return `${frameworkId}\u0000${agentId}`;
}

// ---------------------------------------------------------------------------------------
// Random snapshots.

/** mulberry32, seeded (slave/sim/prng.ts), so every case is reproducible from its seed. */
const prng = seededRandom;

interface Shape {
  maxAgents: number;
  maxFrameworks: number;
  /** Probability of a garbage scalar (NaN or Infinity) in an agent's lists. */
  garbage: number;
}

function randomSnapshot(seed: number, shape: Shape): AllocationSnapshot {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const roles = ['*', 'web', 'db', 'batch', 'ml'];
  const scalar = (name: string, value: number, reservedTo?: string): Resource => {
    const r: Resource = { name, type: 'SCALAR', scalar: { value } };
    if (reservedTo !== undefined) {
      if (rnd() < 0.5) r.reservations = [{ type: 'STATIC', role: reservedTo }];
      else r.role = reservedTo; // the pre-refinement form
    }
    return r;
  };
  const ports = (begin: number, end: number): Resource => ({ name: 'ports', type: 'RANGES', ranges: { range: [{ begin, end }] } });
  // Few distinct sizes, so that shares tie often.
  const cpus = () => pick([0.5, 1, 2, 4, 8]);
  const mem = () => pick([256, 512, 1024, 4096]);

  const agents: AllocatorAgent[] = [];
  const nAgents = 1 + Math.floor(rnd() * shape.maxAgents);
  for (let i = 0; i < nAgents; i++) {
    const total: Resource[] = [scalar('cpus', cpus()), scalar('mem', mem())];
    if (rnd() < 0.5) total.push(scalar('disk', 1000 * (1 + Math.floor(rnd() * 4))));
    if (rnd() < 0.4) total.push(ports(31000, 31000 + Math.floor(rnd() * 100)));
    if (rnd() < 0.1) total.push(scalar('gpus', 1));
    if (rnd() < 0.35) total.push(scalar('cpus', cpus(), pick(roles.slice(1))), scalar('mem', mem(), pick(roles.slice(1))));
    if (rnd() < shape.garbage) total.push(scalar(pick(['cpus', 'mem', 'gpus']), pick([Number.NaN, Number.POSITIVE_INFINITY])));
    let available: Resource[] = total;
    const form = rnd();
    if (form < 0.2) available = subtractResources(total, [scalar('cpus', pick([0.5, 1, 2]))]);
    else if (form < 0.3) available = [];
    else if (form < 0.45) {
      // Not flattened: split entries, a zero entry, allocation_info, unsorted ranges.
      available = [...total, scalar('cpus', 0), scalar('mem', 0.5)];
      if (rnd() < 0.5) available = available.map((r) => ({ ...r, allocation_info: { role: '*' } }));
      if (rnd() < 0.5) available.push({ name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 40010, end: 40020 }, { begin: 40000, end: 40005 }] } });
    }
    // Ids in no order, sometimes sharing a prefix so that string order is not numeric order.
    // Garbage only in what is available (not in the total, where it would drop the name from
    // every share): a NaN offered makes that name's allocation NaN, and the share go down.
    if (rnd() < shape.garbage) available = [...available, scalar(pick(['cpus', 'mem']), pick([Number.NaN, Number.NaN, Number.POSITIVE_INFINITY]))];
    agents.push({ id: `a${Math.floor(rnd() * 1000)}-${i}`, total, available, active: rnd() < 0.9 });
  }

  const frameworks: AllocatorFramework[] = [];
  const nFrameworks = 1 + Math.floor(rnd() * shape.maxFrameworks);
  for (let i = 0; i < nFrameworks; i++) {
    const fwRoles = [...new Set([pick(roles), pick(roles), ...(rnd() < 0.3 ? [pick(roles)] : [])])];
    const suppressed = new Set<string>();
    for (const role of fwRoles) if (rnd() < 0.15) suppressed.add(role);
    const allocated: Resource[] = [];
    if (rnd() < 0.7) allocated.push(scalar('cpus', pick([0, 0.5, 1, 2])), scalar('mem', pick([0, 256, 512])));
    if (rnd() < 0.1) allocated.push(scalar('tpus', 1)); // a name the cluster lacks
    frameworks.push({ id: `fw${pick(['', '0', '1'])}${i}`, roles: fwRoles, suppressedRoles: suppressed, allocated, active: rnd() < 0.9 });
  }

  const filters: OfferFilter[] = [];
  const nFilters = Math.floor(rnd() * (nAgents / 2 + 2));
  for (let i = 0; i < nFilters; i++) {
    const ag = pick(agents);
    let resources: Resource[] = rnd() < 0.5 ? [...ag.total] : [scalar('cpus', cpus()), scalar('mem', mem())];
    if (rnd() < 0.3) resources = resources.map((r) => ({ ...r, allocation_info: { role: pick(roles) } }));
    filters.push({ frameworkId: pick(frameworks).id, agentId: ag.id, resources, expiresAt: 1_000_000 + Math.floor((rnd() - 0.5) * 10_000) });
  }
  return { agents, frameworks, filters, now: 1_000_000 };
}

/** The result as the master turns it into offers: resources without allocation_info (createOffer adds the role). */
function asOffers(r: AllocationResult): string {
  return JSON.stringify({
    allocations: r.allocations.map((a) => ({ ...a, resources: unallocateResources(a.resources) })),
    filters: r.filters,
    nextFilterExpiry: r.nextFilterExpiry,
  });
}

/**
 * The snapshot as the master builds it: the cluster totals kept apart, only the agents a pass
 * may offer (active, with a non-empty list) listed.
 */
function withKeptTotals(s: AllocationSnapshot): AllocationSnapshot {
  return { ...s, clusterTotals: clusterTotalsOf(s.agents), agents: s.agents.filter((a) => a.active && a.available.length > 0) };
}

function compareOn(t: Test, shape: Shape, seeds: number, firstSeed: number): void {
  let allocations = 0;
  let partial = 0;
  let keptTotalsMismatches = 0;
  let mismatches = 0;
  for (let seed = firstSeed; seed < firstSeed + seeds; seed++) {
    const s = randomSnapshot(seed, shape);
    const before = structuredClone(s);
    const fast = allocate(s);
    const previous = previousAllocate(s);
    if (asOffers(fast) !== asOffers(previous)) {
      mismatches++;
      if (mismatches <= 3) t.same(JSON.parse(asOffers(fast)), JSON.parse(asOffers(previous)), `seed ${seed}: same offers as before`);
    }
    t.same(s, before, `seed ${seed}: the snapshot is not mutated`);
    if (asOffers(allocate(withKeptTotals(s))) !== asOffers(fast)) {
      keptTotalsMismatches++;
      if (keptTotalsMismatches <= 3) t.same(JSON.parse(asOffers(allocate(withKeptTotals(s)))), JSON.parse(asOffers(fast)), `seed ${seed}: same offers with kept totals`);
    }
    allocations += fast.allocations.length;
    const agentsWithTwo = new Set<string>();
    for (const a of fast.allocations) {
      if (agentsWithTwo.has(a.agentId)) partial++;
      agentsWithTwo.add(a.agentId);
    }
  }
  t.equal(mismatches, 0, `${seeds} snapshots, ${allocations} allocations: none differs`);
  t.equal(keptTotalsMismatches, 0, 'the same offers from kept cluster totals and only the offerable agents');
  t.ok(allocations > seeds, `the generator produced allocations to compare (${allocations})`);
  t.ok(partial > 0, `some agents were split between roles or frameworks (${partial})`);
}

t.test('same offers as the previous allocator: small clusters', async (t) => {
  compareOn(t, { maxAgents: 8, maxFrameworks: 6, garbage: 0 }, 400, 1);
});

t.test('same offers as the previous allocator: many frameworks with tied shares', async (t) => {
  compareOn(t, { maxAgents: 120, maxFrameworks: 40, garbage: 0 }, 120, 10_001);
});

t.test('same offers as the previous allocator: garbage scalars (shares that go down)', async (t) => {
  compareOn(t, { maxAgents: 30, maxFrameworks: 12, garbage: 0.6 }, 1200, 20_001);
});

t.test('same offers as the previous allocator: the bench shape (every agent whole to the lowest share)', async (t) => {
  const scalar = (name: string, value: number): Resource => ({ name, type: 'SCALAR', scalar: { value } });
  const agents: AllocatorAgent[] = Array.from({ length: 500 }, (_, i) => {
    const resources = [scalar('cpus', 8), scalar('mem', 32_768), scalar('disk', 100_000)];
    return { id: `agent-${i}`, total: resources, available: resources, active: true };
  });
  const frameworks: AllocatorFramework[] = Array.from({ length: 37 }, (_, i) => ({
    id: `framework-${i}`,
    roles: ['*'],
    suppressedRoles: new Set<string>(),
    allocated: [scalar('cpus', (i % 5) * 0.1), scalar('mem', (i % 7) * 16)],
    active: true,
  }));
  const s: AllocationSnapshot = { agents, frameworks, filters: [], now: 0 };
  const fast = allocate(s);
  t.equal(fast.allocations.length, 500);
  t.equal(asOffers(fast), asOffers(previousAllocate(s)), 'the same 500 offers in the same order');
  t.equal(fast.allocations[0]!.resources.length, 3);
  t.not(fast.allocations[0]!.resources, agents[0]!.available, 'a fresh array (the entries are shared, read only)');
});

t.test('same offers as the previous allocator: more scalar names than the short scan holds', async (t) => {
  // Twelve custom scalars (ScalarVector looks names up in a map past eight), spread so that
  // a different one dominates for different frameworks.
  const names = Array.from({ length: 12 }, (_, i) => `res${i}`);
  const rnd = prng(77);
  const scalar = (name: string, value: number): Resource => ({ name, type: 'SCALAR', scalar: { value } });
  const agents: AllocatorAgent[] = Array.from({ length: 80 }, (_, i) => {
    const resources = names.filter(() => rnd() < 0.5).map((name) => scalar(name, 1 + Math.floor(rnd() * 8)));
    return { id: `agent-${i}`, total: resources, available: resources, active: true };
  });
  const frameworks: AllocatorFramework[] = Array.from({ length: 9 }, (_, i) => ({
    id: `fw-${i}`,
    roles: ['*'],
    suppressedRoles: new Set<string>(),
    allocated: [scalar(names[i]!, 1 + (i % 3)), scalar('not-in-cluster', 5)],
    active: true,
  }));
  const s: AllocationSnapshot = { agents, frameworks, filters: [], now: 0 };
  const fast = allocate(s);
  t.ok(fast.allocations.length > 60, `${fast.allocations.length} allocations`);
  t.equal(asOffers(fast), asOffers(previousAllocate(s)), 'the same offers in the same order');
  t.ok(new Set(fast.allocations.map((a) => a.frameworkId)).size > 5, 'spread over the frameworks by their shares');
});

// ---------------------------------------------------------------------------------------
// The ring-buffer order against a plain array moved element by element.

interface Item { share: number; id: string }

/** The previous reposition: walk later while the next item ranks below. */
function naiveMoveLater(list: Item[], k: number): void {
  const item = list[k]!;
  let at = k;
  while (at + 1 < list.length && byShareThenId(list[at + 1]!, item) < 0) {
    list[at] = list[at + 1]!;
    at++;
  }
  list[at] = item;
}

t.test('DrfOrder: the same order as moving element by element, whichever side it shifts', async (t) => {
  let moves = 0;
  let checked = 0;
  for (let seed = 1; seed <= 300; seed++) {
    const rnd = prng(seed);
    const n = 1 + Math.floor(rnd() * 30);
    const items: Item[] = Array.from({ length: n }, (_, i) => ({ share: Math.floor(rnd() * 5) / 4, id: `f${Math.floor(rnd() * n)}-${i}` }));
    const order = new DrfOrder(items);
    const naive = [...items].sort(byShareThenId);
    for (let step = 0; step < 60; step++) {
      // Serve a few positions in increasing order (as an agent does), grow their shares,
      // and move them last-first. Sometimes a share goes down, as a NaN scalar can make it.
      const served: number[] = [];
      let k = Math.floor(rnd() * Math.min(n, 3));
      while (k < n && served.length < 3) {
        served.push(k);
        k += 1 + Math.floor(rnd() * n);
      }
      for (const at of served) {
        const item = order.at(at);
        if (item !== naive[at]) t.fail(`seed ${seed}: orders diverged before step ${step}`);
        const before = item.share;
        item.share = rnd() < 0.03 ? Math.max(0, before - 0.5) : before + Math.floor(rnd() * 4) / 4;
        order.noteShareChange(before, item.share);
      }
      for (let i = served.length - 1; i >= 0; i--) {
        order.moveLater(served[i]!);
        naiveMoveLater(naive, served[i]!);
        moves++;
      }
      const got = Array.from({ length: order.length }, (_, i) => order.at(i));
      if (got.some((x, i) => x !== naive[i])) {
        t.same(got.map((x) => x.id), naive.map((x) => x.id), `seed ${seed} step ${step}`);
        return;
      }
      checked++;
    }
  }
  t.ok(moves > 10_000, `${moves} moves over ${checked} steps, the same order every time`);
});

t.test('DrfOrder: sorts by share then id without changing the given array', async (t) => {
  const items: Item[] = [{ share: 0.5, id: 'b' }, { share: 0.25, id: 'c' }, { share: 0.5, id: 'a' }];
  const copy = [...items];
  const order = new DrfOrder(items);
  t.same(Array.from({ length: order.length }, (_, i) => order.at(i).id), ['c', 'a', 'b']);
  t.same(items, copy);
  // The head served and past everyone: a rotation, then still in order.
  order.at(0).share = 1;
  order.noteShareChange(0.25, 1);
  order.moveLater(0);
  t.same(Array.from({ length: order.length }, (_, i) => order.at(i).id), ['a', 'b', 'c']);
  order.at(0).share = 0.75;
  order.noteShareChange(0.5, 0.75);
  order.moveLater(0);
  t.same(Array.from({ length: order.length }, (_, i) => order.at(i).id), ['b', 'a', 'c']);
});
