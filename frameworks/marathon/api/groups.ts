/**
 * /v2/groups (GroupsResource of Marathon 1.10): nested groups with embeds, create (POST,
 * 201), update (PUT/PATCH with `force`, `dryRun` → `{"steps":[…]}`, `scaleBy`,
 * `{"version": v}` rollback), delete, versions.
 *
 * @module
 */
import { Router, type Request, type Response } from 'express';
import { MarathonError } from '../service.js';
import type { AppDefinition, Group, PathId } from '../model/types.js';
import { findApp, findGroup, groupRollbackVersionOf, normalizePathId, parseGroup, putGroup, removeGroup, renderGroup, scaleGroup } from '../model/index.js';
import { ApiContext, handle, sendDeployment } from './context.js';
import { HttpError, invalidObject, unknownGroup } from './errors.js';
import { expectObject, jsonBody } from './body.js';
import { absolutePathId, segmentsOf } from './ids.js';
import { embedsOf, queryBool, resolveAppEmbeds } from './query.js';
import { renderSteps } from './render.js';

const METHOD_NOT_ALLOWED = (): HttpError => new HttpError(405, { message: 'Method Not Allowed' });

/** The /v2/groups router (mount at `/v2/groups`). */
export function groupsRouter(ctx: ApiContext): Router {
  const router = Router();
  router.use(handle(async (req, res) => {
    const segs = segmentsOf(req.path);
    const last = segs[segs.length - 1];
    if (segs.length >= 1 && last === 'versions') {
      if (req.method === 'GET') return versions(ctx, res, absolutePathId(segs.slice(0, -1)));
      throw METHOD_NOT_ALLOWED();
    }
    if (segs.length >= 2 && segs[segs.length - 2] === 'versions') {
      if (req.method === 'GET') return versionOf(ctx, req, res, absolutePathId(segs.slice(0, -2)), last!);
      throw METHOD_NOT_ALLOWED();
    }
    const id = absolutePathId(segs);
    switch (req.method) {
      case 'GET': return show(ctx, req, res, id);
      case 'POST': return create(ctx, req, res, id);
      case 'PUT': case 'PATCH': return update(ctx, req, res, id);
      case 'DELETE': return remove(ctx, req, res, id);
      default: throw METHOD_NOT_ALLOWED();
    }
  }));
  return router;
}

/** Renders a group with the embeds of the request (default: apps and groups). */
function renderWithEmbeds(ctx: ApiContext, req: Request, group: Group): Record<string, unknown> {
  const embeds = embedsOf(req);
  const any = embeds.size > 0;
  const embedApps = !any || embeds.has('group.apps') || [...embeds].some((e) => e.startsWith('group.apps.'));
  const embedGroups = !any || embeds.has('group.groups');
  const appEmbeds = resolveAppEmbeds(embeds, ['group.apps.']);
  return renderGroup(group, { embedApps, embedGroups, renderApp: (app: AppDefinition) => ctx.appInfo(app, appEmbeds) });
}

/** GET /v2/groups[/{id}]. */
function show(ctx: ApiContext, req: Request, res: Response, id: PathId): void {
  const group = id === '/' ? ctx.service.rootGroup() : ctx.service.group(id) ?? findGroup(ctx.service.rootGroup(), id);
  if (group === undefined) throw unknownGroup(id);
  res.json(renderWithEmbeds(ctx, req, group));
}

/** The absolute id a group body names, relative to the URL's id (GroupsResource: `canonicalPath(rootPath)`). */
function effectiveId(body: Record<string, unknown>, base: PathId, now: string): PathId {
  if (body.id === undefined || body.id === null) return base;
  const id = typeof body.id === 'string' ? normalizePathId(body.id, base) : undefined;
  if (id === undefined) {
    // Let the model name the problem in Marathon's words.
    const r = parseGroup(body, { basePath: base, now });
    throw r.ok ? invalidObject([{ path: '/id', errors: ['error.expected.jsstring'] }]) : invalidObject(r.details, r.message);
  }
  return id;
}

/** Builds the new root for a group body at `id` (validation errors → MarathonError). */
function applyGroupBody(root: Group, body: Record<string, unknown>, base: PathId, id: PathId, version: string): Group {
  const current = findGroup(root, id);
  const r = parseGroup(body, { basePath: base, now: version, ...(current !== undefined ? { current } : {}) });
  if (!r.ok) throw new MarathonError('validation', r.message, r.details);
  return putGroup(root, r.group, version);
}

