/**
 * The benchmark harness's pure parts (bench/lib): percentiles, target checks, the table,
 * numeric flags.
 */
import t from 'tap';
import { checkTargets, figureAt, flattenFigures, renderTable } from '../../bench/lib/report.js';
import { percentiles, quantile } from '../../bench/lib/stats.js';
import { intFlag } from '../../bench/lib/run.js';

t.test('quantile is the nearest rank', async (t) => {
  const xs = Array.from({ length: 100 }, (_, i) => i + 1);
  t.equal(quantile(xs, 0.5), 50);
  t.equal(quantile(xs, 0.99), 99);
  t.equal(quantile(xs, 1), 100);
  t.equal(quantile([7], 0.99), 7);
  t.ok(Number.isNaN(quantile([], 0.5)));
});

t.test('percentiles sorts numerically and rounds', async (t) => {
  const p = percentiles([10, 9, 1, 2, 100, 3, 4, 5, 6, 7, 8]);
  t.same(p, { count: 11, p50: 6, p90: 10, p99: 100, max: 100, mean: 14.09 });
  t.same(percentiles([]), { count: 0, p50: 0, p90: 0, p99: 0, max: 0, mean: 0 }, 'no samples: zeros, not NaN (JSON has no NaN)');
});

t.test('targets are checked on dotted figure paths', async (t) => {
  const figures = { tasks_per_s: 12_000, latency_ms: { p99: 60 }, note: 'x' };
  t.equal(figureAt(figures, 'latency_ms.p99'), 60);
  t.equal(figureAt(figures, 'note'), undefined, 'not a number');
  t.equal(figureAt(figures, 'latency_ms.p50'), undefined);
  t.same(checkTargets(figures, [
    { figure: 'tasks_per_s', op: '>=', value: 10_000 },
    { figure: 'latency_ms.p99', op: '<=', value: 50, unit: 'ms' },
    { figure: 'missing', op: '<=', value: 1 },
  ]), [
    { figure: 'tasks_per_s', value: 12_000, target: '>= 10000', met: true },
    { figure: 'latency_ms.p99', value: 60, target: '<= 50 ms', met: false },
    { figure: 'missing', value: undefined, target: '<= 1', met: undefined },
  ]);
});

t.test('the table lists targets first, then every other figure', async (t) => {
  const figures = { a: 1, nested: { b: [1, 2] }, cells: [{ x: 1, y: 'z' }] };
  t.same(flattenFigures(figures), [['a', '1'], ['nested.b', '1, 2'], ['cells.0', 'x=1 y=z']]);
  const table = renderTable('demo', figures, checkTargets(figures, [{ figure: 'a', op: '>=', value: 2 }]));
  const lines = table.split('\n');
  t.equal(lines[0], 'demo:');
  t.match(lines[1], /^figure\s+value\s+target\s+met\?$/);
  t.match(lines[3], /^a\s+1\s+>= 2\s+NO$/);
  t.match(lines[4], /^nested\.b\s+1, 2$/);
  t.match(lines[5], /^cells\.0\s+x=1 y=z$/);
});

t.test('intFlag: the fallback when absent, integers of at least min, a clear error otherwise', async (t) => {
  const flags = (value: string | undefined) => ({ flags: { repeat: value } });
  t.equal(intFlag(flags(undefined), 'repeat', 2), 2);
  t.equal(intFlag(flags('3'), 'repeat', 2), 3);
  t.throws(() => intFlag(flags('0'), 'repeat', 2), /--repeat must be a positive integer, got "0"/, 'min 1 by default');
  t.equal(intFlag(flags('0'), 'repeat', 2, 0), 0, 'a count that may be 0 (launch --repeat 0)');
  t.throws(() => intFlag(flags('-1'), 'repeat', 2, 0), /--repeat must be a non-negative integer, got "-1"/);
  for (const bad of ['', ' ', '1.5', 'two', '0x']) t.throws(() => intFlag(flags(bad), 'repeat', 2, 0), /--repeat must be a non-negative integer/, JSON.stringify(bad));
  t.throws(() => intFlag(flags('4'), 'repeat', 2, 5), /--repeat must be an integer >= 5, got "4"/);
});
