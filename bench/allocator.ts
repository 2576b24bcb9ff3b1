/**
 * One allocation pass of the pure DRF allocator (master/allocator), for agents × frameworks
 * in {1k, 10k, 50k} × {1, 100, 1000}: every agent idle with cpus:8;mem:32768;disk:100000,
 * every framework active in role `*` with a little already allocated (so DRF has shares
 * to sort), no filters. Prints one JSON line: per cell the median of a few passes (ms),
 * the number of offers made, and how the cost grows with the agents at 100 frameworks.
 *
 *   node dist/bench/allocator.js [--quick]   (--quick: {1k, 10k} × {1, 100})
 *
 * Bounded: each cell runs at most 5 passes or 20 s, the whole run at most 5 minutes
 * (cells left when the time is up are reported as skipped).
 *
 * @module
 */
import { execSync } from 'node:child_process';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { allocate } from '../master/allocator/allocate.js';
import type { AllocationSnapshot, AllocatorAgent, AllocatorFramework } from '../master/allocator/types.js';
import type { Resource } from '../sdk/protocol/index.js';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const AGENTS = values.quick ? [1_000, 10_000] : [1_000, 10_000, 50_000];
const FRAMEWORKS = values.quick ? [1, 100] : [1, 100, 1_000];
const MAX_PASSES = 5;
const CELL_BUDGET_MS = 20_000;
const RUN_BUDGET_MS = 300_000;

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

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const runDeadline = Date.now() + RUN_BUDGET_MS;
const cells: Array<Record<string, unknown>> = [];
for (const agents of AGENTS) {
  for (const frameworks of FRAMEWORKS) {
    if (Date.now() > runDeadline) {
      cells.push({ agents, frameworks, skipped: 'run time budget spent' });
      continue;
    }
    const snap = snapshot(agents, frameworks);
    allocate(snap); // warm-up (JIT)
    const times: number[] = [];
    let offers = 0;
    const cellDeadline = Date.now() + CELL_BUDGET_MS;
    while (times.length < MAX_PASSES && Date.now() < cellDeadline) {
      const start = process.hrtime.bigint();
      const result = allocate(snap);
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
      offers = result.allocations.length;
    }
    cells.push({ agents, frameworks, passes: times.length, ms_median: Math.round(median(times) * 100) / 100, ms_min: Math.round(Math.min(...times) * 100) / 100, offers });
  }
}

const at100 = cells.filter((c) => c.frameworks === 100 && typeof c.ms_median === 'number') as Array<{ agents: number; ms_median: number }>;
const growth = at100.length >= 2
  ? Math.round((at100.at(-1)!.ms_median / at100[0]!.ms_median) / (at100.at(-1)!.agents / at100[0]!.agents) * 100) / 100
  : undefined;
let commit = 'unknown';
try {
  commit = execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
} catch {
  // not a git checkout
}
console.log(JSON.stringify({
  bench: 'allocator',
  quick: values.quick,
  cells,
  // Cost per agent at the largest agent count over the smallest, at 100 frameworks: 1 = linear.
  growth_vs_linear_at_100_frameworks: growth,
  target: 'one pass <= 10 ms at 10k agents x 100 frameworks; cost no worse than linear in agents',
  load_average: os.loadavg().map((x) => Math.round(x * 100) / 100),
  commit,
}));
