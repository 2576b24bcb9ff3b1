/**
 * `launch`: an SDK framework (sdk/scheduler, in this process, over the real HTTP API)
 * launching T tasks on N emulated slaves (ONE `agora slave --emulate N` process, simulated
 * containerizer: tasks run "forever" without processes) of a real master process. Tasks are
 * spread evenly, ⌈T/N⌉ per offer, so each ACCEPT carries many tasks. Figures: tasks/s from
 * the first ACCEPT sent to the last TASK_RUNNING received; per task ACCEPT sent → TASK_RUNNING
 * received (p50/p99); master and emulator CPU over the launch; master peak RSS.
 *
 * The burst runs twice on the same cluster. The first, on fresh processes, is reported as
 * `cold`: V8 compiles and optimises the launch path of all three processes while it runs,
 * and that first run costs each process a third to a half more CPU per task than the next
 * ones. The second, after the first's teardown, is the headline figure: a cluster manager
 * runs for months, and what it does once warm is what its users get.
 *
 * Then, on the same cluster, T more tasks at a sustained `--rate` (tasks/s), twice: the same
 * figures without the queueing of one burst. The first sustained run after the bursts starts
 * with a transient (for its first 300–600 ms latencies are 2–5 times the steady state's, on
 * this 2-core machine: V8 deoptimises the hot path of all three processes on object shapes the
 * bursts had not shown it, then optimises it again; neither a 10 s pause nor 2,000 paced tasks
 * beforehand remove it, a whole paced run does), reported as `paced_first`; the second is
 * `paced`, the steady state a running cluster launches in, as the warm burst is the headline
 * rather than the cold one.
 *
 * The issue's target, 10,000 tasks/s with p99 <= 50 ms, is read as two figures: the burst's
 * tasks/s, and p99 while launching at a sustained 10,000/s. The burst's own p99 is reported
 * but is not a target: every ACCEPT of the burst is sent at once, so the last one waits for
 * all the others and its latency is T / throughput however fast the path is.
 *
 *   node dist/bench/launch.js [--quick] [--json] [--slaves N] [--tasks T] [--rate R] [--repeat K] [--sweep R1,R2,…]
 *
 * `--repeat`: after `paced`, K more paced runs at the same rate (`paced_repeats`; default 2,
 * 0 in quick mode), and `paced_p99_runs_ms`, the p99 of `paced` and of each repeat. The
 * target is still `paced`'s p99; the repeats show how much one run's tail owes to the
 * machine's state at that moment (on this shared 2-core machine, 20–110 ms for the same code).
 *
 * `--sweep`: after the paced run, one more paced run of T tasks at each of these rates
 * (`paced_sweep`), each after the previous run's teardown: where p99 stays under 50 ms.
 *
 * Full: N = 1,000, T = 20,000, R = 10,000; quick: N = 100, T = 2,000, R = 1,000. Bounded: when the budget runs out
 * before every task runs, the figures cover the tasks that did (`tasks_running` < T).
 *
 * @module
 */
import { LaunchFramework } from './lib/framework.js';
import { CpuWindow, peakRssMb } from './lib/proc-stats.js';
import { fetchJson } from './lib/http.js';
import { intFlag, runBench } from './lib/run.js';
import { percentiles, round } from './lib/stats.js';

/** Each emulated slave holds 320 tasks of 0.1 cpu: room for T/N with plenty to spare. */
const SLAVE_RESOURCES = 'cpus:32;mem:65536;disk:100000';

