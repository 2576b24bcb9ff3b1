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
import type { AppDefinition, DeploymentPlan, PathId, Timestamp } from '../model/types.js';
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

  /** The embeds of {@link appInfo} over a rendered definition (or `{}` for the live part alone). */
  private appInfoOver(definition: Record<string, unknown>, app: AppDefinition, embeds: ReadonlySet<AppEmbed>): Record<string, unknown> {
    const needsReadiness = embeds.has('readiness');
    const readiness = needsReadiness
      ? this.service.deployments().flatMap((d) => d.readinessCheckResults).filter((r) => this.appOfTask(r.taskId) === app.id)
      : [];
    const needsInstances = embeds.has('counts') || embeds.has('tasks') || embeds.has('taskStats');
    return renderAppInfo(definition, app, embeds, {
      instances: needsInstances ? this.service.instances(app.id) : [],
      deploymentIds: embeds.has('deployments') ? this.service.deploymentsOf(app.id) : [],
      lastTaskFailure: embeds.has('lastTaskFailure') ? this.service.lastTaskFailure(app.id) : undefined,
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
  appInfoJson(app: AppDefinition, embeds: ReadonlySet<AppEmbed>): string {
    let cached = renderedDefinitions.get(app);
    if (cached === undefined) {
      const definition = renderApp(app);
      cached = { json: JSON.stringify(definition), keys: new Set(Object.keys(definition)) };
      renderedDefinitions.set(app, cached);
    }
    const live = this.appInfoOver({}, app, embeds);
    const liveKeys = Object.keys(live);
    // A live field that also names a definition field replaces it: serialise the merged object.
    if (liveKeys.some((k) => cached.keys.has(k))) return JSON.stringify(this.appInfo(app, embeds));
    if (liveKeys.length === 0) return cached.json;
    const liveJson = JSON.stringify(live);
    return cached.keys.size === 0 ? liveJson : `${cached.json.slice(0, -1)},${liveJson.slice(1)}`;
  }

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
