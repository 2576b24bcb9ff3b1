/**
 * The in-memory transport answers like the HTTP edge: the same bad calls get the same
 * statuses and bodies from an in-memory master and from a real one over sockets, and
 * change nothing; garbage agent frames get the agent endpoint's answer.
 */
import t from 'tap';
import { CallRejectedError, HttpSchedulerTransport, SubscribeRejectedError, parseMasterAddress, type SchedulerCall, type SchedulerTransport } from '../../sdk/scheduler/index.js';
import { TestCluster } from '../../sdk/testing/index.js';
import { MemoryRegistry, startInMemoryMaster } from '../../master/in-memory.js';
import { silentLogger } from '../../sdk/core/log.js';
import { VirtualClock } from '../../sdk/testing/virtual-clock.js';
import { parseMasterMessage } from '../../sdk/protocol/index.js';

type Answer = { status: number; body: string } | { ok: true };

async function answer(p: Promise<unknown>): Promise<Answer> {
  try {
    await p;
    return { ok: true };
  } catch (err) {
    if (err instanceof CallRejectedError || err instanceof SubscribeRejectedError) return { status: err.status, body: err.body };
    throw err;
  }
}

/** Bad calls and what they get back, with the framework id masked. */
async function probe(cluster: TestCluster, transport: SchedulerTransport): Promise<Array<[string, Answer]>> {
  const scheduler = cluster.scheduler({ frameworkInfo: { user: 'tester', name: 'wire' } });
  const fid = await scheduler.start();
  const fw = { value: fid };
  const out: Array<[string, Answer]> = [];
  const calls: Array<[string, () => Promise<unknown>]> = [
    ['ACCEPT without accept', () => transport.send({ type: 'ACCEPT', framework_id: fw } as SchedulerCall, 'x')],
    ['unknown framework', () => transport.send({ type: 'REVIVE', framework_id: { value: 'nobody' } }, 'x')],
    ['wrong stream id', () => transport.send({ type: 'REVIVE', framework_id: fw }, 'not-the-stream')],
    ['SUBSCRIBE with a mismatched id', () => transport.subscribe({ type: 'SUBSCRIBE', framework_id: { value: 'a' }, subscribe: { framework_info: { user: 'u', name: 'n', id: { value: 'b' } } } })],
    ['DECLINE of unknown offers', () => transport.send({ type: 'DECLINE', framework_id: fw, decline: { offer_ids: [{ value: 'no-such-offer' }] } }, 'not-the-stream')],
  ];
  for (const [what, call] of calls) out.push([what, await answer(call())]);
  const frameworks = cluster.state().frameworks as Array<{ id: string; active: boolean }>;
  out.push(['framework still active', { ok: frameworks.some((f) => f.id === fid && f.active) } as Answer]);
  await scheduler.stop();
  return out.map(([w, a]) => [w, 'body' in a ? { ...a, body: a.body.split(fid).join('<fid>') } : a]);
}

t.test('bad scheduler calls: the same answers in memory and over HTTP', async (t) => {
  const memory = await TestCluster.create({ slaves: 0 });
  t.teardown(() => memory.close());
  const inMemory = await probe(memory, memory.schedulerOptions().transport!);

  const socket = await TestCluster.create({ slaves: 0, clock: 'real', transport: 'socket' });
  t.teardown(() => socket.close());
  const http = new HttpSchedulerTransport({ master: parseMasterAddress(socket.schedulerOptions().master), logger: silentLogger() });
  t.teardown(() => http.close());
  const overHttp = await probe(socket, http);

  t.same(inMemory, overHttp);
  t.same(inMemory.map(([w, a]) => [w, 'status' in a ? a.status : a]), [
    ['ACCEPT without accept', 400],
    ['unknown framework', 400],
    ['wrong stream id', 400],
    ['SUBSCRIBE with a mismatched id', 400],
    ['DECLINE of unknown offers', 400],
    ['framework still active', { ok: true }],
  ]);
});

t.test('garbage agent frames get an error back and change nothing', async (t) => {
  const clock = new VirtualClock({ autoRunDue: true });
  t.teardown(() => clock.stop());
  const master = await startInMemoryMaster({ id: 'm1', clock, logger: silentLogger(), registry: new MemoryRegistry() });
  t.teardown(() => master.close());
  const sent: string[] = [];
  let closed: number | undefined;
  const link = master.acceptAgent('127.0.0.1', (frame) => { sent.push(frame); return true; }, (code) => { closed = code; });
  master.agentFrame(link, 'not json');
  master.agentFrame(link, JSON.stringify({ type: 'status_update' }));
  master.agentFrame(link, JSON.stringify({ type: 'pong' }));
  await clock.runUntilIdle(); // valid messages wait for the registry, in order
  const replies = sent.map((f) => parseMasterMessage(f));
  t.ok(replies.every((r) => r.ok && r.message.type === 'error'), 'three error replies');
  t.match(sent[0], /invalid message/);
  t.match(sent[2], /before registration/);
  t.equal(master.state.agents.size, 0, 'nothing registered');
  for (let i = 0; i < 10; i++) master.agentFrame(link, '{');
  t.equal(closed, 1008, 'a link that keeps sending garbage is closed, as over the WebSocket');
  master.agentFrame(link, 'x'.repeat(17 * 1024 * 1024));
  t.equal(closed, 1009, 'an oversize frame closes the link (ws: 1009)');
});
