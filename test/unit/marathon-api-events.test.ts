/**
 * /v2/events over HTTP: 405 without `Accept: text/event-stream`, SSE framing, the first
 * event, event_type filters, heartbeats through the injected clock, unsubscribe on close.
 */
import http from 'node:http';
import t from 'tap';
import { EventLog } from '../helpers/wait.js';
import { startApi, type ApiHarness } from './marathon-api-kit.js';

interface SseClient {
  status: number;
  headers: http.IncomingHttpHeaders;
  frames: EventLog<{ event: string; data: any }>;
  raw: () => string;
  close(): void;
}

function openStream(h: ApiHarness, query = ''): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${h.url}/v2/events${query}`, { headers: { accept: 'text/event-stream' } }, (res) => {
      const frames = new EventLog<{ event: string; data: any }>();
      let raw = '';
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        raw += chunk;
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\r\n\r\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 4);
          const lines = block.split('\r\n');
          const event = lines.find((l) => l.startsWith('event: '))?.slice(7);
          const data = lines.find((l) => l.startsWith('data: '))?.slice(6);
          if (event !== undefined && data !== undefined) frames.push({ event, data: JSON.parse(data) });
        }
      });
      resolve({ status: res.statusCode!, headers: res.headers, frames, raw: () => raw, close: () => req.destroy() });
    });
    req.on('error', reject);
  });
}

t.test('GET /v2/events without Accept: text/event-stream is 405', async (t) => {
  const h = await startApi(t);
  const res = await h.request('GET', '/v2/events');
  t.equal(res.status, 405);
  const json = await h.request('GET', '/v2/events', undefined, { accept: 'application/json' });
  t.equal(json.status, 405);
});

t.test('the stream: attached first, then bus events as event/data frames; heartbeats; detach on close', async (t) => {
  const h = await startApi(t);
  const s = await openStream(h);
  t.teardown(() => s.close());
  t.equal(s.status, 200);
  t.match(s.headers['content-type'], /^text\/event-stream/);
  const first = await s.frames.waitFor(() => true, 5000, 'the first event');
  t.equal(first.event, 'event_stream_attached');
  t.match(first.data, { remoteAddress: '127.0.0.1', eventType: 'event_stream_attached', timestamp: /Z$/ });
  t.same(Object.keys(first.data).sort(), ['eventType', 'remoteAddress', 'timestamp']);

  await h.request('POST', '/v2/apps', { id: '/sse', cmd: 'sleep 1' });
  const post = await s.frames.waitFor((f) => f.event === 'api_post_event', 5000, 'api_post_event');
  t.match(post.data, { eventType: 'api_post_event', uri: '/v2/apps', appDefinition: { id: '/sse' } });

  h.service.publish({ eventType: 'deployment_success', timestamp: '2026-01-01T00:00:00.000Z', id: 'd1' });
  const done = await s.frames.waitFor((f) => f.event === 'deployment_success', 5000, 'deployment_success');
  t.same(done.data, { eventType: 'deployment_success', timestamp: '2026-01-01T00:00:00.000Z', id: 'd1' });
  t.match(s.raw(), /event: deployment_success\r\ndata: \{[^\r\n]*\}\r\n\r\n/);

  // The heartbeat timer is on the injected clock.
  h.clock.fireAll();
  h.service.publish({ eventType: 'marker', timestamp: '2026-01-01T00:00:00.000Z' });
  await s.frames.waitFor((f) => f.event === 'marker', 5000, 'marker');
  t.match(s.raw(), /\r\n\r\n\r\nevent: marker/, 'a bare CRLF heartbeat before the marker');

  t.equal(h.service.listeners.size, 1);
  const bus = new EventLog<string>();
  h.service.subscribe((e) => bus.push(e.eventType));
  s.close();
  await bus.waitFor((e) => e === 'event_stream_detached', 5000, 'event_stream_detached');
  t.equal(h.service.listeners.size, 1, 'the stream unsubscribed (only the test listener is left)');
});

t.test('event_type filters (repeatable)', async (t) => {
  const h = await startApi(t);
  const s = await openStream(h, '?event_type=deployment_success&event_type=deployment_failed');
  t.teardown(() => s.close());
  // The attached event is filtered out too (it is not one of the wanted types).
  h.service.publish({ eventType: 'status_update_event', timestamp: '2026-01-01T00:00:00.000Z' });
  h.service.publish({ eventType: 'deployment_failed', timestamp: '2026-01-01T00:00:00.000Z', id: 'x' });
  h.service.publish({ eventType: 'deployment_success', timestamp: '2026-01-01T00:00:00.000Z', id: 'y' });
  await s.frames.waitFor((f) => f.event === 'deployment_success', 5000, 'deployment_success');
  t.same(s.frames.events.map((f) => f.event), ['deployment_failed', 'deployment_success']);
});
