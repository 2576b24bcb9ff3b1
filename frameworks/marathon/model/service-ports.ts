/**
 * Service port assignment (Marathon's `GroupManagerImpl.assignDynamicServicePorts`): every
 * service port left at 0 gets a port from the local port range that no app uses; an app that
 * already had ports assigned gets those back first, so redeploying an app keeps its ports.
 *
 * Service ports are the port definitions' `port` for host networking and the port mappings'
 * `servicePort` for container networking.
 *
 * @module
 */
import type { AppDefinition, Group } from './types.js';
import { allApps, findApp, putApp } from './tree.js';

/** Marathon's default `--local_port_min`/`--local_port_max`: [10000, 20000). */
export const DEFAULT_SERVICE_PORT_RANGE: [number, number] = [10000, 20000];

/** Thrown when the range has no free port left (Marathon's PortRangeExhaustedException). */
export class PortRangeExhaustedError extends Error {
  override name = 'PortRangeExhaustedError';
  constructor(readonly range: [number, number]) {
    super(`All service ports in the range [${range[0]}, ${range[1]}) are already in use`);
  }
}

function usesPortMappings(app: AppDefinition): boolean {
  return !app.networks.every((n) => n.mode === 'host');
}

function mappingsOf(app: AppDefinition): Array<Record<string, unknown>> {
  return (app.container?.['portMappings'] as Array<Record<string, unknown>> | undefined) ?? [];
}

/** The app's service ports (0 = not assigned yet). */
export function servicePortsOf(app: AppDefinition): number[] {
  return usesPortMappings(app)
    ? mappingsOf(app).map((m) => (typeof m['servicePort'] === 'number' ? m['servicePort'] : 0))
    : app.portDefinitions.map((p) => p.port);
}

function withServicePorts(app: AppDefinition, ports: number[]): AppDefinition {
  if (usesPortMappings(app)) {
    const portMappings = mappingsOf(app).map((m, i) => ({ ...m, servicePort: ports[i] }));
    return { ...app, container: { ...app.container, portMappings } };
  }
  return { ...app, portDefinitions: app.portDefinitions.map((p, i) => ({ ...p, port: ports[i]! })) };
}

/**
 * Fills service ports left at 0 in `root` with free ports from `range` ([min, max), default
 * 10000–20000). Ports used by any app in `previous` or `root` are taken; an app in `previous`
 * gives its old in-range ports back to its new definition first. Returns a new tree (the
 * same object when nothing needed a port).
 *
 * @throws PortRangeExhaustedError when the range runs out.
 */
export function assignServicePorts(root: Group, previous?: Group, range: [number, number] = DEFAULT_SERVICE_PORT_RANGE): Group {
  const [min, max] = range;
  const inRange = (p: number): boolean => p >= min && p < max;
  const taken = new Set<number>();
  for (const app of [...(previous ? allApps(previous) : []), ...allApps(root)]) for (const p of servicePortsOf(app)) taken.add(p);
  let cursor = min;
  const nextGlobalFreePort = (): number => {
    while (cursor < max && taken.has(cursor)) cursor++;
    if (cursor >= max) throw new PortRangeExhaustedError(range);
    taken.add(cursor);
    return cursor;
  };
  let result = root;
  for (const app of allApps(root)) {
    const ports = servicePortsOf(app);
    if (!ports.includes(0)) continue;
    const old = previous ? findApp(previous, app.id) : undefined;
    const reusable = old ? servicePortsOf(old).filter((p) => p !== 0 && inRange(p) && !ports.includes(p)) : [];
    const assigned = ports.map((p) => (p !== 0 ? p : reusable.length > 0 ? reusable.shift()! : nextGlobalFreePort()));
    result = putApp(result, withServicePorts(app, assigned));
  }
  return result;
}
