/**
 * Runs deployment plans (Marathon's DeploymentManager + DeploymentActor): steps in order,
 * the actions of a step together. Each action is a convergence check evaluated on every
 * tick (after every instance change): it schedules or kills what is still needed and says
 * whether it is done, so a plan resumed after a restart simply starts over from its first
 * step and skips through what is already true.
 *
 * - StartApplication: nothing to launch (scale 0).
 * - ScaleApplication: kill `sentencedToDeath`, then launch/kill until `scaleTo` instances are
 *   alive, all Running and healthy (when the app has health checks).
 * - RestartApplication: M2's nextUpgradeMoves on every tick (rolling, minimumHealthCapacity /
 *   maximumOverCapacity), done when every instance runs the new config and is healthy.
 * - StopApplication: kill every instance, wait until they are gone, forget the app.
 *
 * Apps of a running plan are locked: self-healing leaves them to the plan.
 *
 * @module
 */
import type { Clock } from '../../../sdk/core/clock.js';
import type { Logger } from '../../../sdk/core/log.js';
import { allApps, renderApp, renderGroup } from '../model/index.js';
import { nextUpgradeMoves, selectInstancesToKill } from '../plan/index.js';
import type { AppDefinition, DeploymentAction, DeploymentPlan, DeploymentStatus, Instance, PathId } from '../model/types.js';
import { isActive, isTerminalCondition } from './conditions.js';
import type { EventBus } from './event-bus.js';
import { appTerminatedEvent, deploymentDoneEvent, deploymentInfoEvent, deploymentStepEvent } from './events.js';
import type { InstanceActions } from './instance-actions.js';
import type { InstanceTracker } from './instance-tracker.js';
import type { MarathonStore } from './store.js';
import { isoOf } from './time.js';

/**
 * Good enough for a deployment: Running, healthy if the app has health checks, and (when
 * `requireReady`, i.e. for instances the deployment started) ready if it has readiness checks.
 */
export function healthyOrReady(app: AppDefinition, i: Instance, requireReady = true): boolean {
  if (i.condition !== 'Running') return false;
  if (app.healthChecks.length > 0 && i.healthy !== true) return false;
  if (requireReady && app.readinessChecks.length > 0 && i.ready !== true) return false;
  return true;
}

/**
 * True when the instance runs `target`'s configuration: the app version it was launched with
 * has the same last config change (a scale keeps it; a config change or restart moves it).
 */
export function runsConfigOf(target: AppDefinition, i: Instance, launchedWith: AppDefinition | undefined): boolean {
  if (i.runSpecVersion === target.version) return true;
  return launchedWith !== undefined && launchedWith.versionInfo.lastConfigChangeAt === target.versionInfo.lastConfigChangeAt;
}

interface Run {
  plan: DeploymentPlan;
  /** 0-based index of the step being executed. */
  step: number;
  /** The target's apps by id (a step of a group deployment has an action per app, each looking its app up on every tick). */
  targetApps: Map<PathId, AppDefinition>;
}

export interface DeploymentExecutorDeps {
  store: MarathonStore;
  tracker: InstanceTracker;
  actions: InstanceActions;
  bus: EventBus;
  clock: Clock;
  logger: Logger;
  /** The app version an instance was launched with. */
  definitionOf(i: Instance): AppDefinition | undefined;
  /** An app's definition is gone for good (after StopApplication). */
  forgetApp(appId: PathId): Promise<void>;
}

/** The plan as Marathon renders it in events and /v2/deployments-like bodies. */
export function renderPlanForEvent(plan: DeploymentPlan): Record<string, unknown> {
  const group = (g: DeploymentPlan['original']): Record<string, unknown> => renderGroup(g, { embedApps: true, embedGroups: true, renderApp });
  return {
    id: plan.id,
    version: plan.version,
    original: group(plan.original),
    target: group(plan.target),
    steps: plan.steps.map((s) => ({ actions: s.actions.map((a) => ({ action: a.action, app: a.app })) })),
  };
}

export class DeploymentExecutor {
  private readonly runs = new Map<string, Run>();

  constructor(private readonly deps: DeploymentExecutorDeps) {}

  /** Starts a plan (already persisted by the caller). */
  start(plan: DeploymentPlan): void {
    this.runs.set(plan.id, { plan, step: 0, targetApps: new Map(allApps(plan.target).map((a) => [a.id, a])) });
    this.announceStep(this.runs.get(plan.id)!);
  }

  /** Running deployments, oldest first. */
  statuses(readiness: (plan: DeploymentPlan) => DeploymentStatus['readinessCheckResults'] = () => []): DeploymentStatus[] {
    return [...this.runs.values()].map((r) => ({ plan: r.plan, currentStep: Math.min(r.step + 1, Math.max(1, r.plan.steps.length)), readinessCheckResults: readiness(r.plan) }));
  }

  get(id: string): DeploymentPlan | undefined {
    return this.runs.get(id)?.plan;
  }

  /** Apps locked by running plans. */
  lockedApps(): Set<PathId> {
    return new Set([...this.runs.values()].flatMap((r) => r.plan.affectedApps));
  }

  /** Ids of running plans touching any of `apps`. */
  conflicting(apps: readonly PathId[]): string[] {
    const wanted = new Set(apps);
    return [...this.runs.values()].filter((r) => r.plan.affectedApps.some((a) => wanted.has(a))).map((r) => r.plan.id);
  }

