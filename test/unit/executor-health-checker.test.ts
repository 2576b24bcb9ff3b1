/**
 * The executor's HealthChecker (slave/executor/health-checker.ts) on a manual clock with a
 * scripted probe: when checks run, what is reported, when the task is to be killed, stop().
 */
import t from 'tap';
import type { HealthCheckSpec } from '../../slave/executor/health-check-spec.js';
import { HealthChecker } from '../../slave/executor/health-checker.js';
import type { ProbeResult } from '../../slave/executor/health-probes.js';
import type { HealthReport } from '../../slave/executor/health-schedule.js';
import { ManualClock, deferred } from './scheduler-helpers.js';

const baseSpec: HealthCheckSpec = {
  probe: { type: 'TCP', host: '127.0.0.1', port: 1 },
  delayMs: 1_000, intervalMs: 500, timeoutMs: 100, consecutiveFailures: 2, gracePeriodMs: 0,
};

/** A checker whose probe answers from `script` (in order) and records when it was called. */
function harness(spec: Partial<HealthCheckSpec>, script: boolean[]) {
  const clock = new ManualClock();
  const probedAt: number[] = [];
  const reports: { at: number; report: HealthReport; kill: boolean }[] = [];
  let settled = 0;
  const waiters: (() => void)[] = [];
  const checker = new HealthChecker({
    spec: { ...baseSpec, ...spec },
    clock,
    probe: async () => {
      probedAt.push(clock.now());
      const healthy = script.shift() ?? true;
      queueMicrotask(() => {
        settled++;
        waiters.splice(0).forEach((w) => w());
      });
      return { healthy, message: healthy ? 'ok' : 'nope' };
    },
    onReport: (report, kill) => reports.push({ at: clock.now(), report, kill }),
  });
  /** Advances to the next check and lets its result be applied. */
  const step = async (ms: number): Promise<void> => {
    const before = settled;
    clock.advance(ms);
    while (settled === before) await new Promise<void>((r) => waiters.push(r));
    await new Promise<void>((r) => setImmediate(r));
  };
  return { clock, checker, probedAt, reports, step };
}

t.test('first check after delay, then every interval after each check', async (t) => {
  const h = harness({}, [true, true, true]);
  h.checker.start();
  t.same(h.clock.pending().map((p) => p.at), [1_000]);
  await h.step(1_000);
  await h.step(500);
  await h.step(500);
  t.same(h.probedAt, [1_000, 1_500, 2_000]);
  t.same(h.reports, [{ at: 1_000, report: { healthy: true, consecutiveFailures: 0 }, kill: false }], 'only the first success is reported');
});

t.test('failures are reported and the second in a row asks for a kill', async (t) => {
  const h = harness({}, [true, false, false]);
  h.checker.start();
  await h.step(1_000);
  await h.step(500);
  await h.step(500);
  t.same(h.reports.map((r) => [r.report.healthy, r.report.consecutiveFailures, r.kill]), [[true, 0, false], [false, 1, false], [false, 2, true]]);
});

t.test('grace period: early failures ignored, then counted', async (t) => {
  const h = harness({ delayMs: 0, intervalMs: 1_000, gracePeriodMs: 1_500, consecutiveFailures: 1 }, [false, false, false]);
  h.checker.start();
  await h.step(0);
  await h.step(1_000);
  t.same(h.reports, [], 'failures at 0 and 1000 ms are within the 1.5 s grace');
  await h.step(1_000);
  t.same(h.reports, [{ at: 2_000, report: { healthy: false, consecutiveFailures: 1 }, kill: true }]);
});

t.test('stop() cancels the next check', async (t) => {
  const h = harness({}, [true]);
  h.checker.start();
  await h.step(1_000);
  h.checker.stop();
  t.same(h.clock.pending(), []);
  h.clock.advance(10_000);
  t.same(h.probedAt, [1_000]);
});

t.test('stop() during a check aborts it and drops its result', async (t) => {
  const clock = new ManualClock();
  const gate = deferred<ProbeResult>();
  let aborted = false;
  const reports: HealthReport[] = [];
  const started = deferred();
  const checker = new HealthChecker({
    spec: baseSpec,
    clock,
    probe: (signal) => {
      signal.addEventListener('abort', () => { aborted = true; });
      started.resolve();
      return gate.promise;
    },
    onReport: (report) => reports.push(report),
  });
  checker.start();
  clock.advance(1_000);
  await started.promise;
  checker.stop();
  t.ok(aborted, 'the probe saw the abort');
  gate.resolve({ healthy: false, message: 'late' });
  await new Promise<void>((r) => setImmediate(r));
  t.same(reports, []);
  t.same(clock.pending(), []);
});

t.test('a probe that throws counts as a failure', async (t) => {
  const clock = new ManualClock();
  const reports: HealthReport[] = [];
  const reported = deferred();
  const checker = new HealthChecker({
    spec: { ...baseSpec, delayMs: 0 },
    clock,
    probe: async () => { throw new Error('boom'); },
    onReport: (report) => { reports.push(report); reported.resolve(); },
  });
  checker.start();
  clock.advance(0);
  await reported.promise;
  t.same(reports, [{ healthy: false, consecutiveFailures: 1 }]);
  checker.stop();
});
