/**
 * Registry GC (master/registry/gc.ts) and the `pruneUnreachable` registry operation, plus
 * the master options behind them (bad values fail at startup with the reason).
 */
import t from 'tap';
import { compileMasterOptions } from '../../master/config.js';
import { applyRegistryOp, emptyRegistry, isNoopRegistryOp, unreachableAgentsToPrune } from '../../master/registry/index.js';

const DAY = 86_400_000;

t.test('agents unreachable longer than the age are pruned, oldest first', async (t) => {
  const now = 100 * DAY;
  const unreachable = new Map([['young', now - DAY], ['old', now - 20 * DAY], ['older', now - 30 * DAY], ['edge', now - 14 * DAY]]);
  t.same(unreachableAgentsToPrune(unreachable, now, { maxAgentAgeMs: 14 * DAY, maxAgentCount: 100 }), ['older', 'old'],
    'exactly the age is kept (Mesos prunes what is older)');
  t.same(unreachableAgentsToPrune(new Map(), now, { maxAgentAgeMs: 1, maxAgentCount: 1 }), []);
});

t.test('beyond the count the oldest go, whatever their age', async (t) => {
  const unreachable = new Map([['c', 3], ['a', 1], ['b', 2], ['d', 4]]);
  t.same(unreachableAgentsToPrune(unreachable, 10, { maxAgentAgeMs: 1000, maxAgentCount: 2 }), ['a', 'b']);
  t.same(unreachableAgentsToPrune(unreachable, 10, { maxAgentAgeMs: 7, maxAgentCount: 3 }), ['a', 'b'], 'count and age combined');
  t.same(unreachableAgentsToPrune(new Map([['y', 5], ['x', 5]]), 5, { maxAgentAgeMs: 10, maxAgentCount: 1 }), ['x'], 'ties broken by id');
});

t.test('pruneUnreachable moves unreachable entries only to gone', async (t) => {
  let s = emptyRegistry();
  s = applyRegistryOp(s, { op: 'admitAgent', id: 'live', info: { hostname: 'h' }, timeMs: 1 });
  s = applyRegistryOp(s, { op: 'markUnreachable', id: 'gone1', timeMs: 2 });
  s = applyRegistryOp(s, { op: 'markUnreachable', id: 'gone2', timeMs: 3 });
  const pruned = applyRegistryOp(s, { op: 'pruneUnreachable', ids: ['gone1', 'live', 'never'], timeMs: 9 });
  t.same(pruned.unreachable, { gone2: 3 });
  t.same(pruned.gone, { gone1: 9 }, 'the pruned agent is remembered as gone, with the time');
  t.ok(pruned.agents.live, 'an admitted agent named in the list stays admitted');
  t.same(s.unreachable, { gone1: 2, gone2: 3 }, 'the input is not changed');
  t.ok(isNoopRegistryOp(pruned, { op: 'pruneUnreachable', ids: ['gone1', 'live'], timeMs: 9 }), 'nothing left to prune: no write');
  t.notOk(isNoopRegistryOp(pruned, { op: 'pruneUnreachable', ids: ['gone2'], timeMs: 9 }));
  t.throws(() => applyRegistryOp(s, { op: 'pruneUnreachable', ids: [''], timeMs: 9 }), { code: 'AGORA_REGISTRY_BAD_INPUT' });
  t.throws(() => applyRegistryOp(s, { op: 'pruneUnreachable', ids: 'gone1' as unknown as string[], timeMs: 9 }), { code: 'AGORA_REGISTRY_BAD_INPUT' });
});

t.test('partition options: defaults and bad values', async (t) => {
  const c = compileMasterOptions({ port: 0, workDir: '/tmp/x' });
  t.equal(c.agentRemovalRateLimit, undefined, 'no rate limit by default (Mesos)');
  t.equal(c.registryMaxAgentAgeMs, 14 * DAY);
  t.equal(c.registryMaxAgentCount, 10_000);
  t.equal(c.registryGcIntervalMs, 15 * 60_000);
  t.same(compileMasterOptions({ port: 0, workDir: '/tmp/x', agentRemovalRateLimit: '1/10secs' }).agentRemovalRateLimit, { permits: 1, periodMs: 10_000, text: '1/10secs' });
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ agentRemovalRateLimit: '1 per 10secs' }, /agent removal rate limit "1 per 10secs" is invalid/],
    [{ agentRemovalRateLimit: '0/1secs' }, /at least 1/],
    [{ registryMaxAgentAgeMs: 0 }, /registryMaxAgentAgeMs must be a positive number/],
    [{ registryMaxAgentAgeMs: Number.NaN }, /registryMaxAgentAgeMs/],
    [{ registryMaxAgentCount: 0 }, /registryMaxAgentCount/],
    [{ registryMaxAgentCount: 2.5 }, /registryMaxAgentCount must be an integer/],
    [{ registryMaxAgentCount: 10_001 }, /1\.\.10000/],
    [{ registryGcIntervalMs: -5 }, /registryGcIntervalMs/],
  ];
  for (const [extra, message] of bad) {
    t.throws(() => compileMasterOptions({ port: 0, workDir: '/tmp/x', ...extra }), { code: 'AGORA_MASTER_BAD_OPTION', message }, JSON.stringify(extra));
  }
});
