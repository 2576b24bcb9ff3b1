/**
 * Rolling restarts: Marathon's `TaskReplaceActor` as a pure, stateless tick.
 *
 * Marathon computes a restart strategy once (`computeRestartStrategy`):
 * - `minHealthy = ceil(instances × minimumHealthCapacity)`,
 * - `maxCapacity = floor(instances × (1 + maximumOverCapacity))`, plus one when
 *   `minHealthy == maxCapacity` ("Allow temporary over-capacity of one instance to allow
 *   restarting"), otherwise a restart with minimumHealthCapacity 1 and maximumOverCapacity 0
 *   could never start a new instance;
 * - kill `healthy − minHealthy` old instances right away (more when there are more
 *   instances than the target: the extras go too), unhealthy old instances first;
 * - launch new instances while `old alive + new started < maxCapacity`;
 * - each time a new instance becomes healthy and ready, kill one more old instance;
 * - done when `instances` new instances are healthy and ready and no old one is alive.
 *
 * {@link nextUpgradeMoves} derives the same moves from a snapshot instead of counting events,
 * so the engine can call it after every change and apply the result (idempotent: applying
 * the moves and calling again with the updated snapshot yields nothing new until something
 * changes). The kill budget is `healthy (goal Running, old and new) − minHealthy`, which is
 * exactly Marathon's initial kill count, and grows by one when a new instance becomes healthy.
 *
 * Deviations from the actor, both because we have no memory between ticks:
 * - the over-capacity +1 applies whenever `minHealthy == maxCapacity` (Marathon also requires
 *   that at least `maxCapacity` instances were healthy when the deployment started);
 * - when an old instance that was unhealthy is killed, Marathon waits for the next new
 *   healthy instance before killing another; we may kill the next one at once as long as
 *   the healthy count stays at or above `minHealthy`.
 *
 * @module
 */
import type { AppDefinition, Instance, InstanceCondition } from '../model/types.js';

/** Conditions Marathon considers terminal for an instance (`considerTerminal`). */
const TERMINAL: ReadonlySet<InstanceCondition> = new Set<InstanceCondition>([
  'Finished', 'Failed', 'Killed', 'Error', 'Dropped', 'Gone', 'Unknown', 'UnreachableInactive',
]);

/** True when the instance's task is gone for good (it no longer uses capacity). */
export function isTerminalCondition(c: InstanceCondition): boolean {
  return TERMINAL.has(c);
}

/** The bounds of a rolling restart. */
export interface UpgradeBounds {
  /** `ceil(instances × minimumHealthCapacity)`: healthy instances kept while restarting. */
  minHealthy: number;
  /** `floor(instances × (1 + maximumOverCapacity))`: Marathon's configured capacity. */
  maxTotal: number;
  /** The capacity actually used: `maxTotal`, plus one when it equals `minHealthy` (and instances > 0). */
  maxCapacity: number;
}

/**
 * Marathon's restart arithmetic for `app` (floating point exactly as Marathon's doubles:
 * `ceil(10 × 0.3)` is 4 there too).
 */
export function upgradeBounds(app: AppDefinition): UpgradeBounds {
  const { minimumHealthCapacity, maximumOverCapacity } = app.upgradeStrategy;
  const minHealthy = Math.ceil(app.instances * minimumHealthCapacity);
  const maxTotal = Math.floor(app.instances * (1 + maximumOverCapacity));
  const maxCapacity = app.instances > 0 && minHealthy === maxTotal ? maxTotal + 1 : maxTotal;
  return { minHealthy, maxTotal, maxCapacity };
}

/** Input of {@link nextUpgradeMoves}. */
export interface UpgradeSnapshot {
  /** The app version being rolled out. */
  target: AppDefinition;
  /**
   * Instances of other versions of the app, including ones already being killed (goal not
   * Running) until they are terminal; terminal ones may be passed or left out.
   */
  oldInstances: readonly Instance[];
  /** Instances of the target version (Scheduled ones included when the engine tracks them). */
  newInstances: readonly Instance[];
  /**
   * Health as the restart sees it: healthy (or running when the app has no health checks)
   * and, for new instances, ready when the app has readiness checks.
   */
  healthyOrReady: (i: Instance) => boolean;
  /** New instances queued for launch that are not in `newInstances` yet (default 0). */
  pendingLaunches?: number;
}

/** What to do now. */
export interface UpgradeMoves {
  /** How many new instances to queue for launch. */
  launch: number;
  /** Old instances to kill (set their goal to Decommissioned), in this order. */
  kill: Instance[];
  /** True when the restart is complete. */
  done: boolean;
}

/**
 * One tick of a rolling restart.
 *
 * @example
 * const moves = nextUpgradeMoves({ target, oldInstances, newInstances, healthyOrReady });
 * for (const i of moves.kill) decommission(i);
 * queue.add(target, moves.launch);
 */
export function nextUpgradeMoves(input: UpgradeSnapshot): UpgradeMoves {
  const { target, healthyOrReady } = input;
  const pending = Math.max(0, input.pendingLaunches ?? 0);
  const oldAlive = input.oldInstances.filter((i) => !isTerminalCondition(i.condition));
  const oldActive = oldAlive.filter((i) => i.goal === 'Running');
  // An old instance that died on its own while its goal is still Running is decommissioned
  // (Marathon: "Old … became terminal during an upgrade but still has goal Running").
  const oldDead = input.oldInstances.filter((i) => isTerminalCondition(i.condition) && i.goal === 'Running');

  if (target.instances <= 0) {
    return { launch: 0, kill: [...oldDead, ...oldActive], done: oldAlive.length === 0 };
  }

  const { minHealthy, maxCapacity } = upgradeBounds(target);
  const newStartedInstances = input.newInstances.filter((i) => i.goal === 'Running');
  const newStarted = newStartedInstances.length + pending;
  const healthyNew = newStartedInstances.filter((i) => !isTerminalCondition(i.condition) && healthyOrReady(i)).length;
  const healthyOld = oldActive.filter(healthyOrReady).length;

  const budget = Math.max(0, healthyOld + healthyNew - minHealthy);
  // Marathon kills `current instances − instances` at once when there are more than the
  // target (e.g. the previous deployment left extra instances). Counted on old instances
  // only: new ones we launched ourselves are never extras.
  const extras = Math.max(0, oldActive.length - target.instances);
  const killCount = Math.min(oldActive.length, Math.max(budget, extras));
  // Unhealthy old instances go first (Marathon's `toKillOrdered`); stable otherwise.
  const ordered = [...oldActive.filter((i) => !healthyOrReady(i)), ...oldActive.filter(healthyOrReady)];
  const kill = [...oldDead, ...ordered.slice(0, killCount)];

  const leftCapacity = Math.max(0, maxCapacity - oldAlive.length - newStarted);
  const notStartedYet = Math.max(0, target.instances - newStarted);
  const launch = Math.min(notStartedYet, leftCapacity);

  const done = healthyNew >= target.instances && oldAlive.length === 0;
  return { launch, kill, done };
}
