/**
 * Test kit for slave component tests: a fake master (a WebSocket server on 127.0.0.1:0
 * speaking sdk/protocol/agent.ts), a log capture, and helpers that await events with
 * timeouts instead of sleeping.
 *
 * The slave spawns the compiled command executor (dist/slave/executor/command-executor-main.js):
 * run `npx tsc -p .` (or `npm test`, which builds first) before these tests.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { pino, type Logger } from 'pino';
import { parseAgentFrame, type AgentMessage, type MasterMessage } from '../../sdk/protocol/agent.js';
import { startSlave, type SlaveHandle, type SlaveOptions } from '../../slave/main.js';

/** Resolves with `fn()`'s first truthy value, polling on every `check()`; rejects after `ms`. */
export class Waiters {
  private waiters = new Set<() => void>();
  notify(): void {
    for (const w of [...this.waiters]) w();
  }
  until<T>(fn: () => T | undefined | false, ms: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = (): void => {
        const v = fn();
        if (v !== undefined && v !== false) {
          this.waiters.delete(check);
          clearTimeout(timer);
          resolve(v);
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
      }, ms);
      this.waiters.add(check);
      check();
    });
  }
}

export interface FakeMasterOptions {
  /** Answer register/reregister (default true). */
  autoRegister?: boolean;
  /** Acknowledge every status update with a uuid right away (default false). */
  autoAck?: boolean;
  /** ping_interval_seconds sent in registered (default 10). */
  pingIntervalSeconds?: number;
  /** When set, the master pings the connected slave at this period (like a real master). */
  pingEveryMs?: number;
  /** Answer registrations with `batches: true` (the slave may then send batch frames; default false). */
  batches?: boolean;
}

/** A master that records every message a slave sends. */
export class FakeMaster {
  readonly received: AgentMessage[] = [];
  /** How many messages each frame from the slave carried, in order (more than one: a batch). */
  readonly frameSizes: number[] = [];
  readonly waiters = new Waiters();
  connections = 0;
  private socket: WebSocket | undefined;
  private nextAgent = 0;
  private readonly idByConnection = new WeakMap<WebSocket, string>();
  private pinger: NodeJS.Timeout | undefined;
  autoAck: boolean;
  autoRegister: boolean;
  pingIntervalSeconds: number;
  private readonly batches: boolean;

  private constructor(private readonly wss: WebSocketServer, readonly port: number, o: FakeMasterOptions) {
    this.batches = o.batches ?? false;
    this.autoAck = o.autoAck ?? false;
    this.autoRegister = o.autoRegister ?? true;
    this.pingIntervalSeconds = o.pingIntervalSeconds ?? 10;
    if (o.pingEveryMs !== undefined) {
      this.pinger = setInterval(() => {
        if (this.socket?.readyState === 1) this.socket.send(JSON.stringify({ type: 'ping' }));
      }, o.pingEveryMs);
    }
    wss.on('connection', (ws) => {
      this.socket = ws;
      this.connections++;
      this.waiters.notify();
      ws.on('message', (data) => this.onFrame(ws, data.toString()));
    });
  }

  static async start(o: FakeMasterOptions = {}): Promise<FakeMaster> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/api/v1/agent' });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    return new FakeMaster(wss, (wss.address() as { port: number }).port, o);
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  masterInfo() {
    return { id: 'fake-master', ip: 0x7f000001, port: this.port, hostname: 'fake-master-host' };
  }

  private onFrame(ws: WebSocket, frame: string): void {
    const parsed = parseAgentFrame(frame);
    if (!parsed.ok) throw new Error(`slave sent an invalid message: ${parsed.error}`);
    if (parsed.message.length > 1 && !this.batches) throw new Error('slave sent a batch to a master that did not accept batches');
    this.frameSizes.push(parsed.message.length);
    for (const msg of parsed.message) this.onMessage(ws, msg);
  }

  private onMessage(ws: WebSocket, msg: AgentMessage): void {
    this.received.push(msg);
    if (this.autoRegister && msg.type === 'register') {
      // A register repeated on the same connection (the slave's retry crossed our answer on a
      // loaded machine) gets the same id again, as a Mesos master answers a known agent.
      const id = this.idByConnection.get(ws) ?? `fake-master-S${this.nextAgent++}`;
      this.idByConnection.set(ws, id);
      this.sendOn(ws, { type: 'registered', agent_id: { value: id }, master_info: this.masterInfo(), ping_interval_seconds: this.pingIntervalSeconds, ...this.batchesField() });
    } else if (this.autoRegister && msg.type === 'reregister') {
      this.sendOn(ws, { type: 'reregistered', agent_id: msg.agent_id, master_info: this.masterInfo(), ping_interval_seconds: this.pingIntervalSeconds, ...this.batchesField() });
    } else if (this.autoAck && msg.type === 'status_update' && msg.update.status.uuid !== undefined) {
      this.ack(msg);
    }
    this.waiters.notify();
  }

  private batchesField(): { batches?: true } {
    return this.batches ? { batches: true } : {};
  }