await runBench({
  name: 'launch',
  budgetMs: { quick: 90_000, full: 420_000 },
  flags: { slaves: { type: 'string' }, tasks: { type: 'string' }, rate: { type: 'string' }, sweep: { type: 'string' }, repeat: { type: 'string' } },
  targets: [
    { figure: 'tasks_per_s', op: '>=', value: 10_000 },
    { figure: 'paced.tasks_per_s', op: '>=', value: 9_900 },
    { figure: 'paced.accept_to_running_ms.p99', op: '<=', value: 50, unit: 'ms' },
  ],
  anchor: 'Nomad C1M: 3,750 tasks/s across 5,000 hosts; Marathon 0.15: ~35 tasks/s',
  async run(ctx) {
    const slaves = intFlag(ctx, 'slaves', ctx.quick ? 100 : 1_000);
    const tasks = intFlag(ctx, 'tasks', ctx.quick ? 2_000 : 20_000);
    const perOffer = Math.ceil(tasks / slaves);
    const rate = intFlag(ctx, 'rate', ctx.quick ? 1_000 : 10_000);
    const sweepRates = parseRates(ctx.flags.sweep);
    const repeats = intFlag(ctx, 'repeat', ctx.quick ? 0 : 2, 0);

    ctx.note(`master + ${slaves} emulated slaves`);
    const master = await ctx.processes.master([], { raiseFdLimit: true });
    const registerStart = Date.now();
    const emulator = ctx.processes.emulator(master, slaves, SLAVE_RESOURCES);
    const last = await ctx.processes.waitForAgents(master, slaves, Math.min(180_000, ctx.remainingMs() / 2));
    const registerAllS = ((last.time as number) - registerStart) / 1000;

    /** The CPU of the master, the emulator and this process from now on. */
    const cpuMeter = () => {
      const masterCpu = new CpuWindow(master.proc.pid);
      const emulatorCpu = new CpuWindow(emulator.pid);
      const benchCpu = process.cpuUsage();
      return {
        percent: () => ({ master: masterCpu.percent(), emulator: emulatorCpu.percent() }),
        seconds: (): Record<string, number | undefined> => {
          const used = process.cpuUsage(benchCpu);
          return { master: masterCpu.seconds(), emulator: emulatorCpu.seconds(), bench_process: (used.user + used.system) / 1e6 };
        },
      };
    };
    const perTask = (cpuS: Record<string, number | undefined>, n: number): Record<string, number | undefined> =>
      Object.fromEntries(Object.entries(cpuS).map(([k, v]) => [k, v === undefined || n === 0 ? undefined : round((v * 1e6) / n, 0)]));

    let killed = 0;
    /**
     * Launches T tasks with a fresh framework (at `rate` tasks/s when given, else all at once,
     * ⌈T/N⌉ per ACCEPT), waits for them to run, and tears the framework down (its tasks are
     * then killed: `killed` counts them). `timedOut` when not all ran within `timeoutMs`.
     */
    const launchRun = async (name: string, rate: number | undefined, timeoutMs: number) => {
      const meter = cpuMeter();
      const framework = new LaunchFramework({
        master: master.address, name, total: tasks, cpus: 0.1, mem: 32, command: 'true', perOffer, ...(rate !== undefined ? { rate } : {}),
      });
      await framework.start();
      let timedOut: Error | undefined;
      try {
        await framework.waitAllRunning(timeoutMs);
      } catch (err) {
        if (framework.error) throw framework.error;
        timedOut = err as Error;
      }
      const cpuPercent = meter.percent();
      const cpuS = meter.seconds();
      const lastRunning = framework.lastAt('runningAt');
      await framework.stop();
      killed += tasks;
      if (framework.firstAcceptAt === undefined || lastRunning === undefined) throw new Error('no task reached TASK_RUNNING');
      return { framework, timedOut, cpuPercent, cpuS, seconds: (lastRunning - framework.firstAcceptAt) / 1000 };
    };

    /**
     * One burst: every task offered at once. The first one on a fresh cluster is the cold run
     * (V8 compiles the whole launch path while it runs); the second, measured after the first's
     * teardown, is what a running cluster does.
     */
    const burst = async (name: string) => {
      const { framework, timedOut, cpuPercent, cpuS, seconds } = await launchRun(name, undefined, ctx.remainingMs() / 2 - 15_000);
      if (timedOut !== undefined) ctx.note(`stopped early: ${timedOut.message}`);
      const complete = timedOut === undefined;
      return {
        complete,
        figures: {
          tasks_per_s: round(framework.running / seconds, 0),
          accept_to_running_ms: percentiles(framework.runningLatencies(), 1),
          tasks_running: framework.running,
          complete,
          failed_tasks: framework.failed.length,
          accept_calls: framework.acceptCalls,
          accept_reply_ms: percentiles(framework.acceptReplyMs, 1),
          bench_process_cpu_percent: round(((cpuS.bench_process ?? 0) / seconds) * 100, 1),
          launch_s: round(seconds, 3),
          cpu_percent_during_launch: cpuPercent,
          // CPU time per task: steadier than tasks/s on a shared machine.
          cpu_us_per_task: perTask(cpuS, framework.running),
        },
      };
    };

    /**
     * Waits until the previous run's teardown is over: it kills its tasks, thousands of kills
     * and TASK_KILLED updates the master works through for a second or more, and a run
     * measured on top of that would measure the teardown's queue.
     */
    const afterTeardown = async (): Promise<void> => {
      const quiet = await waitForNoLiveTasks(master.url, killed, Math.min(60_000, ctx.remainingMs() / 3));
      ctx.note(`previous run torn down after ${quiet.ms} ms`);
    };

    ctx.note(`cold burst: ${tasks} tasks, ${perOffer} per offer`);
    const cold = await burst('bench-cold');
    let warm = cold;
    if (cold.complete) {
      await afterTeardown();
      ctx.note(`warm burst: ${tasks} tasks, ${perOffer} per offer`);
      warm = await burst('bench-launch');
    }

    // Then the same number of tasks at a sustained rate, for latency without the queueing of
    // one burst (the burst's latency is mostly its own queue). With --sweep, more paced runs
    // at other rates, to show the rate up to which the latency target holds.
    let paced: Record<string, unknown> | undefined;
    let pacedFirst: Record<string, unknown> | undefined;
    const sweep: Array<Record<string, unknown>> = [];
    const pacedRepeats: Array<Record<string, unknown>> = [];
    if (warm.complete) {
      const pacedRun = async (r: number, name: string): Promise<Record<string, unknown>> => {
        await afterTeardown();
        ctx.note(`launching ${tasks} tasks at ${r}/s`);
        const { framework, timedOut, cpuS, seconds } = await launchRun(name, r, ctx.remainingMs() - 10_000);
        if (timedOut !== undefined) throw timedOut;
        return { rate: r, tasks_per_s: round(framework.running / seconds, 0), accept_to_running_ms: percentiles(framework.runningLatencies(), 1), cpu_us_per_task: perTask(cpuS, framework.running) };
      };
      const first = await pacedRun(rate, 'bench-paced-first');
      pacedFirst = { tasks_per_s: first.tasks_per_s, accept_to_running_ms: first.accept_to_running_ms };
      paced = await pacedRun(rate, 'bench-paced');
      for (let i = 0; i < repeats; i++) pacedRepeats.push(await pacedRun(rate, `bench-paced-repeat-${i}`));
      for (const [i, r] of sweepRates.entries()) sweep.push(await pacedRun(r, `bench-sweep-${i}`));
    }
    return {
      params: { slaves, tasks, tasks_per_accept: perOffer, task: 'cpus 0.1, mem 32, simulated', slave_resources: SLAVE_RESOURCES },
      figures: {
        ...warm.figures,
        register_all_s: round(registerAllS, 2),
        cold: {
          tasks_per_s: cold.figures.tasks_per_s,
          accept_to_running_ms: cold.figures.accept_to_running_ms,
          launch_s: cold.figures.launch_s,
          cpu_us_per_task: cold.figures.cpu_us_per_task,
        },
        peak_rss_mb: { master: round(peakRssMb(master.proc.pid) ?? 0, 1), emulator: round(peakRssMb(emulator.pid) ?? 0, 1) },
        ...(paced !== undefined ? { paced } : {}),
        ...(pacedFirst !== undefined ? { paced_first: pacedFirst } : {}),
        ...(pacedRepeats.length > 0
          ? {
            paced_repeats: pacedRepeats,
            // The target's p99 with the repeats' beside it: one run's tail follows the machine's state.
            paced_p99_runs_ms: [paced, ...pacedRepeats].map((r) => (r!.accept_to_running_ms as { p99?: number }).p99),
          }
          : {}),
        ...(sweep.length > 0 ? { paced_sweep: sweep } : {}),
      },
    };
  },
});

