/**
 * A batch framework built on the Agora scheduler SDK: runs N copies of a command across the
 * cluster and exits when they are all done.
 *
 * ```
 * node dist/examples/batch-framework.js --master HOST:PORT --tasks N --cmd 'echo hi' \
 *   [--cpus 0.1] [--mem 32] [--executor command|custom] [--name batch] [--role '*'] [--timeout SECONDS]
 * ```
 *
 * It packs as many tasks into each offer as fit, declines offers it cannot use, suppresses
 * offers once every task is launched, acknowledges status updates (the SDK does it after
 * the UPDATE handler), and on completion tears the framework down. Exit code 0 when every
 * task finished, 1 when any failed (or the master reported an error), 2 on bad arguments.
 *
 * With `--executor custom` the tasks go to `examples/custom-executor.js` (one executor per
 * agent, started by the agent on first use) instead of the built-in command executor.
 *
 * @module
 */
import { userInfo } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { createLogger } from '../sdk/core/log.js';
import type { Clock } from '../sdk/core/clock.js';
import {
  Scheduler, commandTask, executorTask, isTerminalState, matchOffer, remainingResources,
  type ExecutorInfo, type Offer, type Resource, type TaskInfo, type TaskState, type SchedulerTransport,
} from '../sdk/scheduler/index.js';

/** What {@link runBatch} runs. */
export interface BatchOptions {
  master: string;
  tasks: number;
  cmd: string;
  cpus: number;
  mem: number;
  executor: 'command' | 'custom';
  name: string;
  role?: string;
  /** Give up (tear down, exit 1) after this many ms; 0 = never. */
  timeoutMs: number;
  /** Where progress lines go. Default: console.log. */
  print?: (line: string) => void;
  logger?: Logger;
  clock?: Clock;
  transport?: SchedulerTransport;
}

/** How a batch ended. */
export interface BatchResult {
  finished: number;
  failed: { taskId: string; state: TaskState; message?: string }[];
  /** Set when the run ended early (timeout, master error). */
  error?: string;
}

/** The custom executor's ExecutorInfo (same for every task, as Mesos requires for one executor id). */
export function customExecutorInfo(): ExecutorInfo {
  const script = fileURLToPath(new URL('./custom-executor.js', import.meta.url));
  const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  return {
    executor_id: { value: 'custom-executor' },
    name: 'Agora example custom executor',
    command: { value: `${quote(process.execPath)} ${quote(script)}`, shell: true },
    resources: [
      { name: 'cpus', type: 'SCALAR', scalar: { value: 0.01 } },
      { name: 'mem', type: 'SCALAR', scalar: { value: 32 } },
    ],
  };
}

/**
 * Runs the batch and resolves when every task reached a terminal state (or the run failed).
 *
 * @example
 * const result = await runBatch({ master: 'localhost:5050', tasks: 3, cmd: 'echo hi', cpus: 0.1, mem: 32,
 *   executor: 'command', name: 'batch', timeoutMs: 0 });
 * process.exitCode = result.failed.length ? 1 : 0;
 */
