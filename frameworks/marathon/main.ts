/**
 * Marathon's composition root, the only place that uses inversify: it binds the port
 * (0 → the OS picks), chooses the store (files in the work dir), builds the engine
 * (loading the stored state, resuming deployments), mounts the REST API on node:http, and
 * subscribes the framework to the master in the background. Logs `listening` with the
 * port, then `subscribed` with the framework id once the master accepted it.
 *
 * @example
 * const marathon = await startMarathon({ master: '127.0.0.1:5050', port: 8080, workDir: '/var/lib/agora/marathon' });
 * // … later (tasks keep running)
 * await marathon.close();
 *
 * @module
 */
import 'reflect-metadata';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Container } from 'inversify';
import { systemClock, type Clock } from '../../sdk/core/clock.js';
import { createLogger, type Logger } from '../../sdk/core/log.js';
import { agoraVersion } from '../../bin/cli-support.js';
import { createMarathonApi } from './api/index.js';
import { FileStore } from './engine/file-store.js';
import { MemoryStore } from './engine/memory-store.js';
import { MarathonEngine } from './engine/service.js';
import type { MarathonStore } from './engine/store.js';
import type { MarathonService } from './service.js';
import { TOKENS } from './tokens.js';

export interface MarathonOptions {
  /** The master, `host:port`. */
  master: string;
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
  /** refuse_seconds of declined offers; default 120. */
  declineRefuseSeconds?: number;
  /** `memory` keeps state in memory only (tests); default `file`. */
  store?: 'file' | 'memory' | MarathonStore;
  logger?: Logger;
  clock?: Clock;
}

export interface RunningMarathon {
  port: number;
  url: string;
  service: MarathonService;
  /** Stops serving and unsubscribes without killing any task. */
  close(): Promise<void>;
}

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

function listen(server: http.Server, port: number, host: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
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

  const container = new Container();
  container.bind<MarathonOptions>(TOKENS.Options).toConstantValue(o);
  container.bind<Clock>(TOKENS.Clock).toConstantValue(clock);
  container.bind<Logger>(TOKENS.Logger).toConstantValue(logger);
  container
    .bind<MarathonStore>(TOKENS.Store)
    .toResolvedValue(() => {
      if (typeof o.store === 'object') return o.store;
      return o.store === 'memory' ? new MemoryStore() : new FileStore(path.join(workDir, 'state'));
    })
    .inSingletonScope();
  container
    .bind<MarathonEngine>(TOKENS.Engine)
    .toResolvedValue(
      (store: MarathonStore, c: Clock, log: Logger) => MarathonEngine.create({
        store,
        clock: c,
        logger: log,
        master: o.master,
        frameworkName: o.frameworkName ?? 'marathon',
        failoverTimeoutSeconds: o.failoverTimeoutSeconds ?? 604_800,
        reconciliationIntervalMs: o.reconciliationIntervalMs ?? 600_000,
        declineRefuseSeconds: o.declineRefuseSeconds ?? 120,
        hostname,
        httpPort: port,
        version: agoraVersion(),
        webuiUrl: url,
      }),
      [TOKENS.Store, TOKENS.Clock, TOKENS.Logger],
    )
    .inSingletonScope();

  let engine: MarathonEngine;
  try {
    engine = await container.getAsync<MarathonEngine>(TOKENS.Engine);
  } catch (err) {
    await new Promise<void>((r) => server.close(() => r()));
    throw err;
  }
  container
    .bind<RequestListener>(TOKENS.ApiApp)
    .toResolvedValue(
      (c: Clock, log: Logger) => createMarathonApi({
        service: engine,
        clock: c,
        logger: log,
        config: {
          frameworkName: o.frameworkName ?? 'marathon',
          failoverTimeoutSeconds: o.failoverTimeoutSeconds ?? 604_800,
          declineOfferDurationMs: (o.declineRefuseSeconds ?? 120) * 1000,
          reconciliationIntervalMs: o.reconciliationIntervalMs ?? 600_000,
          webuiUrl: url,
        },
      }) as unknown as RequestListener,
      [TOKENS.Clock, TOKENS.Logger],
    )
    .inSingletonScope();
  handler = container.get<RequestListener>(TOKENS.ApiApp);
  logger.info({ port, url }, 'listening');
  engine.start();

  let closing: Promise<void> | undefined;
  return {
    port,
    url,
    service: engine,
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
