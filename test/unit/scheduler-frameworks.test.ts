/**
 * The example batch framework and the Python fixture framework against a scripted fake
 * master (node:http, RecordIO): they subscribe, launch on offers, decline the rest,
 * acknowledge, and finish. The real master is exercised by the lead's integration tests.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { silentLogger } from '../../sdk/core/log.js';
import type { SchedulerCall, TaskState } from '../../sdk/protocol/index.js';
import { parseBatchArgs, runBatch } from '../../examples/batch-framework.js';
import { FakeMaster, offer } from './scheduler-helpers.js';

const PYTHON_FRAMEWORK = fileURLToPath(new URL('../fixtures/python-framework.py', import.meta.url));
const alloc = { allocation_info: { role: '*' } };
const scalar = (name: string, value: number) => ({ name, type: 'SCALAR', scalar: { value }, ...alloc });

/**
 * A master that offers `o-big` (1 cpu, 256 MB) and `o-small` (0.05 cpu), runs every launched
 * task to `finalState(taskId)` (RUNNING, then the final state once RUNNING is acknowledged),
 * and ends the stream on TEARDOWN.
 */
async function scriptedMaster(t: { teardown(fn: () => unknown): void }, finalState: (taskId: string) => TaskState = () => 'TASK_FINISHED') {
  const master = new FakeMaster();
  await master.listen();
  t.teardown(() => master.close());
  let uuidSeq = 0;
  const uuid = (): string => Buffer.from(`uuid-${++uuidSeq}`).toString('base64');
  const sentUuids = new Map<string, { taskId: string; state: TaskState }>();
  const update = (taskId: string, state: TaskState): void => {
    const u = uuid();
    sentUuids.set(u, { taskId, state });
    master.broadcast({ type: 'UPDATE', update: { status: { task_id: { value: taskId }, state, agent_id: { value: 'agent-1' }, source: 'SOURCE_EXECUTOR', uuid: u } } });
  };
  const calls: SchedulerCall[] = [];
  const streamIds: (string | undefined)[] = [];
  master.onSubscribe = (req, res) => {
    master.acceptSubscribe(req, res);
    master.broadcast({
      type: 'OFFERS',
      offers: {
        offers: [
          offer('o-big', [scalar('cpus', 1), scalar('mem', 256), { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 31010 }] }, ...alloc }], 'agent-1', { allocation_info: { role: '*' } }),
          offer('o-small', [scalar('cpus', 0.05), scalar('mem', 16)], 'agent-2', { allocation_info: { role: '*' } }),
        ],
      },
    });
  };
  master.onCall = (req, res) => {
    calls.push(req.body);
    streamIds.push(req.headers['mesos-stream-id'] as string | undefined);
    res.writeHead(202).end();
    const call = req.body;
    if (call.type === 'ACCEPT') {
      for (const op of call.accept?.operations ?? []) for (const task of op.launch?.task_infos ?? []) update(task.task_id.value, 'TASK_RUNNING');
    } else if (call.type === 'ACKNOWLEDGE') {
      const acked = sentUuids.get(call.acknowledge!.uuid);
      if (acked?.state === 'TASK_RUNNING') update(acked.taskId, finalState(acked.taskId));
    } else if (call.type === 'TEARDOWN') {
      master.dropStreams();
    }
  };
  return { master, calls, streamIds };
}

