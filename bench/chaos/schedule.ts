/**
 * The chaos schedule: from a seed, a list of faults with their start times, targets and
 * durations. Pure: the same {@link ScheduleOptions} always give the same schedule, which
 * is how a logged seed replays a failing run.
 *
 * Faults run one at a time: each starts a random gap after the previous one has healed
 * (its process restarted or resumed, its proxy restored). Overlapping faults would make a
 * violation much harder to attribute, and a single fault per moment is already enough to
 * exercise every failover path (the next fault often lands while the cluster is still
 * recovering from the last one, because recovery outlasts the gap).
 *
 * @module
 */
import { AgoraError } from '../../sdk/core/errors.js';
import { mulberry32, pick, randomInt, type Random } from './prng.js';

/** Every kind of fault the harness can inject. */
export const FAULT_KINDS = [
  /** SIGKILL a slave, restart it on the same work dir after `duration_ms`. */
  'slave-kill',
  /** SIGKILL a master (the leader or a standby), restart it after `duration_ms`. */
  'master-kill',
  /** SIGKILL a Marathon, restart it after `duration_ms`. */
  'marathon-kill',
  /** SIGSTOP a slave for `duration_ms` (longer than the master's agent ping budget), then SIGCONT. */
  'slave-pause',
  /** SIGSTOP a master for `duration_ms` (longer than its ZooKeeper session), then SIGCONT. */
  'master-pause',
  /** A slave's proxy stops forwarding (blackhole, sockets stay open) for `duration_ms`. */
  'proxy-drop',
  /** A slave's proxy adds `latency_ms` to every chunk for `duration_ms`. */
  'proxy-delay',
  /** A slave's proxy destroys its connections (once; new ones are accepted). */
  'proxy-cut',
  /** The leading master's ZooKeeper connection is blackholed until its session expires. */
  'zk-expire-leader',
] as const;

export type FaultKind = (typeof FAULT_KINDS)[number];

/** Which process a fault hits: an index among its kind, or the leading master. */
export type FaultTarget = { role: 'slave' | 'master' | 'marathon'; index: number } | { role: 'master'; leader: true };

/** One scheduled fault. */
export interface Fault {
  /** Sequence number in the schedule, from 0. */
  seq: number;
  /** When it starts, in ms from the start of the fault phase. */
  at_ms: number;
  kind: FaultKind;
  target: FaultTarget;
  /** How long the fault lasts before it is healed (restart, SIGCONT, proxy restored). */
  duration_ms: number;
  /** proxy-delay only: the added latency. */
  latency_ms?: number;
}

/** The timeouts the cluster runs with: fault durations are chosen against them. */
export interface ClusterTimeouts {
  /** The masters' (and Marathons') ZooKeeper session timeout. */
  zkSessionTimeoutMs: number;
  /** The master's agent ping budget: `--agent-ping-timeout` × `--max-agent-ping-timeouts`. */
  agentPingBudgetMs: number;
}

export interface ScheduleOptions {
  seed: number;
  /** Length of the fault phase: no fault starts after it (a fault may heal after it). */
  durationMs: number;
  /** The kinds allowed in this run (each equally likely). */
  kinds: readonly FaultKind[];
  slaves: number;
  masters: number;
  marathons: number;
  timeouts: ClusterTimeouts;
  /** Gap between a fault's healing and the next fault: uniform in [min, max]. */
  gapMs: { min: number; max: number };
}

/** Checks the options; throws AgoraError `AGORA_CHAOS_OPTIONS_INVALID` naming the problem. */
export function validateScheduleOptions(o: ScheduleOptions): void {
  const problems: string[] = [];
  if (!Number.isInteger(o.seed)) problems.push(`seed must be an integer (got ${o.seed})`);
  if (!(o.durationMs > 0)) problems.push(`duration must be positive (got ${o.durationMs} ms)`);
  if (o.kinds.length === 0) problems.push('at least one fault kind is needed');
  for (const k of o.kinds) if (!(FAULT_KINDS as readonly string[]).includes(k)) problems.push(`unknown fault kind "${k}" (known: ${FAULT_KINDS.join(', ')})`);
  if (!(o.slaves >= 1)) problems.push('at least one slave is needed');
  if (!(o.masters >= 1)) problems.push('at least one master is needed');
  if (!(o.marathons >= 0)) problems.push('marathons must be 0 or more');
  if (o.kinds.includes('marathon-kill') && o.marathons < 1) problems.push('marathon-kill needs a Marathon');
  if (!(o.gapMs.min >= 0 && o.gapMs.max >= o.gapMs.min)) problems.push('gap must satisfy 0 <= min <= max');
  if (problems.length > 0) throw new AgoraError('AGORA_CHAOS_OPTIONS_INVALID', `invalid chaos options: ${problems.join('; ')}`);
}

