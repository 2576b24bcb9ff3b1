/**
 * Readiness checks (Marathon's ReadinessCheckExecutor): during a deployment, each running
 * instance of an app with readinessChecks is probed with HTTP(S) GET on the host port named
 * `portName`, every intervalSeconds, until the answer's status is one of
 * httpStatusCodesForReady; then it is `ready` and its checks stop. The last results are kept
 * for /v2/deployments (readinessCheckResults).
 *
 * @module
 */
import http from 'node:http';
import https from 'node:https';
import type { Clock, TimerHandle } from '../../../../sdk/core/clock.js';
import type { Logger } from '../../../../sdk/core/log.js';
import type { AppDefinition, DeploymentStatus, Instance, ReadinessCheckDefinition } from '../../model/types.js';

/** One readiness answer. */
export interface ReadinessResponse {
  status: number;
  contentType: string;
  body: string;
}

/** GETs a URL; resolves undefined on errors and timeouts (never rejects). */
export type ReadinessFetch = (url: string, timeoutMs: number) => Promise<ReadinessResponse | undefined>;

/** Bodies longer than this are cut (preserveLastResponse keeps the start). */
const MAX_BODY = 64 * 1024;

/** The real fetch, timed out through `clock`. */
export function createReadinessFetch(clock: Clock): ReadinessFetch {
  return (url, timeoutMs) => new Promise((resolve) => {
    let settled = false;
    const lib = url.startsWith('https:') ? https : http;
    const req = lib.get(url, { ...(url.startsWith('https:') ? { rejectUnauthorized: false } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < MAX_BODY) chunks.push(c);
        size += c.length;
      });
      res.on('end', () => done({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString('utf8').slice(0, MAX_BODY) }));
      res.on('error', () => done(undefined));
    });
    const timer = clock.setTimeout(() => {
      req.destroy();
      done(undefined);
    }, timeoutMs);
    req.on('error', () => done(undefined));
    function done(r: ReadinessResponse | undefined): void {
      if (settled) return;
      settled = true;
      timer.cancel();
      resolve(r);
    }
  });
}

/** The URL a readiness check probes for an instance, undefined when its port is unknown. */
export function readinessUrl(app: AppDefinition, check: ReadinessCheckDefinition, instance: Instance): string | undefined {
  const index = app.portDefinitions.findIndex((p) => p.name === check.portName);
  const port = instance.hostPorts[index];
  if (index < 0 || port === undefined || instance.host === undefined) return undefined;
  return `${check.protocol === 'HTTPS' ? 'https' : 'http'}://${instance.host}:${port}${check.path.startsWith('/') ? '' : '/'}${check.path}`;
}

interface Checker {
  key: string;
  instanceId: string;
  taskId: string;
  check: ReadinessCheckDefinition;
  url: string;
  timer?: TimerHandle;
  stopped: boolean;
}

export interface ReadinessDeps {
  clock: Clock;
  logger: Logger;
  fetch: ReadinessFetch;
  instance(id: string): Instance | undefined;
  /** Records that every readiness check of the instance passed. */
  setReady(instanceId: string): Promise<void>;
}

export class ReadinessChecks {
  private readonly checkers = new Map<string, Checker>();
  private readonly results = new Map<string, DeploymentStatus['readinessCheckResults'][number]>();

  constructor(private readonly deps: ReadinessDeps) {}

  /** Checks the running, not yet ready instances of apps being deployed; stops the rest. */
  sync(instances: readonly Instance[], appOf: (i: Instance) => AppDefinition | undefined, deploying: ReadonlySet<string>): void {
    const wanted = new Set<string>();
    for (const i of instances) {
      if (i.condition !== 'Running' || i.goal !== 'Running' || i.ready === true || !deploying.has(i.appId)) continue;
      const app = appOf(i);
      if (app === undefined) continue;
      for (const check of app.readinessChecks) {
        const url = readinessUrl(app, check, i);
        if (url === undefined) continue;
        const key = `${i.taskId}#${check.name}`;
        wanted.add(key);
        if (!this.checkers.has(key)) this.start({ key, instanceId: i.instanceId, taskId: i.taskId, check, url, stopped: false });
      }
    }
    for (const [key, c] of this.checkers) if (!wanted.has(key)) this.stop(c);
    const live = new Set(instances.map((i) => i.taskId));
    for (const [key, r] of this.results) if (!live.has(r.taskId)) this.results.delete(key);
  }

  /** Results of the tasks of `taskIds` (for a deployment's readinessCheckResults). */
  resultsFor(taskIds: ReadonlySet<string>): DeploymentStatus['readinessCheckResults'] {
    return [...this.results.values()].filter((r) => taskIds.has(r.taskId));
  }

  close(): void {
    for (const c of [...this.checkers.values()]) this.stop(c);
  }

  private start(c: Checker): void {
    this.checkers.set(c.key, c);
    c.timer = this.deps.clock.setTimeout(() => void this.runOnce(c), 0);
  }

  private stop(c: Checker): void {
    c.stopped = true;
    c.timer?.cancel();
    this.checkers.delete(c.key);
  }

  private async runOnce(c: Checker): Promise<void> {
    if (c.stopped) return;
    const response = await this.deps.fetch(c.url, c.check.timeoutSeconds * 1000);
    if (c.stopped) return;
    const ready = response !== undefined && c.check.httpStatusCodesForReady.includes(response.status);
    this.results.set(c.key, {
      taskId: c.taskId,
      name: c.check.name,
      ready,
      ...(c.check.preserveLastResponse && response !== undefined ? { lastResponse: response } : {}),
    });
    if (!ready) {
      c.timer = this.deps.clock.setTimeout(() => void this.runOnce(c), c.check.intervalSeconds * 1000);
      return;
    }
    this.stop(c);
    const others = [...this.checkers.values()].filter((o) => o.instanceId === c.instanceId);
    if (others.length === 0) {
      try {
        await this.deps.setReady(c.instanceId);
      } catch (err) {
        this.deps.logger.warn({ err, taskId: c.taskId }, 'recording readiness failed');
      }
    }
  }
}