function runPython(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [PYTHON_FRAMEWORK, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

t.test('python framework: subscribe, launch one task, decline, acknowledge, exit 0', async (t) => {
  const { master, calls, streamIds } = await scriptedMaster(t);
  const { code, output } = await runPython(['--master', `127.0.0.1:${master.port}`, '--cmd', 'echo hi', '--timeout', '30']);
  t.equal(code, 0, output);
  t.same(calls.map((c) => c.type), ['ACCEPT', 'DECLINE', 'ACKNOWLEDGE', 'ACKNOWLEDGE', 'TEARDOWN']);
  t.ok(streamIds.every((id) => id === 'stream-1'), 'every call carries Mesos-Stream-Id');
  const accept = calls[0]!;
  t.same(accept.framework_id, { value: 'fw-1' });
  const task = accept.accept!.operations![0]!.launch!.task_infos![0]!;
  t.same(task.resources, [scalar('cpus', 0.1), scalar('mem', 32)], 'resources taken from the offer, allocation_info kept');
  t.same(task.command, { value: 'echo hi', shell: true });
  t.same(calls[1]!.decline!.offer_ids, [{ value: 'o-small' }]);
  t.match(output, /TASK_FINISHED/);
});

t.test('python framework: exit 1 on a failed task', async (t) => {
  const { master } = await scriptedMaster(t, () => 'TASK_FAILED');
  const { code, output } = await runPython(['--master', `127.0.0.1:${master.port}`, '--timeout', '30']);
  t.equal(code, 1, output);
  t.match(output, /TASK_FAILED/);
});

t.test('python framework: follows a 307 from a standby', async (t) => {
  const { master } = await scriptedMaster(t);
  const standby = new FakeMaster();
  await standby.listen();
  t.teardown(() => standby.close());
  standby.onSubscribe = (_req, res) => { res.writeHead(307, { Location: `//127.0.0.1:${master.port}/api/v1/scheduler` }).end(); };
  const { code, output } = await runPython(['--master', `127.0.0.1:${standby.port}`, '--timeout', '30']);
  t.equal(code, 0, output);
});

t.test('batch example: packs tasks into an offer, declines, suppresses, acknowledges, tears down', async (t) => {
  const { master, calls } = await scriptedMaster(t);
  const lines: string[] = [];
  const result = await runBatch({
    master: `127.0.0.1:${master.port}`, tasks: 3, cmd: 'echo hi', cpus: 0.1, mem: 32, executor: 'command',
    name: 'batch', timeoutMs: 0, print: (l) => lines.push(l), logger: silentLogger(),
  });
  t.same(result, { finished: 3, failed: [] }, lines.join('\n'));
  const types = calls.map((c) => c.type);
  t.same(types.slice(0, 3), ['ACCEPT', 'DECLINE', 'SUPPRESS']);
  t.equal(types.filter((x) => x === 'ACKNOWLEDGE').length, 6);
  // Acknowledgements have their own connection, so only the other calls are ordered with TEARDOWN.
  t.equal(types.filter((x) => x !== 'ACKNOWLEDGE').at(-1), 'TEARDOWN');
  const launched = calls[0]!.accept!.operations![0]!.launch!.task_infos!;
  t.same(launched.map((task) => task.task_id.value), ['batch-task-1', 'batch-task-2', 'batch-task-3']);
  t.same(calls[0]!.accept!.offer_ids, [{ value: 'o-big' }]);
  t.same(calls[1]!.decline!.offer_ids, [{ value: 'o-small' }]);
  t.ok(lines.some((l) => /done: 3 finished, 0 failed/.test(l)));
});

t.test('batch example: a failed task is reported; custom executor tasks carry the ExecutorInfo', async (t) => {
  const { master, calls } = await scriptedMaster(t, (id) => (id.endsWith('-2') ? 'TASK_FAILED' : 'TASK_FINISHED'));
  const result = await runBatch({
    master: `127.0.0.1:${master.port}`, tasks: 2, cmd: 'echo hi', cpus: 0.1, mem: 32, executor: 'custom',
    name: 'custom', timeoutMs: 0, print: () => undefined, logger: silentLogger(),
  });
  t.equal(result.finished, 1);
  t.same(result.failed.map((f) => [f.taskId, f.state]), [['custom-task-2', 'TASK_FAILED']]);
  const tasks = calls[0]!.accept!.operations![0]!.launch!.task_infos!;
  for (const task of tasks) {
    t.equal(task.command, undefined);
    t.equal(task.executor?.executor_id.value, 'custom-executor');
    t.match(task.executor?.command?.value, /custom-executor\.js'$/);
    t.same(task.executor?.resources, [scalar('cpus', 0.01), scalar('mem', 32)]);
  }
  t.same(tasks[0]!.executor, tasks[1]!.executor, 'one ExecutorInfo for the executor id');
});

t.test('batch example argument parsing', async (t) => {
  t.same(parseBatchArgs(['--master', 'm:5050', '--tasks', '4', '--cmd', 'true', '--cpus', '0.2', '--mem', '64', '--executor', 'custom', '--timeout', '30']), {
    master: 'm:5050', tasks: 4, cmd: 'true', cpus: 0.2, mem: 64, executor: 'custom', name: 'batch', timeoutMs: 30_000,
  });
  t.throws(() => parseBatchArgs([]), /--master is required/);
  t.throws(() => parseBatchArgs(['--master', 'm', '--tasks', '-1']), /--tasks/);
  t.throws(() => parseBatchArgs(['--master', 'm', '--executor', 'docker']), /--executor/);
});