  /** Stops a plan where it is (deployment_failed), forgetting it. */
  async cancel(id: string): Promise<DeploymentPlan | undefined> {
    const run = this.runs.get(id);
    if (run === undefined) return undefined;
    this.runs.delete(id);
    await this.deps.store.deleteDeployment(id);
    const now = isoOf(this.deps.clock.now());
    this.deps.bus.publish(deploymentStepEvent('deployment_step_failure', renderPlanForEvent(run.plan), this.currentStepOf(run), now));
    this.deps.bus.publish(deploymentDoneEvent('deployment_failed', run.plan, renderPlanForEvent(run.plan), now));
    this.deps.logger.info({ deploymentId: id }, 'deployment cancelled');
    return run.plan;
  }

  /** Advances every running plan as far as it goes now. */
  async tick(): Promise<void> {
    for (const run of [...this.runs.values()]) {
      if (this.runs.get(run.plan.id) !== run) continue;
      await this.advance(run);
    }
  }

  private currentStepOf(run: Run): Record<string, unknown> {
    const step = run.plan.steps[run.step];
    return { actions: (step?.actions ?? []).map((a) => ({ action: a.action, app: a.app })) };
  }

  private announceStep(run: Run): void {
    if (run.step >= run.plan.steps.length) return;
    this.deps.bus.publish(deploymentInfoEvent(renderPlanForEvent(run.plan), this.currentStepOf(run), isoOf(this.deps.clock.now())));
  }

  private async advance(run: Run): Promise<void> {
    while (run.step < run.plan.steps.length) {
      const step = run.plan.steps[run.step]!;
      let allDone = true;
      for (const action of step.actions) {
        if (this.runs.get(run.plan.id) !== run) return; // cancelled meanwhile
        if (!(await this.advanceAction(run, action))) allDone = false;
      }
      if (!allDone || this.runs.get(run.plan.id) !== run) return;
      this.deps.bus.publish(deploymentStepEvent('deployment_step_success', renderPlanForEvent(run.plan), this.currentStepOf(run), isoOf(this.deps.clock.now())));
      run.step++;
      this.announceStep(run);
    }
    this.runs.delete(run.plan.id);
    await this.deps.store.deleteDeployment(run.plan.id);
    this.deps.bus.publish(deploymentDoneEvent('deployment_success', run.plan, renderPlanForEvent(run.plan), isoOf(this.deps.clock.now())));
    this.deps.logger.info({ deploymentId: run.plan.id }, 'deployment finished');
  }

  /** Does what the action still needs; true when it is complete. */
  private async advanceAction(run: Run, action: DeploymentAction): Promise<boolean> {
    const { tracker, actions } = this.deps;
    switch (action.action) {
      case 'StartApplication':
      case 'ResolveArtifacts':
        return true;
      case 'ScaleApplication': {
        const app = run.targetApps.get(action.app);
        if (app === undefined) return true;
        const scaleTo = action.scaleTo ?? app.instances;
        for (const id of action.sentencedToDeath ?? []) {
          const i = tracker.get(id);
          if (i !== undefined && i.goal === 'Running' && !isTerminalCondition(i.condition)) await actions.kill(i, 'Decommissioned', 'killed with scale');
        }
        const active = tracker.ofApp(app.id).filter(isActive);
        if (active.length < scaleTo) await actions.schedule(app, scaleTo - active.length);
        else if (active.length > scaleTo) {
          for (const i of selectInstancesToKill(active, active.length - scaleTo, app.killSelection)) await actions.kill(i, 'Decommissioned', 'scaling down');
        }
        const now = tracker.ofApp(app.id).filter(isActive);
        return now.length === scaleTo && now.every((i) => healthyOrReady(app, i));
      }
      case 'RestartApplication': {
        const target = run.targetApps.get(action.app);
        if (target === undefined) return true;
        const alive = tracker.ofApp(target.id).filter((i) => !isTerminalCondition(i.condition));
        const isNew = (i: Instance): boolean => runsConfigOf(target, i, this.deps.definitionOf(i));
        const oldInstances = alive.filter((i) => !isNew(i));
        const newInstances = alive.filter(isNew);
        const moves = nextUpgradeMoves({ target, oldInstances, newInstances, healthyOrReady: (i) => healthyOrReady(target, i, isNew(i)) });
        for (const i of moves.kill) await actions.kill(i, 'Decommissioned', 'replaced by a new version');
        if (moves.launch > 0) await actions.schedule(target, moves.launch);
        return moves.done;
      }
      case 'StopApplication': {
        const instances = tracker.ofApp(action.app);
        for (const i of instances) {
          if (i.condition === 'Unreachable' || i.condition === 'UnreachableInactive' || isTerminalCondition(i.condition)) {
            await tracker.expunge(i.instanceId);
          } else if (i.goal === 'Running' || !actions.killRequested(i.instanceId)) {
            await actions.kill(i, 'Decommissioned', 'app deleted');
          }
        }
        if (tracker.ofApp(action.app).length > 0) return false;
        await this.deps.forgetApp(action.app);
        this.deps.bus.publish(appTerminatedEvent(action.app, isoOf(this.deps.clock.now())));
        return true;
      }
    }
  }
}
