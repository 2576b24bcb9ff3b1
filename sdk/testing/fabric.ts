/**
 * The in-memory network of a {@link TestCluster}: masters registered by address, agent
 * connections (the slave side's {@link AgentDial} seam) and scheduler connections (the
 * SDK's {@link SchedulerTransport} seam). Every message crosses as text — JSON frames and
 * RecordIO bytes, exactly what the sockets carry — and is delivered asynchronously, as a
 * clock timer of `latencyMs` (0 by default): deliveries keep their order, and with a
 * virtual clock they are part of its deterministic timer order.
 *
 * A connection that breaks drops what is still in flight; one that closes gracefully
 * delivers it first.
 *
 * @module
 */
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { AgoraError } from '../core/errors.js';
import type { LeaderDetector } from '../core/leadership.js';
import type { SchedulerCall } from '../protocol/index.js';
import { CallRejectedError, MASTER_UNREACHABLE, SubscribeRejectedError } from '../scheduler/errors.js';
import type { SchedulerTransport, SubscriptionStream } from '../scheduler/transport.js';
import { InMemoryEventStream, type InMemoryAgentLink, type InMemoryMaster } from '../../master/in-memory.js';
import type { AgentDial, AgentSocket, AgentSocketEvents } from '../../slave/agent-socket.js';

/** RecordIO chunks as an async iterable: buffered until read; ends, or throws on a broken connection. */
class ChunkQueue implements AsyncIterable<Uint8Array> {
  private readonly chunks: Uint8Array[] = [];
  private waiter?: { resolve: (r: IteratorResult<Uint8Array>) => void; reject: (err: Error) => void };
  private ended = false;
  private failure?: Error;

