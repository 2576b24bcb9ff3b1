/**
 * The deployment planner: Marathon's `DeploymentPlan.apply(original, target, version, toKill)`
 * as a pure function.
 *
 * Steps, in order (empty steps are dropped):
 * 1. one step stopping every app that is in `original` but not in `target`;
 * 2. one step starting every new app with `scaleTo: 0` (Marathon's `StartApplication(app, 0)`);
 * 3. for the apps that are new or differ in any way (the "affected" apps), one step per
 *    dependency level of the target's dependency graph (apps whose longest dependency path
 *    is shorter go first, see {@link dependencyLevels}):
 *    - new app → `ScaleApplication` to `instances`;
 *    - same config, other instance count, or instances to kill given → `ScaleApplication`
 *      with `sentencedToDeath` from `toKill`;
 *    - config changed or new version (restart) → `RestartApplication`;
 *    - otherwise nothing.
 *
 * Actions within a step are sorted by app id so plans are deterministic.
 *
 * @module
 */
import type {
  AppDefinition, DeploymentAction, DeploymentPlan, DeploymentStep, Group, Instance, PathId, Timestamp,
} from '../model/types.js';
import { deepEqual, isUpgrade, needsRestart } from './app-diff.js';
import { appsById, dependencyLevels } from './dependency-graph.js';

/** Options of {@link planDeployment}. */
export interface PlanOptions {
  /** The plan id (a uuid chosen by the caller). */
  id: string;
  /** The plan version (the target's version timestamp). */
  version: Timestamp;
  /** Current instances of all apps; `toKill` entries naming no instance of the app are dropped. */
  instances: readonly Instance[];
  /** Instances to kill by app (explicit kills with `scale=true`): instance ids. */
  toKill?: Record<PathId, string[]>;
}

const byApp = (a: DeploymentAction, b: DeploymentAction): number => (a.app < b.app ? -1 : a.app > b.app ? 1 : 0);

/**
 * Plans the deployment from `original` to `target`.
 *
 * @example
 * const plan = planDeployment(root, newRoot, { id: uuid, version: now, instances });
 * plan.steps // [{ actions: [{ action: 'StartApplication', app: '/web', scaleTo: 0 }] },
 *            //  { actions: [{ action: 'ScaleApplication', app: '/web', scaleTo: 3 }] }]
 */
export function planDeployment(original: Group, target: Group, opts: PlanOptions): DeploymentPlan {
  const originalApps = appsById(original);
  const targetApps = appsById(target);
  const toKill = sentenced(opts.toKill ?? {}, opts.instances);

  const stops: DeploymentAction[] = [...originalApps.keys()]
    .filter((id) => !targetApps.has(id))
    .map((id) => ({ action: 'StopApplication' as const, app: id }));
  const starts: DeploymentAction[] = [...targetApps.keys()]
    .filter((id) => !originalApps.has(id))
    .map((id) => ({ action: 'StartApplication' as const, app: id, scaleTo: 0 }));

  // New apps and apps that differ in any way (Marathon compares whole specs here, version
  // included), plus apps with explicit kills.
  const affected = [...targetApps.values()]
    .filter((app) => {
      const before = originalApps.get(app.id);
      return !before || !deepEqual(before, app) || toKill.has(app.id);
    })
    .map((app) => app.id);

  const steps: DeploymentStep[] = [{ actions: stops.sort(byApp) }, { actions: starts.sort(byApp) }];
  for (const level of dependencyLevels(target, affected)) {
    const actions: DeploymentAction[] = [];
    for (const id of level) {
      const action = actionFor(originalApps.get(id), targetApps.get(id)!, toKill.get(id));
      if (action) actions.push(action);
    }
    steps.push({ actions });
  }

  const nonEmpty = steps.filter((s) => s.actions.length > 0);
  const affectedApps = [...new Set(nonEmpty.flatMap((s) => s.actions.map((a) => a.app)))].sort();
  return { id: opts.id, version: opts.version, original, target, steps: nonEmpty, affectedApps };
}

/** The action for one affected app (Marathon's `dependencyOrderedSteps` match). */
function actionFor(before: AppDefinition | undefined, after: AppDefinition, kill: string[] | undefined): DeploymentAction | undefined {
  if (!before) return { action: 'ScaleApplication', app: after.id, scaleTo: after.instances };
  if (!isUpgrade(before, after) && (before.instances !== after.instances || kill !== undefined)) {
    const action: DeploymentAction = { action: 'ScaleApplication', app: after.id, scaleTo: after.instances };
    if (kill !== undefined) action.sentencedToDeath = kill;
    return action;
  }
  if (needsRestart(before, after)) return { action: 'RestartApplication', app: after.id };
  return undefined;
}

/** `toKill` restricted to instances that exist and belong to the named app; empty lists dropped. */
function sentenced(toKill: Record<PathId, string[]>, instances: readonly Instance[]): Map<PathId, string[]> {
  const out = new Map<PathId, string[]>();
  for (const [appId, ids] of Object.entries(toKill)) {
    const wanted = new Set(ids);
    const found = instances.filter((i) => i.appId === appId && wanted.has(i.instanceId)).map((i) => i.instanceId);
    if (found.length > 0) out.set(appId, found);
  }
  return out;
}
