/**
 * `agora slave --emulate N`: N emulated slaves in one process (sim/emulated-slave.ts),
 * each with its own connection to the master, agent id, hostname (`<prefix>-<i>`),
 * resources and attributes, all running simulated tasks. They share one leader detector
 * (one ZooKeeper session for a `zk://` master), one logger and, optionally, one small HTTP
 * server (`GET /state`, `GET /health`). Their starts are spread over `spreadMs` so the
 * master does not get N registrations at once; as the master pings each agent from its
 * registration on, that also spreads the heartbeats.
 *
 * @module
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock, type Clock, type TimerHandle } from '../../sdk/core/clock.js';
import { AgoraError } from '../../sdk/core/errors.js';
import { StaticDetector, type LeaderDetector } from '../../sdk/core/leadership.js';
import { createLogger, type Logger } from '../../sdk/core/log.js';
import { parseAttributes, parseResources } from '../../sdk/resources/index.js';
import { openZkLeaderDetector } from '../../sdk/scheduler/leader.js';
import type { AgentDial } from '../agent-socket.js';
import { compileSimDefaults, parseMasterAddress, parseZkMaster, type SimOptions } from '../options.js';
import { RetryingDetector } from '../retrying-detector.js';
import { createSimulatedAgent, type SimulatedAgent } from './emulated-slave.js';
import { seededRandom } from './prng.js';

const INVALID = 'AGORA_SLAVE_OPTIONS_INVALID';

/** Most agents one process may emulate (a guard against typos; memory is the real bound). */
export const MAX_EMULATED_AGENTS = 100_000;

/** Resources of each agent when `--resources` is not given. */
export const DEFAULT_EMULATED_RESOURCES = 'cpus:8;mem:16384;disk:100000;ports:[31000-32000]';

/** Options of {@link startEmulator}. Durations in milliseconds. */
export interface EmulatorOptions {
  /** `host:port` of the master, or `zk://…/path` of the masters' election. */
  master: string;
  /** How many agents (1..{@link MAX_EMULATED_AGENTS}). */
  count: number;
  /** Hostnames are `<prefix>-<i>`; default `emu`. */
  hostnamePrefix?: string;
  /** Mesos `--resources` syntax, given to each agent; default {@link DEFAULT_EMULATED_RESOURCES}. */
  resources?: string;
  /** Mesos `--attributes` syntax, given to each agent. */
  attributes?: string;
  /** Time over which the agents start; default `count × 2 ms`, at most 30 s. */
  spreadMs?: number;
  /** Simulated task defaults and seed (agent i draws from `seed + i`). */
  sim?: SimOptions;
  /** Port of the shared HTTP server (0: the OS picks); undefined: no server. */
  port?: number;
  /** Address the HTTP server binds; default 0.0.0.0. */
  host?: string;
  statusUpdateRetryMs?: number;
  statusUpdateMaxRetryMs?: number;
  registrationBackoffMs?: number;
  registrationBackoffMaxMs?: number;
  zkSessionTimeoutMs?: number;
  /** Transport to the master; default real WebSockets. */
  dial?: AgentDial;
  logger?: Logger;
  clock?: Clock;
}

/** A running set of emulated agents. */
export interface Emulator {
  readonly agents: readonly SimulatedAgent[];
  /** The shared HTTP server's port, when there is one. */
  readonly port: number | undefined;
  /** Agents registered (with the current or a previous master) at least once. */
  registeredCount(): number;
  /** Closes every agent's connection (close handshakes), the HTTP server and the detector. Idempotent. */
  close(): Promise<void>;
}

/** Checks the options that do not depend on the master. */
function validate(o: EmulatorOptions): void {
  if (!Number.isInteger(o.count) || o.count < 1 || o.count > MAX_EMULATED_AGENTS) {
    throw new AgoraError(INVALID, `emulate must be an integer 1..${MAX_EMULATED_AGENTS}, got ${o.count}`);
  }
  if (o.spreadMs !== undefined && (!Number.isFinite(o.spreadMs) || o.spreadMs < 0)) {
    throw new AgoraError(INVALID, `emulate spread must be a duration >= 0, got ${o.spreadMs}`);
  }
  if (o.hostnamePrefix !== undefined && !/^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(o.hostnamePrefix)) {
    throw new AgoraError(INVALID, `hostname prefix "${o.hostnamePrefix}" must be letters, digits, dots and dashes`);
  }
  if (o.port !== undefined && (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535)) {
    throw new AgoraError(INVALID, `port must be 0..65535, got ${o.port}`);
  }
}

/**
 * Starts N emulated agents. Resolves once the HTTP server (if any) listens and the
 * agents' starts are scheduled; they register over the spread.
 *
 * @throws AgoraError `AGORA_SLAVE_OPTIONS_INVALID`, `AGORA_RESOURCES_INVALID`, `AGORA_ATTRIBUTES_INVALID` for bad options.
 */
