/**
 * The chaos run's own framework (SDK scheduler, following the leading master through
 * `zk://`): it keeps a few long tasks running (replacing any that end) and launches short
 * tasks one after the other, and records every status update it receives per task — the
 * framework side of invariant 1.
 *
 * Each task's command carries the run's token (`agora-chaos-<seed>`, so its processes can
 * be found in /proc) and writes marker files in the harness's marker dir: `<task>.started`
 * when it begins and `<task>.exit` when it ends normally — what the task itself observed.
 *
 * @module
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Clock } from '../../sdk/core/clock.js';
import { silentLogger } from '../../sdk/core/log.js';
import type { Offer, Resource, TaskInfo, TaskStatus } from '../../sdk/protocol/index.js';
import { Scheduler, commandTask, matchResources, remainingResources } from '../../sdk/scheduler/index.js';
import { isTerminal, type TaskMarkers, type UpdateRecord } from './invariants.js';
import { randomInt, type Random } from './prng.js';

export interface WorkloadOptions {
  master: string;
  seed: number;
  token: string;
  markerDir: string;
  longTasks: number;
  /** Short tasks in flight at once. */
  shortTasks: number;
  clock: Clock;
  random: Random;
  /** Subscribe PARTITION_AWARE (default true). */
  partitionAware?: boolean;
  emit: (event: Record<string, unknown>) => void;
}

const TASK_SIZE = { cpus: 0.1, mem: 16 };

export class ChaosWorkload {
  readonly scheduler: Scheduler;
  /** Task id → updates received, in order. */
  readonly updates = new Map<string, UpdateRecord[]>();
  /** Tasks launched and not yet seen terminal. */
  private readonly active = new Map<string, 'long' | 'short'>();
  private launched = 0;
  /** Stop launching (the convergence phase). */
  launching = true;

  constructor(private readonly o: WorkloadOptions) {
    fs.mkdirSync(o.markerDir, { recursive: true });
    this.scheduler = new Scheduler({
      master: o.master,
      // PARTITION_AWARE, like Marathon: an agent cut off gets its tasks TASK_UNREACHABLE (not
      // terminal) and they may come back RUNNING; see docs/chaos.md for the non-aware case.
      frameworkInfo: {
        user: os.userInfo().username, name: `chaos-${o.seed}`, failover_timeout: 3600,
        ...(o.partitionAware !== false ? { capabilities: [{ type: 'PARTITION_AWARE' }] } : {}),
      },
      logger: silentLogger(),
      clock: o.clock,
    });
    this.scheduler.on('OFFERS', (offers: Offer[]) => this.onOffers(offers));
    this.scheduler.on('UPDATE', (status: TaskStatus) => this.onUpdate(status));
  }

  start(): Promise<string> {
    return this.scheduler.start();
  }

  get taskCount(): number {
    return this.launched;
  }

  /** Is `taskId` one of this run's framework tasks? */
  owns(taskId: string): boolean {
    return taskId.startsWith(`chaos-${this.o.seed}-`);
  }

  private command(taskId: string, kind: 'long' | 'short'): string {
    const m = (suffix: string): string => JSON.stringify(path.join(this.o.markerDir, `${taskId}.${suffix}`));
    const seconds = kind === 'long' ? 100_000 : randomInt(this.o.random, 1, 4);
    // `; echo …` after sleep keeps sh (and the token in its command line) alive.
    return `echo $$ > ${m('started')}; sleep ${seconds}; echo 0 > ${m('exit')} # ${this.o.token}`;
  }

  private async onOffers(offers: Offer[]): Promise<void> {
    for (const offer of offers) {
      const tasks: TaskInfo[] = [];
      let left: Resource[] = offer.resources ?? [];
      const want = (): 'long' | 'short' | undefined => {
        if (!this.launching) return undefined;
        const count = (k: string): number => [...this.active.values()].filter((v) => v === k).length;
        if (count('long') < this.o.longTasks) return 'long';
        if (count('short') < this.o.shortTasks) return 'short';
        return undefined;
      };
      for (let kind = want(); kind !== undefined && tasks.length < 4; kind = want()) {
        const resources = matchResources(left, TASK_SIZE);
        if (!resources) break;
        left = remainingResources(left, resources);
        const taskId = `chaos-${this.o.seed}-${kind === 'long' ? 'l' : 's'}${this.launched++}`;
        tasks.push(commandTask({ taskId, agentId: offer.agent_id.value, command: this.command(taskId, kind), resources, killGracePeriodMs: 1000 }));
        this.active.set(taskId, kind);
        this.updates.set(taskId, []);
      }
      try {
        if (tasks.length > 0) {
          await this.scheduler.launch([offer.id.value], tasks, { refuse_seconds: 1 });
          this.o.emit({ event: 'launch', agent: offer.agent_id.value, tasks: tasks.map((t) => t.task_id.value) });
        } else {
          await this.scheduler.decline([offer.id.value], { refuse_seconds: 2 });
        }
      } catch (err) {
        // A launch call lost in a failover: the master never saw it; reconciliation answers TASK_LOST/unknown.
        this.o.emit({ event: 'call-failed', error: (err as Error).message, tasks: tasks.map((t) => t.task_id.value) });
      }
    }
  }

  private onUpdate(status: TaskStatus): void {
    const taskId = status.task_id.value;
    if (!this.owns(taskId)) return;
    const list = this.updates.get(taskId) ?? [];
    list.push({
      state: status.state,
      ...(status.uuid ? { uuid: String(status.uuid) } : {}),
      ...(status.source ? { source: status.source } : {}),
      ...(status.reason ? { reason: status.reason } : {}),
    });
    this.updates.set(taskId, list);
    if (isTerminal(status.state)) this.active.delete(taskId);
  }

  /** Asks the master for the state of every task not yet seen terminal (explicit reconciliation). */
  async reconcile(): Promise<void> {
    const tasks = [...this.updates.entries()].filter(([, u]) => !u.some((x) => isTerminal(x.state))).map(([id]) => ({ taskId: id }));
    if (tasks.length > 0 && this.scheduler.state === 'subscribed') await this.scheduler.reconcile(tasks).catch(() => undefined);
  }

  /** What each task left in the marker dir. */
  markers(): Map<string, TaskMarkers> {
    const out = new Map<string, TaskMarkers>();
    let files: string[] = [];
    try {
      files = fs.readdirSync(this.o.markerDir);
    } catch {
      return out;
    }
    for (const f of files) {
      const m = /^(.*)\.(started|exit)$/.exec(f);
      if (!m) continue;
      const cur = out.get(m[1]!) ?? { started: false, exited: false };
      if (m[2] === 'started') cur.started = true;
      else cur.exited = true;
      out.set(m[1]!, cur);
    }
    return out;
  }

  async stop(): Promise<void> {
    this.launching = false;
    await this.scheduler.teardown().catch(() => this.scheduler.stop().catch(() => undefined));
  }
}
