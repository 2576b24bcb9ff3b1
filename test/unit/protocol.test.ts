import t from 'tap';
import {
  ExecutorCall, Offer, SCHEDULER_CALL_PAYLOAD, SchedulerCall, SchedulerEvent, TaskInfo, isTerminalState,
  parseAgentMessage, parseMasterMessage, stripNulls,
} from '../../sdk/protocol/index.js';

/** Validates a wire JSON text the way the endpoints do: JSON.parse, stripNulls, zod. */
function validate<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } }, text: string) {
  return schema.safeParse(stripNulls(JSON.parse(text)));
}

// A SUBSCRIBE as a real Mesos HTTP framework sends it (mesos/docs/scheduler-http-api.md,
// plus the fields mesos-go and Marathon fill in).
const SUBSCRIBE = `{
  "type": "SUBSCRIBE",
  "subscribe": {
    "framework_info": {
      "user": "foo",
      "name": "Example HTTP Framework",
      "roles": ["test", "test/child"],
      "capabilities": [{"type": "MULTI_ROLE"}, {"type": "RESERVATION_REFINEMENT"}, {"type": "PARTITION_AWARE"}, {"type": "TASK_KILLING_STATE"}],
      "failover_timeout": 604800,
      "checkpoint": true,
      "hostname": "sched-1.example.com",
      "principal": "my-principal",
      "webui_url": "http://sched-1.example.com:8080",
      "labels": {"labels": [{"key": "team", "value": "infra"}, {"key": "flag"}]}
    },
    "suppressed_roles": []
  }
}`;

t.test('a real SUBSCRIBE call parses', async (t) => {
  const r = validate(SchedulerCall, SUBSCRIBE);
  t.ok(r.success);
  if (!r.success) return;
  const info = r.data.subscribe!.framework_info;
  t.equal(r.data.type, 'SUBSCRIBE');
  t.equal(info.user, 'foo');
  t.equal(info.name, 'Example HTTP Framework');
  t.strictSame(info.roles, ['test', 'test/child']);
  t.strictSame(info.capabilities?.map((c) => c.type), ['MULTI_ROLE', 'RESERVATION_REFINEMENT', 'PARTITION_AWARE', 'TASK_KILLING_STATE']);
  t.equal(info.failover_timeout, 604800);
  t.equal(info.checkpoint, true);
  t.strictSame(info.labels, { labels: [{ key: 'team', value: 'infra' }, { key: 'flag' }] });
  t.equal(SCHEDULER_CALL_PAYLOAD.SUBSCRIBE, 'subscribe');

  const resubscribe = validate(SchedulerCall, JSON.stringify({
    framework_id: { value: 'a1b2-0000' },
    type: 'SUBSCRIBE',
    subscribe: { framework_info: { user: 'foo', name: 'fw', id: { value: 'a1b2-0000' }, role: 'legacy' } },
  }));
  t.ok(resubscribe.success, 'a resubscription with framework_id parses');
  if (resubscribe.success) t.equal(resubscribe.data.subscribe?.framework_info.id?.value, 'a1b2-0000');
});

t.test('ACCEPT with a LAUNCH operation, DECLINE, KILL, ACKNOWLEDGE, RECONCILE parse', async (t) => {
  const accept = validate(SchedulerCall, JSON.stringify({
    framework_id: { value: 'fw-1' },
    type: 'ACCEPT',
    accept: {
      offer_ids: [{ value: 'o-1' }],
      operations: [{
        type: 'LAUNCH',
        launch: {
          task_infos: [{
            name: 'web-1',
            task_id: { value: 't-1' },
            agent_id: { value: 'S0' },
            resources: [
              { name: 'cpus', type: 'SCALAR', scalar: { value: 0.5 }, role: '*', allocation_info: { role: 'test' } },
              { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 31000 }] }, allocation_info: { role: 'test' } },
            ],
            command: { value: 'python3 -m http.server $PORT0', shell: true, environment: { variables: [{ name: 'A', value: 'b' }] } },
            kill_policy: { grace_period: { nanoseconds: '5000000000' } },
          }],
        },
      }],
      filters: { refuse_seconds: 5.0 },
    },
  }));
  t.ok(accept.success);
  if (accept.success) {
    const task = accept.data.accept!.operations![0]!.launch!.task_infos![0]!;
    t.equal(task.resources?.length, 2);
    t.equal(task.kill_policy?.grace_period?.nanoseconds, 5000000000, 'int64 nanoseconds given as a string become a number');
  }
  for (const call of [
    { framework_id: { value: 'fw-1' }, type: 'DECLINE', decline: { offer_ids: [{ value: 'o-1' }], filters: { refuse_seconds: 60 } } },
    { framework_id: { value: 'fw-1' }, type: 'KILL', kill: { task_id: { value: 't-1' }, agent_id: { value: 'S0' } } },
    { framework_id: { value: 'fw-1' }, type: 'ACKNOWLEDGE', acknowledge: { agent_id: { value: 'S0' }, task_id: { value: 't-1' }, uuid: 'jhadf73jhakdlfha723adf' } },
    { framework_id: { value: 'fw-1' }, type: 'RECONCILE', reconcile: { tasks: [{ task_id: { value: 't-1' } }] } },
    { framework_id: { value: 'fw-1' }, type: 'REVIVE' },
    { framework_id: { value: 'fw-1' }, type: 'SUPPRESS', suppress: { roles: ['test'] } },
    { framework_id: { value: 'fw-1' }, type: 'TEARDOWN' },
  ]) {
    t.ok(SchedulerCall.safeParse(call).success, `${call.type} parses`);
  }
});

