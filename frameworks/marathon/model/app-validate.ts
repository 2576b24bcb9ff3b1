/**
 * Marathon 1.10's canonical app validation (api/v2/validation/AppValidation.scala
 * `validateCanonicalAppAPI`), run on a normalised app. Paths and messages are Marathon's;
 * object-level rules report under `/`.
 *
 * @module
 */
import type { AppDefinition, PathId } from './types.js';
import type { AppFields } from './app-read.js';
import { ErrorCollector, type ErrorDetail } from './json-read.js';
import { parentOf, pathIdErrors, pathSegments } from './ids.js';
import { constraintErrors } from '../launch/constraints.js';

/** Marathon's messages, for callers and tests. */
export const APP_MESSAGES = {
  cmdArgsContainer: "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.",
  emptyCmd: 'must not be an empty string',
  root: 'must not be root',
  emptyPath: 'Path must contain at least one path element',
  portsUnique: 'Ports must be unique.',
  portNamesUnique: 'Port names must be unique.',
  portIndex: 'Health check port indices must address an element of the ports array or container port mappings.',
  oneMesosHealthCheck: 'AppDefinition can contain at most one Mesos health check',
  ipv6: 'IPv6 can only be used for container type DOCKER and Mesos http/https/tcp health checks',
  singleInstance: 'Single instance app may only have one instance',
  gpuDocker: 'GPU resources only work with the Mesos containerizer',
  notEmpty: 'must not be empty',
  hostPortMappings: 'portMappings are not allowed with host-networking',
  dockerSingleNetwork: 'may only specify a single container network when using the Docker container engine',
  unreachableDisabled: "unreachableStrategy 'disabled' is not supported by Agora",
} as const;

/** Extra context for validation that the normalised app no longer shows. */
export interface ValidateContext {
  /** The fields as read (after deprecated translation), to see what the user gave. */
  fields?: AppFields;
  /** For apps inside a group: the app must be a direct child of this group. */
  base?: PathId;
}

