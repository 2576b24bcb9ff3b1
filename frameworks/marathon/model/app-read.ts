/**
 * Reads an app definition (or app update) JSON object into typed, still-optional fields,
 * reporting type and range errors the way Marathon 1.10's RAML-generated Play readers do
 * (422 "Invalid JSON"). No defaults are applied here and no cross-field rule is checked;
 * unknown fields are ignored, as Marathon ignores them.
 *
 * @module
 */
import type {
  EnvValue, FetchUri, HealthCheckDefinition, KillSelection, PortDefinition,
  ReadinessCheckDefinition, UnreachableStrategy, UpgradeStrategy,
} from './types.js';
import {
  childPath, ErrorCollector, isObject, ObjectReader, readArray, readInt, readString, type JsonObject,
} from './json-read.js';

/** A health check as given, before defaults. */
export type HealthCheckFields = Partial<HealthCheckDefinition>;
/** A readiness check as given, before defaults. */
export type ReadinessCheckFields = Partial<ReadinessCheckDefinition>;

/** The deprecated `ipAddress` object (IP-per-task before `networks`). */
export interface IpAddressFields {
  networkName?: string;
  groups?: string[];
  labels?: Record<string, string>;
  discovery?: { ports: Array<{ number: number; name: string; protocol: string; labels: Record<string, string> }> };
}

/** A container port mapping as given. */
export interface PortMappingFields {
  containerPort?: number;
  hostPort?: number;
  servicePort?: number;
  protocol?: string;
  name?: string;
  labels?: Record<string, string>;
  networkNames?: string[];
}

/** The container object as given (kept loosely typed beyond what Marathon's rules use). */
export interface ContainerFields {
  type?: 'DOCKER' | 'MESOS';
  docker?: {
    image?: string;
    network?: 'HOST' | 'BRIDGE' | 'USER' | 'NONE';
    portMappings?: PortMappingFields[];
    privileged?: boolean;
    parameters?: Array<{ key: string; value: string }>;
    forcePullImage?: boolean;
    credential?: unknown;
    pullConfig?: unknown;
  };
  appc?: Record<string, unknown>;
  volumes?: unknown[];
  portMappings?: PortMappingFields[];
  /** Other container fields (linuxInfo, …), passed through untouched. */
  extra?: Record<string, unknown>;
}

/**
 * Every app field as read from JSON; present keys only. Includes Marathon's deprecated
 * fields (`ports`, `uris`, `ipAddress`) which normalisation translates.
 */
export interface AppFields {
  id?: string;
  cmd?: string;
  args?: string[];
  user?: string;
  env?: Record<string, EnvValue>;
  instances?: number;
  cpus?: number;
  mem?: number;
  disk?: number;
  gpus?: number;
  executor?: string;
  constraints?: string[][];
  fetch?: FetchUri[];
  uris?: string[];
  backoffSeconds?: number;
  backoffFactor?: number;
  maxLaunchDelaySeconds?: number;
  container?: ContainerFields;
  healthChecks?: HealthCheckFields[];
  readinessChecks?: ReadinessCheckFields[];
  dependencies?: string[];
  upgradeStrategy?: Partial<UpgradeStrategy>;
  labels?: Record<string, string>;
  acceptedResourceRoles?: string[];
  portDefinitions?: PortDefinition[];
  ports?: number[];
  requirePorts?: boolean;
  killSelection?: KillSelection;
  unreachableStrategy?: Partial<UnreachableStrategy> | 'disabled';
  taskKillGracePeriodSeconds?: number;
  secrets?: Record<string, { source: string }>;
  networks?: Array<{ mode: string; name?: string; labels?: Record<string, string> }>;
  ipAddress?: IpAddressFields;
  role?: string;
  version?: string;
}

// RAML `^(//cmd)|(/?[^/]+(/[^/]+)*)|$`, applied as a full match (Play's Reads.pattern).
const EXECUTOR_RE = /^(?:\/\/cmd|\/?[^/]+(?:\/[^/]+)*|)$/;
const HC_PROTOCOLS = ['HTTP', 'HTTPS', 'TCP', 'COMMAND', 'MESOS_HTTP', 'MESOS_HTTPS', 'MESOS_TCP'] as const;
const NETWORK_MODES = ['host', 'container/bridge', 'container'] as const;
const PORT_PROTOCOLS = ['tcp', 'udp', 'udp,tcp', 'tcp,udp'] as const;

