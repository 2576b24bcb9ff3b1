/**
 * /v2/apps (AppsResource, AppTasksResource, AppVersionsResource of Marathon 1.10).
 *
 * Ids may contain slashes, so this module routes by hand on the path after `/v2/apps`:
 * `…/restart`, `…/tasks`, `…/tasks/{taskId}`, `…/versions`, `…/versions/{v}`, else the
 * app id itself. Empty segments are dropped (`/v2/apps//foo` is `/foo`).
 *
 * @module
 */
import { Router, type Request, type Response } from 'express';
import { MarathonError } from '../service.js';
import type { AppDefinition, PathId } from '../model/types.js';
import { applyAppUpdate, findApp, findGroup, allApps, parseAppDefinition, putApp, removeApp, renderApp, rollbackVersionOf } from '../model/index.js';
import { ApiContext, handle, sendDeployment } from './context.js';
import { HttpError, badRequest, invalidObject, unknownApp, unknownGroup, unknownTask } from './errors.js';
import { jsonBody, expectObject } from './body.js';
import { absolutePathId, segmentsOf } from './ids.js';
import { embedsOf, matchesLabels, parseLabelSelector, queryBool, queryValue, resolveAppEmbeds, type AppEmbed } from './query.js';
import { launchedInstances, renderTask } from './render.js';

const METHOD_NOT_ALLOWED = (): HttpError => new HttpError(405, { message: 'Method Not Allowed' });

/** The /v2/apps router (mount at `/v2/apps`). */
export function appsRouter(ctx: ApiContext): Router {
  const router = Router();
  router.use(handle(async (req, res) => {
    const raw = req.path;
    const segs = segmentsOf(raw);
    const method = req.method;
    const last = segs[segs.length - 1];
    const secondLast = segs[segs.length - 2];

    if (segs.length === 0) {
      if (method === 'GET') return index(ctx, req, res);
      if (method === 'POST') return create(ctx, req, res);
      if (method === 'PUT') return updateMany(ctx, req, res, false);
      if (method === 'PATCH') return updateMany(ctx, req, res, true);
      throw METHOD_NOT_ALLOWED();
    }
    if (segs.length >= 2 && last === 'restart') {
      if (method === 'POST') return restart(ctx, req, res, absolutePathId(segs.slice(0, -1)));
      throw METHOD_NOT_ALLOWED();
    }
    if (segs.length >= 2 && last === 'tasks') {
      const id = absolutePathId(segs.slice(0, -1));
      if (method === 'GET') return tasks(ctx, res, id);
      if (method === 'DELETE') return killTasks(ctx, req, res, id);
      throw METHOD_NOT_ALLOWED();
    }
    if (segs.length >= 3 && secondLast === 'tasks') {
      if (method === 'DELETE') return killTask(ctx, req, res, absolutePathId(segs.slice(0, -2)), last!);
      throw METHOD_NOT_ALLOWED();
    }
    if (segs.length >= 2 && last === 'versions') {
      if (method === 'GET') return versions(ctx, res, absolutePathId(segs.slice(0, -1)));
      throw METHOD_NOT_ALLOWED();
    }
    if (segs.length >= 3 && secondLast === 'versions') {
      if (method === 'GET') return version(ctx, res, absolutePathId(segs.slice(0, -2)), last!);
      throw METHOD_NOT_ALLOWED();
    }
    const id = absolutePathId(segs);
    if (method === 'GET') return show(ctx, req, res, segs);
    if (method === 'PUT') return updateOne(ctx, req, res, id, false);
    if (method === 'PATCH') return updateOne(ctx, req, res, id, true);
    if (method === 'DELETE') return remove(ctx, req, res, id);
    throw METHOD_NOT_ALLOWED();
  }));
  return router;
}

