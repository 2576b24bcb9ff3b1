/**
 * The fast validators (sdk/protocol/fast-parse.ts) against zod, differentially: seeded random
 * valid messages of every protocol schema (every optional field present, absent or null,
 * unknown keys, null array elements) and mutations of them (wrong types, missing required
 * fields, extra keys, nulls, huge and non-finite numbers, wrong enums, `__proto__` and
 * `constructor` keys, deep nesting). Whenever the fast path answers, zod accepts the same
 * input and returns a deep-equal value with the same key order; whatever the fast path
 * answers, `safeParseJson` answers exactly what stripNulls + zod answer, errors included.
 * The real hot messages of the `launch` bench must take the fast path.
 */
import { isDeepStrictEqual } from 'node:util';
import t from 'tap';
import { z } from 'zod';
import {
  AgentMessage, ExecutorCall, ExecutorEvent, FALLBACK, FAST_PARSE_MAX_DEPTH, FrameworkInfo, MAX_JSON_DEPTH, MasterMessage, Offer,
  Resource, SchedulerCall, SchedulerEvent, TaskInfo, TaskStatus, fastParse, fastParser, fastParserSource, parseAgentMessage,
  parseMasterMessage, safeParseJson, slowParseJson, stripNulls, StatusUpdate,
} from '../../sdk/protocol/index.js';
import { arbitrary, mutate, prng } from './protocol-arbitrary.js';

const SCHEMAS: Array<[string, z.ZodType]> = [
  ['AgentMessage', AgentMessage], ['MasterMessage', MasterMessage], ['SchedulerCall', SchedulerCall],
  ['SchedulerEvent', SchedulerEvent], ['ExecutorCall', ExecutorCall], ['ExecutorEvent', ExecutorEvent],
  ['TaskStatus', TaskStatus], ['StatusUpdate', StatusUpdate], ['TaskInfo', TaskInfo], ['Resource', Resource],
  ['Offer', Offer], ['FrameworkInfo', FrameworkInfo],
];

interface Verdict {
  fastAnswered: boolean;
  mismatch?: string;
}

/** One input through both paths; a description of any disagreement. */
function compare(schema: z.ZodType, input: unknown): Verdict {
  const before = safeStringify(input);
  const fast = fastParse(schema, input);
  if (safeStringify(input) !== before) return { fastAnswered: fast !== FALLBACK, mismatch: 'the fast path changed its input' };
  const slow = slowParseJson(schema, input);
  const both = safeParseJson(schema, input);
  if (both.success !== slow.success) return { fastAnswered: fast !== FALLBACK, mismatch: `safeParseJson success ${both.success}, zod ${slow.success}` };
  if (!both.success && !slow.success && z.prettifyError(both.error) !== z.prettifyError(slow.error)) {
    return { fastAnswered: false, mismatch: 'different error messages' };
  }
  if (both.success && slow.success && (!isDeepStrictEqual(both.data, slow.data) || JSON.stringify(both.data) !== JSON.stringify(slow.data))) {
    return { fastAnswered: fast !== FALLBACK, mismatch: 'safeParseJson value differs from zod' };
  }
  if (fast === FALLBACK) return { fastAnswered: false };
  if (!slow.success) return { fastAnswered: true, mismatch: `fast path accepted, zod rejected: ${z.prettifyError(slow.error)}` };
  if (!isDeepStrictEqual(fast, slow.data)) return { fastAnswered: true, mismatch: 'values differ' };
  if (JSON.stringify(fast) !== JSON.stringify(slow.data)) return { fastAnswered: true, mismatch: 'key order differs' };
  return { fastAnswered: true };
}

function safeStringify(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'number' && !Number.isFinite(x) ? String(x) : x === undefined ? '<undefined>' : x)) ?? 'undefined';
  } catch (err) {
    return `<${(err as Error).message}>`;
  }
}

function describe(input: unknown): string {
  return safeStringify(input).slice(0, 600);
}

