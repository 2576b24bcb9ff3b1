/**
 * The master's composition root: the only place that uses inversify. It compiles the
 * options, binds the port (0 → the OS picks), builds MasterInfo from the real port, wires
 * the state, the allocator, the master core and the two edges (scheduler API, slave
 * WebSocket) plus the operator router, and logs `listening` with the port.
 *
 * Leadership is chosen here only: with `zk` a ZooKeeper session (sdk/zk, imported lazily),
 * a contender publishing MasterInfo under `<path>/json.info_<seq>`, a detector of the
 * leader and the registry in `<path>/registry`; without it the standalone elector (leads at
 * once) and the registry file in the work dir. While not leading the edges answer as a
 * Mesos standby (307 to the leader, or 503); once elected the master loads the registry
 * (503 until then); a leader that loses its session stops everything and exits.
 *
 * @example
 * const master = await startMaster({ port: 5050, workDir: '/var/lib/agora/master' });
 * // … later
 * await master.close();
 *
 * @module
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import os from 'node:os';
import express from 'express';
import { Container } from 'inversify';
import { systemClock, type Clock } from '../sdk/core/clock.js';
import { StandaloneElector, type LeaderDetector, type LeaderElector } from '../sdk/core/leadership.js';
import { createLogger, type Logger } from '../sdk/core/log.js';
import { formatMesosDuration } from '../sdk/executor/duration.js';
import type { MasterInfo } from '../sdk/protocol/index.js';
import { AgentEndpoint } from './agent-endpoint.js';
import type { AllocateFn } from './allocation.js';
import { allocate } from './allocator/allocate.js';
import { compileMasterOptions, type MasterConfig, type MasterOptions } from './config.js';
import { MasterHttpServer } from './http-server.js';
import { Master } from './master.js';
import { agentRefusal, parseLeaderInfo, schedulerGate } from './leadership.js';
import { buildMasterInfo, resolveAdvertiseIp } from './master-info.js';
import type { MasterState } from './model.js';
import { createOperatorRouter } from './operator/router.js';
import { FileRegistry } from './registry/file.js';
import type { MasterRegistry } from './registry/types.js';
import { ZkRegistry } from './registry/zk.js';
import { createSchedulerHttpHandler } from './scheduler-api/http.js';
import { createMasterState } from './state.js';
import { TOKENS } from './tokens.js';

export type { MasterOptions } from './config.js';

export interface RunningMaster {
  /** The port actually bound. */
  port: number;
  /** `http://<advertised ip>:<port>`. */
  url: string;
  masterInfo: MasterInfo;
  /** Live state (read it; the master mutates it). */
  state: MasterState;
  /** The master core (tests drive allocation or inspect connections through it). */
  master: Master;
  /** True while this master leads (standalone: always, once started). */
  isLeader(): boolean;
  /** True once leading with the registry loaded (the scheduler API is served). */
  isReady(): boolean;
  /**
   * Stops timers, closes streams, slave sockets and the server; leaves the election (a
   * standby takes over at once) and closes the ZooKeeper session.
   */
  close(): Promise<void>;
}

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** The leadership pieces: ZooKeeper or standalone. */
interface Leadership {
  elector: LeaderElector;
  /** Absent in standalone mode (this master is the leader). */
  detector?: LeaderDetector;
  registry: MasterRegistry;
  close(): Promise<void>;
}

/** `onConflict`: another master wrote the registry (a write of this one nobody awaited found out). */
async function buildLeadership(config: MasterConfig, logger: Logger, onConflict: (reason: string) => void): Promise<Leadership> {
  if (config.zk === undefined) {
    return { elector: new StandaloneElector(), registry: new FileRegistry(config.workDir), close: async () => undefined };
  }
  // Only here: standalone masters never load the ZooKeeper client.
  const zk = await import('../sdk/zk/index.js');
  const url = zk.parseZkUrl(config.zk);
  const session = await zk.connectZk(url, { sessionTimeoutMs: config.zkSessionTimeoutMs, logger });
  logger.info({ zk: zk.redactZkUrl(config.zk), sessionId: session.sessionId }, 'connected to ZooKeeper');
  return {
    elector: zk.createZkElector(session, url.path, { logger }),
    detector: zk.createZkDetector(session, url.path),
    registry: new ZkRegistry(session, url.path, { onBackgroundConflict: (err) => onConflict(err.message) }),
    close: () => session.close(),
  };
}

