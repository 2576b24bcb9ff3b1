/**
 * `spawn`: real processes on ONE real slave. An SDK framework (in this process) launches
 * 2 × `tasks` command tasks running `true` (cpus 0.1, mem 32: up to 80 at once on the slave's
 * cpus:8) through the whole path — master, slave, command executor, task process. The first
 * `tasks` warm the processes up (V8 compiles and optimises the path, the framework's
 * executors start) and give the `cold` figures; tasks/s is the second `tasks`', counted from
 * their first ACCEPT to their last TASK_FINISHED, as `launch` reports a warm burst (a slave
 * and its framework's executors run for months). In the same run, the
 * raw rate of this machine: `/bin/true` spawned from Node and waited for, with 1 and with 8
 * in flight. Figure: full path / best raw rate (target ≥ 90 %). For context, also the rate of
 * task-shaped raw spawns (`sh -c true` in its own sandbox directory with stdout/stderr files,
 * 8 in flight) and the full path's ratio to it. Also the CPU of the master,
 * the slave, the executors (with their task launcher helpers), the task processes and this
 * process (the framework) over the whole run, each also per task, and peak RSS (this bench
 * supersedes the former bench/throughput).
 *
 *   node dist/bench/spawn.js [--quick] [--json] [--tasks N]
 *
 * The slave's work dir (task sandboxes, fsynced checkpoints) and the task-shaped raw spawns
 * are under `os.tmpdir()` (`TMPDIR`); `params.work_dir_fs` names its file system, which
 * weighs on the figure: on the bench machine the same code ran 0.49–0.60 of raw with `/tmp` on
 * its ext4 disk and 0.76–0.81 with `TMPDIR=/dev/shm` (tmpfs).
 *
 * Full: 10,000 tasks measured after 10,000 of warm-up (raw: 10,000 spawns per setting); quick:
 * 200. The full size is the steady state a slave lives in: with 80 tasks in flight, the path's
 * fill and drain (one ACCEPT → FINISHED latency, ~80 ms) is in the span whatever N is, ~8 %
 * of it at the former 1,000 (the raw spawns' 8 in flight, ~1 %), and the JIT and the
 * executor's start weigh on the first thousands of tasks (issue 6, round 13).
 *
 * @module
 */
import fs from 'node:fs';
import { LaunchFramework, type TaskTimes } from './lib/framework.js';
import { CpuWindow, ProcessSetSampler, commandName, descendantsToDepth, peakRssMb } from './lib/proc-stats.js';
import { intFlag, runBench } from './lib/run.js';
import { rawSpawnRate, rawTaskSpawnRate } from './lib/spawn-raw.js';
import { percentiles, round } from './lib/stats.js';
import { filesystemType } from './lib/environment.js';
import { nativeLauncherBuilt } from '../slave/executor/native-launcher.js';
import { taskLauncherKind } from '../slave/executor/task-launcher.js';

/** Command names of the task launcher helpers (the native one's, perl's). */
const LAUNCHER_HELPERS = new Set(['agora-launcher', 'perl']);

const RAW_IN_FLIGHT = 8;

