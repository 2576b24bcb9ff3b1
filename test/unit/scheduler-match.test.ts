/**
 * matchResources / matchOffer: first fit, fixed-point scalars, lowest ports, roles and
 * allocation_info carried over.
 */
import t from 'tap';
import type { Offer, Resource } from '../../sdk/protocol/index.js';
import { containsResources } from '../../sdk/resources/index.js';
import { matchOffer, matchResources, remainingResources } from '../../sdk/scheduler/index.js';

const alloc = { allocation_info: { role: 'batch' } };
const scalar = (name: string, value: number, extra: Partial<Resource> = {}): Resource => ({ name, type: 'SCALAR', scalar: { value }, ...extra });
const ports = (ranges: [number, number][], extra: Partial<Resource> = {}): Resource => ({
  name: 'ports', type: 'RANGES', ranges: { range: ranges.map(([begin, end]) => ({ begin, end })) }, ...extra,
});

t.test('fits and does not fit', async (t) => {
  const offer = [scalar('cpus', 1), scalar('mem', 128), scalar('disk', 100)];
  t.same(matchResources(offer, { cpus: 0.5, mem: 64 }), [scalar('cpus', 0.5), scalar('mem', 64)]);
  t.same(matchResources(offer, { cpus: 1, mem: 128, disk: 100 }), offer, 'exactly everything');
  t.equal(matchResources(offer, { cpus: 1.001 }), undefined);
  t.equal(matchResources(offer, { mem: 32, gpus: 1 }), undefined, 'a resource the offer lacks');
  t.same(matchResources(offer, {}), [], 'nothing wanted fits trivially');
  t.throws(() => matchResources(offer, { cpus: -1 }), { code: 'AGORA_RESOURCES_INVALID' });
  t.throws(() => matchResources(offer, { ports: 1.5 }), { code: 'AGORA_RESOURCES_INVALID' });
  t.throws(() => matchResources(offer, { mem: Number.NaN }), { code: 'AGORA_RESOURCES_INVALID' });
});

t.test('scalars are 3-decimal fixed point: ten 0.1-cpu tasks fit in 1 cpu, the eleventh does not', async (t) => {
  let left: Resource[] = [scalar('cpus', 1), scalar('mem', 1000)];
  for (let i = 0; i < 10; i++) {
    const got = matchResources(left, { cpus: 0.1, mem: 100 });
    t.ok(got, `task ${i + 1} fits`);
    t.equal(got![0]!.scalar!.value, 0.1);
    left = remainingResources(left, got!);
  }
  t.same(left, []);
  t.equal(matchResources(left, { cpus: 0.1 }), undefined);
  t.same(matchResources([scalar('cpus', 0.3)], { cpus: 0.1 + 0.2 }), [scalar('cpus', 0.3)], '0.1 + 0.2 asks for 0.3');
});

t.test('ports: the lowest free ones across ranges and entries', async (t) => {
  const offer = [scalar('cpus', 1), ports([[31005, 31006], [31000, 31001]])];
  t.same(matchResources(offer, { ports: 3 }), [ports([[31000, 31001], [31005, 31005]])]);
  t.same(matchResources(offer, { ports: 1 }), [ports([[31000, 31000]])]);
  t.equal(matchResources(offer, { ports: 5 }), undefined);
  const two = [ports([[32000, 32010]]), ports([[31000, 31000]], { reservations: [{ type: 'STATIC', role: 'batch' }] })];
  const got = matchResources(two, { ports: 2 })!;
  t.same(got, [ports([[32000, 32000]]), ports([[31000, 31000]], { reservations: [{ type: 'STATIC', role: 'batch' }] })]);
  t.ok(containsResources(two, got));
});

t.test('reserved and unreserved entries both contribute, identities kept', async (t) => {
  const reserved = { reservations: [{ type: 'STATIC' as const, role: 'batch' }] };
  const offer = [scalar('cpus', 0.5, reserved), scalar('cpus', 1), scalar('mem', 64, reserved)];
  const got = matchResources(offer, { cpus: 1, mem: 64 })!;
  t.same(got, [scalar('cpus', 0.5, reserved), scalar('cpus', 0.5), scalar('mem', 64, reserved)]);
  t.ok(containsResources(offer, got));
});

t.test('allocation_info: carried over, role filter, stamped by matchOffer', async (t) => {
  const offerResources = [scalar('cpus', 1, alloc), scalar('mem', 64, alloc), ports([[31000, 31009]], alloc)];
  const got = matchResources(offerResources, { cpus: 0.1, mem: 32, ports: 2 })!;
  t.same(got, [scalar('cpus', 0.1, alloc), scalar('mem', 32, alloc), ports([[31000, 31001]], alloc)]);
  t.ok(containsResources(offerResources, got), 'contained in the offer (same identities)');

  const mixed = [scalar('cpus', 1, { allocation_info: { role: 'other' } }), scalar('cpus', 1, alloc)];
  t.same(matchResources(mixed, { cpus: 1 }, { role: 'batch' }), [scalar('cpus', 1, alloc)]);
  t.equal(matchResources(mixed, { cpus: 1.5 }, { role: 'batch' }), undefined);

  const offer: Offer = {
    id: { value: 'o1' }, framework_id: { value: 'fw' }, agent_id: { value: 'a1' }, hostname: 'h',
    allocation_info: { role: 'batch' }, resources: [scalar('cpus', 1), scalar('mem', 64, alloc)],
  };
  t.same(matchOffer(offer, { cpus: 0.5, mem: 64 }), [scalar('cpus', 0.5, alloc), scalar('mem', 64, alloc)]);
  t.equal(matchOffer(offer, { cpus: 2 }), undefined);
  t.same(matchOffer({ ...offer, allocation_info: undefined, resources: [scalar('cpus', 1)] } as Offer, { cpus: 1 }), [scalar('cpus', 1)]);
});

t.test('persistent volumes and shared resources are not used for plain requests', async (t) => {
  const volume = scalar('disk', 100, { disk: { persistence: { id: 'v1' }, volume: { container_path: 'data', mode: 'RW' } } });
  t.equal(matchResources([volume], { disk: 10 }), undefined);
  t.same(matchResources([volume, scalar('disk', 50)], { disk: 10 }), [scalar('disk', 10)]);
});
