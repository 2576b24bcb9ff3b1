/**
 * The SDK framework the launch, spawn and offers benches run in their own process: a
 * {@link Scheduler} (sdk/scheduler, over the real HTTP API) that launches `total` tasks,
 * several per ACCEPT (at most `perOffer` per offer, packed with matchOffer), and records per
 * task when its ACCEPT was sent and when TASK_RUNNING and its terminal update arrived
 * (`performance.now()`, ms). Waiting for "all running" or "all terminal" resolves on the
 * update itself — nothing polls.
 *
 * @module
 */
import { userInfo } from 'node:os';
import { performance } from 'node:perf_hooks';
import { silentLogger } from '../../sdk/core/log.js';
import {
  Scheduler, commandTask, isTerminalState, matchOffer, remainingResources,
  type CommandSpec, type Offer, type Resource, type TaskInfo, type TaskState, type TaskStatus,
} from '../../sdk/scheduler/index.js';
import { toMilli } from '../../sdk/resources/index.js';

export interface LaunchPlan {
  master: string;
  /** Framework name, also the task id prefix. */
  name: string;
  total: number;
  cpus: number;
  mem: number;
  command: CommandSpec;
  labels?: Record<string, string>;
  /** At most this many tasks per offer (spreads tasks over the agents); default: as many as fit. */
  perOffer?: number;
  /**
   * Launch at this many tasks a second at most (a token bucket refilled every 10 ms; offers
   * wait until tokens are there) instead of all at once: latency at a sustained rate, not
   * the queueing of one burst. Default: no limit.
   */
  rate?: number;
}

export interface TaskTimes {
  taskId: string;
  agentId: string;
  acceptAt: number;
  runningAt?: number;
  terminalAt?: number;
  state?: TaskState;
  message?: string;
}

/** A promise resolved once, from outside. */
class Milestone {
  private resolveFn!: () => void;
  readonly reached: Promise<void>;
  constructor() {
    this.reached = new Promise((resolve) => { this.resolveFn = resolve; });
  }
  resolve(): void {
    this.resolveFn();
  }
}

/** Rejects after `ms` naming `what`; clears its timer when `p` settles. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${Math.round(ms)} ms waiting for ${what}`)), Math.max(0, ms));
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The resources of each of up to `limit` tasks asking `want` that fit into one offer, packed
 * first-fit one after the other: what matchOffer on the offer, then on what remainingResources
 * leaves of it, and so on, gives. When every requested scalar has one entry in the offer (an
 * emulated agent's offer) each task gets the first task's match, and only the amounts are
 * counted: a matchOffer and a remainingResources per task were a tenth of the bench
 * framework's CPU packing 20 tasks an offer. Any other offer takes the general loop.
 */
export function packOffer(offer: Offer, want: { cpus: number; mem: number }, limit: number): Resource[][] {
  const out: Resource[][] = [];
  if (!(limit >= 1)) return out;
  const first = matchOffer(offer, want);
  if (first === undefined) return out;
  out.push(first);
  const single = singleEntryAmounts(offer, want, first);
  if (single !== undefined) {
    // Task n fits while n times each requested amount is within its one entry (milli-units, as matchOffer counts).
    for (let n = 2; n <= limit && single.every(({ entry, need }) => n * need <= entry); n++) out.push(first);
    return out;
  }
  let left: Resource[] = remainingResources(offer.resources ?? [], first);
  while (out.length < limit) {
    const resources = matchOffer({ ...offer, resources: left }, want);
    if (resources === undefined) break;
    left = remainingResources(left, resources);
    out.push(resources);
  }
  return out;
}

/**
 * For an offer with exactly one entry per requested scalar, each a plain scalar that `first`
 * (the first task's match) took from whole: each entry's amount and the task's need, in
 * milli-units. Undefined for any other offer (several entries of a name, reservations split
 * across roles, …): the general packing loop then decides.
 */
function singleEntryAmounts(offer: Offer, want: { cpus: number; mem: number }, first: Resource[]): Array<{ entry: number; need: number }> | undefined {
  const resources = offer.resources ?? [];
  const amounts: Array<{ entry: number; need: number }> = [];
  for (const name of ['cpus', 'mem'] as const) {
    const need = toMilli(want[name]);
    if (need <= 0) continue;
    let entry: Resource | undefined;
    for (const r of resources) {
      if (r.name !== name) continue;
      if (entry !== undefined) return undefined;
      entry = r;
    }
    const taken = first.filter((r) => r.name === name);
    if (entry === undefined || entry.type !== 'SCALAR' || taken.length !== 1 || toMilli(taken[0]!.scalar?.value ?? 0) !== need) return undefined;
    amounts.push({ entry: toMilli(entry.scalar?.value ?? 0), need });
  }
  // Every entry of `first` is one of the requested scalars (nothing else was taken).
  return amounts.length === first.length ? amounts : undefined;
}

