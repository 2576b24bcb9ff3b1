/**
 * How the master talks to its peers: `run_task` JSON that reuses the framework's serialised
 * info (master/agent-endpoint.ts); the SUBSCRIBE stream that joins the RecordIO records
 * of one turn into one write (master/scheduler-api/stream.ts); and decoding a received frame
 * without copying it (sdk/core/ws-text.ts).
 */
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import t from 'tap';
import { serialiseMasterMessage, taskJson } from '../../master/agent-endpoint.js';
import { HttpEventStream } from '../../master/scheduler-api/stream.js';
import { wsText } from '../../sdk/core/ws-text.js';
import { RecordIODecoder, type MasterMessage, type SchedulerEvent } from '../../sdk/protocol/index.js';

t.test('run_task JSON is the same as JSON.stringify, and follows a replaced framework info', async (t) => {
  const info = { user: 'u', name: 'fw "quoted" ✓', id: { value: 'f1' }, roles: ['a'], failover_timeout: 10 };
  const task = {
    name: 't', task_id: { value: 't1' }, agent_id: { value: 'a1' },
    resources: [{ name: 'cpus', type: 'SCALAR' as const, scalar: { value: 0.1 } }], command: { value: 'true' },
  };
  const first: MasterMessage = { type: 'run_task', framework: info, task };
  t.same(JSON.parse(serialiseMasterMessage(first)), JSON.parse(JSON.stringify(first)));
  t.equal(serialiseMasterMessage(first), JSON.stringify(first), 'byte for byte (same key order)');
  t.equal(serialiseMasterMessage(first), serialiseMasterMessage(first), 'a second send reuses the cached info');
  // The master replaces a framework's info on UPDATE_FRAMEWORK; the new object is serialised anew.
  const updated = { ...info, name: 'renamed' };
  const second: MasterMessage = { type: 'run_task', framework: updated, task };
  t.equal(serialiseMasterMessage(second), JSON.stringify(second));
  const other: MasterMessage = { type: 'kill_task', framework_id: { value: 'f1' }, task_id: { value: 't1' } };
  t.equal(serialiseMasterMessage(other), JSON.stringify(other), 'other messages are plain JSON.stringify');
});

t.test('run_task task JSON reuses the shared resource list and agent id, byte for byte', async (t) => {
  const info = { user: 'u', name: 'fw' };
  const resources = [
    { name: 'cpus', type: 'SCALAR' as const, scalar: { value: 0.1 }, allocation_info: { role: '*' } },
    { name: 'mem', type: 'SCALAR' as const, scalar: { value: 32 }, allocation_info: { role: '*' } },
  ];
  const agentId = { value: 'm-S7' };
  const tasks = Array.from({ length: 5 }, (_, i) => ({
    name: `t${i}`, task_id: { value: `t${i}` }, agent_id: agentId, resources, command: { value: 'true', shell: true },
  }));
  for (const task of tasks) {
    const message: MasterMessage = { type: 'run_task', framework: info, task };
    t.equal(serialiseMasterMessage(message), JSON.stringify(message), `${task.name}: the shared parts reused, same bytes`);
  }
  // Another list and id (another kind of task, another agent) are serialised anew, then the
  // first ones again.
  const other = { name: 'x', task_id: { value: 'x' }, agent_id: { value: 'm-S8' }, resources: [{ name: 'gpus', type: 'SCALAR' as const, scalar: { value: 1 } }] };
  t.equal(taskJson(other), JSON.stringify(other));
  t.equal(taskJson(tasks[0]!), JSON.stringify(tasks[0]));
  // Keys in the task's own order, keys needing escapes, values without JSON left out as
  // JSON.stringify leaves them out, nested toJSON honoured.
  const odd = {
    command: { value: 'sleep 1' }, 'we"ird\\key': 1, name: 'n', skipped: undefined, fn: () => 1, when: new Date(0),
    task_id: { value: 't' }, resources, agent_id: agentId, labels: { labels: [{ key: 'k', value: 'ü✓' }] },
  };
  t.equal(taskJson(odd), JSON.stringify(odd), 'any plain object, byte for byte');
  t.equal(taskJson({}), '{}');
  t.equal(taskJson({ a: undefined }), '{}', 'nothing with JSON: an empty object');
  // Not a plain object, or one with its own toJSON: JSON.stringify as a whole.
  class Task { name = 'c'; resources = resources; }
  t.equal(taskJson(new Task()), JSON.stringify(new Task()));
  const custom = { name: 'c', toJSON: () => ({ replaced: true }) };
  t.equal(taskJson(custom), '{"replaced":true}');
  const bare = Object.assign(Object.create(null) as object, { name: 'b', resources });
  t.equal(taskJson(bare), JSON.stringify(bare));
});

/** The parts of a ServerResponse the stream uses, recording each write. */
class FakeResponse extends EventEmitter {
  writes: string[] = [];
  ended = false;
  destroyed = false;
  get writableEnded(): boolean {
    return this.ended;
  }
  writeHead(): this {
    return this;
  }
  flushHeaders(): void {}
  write(chunk: string): boolean {
    this.writes.push(chunk);
    return true;
  }
  end(): void {
    this.ended = true;
  }
}

const heartbeat: SchedulerEvent = { type: 'HEARTBEAT' };
const update = (id: string): SchedulerEvent => ({ type: 'UPDATE', update: { status: { task_id: { value: id }, state: 'TASK_RUNNING' } } });

function decode(writes: string[]): SchedulerEvent[] {
  const decoder = new RecordIODecoder();
  return writes.flatMap((w) => decoder.push(Buffer.from(w, 'utf8'))).map((r) => JSON.parse(r) as SchedulerEvent);
}

t.test('events sent in one turn leave in one write, in order, as RecordIO records', async (t) => {
  const res = new FakeResponse();
  const stream = new HttpEventStream(res as unknown as ServerResponse, 'stream-1');
  const sent = [heartbeat, update('ü-1'), update('t2')];
  for (const e of sent) t.ok(stream.send(e));
  t.equal(res.writes.length, 0, 'nothing written before the turn ends');
  await new Promise<void>((resolve) => setImmediate(resolve));
  t.equal(res.writes.length, 1, 'one write for the turn');
  t.same(decode(res.writes), sent, 'multi-byte characters are counted in bytes');
  stream.send(update('t3'));
  await new Promise<void>((resolve) => setImmediate(resolve));
  t.equal(res.writes.length, 2, 'the next turn writes again');
});

t.test('close writes what was sent before ending; nothing is sent after', async (t) => {
  const res = new FakeResponse();
  const stream = new HttpEventStream(res as unknown as ServerResponse, 'stream-2');
  stream.send(update('last'));
  stream.close();
  t.ok(res.ended);
  t.same(decode(res.writes), [update('last')], 'the pending record was written before end');
  t.notOk(stream.send(heartbeat), 'a closed stream refuses events');
  await new Promise<void>((resolve) => setImmediate(resolve));
  t.equal(res.writes.length, 1, 'no write after end');
});

t.test('a received frame is decoded from a Buffer, fragments or an ArrayBuffer alike', async (t) => {
  const text = '{"type":"pong","note":"ü 😀"}';
  const buffer = Buffer.from(text, 'utf8');
  t.equal(wsText(buffer), text);
  // Split inside a multi-byte character: fragments are joined before decoding.
  t.equal(wsText([buffer.subarray(0, 23), buffer.subarray(23)]), text);
  const arrayBuffer = buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.length);
  t.equal(wsText(arrayBuffer), text);
});