/**
 * Reads `json` (already known to be an object) at `path` into {@link AppFields}, recording
 * Play-style errors into `errors`. Only keys present (and non-null) in `json` are set.
 */
export function readAppFields(json: JsonObject, path: string, errors: ErrorCollector): AppFields {
  const r = new ObjectReader(json, path, errors);
  const f: AppFields = {};
  const set = <K extends keyof AppFields>(key: K, value: AppFields[K] | undefined): void => {
    if (value !== undefined) f[key] = value;
  };

  if (r.has('id')) set('id', r.string('id'));
  set('cmd', r.string('cmd', { minLength: 1 }));
  set('args', r.array('args', (v, p) => strItem(v, p, errors)));
  set('user', r.string('user'));
  set('env', readEnv(r));
  set('instances', r.int('instances', { min: 0 }));
  set('cpus', r.number('cpus', { min: 0 }));
  set('mem', r.number('mem', { min: 0 }));
  set('disk', r.number('disk', { min: 0 }));
  set('gpus', r.int('gpus', { min: 0 }));
  set('executor', r.string('executor', { pattern: EXECUTOR_RE }));
  set('constraints', r.array('constraints', (v, p) =>
    readArray(v, p, errors, (s, sp) => strItem(s, sp, errors))));
  set('fetch', r.array('fetch', (v, p) => readArtifact(v, p, errors)));
  set('uris', r.array('uris', (v, p) => strItem(v, p, errors)));
  set('backoffSeconds', r.int('backoffSeconds', { min: 0 }));
  set('backoffFactor', r.number('backoffFactor', { min: 1 }));
  set('maxLaunchDelaySeconds', r.int('maxLaunchDelaySeconds', { min: 0 }));
  const container = r.object('container');
  if (container) set('container', readContainer(container));
  set('healthChecks', r.array('healthChecks', (v, p) => readHealthCheck(v, p, errors)));
  set('readinessChecks', r.array('readinessChecks', (v, p) => readReadinessCheck(v, p, errors)));
  set('dependencies', r.array('dependencies', (v, p) => strItem(v, p, errors)));
  const us = r.object('upgradeStrategy');
  if (us) {
    const s: Partial<UpgradeStrategy> = {};
    const min = us.number('minimumHealthCapacity', { min: 0, max: 1 });
    const max = us.number('maximumOverCapacity', { min: 0, max: 1 });
    if (min !== undefined) s.minimumHealthCapacity = min;
    if (max !== undefined) s.maximumOverCapacity = max;
    f.upgradeStrategy = s;
  }
  set('labels', r.stringMap('labels'));
  set('acceptedResourceRoles', r.array('acceptedResourceRoles', (v, p) => strItem(v, p, errors)));
  set('portDefinitions', r.array('portDefinitions', (v, p) => readPortDefinition(v, p, errors)));
  set('ports', r.array('ports', (v, p) => (v === null ? nullItem(p, errors, 'error.expected.jsnumber') : readInt(v, p, errors, { min: 0, max: 65535 }))));
  set('requirePorts', r.bool('requirePorts'));
  set('killSelection', r.enumOf('killSelection', ['YOUNGEST_FIRST', 'OLDEST_FIRST'] as const));
  set('unreachableStrategy', readUnreachable(r));
  set('taskKillGracePeriodSeconds', r.int('taskKillGracePeriodSeconds', { min: 0 }));
  set('secrets', readSecrets(r));
  set('networks', r.array('networks', (v, p) => readNetwork(v, p, errors)));
  const ip = r.object('ipAddress');
  if (ip) set('ipAddress', readIpAddress(ip));
  set('role', r.string('role'));
  set('version', r.string('version'));
  return f;
}

/** A string array element; `null` is an error inside arrays (Play reads elements strictly). */
function strItem(v: unknown, p: string, errors: ErrorCollector): string | undefined {
  return v === null ? nullItem(p, errors, 'error.expected.jsstring') : readString(v, p, errors);
}

