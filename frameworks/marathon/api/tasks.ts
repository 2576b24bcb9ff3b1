/**
 * /v2/tasks (TasksResource): every launched task, and bulk kills.
 *
 * @module
 */
import { Router } from 'express';
import type { DeploymentPlan, Instance, PathId } from '../model/types.js';
import { ApiContext, handle, sendDeployment } from './context.js';
import { HttpError, badRequest } from './errors.js';
import { expectObject, jsonBody } from './body.js';
import { queryBool, queryValues } from './query.js';
import { launchedInstances, mesosStateOf, renderTask } from './render.js';

/** The /v2/tasks router (mount at `/v2/tasks`). */
export function tasksRouter(ctx: ApiContext): Router {
  const router = Router();

  router.get('/', handle((req, res) => {
    // status=running|staging (repeatable); anything else is ignored, as Marathon does.
    const wanted = new Set(queryValues(req, 'status').map((s) => s.toLowerCase()));
    const states = new Set<string>();
    if (wanted.has('running')) states.add('TASK_RUNNING');
    if (wanted.has('staging')) states.add('TASK_STAGING');
    const apps = new Map(ctx.service.apps().map((a) => [a.id, a]));
    const tasks = launchedInstances(ctx.service.allInstances())
      .filter((i) => states.size === 0 || states.has(mesosStateOf(i)))
      .map((i) => renderTask(i, apps.get(i.appId)));
    res.json({ tasks });
  }));

  router.post('/delete', handle(async (req, res) => {
    const scale = queryBool(req, 'scale', false);
    const wipe = queryBool(req, 'wipe', false);
    const force = queryBool(req, 'force', false);
    if (scale && wipe) throw badRequest('You cannot use scale and wipe at the same time.');
    const body = expectObject(jsonBody(req));
    const ids = body.ids;
    if (!Array.isArray(ids) || !ids.every((x) => typeof x === 'string')) {
      throw new HttpError(422, { message: 'Invalid JSON', details: [{ path: '/ids', errors: ['error.expected.jsarray'] }] });
    }
    // Group the ids by app; ids of no known task are skipped (Marathon kills what it finds).
    const byApp = new Map<PathId, string[]>();
    const all = ctx.service.allInstances();
    for (const id of ids as string[]) {
      const inst = all.find((i) => i.taskId === id || i.instanceId === id);
      if (inst === undefined) continue;
      byApp.set(inst.appId, [...(byApp.get(inst.appId) ?? []), id]);
    }
    const killed: Instance[] = [];
    let lastPlan: DeploymentPlan | undefined;
    for (const [appId, list] of byApp) {
      const r = await ctx.service.killInstances(appId, list, { scale, wipe, force });
      killed.push(...r.killed);
      if (r.plan !== undefined) lastPlan = r.plan;
    }
    if (scale && lastPlan !== undefined) {
      sendDeployment(res, lastPlan);
      return;
    }
    const apps = new Map(ctx.service.apps().map((a) => [a.id, a]));
    res.json({ tasks: killed.map((i) => renderTask(i, apps.get(i.appId))) });
  }));

  return router;
}