/** GET /v2/apps: filters cmd, id (case-insensitive substrings) and label; counts and deployments always embedded. */
function index(ctx: ApiContext, req: Request, res: Response): void {
  const cmd = queryValue(req, 'cmd');
  const idFilter = queryValue(req, 'id');
  const label = queryValue(req, 'label');
  const terms = label !== undefined ? parseLabelSelector(label) : undefined;
  const embeds = resolveAppEmbeds(embedsOf(req));
  embeds.add('counts');
  embeds.add('deployments');
  const apps = ctx.service.apps().filter((app) =>
    (cmd === undefined || (app.cmd !== undefined && app.cmd.toLowerCase().includes(cmd.toLowerCase())))
    && (idFilter === undefined || app.id.toLowerCase().includes(idFilter.toLowerCase()))
    && (terms === undefined || matchesLabels(terms, app.labels)));
  // Bytes, not text: each app's rendering is kept encoded (ApiContext.appInfoBuffer).
  const embedsKey = [...embeds].sort().join(',');
  const parts: Buffer[] = [APPS_OPEN];
  apps.forEach((app, n) => {
    if (n > 0) parts.push(COMMA);
    parts.push(ctx.appInfoBuffer(app, embeds, embedsKey));
  });
  parts.push(APPS_CLOSE);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.send(ctx.joinBuffers(parts));
}

const APPS_OPEN = Buffer.from('{"apps":[');
const COMMA = Buffer.from(',');
const APPS_CLOSE = Buffer.from(']}');

/** POST /v2/apps: 201, Location, Marathon-Deployment-Id, the app with zero counters and its deployment. */
async function create(ctx: ApiContext, req: Request, res: Response): Promise<void> {
  const json = jsonBody(req);
  expectObject(json);
  const force = queryBool(req, 'force', false);
  const pre = parseAppDefinition(json, { now: ctx.now() });
  if (!pre.ok) throw invalidObject(pre.details, pre.message);
  const id = pre.app.id;
  const conflict = (): MarathonError => new MarathonError('conflict', `An app with id [${id}] already exists.`);
  if (ctx.service.app(id) !== undefined) throw conflict();
  let created: AppDefinition = pre.app;
  const plan = await ctx.service.updateRoot((root, version) => {
    if (findApp(root, id) !== undefined) throw conflict();
    const r = parseAppDefinition(json, { now: version });
    if (!r.ok) throw new MarathonError('validation', r.message, r.details);
    created = r.app;
    return putApp(root, r.app, version);
  }, { force });
  const app = findApp(plan.target, id) ?? created;
  ctx.publishApiPost(req, app);
  res.status(201);
  res.setHeader('Location', `/v2/apps${app.id}`);
  res.setHeader('Marathon-Deployment-Id', plan.id);
  res.json({ ...renderApp(app), tasksStaged: 0, tasksRunning: 0, tasksHealthy: 0, tasksUnhealthy: 0, deployments: [{ id: plan.id }] });
}

/** GET /v2/apps/{id} (tasks, counts, deployments, lastTaskFailure embedded); `/v2/apps/group/*` lists a group's apps under `*`. */
function show(ctx: ApiContext, req: Request, res: Response, segs: string[]): void {
  const embeds = resolveAppEmbeds(embedsOf(req));
  for (const e of ['counts', 'tasks', 'lastTaskFailure', 'deployments'] as AppEmbed[]) embeds.add(e);
  if (segs[segs.length - 1] === '*') {
    const groupId = absolutePathId(segs.slice(0, -1));
    const group = findGroup(ctx.service.rootGroup(), groupId);
    if (group === undefined) throw unknownGroup(groupId);
    res.json({ '*': allApps(group).map((app: AppDefinition) => ctx.appInfo(app, embeds)) });
    return;
  }
  const id = absolutePathId(segs);
  const app = ctx.service.app(id);
  if (app === undefined) throw unknownApp(id);
  res.json({ app: ctx.appInfo(app, embeds) });
}

/**
 * The update JSON to apply: the body itself, or for `{"version": v}` the stored definition
 * of that version as a full replacement (a rollback).
 */
