/**
 * Builders for the pure Marathon plan/launch tests: a fully normalised app, groups,
 * instances, offers, and a seeded PRNG for property tests.
 */
import type { Offer, Resource } from '../../sdk/protocol/index.js';
import type { AppDefinition, Group, Instance } from '../../frameworks/marathon/model/types.js';
import { seededRandom } from '../../slave/sim/prng.js';

export const T0 = '2026-01-01T00:00:00.000Z';

export function app(id: string, extra: Partial<AppDefinition> = {}): AppDefinition {
  return {
    id,
    cmd: 'sleep 1000',
    env: {},
    instances: 1,
    cpus: 1,
    mem: 128,
    disk: 0,
    gpus: 0,
    executor: '',
    constraints: [],
    fetch: [],
    backoffSeconds: 1,
    backoffFactor: 1.15,
    maxLaunchDelaySeconds: 300,
    healthChecks: [],
    readinessChecks: [],
    dependencies: [],
    upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 1 },
    labels: {},
    portDefinitions: [],
    requirePorts: false,
    killSelection: 'YOUNGEST_FIRST',
    unreachableStrategy: { inactiveAfterSeconds: 0, expungeAfterSeconds: 0 },
    secrets: {},
    networks: [{ mode: 'host' }],
    version: T0,
    versionInfo: { lastScalingAt: T0, lastConfigChangeAt: T0 },
    ...extra,
  };
}

export function group(id: string, apps: AppDefinition[], groups: Group[] = [], dependencies: string[] = []): Group {
  return { id, apps, groups, dependencies, version: T0 };
}

let seq = 0;
export function instance(appId: string, extra: Partial<Instance> = {}): Instance {
  seq += 1;
  const instanceId = extra.instanceId ?? `${appId.slice(1).replace(/\//g, '_')}.instance-${String(seq).padStart(4, '0')}`;
  return {
    instanceId,
    appId,
    runSpecVersion: T0,
    taskId: `${instanceId}._app.1`,
    incarnation: 1,
    condition: 'Running',
    hostPorts: [],
    goal: 'Running',
    ...extra,
  };
}

export function scalar(name: string, value: number, role?: string): Resource {
  const r: Resource = { name, type: 'SCALAR', scalar: { value } };
  if (role !== undefined) r.reservations = [{ type: 'STATIC', role }];
  return r;
}
export function portsRes(ranges: Array<[number, number]>, role?: string): Resource {
  const r: Resource = { name: 'ports', type: 'RANGES', ranges: { range: ranges.map(([begin, end]) => ({ begin, end })) } };
  if (role !== undefined) r.reservations = [{ type: 'STATIC', role }];
  return r;
}

export function offer(resources: Resource[], extra: Partial<Offer> = {}): Offer {
  return {
    id: { value: 'o1' },
    framework_id: { value: 'f1' },
    agent_id: { value: 'a1' },
    hostname: 'host-a',
    resources,
    ...extra,
  };
}

/** mulberry32, seeded (slave/sim/prng.ts): every case is reproducible from its seed. */
export const prng = seededRandom;