function nullItem(p: string, errors: ErrorCollector, error: string): undefined {
  errors.add(p, error);
  return undefined;
}

function readEnv(r: ObjectReader): Record<string, EnvValue> | undefined {
  const o = r.object('env');
  if (!o) return undefined;
  const out: Record<string, EnvValue> = {};
  for (const [k, v] of Object.entries(o.obj)) {
    if (typeof v === 'string') out[k] = v;
    else if (isObject(v) && typeof v['secret'] === 'string') out[k] = { secret: v['secret'] };
    else r.errors.add(o.at(k), 'error.expected.jsstring');
  }
  return out;
}

function readSecrets(r: ObjectReader): Record<string, { source: string }> | undefined {
  const o = r.object('secrets');
  if (!o) return undefined;
  const out: Record<string, { source: string }> = {};
  for (const [k, v] of Object.entries(o.obj)) {
    const path = o.at(k);
    if (!isObject(v)) {
      r.errors.add(path, 'error.expected.jsobject');
      continue;
    }
    const s = new ObjectReader(v, path, r.errors);
    if (!s.has('source')) r.errors.add(s.at('source'), 'error.path.missing');
    const source = s.string('source');
    if (source !== undefined) out[k] = { source };
  }
  return out;
}

function readUnreachable(r: ObjectReader): AppFields['unreachableStrategy'] {
  const v = r.raw('unreachableStrategy');
  if (v === undefined) return undefined;
  if (v === 'disabled') return 'disabled';
  if (!isObject(v)) {
    r.errors.add(r.at('unreachableStrategy'), 'error.expected.jsobject');
    return undefined;
  }
  const o = new ObjectReader(v, r.at('unreachableStrategy'), r.errors);
  const out: Partial<UnreachableStrategy> = {};
  const inactive = o.int('inactiveAfterSeconds', { min: 0 });
  const expunge = o.int('expungeAfterSeconds', { min: 0 });
  if (inactive !== undefined) out.inactiveAfterSeconds = inactive;
  if (expunge !== undefined) out.expungeAfterSeconds = expunge;
  return out;
}

function readArtifact(v: unknown, path: string, errors: ErrorCollector): FetchUri | undefined {
  if (!isObject(v)) {
    errors.add(path, 'error.expected.jsobject');
    return undefined;
  }
  const o = new ObjectReader(v, path, errors);
  if (!o.has('uri')) {
    errors.add(o.at('uri'), 'error.path.missing');
    return undefined;
  }
  const uri = o.string('uri');
  const extract = o.bool('extract');
  const executable = o.bool('executable');
  const cache = o.bool('cache');
  const destPath = o.string('destPath');
  if (uri === undefined) return undefined;
  const out: FetchUri = { uri, extract: extract ?? true, executable: executable ?? false, cache: cache ?? false };
  if (destPath !== undefined) out.destPath = destPath;
  return out;
}

function readPortDefinition(v: unknown, path: string, errors: ErrorCollector): PortDefinition | undefined {
  if (!isObject(v)) {
    errors.add(path, 'error.expected.jsobject');
    return undefined;
  }
  const o = new ObjectReader(v, path, errors);
  const port = o.int('port', { min: 0, max: 65535 });
  const protocol = o.enumOf('protocol', PORT_PROTOCOLS);
  const name = o.string('name');
  const labels = o.stringMap('labels');
  // Marathon's PortDefinition.port defaults to 0 (RAML `port: AnyPort` with default 0).
  const out: PortDefinition = { port: port ?? 0, protocol: protocol ?? 'tcp', labels: labels ?? {} };
  if (name !== undefined) out.name = name;
  return out;
}

function readPortMapping(v: unknown, path: string, errors: ErrorCollector): PortMappingFields | undefined {
  if (!isObject(v)) {
    errors.add(path, 'error.expected.jsobject');
    return undefined;
  }
  const o = new ObjectReader(v, path, errors);
  const out: PortMappingFields = {};
  const containerPort = o.int('containerPort', { min: 0, max: 65535 });
  const hostPort = o.int('hostPort', { min: 0, max: 65535 });
  const servicePort = o.int('servicePort', { min: 0, max: 65535 });
  const protocol = o.enumOf('protocol', PORT_PROTOCOLS);
  const name = o.string('name');
  const labels = o.stringMap('labels');
  const networkNames = o.array('networkNames', (x, p) => readString(x, p, errors));
  if (containerPort !== undefined) out.containerPort = containerPort;
  if (hostPort !== undefined) out.hostPort = hostPort;
  if (servicePort !== undefined) out.servicePort = servicePort;
  if (protocol !== undefined) out.protocol = protocol;
  if (name !== undefined) out.name = name;
  if (labels !== undefined) out.labels = labels;
  if (networkNames !== undefined) out.networkNames = networkNames;
  return out;
}

