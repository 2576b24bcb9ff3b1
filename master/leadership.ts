/**
 * Leadership as the master's edges see it: pure decisions about what a standby (or a
 * leader still loading its registry) answers, and parsing the leader's published
 * MasterInfo. The elector/detector/registry themselves are chosen in master/main.ts.
 *
 * @module
 */
import { MasterInfo } from '../sdk/protocol/index.js';
import { masterHost } from './operator/format.js';

/** What the scheduler endpoint does with a request right now. */
export type SchedulerGate =
  | { kind: 'serve' }
  | { kind: 'redirect'; location: string }
  | { kind: 'unavailable'; message: string };

/**
 * Mesos's standby behaviour for `/api/v1/scheduler`: 307 to `//<leader host>:<port><path>`,
 * 503 with no known leader; a leader answers 503 until its registry is loaded.
 */
export function schedulerGate(p: { isLeader: boolean; recovered: boolean; leader: MasterInfo | undefined; path: string }): SchedulerGate {
  if (p.isLeader) return p.recovered ? { kind: 'serve' } : { kind: 'unavailable', message: 'Master is recovering its registry; retry shortly' };
  if (p.leader === undefined) return { kind: 'unavailable', message: 'No leader elected' };
  return { kind: 'redirect', location: `//${masterHost(p.leader)}:${p.leader.port}${p.path}` };
}

/** The text a standby sends a slave before closing its socket (the slave should follow the leader). */
export function agentRefusal(leader: MasterInfo | undefined): string {
  if (leader === undefined) return 'Not the leading master and no leader is elected; retry';
  const ip = leader.address?.ip;
  return `Not the leading master; the leader is ${masterHost(leader)}:${leader.port}${ip !== undefined ? ` (${ip}:${leader.port})` : ''}`;
}

/** Parses a contender's published MasterInfo JSON; undefined when it is not one. */
export function parseLeaderInfo(data: string | undefined): MasterInfo | undefined {
  if (data === undefined) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(data);
  } catch {
    return undefined;
  }
  const parsed = MasterInfo.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}
