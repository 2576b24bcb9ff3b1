/**
 * The two things Marathon does to instances: schedule new ones (they wait in the launch
 * queue, condition `Scheduled`, until an offer takes them) and kill them. A kill of a
 * scheduled instance just forgets it; a kill of a task sends KILL (with the app's
 * taskKillGracePeriodSeconds) and is retried until the task is terminal.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../../sdk/core/clock.js';
import type { Logger } from '../../../sdk/core/log.js';
import type { KillPolicy } from '../../../sdk/protocol/index.js';
import { instanceIdFor, taskIdFor } from '../model/ids.js';
import type { AppDefinition, Instance } from '../model/types.js';
import { isTerminalCondition } from './conditions.js';
import type { MarathonFramework } from './framework.js';
import type { InstanceTracker } from './instance-tracker.js';

/** Marathon's `--kill_retry_timeout` default: a kill unanswered this long is sent again. */
export const KILL_RETRY_MS = 10_000;

export class InstanceActions {
  /** Kills sent and not yet answered by a terminal update: instance id → when. */
  private readonly killsInFlight = new Map<string, number>();

  constructor(
    private readonly tracker: InstanceTracker,
    private readonly framework: () => MarathonFramework | undefined,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly appOf: (id: string) => AppDefinition | undefined,
  ) {}

  /** Adds `count` scheduled instances of `app` (its current version) to the launch queue. */
  async schedule(app: AppDefinition, count: number): Promise<Instance[]> {
    const out: Instance[] = [];
    for (let n = 0; n < count; n++) {
      const instanceId = instanceIdFor(app.id, randomUUID());
      out.push({
        instanceId,
        appId: app.id,
        runSpecVersion: app.version,
        taskId: taskIdFor(instanceId, 1),
        incarnation: 1,
        condition: 'Scheduled',
        hostPorts: [],
        goal: 'Running',
      });
    }
    await this.tracker.putAll(out);
    return out;
  }

  /** True when Marathon asked for this instance to be killed (its end is not a failure). */
  killRequested(instanceId: string): boolean {
    return this.killsInFlight.has(instanceId);
  }

  /** The kill is over (the task is terminal). */
  settled(instanceId: string): void {
    this.killsInFlight.delete(instanceId);
  }

  /**
   * Kills an instance. `goal` Running keeps it wanted (it is replaced once terminal);
   * Stopped/Decommissioned means it goes for good.
   */
  async kill(instance: Instance, goal: Instance['goal'], reason: string): Promise<void> {
    if (instance.condition === 'Scheduled' || instance.agentId === undefined) {
      await this.tracker.expunge(instance.instanceId);
      return;
    }
    if (isTerminalCondition(instance.condition)) return;
    let current = instance;
    if (instance.goal !== goal && instance.goal === 'Running') {
      current = (await this.tracker.update(instance.instanceId, { goal })) ?? instance;
    }
    this.logger.info({ taskId: current.taskId, reason }, 'killing task');
    this.killsInFlight.set(current.instanceId, this.clock.now());
    await this.sendKill(current);
  }

  /** Sends KILL again for kills unanswered for {@link KILL_RETRY_MS}. */
  async retryKills(): Promise<void> {
    const now = this.clock.now();
    for (const [id, at] of [...this.killsInFlight]) {
      const instance = this.tracker.get(id);
      if (instance === undefined || isTerminalCondition(instance.condition)) {
        this.killsInFlight.delete(id);
        continue;
      }
      if (now - at < KILL_RETRY_MS) continue;
      this.killsInFlight.set(id, now);
      await this.sendKill(instance);
    }
  }

  private async sendKill(instance: Instance): Promise<void> {
    const app = this.appOf(instance.appId);
    const policy: KillPolicy | undefined = app?.taskKillGracePeriodSeconds !== undefined
      ? { grace_period: { nanoseconds: Math.round(app.taskKillGracePeriodSeconds * 1e9) } }
      : undefined;
    await this.framework()?.kill(instance.taskId, instance.agentId, policy);
  }
}
