/**
 * Marathon 1.10's app normalisation (api/v2/AppNormalization.scala): the checks on
 * deprecated fields, their translation into canonical ones, and the defaults that turn
 * read {@link AppFields} into a normalised {@link AppDefinition}.
 *
 * @module
 */
import type { AppDefinition, FetchUri, HealthCheckDefinition, PathId, PortDefinition, ReadinessCheckDefinition, Timestamp } from './types.js';
import type { AppFields, ContainerFields, HealthCheckFields, PortMappingFields, ReadinessCheckFields } from './app-read.js';
import type { ErrorDetail } from './json-read.js';
import { parentOf, resolvePathId } from './ids.js';

/** Marathon 1.10's app defaults (state.AppDefinition / RAML app.raml). */
export const APP_DEFAULTS = {
  cpus: 1,
  mem: 128,
  disk: 0,
  gpus: 0,
  instances: 1,
  executor: '',
  backoffSeconds: 1,
  backoffFactor: 1.15,
  /** 1.10 behaviour (AppDefinition.DefaultMaxLaunchDelay = 5 minutes); older docs say 3600. */
  maxLaunchDelaySeconds: 300,
  requirePorts: false,
  killSelection: 'YOUNGEST_FIRST',
  upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 1 },
  /** UnreachableEnabled.default: inactiveAfter 0s, expungeAfter 0s. */
  unreachableStrategy: { inactiveAfterSeconds: 0, expungeAfterSeconds: 0 },
  role: '*',
} as const;

/** Health check defaults (state.HealthCheck / healthCheck.raml). */
export const HEALTH_CHECK_DEFAULTS = {
  gracePeriodSeconds: 300,
  intervalSeconds: 60,
  timeoutSeconds: 20,
  maxConsecutiveFailures: 3,
  ignoreHttp1xx: false,
  delaySeconds: 15,
  ipProtocol: 'IPv4',
} as const;

/** Readiness check defaults (core.readiness.ReadinessCheck / readinessCheck.raml). */
export const READINESS_CHECK_DEFAULTS = {
  name: 'readinessCheck',
  protocol: 'HTTP',
  path: '/',
  portName: 'http-api',
  intervalSeconds: 30,
  timeoutSeconds: 10,
  httpStatusCodesForReady: [200],
  preserveLastResponse: false,
} as const;

/** Options for building an app from fields. */
export interface NormalizeOptions {
  now: Timestamp;
  /** Relative ids resolve against this group id (default `/`). */
  basePath?: PathId;
  /** Role for apps that name none (Marathon's `--mesos_role`, default `*`). */
  defaultRole?: string;
}

/** Marathon's `FetchUri.isExtract`: archives are extracted by the fetcher. */
export function isExtract(uri: string): boolean {
  return ['.tgz', '.tar.gz', '.tbz2', '.tar.bz2', '.txz', '.tar.xz', '.zip'].some((ext) => uri.endsWith(ext));
}

/**
 * Marathon's `validateOldAppAPI`: rules on deprecated fields, checked before they are
 * translated (so the messages name what the user sent).
 */
