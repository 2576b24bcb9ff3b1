/**
 * An SDK framework inside the test process, recording what it receives: offers (minus the
 * ones used, declined or rescinded), status updates, rescinds, errors — each an
 * {@link EventLog} a test can wait on with a bound.
 *
 * @module
 */
import os from 'node:os';
import type { FrameworkInfo, Offer, TaskState, TaskStatus } from '../../sdk/protocol/index.js';
import { Scheduler, type SchedulerOptions } from '../../sdk/scheduler/index.js';
import { silentLogger } from '../../sdk/core/log.js';
import type { Teardownable } from './agora-process.js';
import { EventLog } from './wait.js';

export interface TestFrameworkOptions {
  /** FrameworkInfo fields over the defaults (user: current user, name: 'test-framework'). */
  info?: Partial<FrameworkInfo>;
  /** PARTITION_AWARE etc. */
  capabilities?: string[];
  /** Scheduler options over the defaults. */
  scheduler?: Partial<SchedulerOptions>;
  /** Tear the framework down at test teardown (default true). */
  teardown?: boolean;
}

export class TestFramework {
  readonly scheduler: Scheduler;
  readonly offers = new EventLog<Offer>();
  readonly updates = new EventLog<TaskStatus>();
  readonly rescinds = new EventLog<string>();
  readonly errors = new EventLog<string>();
  /** Offers received and not yet launched on, declined or rescinded. */
  readonly outstanding = new Map<string, Offer>();

  constructor(master: string, opts: TestFrameworkOptions = {}) {
    const info: FrameworkInfo = {
      user: os.userInfo().username,
      name: 'test-framework',
      ...opts.info,
      ...(opts.capabilities ? { capabilities: opts.capabilities.map((type) => ({ type })) } : {}),
    };
    this.scheduler = new Scheduler({ master, frameworkInfo: info, logger: silentLogger(), ...opts.scheduler });
    this.scheduler.on('OFFERS', (offers: Offer[]) => {
      for (const o of offers) {
        this.outstanding.set(o.id.value, o);
        this.offers.push(o);
      }
    });
    this.scheduler.on('RESCIND', (offerId: string) => {
      this.outstanding.delete(offerId);
      this.rescinds.push(offerId);
    });
    this.scheduler.on('UPDATE', (status: TaskStatus) => {
      this.updates.push(status);
    });
    this.scheduler.on('ERROR', (e: { message: string }) => {
      this.errors.push(e.message);
    });
  }

  /** Creates, subscribes, and (by default) tears down at the end of the test. */
  static async start(t: Teardownable, master: string, opts: TestFrameworkOptions = {}): Promise<TestFramework> {
    const f = new TestFramework(master, opts);
    if (opts.teardown !== false) t.teardown(() => f.close());
    await f.scheduler.start();
    return f;
  }

  get id(): string {
    const id = this.scheduler.frameworkId;
    if (id === undefined) throw new Error('not subscribed');
    return id;
  }

  /** An outstanding offer matching `match` (already received or to come). */
  async offer(match: (o: Offer) => boolean, timeoutMs: number, what = 'an offer'): Promise<Offer> {
    for (const o of this.outstanding.values()) if (match(o)) return o;
    const o = await this.offers.waitFor((x) => match(x) && this.outstanding.has(x.id.value), timeoutMs, what);
    return o;
  }

  /** An outstanding offer from agent `agentId`. */
  offerFrom(agentId: string, timeoutMs: number): Promise<Offer> {
    return this.offer((o) => o.agent_id.value === agentId, timeoutMs, `an offer from ${agentId}`);
  }

  /** Marks offers as used (after launching on them or declining them). */
  used(...offerIds: string[]): void {
    for (const id of offerIds) this.outstanding.delete(id);
  }

  /** The first update of `taskId` in `state` (already received or to come). */
  waitForState(taskId: string, state: TaskState | ((s: TaskState) => boolean), timeoutMs: number): Promise<TaskStatus> {
    const ok = typeof state === 'function' ? state : (s: TaskState): boolean => s === state;
    return this.updates.waitFor((u) => u.task_id.value === taskId && ok(u.state), timeoutMs, `${taskId} ${typeof state === 'string' ? state : 'in the expected state'} (seen: ${this.statesOf(taskId).join(', ') || 'none'})`);
  }

  /** The states reported for `taskId`, in order. */
  statesOf(taskId: string): TaskState[] {
    return this.updates.filter((u) => u.task_id.value === taskId).map((u) => u.state);
  }

  /** Tears down if still subscribed, else stops; never throws (teardown). */
  async close(): Promise<void> {
    if (this.scheduler.state === 'stopped') return;
    try {
      if (this.scheduler.state === 'subscribed') await this.scheduler.teardown();
      else await this.scheduler.stop();
    } catch {
      await this.scheduler.stop().catch(() => undefined);
    }
  }
}
