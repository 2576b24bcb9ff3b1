/**
 * Marathon's v2 REST API as an express app, over a {@link MarathonService}.
 *
 * One module per resource (apps, tasks, deployments, groups, queue, events, info/leader,
 * ping/metrics); shapes in render.ts, errors in errors.ts, query parsing in query.ts,
 * bodies in body.ts. See docs/marathon-api.md.
 *
 * @example
 * const api = createMarathonApi({ service, clock: systemClock, logger });
 * http.createServer(api).listen(8080);
 *
 * @module
 */
import express from 'express';
import { appsRouter } from './apps.js';
import { rawBody } from './body.js';
import { ApiContext, type MarathonApiDeps } from './context.js';
import { deploymentsRouter } from './deployments.js';
import { errorHandler, HttpError } from './errors.js';
import { eventsRouter } from './events.js';
import { groupsRouter } from './groups.js';
import { infoRouter } from './info.js';
import { miscRouter } from './misc.js';
import { queueRouter } from './queue.js';
import { tasksRouter } from './tasks.js';

export type { MarathonApiDeps, MarathonApiConfig } from './context.js';
export { renderAppInfo, renderTask, renderDeployment, renderQueueEntry, renderTaskFailure, taskCounts, deploymentResult } from './render.js';
export { parseBool, parseLabelSelector, matchesLabels, resolveAppEmbeds } from './query.js';
export { errorResponse, HttpError } from './errors.js';
export { sseFrame } from './events.js';

/** Paths that exist for some method: anything else under them answers 405, not 404. */
const KNOWN = /^\/(v2\/(tasks(\/delete)?|deployments(\/.*)?|queue(\/.*)?|events|info|leader)|ping|metrics(\/prometheus)?)\/?$/;

/**
 * Builds the API. Mount it as the whole HTTP app of the Marathon process.
 * Non-leaders (when `leaderUrl` is given and the service says it is not elected) redirect
 * /v2 requests to the leader with 307, or answer 503 while there is none.
 */
export function createMarathonApi(deps: MarathonApiDeps): express.Express {
  const ctx = new ApiContext(deps);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  // CacheDisablingFilter: API answers are never cached.
  app.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-cache, no-store, must-revalidate');
    res.setHeader('Pragma', 'no-cache');
    res.setHeader('Expires', '0');
    next();
  });

  // LeaderProxyFilter (simplified: redirect instead of proxying).
  if (deps.leaderUrl !== undefined) {
    const leaderUrl = deps.leaderUrl;
    app.use('/v2', (req, res, next) => {
      if (req.path === '/leader' || req.path === '/info' || ctx.service.info().elected) {
        next();
        return;
      }
      const leader = leaderUrl();
      if (leader === undefined) {
        res.status(503).json({ message: 'Could not determine the current leader' });
        return;
      }
      res.redirect(307, `${leader.replace(/\/$/, '')}${req.originalUrl}`);
    });
  }

  app.use(['/v2/apps', '/v2/groups', '/v2/tasks', '/v2/deployments', '/v2/queue', '/v2/leader'], rawBody());
  app.use('/v2/apps', appsRouter(ctx));
  app.use('/v2/tasks', tasksRouter(ctx));
  app.use('/v2/deployments', deploymentsRouter(ctx));
  app.use('/v2/groups', groupsRouter(ctx));
  app.use('/v2/queue', queueRouter(ctx));
  app.use('/v2/events', eventsRouter(ctx));
  app.use('/v2', infoRouter(ctx));
  app.use('/', miscRouter(ctx));

  app.use((req, _res, next) => {
    next(KNOWN.test(req.path) ? new HttpError(405, { message: 'Method Not Allowed' }) : new HttpError(404, { message: 'URI not found' }));
  });
  app.use(errorHandler(deps.logger));
  return app;
}