export function deprecatedFieldErrors(f: AppFields, forUpdate = false): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  const root = (msg: string): void => void out.push({ path: '/', errors: [msg] });
  if (f.uris && f.uris.length > 0 && f.fetch && f.fetch.length > 0) {
    out.push({ path: '/uris', errors: ['may not be set in conjunction with fetch'] });
  }
  if (f.ipAddress && f.ipAddress.discovery && f.ipAddress.discovery.ports.length > 0 && f.container?.type === 'DOCKER') {
    out.push({ path: '/ipAddress', errors: ['ipAddress/discovery is not allowed for Docker containers'] });
  }
  if (f.container?.docker?.network !== undefined && f.networks !== undefined && (forUpdate || f.networks.length > 0)) {
    root('must not specify both container.docker.network and networks');
  }
  if (f.ipAddress && f.networks && f.networks.length > 0) root('must not specify both networks and ipAddress');
  const withoutRandom = (f.ports ?? []).filter((p) => p !== 0);
  if (new Set(withoutRandom).size !== withoutRandom.length) root('ports must be unique');
  const hasPorts = (f.ports?.length ?? 0) > 0 || (f.portDefinitions?.length ?? 0) > 0;
  if (f.ipAddress && hasPorts) root('cannot specify both an IP address and port');
  if (f.ports !== undefined && f.portDefinitions !== undefined) {
    const same = f.ports.length === f.portDefinitions.length && f.ports.every((p, i) => f.portDefinitions![i]!.port === p);
    if (!same) root('cannot specify both ports and port definitions');
  }
  const pm = f.container?.docker?.portMappings;
  if (pm && pm.length > 0 && f.container?.portMappings && f.container.portMappings.length > 0) {
    root('cannot specify both portMappings and docker.portMappings');
  }
  return out;
}

/**
 * Translates deprecated fields into canonical ones (Marathon's `forDeprecated` /
 * `forDeprecatedUpdates`): `uris` → `fetch`, `ports` → `portDefinitions`,
 * `container.docker.network` / `ipAddress` → `networks`, `container.docker.portMappings` /
 * `ipAddress.discovery.ports` → `container.portMappings`. Returns new fields; only keys that
 * were given (or derived from given ones) are set.
 */
export function translateDeprecated(f: AppFields): AppFields {
  const out: AppFields = { ...f };
  delete out.uris;
  delete out.ports;
  delete out.ipAddress;
  if (f.uris && f.uris.length > 0 && !(f.fetch && f.fetch.length > 0)) {
    out.fetch = f.uris.map((uri) => ({ uri, extract: isExtract(uri), executable: false, cache: false }));
  }
  if (f.portDefinitions === undefined && f.ports !== undefined) {
    out.portDefinitions = f.ports.map((port) => ({ port, protocol: 'tcp', labels: {} }));
  }
  const dockerNetwork = f.container?.docker?.network;
  if (f.networks === undefined || f.networks.length === 0) {
    if (f.ipAddress) {
      out.networks = [{ mode: 'container', ...(f.ipAddress.networkName !== undefined ? { name: f.ipAddress.networkName } : {}), ...(f.ipAddress.labels && Object.keys(f.ipAddress.labels).length > 0 ? { labels: f.ipAddress.labels } : {}) }];
    } else if (dockerNetwork !== undefined) {
      switch (dockerNetwork) {
        case 'HOST': out.networks = [{ mode: 'host' }]; break;
        case 'BRIDGE': out.networks = [{ mode: 'container/bridge' }]; break;
        case 'USER': out.networks = [{ mode: 'container' }]; break;
        case 'NONE': out.networks = []; break;
      }
    }
  }
  let container = f.container;
  if (!container && f.ipAddress) container = { type: 'MESOS' };
  if (container) {
    const c: ContainerFields = { ...container };
    if (c.docker) {
      const { network: _network, portMappings: dockerMappings, ...docker } = c.docker;
      c.docker = docker;
      if (dockerMappings !== undefined && !(c.portMappings && c.portMappings.length > 0)) c.portMappings = dockerMappings;
    }
    const discovery = f.ipAddress?.discovery?.ports ?? [];
    if (discovery.length > 0 && (c.type ?? 'DOCKER') === 'MESOS' && !(c.portMappings && c.portMappings.length > 0)) {
      c.portMappings = discovery.map((p) => ({ containerPort: p.number, name: p.name, protocol: p.protocol, labels: p.labels }));
    }
    out.container = c;
  }
  return out;
}

/** The default port definitions of a host-networked app (Apps.DefaultPortDefinitions). */
export function defaultPortDefinitions(): PortDefinition[] {
  return [{ port: 0, protocol: 'tcp', name: 'default', labels: {} }];
}

/**
 * Builds a normalised app from canonical fields (after {@link translateDeprecated}), filling
 * Marathon's defaults. `version` and `versionInfo` are set to `now`; callers that update an
 * existing app adjust them (see versions.ts).
 */
