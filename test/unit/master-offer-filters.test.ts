/**
 * The master's filter index (master/offer-filters.ts): filters by agent and by expiry, and
 * the agents whose filters went away, checked against a plain list over seeded random
 * operations, plus the cases one by one.
 */
import t from 'tap';
import type { OfferFilter } from '../../master/allocator/types.js';
import { OfferFilters } from '../../master/offer-filters.js';
import { seededRandom } from '../../slave/sim/prng.js';

const cpus = [{ name: 'cpus', type: 'SCALAR' as const, scalar: { value: 1 } }];

function filter(frameworkId: string, agentId: string, expiresAt: number): OfferFilter {
  return { frameworkId, agentId, resources: cpus, expiresAt };
}

t.test('expiry pops the earliest filters and releases their agents', async (t) => {
  const filters = new OfferFilters();
  const late = filter('f1', 'a1', 300);
  const early = filter('f1', 'a2', 100);
  const middle = filter('f2', 'a1', 200);
  for (const f of [late, early, middle]) filters.add(f);
  t.equal(filters.size, 3);
  t.equal(filters.nextExpiry(), 100);
  t.same(filters.of('a1'), [late, middle]);
  t.same([...filters.takeReleased()], [], 'nothing released yet');

  filters.expire(99);
  t.equal(filters.size, 3, 'nothing due before 100');
  filters.expire(200);
  t.equal(filters.size, 1, 'expiresAt <= now goes');
  t.same(filters.of('a1'), [late]);
  t.equal(filters.of('a2'), undefined, 'an agent without filters has no entry');
  t.same([...filters.takeReleased()].sort(), ['a1', 'a2']);
  t.same([...filters.takeReleased()], [], 'taken once');
  t.equal(filters.nextExpiry(), 300);
  filters.expire(300);
  t.equal(filters.nextExpiry(), undefined);
  t.same(filters.all(), []);
});

t.test('clearing a framework or an agent releases the agents it touched', async (t) => {
  const filters = new OfferFilters();
  filters.add(filter('f1', 'a1', 100));
  filters.add(filter('f2', 'a1', 150));
  filters.add(filter('f1', 'a2', 200));
  filters.add(filter('f2', 'a3', 50));
  filters.clearFramework('f1');
  t.same(filters.all().map((f) => `${f.frameworkId}@${f.agentId}`).sort(), ['f2@a1', 'f2@a3']);
  t.same([...filters.takeReleased()].sort(), ['a1', 'a2']);
  t.equal(filters.nextExpiry(), 50);
  filters.clearAgent('a3');
  t.equal(filters.nextExpiry(), 150, 'a cleared filter no longer counts for the next expiry');
  t.same([...filters.takeReleased()], ['a3']);
  filters.clearAgent('nobody');
  filters.clearFramework('nobody');
  t.same([...filters.takeReleased()], [], 'clearing what has no filter releases nothing');
  t.equal(filters.size, 1);
});

t.test('seeded random operations: the index agrees with a plain list', async (t) => {
  const random = seededRandom(20261127); // seeded: a failure reproduces
  const filters = new OfferFilters();
  let model: OfferFilter[] = [];
  let now = 0;
  let released = new Set<string>();
  let mismatches = 0;
  const agents = ['a0', 'a1', 'a2', 'a3', 'a4', 'a5'];
  const frameworks = ['f0', 'f1', 'f2'];
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  for (let step = 0; step < 3_000; step++) {
    const roll = random();
    if (roll < 0.5) {
      const f = filter(pick(frameworks), pick(agents), now + Math.floor(random() * 500));
      filters.add(f);
      model.push(f);
    } else if (roll < 0.8) {
      now += Math.floor(random() * 120);
      filters.expire(now);
      for (const f of model) if (f.expiresAt <= now) released.add(f.agentId);
      model = model.filter((f) => f.expiresAt > now);
    } else if (roll < 0.9) {
      const fw = pick(frameworks);
      filters.clearFramework(fw);
      for (const f of model) if (f.frameworkId === fw) released.add(f.agentId);
      model = model.filter((f) => f.frameworkId !== fw);
    } else if (roll < 0.95) {
      const agent = pick(agents);
      filters.clearAgent(agent);
      if (model.some((f) => f.agentId === agent)) released.add(agent);
      model = model.filter((f) => f.agentId !== agent);
    } else {
      const taken = [...filters.takeReleased()].sort();
      if (JSON.stringify(taken) !== JSON.stringify([...released].sort())) mismatches++;
      released = new Set();
    }
    const expectedNext = model.length === 0 ? undefined : Math.min(...model.map((f) => f.expiresAt));
    const sameAgents = agents.every((a) => {
      const listed = filters.of(a) ?? [];
      const modelled = model.filter((f) => f.agentId === a);
      return listed.length === modelled.length && listed.every((f) => modelled.includes(f));
    });
    if (filters.size !== model.length || filters.nextExpiry() !== expectedNext || !sameAgents) mismatches++;
  }
  t.equal(mismatches, 0, '3,000 operations: same filters by agent, same next expiry, same released agents');
});