t.test('nulls in optional and repeated fields are accepted after stripNulls', async (t) => {
  const withNulls = `{
    "framework_id": null,
    "type": "SUBSCRIBE",
    "subscribe": {
      "framework_info": {
        "user": "foo", "name": "fw", "id": null, "roles": ["a", null, "b"], "capabilities": null,
        "labels": {"labels": null}, "failover_timeout": null, "hostname": null
      },
      "suppressed_roles": null
    },
    "accept": null
  }`;
  t.notOk(SchedulerCall.safeParse(JSON.parse(withNulls)).success, 'raw nulls do not validate');
  const r = validate(SchedulerCall, withNulls);
  t.ok(r.success, 'after stripNulls they do');
  if (r.success) {
    t.equal(r.data.framework_id, undefined);
    t.strictSame(r.data.subscribe!.framework_info.roles, ['a', 'b'], 'null array elements are removed');
    t.equal(r.data.subscribe!.framework_info.capabilities, undefined);
  }
  const input = { a: null, b: [1, null, { c: null, d: 2 }] };
  const frozen = JSON.stringify(input);
  t.strictSame(stripNulls(input), { b: [1, { d: 2 }] });
  t.equal(JSON.stringify(input), frozen, 'stripNulls does not mutate its input');
  t.equal(stripNulls(null), null);
  t.equal(stripNulls('x'), 'x');
});

t.test('unknown fields are ignored and stripped', async (t) => {
  const r = validate(SchedulerCall, JSON.stringify({
    type: 'SUBSCRIBE',
    future_field: { x: 1 },
    subscribe: { framework_info: { user: 'u', name: 'n', some_new_proto_field: true }, extra: 1 },
  }));
  t.ok(r.success);
  if (r.success) {
    t.notOk('future_field' in r.data, 'top-level unknown field dropped');
    t.notOk('some_new_proto_field' in r.data.subscribe!.framework_info, 'nested unknown field dropped');
    t.notOk('extra' in r.data.subscribe!, 'unknown field in the payload dropped');
  }
});

t.test('invalid scheduler calls are rejected', async (t) => {
  const bad: Array<[string, unknown]> = [
    ['missing type', { subscribe: { framework_info: { user: 'u', name: 'n' } } }],
    ['unknown enum', { type: 'SUBSCRIBEX' }],
    ['lower-case enum', { type: 'subscribe' }],
    ['missing user', { type: 'SUBSCRIBE', subscribe: { framework_info: { name: 'n' } } }],
    ['missing framework_info', { type: 'SUBSCRIBE', subscribe: {} }],
    ['failover_timeout as text', { type: 'SUBSCRIBE', subscribe: { framework_info: { user: 'u', name: 'n', failover_timeout: 'abc' } } }],
    ['negative failover_timeout', { type: 'SUBSCRIBE', subscribe: { framework_info: { user: 'u', name: 'n', failover_timeout: -1 } } }],
    ['roles not an array', { type: 'SUBSCRIBE', subscribe: { framework_info: { user: 'u', name: 'n', roles: 'test' } } }],
    ['offer_ids not an array', { type: 'DECLINE', decline: { offer_ids: { value: 'o' } } }],
    ['empty id value', { type: 'DECLINE', framework_id: { value: '' }, decline: {} }],
    ['id without value', { type: 'KILL', kill: { task_id: {} } }],
    ['id as a bare string', { type: 'KILL', kill: { task_id: 't-1' } }],
    ['acknowledge with empty uuid', { type: 'ACKNOWLEDGE', acknowledge: { agent_id: { value: 'a' }, task_id: { value: 't' }, uuid: '' } }],
    ['unknown operation type', { type: 'ACCEPT', accept: { operations: [{ type: 'EXPLODE' }] } }],
    ['resource with a bad value type', { type: 'ACCEPT', accept: { operations: [{ type: 'LAUNCH', launch: { task_infos: [{ name: 'x', task_id: { value: 't' }, agent_id: { value: 'a' }, resources: [{ name: 'cpus', type: 'DECIMAL' }] }] } }] } }],
    ['negative port', { type: 'ACCEPT', accept: { operations: [{ type: 'LAUNCH', launch: { task_infos: [{ name: 'x', task_id: { value: 't' }, agent_id: { value: 'a' }, resources: [{ name: 'ports', type: 'RANGES', ranges: { range: [{ begin: -1, end: 2 }] } }] }] } }] } }],
    ['task without agent_id', { type: 'ACCEPT', accept: { operations: [{ type: 'LAUNCH', launch: { task_infos: [{ name: 'x', task_id: { value: 't' } }] } }] } }],
    ['not an object', 'SUBSCRIBE'],
    ['null', null],
  ];
  for (const [label, call] of bad) t.notOk(SchedulerCall.safeParse(stripNulls(call)).success, label);
});