export function appFromFields(f: AppFields, opts: NormalizeOptions): AppDefinition {
  const id = resolvePathId(f.id ?? '', opts.basePath ?? '/');
  const networks = f.networks && f.networks.length > 0 ? f.networks : [{ mode: 'host' }];
  const hostNetworking = networks.every((n) => n.mode === 'host');
  const bridged = networks.some((n) => n.mode === 'container/bridge');

  const portDefinitions = hostNetworking ? (f.portDefinitions ?? defaultPortDefinitions()) : [];
  const container = normalizeContainer(f.container, hostNetworking, bridged);
  const portMappings = (container?.['portMappings'] as unknown[] | undefined) ?? [];
  const hasPorts = portDefinitions.length > 0 || portMappings.length > 0;

  const app: AppDefinition = {
    id,
    env: f.env ?? {},
    instances: f.instances ?? APP_DEFAULTS.instances,
    cpus: f.cpus ?? APP_DEFAULTS.cpus,
    mem: f.mem ?? APP_DEFAULTS.mem,
    disk: f.disk ?? APP_DEFAULTS.disk,
    gpus: f.gpus ?? APP_DEFAULTS.gpus,
    executor: f.executor ?? APP_DEFAULTS.executor,
    constraints: f.constraints ?? [],
    fetch: (f.fetch ?? []).map((u): FetchUri => ({ ...u })),
    backoffSeconds: f.backoffSeconds ?? APP_DEFAULTS.backoffSeconds,
    backoffFactor: f.backoffFactor ?? APP_DEFAULTS.backoffFactor,
    maxLaunchDelaySeconds: f.maxLaunchDelaySeconds ?? APP_DEFAULTS.maxLaunchDelaySeconds,
    healthChecks: (f.healthChecks ?? []).map((hc) => healthCheckWithDefaults(hc, hasPorts)),
    readinessChecks: (f.readinessChecks ?? []).map(readinessCheckWithDefaults),
    dependencies: (f.dependencies ?? []).map((d) => resolvePathId(d, parentOf(id))),
    upgradeStrategy: {
      minimumHealthCapacity: f.upgradeStrategy?.minimumHealthCapacity ?? APP_DEFAULTS.upgradeStrategy.minimumHealthCapacity,
      maximumOverCapacity: f.upgradeStrategy?.maximumOverCapacity ?? APP_DEFAULTS.upgradeStrategy.maximumOverCapacity,
    },
    labels: f.labels ?? {},
    portDefinitions,
    // requirePorts only applies to host networking (forPostValidation).
    requirePorts: hostNetworking ? (f.requirePorts ?? APP_DEFAULTS.requirePorts) : false,
    killSelection: f.killSelection ?? APP_DEFAULTS.killSelection,
    unreachableStrategy: {
      inactiveAfterSeconds: (f.unreachableStrategy !== 'disabled' ? f.unreachableStrategy?.inactiveAfterSeconds : undefined) ?? APP_DEFAULTS.unreachableStrategy.inactiveAfterSeconds,
      expungeAfterSeconds: (f.unreachableStrategy !== 'disabled' ? f.unreachableStrategy?.expungeAfterSeconds : undefined) ?? APP_DEFAULTS.unreachableStrategy.expungeAfterSeconds,
    },
    secrets: f.secrets ?? {},
    networks: networks.map((n) => ({ ...n })),
    role: f.role ?? opts.defaultRole ?? APP_DEFAULTS.role,
    version: opts.now,
    versionInfo: { lastScalingAt: opts.now, lastConfigChangeAt: opts.now },
  };
  if (f.cmd !== undefined) app.cmd = f.cmd;
  if (f.args !== undefined && f.args.length > 0) app.args = f.args;
  if (f.user !== undefined) app.user = f.user;
  if (container) app.container = container;
  if (f.acceptedResourceRoles !== undefined) app.acceptedResourceRoles = f.acceptedResourceRoles;
  if (f.taskKillGracePeriodSeconds !== undefined) app.taskKillGracePeriodSeconds = f.taskKillGracePeriodSeconds;
  return app;
}

