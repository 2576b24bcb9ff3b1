/**
 * The wall clock's zero-delay timers (sdk/core/clock.ts): a timer of 0 ms (or less) runs at
 * the end of the current event-loop turn, as setImmediate does, in the order it was set,
 * rather than after Node's 1 ms minimum for setTimeout; it can be cancelled; and it holds
 * the event loop until it runs (a ref'd immediate), where the clock's other timers are
 * unref'd and never keep the process alive alone.
 */
import t from 'tap';
import { SystemClock } from '../../sdk/core/clock.js';

/** Resolves after the immediates queued before it have run. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

t.test('a zero-delay timer runs with the immediates, in the order it was set', async (t) => {
  const clock = new SystemClock();
  const order: string[] = [];
  clock.setTimeout(() => order.push('zero'), 0);
  setImmediate(() => order.push('immediate'));
  clock.setTimeout(() => order.push('negative'), -5);
  await nextTurn();
  t.same(order, ['zero', 'immediate', 'negative']);
});

t.test('a zero-delay timer can be cancelled before it runs', async (t) => {
  const clock = new SystemClock();
  let ran = false;
  const handle = clock.setTimeout(() => { ran = true; }, 0);
  handle.cancel();
  await nextTurn();
  await nextTurn();
  t.equal(ran, false);
});

t.test('a positive delay still waits on a timer', async (t) => {
  const clock = new SystemClock();
  const order: string[] = [];
  // The clock's timers are unref'd: a ref'd interval keeps this process alive meanwhile.
  const keepAlive = setInterval(() => undefined, 1_000);
  try {
    const fired = new Promise<void>((resolve) => clock.setTimeout(() => { order.push('timer'); resolve(); }, 5));
    await nextTurn();
    order.push('turn');
    await fired;
  } finally {
    clearInterval(keepAlive);
  }
  t.same(order, ['turn', 'timer']);
});

t.test('NaN is a zero delay, not a timer that never fires', async (t) => {
  const clock = new SystemClock();
  let ran = false;
  clock.setTimeout(() => { ran = true; }, Number.NaN);
  await nextTurn();
  t.equal(ran, true);
});

t.test('a zero-delay timer holds the event loop until it runs (a ref\'d immediate)', async (t) => {
  // An unref'd immediate does not stop the event loop from blocking in its wait for I/O: set
  // from a timer callback on a quiet process (the allocator's filter-expiry timer asking for
  // a pass), it ran only when an unrelated socket or timer woke the loop, seconds later on
  // an idle master. Node lists only ref'd immediates among the active resources.
  const clock = new SystemClock();
  const immediates = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Immediate').length;
  const before = immediates();
  let ran = false;
  clock.setTimeout(() => { ran = true; }, 0);
  t.equal(immediates(), before + 1, 'pending and ref\'d');
  await nextTurn();
  t.equal(ran, true);
  t.equal(immediates(), before, 'nothing held once it ran');
  const cancelled = clock.setTimeout(() => undefined, 0);
  cancelled.cancel();
  t.equal(immediates(), before, 'nothing held once cancelled');
});
