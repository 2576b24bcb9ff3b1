/**
 * A small in-memory MarathonService for the REST API tests: it applies changes to a root
 * group, keeps app versions, records a deployment per change (locking its apps), and holds
 * instances, failures, queue entries and events that tests set directly. It tests the HTTP
 * layer only: no scheduling happens.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { Clock, TimerHandle } from '../../sdk/core/clock.js';
import { silentLogger } from '../../sdk/core/log.js';
import { MarathonError, type ChangeOptions, type KillOptions, type MarathonService } from '../../frameworks/marathon/service.js';
import type {
  AppDefinition, DeploymentPlan, DeploymentStatus, DeploymentStep, Group, Instance, MarathonEvent, PathId, QueueEntry,
  TaskFailure, Timestamp,
} from '../../frameworks/marathon/model/types.js';
import { allApps, findApp, findGroup, nowTimestamp, putApp, removeApp, scaleApp } from '../../frameworks/marathon/model/index.js';
import { createMarathonApi } from '../../frameworks/marathon/api/index.js';

export const T0 = Date.parse('2026-01-01T00:00:00.000Z');

/** A clock that only moves when told; intervals are recorded, never fired unless asked. */
export class ManualClock implements Clock {
  ms = T0;
  timers: Array<{ fn: () => void; ms: number; cancelled: boolean }> = [];
  now(): number {
    return this.ms;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t = { fn, ms, cancelled: false };
    this.timers.push(t);
    return { cancel: () => { t.cancelled = true; } };
  }
  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.setTimeout(fn, ms);
  }
  /** Runs every live timer once (used to fire the SSE heartbeat). */
  fireAll(): void {
    for (const t of this.timers) if (!t.cancelled) t.fn();
  }
}

function emptyRootGroup(version: Timestamp): Group {
  return { id: '/', apps: [], groups: [], dependencies: [], version };
}

/** The deployment steps a change implies (enough for the API: start/stop/restart/scale). */
function stepsFor(original: Group, target: Group): { steps: DeploymentStep[]; affected: PathId[] } {
  const before = new Map(allApps(original).map((a) => [a.id, a]));
  const after = new Map(allApps(target).map((a) => [a.id, a]));
  const steps: DeploymentStep[] = [];
  const affected: PathId[] = [];
  const stops = [...before.keys()].filter((id) => !after.has(id));
  if (stops.length > 0) steps.push({ actions: stops.map((app) => ({ action: 'StopApplication', app })) });
  const starts = [...after.keys()].filter((id) => !before.has(id));
  if (starts.length > 0) steps.push({ actions: starts.map((app) => ({ action: 'StartApplication', app, scaleTo: 0 })) });
  const scales: DeploymentStep['actions'] = [];
  for (const [id, app] of after) {
    const old = before.get(id);
    if (old === undefined) scales.push({ action: 'ScaleApplication', app: id, scaleTo: app.instances });
    else if (JSON.stringify(old) !== JSON.stringify(app)) scales.push({ action: old.version !== app.version && old.versionInfo.lastConfigChangeAt !== app.versionInfo.lastConfigChangeAt ? 'RestartApplication' : 'ScaleApplication', app: id, scaleTo: app.instances });
  }
  if (scales.length > 0) steps.push({ actions: scales });
  for (const s of steps) for (const a of s.actions) if (!affected.includes(a.app)) affected.push(a.app);
  return { steps, affected };
}

export class FakeMarathonService implements MarathonService {
  root: Group;
  appHistory = new Map<PathId, AppDefinition[]>();
  groupHistory = new Map<PathId, Group[]>();
  instanceList: Instance[] = [];
  failures = new Map<PathId, TaskFailure>();
  running: DeploymentStatus[] = [];
  queueEntries: QueueEntry[] = [];
  published: MarathonEvent[] = [];
  listeners = new Set<(e: MarathonEvent) => void>();
  calls: Array<{ method: string; args: unknown[] }> = [];
  resets: PathId[] = [];
  abdicated = 0;
  elected = true;
  leader: string | undefined = '127.0.0.1:8080';
  metricValues: Record<string, number> = { 'marathon.apps.active.gauge': 0, 'marathon.http.requests.counter': 3 };

  constructor(readonly clock: ManualClock) {
    this.root = emptyRootGroup(nowTimestamp(clock.now()));
  }

  /** Next version: the clock moves by 1 ms per change so versions are distinct. */
  private nextVersion(): Timestamp {
    this.clock.ms += 1;
    return nowTimestamp(this.clock.ms);
  }

