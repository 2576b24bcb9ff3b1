/**
 * Rolling restarts (TaskReplaceActor as a stateless tick): bounds, single ticks, and a
 * seeded property test that simulates whole restarts with instances becoming healthy and
 * old ones dying in random order.
 */
import t from 'tap';
import { nextUpgradeMoves, upgradeBounds } from '../../frameworks/marathon/plan/index.js';
import type { AppDefinition, Instance } from '../../frameworks/marathon/model/types.js';
import { app, instance, prng } from './marathon-plan-fixtures.js';

const V1 = '2026-01-01T00:00:00.000Z';
const V2 = '2026-01-02T00:00:00.000Z';
const healthy = (i: Instance): boolean => i.healthy === true;

function target(instances: number, minimumHealthCapacity: number, maximumOverCapacity: number): AppDefinition {
  return app('/a', { instances, version: V2, upgradeStrategy: { minimumHealthCapacity, maximumOverCapacity } });
}
const olds = (n: number, extra: Partial<Instance> = {}): Instance[] =>
  Array.from({ length: n }, () => instance('/a', { runSpecVersion: V1, healthy: true, ...extra }));

t.test('upgradeBounds: Marathon arithmetic and the +1 over-capacity rule', async (t) => {
  t.same(upgradeBounds(target(4, 0.5, 0)), { minHealthy: 2, maxTotal: 4, maxCapacity: 4 });
  t.same(upgradeBounds(target(3, 1, 0)), { minHealthy: 3, maxTotal: 3, maxCapacity: 4 });
  t.same(upgradeBounds(target(3, 1, 1)), { minHealthy: 3, maxTotal: 6, maxCapacity: 6 });
  t.same(upgradeBounds(target(5, 0.5, 0.5)), { minHealthy: 3, maxTotal: 7, maxCapacity: 7 });
  t.same(upgradeBounds(target(45, 0, 0.4)), { minHealthy: 0, maxTotal: 62, maxCapacity: 62 }, '45 × 1.4 is 62.999… in doubles, in Marathon too');
  t.same(upgradeBounds(target(0, 1, 0)), { minHealthy: 0, maxTotal: 0, maxCapacity: 0 });
});

t.test('start with minHC 0.5 / maxOC 0: kill down to minHealthy, no room to launch yet', async (t) => {
  const old = olds(4);
  old[2]!.healthy = false;
  const m = nextUpgradeMoves({ target: target(4, 0.5, 0), oldInstances: old, newInstances: [], healthyOrReady: healthy });
  // 3 healthy − minHealthy 2 = 1 kill budget; the unhealthy one goes first.
  t.same(m.kill.map((i) => i.instanceId), [old[2]!.instanceId]);
  t.equal(m.launch, 0);
  t.equal(m.done, false);
});

t.test('minHC 1 / maxOC 0: one extra instance is allowed so the restart can start', async (t) => {
  const old = olds(3);
  const m = nextUpgradeMoves({ target: target(3, 1, 0), oldInstances: old, newInstances: [], healthyOrReady: healthy });
  t.equal(m.kill.length, 0);
  t.equal(m.launch, 1);
});

t.test('a new healthy instance allows one more kill; killed-but-alive old ones hold capacity', async (t) => {
  const old = olds(3);
  const fresh = [instance('/a', { runSpecVersion: V2, healthy: true })];
  const m = nextUpgradeMoves({ target: target(3, 1, 0), oldInstances: old, newInstances: fresh, healthyOrReady: healthy });
  t.equal(m.kill.length, 1);
  t.equal(m.launch, 0, '3 old alive + 1 new = maxCapacity 4');
  const dying = old.map((i, n) => (n === 0 ? { ...i, goal: 'Decommissioned' as const } : i));
  const again = nextUpgradeMoves({ target: target(3, 1, 0), oldInstances: dying, newInstances: fresh, healthyOrReady: healthy });
  t.same([again.kill.length, again.launch], [0, 0], 'idempotent until the killed one is gone');
  const gone = dying.slice(1);
  const next = nextUpgradeMoves({ target: target(3, 1, 0), oldInstances: gone, newInstances: fresh, healthyOrReady: healthy });
  t.same([next.kill.length, next.launch], [0, 1]);
});

t.test('more instances than the target: the extras are killed at once', async (t) => {
  const m = nextUpgradeMoves({ target: target(3, 1, 0), oldInstances: olds(5), newInstances: [], healthyOrReady: healthy });
  t.equal(m.kill.length, 2);
});

