/**
 * Marathon's composition root, the only place that uses inversify: it binds the port
 * (0 → the OS picks), chooses the store and the election, builds the engine (loading the
 * stored state, resuming deployments), mounts the REST API on node:http, and subscribes the
 * framework to the master in the background. Logs `listening` with the port, then
 * `subscribed` with the framework id once the master accepted it.
 *
 * Standalone (no `zk`): the file store in the work dir; this instance always leads.
 * HA (`zk: 'zk://…/marathon'`): a {@link ZkMarathonStore} under `<path>/state` and a
 * ZooKeeper election under `<path>/leader` (`member_<seq>` znodes holding `host:port`).
 * Only the leader builds and runs the engine; standbys forward the REST API to it
 * ({@link createLeaderProxy}). A leader that loses its leadership stops the engine at once
 * (the framework stream is closed without teardown, tasks keep running) and calls
 * `onLeadershipLost` (`agora marathon` exits; embedded, the instance closes).
 *
 * @example
 * const marathon = await startMarathon({ master: '127.0.0.1:5050', port: 8080, workDir: '/var/lib/agora/marathon' });
 * // … later (tasks keep running)
 * await marathon.close();
 *
 * @module
 */
import 'reflect-metadata';
import http from 'node:http';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Container } from 'inversify';
import { systemClock, type Clock } from '../../sdk/core/clock.js';
import { AgoraError } from '../../sdk/core/errors.js';
import { createLogger, type Logger } from '../../sdk/core/log.js';
import { agoraVersion } from '../../bin/cli-support.js';
import { createMarathonApi } from './api/index.js';
import { FileStore } from './engine/file-store.js';
import { MemoryStore } from './engine/memory-store.js';
import { MarathonEngine } from './engine/service.js';
import type { MarathonStore } from './engine/store.js';
import type { MarathonService } from './service.js';
import { TOKENS } from './tokens.js';
import { createLeaderProxy, type RequestListener } from './leader-proxy.js';
import { ZkMarathonStore } from './engine/zk-store.js';
import type { LeaderDetector, LeaderElector } from '../../sdk/core/leadership.js';

export interface MarathonOptions {
  /** The master, `host:port` (or `zk://…/agora` to follow the elected master). */
  master: string;
  /**
   * `zk://[user:pass@]host:port[,…]/path`: HA mode (election under `<path>/leader`, state under
   * `<path>/state`). Absent: standalone.
   */
  zk?: string;
  /** ZooKeeper session timeout in HA mode (default 10000 ms). */
  zkSessionTimeoutMs?: number;
  /** HA mode: how long a standby waits for a leader before answering 503 (default 2000 ms). */
  leaderWaitMs?: number;
  /**
   * HA mode: called once the engine stopped after this instance lost its leadership. Default:
   * the instance closes. `agora marathon` exits the process.
   */
  onLeadershipLost?: (reason: string) => void;
  /** HTTP port; 0 = the OS picks. */
  port: number;
  /** Address to listen on (default: all interfaces). */
  host?: string;
  /** Hostname advertised in /v2/info and the FrameworkInfo (default: this host's name). */
  hostname?: string;
  /** State directory (the file store lives in `<workDir>/state`). */
  workDir: string;
  /** Default `marathon`. */
  frameworkName?: string;
  /** Default 604800 (one week). */
  failoverTimeoutSeconds?: number;
  /** Default 600000 (Marathon's ten minutes). */
  reconciliationIntervalMs?: number;
  /** The first periodic reconciliation after start; default 15000 (Marathon's). Every SUBSCRIBED reconciles too. */
  reconciliationInitialDelayMs?: number;
  /** refuse_seconds of declined offers; default 120. */
  declineRefuseSeconds?: number;
  /** `memory` keeps state in memory only (tests); default `file` (ZooKeeper in HA mode). */
  store?: 'file' | 'memory' | MarathonStore;
  logger?: Logger;
  clock?: Clock;
}

export interface RunningMarathon {
  port: number;
  url: string;
  /** The engine (always there standalone). HA: throws `AGORA_MARATHON_NOT_LEADER` unless this instance leads. */
  readonly service: MarathonService;
  /** True while this instance leads (always, standalone). */
  readonly isLeader: boolean;
  /** Stops serving and unsubscribes without killing any task. */
  close(): Promise<void>;
}


function listen(server: http.Server, port: number, host: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** The election's znode prefix (Marathon's own contenders are `member_<seq>`). */
const MEMBER_PREFIX = 'member_';

