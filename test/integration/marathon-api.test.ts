/**
 * The Marathon REST API on a real cluster (master + 2 slaves as processes, Marathon
 * in-process): the event stream, an app's life through POST / GET / scale / restart /
 * DELETE, and `agora apps` following deployments.
 */
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import t from 'tap';
import { silentLogger } from '../../sdk/core/log.js';
import { startMarathon } from '../../frameworks/marathon/main.js';
import { spawnAgora } from '../helpers/agora-process.js';
import { cluster, tempWorkDir } from '../helpers/cluster.js';
import { getJson, postJson } from '../helpers/http.js';
import { EventLog } from '../helpers/wait.js';

const SOON = 60_000;

interface Frame { event: string; data: any }

/** Opens /v2/events; frames go to an EventLog. */
function openEvents(t: { teardown(fn: () => unknown): void }, url: string): Promise<{ status: number; frames: EventLog<Frame> }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${url}/v2/events`, { headers: { accept: 'text/event-stream' } }, (res) => {
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
      resolve({ status: res.statusCode!, frames });
    });
    req.on('error', reject);
    t.teardown(() => req.destroy());
  });
}

async function request(method: string, url: string, body?: unknown): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(url, {
    method,
    headers: body !== undefined ? { 'content-type': 'application/json' } : {},
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) };
}

t.test('an app through the REST API on a real cluster', async (t) => {
  const c = await cluster(t, { slaves: 2 });
  const workDir = tempWorkDir(t, 'agora-marathon-');
  const m = await startMarathon({ master: c.masterAddress, port: 0, host: '127.0.0.1', hostname: '127.0.0.1', workDir, store: 'memory', logger: silentLogger() });
  t.teardown(() => m.close());

  const events = await openEvents(t, m.url);
  t.equal(events.status, 200);
  const first = await events.frames.waitFor(() => true, SOON, 'the first event');
  t.equal(first.event, 'event_stream_attached');

  const deploymentDone = (id: string): Promise<Frame> =>
    events.frames.waitFor((f) => (f.event === 'deployment_success' || f.event === 'deployment_failed') && f.data.id === id, SOON, `deployment ${id} to end`);

  // POST: 201 with the deployment; the deployment succeeds; GET shows two running tasks.
  const created = await postJson(`${m.url}/v2/apps`, { id: '/it/sleeper', cmd: 'sleep 1000', instances: 2, cpus: 0.1, mem: 32 });
  t.equal(created.status, 201);
  const d1 = created.headers.get('marathon-deployment-id')!;
  t.match(created.body, { id: '/it/sleeper', tasksRunning: 0, deployments: [{ id: d1 }] });
  t.equal((await deploymentDone(d1)).event, 'deployment_success');
  t.ok(events.frames.events.some((f) => f.event === 'api_post_event' && f.data.appDefinition.id === '/it/sleeper'), 'api_post_event on the stream');
  t.ok(events.frames.events.some((f) => f.event === 'status_update_event' && f.data.taskStatus === 'TASK_RUNNING'), 'status updates on the stream');

  const shown = await getJson(`${m.url}/v2/apps/it/sleeper`);
  t.equal(shown.status, 200);
  t.match(shown.body.app, { instances: 2, tasksRunning: 2, tasksStaged: 0, deployments: [] });
  t.equal(shown.body.app.tasks.length, 2);
  for (const task of shown.body.app.tasks) t.match(task, { appId: '/it/sleeper', state: 'TASK_RUNNING', host: '127.0.0.1', slaveId: String, startedAt: String });
  const listed = await getJson(`${m.url}/v2/apps`);
  t.match(listed.body.apps, [{ id: '/it/sleeper', tasksRunning: 2 }]);
  const tasks = await getJson(`${m.url}/v2/tasks?status=running`);
  t.equal(tasks.body.tasks.length, 2);

  // Scale to 3.
  const scaled = await request('PUT', `${m.url}/v2/apps/it/sleeper`, { instances: 3 });
  t.equal(scaled.status, 200);
  t.equal((await deploymentDone(scaled.body.deploymentId)).event, 'deployment_success');
  t.equal((await getJson(`${m.url}/v2/apps/it/sleeper`)).body.app.tasksRunning, 3);

  // Restart: every task replaced by one of the new version.
  const before = (await getJson(`${m.url}/v2/apps/it/sleeper/tasks`)).body.tasks.map((x: { id: string }) => x.id);
  const restarted = await request('POST', `${m.url}/v2/apps/it/sleeper/restart`);
  t.equal(restarted.status, 200);
  t.equal((await deploymentDone(restarted.body.deploymentId)).event, 'deployment_success');
  const after = (await getJson(`${m.url}/v2/apps/it/sleeper`)).body.app;
  t.equal(after.tasks.filter((x: { state: string }) => x.state === 'TASK_RUNNING').length, 3);
  t.notOk(after.tasks.some((x: { id: string }) => before.includes(x.id)), 'all tasks are new');
  for (const task of after.tasks) t.equal(task.version, after.version);

  // DELETE: the deployment stops the app; it is gone.
  const deleted = await request('DELETE', `${m.url}/v2/apps/it/sleeper`);
  t.equal(deleted.status, 200);
  t.equal((await deploymentDone(deleted.body.deploymentId)).event, 'deployment_success');
  t.equal((await getJson(`${m.url}/v2/apps/it/sleeper`)).status, 404);
  t.same((await getJson(`${m.url}/v2/tasks`)).body.tasks, []);
});

t.test('agora apps follows deployments to their end', async (t) => {
  const c = await cluster(t, { slaves: 1 });
  const workDir = tempWorkDir(t, 'agora-marathon-');
  const m = await startMarathon({ master: c.masterAddress, port: 0, host: '127.0.0.1', hostname: '127.0.0.1', workDir, store: 'memory', logger: silentLogger() });
  t.teardown(() => m.close());
  const file = path.join(workDir, 'app.json');
  fs.writeFileSync(file, JSON.stringify({ id: '/cli/web', cmd: 'sleep 1000', instances: 1, cpus: 0.1, mem: 32 }));
  const apps = async (...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> => {
    const p = spawnAgora(['apps', ...args, '--marathon', m.url], { t });
    const { code } = await p.waitForExit(SOON);
    return { code, stdout: p.stdout, stderr: p.stderr };
  };

  const create = await apps('create', '-f', file);
  t.equal(create.code, 0, create.stderr);
  t.match(create.stderr, /created \/cli\/web/);
  t.match(create.stderr, /deployment finished/);
  t.equal((await getJson(`${m.url}/v2/apps/cli/web`)).body.app.tasksRunning, 1, 'running when create returns');

  const scale = await apps('scale', 'cli/web', '2');
  t.equal(scale.code, 0, scale.stderr);
  t.equal((await getJson(`${m.url}/v2/apps/cli/web`)).body.app.tasksRunning, 2, 'scaled when scale returns');

  const list = await apps('list');
  t.equal(list.code, 0);
  t.match(list.stdout, /^ID\s+RUNNING/m);
  t.match(list.stdout, /^\/cli\/web\s+2\/2/m);

  const tasks = await apps('tasks', '/cli/web');
  t.equal(tasks.code, 0);
  t.equal(tasks.stdout.trim().split('\n').length, 3, 'a header and two tasks');

  const restart = await apps('restart', 'cli/web');
  t.equal(restart.code, 0, restart.stderr);

  const missing = await apps('show', 'nope');
  t.equal(missing.code, 1);
  t.match(missing.stderr, /HTTP 404: App '\/nope' does not exist/);

  const del = await apps('delete', 'cli/web');
  t.equal(del.code, 0, del.stderr);
  t.equal((await getJson(`${m.url}/v2/apps/cli/web`)).status, 404);
});

t.test('agora apps exits non-zero when the deployment fails', async (t) => {
  const c = await cluster(t, { slaves: 1 });
  const workDir = tempWorkDir(t, 'agora-marathon-');
  const m = await startMarathon({ master: c.masterAddress, port: 0, host: '127.0.0.1', hostname: '127.0.0.1', workDir, store: 'memory', logger: silentLogger() });
  t.teardown(() => m.close());
  const file = path.join(workDir, 'huge.json');
  // No slave has 64 cpus: the deployment cannot finish until it is cancelled.
  fs.writeFileSync(file, JSON.stringify({ id: '/cli/huge', cmd: 'sleep 1000', instances: 1, cpus: 64, mem: 32 }));
  const p = spawnAgora(['apps', 'create', '-f', file, '--marathon', m.url], { t });
  const line = await p.stderrLines.waitFor((l) => /created \/cli\/huge \(deployment [0-9a-f-]+\)/.test(l), SOON, 'the deployment id');
  const id = /deployment ([0-9a-f-]+)/.exec(line)![1]!;
  const cancelled = await request('DELETE', `${m.url}/v2/deployments/${id}?force=true`);
  t.equal(cancelled.status, 202);
  const { code } = await p.waitForExit(SOON);
  t.equal(code, 1);
  t.match(p.stderr, /deployment failed/);
});
