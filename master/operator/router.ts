/**
 * The master's operator HTTP endpoints (read only, Mesos-shaped), as an express Router to
 * mount at the root of the master's app. The renderers are pure (render-*.ts); this file
 * adds HTTP: status codes, headers, query validation and leader redirects.
 *
 * | path (aliases) | answer |
 * |---|---|
 * | `/master/state` (`/state`, `*.json`) | full state; standby → 307 to the leader (503 if none) |
 * | `/master/state-summary` (`/state-summary`) | agents and frameworks with task counts |
 * | `/master/frameworks` (`/frameworks`) | frameworks, completed and unregistered ones |
 * | `/master/slaves` (`/slaves`) | agents |
 * | `/master/tasks` (`/tasks`) | tasks; `limit`, `offset`, `order`, `framework_id`, `task_id`; bad query → 400 |
 * | `/master/flags` (`/flags`) | `{ flags }` |
 * | `/master/redirect` (`/redirect`) | 307 `Location: //<leader host>:<port>`; no known leader → 503 |
 * | `/health` (`/master/health`) | 200, empty body, on leaders and standbys |
 * | `/version` (`/master/version`) | Mesos-compatible version JSON |
 * | `/metrics/snapshot` | flat JSON of Mesos metric names |
 * | `/metrics` | Prometheus text (`agora_` + name with `/` → `_`) |
 *
 * Other methods on these paths get 405 with `Allow: GET, HEAD`; unknown paths fall through
 * to the app (express answers 404).
 *
 * @module
 */
import os from 'node:os';
import express, { type Request, type RequestHandler, type Response } from 'express';
import type { Clock } from '../../sdk/core/clock.js';
import type { MasterState } from '../model.js';
import { masterHost } from './format.js';
import { metricsSnapshot, PROMETHEUS_CONTENT_TYPE, renderPrometheus, type MetricsSnapshot } from './render-metrics.js';
import { leaderOf, renderFrameworks, renderSlavesJson, renderStateJson, type RenderContext } from './render-state.js';
import { renderStateSummary } from './render-summary.js';
import { parseTasksQuery, renderTasks } from './render-tasks.js';
import { defaultBuildInfo, renderVersion, type BuildInfo } from './render-version.js';

export interface OperatorRouterDeps {
  /** The live state; read on every request, never mutated here. */
  state: MasterState;
  clock: Clock;
  /** True while this master leads (standalone masters always lead). */
  isLeader(): boolean;
  /** The master's flags, shown by `/master/state` and `/master/flags`. Default `{}`. */
  flags?: Record<string, string>;
  /** Build stamp for `/version` and `/master/state`. Default: stamped with the start time, user `agora`. */
  build?: Partial<BuildInfo>;
  /** `--cluster` name shown by `/master/state-summary`. */
  cluster?: string;
  /** `log_dir` shown by `/master/state`. */
  logDir?: string;
  /** Include `system/*` gauges read from the OS in the metrics. Default true. */
  systemMetrics?: boolean;
}

/** `//host:port` of the leader, or undefined when no leader is known. */
export function leaderLocation(state: MasterState, isLeader: boolean): string | undefined {
  const leader = leaderOf(state, isLeader);
  return leader === undefined ? undefined : `//${masterHost(leader)}:${leader.port}`;
}

function systemGauges(): MetricsSnapshot {
  const [l1, l5, l15] = os.loadavg();
  return {
    'system/cpus_total': os.cpus().length,
    'system/load_1min': l1 ?? 0,
    'system/load_5min': l5 ?? 0,
    'system/load_15min': l15 ?? 0,
    'system/mem_total_bytes': os.totalmem(),
    'system/mem_free_bytes': os.freemem(),
  };
}

/** Sends JSON already serialised, exactly as `res.json` would send it (same headers, ETag and HEAD handling). */
function sendJsonText(res: Response, text: string): void {
  if (res.get('Content-Type') === undefined) res.set('Content-Type', 'application/json');
  res.send(text);
}

/**
 * Builds the operator router.
 *
 * @example
 * app.use(createOperatorRouter({ state, clock, isLeader: () => elector.isLeader(), flags }));
 */
export function createOperatorRouter(deps: OperatorRouterDeps): express.Router {
  const router = express.Router();
  const flags = deps.flags ?? {};
  const build: BuildInfo = { ...defaultBuildInfo(deps.state.startedAt), ...deps.build };

  const context = (): RenderContext => {
    const ctx: RenderContext = { now: deps.clock.now(), isLeader: deps.isLeader(), flags, build };
    if (deps.logDir !== undefined) ctx.logDir = deps.logDir;
    return ctx;
  };

  /** Mesos's state endpoints answer only on the leader: a standby redirects there (same path), or 503s. */
  const leaderOnly = (handler: (req: Request, res: Response) => void): RequestHandler => (req, res) => {
    if (!deps.isLeader()) {
      const location = leaderLocation(deps.state, false);
      if (location === undefined) {
        res.status(503).type('text/plain').send('No leader elected');
        return;
      }
      res.status(307).location(`${location}${req.originalUrl}`).end();
      return;
    }
    handler(req, res);
  };

  const get = (paths: string[], handler: RequestHandler): void => {
    router.get(paths, handler);
    router.all(paths, (_req, res) => {
      res.status(405).set('Allow', 'GET, HEAD').type('text/plain').send('Method Not Allowed');
    });
  };

  get(['/master/state', '/state', '/master/state.json', '/state.json'], leaderOnly((_req, res) => {
    sendJsonText(res, renderStateJson(deps.state, context()));
  }));

  get(['/master/state-summary', '/state-summary'], leaderOnly((_req, res) => {
    res.json(renderStateSummary(deps.state, deps.cluster === undefined ? {} : { cluster: deps.cluster }));
  }));

  get(['/master/frameworks', '/frameworks'], leaderOnly((_req, res) => {
    res.json(renderFrameworks(deps.state));
  }));

  get(['/master/slaves', '/slaves'], leaderOnly((_req, res) => {
    sendJsonText(res, renderSlavesJson(deps.state));
  }));

  get(['/master/tasks', '/tasks', '/master/tasks.json', '/tasks.json'], leaderOnly((req, res) => {
    const query = parseTasksQuery(req.query as Record<string, unknown>);
    if (!query.ok) {
      res.status(400).type('text/plain').send(query.error);
      return;
    }
    res.json(renderTasks(deps.state, query.value));
  }));

  get(['/master/flags', '/flags'], (_req, res) => {
    res.json({ flags: { ...flags } });
  });

  get(['/master/redirect', '/redirect'], (_req, res) => {
    const location = leaderLocation(deps.state, deps.isLeader());
    if (location === undefined) {
      res.status(503).type('text/plain').send('No leader elected');
      return;
    }
    res.status(307).location(location).end();
  });

  get(['/health', '/master/health'], (_req, res) => {
    res.status(200).end();
  });

  get(['/version', '/master/version'], (_req, res) => {
    res.json(renderVersion(build));
  });

  const snapshot = (): MetricsSnapshot => metricsSnapshot(deps.state, {
    now: deps.clock.now(),
    isLeader: deps.isLeader(),
    extra: deps.systemMetrics === false ? {} : systemGauges(),
  });

  get(['/metrics/snapshot'], (_req, res) => {
    res.json(snapshot());
  });

  get(['/metrics'], (_req, res) => {
    res.status(200).set('Content-Type', PROMETHEUS_CONTENT_TYPE).send(renderPrometheus(snapshot()));
  });

  return router;
}