export async function startEmulator(o: EmulatorOptions): Promise<Emulator> {
  validate(o);
  const clock = o.clock ?? systemClock;
  const logger = o.logger ?? createLogger('agora-emulator');
  const isZk = o.master.trim().toLowerCase().startsWith('zk://');
  const zkUrl = isZk ? parseZkMaster(o.master).url : undefined;
  const fixed = isZk ? undefined : parseMasterAddress(o.master);
  const resources = parseResources(o.resources !== undefined && o.resources.trim() !== '' ? o.resources : DEFAULT_EMULATED_RESOURCES);
  const attributes = o.attributes !== undefined ? parseAttributes(o.attributes) : [];
  const sim = compileSimDefaults(o.sim);
  const seed = o.sim?.seed;
  if (seed !== undefined && !Number.isInteger(seed)) throw new AgoraError(INVALID, `sim seed must be an integer, got ${seed}`);
  const spreadMs = o.spreadMs ?? Math.min(30_000, o.count * 2);
  const prefix = o.hostnamePrefix ?? 'emu';
  const backoffMs = o.registrationBackoffMs ?? 1000;
  const backoffMaxMs = Math.max(backoffMs, o.registrationBackoffMaxMs ?? 10_000);

  let detector: LeaderDetector;
  if (zkUrl !== undefined) {
    const sessionTimeoutMs = o.zkSessionTimeoutMs ?? 10_000;
    detector = new RetryingDetector({
      open: () => openZkLeaderDetector(zkUrl, { logger, sessionTimeoutMs, connectTimeoutMs: sessionTimeoutMs }),
      clock, logger, backoffMs, backoffMaxMs,
    });
  } else {
    const host = fixed!.host.includes(':') ? `[${fixed!.host}]` : fixed!.host;
    detector = new StaticDetector(`ws://${host}:${fixed!.port}/api/v1/agent`);
  }
  await detector.start();

  // Thousands of links would each log every reconnection: they share one quieter logger
  // (the emulator logs the totals), unless debugging.
  const linkLogger = logger.isLevelEnabled('debug') ? logger : logger.child({ component: 'emulated-link' }, { level: 'error' });
  const registered = new Set<number>();
  let allRegisteredLogged = false;
  const agents: SimulatedAgent[] = [];
  for (let i = 0; i < o.count; i++) {
    agents.push(createSimulatedAgent({
      detector,
      clock,
      logger,
      linkLogger,
      random: seed !== undefined ? seededRandom(seed + i) : Math.random,
      hostname: `${prefix}-${i}`,
      resources,
      attributes,
      sim,
      ...(o.statusUpdateRetryMs !== undefined ? { statusUpdateRetryMs: o.statusUpdateRetryMs } : {}),
      ...(o.statusUpdateMaxRetryMs !== undefined ? { statusUpdateMaxRetryMs: o.statusUpdateMaxRetryMs } : {}),
      registrationBackoffMs: backoffMs,
      registrationBackoffMaxMs: backoffMaxMs,
      ...(o.dial !== undefined ? { dial: o.dial } : {}),
      onRegistered: () => {
        registered.add(i);
        if (!allRegisteredLogged && registered.size === o.count) {
          allRegisteredLogged = true;
          logger.info({ count: o.count }, 'all emulated agents registered');
        }
      },
    }));
  }

  let server: http.Server | undefined;
  let port: number | undefined;
  if (o.port !== undefined) {
    server = http.createServer((req, res) => serveState(req, res, agents, registered.size, clock));
    const s = server;
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(o.port, o.host ?? '0.0.0.0', () => { s.off('error', reject); resolve(); });
    });
    s.on('error', (e) => logger.error({ err: e.message }, 'HTTP server error'));
    port = (s.address() as AddressInfo).port;
    logger.info({ port }, 'listening');
  }

  // Agent i starts at i × spread / N: the registrations (and so the master's pings) are spread evenly.
  const startTimers: TimerHandle[] = [];
  for (let i = 0; i < agents.length; i++) {
    const agent = agents[i]!;
    const delay = Math.floor((i * spreadMs) / agents.length);
    if (delay === 0) agent.start();
    else startTimers.push(clock.setTimeout(() => agent.start(), delay));
  }
  logger.info({ count: o.count, spread_ms: spreadMs, master: o.master, resources: o.resources ?? DEFAULT_EMULATED_RESOURCES }, 'emulated agents starting');

  let closing: Promise<void> | undefined;
  return {
    agents,
    port,
    registeredCount: () => registered.size,
    close: () => {
      closing ??= (async () => {
        for (const t of startTimers) t.cancel();
        await Promise.all(agents.map((a) => a.close()));
        if (server !== undefined) {
          const s = server;
          await new Promise<void>((resolve) => { s.close(() => resolve()); s.closeAllConnections(); });
        }
        await detector.stop();
      })();
      return closing;
    },
  };
}

/** `GET /state`: the agents and their task counts; `GET /health`. */
function serveState(req: http.IncomingMessage, res: http.ServerResponse, agents: readonly SimulatedAgent[], registered: number, clock: Clock): void {
  const url = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET') {
    res.writeHead(405, { 'Content-Type': 'text/plain' }).end('Method not allowed');
    return;
  }
  if (url === '/health') {
    res.writeHead(200, { 'Content-Type': 'text/plain' }).end('OK');
    return;
  }
  if (url !== '/state') {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not found');
    return;
  }
  let live = 0;
  const list = agents.map((a, i) => {
    const counts = a.taskCounts();
    live += counts.live;
    return { index: i, id: a.agentId() ?? null, state: a.linkState, live_tasks: counts.live, unacknowledged_updates: counts.unacknowledged };
  });
  res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({
    emulated: agents.length,
    registered_once: registered,
    connected: list.filter((a) => a.state === 'registered').length,
    live_tasks: live,
    time: clock.now() / 1000,
    agents: list,
  }));
}
