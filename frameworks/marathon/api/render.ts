/**
 * Response shapes of Marathon 1.10 (raml types AppInfo, Task, TaskFailure, TaskStats,
 * DeploymentStepInfo, DeploymentResult, QueueApp): exactly its fields, no extras. Pure:
 * everything comes in as arguments, `nowMs` included.
 *
 * @module
 */
import type {
  AppDefinition, DeploymentPlan, DeploymentStatus, DeploymentStep, Instance, InstanceCondition, QueueEntry,
  TaskFailure, Timestamp,
} from '../model/types.js';
import type { AppEmbed } from './query.js';

/** `{version, deploymentId}` (RestResource.deploymentResult). */
export function deploymentResult(plan: Pick<DeploymentPlan, 'id' | 'version'>): { version: Timestamp; deploymentId: string } {
  return { version: plan.version, deploymentId: plan.id };
}

/** Condition.toMesosTaskStateOrStaging. */
export function mesosStateOf(instance: Pick<Instance, 'condition' | 'mesosState'>): string {
  const byCondition: Record<InstanceCondition, string> = {
    Scheduled: 'TASK_STAGING', Provisioned: 'TASK_STAGING', Staging: 'TASK_STAGING', Starting: 'TASK_STARTING',
    Running: 'TASK_RUNNING', Killing: 'TASK_KILLING', Finished: 'TASK_FINISHED', Failed: 'TASK_FAILED',
    Killed: 'TASK_KILLED', Error: 'TASK_ERROR', Dropped: 'TASK_DROPPED', Gone: 'TASK_GONE',
    Unreachable: 'TASK_UNREACHABLE', UnreachableInactive: 'TASK_UNREACHABLE', Unknown: 'TASK_UNKNOWN',
  };
  return byCondition[instance.condition] ?? instance.mesosState ?? 'TASK_STAGING';
}

/** Instances that have a Mesos task (Scheduled ones wait in the launch queue and show nowhere else). */
export function launchedInstances(instances: readonly Instance[]): Instance[] {
  return instances.filter((i) => i.condition !== 'Scheduled');
}

export interface TaskCounts {
  tasksStaged: number;
  tasksRunning: number;
  tasksHealthy: number;
  tasksUnhealthy: number;
}