t.test('seeded valid messages: the fast path answers zod\'s value', async (t) => {
  for (const [name, schema] of SCHEMAS) {
    const rnd = prng(name.length * 7919 + 1);
    let answered = 0;
    let zodRejected = 0;
    const mismatches: string[] = [];
    const N = 400;
    for (let i = 0; i < N; i++) {
      const input = arbitrary(schema, rnd, { nullRate: i % 4 === 0 ? 0 : 0.15, records: i % 3 === 0 });
      if (!slowParseJson(schema, input).success) zodRejected++;
      const verdict = compare(schema, input);
      if (verdict.fastAnswered) answered++;
      if (verdict.mismatch !== undefined && mismatches.length < 3) mismatches.push(`${verdict.mismatch}: ${describe(input)}`);
    }
    t.strictSame(mismatches, [], `${name}: no disagreement over ${N} valid messages`);
    t.equal(zodRejected, 0, `${name}: every generated message is valid for zod`);
    // Records and passthrough objects holding objects go to zod; the rest is answered fast.
    t.ok(answered > 0, `${name}: the fast path answered ${answered} of ${N}`);
  }
});

t.test('seeded mutations: the fast path never accepts what zod rejects, errors are zod\'s', async (t) => {
  for (const [name, schema] of SCHEMAS) {
    const rnd = prng(name.length * 104729 + 3);
    let rejected = 0;
    let answered = 0;
    const mismatches: string[] = [];
    const N = 600;
    for (let i = 0; i < N; i++) {
      const input = mutate(arbitrary(schema, rnd, { nullRate: 0.1, records: i % 3 === 0 }), rnd);
      if (!slowParseJson(schema, input).success) rejected++;
      const verdict = compare(schema, input);
      if (verdict.fastAnswered) answered++;
      if (verdict.mismatch !== undefined && mismatches.length < 3) mismatches.push(`${verdict.mismatch}: ${describe(input)}`);
    }
    t.strictSame(mismatches, [], `${name}: no disagreement over ${N} mutated messages (${rejected} invalid, ${answered} answered fast)`);
    t.ok(rejected > N / 4, `${name}: the mutations produce invalid messages (${rejected})`);
  }
});

// The hot messages of `node dist/bench/launch.js`, as the processes exchanged them.
const FW = '655a71a8-8eb2-4398-a8de-e09310f4d3f4-0000';
const AGENT = '655a71a8-8eb2-4398-a8de-e09310f4d3f4-S0';
const RESOURCES = '[{"name":"cpus","type":"SCALAR","scalar":{"value":0.1},"role":"*","allocation_info":{"role":"*"}},{"name":"mem","type":"SCALAR","scalar":{"value":32},"role":"*","allocation_info":{"role":"*"}}]';
const TASK = (i: number): string => `{"name":"bench-launch-${i}","task_id":{"value":"bench-launch-${i}"},"agent_id":{"value":"${AGENT}"},"resources":${RESOURCES},"command":{"value":"true","shell":true}}`;
const STATUS = `{"task_id":{"value":"bench-launch-0"},"state":"TASK_STARTING","source":"SOURCE_EXECUTOR","executor_id":{"value":"agora-command-executor"},"agent_id":{"value":"${AGENT}"},"timestamp":1795686618.077,"uuid":"muxXMqtYcyDUHKK6lYQoMg=="}`;
const OFFER = (i: number): string => `{"id":{"value":"O${i}"},"framework_id":{"value":"${FW}"},"agent_id":{"value":"${AGENT}"},"hostname":"emu-0","url":{"scheme":"http","address":{"hostname":"emu-0","ip":"127.0.0.1","port":5051},"path":"/slave(1)"},"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":32},"allocation_info":{"role":"*"},"role":"*"},{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":31000,"end":32000}]},"role":"*"}],"attributes":[],"executor_ids":[],"allocation_info":{"role":"*"}}`;

