/**
 * Call, operation and task builders produce JSON the Mesos v1 schemas accept unchanged.
 */
import t from 'tap';
import { SchedulerCall, TaskInfo, stripNulls } from '../../sdk/protocol/index.js';
import { calls, commandInfo, commandTask, executorTask, operations } from '../../sdk/scheduler/index.js';

const resources = [{ name: 'cpus', type: 'SCALAR' as const, scalar: { value: 0.1 } }];
const task = commandTask({ taskId: 't1', agentId: 'a1', command: 'echo hi', resources });

/** The call after a JSON round trip, and what the SchedulerCall schema makes of it. */
function parse(call: SchedulerCall): { wire: unknown; parsed: ReturnType<typeof SchedulerCall.safeParse> } {
  const wire = JSON.parse(JSON.stringify(call)) as unknown;
  return { wire, parsed: SchedulerCall.safeParse(stripNulls(wire)) };
}

t.test('every call builder is Mesos-valid', async (t) => {
  const all: SchedulerCall[] = [
    calls.subscribe({ user: 'u', name: 'n' }),
    calls.subscribe({ user: 'u', name: 'n', id: { value: 'fw-1' }, failover_timeout: 60 }, { suppressedRoles: ['r'] }),
    calls.accept(['o1'], [operations.launch([task])], { refuseSeconds: 10 }),
    calls.accept(['o1', 'o2'], []),
    calls.accept(['o1'], [operations.launchGroup({ executor_id: { value: 'e1' }, type: 'DEFAULT' }, [task])]),
    calls.accept(['o1'], [operations.reserve(resources), operations.unreserve(resources)]),
    calls.decline(['o1']),
    calls.decline(['o1'], { refuseSeconds: 0 }),
    calls.revive(), calls.revive(['a', 'b']),
    calls.suppress(), calls.suppress(['a']),
    calls.kill('t1'), calls.kill('t1', 'a1', { grace_period: { nanoseconds: 1_000_000_000 } }),
    calls.shutdown('e1', 'a1'),
    calls.acknowledge('a1', 't1', 'AAECAw=='),
    calls.reconcile(), calls.reconcile([{ taskId: 't1' }, { taskId: 't2', agentId: 'a2' }]),
    calls.message('a1', 'e1', 'hello'), calls.message('a1', 'e1', Buffer.from([0, 1, 2])),
    calls.teardown(),
  ];
  for (const call of all) {
    const { wire, parsed } = parse(call);
    t.ok(parsed.success, `${call.type} parses${parsed.success ? '' : `: ${parsed.error.message}`}`);
    t.same(parsed.data, wire, `${call.type} round-trips unchanged`);
  }
});

t.test('builders produce the exact Mesos shapes', async (t) => {
  t.same(calls.subscribe({ user: 'u', name: 'n', id: { value: 'fw-1' } }), {
    type: 'SUBSCRIBE', framework_id: { value: 'fw-1' }, subscribe: { framework_info: { user: 'u', name: 'n', id: { value: 'fw-1' } } },
  });
  t.same(calls.decline(['o1'], { refuseSeconds: 5 }), { type: 'DECLINE', decline: { offer_ids: [{ value: 'o1' }], filters: { refuse_seconds: 5 } } });
  t.same(calls.acknowledge('a1', 't1', 'dXU='), { type: 'ACKNOWLEDGE', acknowledge: { agent_id: { value: 'a1' }, task_id: { value: 't1' }, uuid: 'dXU=' } });
  t.equal(calls.message('a', 'e', 'hi').message?.data, Buffer.from('hi').toString('base64'));
  t.same(calls.reconcile(), { type: 'RECONCILE', reconcile: { tasks: [] } });
  t.same(operations.launch([task]), { type: 'LAUNCH', launch: { task_infos: [task] } });
});

t.test('commandTask: shell string, environment, kill policy, labels', async (t) => {
  t.same(task, { name: 't1', task_id: { value: 't1' }, agent_id: { value: 'a1' }, resources, command: { value: 'echo hi', shell: true } });
  const full = commandTask({
    taskId: 't2', name: 'job', agentId: 'a1', resources,
    command: { value: 'env', environment: { A: '1', B: 'two' }, uris: [{ value: 'http://x/y.tgz', extract: true }] },
    killGracePeriodMs: 1500, labels: { owner: 'me' }, data: 'payload',
  });
  t.same(full.command, {
    shell: true, value: 'env', uris: [{ value: 'http://x/y.tgz', extract: true }],
    environment: { variables: [{ name: 'A', type: 'VALUE', value: '1' }, { name: 'B', type: 'VALUE', value: 'two' }] },
  });
  t.same(full.kill_policy, { grace_period: { nanoseconds: 1_500_000_000 } });
  t.same(full.labels, { labels: [{ key: 'owner', value: 'me' }] });
  t.equal(full.data, Buffer.from('payload').toString('base64'));
  t.equal(full.name, 'job');
  for (const ti of [task, full]) t.ok(TaskInfo.safeParse(JSON.parse(JSON.stringify(ti))).success, 'TaskInfo schema accepts it');

  t.same(commandInfo({ value: '/bin/echo', arguments: ['echo', 'hi'] }), { shell: false, value: '/bin/echo', arguments: ['echo', 'hi'] });
  t.throws(() => commandTask({ taskId: 't', agentId: 'a', resources, command: '  ' }), { code: 'AGORA_TASK_INVALID' });
  t.throws(() => commandTask({ taskId: '', agentId: 'a', resources, command: 'x' }), { code: 'AGORA_TASK_INVALID' });
  t.throws(() => commandTask({ taskId: 't', agentId: 'a', resources, command: 'x', killGracePeriodMs: -1 }), { code: 'AGORA_TASK_INVALID' });
});

t.test('executorTask carries the ExecutorInfo and no command', async (t) => {
  const executor = { executor_id: { value: 'custom-executor' }, command: { value: '/usr/bin/node /x/custom-executor.js', shell: true }, resources };
  const et = executorTask({ taskId: 't3', agentId: 'a1', resources, executor });
  t.same(et.executor, executor);
  t.equal(et.command, undefined);
  t.ok(TaskInfo.safeParse(et).success);
  t.throws(() => executorTask({ taskId: 't', agentId: 'a', resources, executor: {} as never }), { code: 'AGORA_TASK_INVALID' });
});
