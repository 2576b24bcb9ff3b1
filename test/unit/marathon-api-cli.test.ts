/**
 * `agora apps`' client side against the API over an in-memory service: following a
 * deployment to deployment_success / deployment_failed, progress rendering, definitions.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import t from 'tap';
import { appIdArg, bar, followDeployment, MarathonApiError, MarathonClient, ProgressLine, readDefinition, table } from '../../bin/commands/apps.js';
import { startApi } from './marathon-api-kit.js';

function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => { text += c.toString(); });
  return { stream, text: () => text };
}

t.test('followDeployment ends with the deployment: success → ok, failure → not ok', async (t) => {
  const h = await startApi(t);
  const client = new MarathonClient(h.url);
  const out = sink();

  const ok = followDeployment(client, async () => {
    const r = await client.request('POST', '/v2/apps', { id: '/f', cmd: 'sleep 1' });
    const id = r.headers.get('marathon-deployment-id')!;
    // The engine would report the end on the bus; the stream is already open.
    setImmediate(() => h.service.publish({ eventType: 'deployment_success', timestamp: '2026-01-01T00:00:00.000Z', id }));
    return id;
  }, { appId: '/f', progress: new ProgressLine(out.stream) });
  t.same(await ok, { ok: true });

  const failed = followDeployment(client, async () => {
    const r = await client.request('PUT', '/v2/apps/f?force=true', { instances: 4 });
    setImmediate(() => h.service.publish({ eventType: 'deployment_failed', timestamp: '2026-01-01T00:00:00.000Z', id: r.body.deploymentId, reason: 'no offers' }));
    return r.body.deploymentId;
  }, { progress: new ProgressLine(out.stream) });
  t.same(await failed, { ok: false, reason: 'no offers' });

  // API errors surface with Marathon's message.
  await t.rejects(client.request('GET', '/v2/apps/nope'), new MarathonApiError(404, { message: "App '/nope' does not exist" }));
});

t.test('followDeployment without an event stream polls /v2/deployments until the deployment is gone', async (t) => {
  const h = await startApi(t);
  const client = new MarathonClient(h.url);
  // A client whose event stream cannot open.
  const noStream = Object.create(client) as MarathonClient;
  noStream.events = async () => {
    throw new Error('no stream');
  };
  const out = sink();
  let polls = 0;
  const original = noStream.request.bind(client);
  noStream.request = async (method: string, p: string, body?: unknown) => {
    if (p === '/v2/deployments' && ++polls === 2) h.service.running = [];
    return original(method, p, body);
  };
  const r = await followDeployment(noStream, async () => {
    const res = await client.request('POST', '/v2/apps', { id: '/p', cmd: 'sleep 1' });
    return res.headers.get('marathon-deployment-id')!;
  }, { appId: '/p', progress: new ProgressLine(out.stream) });
  t.same(r, { ok: true });
  t.match(out.text(), /\[-{20}\] 0\/1 running · deployment \w{8} step 1\/2 StartApplication \/p/);
});

t.test('helpers: bar, table, ids, definitions (JSON and YAML)', async (t) => {
  t.equal(bar(0, 4, 8), '[--------]');
  t.equal(bar(2, 4, 8), '[####----]');
  t.equal(bar(5, 4, 8), '[########]');
  t.equal(bar(0, 0, 4), '[####]');
  t.equal(table(['A', 'BB'], [['x', 'y'], ['long', 'z']]), 'A     BB\nx     y\nlong  z\n');
  t.equal(appIdArg('prod//web/'), '/prod/web');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agora-apps-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'a.json'), '{"id":"/a","cmd":"sleep 1"}');
  fs.writeFileSync(path.join(dir, 'a.yaml'), 'id: /a\ncmd: sleep 1\ninstances: 2\n');
  fs.writeFileSync(path.join(dir, 'bad.json'), '{"id":');
  t.same(await readDefinition(path.join(dir, 'a.json')), { id: '/a', cmd: 'sleep 1' });
  t.same(await readDefinition(path.join(dir, 'a.yaml')), { id: '/a', cmd: 'sleep 1', instances: 2 });
  await t.rejects(readDefinition(path.join(dir, 'bad.json')), /not valid JSON/);
});
