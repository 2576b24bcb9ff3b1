/**
 * Master options: what callers pass to `startMaster` ({@link MasterOptions}) and the
 * compiled, validated form the rest of the master reads ({@link MasterConfig}). Options are
 * checked once here; inside the master nothing re-checks them.
 *
 * @module
 */
import type { Clock } from '../sdk/core/clock.js';
import { AgoraError } from '../sdk/core/errors.js';
import type { Logger } from '../sdk/core/log.js';
import { parseRemovalRateLimit, type RemovalRateLimit } from './removal-rate-limit.js';

/** Options of {@link startMaster} (master/main.ts). */
export interface MasterOptions {
  /** Port to listen on; 0 lets the OS pick one. */
  port: number;
  /** Address to bind; default `0.0.0.0`. */
  host?: string;
  /** Hostname advertised in MasterInfo; default `os.hostname()`. */
  hostname?: string;
  /** IPv4 advertised in MasterInfo; default the bind host when specific, else the first non-internal IPv4, else 127.0.0.1. */
  advertiseIp?: string;
  /** Directory for the master's files (created when missing). */
  workDir: string;
  /** Interval between pings to a slave, and how long a ping may go unanswered; default 15000. */
  agentPingTimeoutMs?: number;
  /** Missed pings (or ping periods spent disconnected) after which a slave is removed; default 5. */
  maxAgentPingTimeouts?: number;
  /** Offers older than this are rescinded; default none (offers never time out). */
  offerTimeoutMs?: number;
  /**
   * Declined resources stay away from the framework that declined them for at least this
   * long, whatever its `refuse_seconds` (0 included); default 1000 (Mesos's
   * `--allocation_interval`: there, declined resources come back at the next one-second
   * allocation batch at the earliest). 0 turns the floor off.
   */
  minDeclineRefuseMs?: number;
  /** Interval of HEARTBEAT events on scheduler streams; default 15000. */
  heartbeatIntervalMs?: number;
  /** Largest scheduler call body accepted; default 8 MiB (larger → 413). */
  maxCallBodyBytes?: number;
  /**
   * `zk://[user:pass@]host:port,…/path`: run highly available — contend for leadership under
   * `<path>` (Mesos's `json.info_` znodes) and keep the registry in `<path>/registry`.
   * Without it the master leads alone and keeps its registry in `<workDir>/registry.json`.
   */
  zk?: string;
  /** ZooKeeper session timeout; default 10000. */
  zkSessionTimeoutMs?: number;
  /** How long a new leader waits for the registry's agents to re-register; default 600000 (Mesos 10 mins). */
  agentReregisterTimeoutMs?: number;
  /**
   * `<N>/<duration>` (`1/10mins`): at most N agents are removed for failing health checks per
   * duration (Mesos `--agent_removal_rate_limit`); default none (removed at once).
   */
  agentRemovalRateLimit?: string;
  /** Unreachable agents older than this are dropped from the registry; default 2 weeks (Mesos `--registry_max_agent_age`). */
  registryMaxAgentAgeMs?: number;
  /** At most this many unreachable agents are kept in the registry; default (and cap) 10000 (Mesos `--registry_max_agent_count`). */
  registryMaxAgentCount?: number;
  /** Interval of the registry garbage collection; default 15 minutes (Mesos `--registry_gc_interval`). */
  registryGcIntervalMs?: number;
  /**
   * Called after a leader lost its ZooKeeper session and stopped acting as leader (streams,
   * sockets and timers closed). Default: `process.exit(1)` — the supervisor restarts it.
   */
  onDemoted?: (reason: string) => void;
  logger?: Logger;
  clock?: Clock;
}

/** {@link MasterOptions} with defaults filled and values checked. */
export interface MasterConfig {
  port: number;
  host: string;
  hostname?: string;
  advertiseIp?: string;
  workDir: string;
  agentPingTimeoutMs: number;
  maxAgentPingTimeouts: number;
  offerTimeoutMs?: number;
  minDeclineRefuseMs: number;
  heartbeatIntervalMs: number;
  maxCallBodyBytes: number;
  zk?: string;
  zkSessionTimeoutMs: number;
  agentReregisterTimeoutMs: number;
  agentRemovalRateLimit?: RemovalRateLimit;
  registryMaxAgentAgeMs: number;
  registryMaxAgentCount: number;
  registryGcIntervalMs: number;
}

export const DEFAULT_AGENT_PING_TIMEOUT_MS = 15_000;
export const DEFAULT_MAX_AGENT_PING_TIMEOUTS = 5;
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 15_000;
export const DEFAULT_MIN_DECLINE_REFUSE_MS = 1_000;
export const DEFAULT_MAX_CALL_BODY_BYTES = 8 * 1024 * 1024;
export const DEFAULT_ZK_SESSION_TIMEOUT_MS = 10_000;
export const DEFAULT_AGENT_REREGISTER_TIMEOUT_MS = 600_000;
export const DEFAULT_REGISTRY_MAX_AGENT_AGE_MS = 14 * 86_400_000;
export const DEFAULT_REGISTRY_GC_INTERVAL_MS = 15 * 60_000;
/**
 * Default and largest `registryMaxAgentCount`. Mesos allows 102400, but Agora's registry is
 * one document kept under ZooKeeper's 1 MB znode limit (see registry/types.ts
 * `MAX_UNREACHABLE_AGENTS`, which the registry itself enforces).
 */
