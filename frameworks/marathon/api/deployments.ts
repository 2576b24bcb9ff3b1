/**
 * /v2/deployments (DeploymentsResource).
 *
 * @module
 */
import { Router } from 'express';
import { ApiContext, handle, sendDeployment } from './context.js';
import { HttpError } from './errors.js';
import { segmentsOf } from './ids.js';
import { queryBool } from './query.js';
import { renderDeployment } from './render.js';

/** The /v2/deployments router (mount at `/v2/deployments`). */
export function deploymentsRouter(ctx: ApiContext): Router {
  const router = Router();

  router.get('/', handle((_req, res) => {
    res.json(ctx.service.deployments().map((d) => renderDeployment(d, (t) => ctx.appOfTask(t))));
  }));

  router.delete(/^\/(.+)$/, handle(async (req, res) => {
    const id = segmentsOf(req.path).join('/');
    const force = queryBool(req, 'force', false);
    if (!ctx.service.deployments().some((d) => d.plan.id === id)) {
      throw new HttpError(404, { message: `DeploymentPlan ${id} does not exist` });
    }
    const plan = await ctx.service.cancelDeployment(id, { force });
    if (force || plan === undefined) {
      // force=true only stops the deployment: 202 Accepted, no body.
      res.status(202).end();
      return;
    }
    sendDeployment(res, plan);
  }));

  return router;
}
