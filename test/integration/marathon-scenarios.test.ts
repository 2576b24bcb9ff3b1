/**
 * Marathon's scenarios on real processes (`agora master`, `agora slave`s, `agora marathon`),
 * driven only over HTTP (REST API and the /v2/events stream) and the `agora apps` CLI:
 *
 * - a `["hostname","UNIQUE"]` app spreads over three hosts, and a fourth instance waits in
 *   /v2/queue with UnfulfilledConstraint rejections;
 * - a crash-looping app's launch delay grows with each failure, and
 *   `DELETE /v2/queue/{id}/delay` clears it so the next launch follows at once;
 * - a SIGKILLed slave's instance is replaced on another slave, the other instance untouched;
 * - `agora apps create -f app.yaml` follows the deployment and `apps list` shows the app.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import t from 'tap';
import { spawnAgora, startAgora, type AgoraProcess, type Teardownable } from '../helpers/agora-process.js';
import { cluster, tempWorkDir, type Cluster, type ClusterOptions } from '../helpers/cluster.js';
import { getJson, postJson } from '../helpers/http.js';
import { EventLog, waitFor } from '../helpers/wait.js';

/** Failure bound of every wait (never a timing assertion). */
const SOON = 30_000;

interface Frame { event: string; data: any }

interface Stack {
  c: Cluster;
  marathon: AgoraProcess;
  url: string;
  frames: EventLog<Frame>;
}

/** Opens /v2/events; its frames go to an EventLog, in order. Resolves once the stream is attached. */
function openEvents(t: Teardownable, url: string): Promise<EventLog<Frame>> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${url}/v2/events`, { headers: { accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`GET /v2/events → ${res.statusCode}`));
        return;
      }
      const frames = new EventLog<Frame>();
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk.replace(/\r\n/g, '\n');
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event !== undefined && data !== undefined) frames.push({ event, data: JSON.parse(data) });
        }
      });
      res.on('close', () => frames.close(new Error('the event stream closed')));
      frames.waitFor((f) => f.event === 'event_stream_attached', SOON, 'event_stream_attached').then(() => resolve(frames), reject);
    });
    req.on('error', reject);
    t.teardown(() => req.destroy());
  });
}

/** A cluster, `agora marathon` subscribed to it, and its event stream open. */
async function stack(t: Teardownable, opts: ClusterOptions): Promise<Stack> {
  const c = await cluster(t, opts);
  const workDir = path.join(tempWorkDir(t, 'marathon-'), 'marathon');
  const marathon = await startAgora([
    'marathon', '--master', c.masterAddress, '--port', '0', '--work-dir', workDir, '--bind', '127.0.0.1', '--hostname', '127.0.0.1',
  ], { t, name: 'marathon' });
  await marathon.waitForLog((l) => l.msg === 'subscribed' && typeof l.framework_id === 'string', SOON, 'subscribed');
  const url = `http://127.0.0.1:${marathon.port}`;
  const frames = await openEvents(t, url);
  return { c, marathon, url, frames };
}