export class LaunchFramework {
  readonly scheduler: Scheduler;
  /**
   * Task n (id `<name>-<n>`) at index n, in launch order. An array, not a map keyed by task
   * id: looking up every update's task id in a map of 20,000 was a tenth of this process's CPU.
   */
  readonly times: TaskTimes[] = [];
  /** When the first ACCEPT was sent (performance.now()). */
  firstAcceptAt: number | undefined;
  acceptCalls = 0;
  /** Per ACCEPT: ms from the call to the master's 202 (includes waiting behind earlier calls in the SDK's ordered queue). */
  readonly acceptReplyMs: number[] = [];
  running = 0;
  terminal = 0;
  readonly failed: Array<{ taskId: string; state: TaskState; message?: string }> = [];
  private nextTask = 0;
  private suppressed = false;
  private readonly allRunning = new Milestone();
  private readonly allTerminal = new Milestone();
  private fatal: Error | undefined;

  constructor(private readonly plan: LaunchPlan) {
    this.scheduler = new Scheduler({
      master: plan.master,
      frameworkInfo: { user: userInfo().username, name: plan.name, failover_timeout: 60 },
      logger: silentLogger(),
    });
    this.scheduler
      .on('OFFERS', (offers) => this.onOffers(offers))
      .on('UPDATE', (status) => this.onUpdate(status))
      .on('stopped', ({ reason }) => {
        if (reason) this.fatal = reason;
      });
  }

  async start(): Promise<void> {
    await this.scheduler.start();
  }

  /** Offers held until the rate allows launching on them (paced mode). */
  private readonly held: Offer[] = [];
  private pacer: NodeJS.Timeout | undefined;
  private pacedSince: number | undefined;

  /** Tasks the rate allows to have been launched by now (paced mode). */
  private allowance(): number {
    if (this.plan.rate === undefined) return Number.POSITIVE_INFINITY;
    this.pacedSince ??= performance.now();
    return Math.floor(((performance.now() - this.pacedSince) / 1000) * this.plan.rate) + 1;
  }

  /** Paced mode: launches on held offers as far as the allowance goes, every 10 ms. */
  private pace(): void {
    if (this.pacer !== undefined) return;
    this.pacer = setInterval(() => {
      if (this.nextTask >= this.plan.total || this.fatal !== undefined) {
        clearInterval(this.pacer);
        if (this.held.length > 0) void this.scheduler.decline(this.held.splice(0).map((o) => o.id.value), { refuse_seconds: 60 }).catch(() => undefined);
        return;
      }
      const allowed = this.allowance();
      if (allowed <= this.nextTask || this.held.length === 0) return;
      // Only as many held offers as the allowance can fill, oldest first: handing every held
      // offer (up to one per agent) back to onOffers each tick cost this process more than
      // the launches did.
      const wanted = this.plan.perOffer === undefined ? 1 : Math.ceil((allowed - this.nextTask) / this.plan.perOffer);
      this.onOffers(this.held.splice(0, wanted));
    }, 10);
  }

  /** Every task launched and TASK_RUNNING (or already terminal). */
  waitAllRunning(timeoutMs: number): Promise<void> {
    return within(this.allRunning.reached, timeoutMs, `${this.plan.total} tasks running (${this.running} so far)`);
  }

  /** Every task launched and terminal. */
  waitAllTerminal(timeoutMs: number): Promise<void> {
    return within(this.allTerminal.reached, timeoutMs, `${this.plan.total} tasks terminal (${this.terminal} so far)`);
  }

  async stop(): Promise<void> {
    clearInterval(this.pacer);
    await this.scheduler.teardown().catch(() => this.scheduler.stop().catch(() => undefined));
  }

  /** Why the scheduler stopped on its own, if it did. */
  get error(): Error | undefined {
    return this.fatal;
  }

  /** The tasks to launch on `offer`, up to `allowed` launched in all (the rate's allowance). */
  private pack(offer: Offer, allowed: number): TaskInfo[] {
    const limit = Math.min(this.plan.perOffer ?? Number.POSITIVE_INFINITY, allowed - this.nextTask, this.plan.total - this.nextTask);
    const fits = packOffer(offer, { cpus: this.plan.cpus, mem: this.plan.mem }, limit);
    const tasks: TaskInfo[] = [];
    for (const resources of fits) {
      tasks.push(commandTask({
        taskId: `${this.plan.name}-${this.nextTask++}`,
        agentId: offer.agent_id.value,
        command: this.plan.command,
        resources,
        ...(this.plan.labels ? { labels: this.plan.labels } : {}),
      }));
    }
    return tasks;
  }