function updateSource(ctx: ApiContext, id: PathId, body: Record<string, unknown>, existing: AppDefinition | undefined): { json: unknown; full: boolean } {
  const rollbackTo = existing !== undefined ? rollbackVersionOf(body) : undefined;
  if (rollbackTo !== undefined) {
    const old = ctx.service.appVersion(id, rollbackTo);
    if (old === undefined) throw unknownApp(id, rollbackTo);
    const rendered: Record<string, unknown> = { ...renderApp(old) };
    delete rendered.version;
    delete rendered.versionInfo;
    return { json: rendered, full: true };
  }
  return { json: body, full: false };
}

/** PUT (partialUpdate default true, creates when missing: 201) and PATCH (partial, 404 when missing) /v2/apps/{id}. */
async function updateOne(ctx: ApiContext, req: Request, res: Response, id: PathId, isPatch: boolean): Promise<void> {
  const body = expectObject(jsonBody(req));
  const force = queryBool(req, 'force', false);
  const partial = isPatch ? true : queryBool(req, 'partialUpdate', true);
  const existing = ctx.service.app(id);
  if (existing === undefined && isPatch) throw unknownApp(id);
  const rollbackTo = rollbackVersionOf(body);
  if (existing === undefined && rollbackTo !== undefined) throw unknownApp(id, rollbackTo);
  const source = updateSource(ctx, id, body, existing);
  const pre = applyAppUpdate(existing, source.json, { partial: partial && !source.full, now: ctx.now(), idFromPath: id });
  if (!pre.ok) throw invalidObject(pre.details, pre.message);
  let wasCreated = existing === undefined;
  const plan = await ctx.service.updateRoot((root, version) => {
    const current = findApp(root, id);
    if (current === undefined && isPatch) throw new MarathonError('not-found', `App '${id}' does not exist`);
    wasCreated = current === undefined;
    const r = applyAppUpdate(current, source.json, { partial: partial && !source.full, now: version, idFromPath: id });
    if (!r.ok) throw new MarathonError('validation', r.message, r.details);
    return putApp(root, r.app, version);
  }, { force });
  const target = findApp(plan.target, id);
  if (target !== undefined) ctx.publishApiPost(req, target);
  sendDeployment(res, plan, wasCreated ? 201 : 200, wasCreated ? `/v2/apps${id}` : undefined);
}

/** PUT (creates missing apps) and PATCH (404 for missing apps) /v2/apps with an array of updates. */
async function updateMany(ctx: ApiContext, req: Request, res: Response, isPatch: boolean): Promise<void> {
  const json = jsonBody(req);
  if (!Array.isArray(json)) throw new HttpError(422, { message: 'Invalid JSON', details: [{ path: '/', errors: ['error.expected.jsarray'] }] });
  const force = queryBool(req, 'force', false);
  const partial = isPatch ? true : queryBool(req, 'partialUpdate', true);
  const updates = json.map((u, i) => {
    const body = expectObject(u);
    if (typeof body.id !== 'string' || body.id === '') {
      throw new HttpError(422, { message: 'Object is not valid', details: [{ path: `/(${i})/id`, errors: ['App Update must have app id set'] }] });
    }
    const id = absolutePathId(segmentsOf(body.id));
    return { id, body, index: i };
  });
  const prefixed = (i: number, details: Array<{ path: string; errors: string[] }>): Array<{ path: string; errors: string[] }> =>
    details.map((d) => ({ path: `/(${i})${d.path === '/' ? '' : d.path}`, errors: d.errors }));
  // Validate everything before touching the service.
  const now = ctx.now();
  for (const u of updates) {
    const existing = ctx.service.app(u.id);
    if (existing === undefined && isPatch) throw unknownApp(u.id);
    const source = updateSource(ctx, u.id, u.body, existing);
    const r = applyAppUpdate(existing, source.json, { partial: partial && !source.full, now, idFromPath: u.id });
    if (!r.ok) throw invalidObject(prefixed(u.index, r.details), r.message);
  }
  const plan = await ctx.service.updateRoot((root, version) => {
    let next = root;
    for (const u of updates) {
      const current = findApp(next, u.id);
      if (current === undefined && isPatch) throw new MarathonError('not-found', `App '${u.id}' does not exist`);
      const source = updateSource(ctx, u.id, u.body, current);
      const r = applyAppUpdate(current, source.json, { partial: partial && !source.full, now: version, idFromPath: u.id });
      if (!r.ok) throw new MarathonError('validation', r.message, prefixed(u.index, r.details));
      next = putApp(next, r.app, version);
    }
    return next;
  }, { force });
  sendDeployment(res, plan);
}

