/**
 * Self-healing outside deployments (Marathon's scale check): every app not locked by a
 * deployment converges to its `instances` — missing instances are scheduled (launched
 * once their launch delay is over), extra ones killed in Marathon's kill order. Instances
 * of apps that no longer exist are killed. Unreachable instances turn inactive after
 * unreachableStrategy.inactiveAfterSeconds (then they no longer count and get a
 * replacement) and are expunged after expungeAfterSeconds.
 *
 * @module
 */
import { selectInstancesToKill } from '../plan/index.js';
import type { AppDefinition, Instance, PathId } from '../model/types.js';
import { isActive } from './conditions.js';
import type { InstanceActions } from './instance-actions.js';
import type { InstanceTracker } from './instance-tracker.js';
import { isoOf, msOf } from './time.js';

export interface SelfHealingDeps {
  tracker: InstanceTracker;
  actions: InstanceActions;
  apps(): AppDefinition[];
  app(id: PathId): AppDefinition | undefined;
  locked(): Set<PathId>;
  now(): number;
}

export class SelfHealing {
  constructor(private readonly deps: SelfHealingDeps) {}

  async tick(): Promise<void> {
    await this.unreachable();
    const locked = this.deps.locked();
    for (const app of this.deps.apps()) {
      if (!locked.has(app.id)) await this.converge(app);
    }
    for (const i of this.deps.tracker.all()) {
      if (this.deps.app(i.appId) === undefined && !locked.has(i.appId) && i.goal === 'Running') {
        await this.deps.actions.kill(i, 'Decommissioned', 'app no longer exists');
      }
    }
  }

  /** Brings one app to its instance count. */
  async converge(app: AppDefinition): Promise<void> {
    const active = this.deps.tracker.ofApp(app.id).filter(isActive);
    if (active.length < app.instances) {
      await this.deps.actions.schedule(app, app.instances - active.length);
    } else if (active.length > app.instances) {
      for (const i of selectInstancesToKill(active, active.length - app.instances, app.killSelection)) {
        await this.deps.actions.kill(i, 'Decommissioned', 'too many instances');
      }
    }
  }

  /** unreachableStrategy: inactive after inactiveAfterSeconds, expunged after expungeAfterSeconds. */
  private async unreachable(): Promise<void> {
    const now = this.deps.now();
    for (const i of this.deps.tracker.all()) {
      if (i.condition !== 'Unreachable' && i.condition !== 'UnreachableInactive') continue;
      const app = this.deps.app(i.appId);
      const since = i.unreachableSince !== undefined ? msOf(i.unreachableSince) : now;
      const strategy = app?.unreachableStrategy ?? { inactiveAfterSeconds: 0, expungeAfterSeconds: 0 };
      if (now - since >= strategy.expungeAfterSeconds * 1000) {
        await this.expunge(i);
      } else if (i.condition === 'Unreachable' && now - since >= strategy.inactiveAfterSeconds * 1000) {
        await this.deps.tracker.update(i.instanceId, { condition: 'UnreachableInactive', unreachableSince: i.unreachableSince ?? isoOf(since) });
      }
    }
  }

  private async expunge(i: Instance): Promise<void> {
    // A task that is only unreachable may come back: ask for it to be killed when it does.
    if (i.mesosState === 'TASK_UNREACHABLE') await this.deps.actions.kill({ ...i, condition: 'Running' }, 'Decommissioned', 'unreachable for too long');
    await this.deps.tracker.expunge(i.instanceId);
  }
}
