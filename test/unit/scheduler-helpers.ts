/**
 * Test kit for the scheduler SDK tests (not a test file itself): a manual clock, an
 * in-memory subscription stream and transport, async queues, and a tiny fake master
 * speaking the v1 scheduler HTTP API over node:http on 127.0.0.1:0.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeRecord, type SchedulerCall } from '../../sdk/protocol/index.js';
import { CallRejectedError } from '../../sdk/scheduler/errors.js';
import type { SchedulerTransport, SubscriptionStream } from '../../sdk/scheduler/transport.js';

/** A FIFO whose `next()` waits for the next pushed value (values pushed earlier are buffered). */
export class AsyncQueue<T> {
  private readonly values: T[] = [];
  private readonly waiters: ((v: T) => void)[] = [];
  push(value: T): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(value);
    else this.values.push(value);
  }
  next(): Promise<T> {
    if (this.values.length > 0) return Promise.resolve(this.values.shift()!);
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  get size(): number {
    return this.values.length;
  }
}

/** A promise with its resolver outside. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
}

/**
 * Virtual time: the SDK test kit's {@link VirtualClock} (sdk/testing), under the name these
 * tests have always used. Timers fire only inside `advance(ms)`, in deadline order,
 * synchronously; `nextTimer()` resolves on the next timer *registered after the call*.
 */
export { VirtualClock as ManualClock } from '../../sdk/testing/virtual-clock.js';
export type { VirtualTimer as ManualTimer } from '../../sdk/testing/virtual-clock.js';

/** An in-memory SUBSCRIBE stream the test writes RecordIO into. */
export class FakeStream implements SubscriptionStream {
  closed = false;
  private readonly queue: Uint8Array[] = [];
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  constructor(readonly streamId: string) {}

  readonly chunks: AsyncIterable<Uint8Array> = { [Symbol.asyncIterator]: () => this.iterate() };

  private async *iterate(): AsyncGenerator<Uint8Array> {
    for (;;) {
      if (this.queue.length > 0) {
        yield this.queue.shift()!;
        continue;
      }
      if (this.failure) throw this.failure;
      if (this.ended) return;
      await new Promise<void>((resolve) => { this.wake = resolve; });
    }
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  push(chunk: Uint8Array | string): void {
    this.queue.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    this.poke();
  }

  /** Writes one event as a RecordIO record. */
  event(event: unknown): void {
    this.push(encodeRecord(JSON.stringify(event)));
  }

  end(): void {
    this.ended = true;
    this.poke();
  }

  fail(err: Error): void {
    this.failure = err;
    this.poke();
  }

  close(): void {
    this.closed = true;
    this.end();
  }
}

/** One SUBSCRIBE seen by the fake transport. */
export interface FakeSubscription {
  call: SchedulerCall;
  stream: FakeStream;
}

/**
 * An in-memory transport. SUBSCRIBE answers with a fresh FakeStream unless `subscribeFailures`
 * holds errors to throw first; calls are recorded and answered by `answer` (default 202).
 */
export class FakeTransport implements SchedulerTransport {
  readonly subscriptions = new AsyncQueue<FakeSubscription>();
  readonly calls = new AsyncQueue<{ call: SchedulerCall; streamId: string }>();
  readonly allCalls: { call: SchedulerCall; streamId: string }[] = [];
  subscribeCount = 0;
  subscribeFailures: Error[] = [];
  answer: (call: SchedulerCall) => number = () => 202;
  closed = 0;

  async subscribe(call: SchedulerCall): Promise<SubscriptionStream> {
    this.subscribeCount++;
    const failure = this.subscribeFailures.shift();
    if (failure) throw failure;
    const stream = new FakeStream(`stream-${this.subscribeCount}`);
    this.subscriptions.push({ call: structuredClone(call), stream });
    return stream;
  }

  async send(call: SchedulerCall, streamId: string): Promise<void> {
    const entry = { call: structuredClone(call), streamId };
    this.allCalls.push(entry);
    this.calls.push(entry);
    const status = this.answer(call);
    if (status !== 202) throw new CallRejectedError(call.type, status, `fake answer ${status}`);
  }