/** POST /v2/groups[/{id}]: 201 `{version, deploymentId}`; 409 when the group exists. */
async function create(ctx: ApiContext, req: Request, res: Response, base: PathId): Promise<void> {
  const body = expectObject(jsonBody(req));
  const force = queryBool(req, 'force', false);
  const id = effectiveId(body, base, ctx.now());
  const exists = (root: Group): boolean => id === '/' || findGroup(root, id) !== undefined;
  const conflict = (): MarathonError => new MarathonError('conflict', `Group ${id} is already created. Use PUT to change this group.`);
  if (exists(ctx.service.rootGroup())) throw conflict();
  if (findApp(ctx.service.rootGroup(), id) !== undefined) throw new MarathonError('conflict', `An app with the path ${id} already exists.`);
  const pre = parseGroup(body, { basePath: base, now: ctx.now() });
  if (!pre.ok) throw invalidObject(pre.details, pre.message);
  const plan = await ctx.service.updateRoot((root, version) => {
    if (exists(root)) throw conflict();
    return applyGroupBody(root, body, base, id, version);
  }, { force });
  sendDeployment(res, plan, 201, `/v2/groups${id === '/' ? '' : id}`);
}

/** PUT/PATCH /v2/groups[/{id}]: update or create; `dryRun`, `scaleBy`, `version`. */
async function update(ctx: ApiContext, req: Request, res: Response, base: PathId): Promise<void> {
  const body = expectObject(jsonBody(req));
  const force = queryBool(req, 'force', false);
  const dryRun = queryBool(req, 'dryRun', false);
  const id = effectiveId(body, base, ctx.now());

  let change: (root: Group, version: string) => Group;
  const rollbackTo = groupRollbackVersionOf(body);
  if (rollbackTo !== undefined) {
    const v = rollbackTo;
    const old = ctx.service.groupVersion(id, v);
    if (old === undefined) throw new HttpError(422, { message: `Group ${id} not available in version ${v}` });
    change = (root, version) => putGroup(root, { ...old, version }, version);
  } else if (body.scaleBy !== undefined) {
    if (typeof body.scaleBy !== 'number' || !(body.scaleBy >= 0)) throw invalidObject([{ path: '/scaleBy', errors: ['error.expected.jsnumber'] }]);
    const factor = body.scaleBy;
    if (findGroup(ctx.service.rootGroup(), id) === undefined) throw unknownGroup(id);
    change = (root, version) => {
      if (findGroup(root, id) === undefined) throw new MarathonError('not-found', `Group '${id}' does not exist`);
      return scaleGroup(root, id, factor, version);
    };
  } else {
    const current = findGroup(ctx.service.rootGroup(), id);
    const pre = parseGroup(body, { basePath: base, now: ctx.now(), ...(current !== undefined ? { current } : {}) });
    if (!pre.ok) throw invalidObject(pre.details, pre.message);
    change = (root, version) => applyGroupBody(root, body, base, id, version);
  }
  const plan = await ctx.service.updateRoot(change, { force, dryRun });
  if (dryRun) {
    res.json({ steps: renderSteps(plan.steps) });
    return;
  }
  sendDeployment(res, plan);
}

/** DELETE /v2/groups[/{id}]: removes the group with its apps (the root keeps existing, emptied). */
async function remove(ctx: ApiContext, req: Request, res: Response, id: PathId): Promise<void> {
  const force = queryBool(req, 'force', false);
  if (id !== '/' && findGroup(ctx.service.rootGroup(), id) === undefined) throw unknownGroup(id);
  const plan = await ctx.service.updateRoot((root, version) => {
    if (id !== '/' && findGroup(root, id) === undefined) throw new MarathonError('not-found', `Group '${id}' does not exist`);
    return removeGroup(root, id, version);
  }, { force });
  sendDeployment(res, plan);
}

/** GET /v2/groups/{id}/versions: a plain array of timestamps. */
function versions(ctx: ApiContext, res: Response, id: PathId): void {
  const list = ctx.service.groupVersions(id);
  if (list === undefined) throw unknownGroup(id);
  res.json(list);
}

/** GET /v2/groups/{id}/versions/{v}. */
function versionOf(ctx: ApiContext, req: Request, res: Response, id: PathId, v: string): void {
  const group = ctx.service.groupVersion(id, v);
  if (group === undefined) throw unknownGroup(id, v);
  res.json(renderWithEmbeds(ctx, req, group));
}