/** TaskCounts over launched instances (appinfo/TaskCounts + TaskForStatistics). */
export function taskCounts(instances: readonly Instance[]): TaskCounts {
  const c: TaskCounts = { tasksStaged: 0, tasksRunning: 0, tasksHealthy: 0, tasksUnhealthy: 0 };
  for (const i of launchedInstances(instances)) {
    const state = mesosStateOf(i);
    if (state === 'TASK_STAGING') c.tasksStaged++;
    if (state === 'TASK_RUNNING') c.tasksRunning++;
    if (i.healthy === true) c.tasksHealthy++;
    if (i.healthy === false) c.tasksUnhealthy++;
  }
  return c;
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * One task (raml Task, TaskConversion.enrichedTaskRamlWrite). `app` gives servicePorts,
 * health results and role; without it they are left out.
 */
export function renderTask(instance: Instance, app: AppDefinition | undefined): Record<string, unknown> {
  const state = mesosStateOf(instance);
  const active = !['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_ERROR', 'TASK_DROPPED', 'TASK_GONE', 'TASK_GONE_BY_OPERATOR'].includes(state);
  const task: Record<string, unknown> = { appId: instance.appId };
  if (app !== undefined && app.healthChecks.length > 0) {
    task.healthCheckResults = instance.healthy === undefined ? [] : app.healthChecks.map(() => ({
      alive: instance.healthy,
      consecutiveFailures: instance.healthy ? 0 : 1,
      firstSuccess: null,
      lastFailure: null,
      lastFailureCause: instance.healthy ? null : (instance.message ?? null),
      lastSuccess: null,
      instanceId: instance.instanceId,
    }));
  }
  task.host = instance.host ?? '';
  task.id = instance.taskId;
  task.ipAddresses = instance.host !== undefined && IPV4.test(instance.host) ? [{ ipAddress: instance.host, protocol: 'IPv4' }] : [];
  task.ports = active ? instance.hostPorts : [];
  task.servicePorts = app !== undefined ? app.portDefinitions.map((p) => p.port) : [];
  if (instance.agentId !== undefined) task.slaveId = instance.agentId;
  task.state = state;
  if (active && instance.stagedAt !== undefined) task.stagedAt = instance.stagedAt;
  if (active && instance.startedAt !== undefined) task.startedAt = instance.startedAt;
  if (active) task.version = instance.runSpecVersion;
  task.localVolumes = [];
  task.role = app?.role ?? '*';
  return task;
}

/** raml TaskFailure. */
export function renderTaskFailure(f: TaskFailure): Record<string, unknown> {
  const out: Record<string, unknown> = {
    appId: f.appId, host: f.host, message: f.message, state: f.state, taskId: f.taskId, timestamp: f.timestamp, version: f.version,
  };
  if (f.slaveId !== undefined) out.slaveId = f.slaveId;
  return out;
}

/** Task statistics of some instances (appinfo/TaskStats.forSomeTasks), or undefined when none. */
function statsOf(instances: readonly Instance[], nowMs: number): Record<string, unknown> | undefined {
  if (instances.length === 0) return undefined;
  const c = taskCounts(instances);
  const stats: Record<string, unknown> = { counts: { staged: c.tasksStaged, running: c.tasksRunning, healthy: c.tasksHealthy, unhealthy: c.tasksUnhealthy } };
  const lifeTimes = instances
    .filter((i) => i.startedAt !== undefined)
    .map((i) => (nowMs - Date.parse(i.startedAt!)) / 1000)
    .sort((a, b) => a - b);
  if (lifeTimes.length > 0) {
    stats.lifeTime = {
      averageSeconds: lifeTimes.reduce((s, x) => s + x, 0) / lifeTimes.length,
      medianSeconds: lifeTimes[Math.floor(lifeTimes.length / 2)]!,
    };
  }
  return { stats };
}

/** taskStats (TaskStatsByVersion): by the app's versionInfo; absent groups are left out. */
export function renderTaskStats(app: AppDefinition, instances: readonly Instance[], nowMs: number): Record<string, unknown> {
  const launched = launchedInstances(instances);
  const at = (t: Timestamp): number => Date.parse(t);
  const out: Record<string, unknown> = {};
  const groups: Array<[string, Instance[]]> = [
    ['startedAfterLastScaling', launched.filter((i) => at(i.runSpecVersion) >= at(app.versionInfo.lastScalingAt))],
    ['withLatestConfig', launched.filter((i) => at(i.runSpecVersion) >= at(app.versionInfo.lastConfigChangeAt))],
    ['withOutdatedConfig', launched.filter((i) => at(i.runSpecVersion) < at(app.versionInfo.lastConfigChangeAt))],
    ['totalSummary', launched],
  ];
  for (const [key, list] of groups) {
    const s = statsOf(list, nowMs);
    if (s !== undefined) out[key] = s;
  }
  return out;
}

/** raml TaskReadinessCheckResult. */
export function renderReadiness(r: DeploymentStatus['readinessCheckResults'][number]): Record<string, unknown> {
  const out: Record<string, unknown> = { name: r.name, taskId: r.taskId, ready: r.ready };
  if (r.lastResponse !== undefined) out.lastResponse = { status: r.lastResponse.status, contentType: r.lastResponse.contentType, body: r.lastResponse.body };
  return out;
}

/** What {@link renderAppInfo} needs besides the app. */
export interface AppInfoData {
  instances: readonly Instance[];
  deploymentIds: readonly string[];
  lastTaskFailure?: TaskFailure;
  readiness: DeploymentStatus['readinessCheckResults'];
  nowMs: number;
}

/**
 * An app with embedded data (raml AppInfo): the definition as `renderApp` gives it, then
 * the counters, deployments, readinessCheckResults, tasks, lastTaskFailure and taskStats
 * that were asked for.
 */
export function renderAppInfo(
  definition: Record<string, unknown>,
  app: AppDefinition,
  embeds: ReadonlySet<AppEmbed>,
  data: AppInfoData,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...definition };
  if (embeds.has('counts')) Object.assign(out, taskCounts(data.instances));
  if (embeds.has('deployments')) out.deployments = data.deploymentIds.map((id) => ({ id }));
  if (embeds.has('readiness')) out.readinessCheckResults = data.readiness.map(renderReadiness);
  if (embeds.has('tasks')) out.tasks = launchedInstances(data.instances).map((i) => renderTask(i, app));
  if (embeds.has('lastTaskFailure') && data.lastTaskFailure !== undefined) out.lastTaskFailure = renderTaskFailure(data.lastTaskFailure);
  if (embeds.has('taskStats')) out.taskStats = renderTaskStats(app, data.instances, data.nowMs);
  return out;
}

