/**
 * Scheduler options, compiled once at the edge (Temporal style): validated, defaults
 * filled in, the master address parsed. Nothing inside the scheduler re-checks them.
 *
 * @module
 */
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../core/clock.js';
import { AgoraError } from '../core/errors.js';
import type { LeaderDetector } from '../core/leadership.js';
import { createLogger } from '../core/log.js';
import { FrameworkInfo as FrameworkInfoSchema, safeParseJson, type FrameworkInfo } from '../protocol/index.js';
import { SCHEDULER_OPTIONS_INVALID } from './errors.js';
import { isZkUrl, zkUrlProblem } from './leader.js';
import type { SchedulerTransport } from './transport.js';

/** What `new Scheduler(options)` accepts. Every optional field documents its default. */
export interface SchedulerOptions {
  /**
   * The master: `'host:port'`, `'host'` (port 5050) or `'http://host:port'`; or a ZooKeeper
   * URL `'zk://[user:pass@]host:2181[,host:2181…]/agora'` whose masters elect a leader
   * (Mesos layout: `json.info_<seq>` znodes): the scheduler follows the leader and
   * resubscribes, with its framework id, whenever it changes. Either way a standby
   * answers 307 and is followed to the leader.
   */
  master: string;
  /** Sent in SUBSCRIBE. With `id` set the scheduler resubscribes as that framework (failover). */
  frameworkInfo: FrameworkInfo;
  /** Default `true`: ACKNOWLEDGE every UPDATE that carries a uuid, after its handlers ran without throwing. */
  autoAcknowledge?: boolean;
  /** Default `true`: on stream loss or missed heartbeats, resubscribe with the same framework id after a jittered exponential backoff. */
  reconnect?: boolean;
  /** Default 500: first reconnection delay (ms, before jitter). */
  backoffMs?: number;
  /** Default 10000: cap of the reconnection delay (ms). */
  maxBackoffMs?: number;
  /** Default 5: reconnect after this many heartbeat intervals (`heartbeat_interval_seconds`, 15 s until SUBSCRIBED says otherwise) of silence. */
  missedHeartbeats?: number;
  /** Default 5: how many 307 redirects to follow looking for the leading master. */
  maxRedirects?: number;
  /** Default 3: how many times a call answered 503 Service Unavailable is retried (with backoff) before it rejects. */
  callRetries?: number;
  /** Default: the system clock. Every timer (backoff, heartbeat watchdog) goes through it. */
  clock?: Clock;
  /** Default: `createLogger('agora-scheduler')`. */
  logger?: Logger;
  /** Default: HTTP to `master` (node:http). Tests and embedders pass their own. */
  transport?: SchedulerTransport;
  /** Default `Math.random`: the jitter source of the backoff. */
  random?: () => number;
  /**
   * Default: none for a `host:port` master; for a `zk://` master, a ZooKeeper detector the
   * scheduler opens in `start()` and closes when it stops. Pass your own (a started
   * {@link LeaderDetector} reporting MasterInfo JSON or `host:port`) to choose the leader
   * another way; the scheduler then subscribes wherever it points, waits while it reports
   * no leader, and does not stop it.
   */
  leaderDetector?: LeaderDetector;
  /**
   * Default 10000: the session timeout (ms) of the ZooKeeper session a `zk://` master opens
   * to follow the leader. ZooKeeper grants a value between its min and max session timeouts.
   */
  zkSessionTimeoutMs?: number;
  /**
   * Default `true`: between `start()` and stop, hold a referenced handle so that Node does
   * not exit while the scheduler waits (the clock's timers are unref'd, so a scheduler
   * backing off before a reconnection would otherwise let the process end silently).
   */
  keepProcessAlive?: boolean;
}

/** A parsed master address. */
export interface MasterAddress {
  protocol: 'http:' | 'https:';
  host: string;
  port: number;
}

/** {@link SchedulerOptions} after validation, with every default filled in. */
export interface CompiledSchedulerOptions {
  /** The configured master; undefined for a `zk://` master. */
  master: MasterAddress | undefined;
  /** The `zk://` URL of the masters' election, when `master` is one. */
  zk: string | undefined;
  /** A caller-provided detector (see {@link SchedulerOptions.leaderDetector}). */
  leaderDetector: LeaderDetector | undefined;
  zkSessionTimeoutMs: number;
  frameworkInfo: FrameworkInfo;
  autoAcknowledge: boolean;
  reconnect: boolean;
  backoffMs: number;
  maxBackoffMs: number;
  missedHeartbeats: number;
  maxRedirects: number;
  callRetries: number;
  clock: Clock;
  logger: Logger;
  transport: SchedulerTransport | undefined;
  random: () => number;
  keepProcessAlive: boolean;
}

/** Mesos' default `--http_heartbeat_interval` (seconds), used until SUBSCRIBED names one. */
export const DEFAULT_HEARTBEAT_INTERVAL_SECONDS = 15;
/** The master's default port. */
export const DEFAULT_MASTER_PORT = 5050;