const HOT_MESSAGES: Array<[string, z.ZodType, string]> = [
  ['status_update', AgentMessage, `{"type":"status_update","update":{"framework_id":{"value":"${FW}"},"executor_id":{"value":"agora-command-executor"},"status":${STATUS},"latest_state":"TASK_RUNNING"}}`],
  ['executor_exited', AgentMessage, `{"type":"executor_exited","framework_id":{"value":"${FW}"},"executor_id":{"value":"agora-command-executor"},"status":0}`],
  ['pong', AgentMessage, '{"type":"pong"}'],
  ['run_task', MasterMessage, `{"type":"run_task","framework":{"user":"root","name":"bench-launch","failover_timeout":60,"id":{"value":"${FW}"}},"task":${TASK(0)}}`],
  ['status_update_ack', MasterMessage, `{"type":"status_update_ack","framework_id":{"value":"${FW}"},"task_id":{"value":"bench-launch-0"},"uuid":"muxXMqtYcyDUHKK6lYQoMg=="}`],
  ['kill_task', MasterMessage, `{"type":"kill_task","framework_id":{"value":"${FW}"},"task_id":{"value":"t"},"kill_policy":{"grace_period":{"nanoseconds":"5000000000"}}}`],
  ['ping', MasterMessage, '{"type":"ping"}'],
  ['ACCEPT', SchedulerCall, `{"type":"ACCEPT","accept":{"offer_ids":[{"value":"O0"}],"operations":[{"type":"LAUNCH","launch":{"task_infos":[${TASK(0)},${TASK(1)}]}}],"filters":{"refuse_seconds":5}},"framework_id":{"value":"${FW}"}}`],
  ['ACKNOWLEDGE', SchedulerCall, `{"type":"ACKNOWLEDGE","acknowledge":{"agent_id":{"value":"${AGENT}"},"task_id":{"value":"bench-launch-0"},"uuid":"muxXMqtYcyDUHKK6lYQoMg=="},"framework_id":{"value":"${FW}"}}`],
  ['DECLINE', SchedulerCall, `{"type":"DECLINE","decline":{"offer_ids":[{"value":"O1"},{"value":"O2"}],"filters":{"refuse_seconds":60}},"framework_id":{"value":"${FW}"}}`],
  ['UPDATE', SchedulerEvent, `{"type":"UPDATE","update":{"status":${STATUS}}}`],
  ['OFFERS', SchedulerEvent, `{"type":"OFFERS","offers":{"offers":[${OFFER(0)},${OFFER(1)}]}}`],
  ['HEARTBEAT', SchedulerEvent, '{"type":"HEARTBEAT"}'],
  ['executor UPDATE', ExecutorCall, `{"executor_id":{"value":"e"},"framework_id":{"value":"${FW}"},"type":"UPDATE","update":{"status":${STATUS}}}`],
  ['executor LAUNCH', ExecutorEvent, `{"type":"LAUNCH","launch":{"task":${TASK(3)}}}`],
  ['executor ACKNOWLEDGED', ExecutorEvent, '{"type":"ACKNOWLEDGED","acknowledged":{"task_id":{"value":"t"},"uuid":"AAEC"}}'],
];

t.test('the hot messages of the launch bench take the fast path and equal zod\'s value', async (t) => {
  for (const [name, schema, text] of HOT_MESSAGES) {
    const json: unknown = JSON.parse(text);
    const fast = fastParse(schema, json);
    t.not(fast, FALLBACK, `${name}: answered by the fast path`);
    const slow = slowParseJson(schema, json);
    t.ok(slow.success, `${name}: valid for zod`);
    if (slow.success) t.strictSame(fast, slow.data, `${name}: the same value`);
    t.equal(JSON.stringify(fast), slow.success ? JSON.stringify(slow.data) : '', `${name}: the same key order`);
  }
  const ack = parseMasterMessage(HOT_MESSAGES[4]![2]);
  t.ok(ack.ok, 'parseMasterMessage takes it');
  const update = parseAgentMessage(HOT_MESSAGES[0]![2]);
  t.ok(update.ok && update.message.type === 'status_update' && update.message.update.latest_state === 'TASK_RUNNING', 'parseAgentMessage takes it');
  const kill = fastParse(MasterMessage, JSON.parse(HOT_MESSAGES[5]![2]));
  t.equal(kill !== FALLBACK && kill.type === 'kill_task' && kill.kill_policy?.grace_period?.nanoseconds, 5000000000, 'int64 strings become numbers like zod\'s transform');
});

