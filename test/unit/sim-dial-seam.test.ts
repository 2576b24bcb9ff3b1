/**
 * The MasterLink's dial seam with an in-memory transport on a manual clock (what the
 * in-process test cluster builds on): registration, pings, a simulated partition and its
 * healing, abort — and an emulated agent (createSimulatedAgent) over the same transport.
 */
import t from 'tap';
import { silentLogger } from '../../sdk/core/log.js';
import { StaticDetector } from '../../sdk/core/leadership.js';
import type { AgentMessage, MasterMessage } from '../../sdk/protocol/agent.js';
import type { AgentDial, AgentSocketEvents } from '../../slave/agent-socket.js';
import { MasterLink } from '../../slave/master-link.js';
import { createSimulatedAgent } from '../../slave/sim/emulated-slave.js';
import { seededRandom } from '../../slave/sim/prng.js';
import { ManualClock } from './scheduler-helpers.js';

const URL = 'ws://127.0.0.1:5050/api/v1/agent';
const MASTER_INFO = { id: 'm1', ip: 0, port: 5050, hostname: 'm' };

/** An in-memory master end: records frames, answers registrations, can ping and drop. */
class MemoryMaster {
  readonly received: AgentMessage[] = [];
  dials = 0;
  closes: number[] = [];
  private peer: AgentSocketEvents | undefined;
  private nextId = 0;

  readonly dial: AgentDial = (url, events) => {
    if (url !== URL) throw new Error(`unexpected url ${url}`);
    this.dials++;
    this.peer = events;
    const me = events;
    queueMicrotask(() => me.onOpen());
    return {
      send: (frame) => {
        if (this.peer !== me) return;
        const msg = JSON.parse(frame) as AgentMessage;
        this.received.push(msg);
        if (msg.type === 'register') this.send({ type: 'registered', agent_id: { value: `S${this.nextId++}` }, master_info: MASTER_INFO, ping_interval_seconds: 10 });
        if (msg.type === 'reregister') this.send({ type: 'reregistered', agent_id: msg.agent_id, master_info: MASTER_INFO, ping_interval_seconds: 10 });
      },
      close: (code) => this.closed(me, code),
      terminate: () => this.closed(me, 1006),
    };
  };

  send(msg: MasterMessage): void {
    const peer = this.peer;
    if (peer !== undefined) queueMicrotask(() => { if (this.peer === peer) peer.onMessage(JSON.stringify(msg)); });
  }

  private closed(peer: AgentSocketEvents, code: number): void {
    if (this.peer === peer) this.peer = undefined;
    this.closes.push(code);
    peer.onClose(code);
  }

  types(): string[] {
    return this.received.map((m) => m.type);
  }
}

/** Lets queued microtasks (the in-memory deliveries) run. */
const flush = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

t.test('a MasterLink over an in-memory dial: register, pong, partition, heal, abort', async (t) => {
  const clock = new ManualClock();
  const master = new MemoryMaster();
  const link = new MasterLink({ detector: new StaticDetector(URL), clock, logger: silentLogger(), backoffMs: 100, backoffMaxMs: 400, dial: master.dial });
  const registered: string[] = [];
  link.start({
    registration: (id) => (id === undefined ? { type: 'register', agent_info: { hostname: 'h', resources: [] }, version: 'x' } : { type: 'reregister', agent_id: { value: id }, agent_info: { hostname: 'h', resources: [] }, version: 'x', frameworks: [], tasks: [], unacknowledged_updates: [] }),
    onRegistered: (e) => registered.push(`${e.agentId}:${e.reregistered}`),
    onCommand: () => undefined,
  });
  await flush();
  t.equal(link.state, 'registered');
  t.same(registered, ['S0:false']);
  master.send({ type: 'ping' });
  await flush();
  t.same(master.types(), ['register', 'pong']);

  link.setPartitioned(true);
  master.send({ type: 'ping' });
  await flush();
  t.same(master.types(), ['register', 'pong'], 'partitioned: the ping is lost, no pong');
  t.equal(link.send({ type: 'pong' }), true, 'a send looks fine to the sender');
  t.equal(master.received.length, 2, 'but nothing arrives');
  clock.advance(30_000);
  await flush();
  t.equal(link.state, 'disconnected', 'the ping watchdog (3 × 10 s) dropped the socket');
  t.same(master.closes, [1006]);
  const dialsWhilePartitioned = master.dials;
  clock.advance(5_000);
  await flush();
  t.equal(master.dials, dialsWhilePartitioned, 'dials fail while partitioned (no socket reaches the master)');

  link.setPartitioned(false);
  clock.advance(1_000);
  await flush();
  t.equal(link.state, 'registered', 'healed: the next attempt reconnects');
  t.same(registered, ['S0:false', 'S0:true'], 're-registered with its id');
  t.equal(master.types().at(-1), 'reregister');

  link.abort();
  t.equal(link.state, 'closed');
  t.same(master.closes, [1006, 1006], 'abort drops the socket without a close handshake');
  clock.advance(60_000);
  await flush();
  t.equal(master.dials, 2, 'and never dials again');
});