/** Binds the store, the engine and the API factory (the one place inversify is used). */
function compose(o: MarathonOptions, clock: Clock, logger: Logger, store: () => MarathonStore, hostname: string, port: number, url: string, abdicate?: () => void): {
  engine(): Promise<MarathonEngine>;
  api(engine: MarathonEngine): RequestListener;
} {
  const container = new Container();
  container.bind<MarathonOptions>(TOKENS.Options).toConstantValue(o);
  container.bind<Clock>(TOKENS.Clock).toConstantValue(clock);
  container.bind<Logger>(TOKENS.Logger).toConstantValue(logger);
  container.bind<MarathonStore>(TOKENS.Store).toResolvedValue(store).inSingletonScope();
  container
    .bind<MarathonEngine>(TOKENS.Engine)
    .toResolvedValue(
      (st: MarathonStore, c: Clock, log: Logger) => MarathonEngine.create({
        store: st,
        clock: c,
        logger: log,
        master: o.master,
        frameworkName: o.frameworkName ?? 'marathon',
        failoverTimeoutSeconds: o.failoverTimeoutSeconds ?? 604_800,
        reconciliationIntervalMs: o.reconciliationIntervalMs ?? 600_000,
        reconciliationInitialDelayMs: o.reconciliationInitialDelayMs ?? 15_000,
        declineRefuseSeconds: o.declineRefuseSeconds ?? 120,
        hostname,
        httpPort: port,
        version: agoraVersion(),
        webuiUrl: url,
        ...(abdicate !== undefined ? { abdicate } : {}),
      }),
      [TOKENS.Store, TOKENS.Clock, TOKENS.Logger],
    )
    .inSingletonScope();
  container
    .bind<(engine: MarathonEngine) => RequestListener>(TOKENS.ApiApp)
    .toResolvedValue(
      (c: Clock, log: Logger) => (engine: MarathonEngine) => createMarathonApi({
        service: engine,
        clock: c,
        logger: log,
        config: {
          frameworkName: o.frameworkName ?? 'marathon',
          failoverTimeoutSeconds: o.failoverTimeoutSeconds ?? 604_800,
          declineOfferDurationMs: (o.declineRefuseSeconds ?? 120) * 1000,
          reconciliationIntervalMs: o.reconciliationIntervalMs ?? 600_000,
          reconciliationInitialDelayMs: o.reconciliationInitialDelayMs ?? 15_000,
          webuiUrl: url,
          ...(o.zk !== undefined ? { zk: o.zk } : {}),
        },
      }) as unknown as RequestListener,
      [TOKENS.Clock, TOKENS.Logger],
    )
    .inSingletonScope();
  return {
    engine: () => container.getAsync<MarathonEngine>(TOKENS.Engine),
    api: (engine) => container.get<(e: MarathonEngine) => RequestListener>(TOKENS.ApiApp)(engine),
  };
}

/** Starts Marathon; resolves once it serves HTTP (the framework subscribes in the background). */
export async function startMarathon(o: MarathonOptions): Promise<RunningMarathon> {
  const logger = o.logger ?? createLogger('marathon');
  const clock = o.clock ?? systemClock;
  const workDir = path.resolve(o.workDir);
  await mkdir(workDir, { recursive: true });

  let handler: RequestListener = (_req, res) => {
    res.statusCode = 503;
    res.end('{"message":"Marathon is starting"}');
  };
  const server = http.createServer((req, res) => handler(req, res));
  server.keepAliveTimeout = 5000;
  const port = await listen(server, o.port, o.host);
  const hostname = o.hostname ?? os.hostname();
  const advertised = o.host !== undefined && o.host !== '0.0.0.0' && o.host !== '::' ? o.host : hostname;
  const url = `http://${advertised}:${port}`;
  const closeServer = async (): Promise<void> => {
    server.closeIdleConnections?.();
    const closed = new Promise<void>((r) => server.close(() => r()));
    server.closeAllConnections?.();
    await closed;
  };

  if (o.zk !== undefined) {
    try {
      return await startHa(o, { logger, clock, server, port, hostname, advertised, url, closeServer, setHandler: (h) => { handler = h; } });
    } catch (err) {
      await closeServer();
      throw err;
    }
  }

  const parts = compose(o, clock, logger, () => {
    if (typeof o.store === 'object') return o.store;
    return o.store === 'memory' ? new MemoryStore() : new FileStore(path.join(workDir, 'state'));
  }, hostname, port, url);
  let engine: MarathonEngine;
  try {
    engine = await parts.engine();
  } catch (err) {
    await closeServer();
    throw err;
  }
  handler = parts.api(engine);
  logger.info({ port, url }, 'listening');
  engine.start();

  let closing: Promise<void> | undefined;
  return {
    port,
    url,
    service: engine,
    isLeader: true,
    close() {
      closing ??= (async () => {
        server.closeIdleConnections?.();
        const closed = new Promise<void>((r) => server.close(() => r()));
        server.closeAllConnections?.();
        await engine.close();
        await closed;
        logger.info({ port }, 'marathon stopped');
      })();
      return closing;
    },
  };
}