/** Starts a master. Resolves once it listens. Throws `AGORA_MASTER_BAD_OPTION` on bad options. */
export async function startMaster(o: MasterOptions): Promise<RunningMaster> {
  const config = compileMasterOptions(o);
  const logger = o.logger ?? createLogger('master');
  const clock = o.clock ?? systemClock;
  await mkdir(config.workDir, { recursive: true });

  // Set once stepDown exists (the master is built before it).
  let onConflict: (reason: string) => void = () => undefined;
  const leadership = await buildLeadership(config, logger, (reason) => onConflict(reason));
  const http = new MasterHttpServer();
  let port: number;
  try {
    port = await http.listen(config.port, config.host);
  } catch (err) {
    await leadership.close();
    throw err;
  }
  const ip = resolveAdvertiseIp(config.advertiseIp, config.host);
  const hostname = config.hostname ?? os.hostname();
  const masterInfo = buildMasterInfo({ id: randomUUID(), ip, port, hostname });

  const container = new Container();
  container.bind<MasterConfig>(TOKENS.Config).toConstantValue(config);
  container.bind<Clock>(TOKENS.Clock).toConstantValue(clock);
  container.bind<Logger>(TOKENS.Logger).toConstantValue(logger);
  container.bind<MasterInfo>(TOKENS.MasterInfo).toConstantValue(masterInfo);
  container.bind<AllocateFn>(TOKENS.Allocate).toConstantValue(allocate);
  container.bind<LeaderElector>(TOKENS.Elector).toConstantValue(leadership.elector);
  container.bind<MasterRegistry>(TOKENS.Registry).toConstantValue(leadership.registry);
  container
    .bind<MasterState>(TOKENS.State)
    .toResolvedValue((info: MasterInfo, c: Clock) => createMasterState(info, c.now()), [TOKENS.MasterInfo, TOKENS.Clock])
    .inSingletonScope();
  container
    .bind<Master>(TOKENS.Master)
    .toResolvedValue(
      (state: MasterState, cfg: MasterConfig, c: Clock, log: Logger, alloc: AllocateFn, registry: MasterRegistry) =>
        new Master({
          state, config: cfg, clock: c, logger: log, allocate: alloc, registry,
          onRegistryConflict: (reason) => onConflict(reason),
        }),
      [TOKENS.State, TOKENS.Config, TOKENS.Clock, TOKENS.Logger, TOKENS.Allocate, TOKENS.Registry],
    )
    .inSingletonScope();
  container
    .bind<AgentEndpoint>(TOKENS.AgentEndpoint)
    .toResolvedValue((master: Master, log: Logger) => new AgentEndpoint(master, log), [TOKENS.Master, TOKENS.Logger])
    .inSingletonScope();
  container
    .bind<RequestListener>(TOKENS.SchedulerHandler)
    .toResolvedValue(
      (master: Master, cfg: MasterConfig, log: Logger) =>
        createSchedulerHttpHandler({
          handler: master,
          maxBodyBytes: cfg.maxCallBodyBytes,
          logger: log,
          onInvalidCall: () => master.countInvalidCall(),
        }),
      [TOKENS.Master, TOKENS.Config, TOKENS.Logger],
    )
    .inSingletonScope();
  container
    .bind<RequestListener>(TOKENS.OperatorApp)
    .toResolvedValue(
      (state: MasterState, c: Clock, cfg: MasterConfig, elector: LeaderElector) => {
        const app = express();
        app.disable('x-powered-by');
        app.use(createOperatorRouter({
          state,
          clock: c,
          isLeader: () => elector.isLeader,
          flags: {
            port: String(cfg.port),
            hostname: hostname,
            work_dir: cfg.workDir,
            agent_ping_timeout: `${cfg.agentPingTimeoutMs / 1000}secs`,
            max_agent_ping_timeouts: String(cfg.maxAgentPingTimeouts),
            ...(cfg.offerTimeoutMs !== undefined ? { offer_timeout: `${cfg.offerTimeoutMs / 1000}secs` } : {}),
            min_decline_refuse: `${cfg.minDeclineRefuseMs / 1000}secs`,
            ...(cfg.agentRemovalRateLimit !== undefined ? { agent_removal_rate_limit: cfg.agentRemovalRateLimit.text } : {}),
            registry_max_agent_age: formatMesosDuration(cfg.registryMaxAgentAgeMs),
            registry_max_agent_count: String(cfg.registryMaxAgentCount),
            registry_gc_interval: formatMesosDuration(cfg.registryGcIntervalMs),
            ...(cfg.zk !== undefined ? {
              zk: cfg.zk.replace(/^(zk:\/\/[^:@/]*:)[^@/]*@/, '$1***@'),
              zk_session_timeout: `${cfg.zkSessionTimeoutMs / 1000}secs`,
              agent_reregister_timeout: `${cfg.agentReregisterTimeoutMs / 1000}secs`,
            } : {}),
          },
        }));
        app.use((_req, res) => {
          res.status(404).type('text/plain').send('Not Found');
        });
        return app as unknown as RequestListener;
      },
      [TOKENS.State, TOKENS.Clock, TOKENS.Config, TOKENS.Elector],
    )
    .inSingletonScope();

  const master = container.get<Master>(TOKENS.Master);
  const agents = container.get<AgentEndpoint>(TOKENS.AgentEndpoint);
  const scheduler = container.get<RequestListener>(TOKENS.SchedulerHandler);
  const app = container.get<RequestListener>(TOKENS.OperatorApp);
  const elector = container.get<LeaderElector>(TOKENS.Elector);
  const { detector } = leadership;
  const state = master.state;

  // Who leads, as the detector sees it (a standby redirects there). Ourselves → undefined
  // until our elector says so (no redirect loops).
  // The detector may see this master lead a moment before its elector says so: slaves that
  // connect then are accepted (their messages wait for the registry) instead of being sent
  // away to retry; if someone else turns out to lead, they are sent away after all.
  let detectedSelf = false;
  detector?.onChange((data) => {
    const info = parseLeaderInfo(data);
    if (data !== undefined && info === undefined) logger.warn({ data }, 'leader published data that is not MasterInfo JSON');
    detectedSelf = info?.id === masterInfo.id;
    state.leader = info !== undefined && info.id !== masterInfo.id ? info : undefined;
    if (!detectedSelf && !elector.isLeader) agents.closeAll(1013, agentRefusal(state.leader));
    logger.info({ leader: state.leader === undefined ? (elector.isLeader ? 'self' : 'none') : `${state.leader.hostname}:${state.leader.port}` }, 'leading master changed');
  });

  let stopping = false;
  /** Lost leadership (or could not take it): stop acting as leader at once, then exit. */
  const stepDown = (reason: string): void => {
    if (stopping) return;
    stopping = true;
    logger.error({ reason, port }, 'lost leadership; closing framework streams and agent sockets, then exiting');
    master.close();
    agents.close();
    void elector.stop().catch(() => undefined);
    void http.close().catch(() => undefined);
    if (o.onDemoted !== undefined) o.onDemoted(reason);
    else process.exit(1);
  };
  elector.onElected(() => {
    state.electedAt = clock.now();
    state.leader = undefined;
    logger.info({ masterId: masterInfo.id, port }, 'elected leading master; recovering the registry');
    master.recover().catch((err: unknown) => {
      logger.error({ err }, 'failed to load the registry');
      // Standalone: startMaster itself rejects (it awaits recover below).
      if (config.zk !== undefined) stepDown(`registry could not be loaded: ${(err as Error).message}`);
    });
  });
  elector.onDemoted((reason) => stepDown(reason));
  onConflict = (reason) => {
    if (config.zk !== undefined) stepDown(`another master wrote the registry: ${reason}`);
  };

  http.attach({
    scheduler: (req, res) => {
      const path = (req.url ?? '/').split('?')[0]!;
      const gate = schedulerGate({ isLeader: elector.isLeader, recovered: master.recovered, leader: state.leader, path });
      if (gate.kind === 'serve') {
        scheduler(req, res);
        return;
      }
      req.resume();
      if (gate.kind === 'redirect') {
        res.writeHead(307, { Location: gate.location, 'Content-Length': 0 });
        res.end();
        return;
      }
      const body = Buffer.from(gate.message, 'utf8');
      res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length });
      res.end(body);
    },
    app,
    agentUpgrade: (req, socket, head) => {
      if (elector.isLeader || (detectedSelf && !stopping)) agents.handleUpgrade(req, socket, head);
      else agents.refuseUpgrade(req, socket, head, agentRefusal(state.leader));
    },
  });

  try {
    if (detector !== undefined) await detector.start();
    await elector.start(JSON.stringify(masterInfo));
    // Standalone: elected at once; the registry file is loaded before we say we listen.
    if (config.zk === undefined) await master.recover();
  } catch (err) {
    master.close();
    agents.close();
    await http.close();
    await leadership.close();
    throw err;
  }

  const url = `http://${ip}:${port}`;
  logger.info({ port, url, masterId: masterInfo.id, leading: elector.isLeader }, 'listening');

  let closing: Promise<void> | undefined;
  return {
    port,
    url,
    masterInfo,
    state,
    master,
    isLeader: () => elector.isLeader && !stopping,
    isReady: () => elector.isLeader && !stopping && master.recovered,
    close() {
      stopping = true;
      closing ??= (async () => {
        master.close();
        agents.close();
        await elector.stop().catch((err: unknown) => logger.warn({ err }, 'leaving the election failed'));
        await detector?.stop().catch(() => undefined);
        await http.close();
        await master.flushRegistry();
        await leadership.registry.close().catch(() => undefined);
        await leadership.close().catch((err: unknown) => logger.warn({ err }, 'closing the ZooKeeper session failed'));
        logger.info({ port }, 'master stopped');
      })();
      return closing;
    },
  };
}