/**
 * Polls the master's metrics (every 50 ms, bounded) until `killed` tasks are counted killed
 * and none is staging, starting or running.
 */
async function waitForNoLiveTasks(masterUrl: string, killed: number, timeoutMs: number): Promise<{ ms: number }> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  for (;;) {
    // One snapshot a poll: the master counts its tasks for each one.
    const { body } = await fetchJson(`${masterUrl}/metrics/snapshot`).catch(() => ({ body: undefined }));
    const m = (body ?? {}) as Record<string, number | undefined>;
    const k = m['master/tasks_killed'];
    const running = m['master/tasks_running'];
    if ((k ?? 0) >= killed && m['master/tasks_staging'] === 0 && m['master/tasks_starting'] === 0 && running === 0) return { ms: Date.now() - started };
    if (Date.now() >= deadline) throw new Error(`burst not torn down after ${timeoutMs} ms: killed ${k}, running ${running}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** `--sweep 2000,4000,…` → the rates (positive integers), or none. */
function parseRates(raw: string | boolean | undefined): number[] {
  if (typeof raw !== 'string' || raw === '') return [];
  return raw.split(',').map((part) => {
    const n = Number(part.trim());
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--sweep takes positive integer rates separated by commas, not "${raw}"`);
    return n;
  });
}