t.test('scheduler events validate', async (t) => {
  const offers = validate(SchedulerEvent, JSON.stringify({
    type: 'OFFERS',
    offers: { offers: [{
      id: { value: 'o-1' }, framework_id: { value: 'fw-1' }, agent_id: { value: 'S0' }, hostname: 'agent-1',
      resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 4 }, allocation_info: { role: 'test' } }],
      attributes: [{ name: 'rack', type: 'TEXT', text: { value: 'r1' } }],
      allocation_info: { role: 'test' },
    }] },
  }));
  t.ok(offers.success);
  t.ok(SchedulerEvent.safeParse({ type: 'HEARTBEAT' }).success);
  t.ok(SchedulerEvent.safeParse({ type: 'UPDATE', update: { status: { task_id: { value: 't' }, state: 'TASK_RUNNING', uuid: 'AAEC' } } }).success);
  t.notOk(SchedulerEvent.safeParse({ type: 'UPDATE', update: { status: { task_id: { value: 't' }, state: 'RUNNING' } } }).success, 'wrong state enum');
  t.notOk(Offer.safeParse({ id: { value: 'o' }, framework_id: { value: 'f' }, agent_id: { value: 'a' } }).success, 'offer without hostname');
  t.ok(isTerminalState('TASK_FINISHED'));
  t.notOk(isTerminalState('TASK_RUNNING'));
  t.notOk(isTerminalState('TASK_UNREACHABLE'), 'unreachable tasks may come back');
});

t.test('executor calls', async (t) => {
  const subscribe = validate(ExecutorCall, JSON.stringify({
    executor_id: { value: 'e-1' },
    framework_id: { value: 'fw-1' },
    type: 'SUBSCRIBE',
    subscribe: {
      unacknowledged_tasks: [],
      unacknowledged_updates: [{ framework_id: { value: 'fw-1' }, status: { task_id: { value: 't-1' }, state: 'TASK_RUNNING', source: 'SOURCE_EXECUTOR', uuid: 'AAEC', timestamp: 1700000000.5 } }],
    },
  }));
  t.ok(subscribe.success);
  const update = validate(ExecutorCall, JSON.stringify({
    executor_id: { value: 'e-1' }, framework_id: { value: 'fw-1' }, type: 'UPDATE',
    update: { status: { task_id: { value: 't-1' }, state: 'TASK_FINISHED', source: 'SOURCE_EXECUTOR', uuid: 'AAEC', executor_id: null, message: 'done', unknown: 1 } },
  }));
  t.ok(update.success);
  if (update.success) t.notOk('unknown' in update.data.update!.status);
  t.notOk(ExecutorCall.safeParse({ framework_id: { value: 'f' }, type: 'SUBSCRIBE' }).success, 'missing executor_id');
  t.notOk(ExecutorCall.safeParse({ executor_id: { value: 'e' }, framework_id: { value: 'f' }, type: 'LAUNCH' }).success, 'event type is not a call type');
  t.notOk(ExecutorCall.safeParse({ executor_id: { value: 'e' }, framework_id: { value: 'f' }, type: 'UPDATE', update: { status: { task_id: { value: 't' }, state: 'TASK_DONE' } } }).success, 'bad task state');
  t.notOk(ExecutorCall.safeParse({ executor_id: { value: 'e' }, framework_id: { value: 'f' }, type: 'UPDATE', update: { status: { task_id: { value: 't' }, state: 'TASK_RUNNING', reason: 'BECAUSE' } } }).success, 'bad reason');
  t.notOk(TaskInfo.safeParse({ name: 'x', task_id: { value: 't' }, agent_id: { value: 'a' }, data: 42 }).success, 'data must be a base64 string');
});