  push(chunk: Uint8Array): void {
    if (this.ended) return;
    if (this.waiter !== undefined) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve({ value: chunk, done: false });
      return;
    }
    this.chunks.push(chunk);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.settle();
  }

  fail(err: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = err;
    this.chunks.length = 0;
    this.settle();
  }

  private settle(): void {
    const w = this.waiter;
    if (w === undefined || this.chunks.length > 0) return;
    this.waiter = undefined;
    if (this.failure !== undefined) w.reject(this.failure);
    else w.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return {
      next: () => {
        if (this.chunks.length > 0) return Promise.resolve({ value: this.chunks.shift()!, done: false });
        if (this.ended) return this.failure !== undefined ? Promise.reject(this.failure) : Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => { this.waiter = { resolve, reject }; });
      },
      return: () => {
        this.end();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}

/** One SUBSCRIBE connection: the master's stream and the scheduler's chunk queue. */
class SchedulerPipe {
  readonly queue = new ChunkQueue();
  stream!: InMemoryEventStream;
  broken = false;

  constructor(readonly master: InMemoryMaster, private readonly fabric: Fabric) {}

  /** The connection breaks (scheduler crash, network cut): both sides learn it, in-flight bytes are lost. */
  break(reason: string): void {
    if (this.broken) return;
    this.broken = true;
    this.queue.fail(new AgoraError(MASTER_UNREACHABLE, `event stream connection broken: ${reason}`));
    this.fabric.forgetPipe(this);
    this.fabric.deliver(() => this.stream.peerClosed());
  }
}

/**
 * One agent connection (the in-memory stand-in for the agent WebSocket). Each end closes on
 * its own: normally the other end learns it (after the latency), but while the agent's
 * network is partitioned nothing crosses — frames are lost and a close is not seen by the
 * other end, as with a TCP connection whose peer is unreachable.
 */
class AgentConnection implements AgentSocket {
  /** The agent end is closed: it sends nothing more. */
  private clientClosed = false;
  /** `onClose` was delivered (or is scheduled): nothing more reaches the agent. */
  private clientGone = false;
  /** The master end is closed: it sends nothing more. */
  private masterClosed = false;
  /** The master was told (`agentDisconnected`). */
  private masterNotified = false;
  link!: InMemoryAgentLink;

  constructor(
    readonly master: InMemoryMaster,
    private readonly events: AgentSocketEvents,
    private readonly fabric: Fabric,
    /** Whose network this connection crosses (see {@link Fabric.partition}). */
    readonly key: string,
  ) {}

  private get cut(): boolean {
    return this.fabric.isCut(this.key);
  }

  open(remoteAddress: string): void {
    this.link = this.master.acceptAgent(remoteAddress, (frame) => this.toAgent(frame), (code) => this.closeFromMaster(code));
    this.fabric.deliver(() => { if (!this.clientGone) this.events.onOpen(); });
  }

  private toAgent(frame: string): boolean {
    if (this.masterClosed) return false;
    if (this.cut) return true; // lost on the way
    this.fabric.deliver(() => { if (!this.clientGone && !this.cut) this.events.onMessage(frame); });
    return true;
  }

  send(frame: string): void {
    if (this.clientClosed || this.cut) return;
    this.fabric.deliver(() => { if (!this.masterNotified && !this.cut) this.master.agentFrame(this.link, frame); });
  }

  close(code: number): void {
    this.closeFromClient(code, false);
  }

  terminate(): void {
    this.closeFromClient(1006, true);
  }

  /** The agent closes its end; `abrupt` drops what is still on its way to it. */
  private closeFromClient(code: number, abrupt: boolean): void {
    if (this.clientClosed) {
      if (abrupt) this.clientGone = true;
      return;
    }
    this.clientClosed = true;
    if (abrupt) this.clientGone = true;
    this.fabric.deliver(() => {
      this.clientGone = true;
      this.events.onClose(code);
    });
    if (!this.cut) this.fabric.deliver(() => this.notifyMaster());
  }

  /** The master closes its end (`AgentLink.close`): it knows at once; the agent learns unless cut off. */
  private closeFromMaster(code: number): void {
    if (this.masterClosed) return;
    this.masterClosed = true;
    this.fabric.deliver(() => this.notifyMaster());
    if (!this.cut && !this.clientClosed) this.deliverClientClose(code);
  }

  /** The master process died: its end vanishes; the agent sees 1006 unless cut off. */
  masterCrashed(): void {
    this.masterClosed = true;
    this.masterNotified = true;
    this.fabric.forgetConnection(this);
    if (!this.cut && !this.clientClosed) this.deliverClientClose(1006);
  }

  private deliverClientClose(code: number): void {
    this.clientClosed = true;
    this.fabric.deliver(() => {
      if (this.clientGone) return;
      this.clientGone = true;
      this.events.onClose(code);
    });
  }

  private notifyMaster(): void {
    this.masterClosed = true;
    if (this.masterNotified) return;
    this.masterNotified = true;
    this.fabric.forgetConnection(this);
    this.master.agentDisconnected(this.link);
  }
}

/** The in-memory network (see the module notes). */
export class Fabric {
  private readonly masters = new Map<string, InMemoryMaster>();
  private readonly connections = new Set<AgentConnection>();
  private readonly pipes = new Map<InMemoryEventStream, SchedulerPipe>();
  private streamSeq = 0;

  constructor(private readonly clock: Clock, private readonly logger: Logger, private readonly latencyMs = 0) {}

  /** Runs `fn` after the network latency (a clock timer: ordered, deterministic on a virtual clock). */
  deliver(fn: () => void): void {
    this.clock.setTimeout(() => {
      try {
        fn();
      } catch (err) {
        this.logger.error({ err }, 'in-memory delivery failed');
      }
    }, this.latencyMs);
  }

  /** Makes `master` reachable at `host:port`. */
  attach(address: string, master: InMemoryMaster): void {
    this.masters.set(address, master);
  }

  /**
   * The master at `address` crashes: it stops being reachable, every connection to it
   * breaks (agents see code 1006, schedulers a broken stream), then it is closed.
   */
  crash(address: string): void {
    const master = this.masters.get(address);
    if (master === undefined) return;
    this.masters.delete(address);
    for (const c of [...this.connections]) if (c.master === master) c.masterCrashed();
    for (const p of [...this.pipes.values()]) if (p.master === master) p.break('master went away');
    master.close();
  }

  /** The leading master (the one schedulers reach), or undefined while none is up. */
  leader?: () => InMemoryMaster | undefined;

  forgetConnection(c: AgentConnection): void {
    this.connections.delete(c);
  }

  forgetPipe(p: SchedulerPipe): void {
    this.pipes.delete(p.stream);
  }

  /** Breaks the SUBSCRIBE connection of `stream` (as if the scheduler's TCP connection dropped). */
  breakStream(stream: InMemoryEventStream, reason: string): boolean {
    const pipe = this.pipes.get(stream);
    if (pipe === undefined) return false;
    pipe.break(reason);
    return true;
  }

  private readonly cutKeys = new Set<string>();

  /** True while `key`'s network is partitioned. */
  isCut(key: string): boolean {
    return this.cutKeys.has(key);
  }

  /**
   * Partitions (or heals) the network of the connections dialled with `dialFor(key)`: while
   * on, frames both ways are lost, a close at one end is not seen at the other, and new
   * dials fail. Healing lets surviving connections carry frames again (what was sent
   * meanwhile stays lost).
   */
  partition(key: string, on: boolean): void {
    if (on) this.cutKeys.add(key);
    else this.cutKeys.delete(key);
  }

  /** The dial seam of one agent, whose network {@link partition} can cut. */
  dialFor(key: string): AgentDial {
    return (url, events) => this.dialAs(key, url, events);
  }

  /** The slave side's dial seam (a network never partitioned). */
  readonly dial: AgentDial = (url, events) => this.dialAs('', url, events);

  /** `ws://host:port/api/v1/agent` → a connection to the master there. */
  private dialAs(key: string, url: string, events: AgentSocketEvents): AgentSocket {
    let address = '';
    try {
      address = new URL(url).host;
    } catch {
      address = '';
    }
    const master = this.masters.get(address);
    if (master === undefined || master.closed || this.isCut(key)) {
      // Connection refused: error then close, asynchronously as a socket does (once, also
      // when the caller gives up on the dial first).
      let done = false;
      const refuse = (withError: boolean): void => {
        if (done) return;
        done = true;
        if (withError) events.onError(new Error(this.isCut(key) ? `connect ETIMEDOUT ${address} (network partitioned)` : `connect ECONNREFUSED ${address} (no in-memory master there)`));
        events.onClose(1006);
      };
      this.deliver(() => refuse(true));
      const giveUp = (): void => this.deliver(() => refuse(false));
      return { send: () => undefined, close: giveUp, terminate: giveUp };
    }
    const c = new AgentConnection(master, events, this, key);
    this.connections.add(c);
    c.open('127.0.0.1');
    return c;
  }

  /** A scheduler transport to whichever master leads (a new one per scheduler). */
  schedulerTransport(): SchedulerTransport {
    return new InMemorySchedulerTransport(this);
  }

  /** One request/response round trip to the leading master. */
  roundTrip<T>(what: string, fn: (master: InMemoryMaster) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.deliver(() => {
        const master = this.leader?.();
        if (master === undefined || master.closed) {
          this.deliver(() => reject(new AgoraError(MASTER_UNREACHABLE, `${what}: cannot reach the master (in-memory master is down)`)));
          return;
        }
        const answer = fn(master);
        this.deliver(() => resolve(answer));
      });
    });
  }

  /** Opens the master side of a subscription (called inside a round trip). */
  openPipe(master: InMemoryMaster): { pipe: SchedulerPipe; open: (streamId: string) => InMemoryEventStream; newStreamId: () => string } {
    const pipe = new SchedulerPipe(master, this);
    const open = (streamId: string): InMemoryEventStream => {
      pipe.stream = new InMemoryEventStream(streamId, {
        write: (record) => this.deliver(() => { if (!pipe.broken) pipe.queue.push(record); }),
        end: () => this.deliver(() => {
          if (pipe.broken) return;
          this.pipes.delete(pipe.stream);
          pipe.queue.end();
        }),
      });
      this.pipes.set(pipe.stream, pipe);
      return pipe.stream;
    };
    return { pipe, open, newStreamId: () => `stream-${++this.streamSeq}` };
  }
}

