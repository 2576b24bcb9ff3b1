/**
 * Launch backoff (Marathon's RateLimiter): growth, cap, key by app id + config version,
 * reset, queue delay rendering.
 */
import t from 'tap';
import {
  backoffAfterFailure, backoffDeadlineMs, backoffKey, isBackoffOverdue, launchDelayRemainingMs, queueDelay,
  type BackoffState,
} from '../../frameworks/marathon/launch/index.js';
import { app } from './marathon-plan-fixtures.js';

const NOW = 1_000_000;
const a = app('/web', { backoffSeconds: 1, backoffFactor: 2, maxLaunchDelaySeconds: 10 });

t.test('first failure: backoffSeconds; then × factor, capped at maxLaunchDelaySeconds', async (t) => {
  let s: BackoffState | undefined;
  const delays: number[] = [];
  for (let i = 0; i < 6; i++) {
    s = backoffAfterFailure(s, a, NOW + i);
    delays.push(s.currentDelayMs);
  }
  t.same(delays, [1000, 2000, 4000, 8000, 10000, 10000]);
  t.equal(backoffDeadlineMs(s!), NOW + 5 + 10000);
});

t.test('default factor 1.15 (Marathon default) grows slowly', async (t) => {
  const d = app('/d', { backoffSeconds: 1, backoffFactor: 1.15, maxLaunchDelaySeconds: 300 });
  const s1 = backoffAfterFailure(undefined, d, NOW);
  const s2 = backoffAfterFailure(s1, d, NOW);
  const s3 = backoffAfterFailure(s2, d, NOW);
  t.same([s1.currentDelayMs, s2.currentDelayMs, s3.currentDelayMs], [1000, 1150, 1322.5]);
});

t.test('backoffSeconds above the max is capped from the start', async (t) => {
  const s = backoffAfterFailure(undefined, app('/x', { backoffSeconds: 50, maxLaunchDelaySeconds: 20 }), NOW);
  t.equal(s.currentDelayMs, 20000);
});

t.test('remaining delay counts down to 0', async (t) => {
  const s = backoffAfterFailure(undefined, a, NOW);
  t.equal(launchDelayRemainingMs(s, a, NOW), 1000);
  t.equal(launchDelayRemainingMs(s, a, NOW + 400), 600);
  t.equal(launchDelayRemainingMs(s, a, NOW + 5000), 0);
  t.equal(launchDelayRemainingMs(undefined, a, NOW), 0, 'reset = no state = no delay');
});

t.test('scaling keeps the delay, a config change starts afresh', async (t) => {
  const s = backoffAfterFailure(backoffAfterFailure(undefined, a, NOW), a, NOW);
  t.equal(s.currentDelayMs, 2000);
  const scaled = { ...a, instances: 5, version: '2026-02-01T00:00:00.000Z', versionInfo: { ...a.versionInfo, lastScalingAt: '2026-02-01T00:00:00.000Z' } };
  t.equal(backoffKey(scaled), backoffKey(a));
  t.equal(launchDelayRemainingMs(s, scaled, NOW), 2000);
  t.equal(backoffAfterFailure(s, scaled, NOW).currentDelayMs, 4000);
  const changed = { ...a, cmd: 'other', versionInfo: { lastScalingAt: '2026-03-01T00:00:00.000Z', lastConfigChangeAt: '2026-03-01T00:00:00.000Z' } };
  t.not(backoffKey(changed), backoffKey(a));
  t.equal(launchDelayRemainingMs(s, changed, NOW), 0);
  t.equal(backoffAfterFailure(s, changed, NOW).currentDelayMs, 1000);
  t.equal(launchDelayRemainingMs(s, app('/other'), NOW), 0, 'another app never sees it');
});

t.test('overdue after maxLaunchDelay past the last failure (Marathon cleanUpOverdueDelays)', async (t) => {
  const s = backoffAfterFailure(undefined, a, NOW);
  t.equal(isBackoffOverdue(s, NOW + 10000), false);
  t.equal(isBackoffOverdue(s, NOW + 10001), true);
});

t.test('queue delay: whole seconds left, overdue when passed or absent', async (t) => {
  const s = backoffAfterFailure(backoffAfterFailure(undefined, a, NOW), a, NOW);
  t.same(queueDelay(s, a, NOW + 500), { timeLeftSeconds: 1, overdue: false });
  t.same(queueDelay(s, a, NOW + 2000), { timeLeftSeconds: 0, overdue: true });
  t.same(queueDelay(undefined, a, NOW), { timeLeftSeconds: 0, overdue: true });
});
