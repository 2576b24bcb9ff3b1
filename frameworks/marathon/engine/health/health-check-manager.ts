/**
 * Marathon-side health checks (HTTP, HTTPS, TCP) of running instances (Marathon's
 * HealthCheckActor): one checker per instance and check, probing every intervalSeconds;
 * failures during gracePeriodSeconds after the task started are ignored until the first
 * success; maxConsecutiveFailures failures in a row (0 = never) kill the instance, which
 * self-healing then replaces. The instance's `healthy` is the conjunction of its checks.
 *
 * Events: health_status_changed_event, failed_health_check_event, unhealthy_instance_kill_event.
 *
 * @module
 */
import type { Clock, TimerHandle } from '../../../../sdk/core/clock.js';
import type { Logger } from '../../../../sdk/core/log.js';
import type { AppDefinition, HealthCheckDefinition, Instance } from '../../model/types.js';
import type { EventBus } from '../event-bus.js';
import { failedHealthCheckEvent, healthStatusChangedEvent, unhealthyInstanceKillEvent } from '../events.js';
import { healthCheckPort } from '../task-builder.js';
import { isoOf, msOf } from '../time.js';
import type { Probe } from './probes.js';

/** Health checks Marathon runs itself (the others go into TaskInfo.health_check). */
export function isMarathonSideCheck(c: HealthCheckDefinition): c is HealthCheckDefinition & { protocol: 'HTTP' | 'HTTPS' | 'TCP' } {
  return c.protocol === 'HTTP' || c.protocol === 'HTTPS' || c.protocol === 'TCP';
}

interface Checker {
  key: string;
  instanceId: string;
  taskId: string;
  check: HealthCheckDefinition & { protocol: 'HTTP' | 'HTTPS' | 'TCP' };
  consecutiveFailures: number;
  everSucceeded: boolean;
  alive?: boolean;
  timer?: TimerHandle;
  stopped: boolean;
}

export interface HealthCheckDeps {
  clock: Clock;
  logger: Logger;
  bus: EventBus;
  probe: Probe;
  /** The latest state of an instance. */
  instance(id: string): Instance | undefined;
  /** Records the aggregated health of an instance. */
  setHealthy(instanceId: string, healthy: boolean): Promise<void>;
  /** Kills an unhealthy instance (it is replaced). */
  killUnhealthy(instance: Instance, reason: string): Promise<void>;
}

export class HealthCheckManager {
  private readonly checkers = new Map<string, Checker>();

  constructor(private readonly deps: HealthCheckDeps) {}

  /** Starts checkers for running instances with Marathon-side checks, stops the others. */
  sync(instances: readonly Instance[], appOf: (i: Instance) => AppDefinition | undefined): void {
    const wanted = new Set<string>();
    for (const i of instances) {
      if (i.condition !== 'Running' || i.goal !== 'Running' || i.host === undefined) continue;
      const app = appOf(i);
      if (app === undefined) continue;
      app.healthChecks.forEach((check, index) => {
        if (!isMarathonSideCheck(check)) return;
        const key = `${i.taskId}#${index}`;
        wanted.add(key);
        if (!this.checkers.has(key)) this.startChecker({ key, instanceId: i.instanceId, taskId: i.taskId, check, consecutiveFailures: 0, everSucceeded: false, stopped: false });
      });
    }
    for (const [key, c] of this.checkers) {
      if (!wanted.has(key)) this.stopChecker(c);
    }
  }

  /** Stops every checker. */
  close(): void {
    for (const c of [...this.checkers.values()]) this.stopChecker(c);
  }

  private startChecker(c: Checker): void {
    this.checkers.set(c.key, c);
    c.timer = this.deps.clock.setTimeout(() => void this.runOnce(c), 0);
  }

  private stopChecker(c: Checker): void {
    c.stopped = true;
    c.timer?.cancel();
    this.checkers.delete(c.key);
  }

  private async runOnce(c: Checker): Promise<void> {
    if (c.stopped) return;
    const instance = this.deps.instance(c.instanceId);
    const port = instance === undefined ? undefined : healthCheckPort(c.check, instance.hostPorts);
    if (instance === undefined || instance.host === undefined || port === undefined) {
      this.stopChecker(c);
      return;
    }
    const result = await this.deps.probe({
      protocol: c.check.protocol,
      host: instance.host,
      port,
      path: c.check.path ?? '/',
      timeoutMs: c.check.timeoutSeconds * 1000,
      ignoreHttp1xx: c.check.ignoreHttp1xx,
    });
    if (c.stopped) return;
    try {
      if (!result.ignored) await this.record(c, instance, result.healthy, result.reason);
    } catch (err) {
      this.deps.logger.warn({ err, taskId: c.taskId }, 'recording a health check result failed');
    }
    if (!c.stopped) c.timer = this.deps.clock.setTimeout(() => void this.runOnce(c), c.check.intervalSeconds * 1000);
  }

  private async record(c: Checker, instance: Instance, healthy: boolean, reason?: string): Promise<void> {
    const now = this.deps.clock.now();
    if (healthy) {
      c.consecutiveFailures = 0;
      c.everSucceeded = true;
      await this.setAlive(c, true);
      return;
    }
    const startedMs = instance.startedAt !== undefined ? msOf(instance.startedAt) : now;
    const inGrace = !c.everSucceeded && now < startedMs + c.check.gracePeriodSeconds * 1000;
    if (inGrace) return; // Marathon ignores failures in the grace period until the first success
    c.consecutiveFailures++;
    this.deps.bus.publish(failedHealthCheckEvent(instance, renderCheck(c.check), isoOf(now)));
    this.deps.logger.info({ taskId: c.taskId, reason, failures: c.consecutiveFailures }, 'health check failed');
    await this.setAlive(c, false);
    if (c.check.maxConsecutiveFailures > 0 && c.consecutiveFailures >= c.check.maxConsecutiveFailures) {
      const why = `${c.check.protocol} health check failed ${c.consecutiveFailures} time(s)${reason ? `: ${reason}` : ''}`;
      this.deps.bus.publish(unhealthyInstanceKillEvent(instance, why, isoOf(now)));
      this.stopChecker(c);
      await this.deps.killUnhealthy(instance, why);
    }
  }

  private async setAlive(c: Checker, alive: boolean): Promise<void> {
    if (c.alive === alive) return;
    c.alive = alive;
    const all = [...this.checkers.values()].filter((o) => o.instanceId === c.instanceId);
    const healthy = all.every((o) => o.alive === true);
    const instance = this.deps.instance(c.instanceId);
    if (instance === undefined) return;
    this.deps.bus.publish(healthStatusChangedEvent(instance, alive, isoOf(this.deps.clock.now())));
    if (instance.healthy !== healthy && (all.every((o) => o.alive !== undefined) || !healthy)) {
      await this.deps.setHealthy(c.instanceId, healthy);
    }
  }
}

/** The health check as Marathon renders it in events. */
function renderCheck(c: HealthCheckDefinition): Record<string, unknown> {
  return { ...c };
}