/**
 * The app's fields as canonical {@link AppFields} (the inverse of {@link appFromFields}),
 * used to merge an update onto a stored app.
 */
export function fieldsOfApp(app: AppDefinition): AppFields {
  const f: AppFields = {
    id: app.id,
    env: app.env,
    instances: app.instances,
    cpus: app.cpus,
    mem: app.mem,
    disk: app.disk,
    gpus: app.gpus,
    executor: app.executor,
    constraints: app.constraints,
    fetch: app.fetch,
    backoffSeconds: app.backoffSeconds,
    backoffFactor: app.backoffFactor,
    maxLaunchDelaySeconds: app.maxLaunchDelaySeconds,
    healthChecks: app.healthChecks,
    readinessChecks: app.readinessChecks,
    dependencies: app.dependencies,
    upgradeStrategy: app.upgradeStrategy,
    labels: app.labels,
    portDefinitions: app.portDefinitions,
    requirePorts: app.requirePorts,
    killSelection: app.killSelection,
    unreachableStrategy: app.unreachableStrategy,
    secrets: app.secrets,
    networks: app.networks,
  };
  if (app.cmd !== undefined) f.cmd = app.cmd;
  if (app.args !== undefined) f.args = app.args;
  if (app.user !== undefined) f.user = app.user;
  if (app.container !== undefined) f.container = containerFieldsOf(app.container);
  if (app.acceptedResourceRoles !== undefined) f.acceptedResourceRoles = app.acceptedResourceRoles;
  if (app.taskKillGracePeriodSeconds !== undefined) f.taskKillGracePeriodSeconds = app.taskKillGracePeriodSeconds;
  if (app.role !== undefined) f.role = app.role;
  return f;
}

function containerFieldsOf(c: Record<string, unknown>): ContainerFields {
  const { type, docker, appc, volumes, portMappings, ...extra } = c;
  const out: ContainerFields = {};
  if (type !== undefined) out.type = type as ContainerFields['type'];
  if (docker !== undefined) out.docker = docker as ContainerFields['docker'];
  if (appc !== undefined) out.appc = appc as Record<string, unknown>;
  if (volumes !== undefined) out.volumes = volumes as unknown[];
  if (portMappings !== undefined) out.portMappings = portMappings as PortMappingFields[];
  if (Object.keys(extra).length > 0) out.extra = extra;
  return out;
}

function healthCheckWithDefaults(hc: HealthCheckFields, appHasPorts: boolean): HealthCheckDefinition {
  const protocol = hc.protocol ?? (hc.command ? 'COMMAND' : 'HTTP');
  const out: HealthCheckDefinition = {
    protocol,
    gracePeriodSeconds: hc.gracePeriodSeconds ?? HEALTH_CHECK_DEFAULTS.gracePeriodSeconds,
    intervalSeconds: hc.intervalSeconds ?? HEALTH_CHECK_DEFAULTS.intervalSeconds,
    timeoutSeconds: hc.timeoutSeconds ?? HEALTH_CHECK_DEFAULTS.timeoutSeconds,
    maxConsecutiveFailures: hc.maxConsecutiveFailures ?? HEALTH_CHECK_DEFAULTS.maxConsecutiveFailures,
    ignoreHttp1xx: hc.ignoreHttp1xx ?? HEALTH_CHECK_DEFAULTS.ignoreHttp1xx,
    delaySeconds: hc.delaySeconds ?? HEALTH_CHECK_DEFAULTS.delaySeconds,
    ipProtocol: hc.ipProtocol ?? HEALTH_CHECK_DEFAULTS.ipProtocol,
  };
  if (protocol === 'COMMAND') {
    if (hc.command) out.command = { ...hc.command };
    return out;
  }
  if (protocol === 'HTTP' || protocol === 'HTTPS' || protocol === 'MESOS_HTTP' || protocol === 'MESOS_HTTPS') {
    out.path = hc.path ?? '/';
  }
  if (hc.port !== undefined) out.port = hc.port;
  if (hc.portIndex !== undefined) out.portIndex = hc.portIndex;
  // AppNormalization.normalizeHealthChecks: re-add the old default portIndex 0 when the app
  // has ports and the check names neither a port nor a port index.
  else if (hc.port === undefined && appHasPorts) out.portIndex = 0;
  return out;
}

