/**
 * Test kit for the master component tests: an in-process master on 127.0.0.1:0, a raw HTTP
 * scheduler client that decodes the RecordIO stream, a fake slave speaking agent.ts over a
 * WebSocket, a manual clock, and an inbox to await messages with a timeout (no sleeps).
 */
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { VirtualClock } from '../../sdk/testing/virtual-clock.js';
import { silentLogger } from '../../sdk/core/log.js';
import {
  RecordIODecoder, parseMasterFrame, type AgentMessage, type FrameworkInfo, type MasterMessage,
  type Resource, type SchedulerEvent,
} from '../../sdk/protocol/index.js';
import { startMaster, type RunningMaster } from '../../master/main.js';
import type { MasterOptions } from '../../master/config.js';

/** Buffered items you can await by predicate. */
export class Inbox<T> {
  private readonly items: T[] = [];
  private readonly waiters: Array<{ pred: (x: T) => boolean; resolve: (x: T) => void }> = [];
  readonly all: T[] = [];

  push(item: T): void {
    this.all.push(item);
    const i = this.waiters.findIndex((w) => w.pred(item));
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      w!.resolve(item);
      return;
    }
    this.items.push(item);
  }

  /** The first buffered or future item matching `pred` (removed from the buffer). */
  next(pred: (x: T) => boolean = () => true, timeoutMs = 5000, what = 'item'): Promise<T> {
    const i = this.items.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.items.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const waiter = {
        pred,
        resolve: (x: T) => {
          clearTimeout(timer);
          resolve(x);
        },
      };
      const timer = setTimeout(() => {
        const k = this.waiters.indexOf(waiter);
        if (k >= 0) this.waiters.splice(k, 1);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** True when nothing matching is buffered (for "did not happen" checks after a barrier). */
  has(pred: (x: T) => boolean): boolean {
    return this.items.some(pred);
  }
}

/**
 * A manual clock: the SDK test kit's {@link VirtualClock} (sdk/testing) — time moves only
 * with `advance` — starting in 2023; zero-delay timers (the master's allocation coalescing)
 * still run by themselves on the next event-loop turn so that the master keeps working.
 */
export class ManualClock extends VirtualClock {
  constructor() {
    super({ startMs: 1_700_000_000_000, autoRunDue: true });
  }
}

export interface TestMaster extends RunningMaster {
  host: string;
}

export async function startTestMaster(opts: Partial<MasterOptions> = {}): Promise<TestMaster & { cleanup(): Promise<void> }> {
  const workDir = mkdtempSync(path.join(tmpdir(), 'agora-master-'));
  const m = await startMaster({ port: 0, host: '127.0.0.1', workDir, logger: silentLogger(), ...opts });
  return {
    ...m,
    host: '127.0.0.1',
    async cleanup() {
      await m.close();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP request; resolves with the whole response. */
export function request(
  port: number,
  opts: { method?: string; path?: string; headers?: http.OutgoingHttpHeaders; body?: string | Buffer; chunked?: boolean },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: opts.method ?? 'POST', path: opts.path ?? '/api/v1/scheduler', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (opts.body !== undefined) {
      if (opts.chunked) {
        const b = Buffer.from(opts.body);
        const half = Math.floor(b.length / 2);
        req.write(b.subarray(0, half));
        req.end(b.subarray(half));
        return;
      }
      req.end(opts.body);
    } else req.end();
  });
}

export function frameworkInfo(extra: Partial<FrameworkInfo> = {}): FrameworkInfo {
  return { user: 'tester', name: 'test-framework', ...extra };
}

/** A scheduler connected with SUBSCRIBE, decoding the RecordIO stream into an inbox. */
export class TestScheduler {
  readonly events = new Inbox<SchedulerEvent>();
  frameworkId = '';
  streamId = '';
  response?: http.IncomingMessage;
  private req?: http.ClientRequest;
  closed = false;

  constructor(readonly port: number) {}

  /** Sends SUBSCRIBE; resolves with the response once SUBSCRIBED arrived. */
  async subscribe(info: FrameworkInfo = frameworkInfo(), extra: Record<string, unknown> = {}): Promise<SchedulerEvent> {
    const body = JSON.stringify({
      type: 'SUBSCRIBE',
      ...(info.id ? { framework_id: info.id } : {}),
      subscribe: { framework_info: info, ...extra },
    });
    await new Promise<void>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1', port: this.port, method: 'POST', path: '/api/v1/scheduler',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      }, (res) => {
        this.response = res;
        this.streamId = String(res.headers['mesos-stream-id'] ?? '');
        const decoder = new RecordIODecoder();
        res.on('data', (chunk: Buffer) => {
          for (const record of decoder.push(chunk)) this.events.push(JSON.parse(record) as SchedulerEvent);
        });
        res.on('end', () => { this.closed = true; });
        res.on('close', () => { this.closed = true; });
        res.on('error', () => { this.closed = true; });
        resolve();
      });
      req.on('error', reject);
      this.req = req;
      req.end(body);
    });
    const subscribed = await this.events.next((e) => e.type === 'SUBSCRIBED' || e.type === 'ERROR', 5000, 'SUBSCRIBED');
    if (subscribed.type === 'ERROR') throw new Error(`subscribe refused: ${subscribed.error?.message}`);
    this.frameworkId = subscribed.subscribed!.framework_id.value;
    return subscribed;
  }

  next(type: SchedulerEvent['type'], pred: (e: SchedulerEvent) => boolean = () => true, timeoutMs = 5000): Promise<SchedulerEvent> {
    return this.events.next((e) => e.type === type && pred(e), timeoutMs, `${type} event`);
  }

  /** A non-subscribe call with the right stream id and framework id. */
  call(call: Record<string, unknown>, headers: http.OutgoingHttpHeaders = {}): Promise<RawResponse> {
    return request(this.port, {
      headers: { 'Content-Type': 'application/json', 'Mesos-Stream-Id': this.streamId, ...headers },
      body: JSON.stringify({ framework_id: { value: this.frameworkId }, ...call }),
    });
  }

  /** Drops the stream (scheduler crash). */
  disconnect(): void {
    this.req?.destroy();
    this.response?.destroy();
  }
}

