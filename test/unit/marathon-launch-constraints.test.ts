/**
 * Placement constraints (Marathon's Constraints.meetsConstraint) and their validation
 * messages (SchedulingValidation).
 */
import t from 'tap';
import {
  attributeString, constraintErrors, constraintSatisfied, CONSTRAINT_MESSAGES,
} from '../../frameworks/marathon/launch/index.js';
import type { ConstraintOffer, PlacedInstance } from '../../frameworks/marathon/launch/index.js';

const offerOn = (hostname: string, attributes: Record<string, string> = {}): ConstraintOffer => ({ hostname, attributes });
const on = (host: string, agentAttributes: Record<string, string> = {}): PlacedInstance => ({ host, agentAttributes });
const ok = (c: string[], o: ConstraintOffer, placed: PlacedInstance[] = []): boolean => constraintSatisfied(c, o, placed);

t.test('UNIQUE on hostname and on attributes', async (t) => {
  t.equal(ok(['hostname', 'UNIQUE'], offerOn('a'), [on('b')]), true);
  t.equal(ok(['hostname', 'UNIQUE'], offerOn('a'), [on('b'), on('a')]), false);
  t.equal(ok(['@hostname', 'UNIQUE'], offerOn('a'), [on('a')]), false);
  t.equal(ok(['rack', 'UNIQUE'], offerOn('a', { rack: 'r1' }), [on('b', { rack: 'r2' }), on('c')]), true);
  t.equal(ok(['rack', 'UNIQUE'], offerOn('a', { rack: 'r1' }), [on('b', { rack: 'r1' })]), false);
  t.equal(ok(['hostname', 'unique'], offerOn('a'), [on('a')]), false, 'operators are case-insensitive');
});

t.test('CLUSTER with and without a value', async (t) => {
  t.equal(ok(['rack', 'CLUSTER', 'r1'], offerOn('a', { rack: 'r1' })), true);
  t.equal(ok(['rack', 'CLUSTER', 'r1'], offerOn('a', { rack: 'r2' })), false);
  t.equal(ok(['hostname', 'CLUSTER', 'a'], offerOn('a')), true);
  t.equal(ok(['rack', 'CLUSTER'], offerOn('a', { rack: 'r2' })), true, 'first placement picks the value');
  t.equal(ok(['rack', 'CLUSTER'], offerOn('a', { rack: 'r2' }), [on('x', { rack: 'r2' })]), true);
  t.equal(ok(['rack', 'CLUSTER'], offerOn('a', { rack: 'r2' }), [on('x', { rack: 'r1' })]), false);
});

t.test('GROUP_BY spreads evenly; with n it prefers new values until n are used', async (t) => {
  const placed = [on('a', { zone: 'z1' }), on('b', { zone: 'z1' }), on('c', { zone: 'z2' })];
  t.equal(ok(['zone', 'GROUP_BY'], offerOn('x', { zone: 'z2' }), placed), true, 'smallest group');
  t.equal(ok(['zone', 'GROUP_BY'], offerOn('x', { zone: 'z1' }), placed), false, 'larger group');
  t.equal(ok(['zone', 'GROUP_BY'], offerOn('x', { zone: 'z3' }), placed), true, 'new value');
  const one = [on('a', { zone: 'z1' })];
  t.equal(ok(['zone', 'GROUP_BY', '2'], offerOn('x', { zone: 'z1' }), one), false, 'only 1 of 2 values seen');
  t.equal(ok(['zone', 'GROUP_BY'], offerOn('x', { zone: 'z1' }), one), true, 'no minimum: the only group is the smallest');
  t.equal(ok(['zone', 'GROUP_BY', '2'], offerOn('x', { zone: 'z2' }), one), true);
  t.equal(ok(['hostname', 'GROUP_BY'], offerOn('a'), [on('a'), on('b')]), true);
});

t.test('LIKE / UNLIKE: full regular-expression match', async (t) => {
  t.equal(ok(['rack', 'LIKE', 'rack-[1-3]'], offerOn('a', { rack: 'rack-2' })), true);
  t.equal(ok(['rack', 'LIKE', 'rack-[1-3]'], offerOn('a', { rack: 'rack-22' })), false, 'full match, not substring');
  t.equal(ok(['hostname', 'LIKE', 'web.*'], offerOn('web-1')), true);
  t.equal(ok(['rack', 'UNLIKE', 'rack-[1-3]'], offerOn('a', { rack: 'rack-2' })), false);
  t.equal(ok(['rack', 'UNLIKE', 'rack-[1-3]'], offerOn('a', { rack: 'rack-9' })), true);
  t.equal(ok(['rack', 'LIKE', '('], offerOn('a', { rack: '(' })), false, 'invalid regex never matches');
});