const REGISTER = {
  type: 'register',
  agent_info: {
    hostname: 'agent-1.example.com', port: 5051,
    resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 4 } }, { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 32000 }] } }],
    attributes: [{ name: 'rack', type: 'TEXT', text: { value: 'r1' } }],
  },
  version: '0.1.0',
};

t.test('parseAgentMessage accepts valid frames', async (t) => {
  const r = parseAgentMessage(JSON.stringify(REGISTER));
  t.ok(r.ok);
  if (r.ok && r.message.type === 'register') t.equal(r.message.agent_info.hostname, 'agent-1.example.com');
  const withNulls = parseAgentMessage(JSON.stringify({ ...REGISTER, version: null, agent_info: { ...REGISTER.agent_info, id: null }, extra: 'x' }));
  t.ok(withNulls.ok, 'nulls and unknown fields are tolerated');
  if (withNulls.ok) t.notOk('extra' in withNulls.message);
  t.ok(parseAgentMessage('{"type":"pong"}').ok);
  const update = parseAgentMessage(JSON.stringify({
    type: 'status_update',
    update: { framework_id: { value: 'fw-1' }, status: { task_id: { value: 't-1' }, state: 'TASK_RUNNING', uuid: 'AAEC', source: 'SOURCE_EXECUTOR' } },
  }));
  t.ok(update.ok);
  t.ok(parseAgentMessage(JSON.stringify({ type: 'reregister', agent_id: { value: 'M-S0' }, agent_info: REGISTER.agent_info, tasks: [], frameworks: [] })).ok);
});

t.test('parseAgentMessage rejects bad frames with an error string and never throws', async (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ['malformed JSON', '{"type":"register",', /malformed JSON/],
    ['empty frame', '', /malformed JSON/],
    ['unknown type', '{"type":"launch_missiles"}', /type/],
    ['no type', '{"agent_info":{"hostname":"h"}}', /type/],
    ['missing agent_info', '{"type":"register"}', /agent_info/],
    ['missing hostname', '{"type":"register","agent_info":{}}', /hostname/],
    ['bad task state', '{"type":"status_update","update":{"framework_id":{"value":"f"},"status":{"task_id":{"value":"t"},"state":"TASK_DANCING"}}}', /state/],
    ['wrong type of field', '{"type":"executor_exited","framework_id":{"value":"f"},"executor_id":{"value":"e"},"status":"1"}', /status/],
    ['a master message sent by a slave', '{"type":"ping"}', /type/],
    ['JSON null', 'null', /./],
    ['JSON array', '[]', /./],
    ['JSON number', '42', /./],
    ['JSON string', '"register"', /./],
    ['type null', '{"type":null}', /type/],
    ['deeply nested', `{"type":"register","agent_info":{"hostname":"h","resources":${'['.repeat(100000)}${']'.repeat(100000)}}}`, /./],
  ];
  for (const [label, frame, match] of cases) {
    let result: ReturnType<typeof parseAgentMessage> | undefined;
    t.doesNotThrow(() => { result = parseAgentMessage(frame); }, `${label}: does not throw`);
    t.equal(result?.ok, false, `${label}: rejected`);
    if (result && !result.ok) {
      t.type(result.error, 'string');
      t.match(result.error, match, `${label}: error names the problem`);
    }
  }
});

t.test('parseMasterMessage', async (t) => {
  t.ok(parseMasterMessage('{"type":"ping"}').ok);
  t.ok(parseMasterMessage(JSON.stringify({ type: 'registered', agent_id: { value: 'M-S0' }, master_info: { id: 'M', ip: 16777343, port: 5050 }, ping_interval_seconds: 15 })).ok);
  t.ok(parseMasterMessage(JSON.stringify({ type: 'kill_task', framework_id: { value: 'f' }, task_id: { value: 't' }, kill_policy: { grace_period: { nanoseconds: 3e9 } } })).ok);
  t.notOk(parseMasterMessage(JSON.stringify({ type: 'registered', agent_id: { value: 'M-S0' }, master_info: { id: 'M', ip: 1, port: 5050 }, ping_interval_seconds: 0 })).ok, 'ping interval must be positive');
  t.notOk(parseMasterMessage('{"type":"pong"}').ok, 'a slave message sent by the master');
  t.notOk(parseMasterMessage('not json').ok);
});