/** Validates a normalised app; returns Marathon's details (empty when valid). */
export function validateApp(app: AppDefinition, ctx: ValidateContext = {}): ErrorDetail[] {
  const errors = new ErrorCollector();
  const root = (msg: string): void => errors.add('/', msg);

  // id: PathId.pathIdValidator, absolute, non-empty; "must not be root".
  const rawId = ctx.fields?.id ?? app.id;
  for (const e of pathIdErrors(rawId)) errors.add('/id', e);
  if (pathSegments(app.id).length === 0) {
    errors.add('/id', APP_MESSAGES.emptyPath);
    root(APP_MESSAGES.root);
  }
  if (ctx.base !== undefined && pathSegments(app.id).length > 0 && parentOf(app.id) !== ctx.base) {
    errors.add('/id', `Identifier is not child of '${ctx.base}'`);
  }
  app.dependencies.forEach((d, i) => {
    const raw = ctx.fields?.dependencies?.[i] ?? d;
    for (const e of pathIdErrors(raw)) errors.add(`/dependencies(${i})`, e);
  });

  // cmd / args / container.
  const hasCmd = app.cmd !== undefined;
  const hasArgs = app.args !== undefined && app.args.length > 0;
  const c = app.container;
  const cType = c?.['type'];
  const hasImageContainer = c !== undefined && (
    (c['docker'] !== undefined && c['appc'] === undefined && (cType === 'DOCKER' || cType === 'MESOS'))
    || (c['docker'] === undefined && c['appc'] !== undefined && cType === 'MESOS'));
  if (!((hasCmd !== hasArgs) || (!(hasCmd && hasArgs) && hasImageContainer))) root(APP_MESSAGES.cmdArgsContainer);
  if (app.cmd !== undefined && app.cmd.length <= 1) root(APP_MESSAGES.emptyCmd);

  // Container.
  if (c) validateContainer(c, app, errors);

  // Ports.
  const ports = app.portDefinitions.map((p) => p.port).filter((p) => p !== 0);
  if (new Set(ports).size !== ports.length) errors.add('/portDefinitions', APP_MESSAGES.portsUnique);
  const names = app.portDefinitions.flatMap((p) => (p.name !== undefined ? [p.name] : []));
  if (new Set(names).size !== names.length) errors.add('/portDefinitions', APP_MESSAGES.portNamesUnique);

  // Health checks.
  const mappings = (c?.['portMappings'] as Array<Record<string, unknown>> | undefined) ?? [];
  const portCount = mappings.length > 0 ? mappings.length : app.portDefinitions.length;
  app.healthChecks.forEach((hc, i) => {
    const marathonSide = hc.protocol === 'HTTP' || hc.protocol === 'HTTPS' || hc.protocol === 'TCP';
    if (!hc.command && marathonSide) {
      const ok = hc.portIndex !== undefined ? hc.portIndex < portCount : hc.port !== undefined || portCount === 1;
      if (!ok) errors.add(`/healthChecks(${i})`, APP_MESSAGES.portIndex);
    }
    const mesosNet = hc.protocol === 'MESOS_HTTP' || hc.protocol === 'MESOS_HTTPS' || hc.protocol === 'MESOS_TCP';
    if (hc.ipProtocol !== 'IPv4' && !(mesosNet && cType === 'DOCKER')) errors.add(`/healthChecks(${i})`, APP_MESSAGES.ipv6);
    if (hc.protocol === 'COMMAND' && !hc.command) errors.add(`/healthChecks(${i})/command`, 'not defined');
  });
  const mesosChecks = app.healthChecks.filter((hc) => hc.command !== undefined || ['COMMAND', 'MESOS_HTTP', 'MESOS_HTTPS', 'MESOS_TCP'].includes(hc.protocol)).length;
  const commandChecks = app.healthChecks.filter((hc) => hc.command !== undefined).length;
  if (mesosChecks - commandChecks > 1) root(APP_MESSAGES.oneMesosHealthCheck);

  // Readiness checks.
  // accord's size rule message (`readinessChecks.size should be <= 1`).
  if (app.readinessChecks.length > 1) errors.add('/readinessChecks', `has size ${app.readinessChecks.length}, expected 1 or less`);
  const portNames = new Set(mappings.length > 0
    ? mappings.flatMap((m) => (typeof m['name'] === 'string' ? [m['name']] : []))
    : names);
  app.readinessChecks.forEach((rc, i) => {
    if (!portNames.has(rc.portName)) errors.add(`/readinessChecks(${i})/portName`, `No port definition reference for portName ${rc.portName}`);
    if (!(rc.timeoutSeconds < rc.intervalSeconds)) {
      errors.add(`/readinessChecks(${i})/timeoutSeconds`, `got ${rc.timeoutSeconds}, expected less than ${rc.intervalSeconds}`);
    }
  });

  // Fetch.
  app.fetch.forEach((f, i) => {
    if (f.uri.length === 0) errors.add(`/fetch(${i})/uri`, APP_MESSAGES.notEmpty);
  });

  // Env: secret references must name a declared secret.
  for (const [name, v] of Object.entries(app.env)) {
    if (typeof v !== 'string' && !(v.secret in app.secrets)) {
      errors.add(`/env/${name}/secret`, 'references an undefined secret');
    }
  }
  for (const [name, s] of Object.entries(app.secrets)) {
    if (s.source.length === 0) errors.add(`/secrets/${name}/source`, APP_MESSAGES.notEmpty);
  }

  // acceptedResourceRoles: non-empty, valid role names.
  if (app.acceptedResourceRoles !== undefined) {
    if (app.acceptedResourceRoles.length === 0) errors.add('/acceptedResourceRoles', APP_MESSAGES.notEmpty);
    for (const r of app.acceptedResourceRoles) for (const e of roleErrors(r)) errors.add('/acceptedResourceRoles', e);
  }
  if (app.role !== undefined) for (const e of roleErrors(app.role)) errors.add('/role', e);

  // GPUs, single-instance label.
  if (app.gpus > 0 && cType === 'DOCKER') root(APP_MESSAGES.gpuDocker);
  if (app.labels['MARATHON_SINGLE_INSTANCE_APP'] === 'true') {
    if (app.instances > 1) root(APP_MESSAGES.singleInstance);
    if (app.upgradeStrategy.minimumHealthCapacity !== 0) {
      errors.add('/upgradeStrategy/minimumHealthCapacity', `got ${app.upgradeStrategy.minimumHealthCapacity}, expected 0.0`);
    }
    if (app.upgradeStrategy.maximumOverCapacity !== 0) {
      errors.add('/upgradeStrategy/maximumOverCapacity', `got ${app.upgradeStrategy.maximumOverCapacity}, expected 0.0`);
    }
  }

  // Constraints (SchedulingValidation.complyWithAppConstraintRules, via launch/constraints).
  app.constraints.forEach((con, i) => {
    for (const e of constraintErrors(con)) errors.add(`/constraints(${i})`, e);
  });

  // Networks.
  const hostCount = app.networks.filter((n) => n.mode === 'host').length;
  if (hostCount > 0 && app.networks.length > 1) {
    errors.add('/networks', 'host networks may not be combined with other networks');
  }
  const bridgeCount = app.networks.filter((n) => n.mode === 'container/bridge').length;
  if (bridgeCount > 0 && app.networks.length > 1) {
    errors.add('/networks', 'bridge networks may not be combined with other networks');
  }
  app.networks.forEach((n, i) => {
    if (n.mode !== 'container' && n.name !== undefined) errors.add(`/networks(${i})/name`, 'must be empty');
  });

  // Unreachable strategy.
  if (ctx.fields?.unreachableStrategy === 'disabled') errors.add('/unreachableStrategy', APP_MESSAGES.unreachableDisabled);
  const us = app.unreachableStrategy;
  if (us.inactiveAfterSeconds > us.expungeAfterSeconds) {
    // state/UnreachableStrategy.scala inactiveAfterSmallerThanExpungeAfterMessage.
    errors.add('/unreachableStrategy/inactiveAfterSeconds', `inactiveAfterSeconds (${us.inactiveAfterSeconds}) must be less or equal to expungeAfterSeconds, which is ${us.expungeAfterSeconds}`);
  }

  // Labels with DC/OS migration API.
  const mig = app.labels['DCOS_MIGRATION_API_VERSION'];
  if (mig !== undefined && mig.length > 0 && !(mig === 'v1' && (app.labels['DCOS_PACKAGE_FRAMEWORK_NAME'] ?? '') !== '' && (app.labels['DCOS_MIGRATION_API_PATH'] ?? '') !== '')) {
    root('DCOS_PACKAGE_FRAMEWORK_NAME and DCOS_MIGRATION_API_PATH must be defined when using DCOS_MIGRATION_API_VERSION');
  }
  return errors.details();
}

