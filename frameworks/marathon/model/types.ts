/**
 * Marathon's core data, as the rest of frameworks/marathon shares it.
 *
 * Field names are Marathon 1.10's v2 JSON names, so an app definition renders to the API
 * almost as stored. An {@link AppDefinition} here is always normalised: every default
 * filled in, ids absolute, so nothing downstream re-checks or re-defaults it (Temporal
 * style: compile options once at the edge).
 *
 * @module
 */

/** ISO 8601 timestamp with millisecond precision and `Z`, e.g. `2015-09-25T15:13:48.343Z`. */
export type Timestamp = string;

/** An absolute Marathon path id: `/`, `/prod`, `/prod/web`. */
export type PathId = string;

export interface PortDefinition {
  /** 0 = Marathon assigns a service port (10000–20000); stored after assignment. */
  port: number;
  protocol: string;
  name?: string;
  labels: Record<string, string>;
}

export interface FetchUri {
  uri: string;
  extract: boolean;
  executable: boolean;
  cache: boolean;
  destPath?: string;
}

export interface HealthCheckDefinition {
  protocol: 'HTTP' | 'HTTPS' | 'TCP' | 'COMMAND' | 'MESOS_HTTP' | 'MESOS_HTTPS' | 'MESOS_TCP';
  path?: string;
  portIndex?: number;
  port?: number;
  command?: { value: string };
  gracePeriodSeconds: number;
  intervalSeconds: number;
  timeoutSeconds: number;
  /** 0 = never kill. */
  maxConsecutiveFailures: number;
  ignoreHttp1xx: boolean;
  delaySeconds: number;
  ipProtocol: 'IPv4' | 'IPv6';
}

export interface ReadinessCheckDefinition {
  name: string;
  protocol: 'HTTP' | 'HTTPS';
  path: string;
  portName: string;
  intervalSeconds: number;
  timeoutSeconds: number;
  httpStatusCodesForReady: number[];
  preserveLastResponse: boolean;
}

export interface UpgradeStrategy {
  minimumHealthCapacity: number;
  maximumOverCapacity: number;
}

export interface UnreachableStrategy {
  inactiveAfterSeconds: number;
  expungeAfterSeconds: number;
}

export type KillSelection = 'YOUNGEST_FIRST' | 'OLDEST_FIRST';

export type EnvValue = string | { secret: string };

/** A normalised app definition (one version of an app). */
export interface AppDefinition {
  id: PathId;
  cmd?: string;
  args?: string[];
  user?: string;
  env: Record<string, EnvValue>;
  instances: number;
  cpus: number;
  mem: number;
  disk: number;
  gpus: number;
  executor: string;
  /** Each constraint is [field, operator] or [field, operator, value]. */
  constraints: string[][];
  fetch: FetchUri[];
  backoffSeconds: number;
  backoffFactor: number;
  maxLaunchDelaySeconds: number;
  container?: Record<string, unknown>;
  healthChecks: HealthCheckDefinition[];
  readinessChecks: ReadinessCheckDefinition[];
  dependencies: PathId[];
  upgradeStrategy: UpgradeStrategy;
  labels: Record<string, string>;
  acceptedResourceRoles?: string[];
  portDefinitions: PortDefinition[];
  requirePorts: boolean;
  killSelection: KillSelection;
  unreachableStrategy: UnreachableStrategy;
  taskKillGracePeriodSeconds?: number;
  secrets: Record<string, { source: string }>;
  networks: Array<{ mode: string; name?: string; labels?: Record<string, string> }>;
  role?: string;
  /** This version's timestamp. */
  version: Timestamp;
  versionInfo: { lastScalingAt: Timestamp; lastConfigChangeAt: Timestamp };
}

/** A group: a folder of apps and groups; the root group has id `/`. */
export interface Group {
  id: PathId;
  apps: AppDefinition[];
  groups: Group[];
  dependencies: PathId[];
  version: Timestamp;
  enforceRole?: boolean;
}

/**
 * Marathon's instance conditions (core.condition.Condition), the state of one instance as
 * Marathon sees it.
 */