function readContainer(o: ObjectReader): ContainerFields {
  const errors = o.errors;
  const c: ContainerFields = {};
  const type = o.enumOf('type', ['DOCKER', 'MESOS'] as const);
  if (type !== undefined) c.type = type;
  const d = o.object('docker');
  if (d) {
    const docker: NonNullable<ContainerFields['docker']> = {};
    if (!d.has('image')) errors.add(d.at('image'), 'error.path.missing');
    const image = d.string('image', { minLength: 1 });
    const network = d.enumOf('network', ['HOST', 'BRIDGE', 'USER', 'NONE'] as const);
    const portMappings = d.array('portMappings', (v, p) => readPortMapping(v, p, errors));
    const privileged = d.bool('privileged');
    const forcePullImage = d.bool('forcePullImage');
    const parameters = d.array('parameters', (v, p) => {
      if (!isObject(v)) {
        errors.add(p, 'error.expected.jsobject');
        return undefined;
      }
      const pr = new ObjectReader(v, p, errors);
      const key = pr.string('key', { minLength: 1 });
      const value = pr.string('value');
      if (!pr.has('key')) errors.add(pr.at('key'), 'error.path.missing');
      if (!pr.has('value')) errors.add(pr.at('value'), 'error.path.missing');
      return key !== undefined && value !== undefined ? { key, value } : undefined;
    });
    if (image !== undefined) docker.image = image;
    if (network !== undefined) docker.network = network;
    if (portMappings !== undefined) docker.portMappings = portMappings;
    if (privileged !== undefined) docker.privileged = privileged;
    if (forcePullImage !== undefined) docker.forcePullImage = forcePullImage;
    if (parameters !== undefined) docker.parameters = parameters;
    if (d.has('credential')) docker.credential = d.raw('credential');
    if (d.has('pullConfig')) docker.pullConfig = d.raw('pullConfig');
    c.docker = docker;
  }
  const appc = o.object('appc');
  if (appc) c.appc = appc.obj;
  const volumes = o.array('volumes', (v, p) => {
    if (!isObject(v)) {
      errors.add(p, 'error.expected.jsobject');
      return undefined;
    }
    return v;
  });
  if (volumes !== undefined) c.volumes = volumes;
  const portMappings = o.array('portMappings', (v, p) => readPortMapping(v, p, errors));
  if (portMappings !== undefined) c.portMappings = portMappings;
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o.obj)) {
    if (!['type', 'docker', 'appc', 'volumes', 'portMappings'].includes(k) && v !== null && v !== undefined) extra[k] = v;
  }
  if (Object.keys(extra).length > 0) c.extra = extra;
  return c;
}

function readHealthCheck(v: unknown, path: string, errors: ErrorCollector): HealthCheckFields | undefined {
  if (!isObject(v)) {
    errors.add(path, 'error.expected.jsobject');
    return undefined;
  }
  const o = new ObjectReader(v, path, errors);
  const hc: HealthCheckFields = {};
  const protocol = o.enumOf('protocol', HC_PROTOCOLS);
  if (protocol !== undefined) hc.protocol = protocol;
  const p = o.string('path');
  if (p !== undefined) hc.path = p;
  const portIndex = o.int('portIndex', { min: 0 });
  if (portIndex !== undefined) hc.portIndex = portIndex;
  const port = o.int('port', { min: 0, max: 65535 });
  if (port !== undefined) hc.port = port;
  const cmd = o.object('command');
  if (cmd) {
    if (!cmd.has('value')) errors.add(cmd.at('value'), 'error.path.missing');
    const value = cmd.string('value');
    if (value !== undefined) hc.command = { value };
  }
  const ints: Array<[keyof HealthCheckDefinition, number]> = [
    ['gracePeriodSeconds', 0], ['intervalSeconds', 1], ['timeoutSeconds', 1], ['maxConsecutiveFailures', 0], ['delaySeconds', 0],
  ];
  for (const [key, min] of ints) {
    const n = o.int(key, { min });
    if (n !== undefined) (hc as Record<string, unknown>)[key] = n;
  }
  const ignore = o.bool('ignoreHttp1xx');
  if (ignore !== undefined) hc.ignoreHttp1xx = ignore;
  const ipProtocol = o.enumOf('ipProtocol', ['IPv4', 'IPv6'] as const);
  if (ipProtocol !== undefined) hc.ipProtocol = ipProtocol;
  return hc;
}

