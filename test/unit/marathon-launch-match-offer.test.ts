/**
 * matchOffer: roles, fixed-point scalars, ports, constraints, scarce GPUs, every failing
 * reason; plus a seeded check that packing instances into offers never hands out a port twice.
 */
import t from 'tap';
import { matchOffer, matchPorts, NO_MATCH_REASONS } from '../../frameworks/marathon/launch/index.js';
import type { Instance, PortDefinition } from '../../frameworks/marathon/model/types.js';
import type { Resource } from '../../sdk/protocol/index.js';
import { allocateResources, containsResources, rangesOf, scalarOf } from '../../sdk/resources/index.js';
import { remainingResources } from '../../sdk/scheduler/index.js';
import { app, instance, offer, portsRes, prng, scalar } from './marathon-plan-fixtures.js';

const pd = (port: number): PortDefinition => ({ port, protocol: 'tcp', labels: {} });
const basic = [scalar('cpus', 4), scalar('mem', 1024), scalar('disk', 1000), portsRes([[31000, 31009]])];

t.test('fits: resources ready for TaskInfo, with the offer allocation role', async (t) => {
  const o = offer(allocateResources(basic, '*'), { allocation_info: { role: '*' } });
  const m = matchOffer(app('/a', { cpus: 0.5, mem: 64, disk: 10, portDefinitions: [pd(10000), pd(10001)] }), o, []);
  if (!m.ok) throw new Error(`no match: ${m.reasons.join()}`);
  t.equal(scalarOf(m.resources, 'cpus'), 0.5);
  t.equal(scalarOf(m.resources, 'mem'), 64);
  t.equal(scalarOf(m.resources, 'disk'), 10);
  t.same(m.hostPorts, [31000, 31001], 'lowest free ports without a random source');
  t.same(rangesOf(m.resources, 'ports'), [{ begin: 31000, end: 31001 }]);
  t.ok(m.resources.every((r) => r.allocation_info?.role === '*'));
  t.ok(containsResources(o.resources!, m.resources), 'taken from the offer');
  const bare = matchOffer(app('/a'), offer(basic, { allocation_info: { role: 'web' } }), []);
  t.ok(bare.ok && bare.resources.every((r) => r.allocation_info?.role === 'web'), 'offer-level allocation role filled in');
});

t.test('fixed-point scalars: 0.1 + 0.2 cpus fit in 0.3', async (t) => {
  const o = offer([scalar('cpus', 0.1), scalar('cpus', 0.2, 'web'), scalar('mem', 64)]);
  const m = matchOffer(app('/a', { cpus: 0.3, mem: 64, acceptedResourceRoles: ['*', 'web'] }), o, []);
  t.equal(m.ok, true);
  if (m.ok) {
    t.equal(scalarOf(m.resources, 'cpus'), 0.3);
    t.equal(m.resources[0]!.reservations?.[0]?.role, 'web', 'reserved resources are used first');
  }
});

t.test('every insufficient resource is reported, in funnel order', async (t) => {
  const m = matchOffer(app('/a', { cpus: 8, mem: 4096, disk: 5000, gpus: 1, portDefinitions: [pd(1), pd(2)], requirePorts: true }),
    offer(basic), []);
  t.same(m, { ok: false, reasons: ['InsufficientCpus', 'InsufficientMemory', 'InsufficientDisk', 'InsufficientGpus', 'InsufficientPorts'] });
});

t.test('roles: default only unreserved; accepted roles open reservations; app.role vs allocation role', async (t) => {
  const reserved = offer([scalar('cpus', 2, 'web'), scalar('mem', 512, 'web')], { allocation_info: { role: 'web' } });
  t.same(matchOffer(app('/a'), reserved, []), { ok: false, reasons: ['UnfulfilledRole', 'InsufficientCpus', 'InsufficientMemory'] });
  t.equal(matchOffer(app('/a', { acceptedResourceRoles: ['web'] }), reserved, []).ok, true);
  t.equal(matchOffer(app('/a'), reserved, [], { defaultAcceptedRoles: ['*', 'web'] }).ok, true);
  const mixed = offer([scalar('cpus', 2, 'web'), scalar('mem', 512), scalar('cpus', 1)]);
  const onlyStar = matchOffer(app('/a', { cpus: 2, mem: 64 }), mixed, []);
  t.same(onlyStar, { ok: false, reasons: ['InsufficientCpus'] }, 'the reserved cpus are not usable by *');
  const other = offer(basic, { allocation_info: { role: 'batch' } });
  t.same(matchOffer(app('/a', { role: 'web' }), other, []), {
    ok: false, reasons: ['UnfulfilledRole', 'InsufficientCpus', 'InsufficientMemory'],
  });
});

