/**
 * The bench framework's packing (bench/lib/framework.ts packOffer): its shortcut for offers
 * with one entry per requested scalar gives the same resources, task for task, as the
 * general first-fit loop (matchOffer, then remainingResources, again and again), and any
 * other offer goes through that loop.
 */
import t from 'tap';
import { packOffer } from '../../bench/lib/framework.js';
import type { Offer, Resource } from '../../sdk/protocol/index.js';
import { matchOffer, remainingResources } from '../../sdk/scheduler/index.js';

/** The general loop, as the bench framework packed before the shortcut. */
function packByLoop(offer: Offer, want: { cpus: number; mem: number }, limit: number): Resource[][] {
  const out: Resource[][] = [];
  let left: Resource[] = offer.resources ?? [];
  while (out.length < limit) {
    const resources = matchOffer({ ...offer, resources: left }, want);
    if (resources === undefined) break;
    left = remainingResources(left, resources);
    out.push(resources);
  }
  return out;
}

const scalar = (name: string, value: number, extra: Partial<Resource> = {}): Resource => ({ name, type: 'SCALAR', scalar: { value }, ...extra });
const offerOf = (resources: Resource[], role?: string): Offer => ({
  id: { value: 'O1' }, framework_id: { value: 'F' }, agent_id: { value: 'S1' }, hostname: 'h', resources,
  ...(role === undefined ? {} : { allocation_info: { role } }),
});
const starRole = { allocation_info: { role: '*' }, role: '*' } as Partial<Resource>;

const cases: Array<{ name: string; offer: Offer; want: { cpus: number; mem: number }; limit: number; expect: number }> = [
  { name: 'an emulated agent offer, 20 a time', offer: offerOf([scalar('cpus', 32, starRole), scalar('mem', 65536, starRole), scalar('disk', 100000, starRole)], '*'), want: { cpus: 0.1, mem: 32 }, limit: 20, expect: 20 },
  { name: 'cpus run out first', offer: offerOf([scalar('cpus', 1), scalar('mem', 4096)]), want: { cpus: 0.3, mem: 32 }, limit: 20, expect: 3 },
  { name: 'mem runs out first, with rounding', offer: offerOf([scalar('cpus', 4), scalar('mem', 100)]), want: { cpus: 0.1, mem: 33.3333 }, limit: 20, expect: 3 },
  { name: 'nothing fits', offer: offerOf([scalar('cpus', 0.05), scalar('mem', 100)]), want: { cpus: 0.1, mem: 32 }, limit: 20, expect: 0 },
  { name: 'limit 0', offer: offerOf([scalar('cpus', 4), scalar('mem', 4096)]), want: { cpus: 0.1, mem: 32 }, limit: 0, expect: 0 },
  { name: 'no limit', offer: offerOf([scalar('cpus', 1), scalar('mem', 4096)]), want: { cpus: 0.1, mem: 32 }, limit: Number.POSITIVE_INFINITY, expect: 10 },
  { name: 'two cpus entries (general loop, split across them)', offer: offerOf([scalar('cpus', 0.25, { role: 'web', reservation: { principal: 'p' } } as Partial<Resource>), scalar('cpus', 0.5), scalar('mem', 4096)]), want: { cpus: 0.2, mem: 32 }, limit: 20, expect: 3 },
  { name: 'only mem requested', offer: offerOf([scalar('cpus', 1), scalar('mem', 100)]), want: { cpus: 0, mem: 32 }, limit: 20, expect: 3 },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const packed = packOffer(c.offer, c.want, c.limit);
    t.same(packed, packByLoop(c.offer, c.want, c.limit), 'the same resources as the general loop, task for task');
    t.equal(packed.length, c.expect, 'tasks that fit');
  });
}
