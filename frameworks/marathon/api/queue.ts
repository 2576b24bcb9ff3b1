/**
 * /v2/queue (QueueResource): the launch queue with backoff delays and offer statistics.
 *
 * @module
 */
import { Router } from 'express';
import { renderApp } from '../model/index.js';
import { ApiContext, handle } from './context.js';
import { HttpError } from './errors.js';
import { absolutePathId, segmentsOf } from './ids.js';
import { embedsOf } from './query.js';
import { renderQueueEntry } from './render.js';

/** The /v2/queue router (mount at `/v2/queue`). */
export function queueRouter(ctx: ApiContext): Router {
  const router = Router();

  router.get('/', handle((req, res) => {
    const lastUnusedOffers = embedsOf(req).has('lastUnusedOffers');
    res.json({ queue: ctx.service.queue().map((e) => renderQueueEntry(e, renderApp(e.app), lastUnusedOffers)) });
  }));

  // DELETE /v2/queue/{appId}/delay → 204; 404 when the app is not queued.
  router.delete(/^\/(.+)\/delay\/?$/, handle((req, res) => {
    const segs = segmentsOf(req.path);
    const appId = absolutePathId(segs.slice(0, -1));
    if (!ctx.service.queue().some((e) => e.app.id === appId)) {
      throw new HttpError(404, { message: `Application ${appId} not found in tasks queue.` });
    }
    ctx.service.resetDelay(appId);
    res.status(204).end();
  }));

  return router;
}
