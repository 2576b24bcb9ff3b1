/**
 * The slave's HTTP server: the executor API (raw node:http handler, streaming) and the
 * operator endpoints (express): `/state` (alias `/slave(1)/state`, `/state.json`),
 * `/health`, `/files/browse|read|download`, `/monitor/statistics`.
 *
 * Routing happens before express, as in the master: every task costs its executor three
 * UPDATE calls, and express's router cost about as much CPU as the handler itself.
 *
 * @module
 */
import express, { type Request, type Response } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import fs from 'node:fs';
import type { Logger } from '../sdk/core/log.js';
import type { ExecutorManager } from './executors.js';
import type { SandboxFiles } from './files.js';
import type { Containerizer } from './containerizer.js';
import { resourcesObject } from './state-json.js';
import { executorApiHandler } from './executor-api.js';
import { scalarOf } from '../sdk/resources/index.js';

export interface SlaveHttpDeps {
  logger: Logger;
  executors: ExecutorManager;
  files: SandboxFiles;
  containerizer: Containerizer;
  /** Renders `/state`. */
  state(): unknown;
  now(): number;
}

/** Path of the v1 executor API. */
export const EXECUTOR_API_PATH = '/api/v1/executor';

function pathOf(url: string | undefined): string {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  return q < 0 ? raw : raw.slice(0, q);
}

/** The server's request listener: the executor API on raw node:http, the rest through express. */
export function createSlaveRequestHandler(d: SlaveHttpDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const executorApi = executorApiHandler(d.executors, d.logger);
  const app = createSlaveApp(d);
  return (req, res) => {
    if (pathOf(req.url) === EXECUTOR_API_PATH) executorApi(req, res);
    else app(req, res);
  };
}

/** Builds the express app of the operator endpoints. */
export function createSlaveApp(d: SlaveHttpDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  const sendState = (_req: Request, res: Response): void => {
    res.json(d.state());
  };
  app.get('/state', sendState);
  app.get('/state.json', sendState);
  app.get(/^\/slave\(1\)\/state(\.json)?$/, sendState);

  app.get('/health', (_req, res) => {
    res.status(200).end();
  });

  const browse = async (req: Request, res: Response): Promise<void> => {
    const r = await d.files.browse(req.query.path);
    if (r.ok) res.json(r.value);
    else res.status(r.status).type('text/plain').send(r.message);
  };
  app.get(['/files/browse', '/files/browse.json'], browse);

  const read = async (req: Request, res: Response): Promise<void> => {
    const r = await d.files.read(req.query.path, req.query.offset, req.query.length);
    if (r.ok) res.json(r.value);
    else res.status(r.status).type('text/plain').send(r.message);
  };
  app.get(['/files/read', '/files/read.json'], read);

  app.get(['/files/download', '/files/download.json'], async (req, res) => {
    const r = await d.files.download(req.query.path);
    if (!r.ok) {
      res.status(r.status).type('text/plain').send(r.message);
      return;
    }
    res.status(200).set({
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(r.value.size),
      'Content-Disposition': `attachment; filename="${r.value.name.replace(/["\\\r\n]/g, '_')}"`,
    });
    const stream = fs.createReadStream(r.value.real, { start: 0, end: Math.max(0, r.value.size - 1) });
    stream.on('error', () => res.destroy());
    if (r.value.size === 0) {
      stream.destroy();
      res.end();
    } else {
      stream.pipe(res);
    }
  });

  app.get(['/monitor/statistics', '/monitor/statistics.json'], (_req, res) => {
    const out = [];
    for (const e of d.executors.liveExecutors()) {
      const pid = e.process?.pid;
      const usage = pid !== undefined ? d.containerizer.usage(pid) : undefined;
      const resources = [...(e.info.resources ?? []), ...[...e.tasks.values()].filter((t) => t.phase !== 'terminated').flatMap((t) => t.info.resources ?? [])];
      out.push({
        executor_id: e.id,
        executor_name: e.info.name ?? '',
        framework_id: e.frameworkId,
        source: e.info.source ?? '',
        container_id: e.containerId,
        statistics: {
          timestamp: d.now() / 1000,
          cpus_limit: scalarOf(resources, 'cpus'),
          mem_limit_bytes: Math.round(scalarOf(resources, 'mem') * 1024 * 1024),
          ...(usage !== undefined ? {
            cpus_user_time_secs: usage.cpusUserTimeSecs,
            cpus_system_time_secs: usage.cpusSystemTimeSecs,
            mem_rss_bytes: usage.memRssBytes,
            processes: usage.processes,
          } : {}),
        },
        resources: resourcesObject(resources),
      });
    }
    res.json(out);
  });

  app.use((_req: Request, res: Response) => {
    res.status(404).type('text/plain').send('Not found');
  });
  return app;
}