export const DEFAULT_REGISTRY_MAX_AGENT_COUNT = 10_000;

function positive(name: string, value: number | undefined, fallback: number | undefined): number | undefined {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new AgoraError('AGORA_MASTER_BAD_OPTION', `${name} must be a positive number, got ${value}`);
  }
  return value;
}

/** Validates options and fills defaults. Throws `AGORA_MASTER_BAD_OPTION`. */
export function compileMasterOptions(o: MasterOptions): MasterConfig {
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) {
    throw new AgoraError('AGORA_MASTER_BAD_OPTION', `port must be an integer in 0..65535, got ${o.port}`);
  }
  if (typeof o.workDir !== 'string' || o.workDir.length === 0) {
    throw new AgoraError('AGORA_MASTER_BAD_OPTION', 'workDir is required');
  }
  const maxPings = positive('maxAgentPingTimeouts', o.maxAgentPingTimeouts, DEFAULT_MAX_AGENT_PING_TIMEOUTS)!;
  if (!Number.isInteger(maxPings)) {
    throw new AgoraError('AGORA_MASTER_BAD_OPTION', `maxAgentPingTimeouts must be an integer, got ${maxPings}`);
  }
  if (o.zk !== undefined && (typeof o.zk !== 'string' || !o.zk.startsWith('zk://'))) {
    throw new AgoraError('AGORA_MASTER_BAD_OPTION', `zk must be a zk://host:port,…/path URL, got ${String(o.zk)}`);
  }
  const maxAgentCount = positive('registryMaxAgentCount', o.registryMaxAgentCount, DEFAULT_REGISTRY_MAX_AGENT_COUNT)!;
  if (!Number.isInteger(maxAgentCount) || maxAgentCount > DEFAULT_REGISTRY_MAX_AGENT_COUNT) {
    throw new AgoraError('AGORA_MASTER_BAD_OPTION', `registryMaxAgentCount must be an integer in 1..${DEFAULT_REGISTRY_MAX_AGENT_COUNT}, got ${maxAgentCount}`);
  }
  const minDeclineRefuseMs = o.minDeclineRefuseMs ?? DEFAULT_MIN_DECLINE_REFUSE_MS;
  if (!Number.isFinite(minDeclineRefuseMs) || minDeclineRefuseMs < 0) {
    throw new AgoraError('AGORA_MASTER_BAD_OPTION', `minDeclineRefuseMs must be a number ≥ 0, got ${minDeclineRefuseMs}`);
  }
  return {
    ...(o.zk !== undefined ? { zk: o.zk } : {}),
    ...(o.agentRemovalRateLimit !== undefined ? { agentRemovalRateLimit: parseRemovalRateLimit(o.agentRemovalRateLimit) } : {}),
    registryMaxAgentAgeMs: positive('registryMaxAgentAgeMs', o.registryMaxAgentAgeMs, DEFAULT_REGISTRY_MAX_AGENT_AGE_MS)!,
    registryMaxAgentCount: maxAgentCount,
    registryGcIntervalMs: positive('registryGcIntervalMs', o.registryGcIntervalMs, DEFAULT_REGISTRY_GC_INTERVAL_MS)!,
    zkSessionTimeoutMs: positive('zkSessionTimeoutMs', o.zkSessionTimeoutMs, DEFAULT_ZK_SESSION_TIMEOUT_MS)!,
    agentReregisterTimeoutMs: positive('agentReregisterTimeoutMs', o.agentReregisterTimeoutMs, DEFAULT_AGENT_REREGISTER_TIMEOUT_MS)!,
    port: o.port,
    host: o.host ?? '0.0.0.0',
    hostname: o.hostname,
    advertiseIp: o.advertiseIp,
    workDir: o.workDir,
    agentPingTimeoutMs: positive('agentPingTimeoutMs', o.agentPingTimeoutMs, DEFAULT_AGENT_PING_TIMEOUT_MS)!,
    maxAgentPingTimeouts: maxPings,
    offerTimeoutMs: positive('offerTimeoutMs', o.offerTimeoutMs, undefined),
    minDeclineRefuseMs,
    heartbeatIntervalMs: positive('heartbeatIntervalMs', o.heartbeatIntervalMs, DEFAULT_HEARTBEAT_INTERVAL_MS)!,
    maxCallBodyBytes: positive('maxCallBodyBytes', o.maxCallBodyBytes, DEFAULT_MAX_CALL_BODY_BYTES)!,
  };
}
