/**
 * The simulated task plan (pure): labels over defaults, bad values, the seeded failure draw.
 */
import t from 'tap';
import { seededRandom } from '../../slave/sim/prng.js';
import { DEFAULT_SIM, parseSimDuration, planSimulatedTask, type SimDefaults } from '../../slave/sim/task-plan.js';

const labels = (o: Record<string, string>) => Object.entries(o).map(([key, value]) => ({ key, value }));
const never = (): number => { throw new Error('no draw expected'); };

t.test('defaults: no labels, forever, started at once; no random draw at failure rate 0', async (t) => {
  const r = planSimulatedTask(undefined, DEFAULT_SIM, never);
  t.same(r, { ok: true, plan: { startDelayMs: 0, outcome: 'forever', durationMs: 0, exitCode: 0, failsAtStart: false, message: '' } });
});

t.test('tasks that follow the defaults share one plan per defaults; labelled and failed ones get their own', async (t) => {
  const defaults: SimDefaults = { durationMs: 1000, exitCode: 3, failureRate: 0.5, startDelayMs: 5 };
  const draws = [0.9, 0.9, 0.1, 0.9];
  const next = (): number => draws.shift()!;
  const a = planSimulatedTask(undefined, defaults, next);
  const b = planSimulatedTask([{ key: 'other', value: 'x' }], defaults, next);
  t.equal(a, b, 'one shared plan (each still drew once for the failure rate)');
  t.same(a, { ok: true, plan: { startDelayMs: 5, outcome: 'fail', durationMs: 1000, exitCode: 3, failsAtStart: false, message: 'Command exited with status 3' } });
  const failed = planSimulatedTask(undefined, defaults, next);
  t.ok(failed.ok && failed.plan.failsAtStart, 'the draw below the rate fails the task at start');
  const labelled = planSimulatedTask(labels({ 'agora.sim.duration': '1s' }), defaults, next);
  t.not(labelled, a, 'a labelled task has its own plan');
  t.same(labelled, a, 'equal to the default one here');
  t.equal(draws.length, 0, 'one draw per task');
  const other: SimDefaults = { ...defaults, failureRate: 0 };
  t.not(planSimulatedTask(undefined, other, never), a, 'other defaults, another plan');
});

t.test('labels override the defaults', async (t) => {
  const defaults: SimDefaults = { durationMs: 1000, exitCode: 0, failureRate: 0, startDelayMs: 5 };
  t.same(planSimulatedTask(labels({ 'agora.sim.duration': '250ms' }), defaults, never), {
    ok: true, plan: { startDelayMs: 5, outcome: 'finish', durationMs: 250, exitCode: 0, failsAtStart: false, message: 'Command exited with status 0' },
  });
  t.same(planSimulatedTask(labels({ 'agora.sim.exit_code': '3', 'agora.sim.start_delay': '2s' }), defaults, never), {
    ok: true, plan: { startDelayMs: 2000, outcome: 'fail', durationMs: 1000, exitCode: 3, failsAtStart: false, message: 'Command exited with status 3' },
  });
  t.same(planSimulatedTask(labels({ 'agora.sim.duration': 'forever', 'agora.sim.exit_code': '9' }), defaults, never), {
    ok: true, plan: { startDelayMs: 5, outcome: 'forever', durationMs: 0, exitCode: 9, failsAtStart: false, message: '' },
  });
  t.same(planSimulatedTask(labels({ other: 'x' }), defaults, never), {
    ok: true, plan: { startDelayMs: 5, outcome: 'finish', durationMs: 1000, exitCode: 0, failsAtStart: false, message: 'Command exited with status 0' },
  }, 'unrelated labels are ignored');
  t.equal(parseSimDuration('10s'), 10_000);
  t.equal(parseSimDuration('2mins'), 120_000);
  t.equal(parseSimDuration(' Forever '), 'forever');
});

t.test('bad label values: not ok, the message names the label', async (t) => {
  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ 'agora.sim.duration': 'soon' }, /^Invalid label agora\.sim\.duration: invalid duration "soon"/],
    [{ 'agora.sim.duration': '10' }, /agora\.sim\.duration/],
    [{ 'agora.sim.duration': '100days' }, /agora\.sim\.duration.*longer than/],
    [{ 'agora.sim.exit_code': '-1' }, /agora\.sim\.exit_code/],
    [{ 'agora.sim.exit_code': '256' }, /agora\.sim\.exit_code/],
    [{ 'agora.sim.exit_code': '1.5' }, /agora\.sim\.exit_code/],
    [{ 'agora.sim.failure_rate': '2' }, /agora\.sim\.failure_rate/],
    [{ 'agora.sim.failure_rate': 'often' }, /agora\.sim\.failure_rate/],
    [{ 'agora.sim.failure_rate': '' }, /agora\.sim\.failure_rate/],
    [{ 'agora.sim.start_delay': 'forever' }, /agora\.sim\.start_delay.*cannot be forever/],
  ];
  for (const [l, re] of bad) {
    const r = planSimulatedTask(labels(l), DEFAULT_SIM, never);
    t.equal(r.ok, false, JSON.stringify(l));
    if (!r.ok) t.match(r.message, re, JSON.stringify(l));
  }
  // A label without a value is a bad value too.
  const r = planSimulatedTask([{ key: 'agora.sim.exit_code' }], DEFAULT_SIM, never);
  t.equal(r.ok, false);
});

t.test('failure rate: one draw per task; failures fail at start with a non-zero exit code', async (t) => {
  const failing = planSimulatedTask(labels({ 'agora.sim.failure_rate': '0.5', 'agora.sim.duration': '1s' }), DEFAULT_SIM, () => 0.2);
  t.same(failing, { ok: true, plan: { startDelayMs: 0, outcome: 'fail', durationMs: 0, exitCode: 1, failsAtStart: true, message: 'Simulated failure at start (failure rate 0.5)' } });
  const passing = planSimulatedTask(labels({ 'agora.sim.failure_rate': '0.5', 'agora.sim.duration': '1s' }), DEFAULT_SIM, () => 0.7);
  t.equal(passing.ok && passing.plan.outcome, 'finish');
  const always = planSimulatedTask(undefined, { ...DEFAULT_SIM, failureRate: 1 }, () => 0.999999);
  t.equal(always.ok && always.plan.failsAtStart, true, 'rate 1 always fails');
});

t.test('a seeded source makes the failures reproducible, at about the asked rate', async (t) => {
  const run = (seed: number): boolean[] => {
    const random = seededRandom(seed);
    return Array.from({ length: 2000 }, () => {
      const r = planSimulatedTask(undefined, { ...DEFAULT_SIM, failureRate: 0.25 }, random);
      return r.ok && r.plan.failsAtStart;
    });
  };
  const a = run(42);
  t.same(run(42), a, 'same seed, same failures');
  t.not(JSON.stringify(run(43)), JSON.stringify(a), 'another seed, other failures');
  const rate = a.filter(Boolean).length / a.length;
  t.ok(rate > 0.2 && rate < 0.3, `failure share ${rate} is near 0.25`);
  const r = seededRandom(1);
  for (let i = 0; i < 1000; i++) {
    const x = r();
    if (!(x >= 0 && x < 1)) t.fail(`draw ${x} out of [0, 1)`);
  }
});
