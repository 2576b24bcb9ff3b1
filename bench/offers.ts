/**
 * `offers`: how soon the resources a finished task frees come back in an offer. N emulated
 * slaves (one `agora slave --emulate N` process, simulated containerizer) of cpus:1;mem:1024;
 * an SDK framework in this process launches on every offer one task taking the WHOLE offer,
 * running `--task-ms` (label agora.sim.duration). While it runs the agent has nothing to
 * offer, so the next offer naming that agent holds exactly the freed resources. Figure, per
 * task, framework-side: TASK_FINISHED received → that next offer received (ms, p50/p99).
 * When the offer overtakes the update (the master frees a task's resources as soon as the
 * slave reports its latest state terminal, before that update reached the framework) the
 * wait was nothing: the sample is 0, and such samples are counted in `offer_before_update`.
 *
 *   node dist/bench/offers.js [--quick] [--json] [--slaves N] [--samples S] [--task-ms D]
 *
 * Full: 100 slaves, 5,000 samples; quick: 10 slaves, 500 samples; tasks run 20 ms.
 *
 * @module
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { silentLogger } from '../sdk/core/log.js';
import { Scheduler, commandTask, type Offer, type TaskStatus } from '../sdk/scheduler/index.js';
import { within } from './lib/framework.js';
import { CpuWindow } from './lib/proc-stats.js';
import { intFlag, runBench } from './lib/run.js';
import { percentiles, round } from './lib/stats.js';

const SLAVE_RESOURCES = 'cpus:1;mem:1024;disk:1000';

interface AgentCycle {
  /** The task now running on the agent, when its ACCEPT went out. */
  taskId?: string;
  launchedAt?: number;
  /** TASK_FINISHED of the last task, still waiting for the agent's next offer. */
  finishedAt?: number;
}

await runBench({
  name: 'offers',
  budgetMs: { quick: 60_000, full: 300_000 },
  flags: { slaves: { type: 'string' }, samples: { type: 'string' }, 'task-ms': { type: 'string' } },
  targets: [{ figure: 'finished_to_offer_ms.p99', op: '<=', value: 10, unit: 'ms' }],
  anchor: 'Mesos allocates in batches every 1 s (--allocation_interval)',
  async run(ctx) {
    const slaves = intFlag(ctx, 'slaves', ctx.quick ? 10 : 100);
    const wanted = intFlag(ctx, 'samples', ctx.quick ? 500 : 5_000);
    const taskMs = intFlag(ctx, 'task-ms', 20);

    ctx.note(`master + ${slaves} emulated slaves`);
    const master = await ctx.processes.master();
    ctx.processes.emulator(master, slaves, SLAVE_RESOURCES);
    await ctx.processes.waitForAgents(master, slaves, Math.min(120_000, ctx.remainingMs() / 2));

    const samples: number[] = [];
    let offerFirst = 0;
    let launched = 0;
    let failures = 0;
    const cycles = new Map<string, AgentCycle>();
    /** Task id → when an offer of its agent came before its terminal update. */
    const offerBefore = new Map<string, number>();
    const taskAgent = new Map<string, string>();
    let done!: () => void;
    const finished = new Promise<void>((resolve) => { done = resolve; });
    const record = (ms: number): void => {
      samples.push(ms);
      if (samples.length >= wanted) done();
    };

    const scheduler = new Scheduler({
      master: master.address,
      frameworkInfo: { user: os.userInfo().username, name: 'bench-offers', failover_timeout: 60 },
      logger: silentLogger(),
    });
    const onOffers = async (offers: Offer[]): Promise<void> => {
      const now = performance.now();
      const calls: Array<Promise<void>> = [];
      const unused: string[] = [];
      for (const offer of offers) {
        const agentId = offer.agent_id.value;
        const cycle = cycles.get(agentId) ?? {};
        cycles.set(agentId, cycle);
        if (cycle.finishedAt !== undefined) {
          record(now - cycle.finishedAt);
          cycle.finishedAt = undefined;
        } else if (cycle.taskId !== undefined) {
          // Came before the update of the task it frees (the master frees a task's resources
          // as soon as the slave reports its latest state terminal): sampled when it arrives.
          offerBefore.set(cycle.taskId, now);
        }
        if (launched >= wanted) { // each task gives one sample, taken on the offer after it
          unused.push(offer.id.value);
          continue;
        }
        const taskId = `offers-${launched++}`;
        cycle.taskId = taskId;
        cycle.launchedAt = now;
        taskAgent.set(taskId, agentId);
        calls.push(scheduler.launch([offer.id.value], [commandTask({
          taskId, agentId, command: 'true', resources: offer.resources ?? [], labels: { 'agora.sim.duration': `${taskMs}ms` },
        })], { refuse_seconds: 0 }));
      }
      if (unused.length > 0) calls.push(scheduler.decline(unused, { refuse_seconds: 60 }));
      await Promise.all(calls);
    };
    const onUpdate = (status: TaskStatus): void => {
      if (status.state !== 'TASK_FINISHED' && status.state !== 'TASK_FAILED' && status.state !== 'TASK_LOST' && status.state !== 'TASK_ERROR' && status.state !== 'TASK_DROPPED') return;
      const agentId = taskAgent.get(status.task_id.value);
      if (agentId === undefined) return;
      taskAgent.delete(status.task_id.value);
      if (status.state !== 'TASK_FINISHED') failures++;
      const now = performance.now();
      const cycle = cycles.get(agentId)!;
      const offeredAt = offerBefore.get(status.task_id.value);
      if (offeredAt !== undefined) {
        // The freed resources were offered before this update arrived: no wait at all.
        offerBefore.delete(status.task_id.value);
        offerFirst++;
        record(Math.max(0, offeredAt - now));
        return;
      }
      if (cycle.taskId !== status.task_id.value) return;
      cycle.taskId = undefined;
      cycle.finishedAt = now;
    };
    scheduler.on('OFFERS', onOffers).on('UPDATE', onUpdate);

    ctx.note(`measuring ${wanted} task-finished → offer latencies`);
    const masterCpu = new CpuWindow(master.proc.pid);
    const started = performance.now();
    await scheduler.start();
    let complete = true;
    try {
      await within(finished, ctx.remainingMs() - 10_000, `${wanted} samples (${samples.length} so far)`);
    } catch (err) {
      complete = false;
      ctx.note(`stopped early: ${(err as Error).message}`);
    } finally {
      await scheduler.teardown().catch(() => scheduler.stop().catch(() => undefined));
    }
    if (samples.length === 0) throw new Error('no sample: no task finished and was offered again');
    return {
      params: { slaves, samples: wanted, task_ms: taskMs, slave_resources: SLAVE_RESOURCES, task: 'the whole offer, simulated' },
      figures: {
        finished_to_offer_ms: percentiles(samples, 2),
        samples: samples.length,
        complete,
        offer_before_update: offerFirst,
        failed_tasks: failures,
        tasks_per_s: round(samples.length / ((performance.now() - started) / 1000), 0),
        master_cpu_percent: masterCpu.percent(),
      },
    };
  },
});