  rootGroup(): Group { return this.root; }
  apps(): AppDefinition[] { return allApps(this.root).sort((a, b) => a.id.localeCompare(b.id)); }
  app(id: PathId): AppDefinition | undefined { return findApp(this.root, id); }
  group(id: PathId): Group | undefined { return findGroup(this.root, id); }
  appVersions(id: PathId): Timestamp[] | undefined {
    const h = this.appHistory.get(id);
    return h === undefined ? undefined : h.map((a) => a.version).reverse();
  }
  appVersion(id: PathId, version: Timestamp): AppDefinition | undefined { return this.appHistory.get(id)?.find((a) => a.version === version); }
  groupVersions(id: PathId): Timestamp[] | undefined {
    const h = this.groupHistory.get(id);
    return h === undefined ? undefined : h.map((g) => g.version).reverse();
  }
  groupVersion(id: PathId, version: Timestamp): Group | undefined { return this.groupHistory.get(id)?.find((g) => g.version === version); }
  instances(appId: PathId): Instance[] { return this.instanceList.filter((i) => i.appId === appId); }
  allInstances(): Instance[] { return [...this.instanceList]; }
  lastTaskFailure(appId: PathId): TaskFailure | undefined { return this.failures.get(appId); }
  deployments(): DeploymentStatus[] { return [...this.running]; }
  queue(): QueueEntry[] { return [...this.queueEntries]; }
  deploymentsOf(appId: PathId): string[] { return this.running.filter((d) => d.plan.affectedApps.includes(appId)).map((d) => d.plan.id); }

  private record(root: Group): void {
    for (const app of allApps(root)) {
      const h = this.appHistory.get(app.id) ?? [];
      if (!h.some((a) => a.version === app.version)) h.push(app);
      this.appHistory.set(app.id, h);
    }
    const walk = (g: Group): void => {
      const h = this.groupHistory.get(g.id) ?? [];
      if (!h.some((x) => x.version === g.version)) h.push(g);
      this.groupHistory.set(g.id, h);
      g.groups.forEach(walk);
    };
    walk(root);
  }

  private deploy(original: Group, target: Group, version: Timestamp, options: ChangeOptions & { dryRun?: boolean } = {}, steps?: DeploymentStep[]): DeploymentPlan {
    const computed = stepsFor(original, target);
    const plan: DeploymentPlan = {
      id: randomUUID(), version, original, target, steps: steps ?? computed.steps,
      affectedApps: steps ? [...new Set(steps.flatMap((s) => s.actions.map((a) => a.app)))] : computed.affected,
    };
    if (options.dryRun) return plan;
    const blocking = this.running.filter((d) => d.plan.affectedApps.some((a) => plan.affectedApps.includes(a)));
    if (blocking.length > 0 && !options.force) {
      throw new MarathonError('locked',
        `App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/<DEPLOYMENT_ID>'.`,
        undefined, blocking.map((d) => d.plan.id));
    }
    if (options.force) this.running = this.running.filter((d) => !blocking.includes(d));
    this.root = target;
    this.record(target);
    this.running.push({ plan, currentStep: 1, readinessCheckResults: [] });
    return plan;
  }

  async updateRoot(change: (root: Group, version: Timestamp) => Group, options: ChangeOptions & { dryRun?: boolean } = {}): Promise<DeploymentPlan> {
    this.calls.push({ method: 'updateRoot', args: [options] });
    const version = this.nextVersion();
    const target = change(this.root, version);
    return this.deploy(this.root, target, version, options);
  }

  async restartApp(id: PathId, options: ChangeOptions = {}): Promise<DeploymentPlan> {
    this.calls.push({ method: 'restartApp', args: [id, options] });
    const app = this.app(id);
    if (app === undefined) throw new MarathonError('not-found', `App '${id}' does not exist`);
    const version = this.nextVersion();
    const next = { ...app, version, versionInfo: { ...app.versionInfo, lastConfigChangeAt: version } };
    return this.deploy(this.root, putApp(this.root, next, version), version, options, [{ actions: [{ action: 'RestartApplication', app: id }] }]);
  }

  async killInstances(appId: PathId, ids: string[], options: KillOptions = {}): Promise<{ killed: Instance[]; plan?: DeploymentPlan }> {
    this.calls.push({ method: 'killInstances', args: [appId, ids, options] });
    const killed = this.instanceList.filter((i) => i.appId === appId && (ids.includes(i.taskId) || ids.includes(i.instanceId)));
    return this.kill(appId, killed, options);
  }