  close(): void {
    this.closed++;
  }
}

export const subscribedEvent = (frameworkId: string, heartbeat?: number): unknown => ({
  type: 'SUBSCRIBED',
  subscribed: { framework_id: { value: frameworkId }, ...(heartbeat === undefined ? {} : { heartbeat_interval_seconds: heartbeat }) },
});

export const updateEvent = (taskId: string, state: string, uuid?: string, agentId = 'agent-1'): unknown => ({
  type: 'UPDATE',
  update: { status: { task_id: { value: taskId }, state, agent_id: { value: agentId }, ...(uuid === undefined ? {} : { uuid }) } },
});

export const offer = (id: string, resources: unknown[], agentId = 'agent-1', extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  id: { value: id }, framework_id: { value: 'fw-1' }, agent_id: { value: agentId }, hostname: 'host-1', resources, ...extra,
});

// ---- a fake master over real HTTP ------------------------------------------------------

/** A request the fake master received. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: SchedulerCall;
}

/**
 * A minimal v1 scheduler endpoint. `onSubscribe`/`onCall` decide the answer; the default
 * subscribes as `fw-1` (keeping a given framework id) and accepts calls with 202.
 */
export class FakeMaster {
  readonly server: http.Server;
  readonly subscribes = new AsyncQueue<{ req: ReceivedRequest; res: http.ServerResponse }>();
  readonly calls = new AsyncQueue<ReceivedRequest>();
  readonly received: ReceivedRequest[] = [];
  onSubscribe: (req: ReceivedRequest, res: http.ServerResponse) => void = (req, res) => this.acceptSubscribe(req, res);
  onCall: (req: ReceivedRequest, res: http.ServerResponse) => void = (_req, res) => { res.writeHead(202).end(); };
  private streamSeq = 0;
  private readonly openStreams = new Set<http.ServerResponse>();

  constructor() {
    this.server = http.createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        const received: ReceivedRequest = {
          method: req.method ?? '', path: req.url ?? '', headers: req.headers,
          body: JSON.parse(Buffer.concat(parts).toString('utf8') || '{}') as SchedulerCall,
        };
        this.received.push(received);
        if (received.body.type === 'SUBSCRIBE') {
          this.subscribes.push({ req: received, res });
          this.onSubscribe(received, res);
        } else {
          this.calls.push(received);
          this.onCall(received, res);
        }
      });
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this.port;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Answers 200 with a RecordIO stream and a SUBSCRIBED event. */
  acceptSubscribe(req: ReceivedRequest, res: http.ServerResponse, heartbeat = 15): void {
    const frameworkId = req.body.subscribe?.framework_info.id?.value ?? 'fw-1';
    res.writeHead(200, { 'Content-Type': 'application/json', 'Mesos-Stream-Id': `stream-${++this.streamSeq}` });
    res.write(encodeRecord(JSON.stringify({ type: 'SUBSCRIBED', subscribed: { framework_id: { value: frameworkId }, heartbeat_interval_seconds: heartbeat } })));
    this.openStreams.add(res);
    res.on('close', () => this.openStreams.delete(res));
  }

  /** Writes an event to every open stream. */
  broadcast(event: unknown): void {
    for (const res of this.openStreams) res.write(encodeRecord(JSON.stringify(event)));
  }

  /** Writes raw bytes to every open stream. */
  broadcastRaw(bytes: Uint8Array): void {
    for (const res of this.openStreams) res.write(bytes);
  }

  /** Ends every open stream (the master "drops" its frameworks). */
  dropStreams(): void {
    for (const res of this.openStreams) res.end();
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    for (const res of this.openStreams) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Starts `n` fake masters on 127.0.0.1 (closed by `t.teardown`). */
export async function startFakeMasters(t: { teardown(fn: () => unknown): void }, n: number): Promise<FakeMaster[]> {
  const list: FakeMaster[] = [];
  for (let i = 0; i < n; i++) {
    const m = new FakeMaster();
    await m.listen();
    list.push(m);
  }
  t.teardown(() => Promise.all(list.map((m) => m.close())));
  return list;
}
