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
 * Builds the API. Mount it as the whole HTTP app of the leading (or standalone) Marathon
 * process; in HA mode standbys forward to the leader in front of it (../leader-proxy.ts).
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
