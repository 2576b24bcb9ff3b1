/**
 * AppDefinition / Group → Marathon 1.10's JSON (the RAML-generated writers).
 *
 * Marathon omits fields whose RAML declaration carries `(pragma.omitEmpty)` when they are
 * empty: args, constraints, dependencies, env, fetch, healthChecks, readinessChecks, secrets
 * (and empty labels of port definitions and networks). Absent optionals (cmd, user, container,
 * acceptedResourceRoles, taskKillGracePeriodSeconds) are omitted, never `null`. `labels`,
 * `portDefinitions` (host networking) and the scalar fields are always written.
 *
 * @module
 */
import type { AppDefinition, Group, HealthCheckDefinition } from './types.js';

function putNonEmpty(out: Record<string, unknown>, key: string, value: unknown[] | Record<string, unknown>): void {
  if (Array.isArray(value) ? value.length > 0 : Object.keys(value).length > 0) out[key] = value;
}

/** One health check as Marathon writes it (fields depend on the protocol). */
export function renderHealthCheck(hc: HealthCheckDefinition): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (hc.protocol === 'COMMAND') {
    if (hc.command) out['command'] = { value: hc.command.value };
  }
  out['gracePeriodSeconds'] = hc.gracePeriodSeconds;
  if (hc.protocol === 'HTTP' || hc.protocol === 'HTTPS') out['ignoreHttp1xx'] = hc.ignoreHttp1xx;
  out['intervalSeconds'] = hc.intervalSeconds;
  out['maxConsecutiveFailures'] = hc.maxConsecutiveFailures;
  if (hc.path !== undefined && hc.protocol !== 'COMMAND' && hc.protocol !== 'TCP' && hc.protocol !== 'MESOS_TCP') out['path'] = hc.path;
  if (hc.protocol !== 'COMMAND') {
    if (hc.port !== undefined) out['port'] = hc.port;
    if (hc.portIndex !== undefined) out['portIndex'] = hc.portIndex;
  }
  out['protocol'] = hc.protocol;
  if (hc.protocol !== 'COMMAND') out['ipProtocol'] = hc.ipProtocol;
  out['timeoutSeconds'] = hc.timeoutSeconds;
  out['delaySeconds'] = hc.delaySeconds;
  return out;
}

/**
 * The definition part of Marathon's app JSON (no task counters, deployments or tasks; the
 * API adds those for `embed`). Returns fresh objects; the app is not shared.
 */
export function renderApp(app: AppDefinition): Record<string, unknown> {
  const out: Record<string, unknown> = { id: app.id };
  if (app.cmd !== undefined) out['cmd'] = app.cmd;
  if (app.args !== undefined) putNonEmpty(out, 'args', [...app.args]);
  if (app.user !== undefined) out['user'] = app.user;
  putNonEmpty(out, 'env', structuredClone(app.env));
  out['instances'] = app.instances;
  out['cpus'] = app.cpus;
  out['mem'] = app.mem;
  out['disk'] = app.disk;
  out['gpus'] = app.gpus;
  out['executor'] = app.executor;
  putNonEmpty(out, 'constraints', app.constraints.map((c) => [...c]));
  putNonEmpty(out, 'fetch', app.fetch.map((f) => ({ ...f })));
  out['backoffSeconds'] = app.backoffSeconds;
  out['backoffFactor'] = app.backoffFactor;
  out['maxLaunchDelaySeconds'] = app.maxLaunchDelaySeconds;
  if (app.container !== undefined) out['container'] = structuredClone(app.container);
  putNonEmpty(out, 'healthChecks', app.healthChecks.map(renderHealthCheck));
  putNonEmpty(out, 'readinessChecks', app.readinessChecks.map((r) => ({ ...r, httpStatusCodesForReady: [...r.httpStatusCodesForReady] })));
  putNonEmpty(out, 'dependencies', [...app.dependencies]);
  out['upgradeStrategy'] = { ...app.upgradeStrategy };
  out['labels'] = { ...app.labels };
  if (app.acceptedResourceRoles !== undefined) out['acceptedResourceRoles'] = [...app.acceptedResourceRoles];
  const hostNetworking = app.networks.every((n) => n.mode === 'host');
  if (hostNetworking) {
    out['portDefinitions'] = app.portDefinitions.map((p) => {
      const d: Record<string, unknown> = { port: p.port, protocol: p.protocol };
      if (p.name !== undefined) d['name'] = p.name;
      if (Object.keys(p.labels).length > 0) d['labels'] = { ...p.labels };
      return d;
    });
  }
  out['requirePorts'] = app.requirePorts;
  out['version'] = app.version;
  out['versionInfo'] = { ...app.versionInfo };
  out['killSelection'] = app.killSelection;
  out['unreachableStrategy'] = { ...app.unreachableStrategy };
  if (app.taskKillGracePeriodSeconds !== undefined) out['taskKillGracePeriodSeconds'] = app.taskKillGracePeriodSeconds;
  putNonEmpty(out, 'secrets', structuredClone(app.secrets));
  out['networks'] = app.networks.map((n) => {
    const o: Record<string, unknown> = { mode: n.mode };
    if (n.name !== undefined) o['name'] = n.name;
    if (n.labels !== undefined && Object.keys(n.labels).length > 0) o['labels'] = { ...n.labels };
    return o;
  });
  if (app.role !== undefined) out['role'] = app.role;
  return out;
}

/** Options for {@link renderGroup}. */
export interface RenderGroupOptions {
  /** Write the group's apps (else `apps: []`). */
  embedApps: boolean;
  /** Write sub-groups (else `groups: []`). */
  embedGroups: boolean;
  /** How an app is written (the API passes one that adds counters for embed params). */
  renderApp: (app: AppDefinition) => Record<string, unknown>;
}

/** A group as Marathon writes it: id, apps, groups, pods (always empty here), dependencies, version, enforceRole. */
export function renderGroup(group: Group, opts: RenderGroupOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: group.id,
    apps: opts.embedApps ? group.apps.map(opts.renderApp) : [],
    groups: opts.embedGroups ? group.groups.map((g) => renderGroup(g, opts)) : [],
    pods: [],
    dependencies: [...group.dependencies],
    version: group.version,
  };
  if (group.enforceRole !== undefined) out['enforceRole'] = group.enforceRole;
  return out;
}
