/**
 * Shared by the engine's component tests: Marathon started in this process
 * (startMarathon) against a real cluster (test/helpers/cluster), its events and log lines
 * recorded for waiting, and small helpers to deploy apps through the service.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startMarathon, type RunningMarathon } from '../../frameworks/marathon/main.js';
import type { MarathonStore } from '../../frameworks/marathon/engine/store.js';
import { nowTimestamp, parseAppDefinition, putApp } from '../../frameworks/marathon/model/index.js';
import type { AppDefinition, DeploymentPlan, Instance, MarathonEvent, PathId } from '../../frameworks/marathon/model/types.js';
import type { Cluster } from '../helpers/cluster.js';
import type { LogRecord, Teardownable } from '../helpers/agora-process.js';
import { EventLog } from '../helpers/wait.js';
import { waitForSandboxOutput } from '../helpers/sandbox.js';

/** Bound on anything that should happen promptly (a failure limit, not a timing assertion). */
export const SOON = 60_000;

export interface TestMarathon {
  marathon: RunningMarathon;
  events: EventLog<MarathonEvent>;
  logs: EventLog<LogRecord>;
  close(): Promise<void>;
}

/** A pino logger whose JSON lines land in `logs` (and nowhere else). */
export function recordingLogger(logs: EventLog<LogRecord>): pino.Logger {
  let partial = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done): void {
      partial += chunk.toString('utf8');
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        try {
          logs.push(JSON.parse(line) as LogRecord);
        } catch {
          // not JSON
        }
      }
      done();
    },
  });
  return pino({ level: process.env.AGORA_LOG_LEVEL ?? 'info' }, sink);
}

/** Starts Marathon in this process on 127.0.0.1:0 and waits until its framework is subscribed. */
export async function startTestMarathon(
  t: Teardownable,
  c: Cluster,
  opts: { workDir: string; store?: 'file' | 'memory' | MarathonStore; reconciliationIntervalMs?: number },
): Promise<TestMarathon> {
  const logs = new EventLog<LogRecord>();
  const events = new EventLog<MarathonEvent>();
  const marathon = await startMarathon({
    master: c.masterAddress,
    port: 0,
    host: '127.0.0.1',
    hostname: '127.0.0.1',
    workDir: opts.workDir,
    store: opts.store ?? 'memory',
    logger: recordingLogger(logs),
    // A test asking for frequent reconciliation wants the periodic rounds from the start.
    ...(opts.reconciliationIntervalMs !== undefined ? { reconciliationIntervalMs: opts.reconciliationIntervalMs, reconciliationInitialDelayMs: opts.reconciliationIntervalMs } : {}),
  });
  marathon.service.subscribe((e) => events.push(e));
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await marathon.close();
  };
  t.teardown(close);
  await logs.waitFor((l) => l.msg === 'subscribed' && typeof l.framework_id === 'string', SOON, 'marathon subscribed');
  return { marathon, events, logs, close };
}

/** A normalised app from Marathon JSON (throws on validation errors). */
export function appFrom(json: Record<string, unknown>): AppDefinition {
  const r = parseAppDefinition(json, { now: nowTimestamp(Date.now()) });
  if (!r.ok) throw new Error(`invalid app: ${JSON.stringify(r)}`);
  return r.app;
}

/** Puts the app (new or changed) and returns the deployment. */
export function deployApp(m: TestMarathon, app: AppDefinition, force = false): Promise<DeploymentPlan> {
  return m.marathon.service.updateRoot((root, version) => putApp(root, { ...app, version, versionInfo: versionInfoFor(m, app, version) }, version), { force });
}

function versionInfoFor(m: TestMarathon, app: AppDefinition, version: string): AppDefinition['versionInfo'] {
  const current = m.marathon.service.app(app.id);
  if (current === undefined) return { lastScalingAt: version, lastConfigChangeAt: version };
  const { instances: _a, version: _b, versionInfo: _c, ...restA } = current;
  const { instances: _d, version: _e, versionInfo: _f, ...restB } = app;
  const sameConfig = JSON.stringify(restA) === JSON.stringify(restB);
  return { lastScalingAt: version, lastConfigChangeAt: sameConfig ? current.versionInfo.lastConfigChangeAt : version };
}

/** Waits for deployment_success (or fails on deployment_failed) of `plan`. */
export async function waitDeployed(m: TestMarathon, plan: DeploymentPlan, timeoutMs = SOON): Promise<void> {
  const e = await m.events.waitFor((e) => (e.eventType === 'deployment_success' || e.eventType === 'deployment_failed') && e.id === plan.id, timeoutMs, `deployment ${plan.id}`);
  if (e.eventType !== 'deployment_success') throw new Error(`deployment ${plan.id} failed`);
}

export function running(m: TestMarathon, appId: PathId): Instance[] {
  return m.marathon.service.instances(appId).filter((i) => i.condition === 'Running');
}

/** The PID of a task started with `echo $$; exec …`, read from its sandbox stdout. */
export async function taskPid(c: Cluster, frameworkId: string, instance: Instance): Promise<number> {
  const slave = c.slaves.find((s) => s.agentId === instance.agentId);
  if (slave === undefined) throw new Error(`no slave ${instance.agentId}`);
  const out = await waitForSandboxOutput(slave.url, frameworkId, instance.taskId, (s) => /^\d+\n/.test(s), { timeoutMs: SOON });
  return Number(out.trim().split('\n')[0]);
}
