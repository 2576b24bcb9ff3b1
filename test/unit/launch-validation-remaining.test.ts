/**
 * RemainingResources (master/launch-validation.ts) answers, for the tasks of an ACCEPT checked
 * in order, what `containsResources(remaining, consumed)` and `subtractResources(remaining,
 * consumed)` one by one answer, while it sums scalar consumption instead of subtracting from
 * the whole offer each time. Held to the one-by-one answers over seeded random offers and
 * task sequences: scalars with more than 3 decimals and zeros, duplicate entries, roles,
 * ranges and sets (two tasks asking the same port), identities the offer lacks.
 */
import t from 'tap';
import { planAccept, RemainingResources } from '../../master/launch-validation.js';
import type { Resource } from '../../sdk/protocol/index.js';
import { containsResources, subtractResources, unallocateResources } from '../../sdk/resources/index.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const scalar = (name: string, value: number, role?: string): Resource => ({ name, type: 'SCALAR', scalar: { value }, ...(role ? { role } : {}) });
const ranges = (name: string, range: Array<[number, number]>): Resource => ({ name, type: 'RANGES', ranges: { range: range.map(([begin, end]) => ({ begin, end })) } });
const set = (name: string, item: string[]): Resource => ({ name, type: 'SET', set: { item } });

function offer(random: () => number): Resource[] {
  const rs: Resource[] = [scalar('cpus', Math.round(random() * 8000) / 1000), scalar('mem', Math.floor(random() * 4096))];
  if (random() < 0.5) rs.push(scalar('disk', Math.floor(random() * 1000)));
  if (random() < 0.3) rs.push(scalar('cpus', Math.round(random() * 4000) / 1000, 'r1'));
  if (random() < 0.5) rs.push(ranges('ports', [[31000, 31000 + Math.floor(random() * 20)], [32000, 32005]]));
  if (random() < 0.3) rs.push(set('zones', ['a', 'b', 'c']));
  return rs;
}

function consumption(random: () => number): Resource[] {
  const rs: Resource[] = [];
  const n = 1 + Math.floor(random() * 3);
  for (let i = 0; i < n; i++) {
    const pick = random();
    if (pick < 0.35) rs.push(scalar('cpus', random() < 0.1 ? 0 : Math.round(random() * 1500_000) / 1_000_000));
    else if (pick < 0.6) rs.push(scalar('mem', Math.floor(random() * 600)));
    else if (pick < 0.68) rs.push(scalar('disk', Math.floor(random() * 200)));
    else if (pick < 0.74) rs.push(scalar('cpus', Math.round(random() * 1000) / 1000, 'r1'));
    else if (pick < 0.78) rs.push(scalar('gpus', 1));
    else if (pick < 0.92) {
      const port = 31000 + Math.floor(random() * 8);
      rs.push(ranges('ports', [[port, port + Math.floor(random() * 2)]]));
    } else rs.push(set('zones', [['a', 'b', 'c', 'd'][Math.floor(random() * 4)]!]));
  }
  return rs;
}

const text = (rs: readonly Resource[]): string => JSON.stringify(rs);

t.test('RemainingResources answers as containsResources and subtractResources task by task', async (t) => {
  const random = rng(42);
  let checks = 0;
  let taken = 0;
  let mismatches = 0;
  for (let round = 0; round < 400; round++) {
    let reference = offer(random);
    const remaining = new RemainingResources(reference);
    const tasks = 1 + Math.floor(random() * 25);
    for (let i = 0; i < tasks; i++) {
      const consumed = consumption(random);
      const expected = containsResources(reference, consumed);
      const got = remaining.contains(consumed);
      checks++;
      if (got !== expected) {
        mismatches++;
        t.fail(`round ${round} task ${i}: contains ${text(consumed)} answered ${got}, expected ${expected}`);
        break;
      }
      if (got) {
        reference = subtractResources(reference, consumed);
        remaining.take(consumed);
        taken++;
      }
      // Reading what remains mid-way (a rejection's message does) must not change the answers after it.
      if (random() < 0.15 && text(remaining.current) !== text(reference)) {
        mismatches++;
        t.fail(`round ${round} task ${i}: remaining ${text(remaining.current)}, expected ${text(reference)}`);
        break;
      }
    }
    if (text(remaining.current) !== text(reference)) {
      mismatches++;
      t.fail(`round ${round}: leftover ${text(remaining.current)}, expected ${text(reference)}`);
    }
  }
  t.equal(mismatches, 0);
  t.ok(taken > 500 && taken < checks - 500, `both answers exercised (${taken} taken of ${checks})`);
});

