/**
 * Pure helpers for the election group layout: `<group>/<prefix><10-digit sequence>`
 * (Mesos: `json.info_0000000003`). Other children of the group (e.g. Mesos's
 * `log_replicas`) are ignored. Also the options both recipes take.
 *
 * @module
 */

import type { Logger } from '../core/log.js';
import type { Clock } from '../core/clock.js';

/** The default member prefix, Mesos's, so that Mesos-aware tools find our leader. */
export const DEFAULT_MEMBER_PREFIX = 'json.info_';

/** Options shared by the election and detection recipes. */
export interface ZkGroupOptions {
  /** Member name prefix. Default `'json.info_'` (Mesos's). */
  prefix?: string;
  logger?: Logger;
  /** Clock for retries (and the detector's `waitForLeader`). Default: the system clock. */
  clock?: Clock;
  /** Delay before retrying after a failed ZooKeeper operation while connected. Default 500. */
  retryMs?: number;
}

/** The sequence number of a member znode name, or undefined when it is not a member. */
export function memberSequence(name: string, prefix: string): number | undefined {
  if (!name.startsWith(prefix)) return undefined;
  const seq = name.slice(prefix.length);
  if (!/^\d{10,}$/.test(seq)) return undefined;
  return Number(seq);
}

/** The member names among `children`, lowest sequence first (the first one leads). */
export function sortMembers(children: readonly string[], prefix: string): string[] {
  return children
    .map((name) => ({ name, seq: memberSequence(name, prefix) }))
    .filter((m): m is { name: string; seq: number } => m.seq !== undefined)
    .sort((a, b) => a.seq - b.seq || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((m) => m.name);
}

/** What a contender named `mine` should do given the group's children. */
export type ContenderPosition =
  | { kind: 'leader' }
  | { kind: 'follower'; watch: string }
  | { kind: 'gone' };

/** Leader when lowest; otherwise watch only the next lower member (no herd effect); gone when absent. */
export function contenderPosition(children: readonly string[], prefix: string, mine: string): ContenderPosition {
  const sorted = sortMembers(children, prefix);
  const i = sorted.indexOf(mine);
  if (i < 0) return { kind: 'gone' };
  if (i === 0) return { kind: 'leader' };
  return { kind: 'follower', watch: sorted[i - 1]! };
}