function readReadinessCheck(v: unknown, path: string, errors: ErrorCollector): ReadinessCheckFields | undefined {
  if (!isObject(v)) {
    errors.add(path, 'error.expected.jsobject');
    return undefined;
  }
  const o = new ObjectReader(v, path, errors);
  const rc: ReadinessCheckFields = {};
  const name = o.string('name');
  if (name !== undefined) rc.name = name;
  const protocol = o.enumOf('protocol', ['HTTP', 'HTTPS'] as const);
  if (protocol !== undefined) rc.protocol = protocol;
  const p = o.string('path');
  if (p !== undefined) rc.path = p;
  const portName = o.string('portName');
  if (portName !== undefined) rc.portName = portName;
  const interval = o.int('intervalSeconds', { min: 1 });
  if (interval !== undefined) rc.intervalSeconds = interval;
  const timeout = o.int('timeoutSeconds', { min: 1 });
  if (timeout !== undefined) rc.timeoutSeconds = timeout;
  const codes = o.array('httpStatusCodesForReady', (x, xp) => readInt(x, xp, errors, { min: 100, max: 999 }));
  if (codes !== undefined) rc.httpStatusCodesForReady = codes;
  const preserve = o.bool('preserveLastResponse');
  if (preserve !== undefined) rc.preserveLastResponse = preserve;
  return rc;
}

function readNetwork(v: unknown, path: string, errors: ErrorCollector): NonNullable<AppFields['networks']>[number] | undefined {
  if (!isObject(v)) {
    errors.add(path, 'error.expected.jsobject');
    return undefined;
  }
  const o = new ObjectReader(v, path, errors);
  // RAML Network.mode defaults to `container`.
  const mode = o.enumOf('mode', NETWORK_MODES);
  const name = o.string('name');
  const labels = o.stringMap('labels');
  const out: NonNullable<AppFields['networks']>[number] = { mode: mode ?? 'container' };
  if (name !== undefined) out.name = name;
  if (labels !== undefined) out.labels = labels;
  return out;
}

function readIpAddress(o: ObjectReader): IpAddressFields {
  const errors = o.errors;
  const ip: IpAddressFields = {};
  const networkName = o.string('networkName');
  if (networkName !== undefined) ip.networkName = networkName;
  const groups = o.array('groups', (v, p) => readString(v, p, errors));
  if (groups !== undefined) ip.groups = groups;
  const labels = o.stringMap('labels');
  if (labels !== undefined) ip.labels = labels;
  const discovery = o.object('discovery');
  if (discovery) {
    const ports = discovery.array('ports', (v, p) => {
      if (!isObject(v)) {
        errors.add(p, 'error.expected.jsobject');
        return undefined;
      }
      const pr = new ObjectReader(v, p, errors);
      const number = pr.int('number', { min: 0, max: 65535 });
      const name = pr.string('name');
      const protocol = pr.enumOf('protocol', PORT_PROTOCOLS);
      const labels = pr.stringMap('labels');
      if (number === undefined || name === undefined) {
        if (!pr.has('number')) errors.add(childPath(p, 'number'), 'error.path.missing');
        if (!pr.has('name')) errors.add(childPath(p, 'name'), 'error.path.missing');
        return undefined;
      }
      return { number, name, protocol: protocol ?? 'tcp', labels: labels ?? {} };
    });
    ip.discovery = { ports: ports ?? [] };
  }
  return ip;
}
