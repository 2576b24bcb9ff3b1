/**
 * Slave options, compiled once at the edge: validated, defaults filled, so nothing inside
 * re-checks them (Temporal's habit).
 *
 * @module
 */
import os from 'node:os';
import path from 'node:path';
import type { Attribute, Resource } from '../sdk/protocol/mesos.js';
import type { Clock } from '../sdk/core/clock.js';
import type { Logger } from '../sdk/core/log.js';
import { AgoraError } from '../sdk/core/errors.js';
import { detectHostResources, parseAttributes, parseResources } from '../sdk/resources/index.js';
import { zkUrlProblem } from '../sdk/scheduler/leader.js';
import { DEFAULT_SIM, type SimDefaults } from './sim/task-plan.js';

/** Options of {@link startSlave}. Every duration is in milliseconds. */
export interface SlaveOptions {
  /**
   * The master: `host:port`, `http://host:port` or `ws://host:port`; or
   * `zk://[user:pass@]host:2181[,host:2181…]/agora` to follow the leader the masters elect
   * in ZooKeeper (and re-register with each new one).
   */
  master: string;
  /** HTTP port; 0 lets the OS pick one (read it back from the result). */
  port: number;
  /** Address to bind; default `0.0.0.0`. */
  host?: string;
  /** Hostname reported to the master (AgentInfo.hostname); default: the advertised IP when the master is on loopback, else `os.hostname()`. */
  hostname?: string;
  /** IP executors and the master use to reach this slave; default 127.0.0.1 when the master is on loopback, else the first non-internal IPv4. */
  advertiseIp?: string;
  /** Work dir; sandboxes live under `<workDir>/slaves`. */
  workDir: string;
  /** Mesos `--resources` syntax (`cpus:2;mem:1024;ports:[31000-32000]`); detected from the host when absent. */
  resources?: string;
  /** Mesos `--attributes` syntax (`rack:r1;zone:a`). */
  attributes?: string;
  /** First status update retry interval; default 10000 (Mesos STATUS_UPDATE_RETRY_INTERVAL_MIN). */
  statusUpdateRetryMs?: number;
  /** Cap of the doubling retry interval; default 600000 (Mesos STATUS_UPDATE_RETRY_INTERVAL_MAX). */
  statusUpdateMaxRetryMs?: number;
  /** Base of the jittered exponential (re)registration backoff; default 1000. */
  registrationBackoffMs?: number;
  /** Cap of the registration backoff; default 10000. */
  registrationBackoffMaxMs?: number;
  /** How long an executor keeps trying to re-subscribe after losing the slave (MESOS_RECOVERY_TIMEOUT); default 15 min. */
  recoveryTimeoutMs?: number;
  /** Session timeout of the ZooKeeper session that follows the leading master (`zk://` masters); default 10000. */
  zkSessionTimeoutMs?: number;
  /** Time an executor has to exit after SHUTDOWN before the slave kills it; default 5000. */
  executorShutdownGraceMs?: number;
  /** Time a launched executor has to SUBSCRIBE before it is killed; default 60000 (Mesos `--executor_registration_timeout`). */
  executorRegistrationTimeoutMs?: number;
  /** Interval of HEARTBEAT events to subscribed executors; default 30000. */
  executorHeartbeatMs?: number;
  /**
   * How long an idle built-in executor (no live task, no unacknowledged update) is kept for
   * the next task before it is sent SHUTDOWN; default 1000, 0 shuts it down at once.
   */
  executorIdleTimeoutMs?: number;
  /** When true, `close()` shuts down and kills every executor and task (`agora local`, tests). Default false: tasks outlive the slave. */
  cleanupOnExit?: boolean;
  /**
   * Time the executors of a previous run have to re-subscribe after the slave restarted
   * and recovered; default 5000 (Mesos `--executor_reregistration_timeout`, 2 s there: our
   * executors retry with a backoff of up to 2 s, MESOS_SUBSCRIPTION_BACKOFF_MAX).
   */
  executorReregistrationTimeoutMs?: number;
  /** Mesos `--recover`: `reconnect` (default) re-attaches to the executors of the previous run; `cleanup` kills them and starts afresh. */
  recover?: 'reconnect' | 'cleanup';
  /**
   * `posix` (default) starts executors as processes; `simulated` starts nothing: tasks
   * follow their `agora.sim.*` labels and {@link SlaveOptions.sim} (docs/slave.md).
   */
  containerizer?: 'posix' | 'simulated';
  /** Defaults of simulated tasks (`--sim-*` flags) and the seed of their failure draws. */
  sim?: SimOptions;
  logger?: Logger;
  clock?: Clock;
}

/** `--sim-*`: what a simulated task does when its labels do not say. */
export interface SimOptions extends Partial<SimDefaults> {
  /** Seed of the failure-rate draws (reproducible runs); default: unseeded (Math.random). */
  seed?: number;
}