/** DELETE /v2/apps/{id}: force defaults to true. */
async function remove(ctx: ApiContext, req: Request, res: Response, id: PathId): Promise<void> {
  const force = queryBool(req, 'force', true);
  if (ctx.service.app(id) === undefined) throw unknownApp(id);
  const plan = await ctx.service.updateRoot((root, version) => {
    if (findApp(root, id) === undefined) throw new MarathonError('not-found', `App '${id}' does not exist`);
    return removeApp(root, id, version);
  }, { force });
  sendDeployment(res, plan);
}

/** POST /v2/apps/{id}/restart. */
async function restart(ctx: ApiContext, req: Request, res: Response, id: PathId): Promise<void> {
  const force = queryBool(req, 'force', false);
  if (ctx.service.app(id) === undefined) throw unknownApp(id);
  const plan = await ctx.service.restartApp(id, { force });
  sendDeployment(res, plan);
}

/** GET /v2/apps/{id}/tasks. */
function tasks(ctx: ApiContext, res: Response, id: PathId): void {
  const app = ctx.service.app(id);
  if (app === undefined) throw unknownApp(id);
  res.json({ tasks: launchedInstances(ctx.service.instances(id)).map((i) => renderTask(i, app)) });
}

function killFlags(req: Request): { scale: boolean; wipe: boolean; force: boolean } {
  const scale = queryBool(req, 'scale', false);
  const wipe = queryBool(req, 'wipe', false);
  const force = queryBool(req, 'force', false);
  if (scale && wipe) throw badRequest('You cannot use scale and wipe at the same time.');
  return { scale, wipe, force };
}

/** DELETE /v2/apps/{id}/tasks?host=&scale=&wipe=&force=. */
async function killTasks(ctx: ApiContext, req: Request, res: Response, id: PathId): Promise<void> {
  const flags = killFlags(req);
  const app = ctx.service.app(id);
  if (app === undefined) throw unknownApp(id);
  const host = queryValue(req, 'host');
  const r = await ctx.service.killAppInstances(id, { ...flags, ...(host !== undefined && host !== '' ? { host } : {}) });
  if (flags.scale && r.plan !== undefined) {
    sendDeployment(res, r.plan);
    return;
  }
  res.json({ tasks: r.killed.map((i) => renderTask(i, app)) });
}

/** DELETE /v2/apps/{id}/tasks/{taskId}. */
async function killTask(ctx: ApiContext, req: Request, res: Response, id: PathId, taskId: string): Promise<void> {
  const flags = killFlags(req);
  const app = ctx.service.app(id);
  if (app === undefined) throw unknownApp(id);
  const instance = ctx.service.instances(id).find((i) => i.taskId === taskId || i.instanceId === taskId);
  if (instance === undefined) throw unknownTask(taskId);
  const r = await ctx.service.killInstances(id, [taskId], flags);
  if (flags.scale && r.plan !== undefined) {
    sendDeployment(res, r.plan);
    return;
  }
  res.json({ task: renderTask(r.killed[0] ?? instance, app) });
}

/** GET /v2/apps/{id}/versions. */
function versions(ctx: ApiContext, res: Response, id: PathId): void {
  const list = ctx.service.appVersions(id);
  if (list === undefined) throw unknownApp(id);
  res.json({ versions: list });
}

/** GET /v2/apps/{id}/versions/{version}. */
function version(ctx: ApiContext, res: Response, id: PathId, v: string): void {
  if (ctx.service.app(id) === undefined && ctx.service.appVersions(id) === undefined) throw unknownApp(id);
  const app = ctx.service.appVersion(id, v);
  if (app === undefined) throw unknownApp(id, v);
  res.json(renderApp(app));
}