t.test('edge cases decided like stripNulls + zod', async (t) => {
  const cases: Array<[string, z.ZodType, unknown]> = [
    ['own __proto__ key (JSON.parse)', TaskStatus, JSON.parse('{"__proto__":{"value":"x"},"task_id":{"value":"t"},"state":"TASK_RUNNING"}')],
    ['own __proto__ key with a null elsewhere', TaskStatus, JSON.parse('{"__proto__":{"value":"x"},"task_id":{"value":"t"},"state":"TASK_RUNNING","message":null}')],
    ['__proto__ standing in for a required id', z.object({ id: z.object({ value: z.string() }) }), JSON.parse('{"id":{"__proto__":{"value":"x"},"a":null}}')],
    ['constructor key', Resource, JSON.parse('{"constructor":{"name":"x"},"name":"cpus","type":"SCALAR","scalar":{"value":1}}')],
    ['a null required field', Resource, { name: null, type: 'SCALAR' }],
    ['null array elements', Offer, JSON.parse(`{"id":{"value":"o"},"framework_id":{"value":"f"},"agent_id":{"value":"a"},"hostname":"h","resources":[null,{"name":"cpus","type":"SCALAR","scalar":{"value":1}},null]}`)],
    ['Infinity from 1e999', Resource, JSON.parse('{"name":"cpus","type":"SCALAR","scalar":{"value":1e999}}')],
    ['NaN', Resource, { name: 'cpus', type: 'SCALAR', scalar: { value: NaN } }],
    ['-0', Resource, { name: 'cpus', type: 'SCALAR', scalar: { value: -0 } }],
    ['2^53 as an int', MasterMessage, { type: 'executor_exited', framework_id: { value: 'f' }, executor_id: { value: 'e' }, status: 2 ** 53 }],
    ['int64 string too big for a double', TaskInfo, { name: 'n', task_id: { value: 't' }, agent_id: { value: 'a' }, kill_policy: { grace_period: { nanoseconds: '123456789012345678901' } } }],
    ['uint64 string of 17 digits', Resource, { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: '12345678901234567', end: 1 }] } }],
    ['unknown key holding 70 levels', TaskStatus, { task_id: { value: 't' }, state: 'TASK_RUNNING', extra: JSON.parse(`${'['.repeat(70)}${']'.repeat(70)}`) }],
    ['unknown key holding a small object', TaskStatus, { task_id: { value: 't' }, state: 'TASK_RUNNING', extra: { a: 1 } }],
    ['an explicit undefined', TaskStatus, { task_id: { value: 't' }, state: 'TASK_RUNNING', message: undefined }],
    ['a class instance', Resource, new (class { name = 'cpus'; type = 'SCALAR'; })()],
    ['an inherited field', Resource, Object.assign(Object.create({ name: 'cpus' }) as object, { type: 'SCALAR' })],
    ['a null-prototype object', Resource, Object.assign(Object.create(null) as object, { name: 'cpus', type: 'SCALAR' })],
    ['a non-enumerable field', Resource, Object.defineProperty({ type: 'SCALAR' }, 'name', { value: 'cpus', enumerable: false })],
    ['passthrough keeps scalar extras after the shape', TaskInfo, { name: 'n', task_id: { value: 't' }, agent_id: { value: 'a' }, container: { z: 1, type: 'MESOS', a: 'x', n: null } }],
    ['passthrough with an object extra', TaskInfo, { name: 'n', task_id: { value: 't' }, agent_id: { value: 'a' }, container: { type: 'MESOS', mesos: { image: {} } } }],
    ['a record field', TaskStatus, { task_id: { value: 't' }, state: 'TASK_RUNNING', container_status: { a: null, b: 1 } }],
    ['a sparse array', Offer, { id: { value: 'o' }, framework_id: { value: 'f' }, agent_id: { value: 'a' }, hostname: 'h', executor_ids: [, { value: 'e' }] }],
    ['an array where an object goes', Resource, ['cpus']],
    ['an unknown discriminator', AgentMessage, { type: 'launch_missiles' }],
    ['a discriminator from the prototype', AgentMessage, Object.create({ type: 'pong' })],
    ['a discriminator null', AgentMessage, { type: null }],
    ['the root null', AgentMessage, null],
    ['a string root', SchedulerCall, 'ACCEPT'],
    ['empty id value', SchedulerCall, { type: 'DECLINE', framework_id: { value: '' }, decline: {} }],
    ['a single astral character id', SchedulerCall, { type: 'TEARDOWN', framework_id: { value: '😀' } }],
  ];
  for (const [label, schema, input] of cases) {
    const verdict = compare(schema, input);
    t.equal(verdict.mismatch, undefined, `${label}: both paths agree`);
  }
  // Nulls (absent optional fields, dropped array elements) and unknown scalar keys are common
  // in what Mesos clients send: they stay on the fast path.
  const nullField: [string, z.ZodType, unknown] = ['a null optional field', TaskStatus, { task_id: { value: 't' }, state: 'TASK_RUNNING', message: null, x: 1 }];
  for (const [label, schema, input] of [nullField, cases[5]!, cases[19]!]) {
    t.not(fastParse(schema, input), FALLBACK, `${label}: answered by the fast path`);
  }
  // The unknown 70-level key is what stripNulls refuses: the fast path must not accept it.
  const deep = safeParseJson(TaskStatus, cases[12]![2]);
  t.notOk(deep.success, 'too deep inside an unknown key is still refused');
  t.equal(FAST_PARSE_MAX_DEPTH, MAX_JSON_DEPTH, 'the fast path\'s depth limit is stripNulls\'');
});