t.test('old instance that died with goal Running is decommissioned without using the budget', async (t) => {
  const old = [...olds(2), ...olds(1, { condition: 'Failed', healthy: false })];
  const m = nextUpgradeMoves({ target: target(3, 1, 0), oldInstances: old, newInstances: [], healthyOrReady: healthy });
  t.same(m.kill.map((i) => i.condition), ['Failed']);
  t.equal(m.launch, 2, 'maxCapacity 4 − 2 old alive');
});

t.test('pending launches count as started', async (t) => {
  const m = nextUpgradeMoves({ target: target(3, 1, 0), oldInstances: olds(3), newInstances: [], healthyOrReady: healthy, pendingLaunches: 1 });
  t.equal(m.launch, 0);
});

t.test('done when all new are healthy and no old is alive', async (t) => {
  const fresh = Array.from({ length: 2 }, () => instance('/a', { runSpecVersion: V2, healthy: true }));
  t.same(nextUpgradeMoves({ target: target(2, 1, 0), oldInstances: [], newInstances: fresh, healthyOrReady: healthy }),
    { launch: 0, kill: [], done: true });
  const notYet = nextUpgradeMoves({ target: target(2, 1, 0), oldInstances: olds(1, { goal: 'Decommissioned' }), newInstances: fresh, healthyOrReady: healthy });
  t.equal(notYet.done, false);
});

t.test('instances 0: kill every old instance, launch nothing', async (t) => {
  const old = olds(3);
  const m = nextUpgradeMoves({ target: target(0, 1, 0), oldInstances: old, newInstances: [], healthyOrReady: healthy });
  t.equal(m.kill.length, 3);
  t.equal(m.launch, 0);
  t.equal(m.done, false);
  t.equal(nextUpgradeMoves({ target: target(0, 1, 0), oldInstances: [], newInstances: [], healthyOrReady: healthy }).done, true);
});

t.test('property: random restarts keep min(minHealthy, old count) healthy, stay within capacity, and finish', async (t) => {
  const rand = prng(20260101);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  let runs = 0;
  let violations = 0;
  for (let run = 0; run < 300; run++) {
    const n = 1 + Math.floor(rand() * 10);
    const minHC = pick([0, 0.25, 0.5, 0.75, 0.9, 1, Math.round(rand() * 100) / 100]);
    const maxOC = pick([0, 0.1, 0.5, 1, Math.round(rand() * 100) / 100]);
    const spec = target(n, minHC, maxOC);
    const { minHealthy, maxTotal } = upgradeBounds(spec);
    const cap = Math.max(maxTotal, minHealthy === maxTotal ? n + 1 : maxTotal);
    // Usually as many old instances as the target; sometimes a scale change rides along.
    const m0 = rand() < 0.7 ? n : 1 + Math.floor(rand() * 12);
    const floor = Math.min(minHealthy, m0);
    const ceiling = Math.max(cap, m0);
    let old = olds(m0);
    let fresh: Instance[] = [];
    const bound = 20 * (n + 5);
    let tick = 0;
    let done = false;
    for (; tick < bound && !done; tick++) {
      const m = nextUpgradeMoves({ target: spec, oldInstances: old, newInstances: fresh, healthyOrReady: healthy });
      done = m.done;
      const killed = new Set(m.kill.map((i) => i.instanceId));
      old = old.map((i) => (killed.has(i.instanceId) ? { ...i, goal: 'Decommissioned' as const } : i));
      for (let k = 0; k < m.launch; k++) fresh.push(instance('/a', { runSpecVersion: V2, condition: 'Staging', healthy: false }));
      const healthyRunning = [...old, ...fresh].filter((i) => i.goal === 'Running' && i.healthy).length;
      const alive = old.length + fresh.length;
      if (healthyRunning < floor || alive > ceiling) {
        violations++;
        t.fail(`run ${run} tick ${tick}: n=${n} old=${m0} minHC=${minHC} maxOC=${maxOC} healthy=${healthyRunning} alive=${alive} cap=${ceiling}`);
      }
      // Random progress: dying old instances go away, new ones become healthy.
      old = old.filter((i) => i.goal === 'Running' || rand() < 0.5);
      fresh = fresh.map((i) => (!i.healthy && rand() < 0.4 ? { ...i, condition: 'Running' as const, healthy: true } : i));
    }
    if (!done) t.fail(`run ${run}: n=${n} minHC=${minHC} maxOC=${maxOC} did not finish in ${bound} ticks`);
    t.equal(old.length, 0);
    t.equal(fresh.filter((i) => i.healthy).length, n);
    runs++;
  }
  t.equal(runs, 300);
  t.equal(violations, 0);
});