/** How long each kind lasts: pauses and blackholes outlast the timeout they are meant to trip. */
function durationFor(kind: FaultKind, random: Random, t: ClusterTimeouts): number {
  switch (kind) {
    case 'slave-kill':
    case 'master-kill':
    case 'marathon-kill':
      // Down for a moment, or long enough for the others to notice.
      return randomInt(random, 200, 3000);
    case 'slave-pause':
    case 'proxy-drop':
      return Math.round(t.agentPingBudgetMs * (1.3 + random()));
    case 'master-pause':
      return Math.round(t.zkSessionTimeoutMs * (1.5 + random()));
    case 'zk-expire-leader':
      // The blackhole must outlast the session on the server: the timeout plus a tick margin.
      return Math.round(t.zkSessionTimeoutMs * 2 + 500);
    case 'proxy-delay':
      return randomInt(random, 2000, 6000);
    case 'proxy-cut':
      return 0;
  }
}

function targetFor(kind: FaultKind, random: Random, o: ScheduleOptions): FaultTarget {
  switch (kind) {
    case 'slave-kill':
    case 'slave-pause':
    case 'proxy-drop':
    case 'proxy-delay':
    case 'proxy-cut':
      return { role: 'slave', index: randomInt(random, 0, o.slaves - 1) };
    case 'marathon-kill':
      return { role: 'marathon', index: randomInt(random, 0, o.marathons - 1) };
    case 'zk-expire-leader':
      return { role: 'master', leader: true };
    case 'master-kill':
    case 'master-pause':
      // Half the time the leader (the interesting case), else any master.
      return random() < 0.5 ? { role: 'master', leader: true } : { role: 'master', index: randomInt(random, 0, o.masters - 1) };
  }
}

/** The schedule for `o`: faults in start order, none starting at or after `durationMs`. */
export function generateSchedule(o: ScheduleOptions): Fault[] {
  validateScheduleOptions(o);
  const random = mulberry32(o.seed);
  const faults: Fault[] = [];
  let at = randomInt(random, o.gapMs.min, o.gapMs.max);
  // Bounded: every fault advances `at` by at least 1 ms.
  while (at < o.durationMs && faults.length < 10_000) {
    const kind = pick(random, o.kinds);
    const fault: Fault = { seq: faults.length, at_ms: at, kind, target: targetFor(kind, random, o), duration_ms: durationFor(kind, random, o.timeouts) };
    if (kind === 'proxy-delay') fault.latency_ms = randomInt(random, 50, 1500);
    faults.push(fault);
    at += fault.duration_ms + Math.max(1, randomInt(random, o.gapMs.min, o.gapMs.max));
  }
  return faults;
}

/** Counts per kind (every kind present, 0 when absent), for the summary. */
export function countByKind(faults: readonly Pick<Fault, 'kind'>[]): Record<FaultKind, number> {
  const counts = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  for (const f of faults) counts[f.kind]++;
  return counts;
}

/** Parses a comma-separated list of kinds (`all` = every kind); throws on an unknown kind. */
export function parseFaultKinds(text: string): FaultKind[] {
  const names = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 1 && names[0] === 'all') return [...FAULT_KINDS];
  const unknown = names.filter((n) => !(FAULT_KINDS as readonly string[]).includes(n));
  if (unknown.length > 0 || names.length === 0) {
    throw new AgoraError('AGORA_CHAOS_OPTIONS_INVALID', `invalid fault kinds "${text}": ${unknown.length > 0 ? `unknown ${unknown.join(', ')}` : 'none given'} (known: all, ${FAULT_KINDS.join(', ')})`);
  }
  return [...new Set(names)] as FaultKind[];
}