  /**
   * Not async on purpose: the SDK runs handlers one event at a time, so a handler awaiting its
   * ACCEPTs would hold back every UPDATE behind them (and with them the acknowledgements the
   * agents wait for before sending RUNNING). The calls go out in order anyway; a failed one
   * stops the run.
   */
  private onOffers(offers: Offer[]): void {
    const calls: Array<Promise<void>> = [];
    const unused: string[] = [];
    const unusable: string[] = [];
    const allowed = this.allowance();
    for (const offer of offers) {
      const tasks = this.pack(offer, allowed);
      if (tasks.length === 0) {
        // Paced: the rate, not the offer, was short; keep the offer for the next slot.
        if (this.nextTask < this.plan.total && allowed <= this.nextTask) {
          this.held.push(offer);
          this.pace();
        } else if (this.nextTask < this.plan.total) {
          // Nothing of ours fits (e.g. an agent whose cpus are all taken offers only mem
          // and disk): refuse it for Mesos's default 5 s, as a real framework does. With 0
          // the master would offer it straight back, an offer-decline loop per such agent.
          unusable.push(offer.id.value);
        } else {
          unused.push(offer.id.value);
        }
        continue;
      }
      const now = performance.now();
      this.firstAcceptAt ??= now;
      for (const task of tasks) this.times.push({ taskId: task.task_id.value, agentId: offer.agent_id.value, acceptAt: now });
      this.acceptCalls++;
      // Not awaited one by one: the SDK sends calls in order on one connection anyway.
      calls.push(this.scheduler.launch([offer.id.value], tasks, { refuse_seconds: 0 }).then(() => {
        this.acceptReplyMs.push(performance.now() - now);
      }));
    }
    if (unusable.length > 0) calls.push(this.scheduler.decline(unusable, { refuse_seconds: 5 }));
    if (unused.length > 0) calls.push(this.scheduler.decline(unused, { refuse_seconds: this.nextTask < this.plan.total ? 0 : 60 }));
    if (this.nextTask >= this.plan.total && !this.suppressed) {
      this.suppressed = true;
      calls.push(this.scheduler.suppress());
    }
    void Promise.all(calls).catch((err: unknown) => {
      this.fatal ??= err instanceof Error ? err : new Error(String(err));
    });
  }

  /** The times of one of our tasks, by its id (`<name>-<n>` is at index n). */
  private timesOf(taskId: string): TaskTimes | undefined {
    const prefix = this.plan.name.length + 1;
    if (taskId.length <= prefix || taskId.charCodeAt(prefix - 1) !== 45 /* - */ || !taskId.startsWith(this.plan.name)) return undefined;
    const t = this.times[Number(taskId.slice(prefix))];
    return t !== undefined && t.taskId === taskId ? t : undefined;
  }

  private onUpdate(status: TaskStatus): void {
    const now = performance.now();
    const t = this.timesOf(status.task_id.value);
    if (t === undefined || t.terminalAt !== undefined) return; // not ours, or a duplicate
    if (status.state === 'TASK_RUNNING' && t.runningAt === undefined) {
      t.runningAt = now;
      this.running++;
    } else if (isTerminalState(status.state)) {
      t.terminalAt = now;
      t.state = status.state;
      if (status.message !== undefined) t.message = status.message;
      if (t.runningAt === undefined) this.running++; // never seen running: counts as past it
      this.terminal++;
      if (status.state !== 'TASK_FINISHED') this.failed.push({ taskId: status.task_id.value, state: status.state, ...(status.message ? { message: status.message } : {}) });
    }
    if (this.running === this.plan.total) this.allRunning.resolve();
    if (this.terminal === this.plan.total) this.allTerminal.resolve();
  }

  /** ACCEPT sent → TASK_RUNNING received, ms, for every task seen running. */
  runningLatencies(): number[] {
    const out: number[] = [];
    for (const t of this.times) if (t.runningAt !== undefined) out.push(t.runningAt - t.acceptAt);
    return out;
  }

  /** The last TASK_RUNNING (or terminal) arrival, performance.now() ms. */
  lastAt(which: 'runningAt' | 'terminalAt'): number | undefined {
    let last: number | undefined;
    for (const t of this.times) {
      const at = t[which];
      if (at !== undefined && (last === undefined || at > last)) last = at;
    }
    return last;
  }
}
