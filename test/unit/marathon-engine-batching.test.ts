/**
 * Group commit and batching in the Marathon engine, with fakes for the I/O:
 * - DirSync: one directory fsync answers every caller that arrived before it started; a
 *   caller arriving while one runs waits for the next (its rename may be after the running
 *   one's start); failures reach the callers of that fsync only.
 * - UpdateBatcher: updates queued while the exclusive section is busy are handled as one
 *   batch, acknowledged only once handled (a failed one never), in order with other
 *   exclusive work, and nothing after close.
 */
import t from 'tap';
import { pino } from 'pino';
import { DirSync } from '../../frameworks/marathon/engine/dir-sync.js';
import { UpdateBatcher } from '../../frameworks/marathon/engine/update-batcher.js';
import type { TaskStatus } from '../../sdk/protocol/index.js';

/** A controllable fsync: each call waits until released. */
function fakeFsync(): { fsync: (dir: string) => Promise<void>; calls: Array<{ dir: string; release: (err?: Error) => void }> } {
  const calls: Array<{ dir: string; release: (err?: Error) => void }> = [];
  return {
    calls,
    fsync: (dir) => new Promise<void>((resolve, reject) => {
      calls.push({ dir, release: (err) => (err ? reject(err) : resolve()) });
    }),
  };
}

/** Lets pending promise callbacks run (no timers). */
async function settle(): Promise<void> {
  for (let n = 0; n < 10; n++) await Promise.resolve();
}

t.test('DirSync: callers during an fsync share the next one; one fsync per directory at a time', async (t) => {
  const f = fakeFsync();
  const sync = new DirSync(f.fsync);
  const done: string[] = [];
  const first = sync.sync('/d').then(() => done.push('first'));
  await settle();
  t.equal(f.calls.length, 1, 'the first caller starts an fsync');
  const later = [sync.sync('/d'), sync.sync('/d'), sync.sync('/d')].map((p, n) => p.then(() => done.push(`later${n}`)));
  await settle();
  t.equal(f.calls.length, 1, 'no second fsync while one runs');
  f.calls[0]!.release();
  await first;
  await settle();
  t.same(done, ['first'], 'the later callers do not count on the fsync that started before them');
  t.equal(f.calls.length, 2, 'one fsync for all three later callers');
  f.calls[1]!.release();
  await Promise.all(later);
  t.same(done, ['first', 'later0', 'later1', 'later2']);

  const other = sync.sync('/e');
  await settle();
  t.equal(f.calls.length, 3, 'another directory has its own fsync');
  t.equal(f.calls[2]!.dir, '/e');
  f.calls[2]!.release();
  await other;
});

t.test('DirSync: a failed fsync rejects its callers; the next one is separate', async (t) => {
  const f = fakeFsync();
  const sync = new DirSync(f.fsync);
  const first = sync.sync('/d');
  await settle();
  const second = sync.sync('/d');
  f.calls[0]!.release(new Error('EIO'));
  await t.rejects(first, /EIO/);
  await settle();
  t.equal(f.calls.length, 2, 'the queued caller still gets its own fsync');
  f.calls[1]!.release();
  await t.resolves(second);
});

function status(task: string, state: TaskStatus['state'] = 'TASK_RUNNING', uuid = `u-${task}`): TaskStatus {
  return { task_id: { value: task }, state, agent_id: { value: 'S0' }, uuid } as TaskStatus;
}

/** An exclusive section like the engine's: a promise chain. */
function exclusiveChain(): <T>(fn: () => Promise<T>) => Promise<T> {
  let lock: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = lock.catch(() => undefined).then(fn);
    lock = run.catch(() => undefined);
    return run;
  };
}

t.test('UpdateBatcher: updates arriving while busy form one batch, acknowledged after handling', async (t) => {
  const exclusive = exclusiveChain();
  const batches: string[][] = [];
  const acked: string[] = [];
  const order: string[] = [];
  let releaseBusy!: () => void;
  const batcher = new UpdateBatcher({
    exclusive,
    handle: async (statuses) => {
      batches.push(statuses.map((s) => s.task_id.value));
      order.push(`batch:${statuses.length}`);
      return statuses.map((s) => s.task_id.value !== 'bad');
    },
    acknowledge: async (s) => {
      acked.push(s.task_id.value);
    },
    logger: pino({ level: 'silent' }),
  });
  // The section is busy (an offer round, say): updates queue up behind it.
  void exclusive(() => new Promise<void>((resolve) => { releaseBusy = resolve; }));
  batcher.push(status('a'));
  batcher.push(status('b'));
  const offers = exclusive(async () => {
    order.push('offers');
  });
  batcher.push(status('bad'));
  batcher.push(status('c'));
  await settle();
  t.same(batches, [], 'nothing handled while the section is busy');
  t.same(acked, [], 'nothing acknowledged before it is handled');
  releaseBusy();
  await offers;
  await settle();
  t.same(batches, [['a', 'b', 'bad', 'c']], 'one batch, in arrival order');
  t.same(order, ['batch:4', 'offers'], 'the batch runs before work queued after its first update');
  t.same(acked, ['a', 'b', 'c'], 'handled updates acknowledged; the failed one is not (the agent resends it)');

  batcher.push(status('d'));
  await settle();
  t.same(batches.at(-1), ['d'], 'a later update forms a new batch');
  t.same(acked.at(-1), 'd');

  batcher.close();
  batcher.push(status('e'));
  await settle();
  t.equal(batches.length, 2, 'nothing is handled after close');
});

t.test('UpdateBatcher: a failing acknowledgement or batch is logged, not thrown', async (t) => {
  const exclusive = exclusiveChain();
  const logged: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => { logged.push(JSON.parse(line).msg as string); } });
  let fail = false;
  const batcher = new UpdateBatcher({
    exclusive,
    handle: async (statuses) => {
      if (fail) throw new Error('store down');
      return statuses.map(() => true);
    },
    acknowledge: async () => {
      throw new Error('not subscribed');
    },
    logger,
  });
  batcher.push(status('a'));
  await settle();
  t.ok(logged.includes('acknowledgement failed (the update will be resent)'));
  fail = true;
  batcher.push(status('b'));
  await settle();
  t.ok(logged.includes('status update batch failed'));
  fail = false;
  batcher.push(status('c'));
  await settle();
  t.equal(logged.filter((m) => m.startsWith('acknowledgement failed')).length, 2, 'the batcher keeps working after a failed batch');
});