t.test('MAX_PER n', async (t) => {
  const placed = [on('a', { rack: 'r1' }), on('b', { rack: 'r1' }), on('c', { rack: 'r2' })];
  t.equal(ok(['rack', 'MAX_PER', '2'], offerOn('x', { rack: 'r1' }), placed), false);
  t.equal(ok(['rack', 'MAX_PER', '2'], offerOn('x', { rack: 'r2' }), placed), true);
  t.equal(ok(['hostname', 'MAX_PER', '1'], offerOn('a'), placed), false);
  t.equal(ok(['hostname', 'MAX_PER', '1'], offerOn('z'), placed), true);
});

t.test('IS: equality, numeric for numbers', async (t) => {
  t.equal(ok(['os', 'IS', 'linux'], offerOn('a', { os: 'linux' })), true);
  t.equal(ok(['os', 'IS', 'linux'], offerOn('a', { os: 'darwin' })), false);
  t.equal(ok(['level', 'IS', '3.0'], offerOn('a', { level: '3' })), true);
  t.equal(ok(['level', 'IS', '3.5'], offerOn('a', { level: '3' })), false);
});

t.test('a missing attribute satisfies only UNLIKE; @region/@zone read attributes', async (t) => {
  for (const op of [['UNIQUE'], ['CLUSTER', 'x'], ['GROUP_BY'], ['LIKE', '.*'], ['MAX_PER', '5'], ['IS', 'x']]) {
    t.equal(ok(['rack', ...op], offerOn('a')), false, op[0]);
  }
  t.equal(ok(['rack', 'UNLIKE', 'x'], offerOn('a')), true);
  t.equal(ok(['@zone', 'IS', 'z1'], offerOn('a', { zone: 'z1' })), true);
  t.equal(ok(['@region', 'UNIQUE'], offerOn('a', { region: 'eu' }), [on('b', { region: 'eu' })]), false);
  t.equal(ok(['rack', 'BOGUS', 'x'], offerOn('a', { rack: 'x' })), false);
});

t.test('attribute strings as Marathon compares them', async (t) => {
  t.equal(attributeString({ name: 'a', type: 'TEXT', text: { value: 'r1' } }), 'r1');
  t.equal(attributeString({ name: 'a', type: 'SCALAR', scalar: { value: 2.5 } }), '2.5');
  t.equal(attributeString({ name: 'a', type: 'RANGES', ranges: { range: [{ begin: 5, end: 6 }, { begin: 1, end: 2 }] } }), '[1-2,5-6]');
  t.equal(attributeString({ name: 'a', type: 'SET', set: { item: ['b', 'a'] } }), '{a,b}');
});

t.test('constraintErrors: Marathon validation messages', async (t) => {
  const cases: Array<[unknown, string[]]> = [
    [['hostname', 'UNIQUE'], []],
    [['hostname', 'unique'], []],
    [['rack', 'CLUSTER'], []],
    [['rack', 'CLUSTER', 'r1'], []],
    [['rack', 'GROUP_BY'], []],
    [['rack', 'GROUP_BY', '3'], []],
    [['rack', 'MAX_PER', '2'], []],
    [['rack', 'LIKE', 'r[0-9]'], []],
    [['os', 'IS', 'linux-1.0'], []],
    [['hostname'], [CONSTRAINT_MESSAGES.fieldCount]],
    [['a', 'b', 'c', 'd'], [CONSTRAINT_MESSAGES.fieldCount]],
    [['', 'UNIQUE'], [CONSTRAINT_MESSAGES.illegal]],
    [['hostname', 'NEAR'], ['operator must be one of the following UNIQUE, CLUSTER, GROUP_BY, LIKE, MAX_PER or UNLIKE']],
    [['hostname', 'UNIQUE', 'x'], ['UNIQUE does not accept a value']],
    [['rack', 'GROUP_BY', 'x'], ['GROUP BY must define an integer value or else no value at all']],
    [['rack', 'MAX_PER'], ['MAX_PER requires an integer value']],
    [['rack', 'MAX_PER', 'two'], ['MAX_PER requires an integer value']],
    [['rack', 'LIKE'], ['LIKE and UNLIKE require a non-empty, regular expression value']],
    [['rack', 'UNLIKE', '(['], ['is not a valid regular expression']],
    [['os', 'IS', '{a,b}'], [CONSTRAINT_MESSAGES.isText]],
    ['hostname:UNIQUE', ['Constraint definition must be an array of strings in format: <key>, <operator>[, value]']],
    [['hostname', 1], ['Constraint definition must be an array of strings in format: <key>, <operator>[, value]']],
  ];
  for (const [c, want] of cases) t.same(constraintErrors(c), want, JSON.stringify(c));
});