await runBench({
  name: 'spawn',
  budgetMs: { quick: 90_000, full: 300_000 },
  flags: { tasks: { type: 'string' } },
  targets: [{ figure: 'ratio_to_raw', op: '>=', value: 0.9 }],
  anchor: 'Mesos: 1,000 containers in 30 s (~33/s); Node spawn ceiling here ~135/s',
  async run(ctx) {
    const tasks = intFlag(ctx, 'tasks', ctx.quick ? 200 : 10_000);

    // The raw rate first, on an idle machine (no cluster yet): the ceiling.
    ctx.note(`raw /bin/true spawns (${tasks} per setting)`);
    const rawDeadline = Date.now() + Math.min(60_000, ctx.remainingMs() / 4);
    const rawSequential = await rawSpawnRate(tasks, 1, rawDeadline);
    const rawParallel = await rawSpawnRate(tasks, RAW_IN_FLIGHT, rawDeadline);
    const rawBest = Math.max(rawSequential.per_s, rawParallel.per_s);
    // Context, not the target's denominator: what a task's own process costs (a sandbox and
    // its output files) with nothing of the cluster around it.
    const rawTask = await rawTaskSpawnRate(tasks, RAW_IN_FLIGHT, rawDeadline, fs.mkdtempSync(`${ctx.processes.workDir}/raw-`));

    ctx.note('starting a master and one slave');
    const master = await ctx.processes.master();
    const slave = await ctx.processes.slave(master, 'cpus:8;mem:16384;disk:10000;ports:[31000-31999]');
    const masterCpu = new CpuWindow(master.proc.pid);
    const slaveCpu = new CpuWindow(slave.proc.pid);
    // The slave's executors and their task launcher helpers: its children and grandchildren
    // (the tasks, the helpers' children, are counted by what the helpers reaped).
    const executorsAndHelpers = (): number[] => descendantsToDepth(slave.proc.pid, 2);
    // The task processes' CPU is what the executors' task launcher helpers (native or perl,
    // slave/executor/helper-launcher.ts) reaped. Only the helpers count: an executor's own
    // reaped CPU would count its helper again.
    const executors = new ProcessSetSampler(executorsAndHelpers, 250, (pid) => LAUNCHER_HELPERS.has(commandName(pid) ?? ''));
    const benchCpu = process.cpuUsage();

    ctx.note(`launching ${2 * tasks} true tasks (the first ${tasks} warm up)`);
    const framework = new LaunchFramework({ master: master.address, name: 'bench-spawn', total: 2 * tasks, cpus: 0.1, mem: 32, command: 'true' });
    await framework.start();
    try {
      await framework.waitAllTerminal(ctx.remainingMs() - 5_000);
    } finally {
      await framework.stop();
    }
    const executorUse = executors.stop();
    const taskCpu = executors.reapedCpuSeconds();
    const benchCpuS = round((({ user, system }) => (user + system) / 1e6)(process.cpuUsage(benchCpu)), 2);
    const perTaskMs = (cpuS: number | undefined): number | undefined => (cpuS === undefined ? undefined : round((cpuS * 1000) / (2 * tasks), 2));
    // Tasks are numbered in launch order: the first `tasks` are the warm-up (cold), the rest measured.
    const cold = spanOf(framework.times.slice(0, tasks));
    const warm = spanOf(framework.times.slice(tasks));
    const perS = round(tasks / warm.seconds, 1);
    return {
      params: {
        tasks, warm_up_tasks: tasks, command: 'true', task_cpus: 0.1, slave_cpus: 8, raw_in_flight: [1, RAW_IN_FLIGHT],
        // What the slave's executors start tasks with (AGORA_TASK_LAUNCHER, else the default here).
        task_launcher: taskLauncherKind(process.env.AGORA_TASK_LAUNCHER, nativeLauncherBuilt()),
        // The slave's work dir (sandboxes, fsynced checkpoints) and the task-shaped raw spawns' (TMPDIR moves both).
        work_dir_fs: filesystemType(ctx.processes.workDir),
      },
      figures: {
        tasks_per_s: perS,
        raw_per_s: { sequential: rawSequential.per_s, [`in_flight_${RAW_IN_FLIGHT}`]: rawParallel.per_s },
        ratio_to_raw: rawBest > 0 ? round(perS / rawBest, 3) : undefined,
        raw_task_shaped_per_s: rawTask.per_s,
        ratio_to_raw_task_shaped: rawTask.per_s > 0 ? round(perS / rawTask.per_s, 3) : undefined,
        failed_tasks: framework.failed.length,
        accept_calls: framework.acceptCalls,
        accept_to_finished_ms: percentiles(warm.latencies, 1),
        cold: { tasks_per_s: round(tasks / cold.seconds, 1), accept_to_finished_ms: percentiles(cold.latencies, 1), run_s: round(cold.seconds, 2) },
        cpu_percent: { master: masterCpu.percent(), slave: slaveCpu.percent() },
        executors: executorUse,
        task_processes_cpu_seconds: taskCpu,
        // CPU per task, ms, over both halves: where a task's cost goes (the bench process is the framework plus these samplers).
        cpu_ms_per_task: {
          master: perTaskMs(masterCpu.seconds()),
          slave: perTaskMs(slaveCpu.seconds()),
          executors: perTaskMs(executorUse.cpu_seconds),
          task_processes: perTaskMs(taskCpu),
          bench_process: perTaskMs(benchCpuS),
        },
        peak_rss_mb: { master: round(peakRssMb(master.proc.pid) ?? 0, 1), slave: round(peakRssMb(slave.proc.pid) ?? 0, 1) },
        run_s: round(warm.seconds, 2),
      },
    };
  },
});

/** From the first ACCEPT to the last terminal update of `times`, and each task's ACCEPT → terminal latency. */
function spanOf(times: readonly TaskTimes[]): { seconds: number; latencies: number[] } {
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  const latencies: number[] = [];
  for (const t of times) {
    first = Math.min(first, t.acceptAt);
    if (t.terminalAt === undefined) continue;
    last = Math.max(last, t.terminalAt);
    latencies.push(t.terminalAt - t.acceptAt);
  }
  return { seconds: (last - first) / 1000, latencies };
}