export async function runBatch(opts: BatchOptions): Promise<BatchResult> {
  const print = opts.print ?? ((line: string) => console.log(line));
  const customExecutor = opts.executor === 'custom' ? customExecutorInfo() : undefined;
  const pending: string[] = Array.from({ length: opts.tasks }, (_, i) => `${opts.name}-task-${i + 1}`);
  const states = new Map<string, TaskState>();
  const result: BatchResult = { finished: 0, failed: [] };
  let suppressed = false;
  let done = false;

  const scheduler = new Scheduler({
    master: opts.master,
    frameworkInfo: {
      user: userInfo().username,
      name: opts.name,
      // Survive a master failover or a network blip: our tasks are kept for a minute.
      failover_timeout: 60,
      ...(opts.role === undefined ? {} : { roles: [opts.role], capabilities: [{ type: 'MULTI_ROLE' }] }),
    },
    logger: opts.logger ?? createLogger('batch-framework', { level: process.env.AGORA_LOG_LEVEL ?? 'warn' }),
    ...(opts.clock === undefined ? {} : { clock: opts.clock }),
    ...(opts.transport === undefined ? {} : { transport: opts.transport }),
  });

  const progress = (): string => {
    let running = 0;
    for (const s of states.values()) if (!isTerminalState(s)) running++;
    return `launched ${states.size}/${opts.tasks}, active ${running}, finished ${result.finished}, failed ${result.failed.length}`;
  };

  let finish!: () => void;
  const finished = new Promise<void>((resolve) => { finish = resolve; });
  const end = (error?: string): void => {
    if (done) return;
    done = true;
    if (error !== undefined) result.error = error;
    finish();
  };

  /** Tasks that fit in one offer, resources subtracted as they are packed. */
  const pack = (offer: Offer): TaskInfo[] => {
    const tasks: TaskInfo[] = [];
    let left: Resource[] = offer.resources ?? [];
    const view = (): Offer => ({ ...offer, resources: left });
    // Executor resources carry the offer's allocation role like every resource we use from it,
    // and are the same on every offer, so the ExecutorInfo stays identical for one executor id.
    const role = offer.allocation_info?.role;
    const executor: ExecutorInfo | undefined = customExecutor === undefined ? undefined : {
      ...customExecutor,
      resources: (customExecutor.resources ?? []).map((r) => (role === undefined ? r : { ...r, allocation_info: { role } })),
    };
    if (executor !== undefined && !(offer.executor_ids ?? []).some((e) => e.value === executor.executor_id.value)) {
      // The executor is not running on this agent yet: its own resources come out of the offer first.
      const forExecutor = matchOffer(view(), { cpus: 0.01, mem: 32 });
      if (forExecutor === undefined) return [];
      left = remainingResources(left, forExecutor);
    }
    while (pending.length > 0) {
      const resources = matchOffer(view(), { cpus: opts.cpus, mem: opts.mem });
      if (resources === undefined) break;
      left = remainingResources(left, resources);
      const taskId = pending.shift()!;
      const base = { taskId, agentId: offer.agent_id.value, resources };
      tasks.push(executor === undefined
        ? commandTask({ ...base, command: opts.cmd })
        : executorTask({ ...base, executor, data: opts.cmd }));
    }
    return tasks;
  };

  scheduler
    .on('SUBSCRIBED', (s) => { print(`subscribed as framework ${s.framework_id.value}`); })
    .on('OFFERS', async (offers) => {
      const unused: string[] = [];
      for (const offer of offers) {
        const tasks = done ? [] : pack(offer);
        if (tasks.length === 0) {
          unused.push(offer.id.value);
          continue;
        }
        for (const task of tasks) states.set(task.task_id.value, 'TASK_STAGING');
        await scheduler.launch([offer.id.value], tasks, { refuse_seconds: 1 });
        print(`launched ${tasks.map((t) => t.task_id.value).join(', ')} on ${offer.hostname} (${progress()})`);
      }
      if (unused.length > 0) await scheduler.decline(unused, { refuse_seconds: pending.length > 0 ? 1 : 30 });
      if (pending.length === 0 && !suppressed) {
        suppressed = true;
        await scheduler.suppress();
        print('all tasks launched; offers suppressed');
      }
    })
    .on('UPDATE', (status) => {
      const taskId = status.task_id.value;
      if (!states.has(taskId)) return; // not ours (e.g. an old task reported by reconciliation)
      const previous = states.get(taskId)!;
      if (isTerminalState(previous)) return; // a duplicate
      states.set(taskId, status.state);
      if (status.state === 'TASK_FINISHED') result.finished++;
      else if (isTerminalState(status.state)) result.failed.push({ taskId, state: status.state, ...(status.message === undefined ? {} : { message: status.message }) });
      print(`${taskId}: ${status.state}${status.message ? ` (${status.message})` : ''} — ${progress()}`);
    })
    // '*' runs after the typed handlers and after the SDK acknowledged the update, so the
    // last TASK_FINISHED is acknowledged before we tear down.
    .on('*', () => { if (result.finished + result.failed.length === opts.tasks) end(); })
    .on('disconnected', ({ reason }) => { print(`disconnected from the master (${reason.message}); reconnecting`); })
    .on('reconnected', () => {
      print('reconnected');
      // Ask the master where our tasks stand: updates missed while away come back.
      void scheduler.reconcile().catch(() => undefined);
    })
    .on('ERROR', (e) => { print(`master error: ${e.message}`); })
    .on('stopped', ({ reason }) => { if (reason) end(reason.message); });

  const timer = opts.timeoutMs > 0 ? setTimeout(() => end(`timed out after ${opts.timeoutMs} ms (${progress()})`), opts.timeoutMs) : undefined;
  timer?.unref();
  const interrupt = (): void => end('interrupted');
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);

  try {
    await Promise.race([scheduler.start(), finished]);
    await finished;
  } catch (err) {
    end((err as Error).message);
  } finally {
    if (timer) clearTimeout(timer);
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  }
  if (scheduler.state === 'subscribed') {
    await scheduler.teardown().catch((err: unknown) => print(`teardown failed: ${(err as Error).message}`));
  } else {
    await scheduler.stop();
  }
  print(`done: ${result.finished} finished, ${result.failed.length} failed${result.error ? ` (${result.error})` : ''}`);
  for (const f of result.failed) print(`  ${f.taskId}: ${f.state}${f.message ? ` — ${f.message}` : ''}`);
  return result;
}

const USAGE = `usage: batch-framework --master HOST:PORT [--tasks N] [--cmd 'echo hi'] [--cpus 0.1] [--mem 32]
                       [--executor command|custom] [--name batch] [--role ROLE] [--timeout SECONDS]`;

/** Parses the command line; throws with a usage message on bad input. */
export function parseBatchArgs(argv: string[]): BatchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      master: { type: 'string' },
      tasks: { type: 'string', default: '1' },
      cmd: { type: 'string', default: 'echo hi' },
      cpus: { type: 'string', default: '0.1' },
      mem: { type: 'string', default: '32' },
      executor: { type: 'string', default: 'command' },
      name: { type: 'string', default: 'batch' },
      role: { type: 'string' },
      timeout: { type: 'string', default: '0' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) throw new Error(USAGE);
  if (!values.master) throw new Error(`--master is required\n${USAGE}`);
  const num = (name: string, text: string, integer: boolean): number => {
    const n = Number(text);
    if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) throw new Error(`--${name} must be a ${integer ? 'non-negative integer' : 'non-negative number'}, got "${text}"\n${USAGE}`);
    return n;
  };
  if (values.executor !== 'command' && values.executor !== 'custom') throw new Error(`--executor must be command or custom\n${USAGE}`);
  return {
    master: values.master,
    tasks: num('tasks', values.tasks, true),
    cmd: values.cmd,
    cpus: num('cpus', values.cpus, false),
    mem: num('mem', values.mem, false),
    executor: values.executor,
    name: values.name,
    ...(values.role === undefined ? {} : { role: values.role }),
    timeoutMs: num('timeout', values.timeout, false) * 1000,
  };
}

async function main(): Promise<void> {
  let opts: BatchOptions;
  try {
    opts = parseBatchArgs(process.argv.slice(2));
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
  if (opts.tasks === 0) {
    console.log('nothing to run');
    return;
  }
  const result = await runBatch(opts);
  process.exit(result.failed.length === 0 && result.error === undefined ? 0 : 1);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void main();
}
