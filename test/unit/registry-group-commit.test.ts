/**
 * The registry's group commit (pure logic over an in-memory document): operations that
 * arrive during a write share the next write, no-op operations are not written, and a bad
 * operation or a failed write rejects only what it must.
 */
import t from 'tap';
import { DocumentRegistry, emptyRegistry, type RegistrySnapshot } from '../../master/registry/index.js';
import type { AgentInfo } from '../../sdk/protocol/index.js';

const info = (host: string): AgentInfo => ({ hostname: host, port: 5051, resources: [] });

/** Stores the document in memory and counts writes; `failNext` makes the next write fail. */
class MemoryRegistry extends DocumentRegistry {
  stored?: RegistrySnapshot;
  writes = 0;
  failNext = false;
  protected async read(): Promise<RegistrySnapshot | undefined> {
    return this.stored === undefined ? undefined : structuredClone(this.stored);
  }
  protected async write(s: RegistrySnapshot): Promise<void> {
    await new Promise((r) => setImmediate(r));
    this.writes += 1;
    if (this.failNext) {
      this.failNext = false;
      throw new Error('disk full');
    }
    this.stored = structuredClone(s);
  }
}

t.test('200 concurrent admissions take two writes, not 200', async (t) => {
  const r = new MemoryRegistry();
  await r.load();
  await Promise.all(Array.from({ length: 200 }, (_, i) => r.admitAgent(`a${i}`, info(`h${i}`), i)));
  t.equal(Object.keys(r.stored!.agents).length, 200);
  // The first op starts a write alone; the other 199 arrive while it is in flight.
  t.equal(r.writes, 2);
});

t.test('re-admitting an agent with unchanged info writes nothing; changed info writes', async (t) => {
  const r = new MemoryRegistry();
  await r.load();
  await r.admitAgent('a1', info('h1'), 1);
  t.equal(r.writes, 1);
  await r.admitAgent('a1', info('h1'), 2);
  t.equal(r.writes, 1);
  t.equal(r.stored!.agents.a1!.admittedAt, 1, 'the first admission time is kept');
  await r.admitAgent('a1', info('h1b'), 3);
  t.equal(r.writes, 2);
  await r.markUnreachable('a1', 4);
  await r.admitAgent('a1', info('h1b'), 5);
  t.equal(r.writes, 4, 'an unreachable agent coming back is written');
  t.same(r.stored!.unreachable, {});
  await r.setFrameworkDeadline('f', undefined);
  await r.setFrameworkDeadline('f', undefined);
  await r.removeFramework('nope');
  await r.removeAgent('nope');
  t.equal(r.writes, 5);
});

t.test('a bad operation in a batch rejects alone; the rest is written', async (t) => {
  const r = new MemoryRegistry();
  await r.load();
  const first = r.admitAgent('a0', info('h0'), 0);
  const batch = [r.admitAgent('a1', info('h1'), 1), r.admitAgent('', info('bad'), 1), r.setFrameworkDeadline('f', 9)];
  const results = await Promise.allSettled([first, ...batch]);
  t.same(results.map((x) => x.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
  t.same(Object.keys(r.stored!.agents).sort(), ['a0', 'a1']);
  t.same(r.stored!.frameworks, { f: { deadlineMs: 9 } });
});

t.test('a failed write rejects its batch and leaves the snapshot as it was', async (t) => {
  const r = new MemoryRegistry();
  await r.load();
  await r.admitAgent('a0', info('h0'), 0);
  r.failNext = true;
  const results = await Promise.allSettled([r.admitAgent('a1', info('h1'), 1), r.admitAgent('a2', info('h2'), 2)]);
  // The first op's batch fails (a2 may share it or go in the next write): what is stored is
  // exactly a0 plus the ops that were acknowledged.
  t.equal(results[0]!.status, 'rejected');
  const acknowledged = ['a1', 'a2'].filter((_, i) => results[i]!.status === 'fulfilled');
  t.same(Object.keys(r.stored!.agents).sort(), ['a0', ...acknowledged]);
  await r.admitAgent('a3', info('h3'), 3);
  t.ok(r.stored!.agents.a3, 'the registry keeps working after a failed write');
  await r.close();
  const again = await r.load();
  t.same(again, r.stored);
  t.not(again, emptyRegistry());
});
