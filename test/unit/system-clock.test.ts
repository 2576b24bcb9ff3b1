/**
 * The wall clock's zero-delay timers (sdk/core/clock.ts): a timer of 0 ms (or less) runs at
 * the end of the current event-loop turn, as setImmediate does, in the order it was set,
 * rather than after Node's 1 ms minimum for setTimeout; it can be cancelled; and it never
 * keeps the process alive alone (unref'd, like every timer of the clock).
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