export type InstanceCondition =
  | 'Scheduled' | 'Provisioned' | 'Staging' | 'Starting' | 'Running' | 'Killing' | 'Finished'
  | 'Failed' | 'Killed' | 'Error' | 'Dropped' | 'Gone' | 'Unreachable' | 'UnreachableInactive'
  | 'Unknown';

/** One instance of an app: one Mesos task (apps run one task per instance). */
export interface Instance {
  /** `<app path, slashes→dots, leading one dropped>.instance-<uuid>`, e.g. `prod_web` style: see ids.ts. */
  instanceId: string;
  appId: PathId;
  /** The app version this instance runs. */
  runSpecVersion: Timestamp;
  /** Mesos task id: `<instanceId>._app.<incarnation>`. */
  taskId: string;
  incarnation: number;
  condition: InstanceCondition;
  /** Last Mesos TaskState seen (`TASK_RUNNING`, …). */
  mesosState?: string;
  agentId?: string;
  host?: string;
  agentAttributes?: Record<string, string>;
  /** Host ports assigned from the offer. */
  hostPorts: number[];
  stagedAt?: Timestamp;
  startedAt?: Timestamp;
  /** When the instance became unreachable (for unreachableStrategy). */
  unreachableSince?: Timestamp;
  /** Marathon-side goal: Running until it is killed on purpose. */
  goal: 'Running' | 'Stopped' | 'Decommissioned';
  /** Health as the health checks report it; undefined = no result yet / no checks. */
  healthy?: boolean;
  /** Readiness (only during deployments with readiness checks). */
  ready?: boolean;
  /** Last Mesos status message, for lastTaskFailure and debugging. */
  message?: string;
}

export type DeploymentActionType =
  | 'StartApplication' | 'StopApplication' | 'ScaleApplication' | 'RestartApplication' | 'ResolveArtifacts';

export interface DeploymentAction {
  action: DeploymentActionType;
  app: PathId;
  /** ScaleApplication / StartApplication target (StartApplication starts at 0 in Marathon; scale follows). */
  scaleTo?: number;
  /** Instances chosen to be killed by this action (explicit kills with scale, or kill order). */
  sentencedToDeath?: string[];
}

export interface DeploymentStep {
  actions: DeploymentAction[];
}

/** A deployment plan: going from `original` to `target` in ordered steps. */
export interface DeploymentPlan {
  /** uuid */
  id: string;
  version: Timestamp;
  original: Group;
  target: Group;
  steps: DeploymentStep[];
  /** Apps touched (locked while the plan runs). */
  affectedApps: PathId[];
}

/** A running plan's progress, as /v2/deployments shows it. */
export interface DeploymentStatus {
  plan: DeploymentPlan;
  /** 1-based index of the step being executed (Marathon's currentStep). */
  currentStep: number;
  /** Readiness results per task for current actions. */
  readinessCheckResults: Array<{ taskId: string; name: string; ready: boolean; lastResponse?: { status: number; contentType: string; body: string } }>;
}

/** A failed task remembered per app (GET /v2/apps/{id} → lastTaskFailure). */
export interface TaskFailure {
  appId: PathId;
  host: string;
  message: string;
  state: string;
  taskId: string;
  timestamp: Timestamp;
  version: Timestamp;
  slaveId?: string;
}

/** One entry of the launch queue (/v2/queue). */
export interface QueueEntry {
  app: AppDefinition;
  /** Instances still to launch. */
  count: number;
  role: string;
  delay: { timeLeftSeconds: number; overdue: boolean };
  since: Timestamp;
  processedOffersSummary: {
    processedOffersCount: number;
    unusedOffersCount: number;
    lastUnusedOfferAt?: Timestamp;
    lastUsedOfferAt?: Timestamp;
    rejectSummaryLastOffers: Array<{ reason: string; declined: number; processed: number }>;
    rejectSummaryLaunchAttempt: Array<{ reason: string; declined: number; processed: number }>;
  };
  lastUnusedOffers?: unknown[];
}

/**
 * Events on the Marathon event bus (/v2/events). Each has Marathon's `eventType` and a
 * `timestamp`; the rest are the event's own fields, exactly as Marathon serialises them.
 */
export interface MarathonEvent {
  eventType: string;
  timestamp: Timestamp;
  [field: string]: unknown;
}