function readinessCheckWithDefaults(rc: ReadinessCheckFields): ReadinessCheckDefinition {
  return {
    name: rc.name ?? READINESS_CHECK_DEFAULTS.name,
    protocol: rc.protocol ?? READINESS_CHECK_DEFAULTS.protocol,
    path: rc.path ?? READINESS_CHECK_DEFAULTS.path,
    portName: rc.portName ?? READINESS_CHECK_DEFAULTS.portName,
    intervalSeconds: rc.intervalSeconds ?? READINESS_CHECK_DEFAULTS.intervalSeconds,
    timeoutSeconds: rc.timeoutSeconds ?? READINESS_CHECK_DEFAULTS.timeoutSeconds,
    httpStatusCodesForReady: rc.httpStatusCodesForReady && rc.httpStatusCodesForReady.length > 0
      ? [...rc.httpStatusCodesForReady] : [...READINESS_CHECK_DEFAULTS.httpStatusCodesForReady],
    preserveLastResponse: rc.preserveLastResponse ?? READINESS_CHECK_DEFAULTS.preserveLastResponse,
  };
}

function normalizePortMapping(pm: PortMappingFields, bridged: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {
    containerPort: pm.containerPort ?? 0,
  };
  // Backwards compatibility: in bridge mode a missing host port means "any" (0).
  if (pm.hostPort !== undefined) out['hostPort'] = pm.hostPort;
  else if (bridged) out['hostPort'] = 0;
  out['labels'] = pm.labels ?? {};
  if (pm.name !== undefined) out['name'] = pm.name;
  out['protocol'] = pm.protocol ?? 'tcp';
  out['servicePort'] = pm.servicePort ?? 0;
  if (pm.networkNames !== undefined && pm.networkNames.length > 0) out['networkNames'] = pm.networkNames;
  return out;
}

/**
 * The container as Marathon stores it: `type` (default DOCKER), docker defaults
 * (forcePullImage/privileged false, parameters []), `volumes` [], and `portMappings` only
 * for non-host networking (dropped for host networking, defaulted when missing).
 */
function normalizeContainer(c: ContainerFields | undefined, hostNetworking: boolean, bridged: boolean): Record<string, unknown> | undefined {
  if (!c) {
    if (hostNetworking) return undefined;
    // Non-host networking without a container implies an empty Mesos container.
    c = { type: 'MESOS' };
  }
  const out: Record<string, unknown> = { type: c.type ?? 'DOCKER' };
  if (c.docker) {
    const d: Record<string, unknown> = {
      forcePullImage: c.docker.forcePullImage ?? false,
      image: c.docker.image ?? '',
      parameters: c.docker.parameters ?? [],
      privileged: c.docker.privileged ?? false,
    };
    if (c.docker.credential !== undefined) d['credential'] = c.docker.credential;
    if (c.docker.pullConfig !== undefined) d['pullConfig'] = c.docker.pullConfig;
    out['docker'] = d;
  }
  if (c.appc) out['appc'] = c.appc;
  out['volumes'] = c.volumes ?? [];
  if (!hostNetworking) {
    // An explicit empty array means no port mappings; absent means Marathon's single default one.
    const mappings = c.portMappings ?? [{ name: 'default' }];
    out['portMappings'] = mappings.map((pm) => normalizePortMapping(pm, bridged));
  }
  if (c.extra) Object.assign(out, c.extra);
  return out;
}