t.test('two tasks asking the same port: the second does not fit', async (t) => {
  const remaining = new RemainingResources([scalar('cpus', 2), ranges('ports', [[31000, 31001]])]);
  const first = [scalar('cpus', 0.5), ranges('ports', [[31000, 31000]])];
  t.ok(remaining.contains(first));
  remaining.take(first);
  t.notOk(remaining.contains([scalar('cpus', 0.5), ranges('ports', [[31000, 31000]])]));
  t.strictSame(remaining.current, [scalar('cpus', 1.5), ranges('ports', [[31001, 31001]])]);
});

t.test('scalar tasks until the offer is used up, then the rest does not fit', async (t) => {
  const remaining = new RemainingResources([scalar('cpus', 1), scalar('mem', 100)]);
  const task = [scalar('cpus', 0.1), scalar('mem', 10)];
  let fitted = 0;
  while (fitted < 20 && remaining.contains(task)) {
    remaining.take(task);
    fitted++;
  }
  t.equal(fitted, 10);
  t.strictSame(remaining.current, [], 'nothing left: entries that reach 0 are dropped');
});

t.test('planAccept: a task that no longer fits is refused naming what remains, later tasks still fit', async (t) => {
  const allocated = (rs: Resource[]): Resource[] => rs.map((r) => ({ ...r, allocation_info: { role: '*' } }));
  const offered = allocated([scalar('cpus', 1), scalar('mem', 100), ranges('ports', [[31000, 31005]])]);
  const task = (id: string, resources: Resource[]) => ({
    name: id, task_id: { value: id }, agent_id: { value: 'a1' }, resources: allocated(resources), command: { value: 'true' },
  });
  const plan = planAccept({
    frameworkId: 'f1',
    offerIds: ['o1'],
    operations: [{
      type: 'LAUNCH',
      launch: {
        task_infos: [
          task('t1', [scalar('cpus', 0.4), scalar('mem', 40)]),
          task('t2', [scalar('cpus', 0.4), scalar('mem', 40), ranges('ports', [[31000, 31000]])]),
          task('t3', [scalar('cpus', 0.4), scalar('mem', 10)]),
          task('t4', [scalar('cpus', 0.2), scalar('mem', 20), ranges('ports', [[31000, 31000]])]),
          task('t5', [scalar('cpus', 0.2), scalar('mem', 20)]),
        ],
      },
    }],
    offers: new Map([['o1', { id: 'o1', frameworkId: 'f1', agentId: 'a1', role: '*', resources: offered, unallocated: unallocateResources(offered), createdAt: 0 }]]),
    taskIdInUse: () => false,
    executorsOnAgent: () => new Map(),
  });
  t.strictSame(plan.launches.map((l) => (l.kind === 'task' ? l.task.task_id.value : '')), ['t1', 't2', 't5']);
  t.strictSame(plan.rejections.map((r) => [r.task.task_id.value, r.message]), [
    ['t3', 'Task uses more resources cpus:0.4; mem:10 than available cpus:0.2; mem:20; ports:[31001-31005]'],
    ['t4', 'Task uses more resources cpus:0.2; mem:20; ports:[31000-31000] than available cpus:0.2; mem:20; ports:[31001-31005]'],
  ]);
  t.strictSame(plan.leftover, [ranges('ports', [[31001, 31005]])], 'cpus and mem used up; the unused ports are left over');
});
