/**
 * Call batches at a real master (master/scheduler-api/batch.ts): announced on SUBSCRIBE,
 * applied in order, validated whole before anything is applied, and each class of bad batch
 * refused with a clear 400 that changes nothing.
 */
import t from 'tap';
import { TestScheduler, frameworkInfo, request, startTestMaster } from './master-kit.js';

const reconcile = (fid: string, taskId: string): Record<string, unknown> => ({
  type: 'RECONCILE', framework_id: { value: fid }, reconcile: { tasks: [{ task_id: { value: taskId } }] },
});

t.test('call batches', async (t) => {
  const m = await startTestMaster();
  t.teardown(() => m.cleanup());
  const s = new TestScheduler(m.port);
  await s.subscribe(frameworkInfo({ failover_timeout: 3600 }));
  t.teardown(() => s.disconnect());
  const fid = s.frameworkId;
  const batch = (body: unknown, streamId = s.streamId) => request(m.port, {
    headers: { 'Content-Type': 'application/json', 'Mesos-Stream-Id': streamId },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  /** The task ids of the next `n` UPDATE events. */
  const nextUpdates = async (n: number): Promise<string[]> => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push((await s.next('UPDATE')).update!.status.task_id.value);
    return ids;
  };

  t.equal(s.response!.headers['agora-call-batch'], '1000', 'the SUBSCRIBE response announces batches');

  await t.test('a batch is applied in order: 202', async (t) => {
    const res = await batch(['a', 'b', 'c'].map((id) => reconcile(fid, id)));
    t.equal(res.status, 202);
    t.same(await nextUpdates(3), ['a', 'b', 'c']);
  });

  await t.test('an invalid call anywhere: 400 naming it, nothing applied', async (t) => {
    const res = await batch([reconcile(fid, 'x1'), { type: 'ACCEPT', framework_id: { value: fid } }, reconcile(fid, 'x2')]);
    t.equal(res.status, 400);
    t.match(res.body, /^Call 1 of the batch: Failed to validate scheduler::Call/);
    t.equal(res.headers['agora-calls-applied'], '0');
    t.equal(res.headers['agora-failed-call'], '1');
    // Nothing was applied: the next UPDATE is the one of the next valid call.
    t.equal((await batch([reconcile(fid, 'marker-1')])).status, 202);
    t.same(await nextUpdates(1), ['marker-1']);
  });

  await t.test('each class of bad batch is refused with a clear 400', async (t) => {
    const cases: Array<[string, unknown, RegExp]> = [
      ['malformed JSON', '[{"type":', /^Failed to parse body into JSON/],
      ['empty', [], /holds 1 to 1000 calls, not 0/],
      ['too many', Array.from({ length: 1001 }, (_, i) => reconcile(fid, `t${i}`)), /holds 1 to 1000 calls, not 1001/],
      ['not an object', [reconcile(fid, 'y'), 42], /^Call 1 of the batch: .*Expecting a JSON object/],
      ['unknown call type', [{ type: 'NOPE', framework_id: { value: fid } }], /^Call 0 of the batch: Failed to convert JSON/],
      ['SUBSCRIBE', [{ type: 'SUBSCRIBE', subscribe: { framework_info: frameworkInfo() } }], /SUBSCRIBE cannot be batched/],
      ['a call answering with a body', [{ type: 'RECONCILE_OPERATIONS', framework_id: { value: fid }, reconcile_operations: {} }], /RECONCILE_OPERATIONS cannot be batched/],
      ['two frameworks', [reconcile(fid, 'y'), reconcile('other-framework', 'z')], /^Call 1 of the batch is for framework other-framework/],
    ];
    for (const [what, body, message] of cases) {
      const res = await batch(body);
      t.equal(res.status, 400, what);
      t.match(res.body, message, what);
    }
    t.equal((await batch([reconcile(fid, 'marker-2')])).status, 202);
    t.same(await nextUpdates(1), ['marker-2'], 'none of them applied anything');
  });

  await t.test('wrong stream id or unknown framework: refused like a single call', async (t) => {
    const wrong = await batch([reconcile(fid, 'z')], '00000000-0000-0000-0000-000000000000');
    t.equal(wrong.status, 400);
    t.match(wrong.body, /didn't match the stream ID/);
    const unknown = await batch([reconcile('no-such-framework', 'z')]);
    t.equal(unknown.status, 400);
    t.match(unknown.body, /Framework cannot be found/);
  });

  await t.test('calls after a TEARDOWN in the same batch fail as they would alone', async (t) => {
    const res = await batch([reconcile(fid, 'last'), { type: 'TEARDOWN', framework_id: { value: fid } }, reconcile(fid, 'after')]);
    t.equal(res.status, 400);
    t.equal(res.headers['agora-calls-applied'], '2', 'the first two were applied');
    t.match(res.body, /^Call 2 of the batch \(RECONCILE\): Framework cannot be found/);
    t.same(await nextUpdates(1), ['last']);
    t.notOk(m.state.frameworks.has(fid), 'the TEARDOWN was applied');
  });
});
