/**
 * selectInstancesToKill: Marathon's ScalingProposition order (unreachable, not yet running,
 * starting, running) with YOUNGEST_FIRST / OLDEST_FIRST inside a class.
 */
import t from 'tap';
import { selectInstancesToKill } from '../../frameworks/marathon/plan/index.js';
import { instance } from './marathon-plan-fixtures.js';

const at = (minute: number): string => new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString();

const running1 = instance('/a', { instanceId: 'run-old', condition: 'Running', stagedAt: at(0), startedAt: at(1) });
const running2 = instance('/a', { instanceId: 'run-new', condition: 'Running', stagedAt: at(0), startedAt: at(5) });
const starting = instance('/a', { instanceId: 'starting', condition: 'Starting', stagedAt: at(6) });
const staging = instance('/a', { instanceId: 'staging', condition: 'Staging', stagedAt: at(7) });
const scheduled = instance('/a', { instanceId: 'scheduled', condition: 'Scheduled' });
const unreachable = instance('/a', { instanceId: 'unreachable', condition: 'Unreachable', startedAt: at(2) });
const inactive = instance('/a', { instanceId: 'inactive', condition: 'UnreachableInactive', startedAt: at(2) });
const killing = instance('/a', { instanceId: 'killing', condition: 'Running', goal: 'Decommissioned', startedAt: at(9) });
const all = [running1, running2, starting, staging, scheduled, unreachable, inactive, killing];
const ids = (xs: { instanceId: string }[]): string[] => xs.map((i) => i.instanceId);

t.test('condition classes come first, then age', async (t) => {
  t.same(ids(selectInstancesToKill(all, 10, 'YOUNGEST_FIRST')),
    ['inactive', 'unreachable', 'scheduled', 'staging', 'starting', 'run-new', 'run-old']);
  t.same(ids(selectInstancesToKill(all, 10, 'OLDEST_FIRST')),
    ['inactive', 'unreachable', 'scheduled', 'staging', 'starting', 'run-old', 'run-new']);
});

t.test('count limits the result; instances already being killed are not candidates', async (t) => {
  t.same(ids(selectInstancesToKill(all, 1, 'YOUNGEST_FIRST')), ['inactive']);
  t.equal(selectInstancesToKill(all, 0, 'YOUNGEST_FIRST').length, 0);
  t.equal(selectInstancesToKill(all, 100, 'YOUNGEST_FIRST').length, 7);
  t.notOk(ids(selectInstancesToKill(all, 100, 'OLDEST_FIRST')).includes('killing'));
});

t.test('among running instances: YOUNGEST_FIRST kills the newest, OLDEST_FIRST the oldest', async (t) => {
  const r = [0, 3, 1, 2].map((m) => instance('/a', { instanceId: `r${m}`, startedAt: at(m) }));
  t.same(ids(selectInstancesToKill(r, 2, 'YOUNGEST_FIRST')), ['r3', 'r2']);
  t.same(ids(selectInstancesToKill(r, 2, 'OLDEST_FIRST')), ['r0', 'r1']);
});

t.test('staging instances order by stagedAt; a missing timestamp goes first', async (t) => {
  const s = [instance('/a', { instanceId: 's1', condition: 'Staging', stagedAt: at(1) }),
    instance('/a', { instanceId: 's2', condition: 'Staging', stagedAt: at(2) }),
    instance('/a', { instanceId: 's0', condition: 'Staging' })];
  t.same(ids(selectInstancesToKill(s, 3, 'YOUNGEST_FIRST')), ['s0', 's2', 's1']);
  t.same(ids(selectInstancesToKill(s, 3, 'OLDEST_FIRST')), ['s0', 's1', 's2']);
});

t.test('input is not mutated', async (t) => {
  const copy = [...all];
  selectInstancesToKill(all, 3, 'YOUNGEST_FIRST');
  t.same(ids(all), ids(copy));
});

t.test('GROUP_BY constraints: kill from the largest groups first (Marathon Constraints.selectInstancesToKill)', async (t) => {
  const z = (id: string, zone: string, minute: number) => instance('/a', { instanceId: id, agentAttributes: { zone }, startedAt: at(minute) });
  // z1 has 3, z2 has 1: scaling 4 → 2 must take both kills from z1, although z2's is the youngest.
  const xs = [z('a1', 'z1', 1), z('a2', 'z1', 2), z('a3', 'z1', 3), z('b1', 'z2', 9)];
  t.same(ids(selectInstancesToKill(xs, 2, 'YOUNGEST_FIRST', [['zone', 'GROUP_BY']])), ['a3', 'a2']);
  t.same(ids(selectInstancesToKill(xs, 2, 'YOUNGEST_FIRST')), ['b1', 'a3'], 'without constraints: plain order');
  t.same(ids(selectInstancesToKill(xs, 3, 'OLDEST_FIRST', [['zone', 'group_by']])), ['a1', 'a2', 'a3']);
  t.same(ids(selectInstancesToKill(xs, 4, 'YOUNGEST_FIRST', [['zone', 'GROUP_BY']])).sort(), ['a1', 'a2', 'a3', 'b1']);
  const withInactive = [...xs, instance('/a', { instanceId: 'gone', condition: 'UnreachableInactive', agentAttributes: { zone: 'z2' } })];
  t.same(ids(selectInstancesToKill(withInactive, 2, 'YOUNGEST_FIRST', [['zone', 'GROUP_BY']])), ['gone', 'a3']);
});
