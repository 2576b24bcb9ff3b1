/**
 * The test kit's VirtualClock (sdk/testing/virtual-clock.ts): ordering, intervals, timers
 * set by timers, cancellation, settling, the livelock guard and bad input.
 */
import t from 'tap';
import { AgoraError } from '../../sdk/core/errors.js';
import { VirtualClock } from '../../sdk/testing/virtual-clock.js';

t.test('advance fires due timers in deadline order, ties in the order they were set', async (t) => {
  const clock = new VirtualClock({ startMs: 1000 });
  const fired: string[] = [];
  clock.setTimeout(() => fired.push(`c@${clock.now()}`), 300);
  clock.setTimeout(() => fired.push(`a@${clock.now()}`), 100);
  clock.setTimeout(() => fired.push(`b@${clock.now()}`), 100);
  clock.setTimeout(() => fired.push('late'), 1000);
  t.equal(clock.advance(500), 3);
  t.same(fired, ['a@1100', 'b@1100', 'c@1300']);
  t.equal(clock.now(), 1500, 'time lands on the target');
  t.equal(clock.pending().length, 1);
});

t.test('timers set by fired timers fire in the same advance when due', async (t) => {
  const clock = new VirtualClock();
  const fired: number[] = [];
  clock.setTimeout(() => {
    fired.push(clock.now());
    clock.setTimeout(() => fired.push(clock.now()), 50);
    clock.setTimeout(() => fired.push(clock.now()), 500);
  }, 100);
  clock.advance(200);
  t.same(fired, [100, 150]);
  clock.advance(1000);
  t.same(fired, [100, 150, 600]);
});

t.test('intervals repeat until cancelled; cancelled timers never fire', async (t) => {
  const clock = new VirtualClock();
  const ticks: number[] = [];
  const every = clock.setInterval(() => ticks.push(clock.now()), 250);
  const never = clock.setTimeout(() => ticks.push(-1), 100);
  never.cancel();
  clock.advance(1000);
  t.same(ticks, [250, 500, 750, 1000]);
  every.cancel();
  clock.advance(1000);
  t.same(ticks, [250, 500, 750, 1000]);
  t.same(clock.pending(), []);
});

t.test('nextTimer resolves with the next matching timer; nextDueAt names the earliest', async (t) => {
  const clock = new VirtualClock();
  const next = clock.nextTimer((timer) => timer.delay === 42);
  clock.setTimeout(() => undefined, 7);
  clock.setTimeout(() => undefined, 42);
  const timer = await next;
  t.equal(timer.delay, 42);
  t.equal(timer.at, 42);
  t.equal(clock.nextDueAt(), 7);
});

t.test('tick settles promises between timers, so async reactions see their own time', async (t) => {
  const clock = new VirtualClock();
  const seen: string[] = [];
  clock.setTimeout(() => {
    void Promise.resolve().then(() => {
      seen.push(`reacted@${clock.now()}`);
      clock.setTimeout(() => seen.push(`follow-up@${clock.now()}`), 0);
    });
  }, 100);
  clock.setTimeout(() => seen.push(`other@${clock.now()}`), 200);
  await clock.tick(1000);
  t.same(seen, ['reacted@100', 'follow-up@100', 'other@200']);
  t.equal(clock.now(), 1000);
});

t.test('autoRunDue runs zero-delay timers without moving time; runUntilIdle waits for them', async (t) => {
  const clock = new VirtualClock({ autoRunDue: true, startMs: 5 });
  const seen: number[] = [];
  clock.setTimeout(() => {
    seen.push(1);
    clock.setTimeout(() => seen.push(2), 0);
  }, 0);
  clock.setTimeout(() => seen.push(99), 10);
  await clock.runUntilIdle();
  t.same(seen, [1, 2]);
  t.equal(clock.now(), 5, 'time did not move');
  clock.stop();
});

t.test('runUntilIdle fails fast with AGORA_TESTING_LIVELOCK when work never stops', async (t) => {
  const clock = new VirtualClock({ stepLimit: 50 });
  const spin = (): void => { clock.setTimeout(spin, 0); };
  clock.setTimeout(spin, 0);
  await t.rejects(clock.runUntilIdle(), { code: 'AGORA_TESTING_LIVELOCK', message: /after 50 timers/ });
});

t.test('same calls, same firings (deterministic)', async (t) => {
  const run = (): string[] => {
    const clock = new VirtualClock();
    const log: string[] = [];
    for (let i = 0; i < 20; i++) clock.setTimeout(() => log.push(`${i}@${clock.now()}`), (i * 37) % 7 * 10);
    clock.setInterval(() => log.push(`i@${clock.now()}`), 15);
    clock.advance(100);
    return log;
  };
  t.same(run(), run());
});

t.test('bad input and bad options are AgoraErrors with a code; nothing changes', async (t) => {
  const clock = new VirtualClock({ startMs: 10 });
  for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, '5' as unknown as number]) {
    t.throws(() => clock.advance(bad), { code: 'AGORA_TESTING_BAD_INPUT' }, `advance(${String(bad)})`);
  }
  await t.rejects(clock.tick(-5), { code: 'AGORA_TESTING_BAD_INPUT' });
  t.equal(clock.now(), 10, 'time unchanged');
  t.throws(() => new VirtualClock({ startMs: -1 }), { code: 'AGORA_TESTING_BAD_OPTIONS' });
  t.throws(() => new VirtualClock({ stepLimit: 0 }), { code: 'AGORA_TESTING_BAD_OPTIONS' });
  t.throws(() => new VirtualClock(null as unknown as object), AgoraError);
});