interface HaContext {
  logger: Logger;
  clock: Clock;
  server: http.Server;
  port: number;
  hostname: string;
  advertised: string;
  url: string;
  closeServer(): Promise<void>;
  setHandler(h: RequestListener): void;
}

/** HA mode: ZooKeeper session, store, election; the engine runs only while leading. */
async function startHa(o: MarathonOptions, h: HaContext): Promise<RunningMarathon> {
  const { logger, clock, port } = h;
  const zkUrl = o.zk!;
  // Lazily: standalone Marathon never loads the ZooKeeper client.
  const zk = await import('../../sdk/zk/index.js');
  const base = zk.parseZkUrl(zkUrl).path.replace(/\/$/, '');
  const session = await zk.connectZk(zkUrl, { sessionTimeoutMs: o.zkSessionTimeoutMs ?? 10_000, logger, clock });
  const self = `${h.advertised}:${port}`;
  const parts = compose(
    o, clock, logger, () => (typeof o.store === 'object' ? o.store : new ZkMarathonStore(session, `${base}/state`)), h.hostname, port, h.url,
    () => void stepDown('abdicated (DELETE /v2/leader)'),
  );
  const elector = zk.createZkElector(session, `${base}/leader`, { prefix: MEMBER_PREFIX, logger, clock });
  const detector = zk.createZkDetector(session, `${base}/leader`, { prefix: MEMBER_PREFIX, logger, clock });

  let engine: MarathonEngine | undefined;
  let api: RequestListener | undefined;
  let closed = false;
  /** Set once this instance gave up leading (it does not lead again: it exits or closes). */
  let resigned = false;
  /** Serialises taking and giving up leadership. */
  let transition: Promise<void> = Promise.resolve();
  const listeners = new Set<() => void>();
  const changed = (): void => {
    for (const l of [...listeners]) l();
  };

  h.setHandler(createLeaderProxy({
    self,
    leader: () => detector.current(),
    local: () => api,
    onChange: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    clock,
    logger,
    ...(o.leaderWaitMs !== undefined ? { waitMs: o.leaderWaitMs } : {}),
  }));

  let running: RunningMarathon;
  const lead = (): void => {
    transition = transition.then(async () => {
      if (closed || resigned || !elector.isLeader) return;
      logger.info({ leader: self }, 'elected leader: loading state');
      try {
        engine = await parts.engine();
      } catch (err) {
        logger.error({ err: (err as Error).message }, 'could not load the state as leader; giving up leadership');
        void stepDown('loading the state failed');
        return;
      }
      if (!elector.isLeader || closed || resigned) return;
      api = parts.api(engine);
      engine.start();
      logger.info({ leader: self }, 'leading');
      changed();
    });
  };
  const stepDown = (reason: string): Promise<void> => {
    transition = transition.then(async () => {
      if (closed || resigned) return;
      resigned = true;
      logger.error({ reason }, 'lost leadership: stopping the engine (tasks keep running)');
      api = undefined;
      changed();
      await engine?.close();
      engine = undefined;
      // Leave the election for good (after a session expiry the elector would rejoin).
      await elector.stop().catch(() => undefined);
      if (o.onLeadershipLost !== undefined) o.onLeadershipLost(reason);
      else void running.close();
    });
    return transition;
  };

  detector.onChange(() => changed());
  elector.onElected(lead);
  elector.onDemoted((reason) => void stepDown(reason));
  try {
    await detector.start();
    await elector.start(self);
  } catch (err) {
    await elector.stop().catch(() => undefined);
    await detector.stop().catch(() => undefined);
    await session.close().catch(() => undefined);
    throw err;
  }
  logger.info({ port, url: h.url, zk: zk.redactZkUrl(zkUrl) }, 'listening');

  let closing: Promise<void> | undefined;
  running = {
    port,
    url: h.url,
    get service(): MarathonService {
      if (engine === undefined || api === undefined) throw new AgoraError('AGORA_MARATHON_NOT_LEADER', 'this Marathon is not the leader');
      return engine;
    },
    get isLeader() {
      return api !== undefined;
    },
    close() {
      closing ??= (async () => {
        await transition.catch(() => undefined);
        closed = true;
        api = undefined;
        const serverClosed = h.closeServer();
        // The engine stops before the election is left, so no one leads while it still writes.
        await engine?.close();
        await elector.stop().catch(() => undefined);
        await detector.stop().catch(() => undefined);
        await session.close().catch(() => undefined);
        changed();
        await serverClosed;
        logger.info({ port }, 'marathon stopped');
      })();
      return closing;
    },
  };
  return running;
}
