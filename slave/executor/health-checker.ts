/**
 * Runs one task's health check: the timers (on the injected Clock) around the pure
 * decisions of health-schedule.ts and a probe of health-probes.ts. Mesos's HealthChecker
 * process for one task.
 *
 * @module
 */
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../../sdk/core/clock.js';
import { silentLogger } from '../../sdk/core/log.js';
import type { HealthCheckSpec } from './health-check-spec.js';
import type { ProbeResult } from './health-probes.js';
import { firstCheckDelayMs, initialHealthState, onHealthResult, type HealthReport, type HealthState } from './health-schedule.js';

export interface HealthCheckerOptions {
  spec: HealthCheckSpec;
  clock: Clock;
  /** Runs one check; must resolve (a failure is `healthy: false`) and stop when `signal` aborts. */
  probe: (signal: AbortSignal) => Promise<ProbeResult>;
  /** A health update to send; `kill` when the failures in a row reached the limit. */
  onReport: (report: HealthReport, kill: boolean, result: ProbeResult) => void;
  logger?: Logger;
}

/**
 * Checks a task's health from `start()` to `stop()`: the first check `delayMs` after
 * `start()`, then `intervalMs` after each check ends.
 *
 * @example
 * ```ts
 * const checker = new HealthChecker({ spec, clock, probe: (signal) => runHealthProbe(spec.probe, spec.timeoutMs, { clock, env, cwd, signal }),
 *   onReport: (report, kill) => { … } });
 * checker.start();
 * ```
 */
export class HealthChecker {
  private readonly options: HealthCheckerOptions;
  private readonly logger: Logger;
  private healthState: HealthState | undefined;
  private timer: TimerHandle | undefined;
  private inFlight: AbortController | undefined;
  private stopped = false;

  constructor(options: HealthCheckerOptions) {
    this.options = options;
    this.logger = options.logger ?? silentLogger();
  }

  /** The checker's state, once started. */
  get state(): HealthState | undefined {
    return this.healthState;
  }

  /** Starts the clock of the grace period and schedules the first check. */
  start(): void {
    if (this.healthState !== undefined || this.stopped) return;
    this.healthState = initialHealthState(this.options.clock.now());
    this.schedule(firstCheckDelayMs(this.options.spec));
  }

  /** Cancels the next check and aborts one in flight; no report follows. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.inFlight?.abort();
    this.inFlight = undefined;
  }

  private schedule(ms: number): void {
    this.timer = this.options.clock.setTimeout(() => {
      this.timer = undefined;
      void this.check();
    }, ms);
  }

  private async check(): Promise<void> {
    if (this.stopped) return;
    const controller = new AbortController();
    this.inFlight = controller;
    let result: ProbeResult;
    try {
      result = await this.options.probe(controller.signal);
    } catch (err) {
      result = { healthy: false, message: (err as Error).message };
    }
    if (this.stopped || controller.signal.aborted) return;
    this.inFlight = undefined;
    const decision = onHealthResult(this.options.spec, this.healthState!, result.healthy, this.options.clock.now());
    this.healthState = decision.state;
    if (decision.ignored) {
      this.logger.info({ message: result.message }, 'ignoring health check failure: still in grace period');
    } else if (!result.healthy) {
      this.logger.warn({ consecutiveFailures: decision.state.consecutiveFailures, message: result.message }, 'health check failed');
    } else {
      this.logger.debug({ message: result.message }, 'health check passed');
    }
    if (decision.report !== undefined) this.options.onReport(decision.report, decision.kill, result);
    if (!this.stopped) this.schedule(decision.nextCheckInMs);
  }
}
