/**
 * Auto-acknowledgements over the real HTTP transport (against a tiny fake master): the body
 * built by hand is exactly the JSON of `acknowledge(status)`, a 503 is retried after a
 * backoff on the injected clock, a refusal is logged and the next update is still
 * acknowledged, and teardown() waits for the acknowledgements already made.
 */
import t from 'tap';
import type http from 'node:http';
import { pino } from 'pino';
import { silentLogger } from '../../sdk/core/log.js';
import type { SchedulerCall } from '../../sdk/protocol/index.js';
import { acknowledgeCallJson } from '../../sdk/scheduler/calls.js';
import { calls, Scheduler, type SchedulerOptions } from '../../sdk/scheduler/index.js';
import { deferred, ManualClock, startFakeMasters, updateEvent } from './scheduler-helpers.js';

const UUID = 'muxXMqtYcyDUHKK6lYQoMg==';

function scheduler(port: number, extra: Partial<SchedulerOptions> = {}): { s: Scheduler; clock: ManualClock } {
  const clock = new ManualClock();
  const s = new Scheduler({
    master: `127.0.0.1:${port}`, frameworkInfo: { user: 'tester', name: 'acks' }, clock, logger: silentLogger(), random: () => 0.5, ...extra,
  });
  t.teardown(() => s.stop());
  return { s, clock };
}

t.test('acknowledgeCallJson is JSON.stringify of the acknowledge call with its framework id, for any strings', async (t) => {
  const odd = ['plain', 'del \u007f and \u2028 separators', 'with "quotes" and \\backslash\\', 'tab\tnew\nline\u0000nul', 'ünïcødé ✓ 🚀', '\ud800 lone surrogate', ''];
  // (labelled by index: a raw U+2028 in an assertion message would break the TAP output)
  odd.forEach((fw, i) => {
    odd.forEach((id, j) => {
      const expected = JSON.stringify({ ...calls.acknowledge(`agent-${id}`, id, `${id}==`), framework_id: { value: fw } });
      t.equal(acknowledgeCallJson(fw, `agent-${id}`, id, `${id}==`), expected, `framework id #${i}, task id #${j}`);
    });
  });
});

t.test('an auto-acknowledgement answered 503 is sent again after a backoff, and teardown waits for it', async (t) => {
  const [master] = await startFakeMasters(t, 1);
  const gate = deferred();
  let released = false;
  let acks = 0;
  let teardownAfterAck: boolean | undefined;
  master!.onCall = (req, res: http.ServerResponse) => {
    if (req.body.type === 'ACKNOWLEDGE' && ++acks === 1) res.writeHead(503).end('not ready');
    else if (req.body.type === 'ACKNOWLEDGE') void gate.promise.then(() => res.writeHead(202).end());
    else {
      if (req.body.type === 'TEARDOWN') teardownAfterAck = released;
      res.writeHead(202).end();
    }
  };
  const { s, clock } = scheduler(master!.port, { backoffMs: 100, maxBackoffMs: 100 });
  const handled: string[] = [];
  s.on('UPDATE', (status) => { handled.push(status.task_id.value); });
  await s.start();
  const nextRetry = clock.nextTimer((tm) => tm.delay <= 100);
  master!.broadcast(updateEvent('task-1', 'TASK_RUNNING', UUID));
  const first = await master!.calls.next();
  const expected: SchedulerCall = { type: 'ACKNOWLEDGE', framework_id: { value: 'fw-1' }, acknowledge: { agent_id: { value: 'agent-1' }, task_id: { value: 'task-1' }, uuid: UUID } };
  t.same(first.body, expected, 'the acknowledgement of the update');
  t.equal(first.headers['mesos-stream-id'], 'stream-1', 'sent on the subscription stream');
  const retry = await nextRetry;
  t.equal(retry.delay, 75, 'the call backoff (equal jitter at 0.5), on the injected clock');
  clock.advance(retry.delay);
  const second = await master!.calls.next();
  t.same(second.body, expected, 'the same acknowledgement again');
  const flushing = clock.nextTimer((tm) => tm.delay === 2_000);
  const tornDown = s.teardown();
  const flushTimer = await flushing;
  t.ok(flushTimer, 'teardown is waiting (at most 2 s) for the acknowledgement in flight');
  released = true;
  gate.resolve();
  await tornDown;
  t.equal(teardownAfterAck, true, 'TEARDOWN went once the acknowledgement was answered');
  t.same(handled, ['task-1']);
  t.equal(s.state, 'stopped');
});

t.test('a refused acknowledgement is logged, not retried, and the next update is still acknowledged', async (t) => {
  const [master] = await startFakeMasters(t, 1);
  const logged: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => { logged.push(JSON.parse(line).msg as string); } });
  let refused = false;
  master!.onCall = (_req, res: http.ServerResponse) => {
    if (!refused) {
      refused = true;
      res.writeHead(400).end('bad uuid');
    } else {
      res.writeHead(202).end();
    }
  };
  const { s } = scheduler(master!.port, { logger });
  await s.start();
  master!.broadcast(updateEvent('task-1', 'TASK_RUNNING', UUID));
  const first = await master!.calls.next();
  t.equal(first.body.acknowledge?.task_id.value, 'task-1');
  master!.broadcast(updateEvent('task-2', 'TASK_RUNNING', UUID));
  const second = await master!.calls.next();
  t.equal(second.body.acknowledge?.task_id.value, 'task-2', 'the next acknowledgement, not a retry of the refused one');
  await s.teardown();
  t.ok(logged.includes('acknowledgement failed (the update will be resent)'), 'the refusal was logged');
  t.equal(master!.received.filter((r) => r.body.type === 'ACKNOWLEDGE').length, 2);
});
