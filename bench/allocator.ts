/**
 * `allocator`: one allocation pass of the pure DRF allocator (master/allocator), for
 * agents × frameworks in {1k, 10k, 50k} × {1, 100, 1000} (quick: {1k, 10k} × {1, 100}):
 * every agent idle with cpus:8;mem:32768;disk:100000, every framework active in role `*`
 * with a little already allocated (so DRF has shares to sort), no filters. Figures per cell:
 * the median and minimum of a few passes (ms) and the number of offers made; and how the
 * cost grows with the agents at 100 frameworks (1 = linear).
 *
 *   node dist/bench/allocator.js [--quick] [--json]
 *
 * In-process, no other process. Each cell runs at most 5 passes or 20 s; cells left when the
 * budget is spent are reported as skipped.
 *
 * @module
 */
import { allocate } from '../master/allocator/allocate.js';
import type { AllocationSnapshot, AllocatorAgent, AllocatorFramework } from '../master/allocator/types.js';
import type { Resource } from '../sdk/protocol/index.js';
import { runBench } from './lib/run.js';
import { median, msSince, round } from './lib/stats.js';

const MAX_PASSES = 9;
const CELL_BUDGET_MS = 20_000;

const scalar = (name: string, value: number): Resource => ({ name, type: 'SCALAR', scalar: { value } });

function snapshot(agentCount: number, frameworkCount: number): AllocationSnapshot {
  const agents: AllocatorAgent[] = Array.from({ length: agentCount }, (_, i) => {
    const resources = [scalar('cpus', 8), scalar('mem', 32_768), scalar('disk', 100_000)];
    return { id: `agent-${i}`, total: resources, available: resources, active: true };
  });
  const frameworks: AllocatorFramework[] = Array.from({ length: frameworkCount }, (_, i) => ({
    id: `framework-${i}`,
    roles: ['*'],
    suppressedRoles: new Set<string>(),
    // Distinct shares, so the DRF order is not a tie.
    allocated: [scalar('cpus', (i % 50) * 0.1), scalar('mem', (i % 70) * 16)],
    active: true,
  }));
  return { agents, frameworks, filters: [], now: Date.now() };
}

interface Cell {
  agents: number;
  frameworks: number;
  passes?: number;
  ms_median?: number;
  ms_min?: number;
  offers?: number;
  skipped?: string;
}

await runBench({
  name: 'allocator',
  budgetMs: { quick: 60_000, full: 300_000 },
  targets: [
    { figure: 'ms_at_10k_agents_100_frameworks', op: '<=', value: 10, unit: 'ms' },
    { figure: 'growth_vs_linear_at_100_frameworks', op: '<=', value: 1.1 },
  ],
  anchor: 'Mesos allocates in 1 s batches (allocation_interval); a pass at 10k agents x 100 frameworks within 10 ms',
  async run(ctx) {
    const agentCounts = ctx.quick ? [1_000, 10_000] : [1_000, 10_000, 50_000];
    const frameworkCounts = ctx.quick ? [1, 100] : [1, 100, 1_000];
    // Leave a fifth of the budget for the slowest cell still running when it ends.
    const stopStartingAt = ctx.deadline - (ctx.quick ? 15_000 : 60_000);
    const cells: Cell[] = [];
    for (const agents of agentCounts) {
      for (const frameworks of frameworkCounts) {
        if (Date.now() > stopStartingAt) {
          cells.push({ agents, frameworks, skipped: 'time budget spent' });
          continue;
        }
        ctx.note(`${agents} agents x ${frameworks} frameworks`);
        const snap = snapshot(agents, frameworks);
        allocate(snap); // warm-up (JIT)
        const times: number[] = [];
        let offers = 0;
        const cellDeadline = Math.min(Date.now() + CELL_BUDGET_MS, stopStartingAt);
        while (times.length < MAX_PASSES && (times.length === 0 || Date.now() < cellDeadline)) {
          const start = process.hrtime.bigint();
          const result = allocate(snap);
          times.push(msSince(start));
          offers = result.allocations.length;
        }
        cells.push({ agents, frameworks, passes: times.length, ms_median: round(median(times)), ms_min: round(Math.min(...times)), offers });
      }
    }
    const at100 = cells.filter((c) => c.frameworks === 100 && c.ms_median !== undefined);
    const first = at100[0];
    const last = at100.at(-1);
    // Cost per agent at the largest agent count over the smallest, at 100 frameworks: 1 = linear.
    const growth = first && last && last !== first ? round((last.ms_median! / first.ms_median!) / (last.agents / first.agents)) : undefined;
    return {
      params: { agents: agentCounts, frameworks: frameworkCounts, passes_per_cell: MAX_PASSES },
      figures: {
        ms_at_10k_agents_100_frameworks: cells.find((c) => c.agents === 10_000 && c.frameworks === 100)?.ms_median,
        growth_vs_linear_at_100_frameworks: growth,
        cells,
      },
    };
  },
});