  async killAppInstances(appId: PathId, options: KillOptions & { host?: string } = {}): Promise<{ killed: Instance[]; plan?: DeploymentPlan }> {
    this.calls.push({ method: 'killAppInstances', args: [appId, options] });
    const killed = this.instanceList.filter((i) => i.appId === appId && (options.host === undefined || i.host === options.host));
    return this.kill(appId, killed, options);
  }

  private kill(appId: PathId, killed: Instance[], options: KillOptions): { killed: Instance[]; plan?: DeploymentPlan } {
    const result = killed.map((i) => ({ ...i, condition: 'Killing' as const, goal: options.wipe ? 'Decommissioned' as const : i.goal }));
    if (!options.scale) return { killed: result };
    this.instanceList = this.instanceList.filter((i) => !killed.includes(i));
    const app = this.app(appId)!;
    const version = this.nextVersion();
    const next = scaleApp(app, Math.max(0, app.instances - killed.length), version);
    const plan = this.deploy(this.root, putApp(this.root, next, version), version, { force: options.force });
    return { killed: result, plan };
  }

  async cancelDeployment(id: string, options: { force?: boolean } = {}): Promise<DeploymentPlan | undefined> {
    this.calls.push({ method: 'cancelDeployment', args: [id, options] });
    const d = this.running.find((x) => x.plan.id === id);
    if (d === undefined) throw new MarathonError('not-found', `DeploymentPlan ${id} does not exist`);
    this.running = this.running.filter((x) => x !== d);
    if (options.force) return undefined;
    const version = this.nextVersion();
    let rolled = this.root;
    for (const appId of d.plan.affectedApps) {
      const old = findApp(d.plan.original, appId);
      rolled = old === undefined ? removeApp(rolled, appId, version) : putApp(rolled, { ...old, version }, version);
    }
    return this.deploy(this.root, rolled, version, { force: true });
  }

  resetDelay(appId: PathId): void { this.resets.push(appId); }

  info(): ReturnType<MarathonService['info']> {
    return {
      frameworkId: 'fw-1', ...(this.leader !== undefined ? { leader: this.leader } : {}), elected: this.elected, version: '1.10.17',
      httpPort: 8080, hostname: '127.0.0.1', master: '127.0.0.1:5050', startedAt: nowTimestamp(T0),
    };
  }
  async abdicate(): Promise<void> { this.abdicated++; }
  metrics(): Record<string, number> { return { ...this.metricValues }; }
  subscribe(listener: (event: MarathonEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  publish(event: MarathonEvent): void {
    this.published.push(event);
    for (const l of [...this.listeners]) l(event);
  }

  /** Adds a running instance of `app` (test setup). */
  addInstance(appId: PathId, extra: Partial<Instance> = {}): Instance {
    const app = this.app(appId)!;
    const uuid = randomUUID();
    const safe = appId.slice(1).replace(/\//g, '_');
    const inst: Instance = {
      instanceId: `${safe}.instance-${uuid}`, appId, runSpecVersion: app.version, taskId: `${safe}.instance-${uuid}._app.1`, incarnation: 1,
      condition: 'Running', mesosState: 'TASK_RUNNING', agentId: 'agent-1', host: '127.0.0.1', hostPorts: [31001],
      stagedAt: nowTimestamp(this.clock.ms - 2000), startedAt: nowTimestamp(this.clock.ms - 1000), goal: 'Running', ...extra,
    };
    this.instanceList.push(inst);
    return inst;
  }
}

/** A running API over a fake service on 127.0.0.1:0. */
export interface ApiHarness {
  service: FakeMarathonService;
  clock: ManualClock;
  url: string;
  server: http.Server;
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; headers: Headers; body: any; text: string }>;
}

/** Starts the API for a test; closed at teardown. */
export async function startApi(t: { teardown(fn: () => unknown): void }): Promise<ApiHarness> {
  const clock = new ManualClock();
  const service = new FakeMarathonService(clock);
  const api = createMarathonApi({ service, clock, logger: silentLogger() });
  const server = http.createServer(api);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const request: ApiHarness['request'] = async (method, path, body, headers = {}) => {
    const init: RequestInit = { method, headers: { ...headers }, redirect: 'manual', signal: AbortSignal.timeout(10_000) };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
    }
    const res = await fetch(url + path, init);
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      // keep text
    }
    return { status: res.status, headers: res.headers, body: parsed as any, text };
  };
  return { service, clock, url, server, request };
}