t.test('requirePorts: exactly the service ports', async (t) => {
  const a = app('/a', { portDefinitions: [pd(31005), pd(31002)], requirePorts: true });
  const m = matchOffer(a, offer(basic), []);
  t.equal(m.ok, true);
  if (m.ok) t.same(m.hostPorts, [31005, 31002], 'in portDefinition order');
  t.same(matchOffer(app('/b', { portDefinitions: [pd(80)], requirePorts: true }), offer(basic), []),
    { ok: false, reasons: ['InsufficientPorts'] });
  t.same(matchOffer(app('/c', { portDefinitions: [pd(31001), pd(31001)], requirePorts: true }), offer(basic), []),
    { ok: false, reasons: ['InsufficientPorts'] }, 'the same port twice is impossible');
});

t.test('container bridge networking asks for portMappings hostPorts', async (t) => {
  const a = app('/a', {
    networks: [{ mode: 'container/bridge' }],
    container: { type: 'DOCKER', portMappings: [{ containerPort: 80, hostPort: 0 }, { containerPort: 443, hostPort: 31007 }, { containerPort: 9000 }] },
  });
  const m = matchOffer(a, offer(basic), []);
  t.equal(m.ok, true);
  if (m.ok) t.same(m.hostPorts, [31000, 31007, 31001]);
});

t.test('constraints use the offer hostname and attributes against placed instances', async (t) => {
  const placed: Instance[] = [instance('/a', { host: 'host-a', agentAttributes: { rack: 'r1' } })];
  const withAttrs = offer(basic, { attributes: [{ name: 'rack', type: 'TEXT', text: { value: 'r1' } }] });
  t.same(matchOffer(app('/a', { constraints: [['hostname', 'UNIQUE']] }), withAttrs, placed), { ok: false, reasons: ['UnfulfilledConstraint'] });
  t.same(matchOffer(app('/a', { constraints: [['rack', 'MAX_PER', '1']] }), withAttrs, placed), { ok: false, reasons: ['UnfulfilledConstraint'] });
  t.equal(matchOffer(app('/a', { constraints: [['rack', 'MAX_PER', '2'], ['hostname', 'LIKE', 'host-.*']] }), withAttrs, placed).ok, true);
});

t.test('GPUs are scarce: apps without gpus decline GPU agents unless unrestricted', async (t) => {
  const gpuOffer = offer([...basic, scalar('gpus', 2)]);
  t.same(matchOffer(app('/a'), gpuOffer, []), { ok: false, reasons: ['DeclinedScarceResources'] });
  t.equal(matchOffer(app('/a'), gpuOffer, [], { gpuSchedulingBehavior: 'unrestricted' }).ok, true);
  const m = matchOffer(app('/g', { gpus: 1 }), gpuOffer, []);
  t.equal(m.ok && scalarOf(m.resources, 'gpus'), 1);
});

t.test('reason list is Marathon\'s', async (t) => {
  t.equal(NO_MATCH_REASONS.length, 10);
});

t.test('matchPorts: random picks stay within the offer and are distinct', async (t) => {
  const rand = prng(7);
  const usable: Resource[] = [portsRes([[1000, 1002], [2000, 2001]]), portsRes([[3000, 3000]], 'web')];
  const m = matchPorts(usable, [0, 0, 0, 0, 0, 0], rand)!;
  t.same([...m.hostPorts].sort(), [1000, 1001, 1002, 2000, 2001, 3000]);
  t.equal(matchPorts(usable, [0, 0, 0, 0, 0, 0, 0], rand), undefined);
  t.same(m.resources.map((r) => r.reservations?.[0]?.role ?? '*').sort(), ['*', 'web'], 'one ports entry per source');
});

t.test('property: packing instances into offers never assigns a port twice', async (t) => {
  const rand = prng(424242);
  let launched = 0;
  for (let run = 0; run < 200; run++) {
    const ranges: Array<[number, number]> = [];
    let p = 30000 + Math.floor(rand() * 100);
    for (let k = 0; k < 1 + Math.floor(rand() * 3); k++) {
      const len = Math.floor(rand() * 6);
      ranges.push([p, p + len]);
      p += len + 2 + Math.floor(rand() * 5);
    }
    let left: Resource[] = [scalar('cpus', 100), scalar('mem', 100000), portsRes(ranges)];
    const nPorts = Math.floor(rand() * 4);
    const a = app('/a', { cpus: 0.1, mem: 1, portDefinitions: Array.from({ length: nPorts }, (_, i) => pd(10000 + i)) });
    const used = new Set<number>();
    for (let k = 0; k < 50; k++) {
      const m = matchOffer(a, offer(left), [], { random: rand });
      if (!m.ok) {
        t.same(m.reasons, ['InsufficientPorts']);
        break;
      }
      for (const port of m.hostPorts) {
        if (used.has(port)) t.fail(`run ${run}: port ${port} assigned twice`);
        if (!ranges.some(([b, e]) => b <= port && port <= e)) t.fail(`run ${run}: port ${port} not offered`);
        used.add(port);
      }
      t.equal(new Set(m.hostPorts).size, m.hostPorts.length);
      if (!containsResources(left, m.resources)) t.fail(`run ${run}: resources not contained in the offer`);
      left = remainingResources(left, m.resources);
      launched++;
      if (nPorts === 0 && k > 3) break;
    }
  }
  t.ok(launched > 200);
});
