/**
 * examples/batch-framework.ts, unchanged, against a TestCluster on virtual time: a batch
 * completes, failures are reported, and the batch survives a master failover.
 */
import t from 'tap';
import { runBatch, type BatchOptions } from '../../examples/batch-framework.js';
import { TestCluster } from '../../sdk/testing/index.js';

function batchOptions(cluster: TestCluster, tasks: number, lines: string[]): BatchOptions {
  const { master, transport } = cluster.schedulerOptions();
  return {
    master, tasks, cmd: 'echo hi', cpus: 0.5, mem: 64, executor: 'command', name: 'batch', timeoutMs: 0,
    print: (line) => lines.push(line),
    logger: cluster.logger,
    clock: cluster.clock,
    ...(transport !== undefined ? { transport } : {}),
  };
}

t.test('a batch of 24 tasks on 3 slaves completes', async (t) => {
  const wall = Date.now();
  // Every task "runs" for 30 s of virtual time and exits 0.
  const cluster = await TestCluster.create({ slaves: 3, sim: { durationMs: 30_000 } });
  t.teardown(() => cluster.close());
  const lines: string[] = [];
  const run = runBatch(batchOptions(cluster, 24, lines));
  let result: Awaited<typeof run> | undefined;
  void run.then((r) => { result = r; });
  await cluster.waitFor(() => result !== undefined, { timeoutMs: 10 * 60_000, what: 'the batch to end' });
  t.equal(result!.finished, 24);
  t.same(result!.failed, []);
  t.equal(result!.error, undefined);
  t.ok(lines.includes('all tasks launched; offers suppressed'));
  t.equal(lines.at(-1), 'done: 24 finished, 0 failed');
  t.ok(cluster.now() - Date.UTC(2026, 0, 1) >= 30_000, 'at least one task duration of virtual time passed');
  t.comment(`virtual ${cluster.now() - Date.UTC(2026, 0, 1)} ms in ${Date.now() - wall} ms of wall time`);
});

t.test('failed tasks are reported with their message', async (t) => {
  // slave-1's tasks exit 2 after 10 s; the others finish.
  const cluster = await TestCluster.create({
    slaves: [{}, { sim: { exitCode: 2 } }],
    sim: { durationMs: 10_000 },
  });
  t.teardown(() => cluster.close());
  const lines: string[] = [];
  const run = runBatch(batchOptions(cluster, 16, lines)); // more than one slave holds
  let result: Awaited<typeof run> | undefined;
  void run.then((r) => { result = r; });
  await cluster.waitFor(() => result !== undefined, { timeoutMs: 10 * 60_000, what: 'the batch to end' });
  t.ok(result!.failed.length > 0, 'some tasks failed');
  t.equal(result!.finished + result!.failed.length, 16);
  t.ok(result!.failed.every((f) => f.state === 'TASK_FAILED'));
  t.match(result!.failed[0]!.message, /2/, 'the message names the exit code');
});

t.test('the batch survives a master failover', async (t) => {
  const cluster = await TestCluster.create({ slaves: 2, sim: { durationMs: 60_000 } });
  t.teardown(() => cluster.close());
  const lines: string[] = [];
  const run = runBatch(batchOptions(cluster, 6, lines));
  let result: Awaited<typeof run> | undefined;
  void run.then((r) => { result = r; });
  await cluster.waitFor(() => Object.values(cluster.taskStates()).filter((s) => s === 'TASK_RUNNING').length === 6);
  await cluster.failoverMaster();
  await cluster.waitFor(() => result !== undefined, { timeoutMs: 10 * 60_000, what: 'the batch to end' });
  t.equal(result!.finished, 6);
  t.ok(lines.some((l) => l.startsWith('disconnected from the master')), 'the framework saw the master go');
  t.ok(lines.includes('reconnected'));
});