/** A slave that speaks agent.ts over a WebSocket. */
export class FakeSlave {
  readonly messages = new Inbox<MasterMessage>();
  /** How many messages each frame from the master carried, in order (more than one: a batch). */
  readonly frameSizes: number[] = [];
  agentId = '';
  private ws?: WebSocket;
  closedPromise?: Promise<number>;
  /** Answer pings automatically. */
  autoPong = true;

  /** @param opts.batches register offering to accept batch frames */
  constructor(readonly port: number, private readonly opts: { batches?: boolean } = {}) {}

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${this.port}/api/v1/agent`);
      this.ws = ws;
      this.closedPromise = new Promise((r) => ws.on('close', (code) => r(code)));
      ws.on('open', () => resolve());
      ws.on('error', reject);
      ws.on('message', (data: WebSocket.RawData) => {
        const parsed = parseMasterFrame(String(data));
        if (!parsed.ok) throw new Error(`master sent an invalid frame: ${parsed.error}`);
        if (parsed.message.length > 1 && this.opts.batches !== true) throw new Error('master sent a batch to a slave that did not offer batches');
        this.frameSizes.push(parsed.message.length);
        for (const message of parsed.message) {
          if (message.type === 'ping' && this.autoPong) this.send({ type: 'pong' });
          this.messages.push(message);
        }
      });
    });
  }

  send(message: AgentMessage): void {
    this.ws!.send(JSON.stringify(message));
  }

  sendRaw(frame: string | Buffer): void {
    this.ws!.send(frame);
  }

  next<T extends MasterMessage['type']>(type: T, pred: (m: Extract<MasterMessage, { type: T }>) => boolean = () => true, timeoutMs = 5000): Promise<Extract<MasterMessage, { type: T }>> {
    return this.messages.next((m) => m.type === type && pred(m as Extract<MasterMessage, { type: T }>), timeoutMs, `${type} message`) as Promise<Extract<MasterMessage, { type: T }>>;
  }

  async register(resources: Resource[] = defaultResources(), hostname = 'fake-slave', port = 5051): Promise<string> {
    if (!this.ws) await this.connect();
    this.send({ type: 'register', agent_info: { hostname, port, resources }, version: 'test', ...(this.opts.batches ? { batches: true } : {}) });
    const reg = await this.next('registered');
    this.agentId = reg.agent_id.value;
    return this.agentId;
  }

  close(): void {
    this.ws?.close();
  }

  terminate(): void {
    this.ws?.terminate();
  }
}

export function scalar(name: string, value: number): Resource {
  return { name, type: 'SCALAR', scalar: { value } };
}

export function defaultResources(): Resource[] {
  return [scalar('cpus', 4), scalar('mem', 4096), scalar('disk', 10000), { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 32000 }] } }];
}

/** A LAUNCH of one command task on an offer. */
export function launchCall(offerIds: string[], agentId: string, taskId: string, resources: Resource[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'ACCEPT',
    accept: {
      offer_ids: offerIds.map((value) => ({ value })),
      operations: [{
        type: 'LAUNCH',
        launch: { task_infos: [{ name: taskId, task_id: { value: taskId }, agent_id: { value: agentId }, resources, command: { value: 'sleep 100' }, ...extra }] },
      }],
      filters: { refuse_seconds: 0.001 },
    },
  };
}

/** A 16-byte uuid as base64, like the slave puts in TaskStatus.uuid. */
export function uuidB64(n = 1): string {
  const b = Buffer.alloc(16);
  b.writeUInt32BE(n, 12);
  return b.toString('base64');
}
