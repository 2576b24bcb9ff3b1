/**
 * Shared by the Marathon HA component tests: in-process Marathons in HA mode (startMarathon
 * with `zk`) on a real cluster, and REST helpers to count tasks.
 */
import { startMarathon, type RunningMarathon } from '../../frameworks/marathon/main.js';
import type { Cluster } from '../helpers/cluster.js';
import { getJson } from '../helpers/http.js';
import { EventLog, waitFor } from '../helpers/wait.js';
import type { LogRecord, Teardownable } from '../helpers/agora-process.js';
import { recordingLogger, SOON } from './marathon-engine-kit.js';

export { SOON };

export interface HaMarathon { m: RunningMarathon; logs: EventLog<LogRecord> }

export async function startHaMarathon(t: Teardownable, c: Cluster, zkUrl: string, workDir: string, onLeadershipLost?: (reason: string) => void): Promise<HaMarathon> {
  const logs = new EventLog<LogRecord>();
  const m = await startMarathon({
    master: c.masterAddress, zk: zkUrl, zkSessionTimeoutMs: 4000, port: 0, host: '127.0.0.1', hostname: '127.0.0.1', workDir, logger: recordingLogger(logs),
    ...(onLeadershipLost !== undefined ? { onLeadershipLost } : {}),
  });
  t.teardown(() => m.close());
  return { m, logs };
}

export async function runningTaskIds(url: string, appId: string): Promise<string[]> {
  const r = await getJson(`${url}/v2/apps${appId}/tasks`);
  return (r.body.tasks as Array<{ id: string; state: string }>).filter((x) => x.state === 'TASK_RUNNING').map((x) => x.id).sort();
}

export async function masterLive(c: Cluster, frameworkId: string): Promise<string[]> {
  const tasks = (await getJson(`${c.masterUrl}/master/tasks`)).body.tasks as Array<{ id: string; state: string; framework_id: string }>;
  return tasks.filter((x) => x.framework_id === frameworkId && ['TASK_STAGING', 'TASK_STARTING', 'TASK_RUNNING'].includes(x.state)).map((x) => x.id).sort();
}

export async function deploymentsDone(url: string): Promise<void> {
  await waitFor(async () => {
    const r = await getJson(`${url}/v2/deployments`);
    return r.status === 200 && (r.body as unknown[]).length === 0;
  }, { timeoutMs: SOON, what: 'deployments to finish', intervalMs: 200 });
}

