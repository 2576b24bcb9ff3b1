/**
 * What every resource module of the API shares: the dependencies, the clock-based
 * timestamp, app rendering with embeds, and small response helpers.
 *
 * @module
 */
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import type { Clock } from '../../../sdk/core/clock.js';
import type { MarathonService } from '../service.js';
import type { AppDefinition, DeploymentPlan, Instance, PathId, TaskFailure, Timestamp } from '../model/types.js';
import { nowTimestamp, parseTaskId, renderApp } from '../model/index.js';
import { deploymentResult, renderAppInfo } from './render.js';
import type { AppEmbed } from './query.js';

/** Static settings shown by /v2/info (what `agora marathon` was started with). */
export interface MarathonApiConfig {
  frameworkName?: string;
  failoverTimeoutSeconds?: number;
  declineOfferDurationMs?: number;
  reconciliationIntervalMs?: number;
  reconciliationInitialDelayMs?: number;
  mesosRole?: string;
  mesosUser?: string;
  webuiUrl?: string;
  mesosLeaderUiUrl?: string;
  zk?: string;
}

/** The dependencies of {@link createMarathonApi}. */
export interface MarathonApiDeps {
  service: MarathonService;
  clock: Clock;
  logger: Logger;
  /** Optional settings for /v2/info. */
  config?: MarathonApiConfig;
}

/** Each app version's rendered definition, as JSON and its top-level keys (see ApiContext.appInfoJson). */
const renderedDefinitions = new WeakMap<AppDefinition, { json: string; keys: ReadonlySet<string> }>();

/** Embeds whose output depends only on the app, its instances, its deployments and its last failure (not on the clock). */
const CACHEABLE_EMBEDS: ReadonlySet<AppEmbed> = new Set<AppEmbed>(['counts', 'deployments', 'tasks', 'lastTaskFailure']);

/** One app's whole rendering as UTF-8, with what it was made from (see ApiContext.appInfoBuffer). */
interface RenderedAppInfo {
  instances: readonly Instance[];
  deploymentIds: readonly string[];
  lastTaskFailure: TaskFailure | undefined;
  buffer: Buffer;
}

/** Per app version, per embeds key: its last rendering. */
const renderedAppInfos = new WeakMap<AppDefinition, Map<string, RenderedAppInfo>>();

/** The live data of an app's rendering, read from the service once per app and request. */
interface LiveData {
  instances: readonly Instance[];
  deploymentIds: readonly string[];
  lastTaskFailure: TaskFailure | undefined;
}

function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let n = 0; n < a.length; n++) if (a[n] !== b[n]) return false;
  return true;
}

/** Shared by the resource modules. */
export class ApiContext {
  readonly service: MarathonService;
  readonly clock: Clock;
  readonly logger: Logger;
  constructor(readonly deps: MarathonApiDeps) {
    this.service = deps.service;
    this.clock = deps.clock;
    this.logger = deps.logger;
  }

  /** Now as a Marathon timestamp. */
  now(): Timestamp {
    return nowTimestamp(this.clock.now());
  }

  /** An app rendered with the given embeds (AppInfoService). */
  appInfo(app: AppDefinition, embeds: ReadonlySet<AppEmbed>): Record<string, unknown> {
    return this.appInfoOver(renderApp(app), app, embeds);
  }

  /** The live data the embeds need. */
  private liveData(app: AppDefinition, embeds: ReadonlySet<AppEmbed>): LiveData {
    const needsInstances = embeds.has('counts') || embeds.has('tasks') || embeds.has('taskStats');
    return {
      instances: needsInstances ? this.service.instances(app.id) : [],
      deploymentIds: embeds.has('deployments') ? this.service.deploymentsOf(app.id) : [],
      lastTaskFailure: embeds.has('lastTaskFailure') ? this.service.lastTaskFailure(app.id) : undefined,
    };
  }

  /** The embeds of {@link appInfo} over a rendered definition (or `{}` for the live part alone). */
  private appInfoOver(definition: Record<string, unknown>, app: AppDefinition, embeds: ReadonlySet<AppEmbed>, live = this.liveData(app, embeds)): Record<string, unknown> {
    const needsReadiness = embeds.has('readiness');
    const readiness = needsReadiness
      ? this.service.deployments().flatMap((d) => d.readinessCheckResults).filter((r) => this.appOfTask(r.taskId) === app.id)
      : [];
    return renderAppInfo(definition, app, embeds, {
      instances: live.instances,
      deploymentIds: live.deploymentIds,
      lastTaskFailure: live.lastTaskFailure,
      readiness,
      nowMs: this.clock.now(),
    });
  }

