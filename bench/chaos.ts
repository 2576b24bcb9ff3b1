/**
 * The long chaos run (docs/chaos.md): a real cluster under a seeded random schedule of
 * faults, invariants checked continuously and at the end.
 *
 *   node dist/bench/chaos.js [--profile long|ci] [--duration 30m] [--seed N] [--slaves 3] [--masters 3]
 *                            [--marathons 2] [--faults all|kind,…] [--converge 120s]
 *                            [--no-partition-aware] [--work-dir DIR] [--keep-work-dir]
 *
 * Prints the JSON-lines log and a final summary line
 * `{summary, seed, duration_s, faults, invariant_checks, violations, …}`; exits 1 when there
 * were violations. `--seed` replays a run's schedule. `agora chaos` is the same command.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import { runChaosFromCli } from './chaos/cli.js';

const { values } = parseArgs({
  options: {
    profile: { type: 'string' },
    duration: { type: 'string' },
    seed: { type: 'string' },
    slaves: { type: 'string' },
    masters: { type: 'string' },
    marathons: { type: 'string' },
    faults: { type: 'string' },
    converge: { type: 'string' },
    'work-dir': { type: 'string' },
    'keep-work-dir': { type: 'boolean' },
    'no-partition-aware': { type: 'boolean' },
  },
});
const { 'work-dir': workDir, 'keep-work-dir': keepWorkDir, 'no-partition-aware': notPartitionAware, ...rest } = values;
await runChaosFromCli({
  ...rest,
  ...(workDir !== undefined ? { workDir } : {}),
  ...(keepWorkDir ? { keepWorkDir } : {}),
  ...(notPartitionAware ? { partitionAware: false } : {}),
});