function invalid(message: string): never {
  throw new AgoraError(SCHEDULER_OPTIONS_INVALID, `invalid scheduler options: ${message}`);
}

/**
 * Parses `host:port`, `host`, `http://host:port[/]`, `https://…`, `[::1]:5050`.
 *
 * @throws AgoraError `AGORA_SCHEDULER_OPTIONS_INVALID` for anything else (`zk://` included: that is
 *   a leader detection URL, which {@link SchedulerOptions.master} accepts, not an address).
 * @example
 * parseMasterAddress('127.0.0.1:5050')        // { protocol: 'http:', host: '127.0.0.1', port: 5050 }
 * parseMasterAddress('http://master.local')   // { protocol: 'http:', host: 'master.local', port: 5050 }
 */
export function parseMasterAddress(master: string): MasterAddress {
  const text = master.trim();
  if (text.startsWith('zk://')) invalid(`master "${master}": a zk:// URL names a ZooKeeper ensemble, not a master address`);
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  let url: globalThis.URL;
  try {
    url = new globalThis.URL(withScheme);
  } catch {
    invalid(`master "${master}" is not host:port or http://host:port`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') invalid(`master "${master}": scheme must be http or https`);
  if (url.hostname === '') invalid(`master "${master}" has no host`);
  if (url.pathname !== '/' && url.pathname !== '') invalid(`master "${master}": give host:port only, without a path`);
  // URL drops a port equal to the scheme's default (80/443), so read an explicit one from the text.
  const explicitPort = /:(\d+)\/?$/.exec(text);
  const port = url.port !== '' ? Number(url.port) : explicitPort ? Number(explicitPort[1]) : DEFAULT_MASTER_PORT;
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return { protocol: url.protocol, host, port };
}

function positive(name: string, value: number | undefined, fallback: number, integer: boolean, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    invalid(`${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got ${String(value)}`);
  }
  return value;
}

/**
 * Validates options and fills defaults. Bad combinations fail here, at construction.
 *
 * @throws AgoraError `AGORA_SCHEDULER_OPTIONS_INVALID` naming the option.
 * @example
 * const compiled = compileSchedulerOptions({ master: 'localhost:5050', frameworkInfo: { user: 'me', name: 'demo' } });
 * compiled.backoffMs // 500
 */
export function compileSchedulerOptions(options: SchedulerOptions): CompiledSchedulerOptions {
  if (options === null || typeof options !== 'object') invalid('options must be an object');
  if (typeof options.master !== 'string' || options.master.trim() === '') invalid('master is required (host:port or zk://host:2181/path)');
  let master: MasterAddress | undefined;
  let zk: string | undefined;
  if (isZkUrl(options.master)) {
    const problem = zkUrlProblem(options.master);
    if (problem !== undefined) invalid(`master ${problem}`);
    zk = options.master.trim();
  } else {
    master = parseMasterAddress(options.master);
  }
  const detector = options.leaderDetector;
  if (detector !== undefined && (detector === null || typeof detector !== 'object' || typeof detector.current !== 'function' || typeof detector.onChange !== 'function')) {
    invalid('leaderDetector must be a LeaderDetector (current(), onChange(), …)');
  }
  const info = safeParseJson(FrameworkInfoSchema, options.frameworkInfo);
  if (!info.success) {
    invalid(`frameworkInfo: ${info.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  const backoffMs = positive('backoffMs', options.backoffMs, 500, false, 1);
  const maxBackoffMs = positive('maxBackoffMs', options.maxBackoffMs, Math.max(10_000, backoffMs), false, 1);
  if (maxBackoffMs < backoffMs) invalid(`maxBackoffMs (${maxBackoffMs}) must be >= backoffMs (${backoffMs})`);
  for (const key of ['autoAcknowledge', 'reconnect', 'keepProcessAlive'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'boolean') invalid(`${key} must be a boolean`);
  }
  if (options.random !== undefined && typeof options.random !== 'function') invalid('random must be a function');
  return {
    master,
    zk,
    leaderDetector: detector,
    zkSessionTimeoutMs: positive('zkSessionTimeoutMs', options.zkSessionTimeoutMs, 10_000, false, 1),
    frameworkInfo: info.data,
    autoAcknowledge: options.autoAcknowledge ?? true,
    reconnect: options.reconnect ?? true,
    backoffMs,
    maxBackoffMs,
    missedHeartbeats: positive('missedHeartbeats', options.missedHeartbeats, 5, true, 1),
    maxRedirects: positive('maxRedirects', options.maxRedirects, 5, true, 0),
    callRetries: positive('callRetries', options.callRetries, 3, true, 0),
    clock: options.clock ?? systemClock,
    logger: options.logger ?? createLogger('agora-scheduler'),
    transport: options.transport,
    random: options.random ?? Math.random,
    keepProcessAlive: options.keepProcessAlive ?? true,
  };
}
