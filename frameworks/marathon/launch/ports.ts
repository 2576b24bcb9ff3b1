/**
 * Host ports from an offer: Marathon's `PortsMatcher`, pure.
 *
 * Each request is either a fixed port (`requirePorts`, or a `hostPort` other than 0 in a
 * container port mapping), which must be in the offered ranges, or 0 (any free port). Fixed
 * ports are taken first, then any-port requests from what is left, so a fixed port is never
 * handed out twice. With `random`, any-port requests pick uniformly among the free ports
 * (Marathon picks randomly too, which keeps recently freed ports cool); without it, the
 * lowest free port (deterministic).
 *
 * @module
 */
import type { Range, Resource } from '../../../sdk/protocol/index.js';
import { coalesceRanges, rangesSize, subtractRanges } from '../../../sdk/resources/index.js';

/** A source of offered ports: ranges of one `ports` resource entry (one role/reservation). */
interface PortSource {
  resource: Resource;
  free: Range[];
}

/** The chosen ports, and the `ports` resources (per source entry) that cover them. */
export interface PortsMatch {
  hostPorts: number[];
  resources: Resource[];
}

function take(source: PortSource, port: number): void {
  source.free = subtractRanges(source.free, [{ begin: port, end: port }]);
}

function nth(ranges: readonly Range[], index: number): number {
  let i = index;
  for (const r of ranges) {
    const size = r.end - r.begin + 1;
    if (i < size) return r.begin + i;
    i -= size;
  }
  throw new RangeError('port index out of range');
}

/**
 * Picks one host port per request (`0` = any) from the `ports` entries of `usable`.
 * Returns undefined when some request cannot be met (a fixed port not offered or asked for
 * twice, or not enough free ports).
 */
export function matchPorts(usable: readonly Resource[], requests: readonly number[], random?: () => number): PortsMatch | undefined {
  if (requests.length === 0) return { hostPorts: [], resources: [] };
  const sources: PortSource[] = usable
    .filter((r) => r.name === 'ports' && r.type === 'RANGES')
    .map((r) => ({ resource: r, free: coalesceRanges(r.ranges?.range ?? []) }));
  const chosen: Array<{ port: number; source: PortSource } | undefined> = requests.map(() => undefined);

  for (const [i, port] of requests.entries()) {
    if (port === 0) continue;
    const source = sources.find((s) => s.free.some((r) => r.begin <= port && port <= r.end));
    if (!source) return undefined;
    take(source, port);
    chosen[i] = { port, source };
  }
  for (const [i, port] of requests.entries()) {
    if (port !== 0) continue;
    const total = sources.reduce((n, s) => n + rangesSize(s.free), 0);
    if (total === 0) return undefined;
    let index = random ? Math.min(total - 1, Math.floor(random() * total)) : 0;
    let pick: { port: number; source: PortSource } | undefined;
    for (const s of sources) {
      const size = rangesSize(s.free);
      if (index < size) {
        pick = { port: nth(s.free, index), source: s };
        break;
      }
      index -= size;
    }
    take(pick!.source, pick!.port);
    chosen[i] = pick;
  }

  const bySource = new Map<PortSource, Range[]>();
  for (const c of chosen) {
    const ranges = bySource.get(c!.source) ?? [];
    ranges.push({ begin: c!.port, end: c!.port });
    bySource.set(c!.source, ranges);
  }
  const resources = [...bySource.entries()].map(([s, ranges]) => ({
    ...s.resource,
    ranges: { range: coalesceRanges(ranges) },
  }));
  return { hostPorts: chosen.map((c) => c!.port), resources };
}