function validateContainer(c: Record<string, unknown>, app: AppDefinition, errors: ErrorCollector): void {
  const type = c['type'];
  const docker = c['docker'] as Record<string, unknown> | undefined;
  if (type === 'DOCKER') {
    if (!docker) errors.add('/container/docker', 'not defined');
    else if (typeof docker['image'] !== 'string' || docker['image'].length === 0) errors.add('/container/docker/image', APP_MESSAGES.notEmpty);
    else if (docker['pullConfig'] !== undefined) errors.add('/container/docker/pullConfig', 'pullConfig is not supported with Docker containerizer');
    const containerNets = app.networks.filter((n) => n.mode === 'container').length;
    if (containerNets > 1) errors.add('/', APP_MESSAGES.dockerSingleNetwork);
  } else if (type === 'MESOS') {
    if (docker && c['appc']) errors.add('/container', 'mesos containers should specify, at most, a single image type');
    if (docker && (typeof docker['image'] !== 'string' || docker['image'].length === 0)) errors.add('/container/docker/image', APP_MESSAGES.notEmpty);
  }
  const mappings = (c['portMappings'] as Array<Record<string, unknown>> | undefined) ?? [];
  const names = mappings.flatMap((m) => (typeof m['name'] === 'string' ? [m['name']] : []));
  if (new Set(names).size !== names.length) errors.add('/container/portMappings', APP_MESSAGES.portNamesUnique);
  const volumes = (c['volumes'] as Array<Record<string, unknown>> | undefined) ?? [];
  volumes.forEach((v, i) => {
    if (typeof v['containerPath'] !== 'string' || v['containerPath'].length === 0) {
      errors.add(`/container/volumes(${i})/containerPath`, APP_MESSAGES.notEmpty);
    }
  });
}

const ROLE_CHARS: Array<[string, string]> = [
  ['\t', 'horizontal tab (\\x09)'], ['\n', 'line feed (\\x0a)'], ['\v', 'vertical tab (\\x0b)'], ['\f', 'form feed (\\x0c)'],
  ['\r', 'carriage return (\\x0d)'], [' ', 'space (\\x20)'], ['/', 'slash (\\x2f)'], ['\x7f', 'backspace (\\x7f)'],
];

/** Marathon's `ResourceRole.validResourceRole` messages for one role name (empty when valid). */
export function roleErrors(role: string): string[] {
  const out: string[] = [];
  if (role === '') out.push('A role name must not be "".');
  if (role === '.') out.push('A role name must not be ".".');
  if (role === '..') out.push('A role name must not be "..".');
  if (role.startsWith('-')) out.push("A role name must not start with a '-'.");
  for (const [ch, name] of ROLE_CHARS) if (role.includes(ch)) out.push(`A role name must not include a ${name} character.`);
  return out;
}

/** True when {@link roleErrors} finds nothing. */
export function isValidRole(role: string): boolean {
  return roleErrors(role).length === 0;
}