/** {@link SchedulerTransport} over a {@link Fabric}: what HttpSchedulerTransport does, without HTTP. */
class InMemorySchedulerTransport implements SchedulerTransport {
  constructor(private readonly fabric: Fabric) {}

  async subscribe(call: SchedulerCall): Promise<SubscriptionStream> {
    const body = JSON.stringify(call);
    const { answer, pipe } = await this.fabric.roundTrip('SUBSCRIBE', (master) => {
      const side = this.fabric.openPipe(master);
      return { answer: master.request(body, { accept: 'application/json' }, side.open, side.newStreamId), pipe: side.pipe };
    });
    if (!('stream' in answer)) throw new SubscribeRejectedError(answer.status, answer.body);
    let closed = false;
    return {
      streamId: answer.stream.streamId,
      chunks: pipe.queue,
      close: () => {
        if (closed) return;
        closed = true;
        pipe.queue.end();
        if (!pipe.broken) {
          pipe.broken = true;
          this.fabric.forgetPipe(pipe);
          this.fabric.deliver(() => pipe.stream.peerClosed());
        }
      },
    };
  }

  async send(call: SchedulerCall, streamId: string): Promise<void> {
    const body = JSON.stringify(call);
    const answer = await this.fabric.roundTrip(call.type, (master) => master.request(body, { streamId }, () => {
      throw new Error('unreachable: not a SUBSCRIBE');
    }, () => ''));
    if ('stream' in answer) return;
    if (answer.status === 202 || answer.status === 200) return;
    throw new CallRejectedError(call.type, answer.status, answer.body);
  }

  close(): void {
    // No pooled connections to release.
  }
}

/**
 * A {@link LeaderDetector} the cluster drives: it reports the leading master's MasterInfo
 * JSON (or undefined between masters), like a ZooKeeper detector.
 */
export class ClusterDetector implements LeaderDetector {
  private leader: string | undefined;
  private readonly listeners = new Set<(data: string | undefined) => void>();
  private readonly waiters = new Set<(data: string) => void>();

  /** Sets the leader (undefined: none) and tells every listener. */
  set(data: string | undefined): void {
    if (data === this.leader) return;
    this.leader = data;
    for (const l of [...this.listeners]) l(data);
    if (data !== undefined) {
      for (const w of [...this.waiters]) w(data);
      this.waiters.clear();
    }
  }

  async start(): Promise<void> {}

  current(): string | undefined {
    return this.leader;
  }

  onChange(listener: (leaderData: string | undefined) => void): () => void {
    this.listeners.add(listener);
    listener(this.leader);
    return () => this.listeners.delete(listener);
  }

  /**
   * Resolves once there is a leader. The wait is not timed here (a cluster's clock may be
   * virtual); `timeoutMs` is accepted for the interface.
   */
  waitForLeader(_timeoutMs: number): Promise<string> {
    if (this.leader !== undefined) return Promise.resolve(this.leader);
    return new Promise((resolve) => this.waiters.add(resolve));
  }

  async stop(): Promise<void> {}
}
