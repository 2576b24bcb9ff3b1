/**
 * event-json.ts writes UPDATE events from a template: its records must be byte for byte what
 * `JSON.stringify` and `Buffer.byteLength` make, for every event, the odd ones included
 * (quotes, backslashes, control, non-ASCII and lone surrogate characters, unknown or nested
 * fields, undefined values, key orders, inherited keys, other event types).
 */
import t from 'tap';
import { eventRecord, pushEventRecord, updateJson } from '../../master/scheduler-api/event-json.js';
import type { SchedulerEvent } from '../../sdk/protocol/index.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const reference = (event: unknown): string => {
  const json = JSON.stringify(event);
  return `${Buffer.byteLength(json)}\n${json}`;
};

const ODD = ['"', '\\', '\n', '\u0000', '\u001f', '\u007f', 'é', '€', '😀', '\ud800', '\udc00', '/', ' ', '\t'];

function text(random: () => number): string {
  const n = Math.floor(random() * 12);
  let s = '';
  for (let i = 0; i < n; i++) {
    s += random() < 0.06 ? ODD[Math.floor(random() * ODD.length)]! : String.fromCharCode(0x21 + Math.floor(random() * 94));
  }
  return s;
}

function id(random: () => number): unknown {
  const r = random();
  if (r < 0.9) return { value: text(random) };
  if (r < 0.93) return { value: text(random), extra: 1 };
  if (r < 0.96) return { value: 7 };
  return {};
}

const NUMBERS = [1795706195.182, 0, -0, 1e21, 1.5e-7, 123456789.123456, NaN, Infinity];

function status(random: () => number): Record<string, unknown> {
  const fields: Array<[string, () => unknown]> = [
    ['task_id', () => id(random)],
    ['state', () => (random() < 0.9 ? 'TASK_RUNNING' : text(random))],
    ['source', () => 'SOURCE_EXECUTOR'],
    ['reason', () => text(random)],
    ['message', () => text(random)],
    ['agent_id', () => id(random)],
    ['executor_id', () => id(random)],
    ['timestamp', () => NUMBERS[Math.floor(random() * NUMBERS.length)]],
    ['uuid', () => (random() < 0.9 ? 'SxuhlsGOXpP8TsCh/I7IJA==' : text(random))],
    ['data', () => text(random)],
    ['healthy', () => random() < 0.5],
    ['container_status', () => ({ network_infos: [] })],
    ['unknown_field', () => 'x'],
  ];
  const out: Record<string, unknown> = {};
  // Shuffled key order, some fields left out, rarely an undefined or a wrongly typed value.
  for (let i = fields.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [fields[i], fields[j]] = [fields[j]!, fields[i]!];
  }
  for (const [key, make] of fields) {
    const r = random();
    if (key === 'container_status' || key === 'unknown_field' ? r < 0.95 : r < 0.2) continue;
    out[key] = random() < 0.02 ? undefined : random() < 0.02 ? 42 : make();
  }
  return out;
}

t.test('records are JSON.stringify and Buffer.byteLength, byte for byte, over random events', async (t) => {
  const random = rng(7);
  let mismatches = 0;
  let plainAscii = 0;
  for (let i = 0; i < 20000; i++) {
    const r = random();
    const event: unknown = r < 0.9
      ? { type: 'UPDATE', update: { status: status(random) } }
      : r < 0.93 ? { update: { status: status(random) }, type: 'UPDATE' }
        : r < 0.96 ? { type: 'UPDATE', update: { status: status(random), extra: true } }
          : { type: 'HEARTBEAT' };
    const expected = reference(event);
    const got = eventRecord(event as SchedulerEvent);
    if (got !== expected) {
      mismatches++;
      if (mismatches < 5) t.fail(`event ${i}: ${JSON.stringify(got)} vs ${JSON.stringify(expected)}`);
    }
    if (expected.length === Buffer.byteLength(expected)) plainAscii++;
  }
  t.equal(mismatches, 0);
  t.ok(plainAscii > 5000, `many plain events among them (${plainAscii})`);
});

t.test('the usual UPDATE, an inherited key and a getter', async (t) => {
  const usual = {
    type: 'UPDATE',
    update: {
      status: {
        task_id: { value: 'b0-16319' }, state: 'TASK_STARTING', source: 'SOURCE_EXECUTOR',
        agent_id: { value: '03c3300b-84ef-4bdb-b6d5-6d94ef65c928-S832' }, executor_id: { value: 'agora-command-executor' },
        timestamp: 1795706195.182, uuid: 'SxuhlsGOXpP8TsCh/I7IJA==',
      },
    },
  } as SchedulerEvent;
  t.equal(eventRecord(usual), reference(usual));
  const inherited = Object.create({ uuid: 'inherited' }) as Record<string, unknown>;
  inherited.task_id = { value: 't' };
  inherited.state = 'TASK_RUNNING';
  const withInherited = { type: 'UPDATE', update: { status: inherited } } as unknown as SchedulerEvent;
  t.equal(eventRecord(withInherited), reference(withInherited), 'an inherited key is not written');
  const plain = '{"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},"state":"TASK_RUNNING"}}}';
  t.equal(eventRecord(withInherited), `${plain.length}\n${plain}`);
  t.equal(updateJson(usual), JSON.stringify(usual), 'the usual UPDATE takes the template');
  t.equal(updateJson(withInherited), undefined, 'a status with an inherited key does not');
  const escaped = { type: 'UPDATE', update: { status: { task_id: { value: 'a"b' }, state: 'TASK_RUNNING' } } } as SchedulerEvent;
  t.equal(updateJson(escaped), undefined, 'nor one with a string to escape');
  t.equal(eventRecord(escaped), reference(escaped));
  const offers = { type: 'OFFERS', offers: { offers: [] } } as SchedulerEvent;
  const offersJson = JSON.stringify(offers);
  t.equal(eventRecord(offers), `${offersJson.length}\n${offersJson}`);
});

t.test('records pushed as parts into one array join to the records one after the other', async (t) => {
  const random = rng(11);
  const events: SchedulerEvent[] = [];
  for (let i = 0; i < 500; i++) {
    // Usual updates, and ones that fail the template half-way (their parts must be taken back).
    events.push({ type: 'UPDATE', update: { status: status(random) } } as unknown as SchedulerEvent);
  }
  events.splice(250, 0, { type: 'HEARTBEAT' } as SchedulerEvent);
  const parts: string[] = [];
  for (const event of events) pushEventRecord(event, parts);
  t.equal(parts.join(''), events.map((e) => reference(e)).join(''), 'the stream\'s one join is every record in order');
  t.ok(parts.length > events.length * 2, 'the usual updates stay in parts (no string per record)');
  const failsLate = { type: 'UPDATE', update: { status: { task_id: { value: 't' }, state: 'TASK_RUNNING', message: 'a "quoted" word' } } } as SchedulerEvent;
  const out = ['before'];
  pushEventRecord(failsLate, out);
  t.equal(out.join(''), `before${reference(failsLate)}`, 'a template given up half-way leaves only its record after what was there');
});