async function request(method: string, url: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(url, {
    method,
    headers: body !== undefined ? { 'content-type': 'application/json' } : {},
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
}

/** The deployment's end on the event stream. */
function deploymentEnd(frames: EventLog<Frame>, id: string): Promise<Frame> {
  return frames.waitFor((f) => (f.event === 'deployment_success' || f.event === 'deployment_failed') && f.data.id === id, SOON, `deployment ${id} to end`);
}

interface Task { id: string; state: string; host: string; slaveId: string }

async function tasksOf(url: string, appId: string): Promise<Task[]> {
  return (await getJson(`${url}/v2/apps${appId}/tasks`)).body.tasks as Task[];
}

async function queueEntry(url: string, appId: string): Promise<any> {
  return ((await getJson(`${url}/v2/queue`)).body.queue as any[]).find((e) => e.app.id === appId);
}

t.test('UNIQUE hostname spreads instances; one more waits in the queue', async (t) => {
  const hosts = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
  // Distinct advertised hostnames (all of 127.0.0.0/8 is loopback); they still bind 127.0.0.1.
  const { url, frames } = await stack(t, { slaves: 3, slaveArgs: (i) => ['--hostname', hosts[i]!] });

  const created = await postJson(`${url}/v2/apps`, { id: '/spread', cmd: 'exec sleep 3600', instances: 3, cpus: 0.1, mem: 16, constraints: [['hostname', 'UNIQUE']] });
  t.equal(created.status, 201, 'POST /v2/apps → 201');
  t.same(created.body.constraints, [['hostname', 'UNIQUE']]);
  t.equal((await deploymentEnd(frames, created.headers.get('marathon-deployment-id')!)).event, 'deployment_success');
  const tasks = await tasksOf(url, '/spread');
  t.equal(tasks.length, 3);
  t.ok(tasks.every((x) => x.state === 'TASK_RUNNING'), '3 Running');
  t.same(tasks.map((x) => x.host).sort(), hosts, 'one instance per host');
  t.equal(new Set(tasks.map((x) => x.slaveId)).size, 3, 'on 3 agents');

  // A 4th instance has no host left: it waits, and every offer is rejected for the constraint.
  const scaled = await request('PUT', `${url}/v2/apps/spread`, { instances: 4 });
  t.equal(scaled.status, 200, 'PUT instances 4 → 200');
  const entry = await waitFor(async () => {
    const e = await queueEntry(url, '/spread');
    const unfulfilled = e?.processedOffersSummary.rejectSummaryLastOffers.find((r: { reason: string }) => r.reason === 'UnfulfilledConstraint');
    return e !== undefined && unfulfilled?.declined >= 1 ? e : undefined;
  }, { timeoutMs: SOON, what: 'the queued instance to be rejected for UnfulfilledConstraint', intervalMs: 100 });
  t.equal(entry.count, 1, 'one instance waits');
  t.match(entry.delay, { timeLeftSeconds: 0, overdue: true }, 'no launch delay');
  const summary = entry.processedOffersSummary;
  t.ok(summary.processedOffersCount >= 1, 'offers were processed');
  t.equal(summary.unusedOffersCount, summary.processedOffersCount, 'none was used');
  for (const r of summary.rejectSummaryLastOffers) {
    if (r.reason === 'UnfulfilledConstraint') t.equal(r.declined, summary.unusedOffersCount, 'every unused offer declined for the constraint');
    else t.equal(r.declined, 0, `no ${r.reason} rejection`);
  }
  const after = await tasksOf(url, '/spread');
  t.same(after.map((x) => x.id).sort(), tasks.map((x) => x.id).sort(), 'still the same 3 tasks');
  t.equal((await getJson(`${url}/v2/deployments`)).body.length, 1, 'the scale deployment waits');
});

t.test('a crash-looping app backs off; DELETE /v2/queue/{id}/delay resets the delay', async (t) => {
  const { url, frames } = await stack(t, { slaves: 1 });
  const failed = (f: Frame): boolean => f.event === 'status_update_event' && f.data.appId === '/crash' && f.data.taskStatus === 'TASK_FAILED';

  const created = await postJson(`${url}/v2/apps`, { id: '/crash', cmd: 'exit 1', instances: 1, cpus: 0.1, mem: 16, backoffSeconds: 1, backoffFactor: 2, maxLaunchDelaySeconds: 60 });
  t.equal(created.status, 201, 'POST /v2/apps → 201');

  // After each failure the queue shows the new delay: 1 s, 2 s, 4 s, 8 s (whole seconds left).
  const samples: Array<{ timeLeftSeconds: number; overdue: boolean; at: number }> = [];
  let seen = 0;
  const failedTasks: string[] = [];
  for (let n = 1; n <= 4; n++) {
    const f = await frames.waitFor((x) => failed(x) && !failedTasks.includes(x.data.taskId), SOON, `failure ${n}`, seen);
    seen = frames.events.indexOf(f) + 1;
    failedTasks.push(f.data.taskId);
    const entry = await queueEntry(url, '/crash');
    t.ok(entry !== undefined, `queued after failure ${n}`);
    samples.push({ ...(entry?.delay ?? { timeLeftSeconds: 0, overdue: true }), at: Date.now() });
  }
  t.comment(`timeLeftSeconds after each failure: ${samples.map((s) => s.timeLeftSeconds).join(', ')}`);
  for (let i = 2; i < samples.length; i++) t.ok(samples[i]!.timeLeftSeconds > samples[i - 1]!.timeLeftSeconds, `the delay grew at failure ${i + 1}`);
  const last = samples[samples.length - 1]!;
  t.equal(last.overdue, false, 'the last delay is pending');
  t.ok(last.timeLeftSeconds >= 1, 'with time left');
  t.equal(new Set(failedTasks).size, 4, 'each failure is a new task');

  // The replacement waits in the queue (bounded polling) before the delay is cleared.
  await waitFor(async () => (await queueEntry(url, '/crash'))?.count === 1, { timeoutMs: SOON, what: 'the replacement to be queued', intervalMs: 50 });
  // The old delay's end, marked in the same event log: the launch must come before it.
  const oldDeadline = last.at + last.timeLeftSeconds * 1000;
  const mark = setTimeout(() => frames.push({ event: 'old_delay_expired', data: {} }), Math.max(0, oldDeadline - Date.now()));
  t.teardown(() => clearTimeout(mark));
  const before = frames.events.length;
  const reset = await request('DELETE', `${url}/v2/queue/crash/delay`);
  t.equal(reset.status, 204, 'DELETE /v2/queue/crash/delay → 204');
  const entry = await queueEntry(url, '/crash');
  if (entry !== undefined) {
    t.match(entry.delay, { timeLeftSeconds: 0, overdue: true }, 'the queue shows no delay');
  } else {
    // Launched already: the instance left the queue when its ACCEPT went out, possibly before
    // its first status update reached the event stream, but Marathon lists it as a task.
    const replacement = (await tasksOf(url, '/crash')).find((x) => !failedTasks.includes(x.id));
    t.ok(replacement !== undefined, 'the queue is empty only because the replacement already launched');
  }
  const next = await frames.waitFor(
    (f) => f.event === 'old_delay_expired' || (f.event === 'status_update_event' && f.data.appId === '/crash' && !failedTasks.includes(f.data.taskId)),
    SOON, 'a new task or the old delay to expire', before);
  t.equal(next.event, 'status_update_event', 'a new task started before the old delay would have run out');
  t.match(next.data.taskStatus, /^TASK_(STARTING|RUNNING|FAILED)$/, 'a status of the new task');
  const badReset = await request('DELETE', `${url}/v2/queue/nothing/delay`);
  t.equal(badReset.status, 404, 'an app not queued → 404');
  t.same(badReset.body, { message: 'Application /nothing not found in tasks queue.' });
});

t.test('SIGKILL a slave: its instances are replaced on the other slaves', async (t) => {
  // Slaves have 4 cpus and an instance takes 3: one instance per slave, and the third slave is the spare.
  const { c, url, frames } = await stack(t, { slaves: 3, masterArgs: ['--agent-ping-timeout', '300ms', '--max-agent-ping-timeouts', '2'] });
  const created = await postJson(`${url}/v2/apps`, { id: '/survivor', cmd: 'exec sleep 3600', instances: 2, cpus: 3, mem: 16 });
  t.equal(created.status, 201, 'POST /v2/apps → 201');
  t.equal((await deploymentEnd(frames, created.headers.get('marathon-deployment-id')!)).event, 'deployment_success');
  const tasks = await tasksOf(url, '/survivor');
  t.equal(tasks.filter((x) => x.state === 'TASK_RUNNING').length, 2, '2 Running');
  t.equal(new Set(tasks.map((x) => x.slaveId)).size, 2, 'on 2 slaves');

  const victim = c.slaves.find((s) => s.agentId === tasks[0]!.slaveId)!;
  const lost = tasks[0]!.id;
  const kept = tasks[1]!;
  const spare = c.slaves.find((s) => !tasks.some((x) => x.slaveId === s.agentId))!;
  const mark = frames.events.length;
  victim.proc.signal('SIGKILL');
  await victim.proc.waitForExit(SOON);

  // The master reports the lost task unreachable; Marathon replaces it on the spare slave.
  await frames.waitFor((f) => f.event === 'status_update_event' && f.data.taskId === lost && f.data.taskStatus === 'TASK_UNREACHABLE', SOON, `${lost} unreachable`, mark);
  const replaced = await waitFor(async () => {
    const now = await tasksOf(url, '/survivor');
    return now.filter((x) => x.state === 'TASK_RUNNING').length === 2 && now.every((x) => x.slaveId !== victim.agentId) ? now : undefined;
  }, { timeoutMs: SOON, what: 'the lost instance to be replaced', intervalMs: 100 });
  t.equal(replaced.length, 2, 'exactly 2 tasks');
  t.ok(replaced.every((x) => x.state === 'TASK_RUNNING'), 'both Running');
  t.notOk(replaced.some((x) => x.id === lost), 'the lost task is gone');
  t.ok(replaced.some((x) => x.id === kept.id && x.slaveId === kept.slaveId), 'the task on the other slave kept running');
  t.ok(replaced.some((x) => x.id !== kept.id && x.slaveId === spare.agentId), 'the replacement runs on the spare slave');
  const app = (await getJson(`${url}/v2/apps/survivor`)).body.app;
  t.match(app, { instances: 2, tasksRunning: 2, tasksStaged: 0 });
  t.same((await getJson(`${url}/v2/queue`)).body.queue, [], 'nothing waits');
});

t.test('agora apps create -f app.yaml follows the deployment; apps list shows the app', async (t) => {
  const { url } = await stack(t, { slaves: 1 });
  const dir = tempWorkDir(t, 'apps-yaml-');
  const file = path.join(dir, 'app.yaml');
  fs.writeFileSync(file, [
    'id: /cli/yaml',
    'cmd: exec sleep 3600',
    'instances: 2',
    'cpus: 0.1',
    'mem: 16',
    'env:',
    '  GREETING: hello',
    'labels:',
    '  team: agora',
    '',
  ].join('\n'));
  const apps = async (...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> => {
    const p = spawnAgora(['apps', ...args, '--marathon', url], { t });
    const { code } = await p.waitForExit(SOON);
    return { code, stdout: p.stdout, stderr: p.stderr };
  };

  const create = await apps('create', '-f', file);
  t.equal(create.code, 0, 'apps create exits 0');
  if (create.code !== 0) t.comment(create.stderr);
  t.match(create.stderr, /created \/cli\/yaml/);
  t.match(create.stderr, /deployment finished/);
  const app = (await getJson(`${url}/v2/apps/cli/yaml`)).body.app;
  t.match(app, { id: '/cli/yaml', instances: 2, tasksRunning: 2, env: { GREETING: 'hello' }, labels: { team: 'agora' }, deployments: [] }, 'running and read from YAML when create returns');

  const list = await apps('list');
  t.equal(list.code, 0, 'apps list exits 0');
  t.match(list.stdout, /^ID\s+RUNNING/m);
  t.match(list.stdout, /^\/cli\/yaml\s+2\/2\s+-\s+0\.1\s+16\s+no\s+exec sleep 3600$/m);
});
