/**
 * `agora chaos`: the fault-injection run (docs/chaos.md). Starts its own cluster of real
 * processes (ZooKeeper, masters, slaves, Marathons), injects a seeded random schedule of
 * faults, checks the invariants, prints JSON lines and a summary line; exit status 1 when
 * an invariant was violated. Needs the built tree and ZooKeeper (as `npm test` does).
 *
 * @module
 */
import { Command } from 'commander';
import { FAULT_KINDS } from '../../bench/chaos/schedule.js';

export function chaosCommand(): Command {
  return new Command('chaos')
    .description('run a fault-injection test on a throwaway local cluster and check its invariants')
    .option('--profile <name>', 'base settings: long (default) or ci (the CI run: 45s, 2 slaves, 1 Marathon; replays a CI seed exactly)')
    .option('--duration <dur>', 'how long to inject faults, e.g. 30m, 90s (default 30m; ci: 45s)')
    .option('--seed <n>', 'seed of the fault schedule (default: random; logged, so a run replays)')
    .option('--slaves <n>', 'number of slaves (default 3; ci: 2)')
    .option('--masters <n>', 'number of masters (default 3)')
    .option('--marathons <n>', 'number of Marathons (default 2; ci: 1)')
    .option('--faults <kinds>', `comma-separated fault kinds or "all" (default all): ${FAULT_KINDS.join(', ')}`)
    .option('--converge <dur>', 'bound on convergence after the faults stop (default 120s; ci: 60s)')
    .option('--work-dir <dir>', 'directory for the cluster (default: a temp dir, removed at the end)')
    .option('--keep-work-dir', 'keep the work dir')
    .option('--no-partition-aware', 'the chaos framework subscribes without PARTITION_AWARE (tasks of a cut-off slave become TASK_LOST)')
    .action(async (flags: Record<string, string | boolean | undefined>) => {
      const { runChaosFromCli } = await import('../../bench/chaos/cli.js');
      await runChaosFromCli(flags as never);
    });
}
