/**
 * The v1 scheduler HTTP edge: SUBSCRIBE stream headers and framing, and every refusal
 * status (400/403/405/406/413/415) with Mesos's messages.
 */
import t from 'tap';
import http from 'node:http';
import { RecordIODecoder } from '../../sdk/protocol/index.js';
import { FakeSlave, TestScheduler, frameworkInfo, request, startTestMaster } from './master-kit.js';

t.test('scheduler HTTP API', async (t) => {
  const m = await startTestMaster();
  t.teardown(() => m.cleanup());
  const json = { 'Content-Type': 'application/json' };

  await t.test('SUBSCRIBE: 200, exact Content-Type, stream id, chunked RecordIO, SUBSCRIBED first', async (t) => {
    const { status, headers, first, raw } = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; first: string; raw: string }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: m.port, method: 'POST', path: '/api/v1/scheduler', headers: { ...json, Accept: 'application/json' } }, (res) => {
        const decoder = new RecordIODecoder();
        let raw = '';
        res.on('data', (c: Buffer) => {
          raw += c.toString('utf8');
          const records = decoder.push(c);
          if (records.length > 0) {
            resolve({ status: res.statusCode!, headers: res.headers, first: records[0]!, raw });
            req.destroy();
          }
        });
      });
      req.on('error', reject);
      req.end(JSON.stringify({ type: 'SUBSCRIBE', subscribe: { framework_info: frameworkInfo() } }));
    });
    t.equal(status, 200);
    t.equal(headers['content-type'], 'application/json');
    t.match(headers['mesos-stream-id'], /^[0-9a-f-]{36}$/);
    t.equal(headers['transfer-encoding'], 'chunked');
    t.match(raw, /^\d+\n\{/);
    const event = JSON.parse(first);
    t.equal(event.type, 'SUBSCRIBED');
    t.match(event.subscribed.framework_id.value, new RegExp(`^${m.masterInfo.id}-\\d{4}$`));
    t.equal(event.subscribed.heartbeat_interval_seconds, 15);
    t.same(event.subscribed.master_info.id, m.masterInfo.id);
    t.equal(event.subscribed.master_info.ip, 16777343, '127.0.0.1 packed like Mesos');
    t.equal(event.subscribed.master_info.version, '1.11.0');
  });

  await t.test('SUBSCRIBE on the /master alias with a chunked body and duplicate Accept headers', async (t) => {
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1', port: m.port, method: 'POST', path: '/master/api/v1/scheduler',
        headers: { 'content-type': 'application/json' },
      }, resolve);
      req.setHeader('accept', ['text/html', '*/*']); // two Accept header lines
      req.on('error', reject);
      const body = JSON.stringify({ type: 'SUBSCRIBE', subscribe: { framework_info: frameworkInfo() } });
      req.write(body.slice(0, 10));
      req.end(body.slice(10));
    });
    t.equal(res.statusCode, 200);
    t.equal(res.headers['content-type'], 'application/json');
    res.destroy();
  });

  await t.test('HEARTBEATs follow at the interval', async (t) => {
    const m2 = await startTestMaster({ heartbeatIntervalMs: 20 });
    t.teardown(() => m2.cleanup());
    const s = new TestScheduler(m2.port);
    const sub = await s.subscribe();
    t.equal(sub.subscribed!.heartbeat_interval_seconds, 0.02);
    await s.next('HEARTBEAT');
    await s.next('HEARTBEAT');
    s.disconnect();
  });

  const scheduler = new TestScheduler(m.port);
  await scheduler.subscribe(frameworkInfo({ failover_timeout: 3600 }));
  t.teardown(() => scheduler.disconnect());

  await t.test('a valid call with the stream id → 202, empty body', async (t) => {
    const res = await scheduler.call({ type: 'REVIVE' });
    t.equal(res.status, 202);
    t.equal(res.body, '');
  });

  await t.test('lowercase headers and a chunked call body are accepted', async (t) => {
    const res = await request(m.port, {
      headers: { 'content-type': 'application/json', 'mesos-stream-id': scheduler.streamId },
      body: JSON.stringify({ type: 'SUPPRESS', framework_id: { value: scheduler.frameworkId } }),
      chunked: true,
    });
    t.equal(res.status, 202);
  });

  await t.test('405 for GET', async (t) => {
    const res = await request(m.port, { method: 'GET' });
    t.equal(res.status, 405);
    t.equal(res.headers.allow, 'POST');
  });

  await t.test('415 for other content types (protobuf included), 400 without one', async (t) => {
    for (const ct of ['text/plain', 'application/x-protobuf']) {
      const res = await request(m.port, { headers: { 'Content-Type': ct }, body: '{}' });
      t.equal(res.status, 415, ct);
      t.equal(res.body, "Expecting 'Content-Type' of application/json or application/x-protobuf");
    }
    const none = await request(m.port, { headers: {}, body: '{}' });
    t.equal(none.status, 400);
    t.match(none.body, /Content-Type/);
  });

  await t.test('400 for malformed JSON and invalid calls, with the reason', async (t) => {
    const bad = await request(m.port, { headers: json, body: '{"type": "SUBSCRIBE",' });
    t.equal(bad.status, 400);
    t.match(bad.body, /^Failed to parse body into JSON/);
    const unknownType = await request(m.port, { headers: json, body: '{"type":"NOPE"}' });
    t.equal(unknownType.status, 400);
    t.match(unknownType.body, /^Failed to convert JSON into Call protobuf/);
    const noFw = await request(m.port, { headers: json, body: '{"type":"REVIVE"}' });
    t.equal(noFw.status, 400);
    t.equal(noFw.body, "Failed to validate scheduler::Call: Expecting 'framework_id' to be present");
    const noPayload = await scheduler.call({ type: 'ACCEPT' });
    t.equal(noPayload.status, 400);
    t.match(noPayload.body, /Expecting 'accept' to be present/);
    const badUuid = await scheduler.call({ type: 'ACKNOWLEDGE', acknowledge: { agent_id: { value: 'a' }, task_id: { value: 't' }, uuid: 'bm90LWEtdXVpZA==' } });
    t.equal(badUuid.status, 400);
  });

  await t.test('400 for a missing or mismatched Mesos-Stream-Id', async (t) => {
    const missing = await request(m.port, { headers: json, body: JSON.stringify({ type: 'REVIVE', framework_id: { value: scheduler.frameworkId } }) });
    t.equal(missing.status, 400);
    t.equal(missing.body, "All non-subscribe calls should include the 'Mesos-Stream-Id' header");
    const wrong = await scheduler.call({ type: 'REVIVE' }, { 'Mesos-Stream-Id': 'not-the-stream' });
    t.equal(wrong.status, 400);
    t.match(wrong.body, /didn't match the stream ID/);
  });

  await t.test('400 for an unknown framework (Mesos: "Framework cannot be found")', async (t) => {
    const res = await request(m.port, { headers: { ...json, 'Mesos-Stream-Id': scheduler.streamId }, body: JSON.stringify({ type: 'REVIVE', framework_id: { value: 'nope' } }) });
    t.equal(res.status, 400);
    t.equal(res.body, 'Framework cannot be found');
  });

  await t.test('403 for a known framework that is not subscribed', async (t) => {
    const s = new TestScheduler(m.port);
    await s.subscribe(frameworkInfo({ failover_timeout: 3600 }));
    const streamId = s.streamId;
    s.disconnect();
    const fw = m.state.frameworks.get(s.frameworkId)!;
    for (let i = 0; i < 200 && fw.connected; i++) await new Promise((r) => setImmediate(r));
    t.equal(fw.connected, false);
    const res = await s.call({ type: 'REVIVE' }, { 'Mesos-Stream-Id': streamId });
    t.equal(res.status, 403);
    t.equal(res.body, 'Framework is not subscribed');
  });

  await t.test('406 when Accept does not allow JSON (SUBSCRIBE)', async (t) => {
    const res = await request(m.port, {
      headers: { ...json, Accept: 'application/x-protobuf' },
      body: JSON.stringify({ type: 'SUBSCRIBE', subscribe: { framework_info: frameworkInfo() } }),
    });
    t.equal(res.status, 406);
    t.match(res.body, /Expecting 'Accept' to allow/);
  });

  await t.test('413 for an oversize body (declared or chunked)', async (t) => {
    const big = Buffer.alloc(9 * 1024 * 1024, 0x20);
    const declared = await request(m.port, { headers: json, body: big });
    t.equal(declared.status, 413);
    const chunked = await request(m.port, { headers: json, body: big, chunked: true });
    t.equal(chunked.status, 413);
  });

  await t.test('the master still serves after all that', async (t) => {
    const slave = new FakeSlave(m.port);
    await slave.register();
    t.ok(m.state.agents.has(slave.agentId));
    slave.close();
    const res = await scheduler.call({ type: 'REVIVE' });
    t.equal(res.status, 202);
  });
});