/** Deployment steps: `[{actions:[{action, app}]}]` (raml DeploymentStep). */
export function renderSteps(steps: readonly DeploymentStep[]): Array<{ actions: Array<{ action: string; app: string }> }> {
  return steps.map((s) => ({ actions: s.actions.map((a) => ({ action: a.action, app: a.app })) }));
}

/**
 * One running deployment (raml DeploymentStepInfo, lightweight: no original/target).
 * `appOfTask` maps a readiness result's task id to its app, to attach it to its action.
 */
export function renderDeployment(status: DeploymentStatus, appOfTask: (taskId: string) => string | undefined): Record<string, unknown> {
  const { plan } = status;
  const current = plan.steps[status.currentStep - 1];
  return {
    id: plan.id,
    version: plan.version,
    affectedApps: [...plan.affectedApps],
    affectedPods: [],
    steps: renderSteps(plan.steps),
    currentActions: (current?.actions ?? []).map((a) => ({
      action: a.action,
      app: a.app,
      readinessCheckResults: status.readinessCheckResults.filter((r) => appOfTask(r.taskId) === a.app).map(renderReadiness),
    })),
    currentStep: status.currentStep,
    totalSteps: plan.steps.length,
  };
}

/** One launch queue entry (raml QueueApp). */
export function renderQueueEntry(entry: QueueEntry, renderedApp: Record<string, unknown>, embedLastUnusedOffers: boolean): Record<string, unknown> {
  const s = entry.processedOffersSummary;
  const summary: Record<string, unknown> = { processedOffersCount: s.processedOffersCount, unusedOffersCount: s.unusedOffersCount };
  if (s.lastUnusedOfferAt !== undefined) summary.lastUnusedOfferAt = s.lastUnusedOfferAt;
  if (s.lastUsedOfferAt !== undefined) summary.lastUsedOfferAt = s.lastUsedOfferAt;
  summary.rejectSummaryLastOffers = s.rejectSummaryLastOffers.map((r) => ({ reason: r.reason, declined: r.declined, processed: r.processed }));
  summary.rejectSummaryLaunchAttempt = s.rejectSummaryLaunchAttempt.map((r) => ({ reason: r.reason, declined: r.declined, processed: r.processed }));
  const out: Record<string, unknown> = {
    count: entry.count,
    delay: { timeLeftSeconds: entry.delay.timeLeftSeconds, overdue: entry.delay.overdue },
    since: entry.since,
    processedOffersSummary: summary,
  };
  if (embedLastUnusedOffers) out.lastUnusedOffers = entry.lastUnusedOffers ?? [];
  out.app = renderedApp;
  out.role = entry.role;
  return out;
}