  /**
   * {@link appInfo} as JSON text. The definition's part is rendered and serialised once per
   * app version (definitions are immutable values) and only the live part (counts,
   * deployments, tasks…) is serialised per request: `GET /v2/apps` with a thousand apps spent
   * most of its time re-rendering and re-serialising definitions that had not changed.
   */
  appInfoJson(app: AppDefinition, embeds: ReadonlySet<AppEmbed>, data = this.liveData(app, embeds)): string {
    let cached = renderedDefinitions.get(app);
    if (cached === undefined) {
      const definition = renderApp(app);
      cached = { json: JSON.stringify(definition), keys: new Set(Object.keys(definition)) };
      renderedDefinitions.set(app, cached);
    }
    const live = this.appInfoOver({}, app, embeds, data);
    const liveKeys = Object.keys(live);
    // A live field that also names a definition field replaces it: serialise the merged object.
    if (liveKeys.some((k) => cached.keys.has(k))) return JSON.stringify(this.appInfoOver(renderApp(app), app, embeds, data));
    if (liveKeys.length === 0) return cached.json;
    const liveJson = JSON.stringify(live);
    return cached.keys.size === 0 ? liveJson : `${cached.json.slice(0, -1)},${liveJson.slice(1)}`;
  }

  /**
   * {@link appInfoJson} as UTF-8, kept per app version and embeds until the app's instances
   * (the same objects: the engine replaces an instance on every change, never edits it), its
   * deployments or its last failure change. `GET /v2/apps` with a thousand apps then mostly
   * copies bytes: serialising every app and encoding the megabyte of text on each request
   * made its latency and its garbage. Embeds that read the clock or the readiness results
   * (taskStats, readiness) are rendered afresh every time.
   *
   * @param embedsKey `embeds` as a string, the same for the same set (the caller computes it once per request).
   */
  appInfoBuffer(app: AppDefinition, embeds: ReadonlySet<AppEmbed>, embedsKey: string): Buffer {
    const data = this.liveData(app, embeds);
    const cacheable = [...embeds].every((e) => CACHEABLE_EMBEDS.has(e));
    if (!cacheable) return Buffer.from(this.appInfoJson(app, embeds, data));
    let byEmbeds = renderedAppInfos.get(app);
    const cached = byEmbeds?.get(embedsKey);
    if (cached !== undefined && cached.lastTaskFailure === data.lastTaskFailure
      && sameItems(cached.deploymentIds, data.deploymentIds) && sameItems(cached.instances, data.instances)) {
      return cached.buffer;
    }
    const buffer = Buffer.from(this.appInfoJson(app, embeds, data));
    if (byEmbeds === undefined) {
      byEmbeds = new Map();
      renderedAppInfos.set(app, byEmbeds);
    }
    byEmbeds.set(embedsKey, { ...data, buffer });
    return buffer;
  }

  /**
   * `parts` joined; the last join is kept and answered again while every part is the same
   * buffer (a list of apps none of which changed).
   */
  joinBuffers(parts: readonly Buffer[]): Buffer {
    const last = this.lastJoin;
    if (last !== undefined && sameItems(last.parts, parts)) return last.joined;
    const joined = Buffer.concat(parts);
    this.lastJoin = { parts, joined };
    return joined;
  }

  private lastJoin: { parts: readonly Buffer[]; joined: Buffer } | undefined;

  /** The app a Mesos task id belongs to. */
  appOfTask(taskId: string): PathId | undefined {
    return parseTaskId(taskId)?.appId;
  }

  /** Publishes api_post_event (Marathon posts it for app creations, updates and deletions). */
  publishApiPost(req: Request, app: AppDefinition | Record<string, unknown>): void {
    const appDefinition = 'versionInfo' in app && 'env' in app ? renderApp(app as AppDefinition) : app;
    this.service.publish({
      clientIp: clientIp(req),
      uri: req.originalUrl.split('?')[0]!,
      appDefinition,
      eventType: 'api_post_event',
      timestamp: this.now(),
    });
  }
}

/** The remote address of a request (IPv4-mapped IPv6 unwrapped). */
export function clientIp(req: Request): string {
  const a = req.socket.remoteAddress ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/** `{version, deploymentId}` with the `Marathon-Deployment-Id` header (RestResource.deploymentResult). */
export function sendDeployment(res: Response, plan: DeploymentPlan, status = 200, location?: string): void {
  res.setHeader('Marathon-Deployment-Id', plan.id);
  if (location !== undefined) res.setHeader('Location', location);
  res.status(status).json(deploymentResult(plan));
}

/** Wraps an async handler so its rejections reach the error handler. */
export function handle(fn: (req: Request, res: Response) => unknown): (req: Request, res: Response, next: (err?: unknown) => void) => void {
  return (req, res, next) => {
    try {
      const r = fn(req, res);
      if (r instanceof Promise) r.catch(next);
    } catch (err) {
      next(err);
    }
  };
}