t.test('safeParseJson never throws, whatever object it is given', async (t) => {
  const throwing = { type: 'SCALAR', get name(): string { throw new Error('getter'); } };
  const proxy = new Proxy({}, { getPrototypeOf() { throw new Error('trap'); } });
  for (const [label, input] of [['a throwing getter', throwing], ['a throwing proxy', proxy]] as const) {
    let result: ReturnType<typeof safeParseJson> | undefined;
    t.doesNotThrow(() => { result = safeParseJson(Resource, input); }, `${label}: does not throw`);
    t.equal(result?.success, false, `${label}: refused`);
  }
});

t.test('stripNulls keeps an own __proto__ key an own key', async (t) => {
  const input = JSON.parse('{"__proto__":{"value":"x"},"a":null}') as object;
  const out = stripNulls(input) as Record<string, unknown>;
  t.equal(Object.getPrototypeOf(out), Object.prototype, 'the copy\'s prototype is untouched');
  t.ok(Object.prototype.hasOwnProperty.call(out, '__proto__'), '__proto__ stays an own key');
  t.notOk('a' in out, 'the null key is gone');
  t.notOk(slowParseJson(z.object({ value: z.string() }), input).success, 'no field is read through the prototype');
});

t.test('constructs the fast path does not reproduce are left to zod', async (t) => {
  const schemas: Array<[string, z.ZodType, unknown[]]> = [
    ['refine', z.object({ a: z.string().refine((s) => s !== 'no') }), [{ a: 'no' }, { a: 'yes' }]],
    ['default', z.object({ a: z.string().default('d') }), [{}, { a: 'x' }]],
    ['email format', z.object({ a: z.email() }), [{ a: 'x@y.z' }, { a: 'x' }]],
    ['min(3) in the code-point range', z.object({ a: z.string().min(3) }), [{ a: '😀😀' }, { a: 'abcdef' }, { a: 'ab' }, { a: 'abc' }]],
    ['union of objects', z.object({ a: z.union([z.object({ x: z.string() }), z.object({ y: z.number() })]) }), [{ a: { x: 's' } }, { a: { y: 1 } }]],
    ['strict object', z.object({ a: z.string() }).strict(), [{ a: 'x' }, { a: 'x', b: 1 }]],
    ['nullable', z.object({ a: z.string().nullable() }), [{ a: null }, { a: 'x' }]],
    ['max length', z.object({ a: z.string().max(2) }), [{ a: 'abc' }, { a: 'ab' }]],
    ['int32 format', z.object({ a: z.int32() }), [{ a: 2 ** 31 }, { a: 1 }]],
    ['catchall string', z.object({ a: z.string() }).catchall(z.string()), [{ a: 'x', b: 1 }, { a: 'x', b: 'y' }]],
  ];
  for (const [label, schema, inputs] of schemas) {
    for (const input of inputs) t.equal(compare(schema, input).mismatch, undefined, `${label}: ${JSON.stringify(input)} agrees`);
  }
  t.equal(fastParser(z.email()), undefined, 'a string format alone generates nothing');
  t.equal(fastParser(z.record(z.string(), z.unknown())), undefined, 'a record alone generates nothing');
  t.equal(fastParse(z.object({ a: z.string().min(3) }), { a: 'abcdef' }) !== FALLBACK, true, 'min(3) answers outside the doubtful range');
  t.equal(fastParse(z.object({ a: z.string().min(3) }), { a: 'abc' }), FALLBACK, 'and leaves the doubtful range to zod');
  t.match(fastParserSource(TaskStatus) ?? '', /function object\d+\(v\)/, 'the generated source can be read');
});
