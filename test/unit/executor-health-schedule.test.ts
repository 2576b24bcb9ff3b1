/**
 * The pure decisions of the executor's health checker (slave/executor/health-schedule.ts),
 * following Mesos's HealthCheckerProcess::success/failure.
 */
import t from 'tap';
import { firstCheckDelayMs, inGracePeriod, initialHealthState, onHealthResult, type HealthState } from '../../slave/executor/health-schedule.js';

const spec = { delayMs: 15_000, intervalMs: 10_000, consecutiveFailures: 3, gracePeriodMs: 10_000 };

/** Feeds results (true = healthy) at the given times; returns every decision. */
function run(s: typeof spec, results: [number, boolean][], startedAt = 0) {
  let state: HealthState = initialHealthState(startedAt);
  return results.map(([now, healthy]) => {
    const d = onHealthResult(s, state, healthy, now);
    state = d.state;
    return d;
  });
}

t.test('the first check is due delay after the start, the next ones interval after each check', async (t) => {
  t.equal(firstCheckDelayMs(spec), 15_000);
  const [d] = run(spec, [[15_000, true]]);
  t.equal(d!.nextCheckInMs, 10_000);
});

t.test('the first success is reported, later successes are not', async (t) => {
  const ds = run(spec, [[15_000, true], [25_000, true], [35_000, true]]);
  t.same(ds.map((d) => d.report), [{ healthy: true, consecutiveFailures: 0 }, undefined, undefined]);
  t.notOk(ds.some((d) => d.kill));
});

t.test('every counted failure is reported with its count; success after failures is reported once', async (t) => {
  const ds = run({ ...spec, gracePeriodMs: 0 }, [[15_000, true], [25_000, false], [35_000, false], [45_000, true], [55_000, true]]);
  t.same(ds.map((d) => d.report), [
    { healthy: true, consecutiveFailures: 0 },
    { healthy: false, consecutiveFailures: 1 },
    { healthy: false, consecutiveFailures: 2 },
    { healthy: true, consecutiveFailures: 0 },
    undefined,
  ]);
  t.notOk(ds.some((d) => d.kill), 'two failures in a row do not reach three');
});

t.test('consecutive_failures failures in a row kill the task (and stay "kill" afterwards)', async (t) => {
  const ds = run({ ...spec, gracePeriodMs: 0 }, [[1, false], [2, false], [3, false], [4, false]]);
  t.same(ds.map((d) => d.kill), [false, false, true, true]);
  t.same(ds.map((d) => d.report?.healthy), [false, false, false, false]);
  t.equal(ds[2]!.state.consecutiveFailures, 3);
});

t.test('a success resets the count', async (t) => {
  const ds = run({ ...spec, gracePeriodMs: 0 }, [[1, false], [2, false], [3, true], [4, false], [5, false], [6, false]]);
  t.same(ds.map((d) => d.kill), [false, false, false, false, false, true]);
});

t.test('failures within the grace period before the first success are ignored', async (t) => {
  const s = { ...spec, delayMs: 0, intervalMs: 1_000, gracePeriodMs: 5_000, consecutiveFailures: 1 };
  const ds = run(s, [[1_000, false], [5_000, false], [5_001, false]], 0);
  t.same(ds.map((d) => d.ignored), [true, true, false], 'ignored up to and including the end of the grace period');
  t.same(ds.map((d) => d.report), [undefined, undefined, { healthy: false, consecutiveFailures: 1 }]);
  t.same(ds.map((d) => d.kill), [false, false, true]);
  t.same(ds.map((d) => d.nextCheckInMs), [1_000, 1_000, 1_000], 'checking goes on while ignoring');
});

t.test('the grace period counts from the task start, not from the first check', async (t) => {
  const s = { ...spec, delayMs: 0, gracePeriodMs: 5_000 };
  t.ok(inGracePeriod(s, initialHealthState(100_000), 105_000));
  t.notOk(inGracePeriod(s, initialHealthState(100_000), 105_001));
});

t.test('after the first success, failures in the grace period count', async (t) => {
  const s = { ...spec, delayMs: 0, intervalMs: 1_000, gracePeriodMs: 60_000, consecutiveFailures: 2 };
  const ds = run(s, [[1_000, true], [2_000, false], [3_000, false]]);
  t.same(ds.map((d) => d.ignored), [false, false, false]);
  t.same(ds.map((d) => d.report?.healthy), [true, false, false]);
  t.same(ds.map((d) => d.kill), [false, false, true]);
});

t.test('a grace period of 0 ignores nothing', async (t) => {
  const [d] = run({ ...spec, gracePeriodMs: 0 }, [[0, false]]);
  t.equal(d!.ignored, false);
  t.same(d!.report, { healthy: false, consecutiveFailures: 1 });
});

t.test('consecutive_failures 0 never kills (Marathon maxConsecutiveFailures 0)', async (t) => {
  const ds = run({ ...spec, gracePeriodMs: 0, consecutiveFailures: 0 }, Array.from({ length: 10 }, (_, i) => [i, false] as [number, boolean]));
  t.notOk(ds.some((d) => d.kill));
  t.equal(ds[9]!.report!.consecutiveFailures, 10, 'failures are still reported');
});

t.test('decisions do not mutate the given state', async (t) => {
  const state = initialHealthState(0);
  onHealthResult({ ...spec, gracePeriodMs: 0 }, state, false, 1);
  t.same(state, { startedAt: 0, initializing: true, consecutiveFailures: 0 });
});
