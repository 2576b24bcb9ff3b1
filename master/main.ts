/**
 * The master's composition root: the only place that uses inversify. It compiles the
 * options, binds the port (0 → the OS picks), builds MasterInfo from the real port, wires
 * the state, the allocator, the master core and the two edges (scheduler API, slave
 * WebSocket) plus the operator router, and logs `listening` with the port.
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
import { createLogger, type Logger } from '../sdk/core/log.js';
import type { MasterInfo } from '../sdk/protocol/index.js';
import { AgentEndpoint } from './agent-endpoint.js';
import type { AllocateFn } from './allocation.js';
import { allocate } from './allocator/allocate.js';
import { compileMasterOptions, type MasterConfig, type MasterOptions } from './config.js';
import { MasterHttpServer } from './http-server.js';
import { Master } from './master.js';
import { buildMasterInfo, resolveAdvertiseIp } from './master-info.js';
import type { MasterState } from './model.js';
import { createOperatorRouter } from './operator/router.js';
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
  /** Stops timers, closes streams, slave sockets and the server. */
  close(): Promise<void>;
}

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** Starts a master. Resolves once it listens. Throws `AGORA_MASTER_BAD_OPTION` on bad options. */
export async function startMaster(o: MasterOptions): Promise<RunningMaster> {
  const config = compileMasterOptions(o);
  const logger = o.logger ?? createLogger('master');
  const clock = o.clock ?? systemClock;
  await mkdir(config.workDir, { recursive: true });

  const http = new MasterHttpServer();
  const port = await http.listen(config.port, config.host);
  const ip = resolveAdvertiseIp(config.advertiseIp, config.host);
  const hostname = config.hostname ?? os.hostname();
  const masterInfo = buildMasterInfo({ id: randomUUID(), ip, port, hostname });

  const container = new Container();
  container.bind<MasterConfig>(TOKENS.Config).toConstantValue(config);
  container.bind<Clock>(TOKENS.Clock).toConstantValue(clock);
  container.bind<Logger>(TOKENS.Logger).toConstantValue(logger);
  container.bind<MasterInfo>(TOKENS.MasterInfo).toConstantValue(masterInfo);
  container.bind<AllocateFn>(TOKENS.Allocate).toConstantValue(allocate);
  container
    .bind<MasterState>(TOKENS.State)
    .toResolvedValue((info: MasterInfo, c: Clock) => createMasterState(info, c.now()), [TOKENS.MasterInfo, TOKENS.Clock])
    .inSingletonScope();
  container
    .bind<Master>(TOKENS.Master)
    .toResolvedValue(
      (state: MasterState, cfg: MasterConfig, c: Clock, log: Logger, alloc: AllocateFn) =>
        new Master({ state, config: cfg, clock: c, logger: log, allocate: alloc }),
      [TOKENS.State, TOKENS.Config, TOKENS.Clock, TOKENS.Logger, TOKENS.Allocate],
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
      (state: MasterState, c: Clock, cfg: MasterConfig) => {
        const app = express();
        app.disable('x-powered-by');
        app.use(createOperatorRouter({
          state,
          clock: c,
          isLeader: () => true,
          flags: {
            port: String(cfg.port),
            hostname: hostname,
            work_dir: cfg.workDir,
            agent_ping_timeout: `${cfg.agentPingTimeoutMs / 1000}secs`,
            max_agent_ping_timeouts: String(cfg.maxAgentPingTimeouts),
            ...(cfg.offerTimeoutMs !== undefined ? { offer_timeout: `${cfg.offerTimeoutMs / 1000}secs` } : {}),
          },
        }));
        app.use((_req, res) => {
          res.status(404).type('text/plain').send('Not Found');
        });
        return app as unknown as RequestListener;
      },
      [TOKENS.State, TOKENS.Clock, TOKENS.Config],
    )
    .inSingletonScope();

  const master = container.get<Master>(TOKENS.Master);
  const agents = container.get<AgentEndpoint>(TOKENS.AgentEndpoint);
  const scheduler = container.get<RequestListener>(TOKENS.SchedulerHandler);
  const app = container.get<RequestListener>(TOKENS.OperatorApp);
  http.attach({
    scheduler,
    app,
    agentUpgrade: (req, socket, head) => agents.handleUpgrade(req, socket, head),
  });

  const url = `http://${ip}:${port}`;
  logger.info({ port, url, masterId: masterInfo.id }, 'listening');

  let closing: Promise<void> | undefined;
  return {
    port,
    url,
    masterInfo,
    state: master.state,
    master,
    close() {
      closing ??= (async () => {
        master.close();
        agents.close();
        await http.close();
        logger.info({ port }, 'master stopped');
      })();
      return closing;
    },
  };
}