t.test('an emulated agent over the in-memory dial: a task, a restart, a graceful close', async (t) => {
  const clock = new ManualClock();
  const master = new MemoryMaster();
  const agent = createSimulatedAgent({
    detector: new StaticDetector(URL), clock, logger: silentLogger(), dial: master.dial, random: seededRandom(3),
    hostname: 'emu-0', resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 } }], sim: { durationMs: 2000 },
  });
  agent.start();
  await flush();
  t.equal(agent.agentId(), 'S0');
  master.send({
    type: 'run_task',
    framework: { id: { value: 'fw' }, user: 'u', name: 'f' },
    task: { name: 't', task_id: { value: 't1' }, agent_id: { value: 'S0' }, resources: [], command: { value: 'x' } },
  });
  await flush();
  const updates = (): Array<Extract<AgentMessage, { type: 'status_update' }>> => master.received.filter((m): m is Extract<AgentMessage, { type: 'status_update' }> => m.type === 'status_update');
  t.same(updates().map((u) => u.update.status.state), ['TASK_STARTING'], 'STARTING, RUNNING waits for the ack');
  const ack = (u: Extract<AgentMessage, { type: 'status_update' }>): void => master.send({ type: 'status_update_ack', framework_id: u.update.framework_id, task_id: u.update.status.task_id, uuid: u.update.status.uuid! });
  ack(updates()[0]!);
  await flush();
  t.equal(updates().at(-1)?.update.status.state, 'TASK_RUNNING');
  t.same(agent.taskCounts(), { live: 1, unacknowledged: 1 });

  agent.restart();
  await flush();
  const rereg = [...master.received].reverse().find((m) => m.type === 'reregister')!;
  t.ok(rereg, 're-registered');
  t.equal(master.received.at(-1)?.type, 'status_update', 'then the unacknowledged head is resent');
  if (rereg.type === 'reregister') {
    t.equal(rereg.agent_id.value, 'S0');
    t.same((rereg.tasks ?? []).map((x) => [x.task.task_id.value, x.state]), [['t1', 'TASK_RUNNING']], 'with its live task');
    t.same(rereg.unacknowledged_updates?.map((u) => u.status.state), ['TASK_RUNNING'], 'and the unacknowledged head');
  }
  ack(updates().at(-1)!);
  clock.advance(2000);
  await flush();
  t.equal(updates().at(-1)?.update.status.state, 'TASK_FINISHED', 'the task ends on the clock');
  ack(updates().at(-1)!);
  await flush();
  t.same(master.received.at(-1), { type: 'executor_exited', framework_id: { value: 'fw' }, executor_id: { value: 'agora-command-executor' }, status: 0 });
  await agent.close();
  t.equal(agent.linkState, 'closed');
  t.same(master.closes.at(-1), 1000, 'a graceful close');
});

t.test('a dial that throws is a failed connection: the link backs off and tries again', async (t) => {
  const clock = new ManualClock();
  const master = new MemoryMaster();
  let refusals = 2;
  const dial: AgentDial = (url, events) => {
    if (refusals-- > 0) throw new Error('refused by the transport');
    return master.dial(url, events);
  };
  const link = new MasterLink({ detector: new StaticDetector(URL), clock, logger: silentLogger(), backoffMs: 100, backoffMaxMs: 400, dial });
  link.start({
    registration: () => ({ type: 'register', agent_info: { hostname: 'h', resources: [] }, version: 'x' }),
    onRegistered: () => undefined,
    onCommand: () => undefined,
  });
  t.equal(link.state, 'disconnected', 'the first dial threw: no crash, disconnected');
  for (let i = 0; i < 10 && link.state !== 'registered'; i++) {
    clock.advance(400);
    await flush();
  }
  t.equal(link.state, 'registered', 'registered once the transport accepts');
  t.equal(refusals, -1, 'after two refused dials');
  await link.close();
});

t.test('seeded emulated agents are reproducible: same seed and calls, same frames; other hostnames, other ids', async (t) => {
  const run = async (hostname: string): Promise<string[]> => {
    const clock = new ManualClock();
    const master = new MemoryMaster();
    const agent = createSimulatedAgent({
      detector: new StaticDetector(URL), clock, logger: silentLogger(), dial: master.dial, random: seededRandom(9),
      hostname, resources: [], sim: { durationMs: 1000, failureRate: 0.5 },
    });
    agent.start();
    await flush();
    for (let i = 0; i < 6; i++) {
      master.send({
        type: 'run_task', framework: { id: { value: 'fw' }, user: 'u', name: 'f' },
        task: { name: 't', task_id: { value: `t${i}` }, agent_id: { value: 'S0' }, resources: [], command: { value: 'x' } },
      });
    }
    await flush();
    for (let i = 0; i < 20; i++) {
      for (const m of master.received) {
        if (m.type === 'status_update') master.send({ type: 'status_update_ack', framework_id: m.update.framework_id, task_id: m.update.status.task_id, uuid: m.update.status.uuid! });
      }
      clock.advance(500);
      await flush();
    }
    await agent.close();
    return master.received.filter((m) => m.type === 'status_update').map((m) => (m.type === 'status_update' ? `${m.update.status.task_id.value}:${m.update.status.state}:${m.update.status.uuid}` : ''));
  };
  const a = await run('emu-a');
  t.ok(a.some((x) => x.includes('TASK_FAILED')) && a.some((x) => x.includes('TASK_FINISHED')), 'a failure rate of 0.5 fails some and finishes others');
  t.same(await run('emu-a'), a, 'the same frames, uuids included');
  const b = await run('emu-b');
  const uuids = (xs: string[]): Set<string> => new Set(xs.map((x) => x.split(':')[2]));
  t.equal([...uuids(b)].filter((u) => uuids(a).has(u)).length, 0, 'another hostname with the same seed: no shared uuid');
});