/** {@link SlaveOptions} after validation, with every default filled. */
export interface SlaveConfig {
  /** The `zk://` URL of the masters' election; undefined for a fixed master. */
  masterZk: string | undefined;
  /** The fixed master's host; with `masterZk`, the first ZooKeeper server's host. */
  masterHost: string;
  /** The fixed master's port; with `masterZk`, the first ZooKeeper server's port. */
  masterPort: number;
  /** `ws://host:port/api/v1/agent` of the fixed master; '' with `masterZk`. */
  masterUrl: string;
  port: number;
  host: string;
  hostname: string;
  advertiseIp: string;
  workDir: string;
  resources: Resource[];
  attributes: Attribute[];
  resourcesSpec: string | undefined;
  attributesSpec: string | undefined;
  statusUpdateRetryMs: number;
  statusUpdateMaxRetryMs: number;
  registrationBackoffMs: number;
  registrationBackoffMaxMs: number;
  recoveryTimeoutMs: number;
  zkSessionTimeoutMs: number;
  executorShutdownGraceMs: number;
  executorRegistrationTimeoutMs: number;
  executorHeartbeatMs: number;
  executorIdleTimeoutMs: number;
  cleanupOnExit: boolean;
  executorReregistrationTimeoutMs: number;
  recover: 'reconnect' | 'cleanup';
  containerizer: 'posix' | 'simulated';
  /** Simulated task defaults (used with the simulated containerizer). */
  sim: SimDefaults;
  /** Seed of the simulated failure draws; undefined: Math.random. */
  simSeed: number | undefined;
}

const INVALID = 'AGORA_SLAVE_OPTIONS_INVALID';

function duration(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < min) throw new AgoraError(INVALID, `${name} must be a number >= ${min}, got ${value}`);
  return value;
}

/** Splits `host:port`, `http://host:port`, `ws://host:port` (also `[::1]:port`). */
export function parseMasterAddress(master: string): { host: string; port: number } {
  const trimmed = master.trim();
  if (trimmed.startsWith('zk://')) throw new AgoraError(INVALID, `master ${master}: a zk:// URL names a ZooKeeper ensemble, not a master address`);
  const withScheme = /^[a-z]+:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new AgoraError(INVALID, `master "${master}" is not host:port`);
  }
  if (!['http:', 'ws:'].includes(url.protocol)) throw new AgoraError(INVALID, `master "${master}": unsupported scheme ${url.protocol}`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? 5050 : Number(url.port);
  if (host === '') throw new AgoraError(INVALID, `master "${master}" has no host`);
  return { host, port };
}

/**
 * Checks a `zk://…/path` master URL and returns the first ZooKeeper server (used, like a
 * fixed master's host, to choose the advertised IP).
 *
 * @throws AgoraError `AGORA_SLAVE_OPTIONS_INVALID` for a malformed URL.
 */
export function parseZkMaster(master: string): { url: string; host: string; port: number } {
  const url = master.trim();
  const problem = zkUrlProblem(url);
  if (problem !== undefined) throw new AgoraError(INVALID, `master ${problem}`);
  const first = /^zk:\/\/(?:[^@/]*@)?([^,/]+)/i.exec(url)![1]!;
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(first)!;
  return { url, host: m[1] ?? m[2]!, port: m[3] === undefined ? 2181 : Number(m[3]) };
}