  private sendOn(ws: WebSocket, msg: MasterMessage): void {
    ws.send(JSON.stringify(msg));
  }

  /** Sends to the current slave connection. */
  send(msg: MasterMessage): void {
    this.sendRaw(JSON.stringify(msg));
  }

  sendRaw(frame: string | Buffer): void {
    if (this.socket === undefined) throw new Error('no slave connected');
    this.socket.send(frame);
  }

  ack(msg: AgentMessage): void {
    if (msg.type !== 'status_update') throw new Error('not a status update');
    this.send({ type: 'status_update_ack', framework_id: msg.update.framework_id, task_id: msg.update.status.task_id, uuid: msg.update.status.uuid! });
  }

  /** Abruptly drops the slave's connection. */
  drop(): void {
    this.socket?.terminate();
    this.socket = undefined;
  }

  /** Waits for a message matching `pred` at index >= `from`; returns it and its index. */
  async waitFor<T extends AgentMessage['type']>(
    type: T,
    pred: (m: Extract<AgentMessage, { type: T }>) => boolean = () => true,
    o: { from?: number; timeoutMs?: number } = {},
  ): Promise<{ msg: Extract<AgentMessage, { type: T }>; index: number }> {
    return this.waiters.until(() => {
      for (let i = o.from ?? 0; i < this.received.length; i++) {
        const m = this.received[i]!;
        if (m.type === type && pred(m as Extract<AgentMessage, { type: T }>)) return { msg: m as Extract<AgentMessage, { type: T }>, index: i };
      }
      return undefined;
    }, o.timeoutMs ?? 15_000, `master to receive ${type}`);
  }

  /** Status updates received for a task, in arrival order. */
  updatesFor(taskId: string): Extract<AgentMessage, { type: 'status_update' }>[] {
    return this.received.filter((m): m is Extract<AgentMessage, { type: 'status_update' }> => m.type === 'status_update' && m.update.status.task_id.value === taskId);
  }

  async close(): Promise<void> {
    clearInterval(this.pinger);
    for (const c of this.wss.clients) c.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

/** Captured JSON log lines of a pino logger. */
export class LogCapture {
  readonly lines: Record<string, unknown>[] = [];
  readonly waiters = new Waiters();
  readonly logger: Logger;
  constructor(level = 'info') {
    const sink = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        for (const line of chunk.toString('utf8').split('\n')) {
          if (line.trim() === '') continue;
          try {
            this.lines.push(JSON.parse(line) as Record<string, unknown>);
          } catch {
            // not JSON
          }
        }
        this.waiters.notify();
        cb();
      },
    });
    this.logger = pino({ level }, sink);
  }
  waitFor(msg: string, pred: (l: Record<string, unknown>) => boolean = () => true, timeoutMs = 15_000): Promise<Record<string, unknown>> {
    return this.waiters.until(() => this.lines.find((l) => l.msg === msg && pred(l)), timeoutMs, `log "${msg}"`);
  }
  count(msg: string): number {
    return this.lines.filter((l) => l.msg === msg).length;
  }
}

/** A fresh temp work dir. */
export function tempWorkDir(prefix = 'agora-slave-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Starts a slave against a fake master with small timings and cleanupOnExit. */
export async function startTestSlave(master: FakeMaster, extra: Partial<SlaveOptions> = {}): Promise<{ slave: SlaveHandle; log: LogCapture; workDir: string }> {
  const log = new LogCapture(process.env.AGORA_TEST_LOG_LEVEL ?? 'debug');
  const workDir = extra.workDir ?? tempWorkDir();
  const slave = await startSlave({
    master: master.address,
    port: 0,
    host: '127.0.0.1',
    workDir,
    resources: 'cpus:2;mem:1024;disk:2048;ports:[31000-31010]',
    attributes: 'rack:r1;level:3',
    statusUpdateRetryMs: 300,
    statusUpdateMaxRetryMs: 1200,
    registrationBackoffMs: 50,
    registrationBackoffMaxMs: 200,
    executorShutdownGraceMs: 1000,
    cleanupOnExit: true,
    logger: log.logger,
    ...extra,
  });
  return { slave, log, workDir };
}

export const FRAMEWORK = { id: { value: 'fw-1' }, user: 'tester', name: 'test-framework', checkpoint: false };

/** A command task for `run_task`. */
export function commandTask(taskId: string, agentId: string, command: string, extra: Record<string, unknown> = {}) {
  return {
    name: taskId,
    task_id: { value: taskId },
    agent_id: { value: agentId },
    command: { value: command },
    resources: [
      { name: 'cpus', type: 'SCALAR' as const, scalar: { value: 0.1 } },
      { name: 'mem', type: 'SCALAR' as const, scalar: { value: 32 } },
    ],
    ...extra,
  };
}

/** GET a JSON document from the slave. */
export async function getJson(url: string): Promise<{ status: number; body: any; text: string }> {
  const res = await fetch(url);
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, body, text };
}
