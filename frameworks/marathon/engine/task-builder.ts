/**
 * AppDefinition + a matched offer → the Mesos TaskInfo Marathon launches (Marathon's
 * TaskBuilder for apps run by the command executor). Pure.
 *
 * @module
 */
import type { CommandInfo, HealthCheck, Resource, TaskInfo } from '../../../sdk/protocol/index.js';
import type { AppDefinition, HealthCheckDefinition, Instance } from '../model/types.js';

/** Where the instance goes: from the offer and M2's matchOffer. */
export interface Placement {
  agentId: string;
  hostname: string;
  resources: Resource[];
  hostPorts: number[];
}

/** Scala's Double.toString for the resource env vars ("1.0", "0.5", "128.0"). */
function double(n: number): string {
  return Number.isInteger(n) ? n.toFixed(1) : String(n);
}

/** Marathon's env var name cleanup (EnvironmentHelper: upper case, non-alphanumerics → `_`). */
function envName(s: string): string {
  return s.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
}

/** The port env vars (EnvironmentHelper.portsEnv): PORT0…, PORT_<servicePort>, PORT_<NAME>, PORT, PORTS. */
export function portsEnv(app: AppDefinition, hostPorts: readonly number[]): Record<string, string> {
  const env: Record<string, string> = {};
  if (hostPorts.length === 0) return env;
  hostPorts.forEach((hostPort, i) => {
    env[`PORT${i}`] = String(hostPort);
    const def = app.portDefinitions[i];
    if (def !== undefined && def.port !== 0) env[`PORT_${def.port}`] = String(hostPort);
    if (def?.name !== undefined && def.name !== '') env[`PORT_${envName(def.name)}`] = String(hostPort);
  });
  env.PORT = String(hostPorts[0]);
  env.PORTS = hostPorts.join(',');
  return env;
}

/** The environment Marathon gives a task: the app's env, then its own variables. */
export function taskEnv(app: AppDefinition, instance: Pick<Instance, 'taskId'>, placement: Pick<Placement, 'hostname' | 'hostPorts'>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(app.env)) if (typeof v === 'string') env[k] = v;
  Object.assign(env, portsEnv(app, placement.hostPorts));
  env.HOST = placement.hostname;
  env.MESOS_TASK_ID = instance.taskId;
  env.MARATHON_APP_ID = app.id;
  env.MARATHON_APP_VERSION = app.version;
  env.MARATHON_APP_RESOURCE_CPUS = double(app.cpus);
  env.MARATHON_APP_RESOURCE_MEM = double(app.mem);
  env.MARATHON_APP_RESOURCE_DISK = double(app.disk);
  env.MARATHON_APP_RESOURCE_GPUS = String(app.gpus);
  const labelKeys = Object.keys(app.labels).filter((k) => /^[A-Za-z0-9_]+$/.test(k));
  env.MARATHON_APP_LABELS = labelKeys.map(envName).join(' ');
  for (const k of labelKeys) env[`MARATHON_APP_LABEL_${envName(k)}`] = app.labels[k]!;
  return env;
}

function commandOf(app: AppDefinition, env: Record<string, string>): CommandInfo {
  const command: CommandInfo = app.args !== undefined && app.args.length > 0
    ? { shell: false, value: app.args[0]!, arguments: [...app.args] }
    : { shell: true, value: app.cmd ?? '' };
  command.environment = { variables: Object.entries(env).map(([name, value]) => ({ name, type: 'VALUE' as const, value })) };
  if (app.fetch.length > 0) {
    command.uris = app.fetch.map((f) => ({
      value: f.uri, executable: f.executable, extract: f.extract, cache: f.cache,
      ...(f.destPath !== undefined ? { output_file: f.destPath } : {}),
    }));
  }
  if (app.user !== undefined) command.user = app.user;
  return command;
}

/** The port a health check targets: `port`, or the host port at `portIndex` (default 0). */
export function healthCheckPort(check: HealthCheckDefinition, hostPorts: readonly number[]): number | undefined {
  if (check.port !== undefined) return check.port;
  return hostPorts[check.portIndex ?? 0];
}

/** A Mesos-side check (COMMAND, MESOS_HTTP(S), MESOS_TCP) → Mesos HealthCheck; undefined for Marathon-side ones. */
export function mesosHealthCheck(check: HealthCheckDefinition, hostPorts: readonly number[]): HealthCheck | undefined {
  const timing = {
    delay_seconds: check.delaySeconds,
    interval_seconds: check.intervalSeconds,
    timeout_seconds: check.timeoutSeconds,
    consecutive_failures: check.maxConsecutiveFailures,
    grace_period_seconds: check.gracePeriodSeconds,
  };
  const port = healthCheckPort(check, hostPorts);
  switch (check.protocol) {
    case 'COMMAND':
      return { type: 'COMMAND', command: { value: check.command?.value ?? '' }, ...timing };
    case 'MESOS_HTTP':
    case 'MESOS_HTTPS':
      return { type: 'HTTP', http: { port, path: check.path ?? '/', scheme: check.protocol === 'MESOS_HTTPS' ? 'https' : 'http' }, ...timing };
    case 'MESOS_TCP':
      return { type: 'TCP', tcp: { port }, ...timing };
    default:
      return undefined;
  }
}

/** A task name as Marathon makes it: the app path reversed, dot-separated (`/prod/web` → `web.prod`). */
export function taskNameOf(appId: string): string {
  return appId.split('/').filter((s) => s !== '').reverse().join('.');
}

/** The TaskInfo launching `instance` of `app` at `placement`. */
export function buildTaskInfo(app: AppDefinition, instance: Pick<Instance, 'taskId'>, placement: Placement): TaskInfo {
  const env = taskEnv(app, instance, placement);
  const task: TaskInfo = {
    name: taskNameOf(app.id),
    task_id: { value: instance.taskId },
    agent_id: { value: placement.agentId },
    resources: placement.resources.map((r) => structuredClone(r)),
    command: commandOf(app, env),
  };
  if (Object.keys(app.labels).length > 0) task.labels = { labels: Object.entries(app.labels).map(([key, value]) => ({ key, value })) };
  if (app.taskKillGracePeriodSeconds !== undefined) {
    task.kill_policy = { grace_period: { nanoseconds: Math.round(app.taskKillGracePeriodSeconds * 1e9) } };
  }
  for (const check of app.healthChecks) {
    const hc = mesosHealthCheck(check, placement.hostPorts);
    if (hc !== undefined) {
      task.health_check = hc; // Mesos runs one health check per task
      break;
    }
  }
  return task;
}