/** True for `localhost`, 127.0.0.0/8 and ::1. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The first non-internal IPv4 address of this host, or 127.0.0.1. */
export function firstExternalIPv4(): string {
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

/**
 * Validates options and fills defaults.
 *
 * @throws AgoraError `AGORA_SLAVE_OPTIONS_INVALID`, `AGORA_RESOURCES_INVALID`, `AGORA_ATTRIBUTES_INVALID`.
 */
export function compileSlaveOptions(o: SlaveOptions): SlaveConfig {
  const isZk = typeof o.master === 'string' && o.master.trim().toLowerCase().startsWith('zk://');
  const zk = isZk ? parseZkMaster(o.master) : undefined;
  const { host: masterHost, port: masterPort } = zk ?? parseMasterAddress(o.master);
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new AgoraError(INVALID, `port must be 0..65535, got ${o.port}`);
  if (typeof o.workDir !== 'string' || o.workDir === '') throw new AgoraError(INVALID, 'workDir is required');
  const workDir = path.resolve(o.workDir);
  const loopback = isLoopbackHost(masterHost);
  const advertiseIp = o.advertiseIp ?? (loopback ? '127.0.0.1' : firstExternalIPv4());
  const resources = o.resources !== undefined && o.resources.trim() !== '' ? parseResources(o.resources) : detectHostResources(workDir);
  const attributes = o.attributes !== undefined ? parseAttributes(o.attributes) : [];
  const statusUpdateRetryMs = duration('statusUpdateRetryMs', o.statusUpdateRetryMs, 10_000);
  const registrationBackoffMs = duration('registrationBackoffMs', o.registrationBackoffMs, 1000);
  const hostForUrl = masterHost.includes(':') ? `[${masterHost}]` : masterHost;
  return {
    masterZk: zk?.url,
    masterHost,
    masterPort,
    masterUrl: zk !== undefined ? '' : `ws://${hostForUrl}:${masterPort}/api/v1/agent`,
    port: o.port,
    host: o.host ?? '0.0.0.0',
    hostname: o.hostname ?? (loopback ? advertiseIp : os.hostname()),
    advertiseIp,
    workDir,
    resources,
    attributes,
    resourcesSpec: o.resources,
    attributesSpec: o.attributes,
    statusUpdateRetryMs,
    statusUpdateMaxRetryMs: Math.max(statusUpdateRetryMs, duration('statusUpdateMaxRetryMs', o.statusUpdateMaxRetryMs, 600_000)),
    registrationBackoffMs,
    registrationBackoffMaxMs: Math.max(registrationBackoffMs, duration('registrationBackoffMaxMs', o.registrationBackoffMaxMs, 10_000)),
    recoveryTimeoutMs: duration('recoveryTimeoutMs', o.recoveryTimeoutMs, 15 * 60_000),
    zkSessionTimeoutMs: duration('zkSessionTimeoutMs', o.zkSessionTimeoutMs, 10_000),
    executorShutdownGraceMs: duration('executorShutdownGraceMs', o.executorShutdownGraceMs, 5000, 0),
    executorRegistrationTimeoutMs: duration('executorRegistrationTimeoutMs', o.executorRegistrationTimeoutMs, 60_000),
    executorHeartbeatMs: duration('executorHeartbeatMs', o.executorHeartbeatMs, 30_000),
    executorIdleTimeoutMs: duration('executorIdleTimeoutMs', o.executorIdleTimeoutMs, 1000, 0),
    cleanupOnExit: o.cleanupOnExit ?? false,
    executorReregistrationTimeoutMs: duration('executorReregistrationTimeoutMs', o.executorReregistrationTimeoutMs, 5000),
    recover: recoverMode(o.recover),
    containerizer: containerizerKind(o.containerizer),
    sim: compileSimDefaults(o.sim),
    simSeed: simSeed(o.sim?.seed),
  };
}

function containerizerKind(value: string | undefined): 'posix' | 'simulated' {
  if (value === undefined) return 'posix';
  if (value === 'posix' || value === 'simulated') return value;
  throw new AgoraError(INVALID, `containerizer must be posix or simulated, got ${JSON.stringify(value)}`);
}

/**
 * Validates the simulated task defaults.
 *
 * @throws AgoraError `AGORA_SLAVE_OPTIONS_INVALID` naming the bad field.
 */
export function compileSimDefaults(o: Partial<SimDefaults> | undefined): SimDefaults {
  const d = o?.durationMs ?? DEFAULT_SIM.durationMs;
  if (d !== 'forever' && (typeof d !== 'number' || !Number.isFinite(d) || d < 0 || d > 2 ** 31 - 1)) {
    throw new AgoraError(INVALID, `sim task duration must be forever or 0..${2 ** 31 - 1} ms, got ${String(d)}`);
  }
  const exitCode = o?.exitCode ?? DEFAULT_SIM.exitCode;
  if (!Number.isInteger(exitCode) || exitCode < 0 || exitCode > 255) throw new AgoraError(INVALID, `sim exit code must be an integer 0..255, got ${exitCode}`);
  const failureRate = o?.failureRate ?? DEFAULT_SIM.failureRate;
  if (typeof failureRate !== 'number' || !(failureRate >= 0 && failureRate <= 1)) throw new AgoraError(INVALID, `sim failure rate must be 0..1, got ${failureRate}`);
  const startDelayMs = o?.startDelayMs ?? DEFAULT_SIM.startDelayMs;
  if (typeof startDelayMs !== 'number' || !Number.isFinite(startDelayMs) || startDelayMs < 0 || startDelayMs > 2 ** 31 - 1) {
    throw new AgoraError(INVALID, `sim start delay must be 0..${2 ** 31 - 1} ms, got ${startDelayMs}`);
  }
  return { durationMs: d, exitCode, failureRate, startDelayMs };
}

function simSeed(seed: number | undefined): number | undefined {
  if (seed === undefined) return undefined;
  if (!Number.isInteger(seed)) throw new AgoraError(INVALID, `sim seed must be an integer, got ${seed}`);
  return seed;
}

function recoverMode(value: string | undefined): 'reconnect' | 'cleanup' {
  if (value === undefined) return 'reconnect';
  if (value === 'reconnect' || value === 'cleanup') return value;
  throw new AgoraError(INVALID, `recover must be reconnect or cleanup, got ${JSON.stringify(value)}`);
}

/** Formats a duration in Mesos flag syntax: `900secs`, `1500ms`. */
export function mesosDuration(ms: number): string {
  const whole = Math.round(ms);
  return whole % 1000 === 0 ? `${whole / 1000}secs` : `${whole}ms`;
}
