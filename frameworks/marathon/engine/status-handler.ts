/**
 * What a Mesos status update does (Marathon's TaskStatusUpdateProcessor): the tracker
 * records it; a terminal task's instance is expunged (a failure of a wanted instance raises
 * the app's launch delay, a kill Marathon asked for does not); an instance that lost its
 * task to the master (LOST) and was not wanted any more is expunged too; a live task Marathon
 * does not know is killed (a task Marathon expunged while unreachable, back running, included).
 *
 * @module
 */
import type { Logger } from '../../../sdk/core/log.js';
import { isTerminalState, type TaskStatus } from '../../../sdk/protocol/index.js';
import type { AppDefinition, Instance } from '../model/types.js';
import { conditionOf, isFailureCondition, isTerminalCondition } from './conditions.js';
import type { MarathonFramework } from './framework.js';
import type { InstanceActions } from './instance-actions.js';
import type { InstanceTracker } from './instance-tracker.js';
import type { LaunchQueue } from './launch-queue.js';

/**
 * Whether an update of a task Marathon does not know calls for a KILL (Marathon's
 * `TaskStatusUpdateProcessorImpl.killWhenUnknown`): only a live task (staging, starting,
 * running). A terminal or killing one needs nothing, and an unreachable/unknown one cannot
 * be killed now — the master would only answer the KILL with the same state, again and
 * again; it is killed when it comes back running (that update, or the next reconciliation).
 */
export function killWhenUnknown(state: TaskStatus['state']): boolean {
  if (isTerminalState(state)) return false;
  const c = conditionOf(state);
  return c === 'Staging' || c === 'Starting' || c === 'Running';
}

export interface StatusHandlerDeps {
  tracker: InstanceTracker;
  actions: InstanceActions;
  queue: LaunchQueue;
  framework: () => MarathonFramework | undefined;
  logger: Logger;
  now(): number;
  appFor(instance: Instance): AppDefinition | undefined;
}

export class StatusHandler {
  constructor(private readonly deps: StatusHandlerDeps) {}

  /**
   * Handles a batch of updates: those of one instance (or, unknown, of one task) in arrival
   * order, different instances concurrently, so their writes go to the store together.
   * Resolves with whether each update was handled (a failed one must not be acknowledged:
   * the agent then sends it again).
   */
  async handleAll(statuses: readonly TaskStatus[]): Promise<boolean[]> {
    const ok = statuses.map(() => false);
    const lanes = new Map<string, number[]>();
    statuses.forEach((status, n) => {
      const key = this.deps.tracker.byTaskId(status.task_id.value)?.instanceId ?? `task:${status.task_id.value}`;
      const lane = lanes.get(key);
      if (lane === undefined) lanes.set(key, [n]);
      else lane.push(n);
    });
    await Promise.all([...lanes.values()].map(async (lane) => {
      for (const n of lane) {
        const status = statuses[n]!;
        try {
          await this.handle(status);
          ok[n] = true;
        } catch (err) {
          this.deps.logger.error({ err, taskId: status.task_id.value, state: status.state }, 'status update not handled (it will be resent)');
        }
      }
    }));
    return ok;
  }

  async handle(status: TaskStatus): Promise<void> {
    const { tracker, actions, logger } = this.deps;
    const change = await tracker.applyStatus(status);
    if (change === undefined) {
      if (killWhenUnknown(status.state)) {
        logger.warn({ taskId: status.task_id.value, state: status.state }, 'killing a task Marathon does not know');
        await this.deps.framework()?.kill(status.task_id.value, status.agent_id?.value);
      } else {
        logger.info({ taskId: status.task_id.value, state: status.state }, 'ignoring an update of a task Marathon does not know');
      }
      return;
    }
    const instance = change.current!;
    if (isTerminalCondition(instance.condition)) {
      const byUs = actions.killRequested(instance.instanceId) || instance.goal !== 'Running';
      if (!byUs && isFailureCondition(instance.condition)) {
        const app = this.deps.appFor(instance);
        if (app !== undefined) this.deps.queue.recordFailure(app, this.deps.now());
      }
      logger.info({ taskId: instance.taskId, state: status.state, message: status.message, byMarathon: byUs }, 'task ended');
      actions.settled(instance.instanceId);
      await tracker.expunge(instance.instanceId);
      return;
    }
    // LOST is terminal for Mesos: a kill is pointless, and an unwanted instance can go now.
    if (status.state === 'TASK_LOST' && instance.goal !== 'Running') {
      actions.settled(instance.instanceId);
      await tracker.expunge(instance.instanceId);
    }
  }
}
