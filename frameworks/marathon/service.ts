/**
 * What Marathon's REST API asks of the engine. The API (frameworks/marathon/api) only
 * talks to this interface; the engine (frameworks/marathon/engine) implements it.
 *
 * Every mutating method validates first and changes nothing on error: it rejects with a
 * {@link MarathonError} that the API turns into Marathon's status code and body. Mutations
 * are durable (written to the store) before the returned promise resolves.
 *
 * @module
 */
import type {
  AppDefinition, DeploymentPlan, DeploymentStatus, Group, Instance, MarathonEvent, PathId,
  QueueEntry, TaskFailure, Timestamp,
} from './model/types.js';

/** The error kinds the API maps to HTTP (Marathon's status codes and bodies). */
export type MarathonErrorKind =
  | 'invalid-json'        // 400 {"message":"Invalid JSON","details":[…]}
  | 'bad-request'         // 400 {"message": …}
  | 'validation'          // 422 {"message":"Object is not valid","details":[{"path","errors"}]}
  | 'not-found'           // 404 {"message": "App '/x' does not exist"}
  | 'conflict'            // 409 {"message": …} (already exists)
  | 'locked'              // 409 {"message":"App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/<DEPLOYMENT_ID>'.","deployments":[{"id":…}]}
  | 'unavailable';        // 503 (not leader / not ready)

export class MarathonError extends Error {
  override name = 'MarathonError';
  constructor(
    readonly kind: MarathonErrorKind,
    message: string,
    readonly details?: Array<{ path: string; errors: string[] }>,
    /** For 'locked': the blocking deployment ids. */
    readonly deployments?: string[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Options shared by mutating calls. */
export interface ChangeOptions {
  /** Override locks held by running deployments (those deployments are cancelled/superseded). */
  force?: boolean;
}

export interface KillOptions extends ChangeOptions {
  /** Scale the app down by the number of killed instances instead of replacing them. */
  scale?: boolean;
  /** Kill and forget (do not restart; expunge the instance). */
  wipe?: boolean;
}

/** The engine, as the REST API sees it. Reads are synchronous snapshots. */
export interface MarathonService {
  // ---- reads ----
  rootGroup(): Group;
  /** Every app, flattened, sorted by id. */
  apps(): AppDefinition[];
  app(id: PathId): AppDefinition | undefined;
  group(id: PathId): Group | undefined;
  /** Stored versions of an app, newest first. */
  appVersions(id: PathId): Timestamp[] | undefined;
  appVersion(id: PathId, version: Timestamp): AppDefinition | undefined;
  groupVersions(id: PathId): Timestamp[] | undefined;
  groupVersion(id: PathId, version: Timestamp): Group | undefined;
  /** Live instances of an app (including ones being killed, excluding expunged). */
  instances(appId: PathId): Instance[];
  allInstances(): Instance[];
  lastTaskFailure(appId: PathId): TaskFailure | undefined;
  deployments(): DeploymentStatus[];
  queue(): QueueEntry[];
  /** Ids of running deployments that lock the app. */
  deploymentsOf(appId: PathId): string[];

  // ---- app and group changes (each returns the deployment plan it started) ----
  /**
   * Applies `change` to the root group (the API builds the change from POST/PUT/PATCH
   * bodies already normalised by model/), validates the result as a whole (ids, dependencies
   * cycles, constraints, …), checks locks, persists, and starts a deployment.
   * `dryRun` computes and returns the plan without applying it.
   */
  updateRoot(change: (root: Group, version: Timestamp) => Group, options?: ChangeOptions & { dryRun?: boolean }): Promise<DeploymentPlan>;
  /** Restart: new version of the same definition; instances replaced per upgradeStrategy. */
  restartApp(id: PathId, options?: ChangeOptions): Promise<DeploymentPlan>;
  /** Kill specific instances (by instance id or task id). Without scale they are replaced. */
  killInstances(appId: PathId, ids: string[], options?: KillOptions): Promise<{ killed: Instance[]; plan?: DeploymentPlan }>;
  /** Kill every instance of an app, or those on `host`. */
  killAppInstances(appId: PathId, options?: KillOptions & { host?: string }): Promise<{ killed: Instance[]; plan?: DeploymentPlan }>;
  /**
   * DELETE /v2/deployments/{id}: without force, roll back (start a new deployment to the
   * plan's original state for the affected apps and return it); with force, just stop it.
   */
  cancelDeployment(id: string, options?: { force?: boolean }): Promise<DeploymentPlan | undefined>;
  /** DELETE /v2/queue/{appId}/delay: reset the launch backoff. */
  resetDelay(appId: PathId): void;

  // ---- process ----
  info(): {
    frameworkId?: string;
    leader?: string;
    elected: boolean;
    version: string;
    httpPort: number;
    hostname: string;
    master: string;
    startedAt: Timestamp;
  };
  /** Abdicate leadership (DELETE /v2/leader); standalone mode restarts its scheduler. */
  abdicate(): Promise<void>;
  metrics(): Record<string, number>;

  // ---- events ----
  /** Subscribes to the event bus; returns an unsubscribe function. */
  subscribe(listener: (event: MarathonEvent) => void): () => void;
  /** Publishes an event (the API publishes api_post_event and event_stream_attached/detached). */
  publish(event: MarathonEvent): void;
}
