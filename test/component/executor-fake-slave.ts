/**
 * Test kit for the executor component tests: a fake slave serving the v1 executor API on
 * 127.0.0.1:0, and a launcher for the real command executor process (dist/ build).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExecutorCall, type ExecutorEvent } from '../../sdk/protocol/executor.js';
import { stripNulls, type FrameworkInfo, type TaskInfo, type TaskStatus } from '../../sdk/protocol/mesos.js';
import { encodeRecord } from '../../sdk/protocol/recordio.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const COMMAND_EXECUTOR_JS = path.join(REPO_ROOT, 'dist/slave/executor/command-executor-main.js');

export const FRAMEWORK_ID = 'fw-1';
export const AGENT_ID = 'agent-1';
export const EXECUTOR_ID = 'agora-command-executor';

export interface FakeSlaveOptions {
  /** Acknowledge every UPDATE right after answering 202 (default true). */
  autoAck?: boolean;
  frameworkCapabilities?: string[];
  /** Events sent right after SUBSCRIBED on the first subscription. */
  initialEvents?: ExecutorEvent[];
}

/** A node:http server implementing the slave side of POST /api/v1/executor. */
export class FakeSlave extends EventEmitter {
  readonly calls: ExecutorCall[] = [];
  readonly subscribes: ExecutorCall[] = [];
  readonly updates: TaskStatus[] = [];
  readonly messages: string[] = [];
  autoAck: boolean;
  private stream: http.ServerResponse | undefined;
  private initialEvents: ExecutorEvent[];
  private readonly frameworkInfo: FrameworkInfo;
  private readonly sockets = new Set<import('node:net').Socket>();
  /** When false, SUBSCRIBE gets 503 (the slave is "down"). */
  accepting = true;

  private constructor(readonly server: http.Server, options: FakeSlaveOptions) {
    super();
    this.autoAck = options.autoAck ?? true;
    this.initialEvents = options.initialEvents ?? [];
    this.frameworkInfo = {
      user: 'test', name: 'test-framework', id: { value: FRAMEWORK_ID },
      capabilities: (options.frameworkCapabilities ?? []).map((type) => ({ type })),
    };
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('request', (req, res) => this.handle(req, res));
  }

  static async start(options: FakeSlaveOptions = {}): Promise<FakeSlave> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new FakeSlave(server, options);
  }

  get endpoint(): string {
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get connected(): boolean {
    return this.stream !== undefined;
  }

  /** Writes one event on the open SUBSCRIBE stream. */
  send(event: ExecutorEvent): void {
    if (this.stream === undefined) throw new Error(`no subscribed executor to send ${event.type} to`);
    this.stream.write(encodeRecord(JSON.stringify(event)));
  }

  launch(task: TaskInfo): void {
    this.send({ type: 'LAUNCH', launch: { task } });
  }

  /** Acknowledges an update as the framework would. */
  ack(status: TaskStatus): void {
    this.send({ type: 'ACKNOWLEDGED', acknowledged: { task_id: status.task_id, uuid: status.uuid! } });
  }

  /** Cuts the event stream (and every connection), as a slave crash would. */
  dropConnection(): void {
    const stream = this.stream;
    this.stream = undefined;
    stream?.destroy();
    for (const socket of this.sockets) socket.destroy();
  }

  /** Resolves with the first truthy value of `probe`, re-checked after every call; rejects after `timeoutMs`. */
  waitFor<T>(probe: () => T | undefined | false, what: string, timeoutMs = 10_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const value = probe();
        if (value === undefined || value === false) return false;
        cleanup();
        resolve(value);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; updates so far: ${JSON.stringify(this.updates.map((u) => [u.task_id.value, u.state, u.message]))}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.off('change', check);
      };
      this.on('change', check);
      check();
    });
  }

  /** States received for a task, in order. */
  statesOf(taskId: string): string[] {
    return this.updates.filter((u) => u.task_id.value === taskId).map((u) => u.state);
  }

  /** Waits for a terminal update of `taskId`. */
  terminalOf(taskId: string, timeoutMs = 10_000): Promise<TaskStatus> {
    const terminal = new Set(['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_ERROR', 'TASK_LOST']);
    return this.waitFor(() => this.updates.find((u) => u.task_id.value === taskId && terminal.has(u.state)), `terminal update of ${taskId}`, timeoutMs);
  }

  async close(): Promise<void> {
    this.dropConnection();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.method !== 'POST' || req.url !== '/api/v1/executor') {
      res.writeHead(404).end();
      return;
    }
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      let call: ExecutorCall;
      try {
        call = ExecutorCall.parse(stripNulls(JSON.parse(Buffer.concat(parts).toString('utf8'))));
      } catch (err) {
        res.writeHead(400, { 'Content-Type': 'text/plain' }).end(`bad call: ${(err as Error).message}`);
        return;
      }
      this.calls.push(call);
      switch (call.type) {
        case 'SUBSCRIBE':
          if (!this.accepting) {
            res.writeHead(503).end('agent is recovering');
            this.emit('change');
            return;
          }
          this.subscribes.push(call);
          this.stream?.destroy();
          this.stream = res;
          res.on('close', () => {
            if (this.stream === res) this.stream = undefined;
          });
          res.writeHead(200, { 'Content-Type': 'application/json' });
          this.send({
            type: 'SUBSCRIBED',
            subscribed: {
              executor_info: { executor_id: call.executor_id, framework_id: call.framework_id, type: 'DEFAULT' },
              framework_info: this.frameworkInfo,
              agent_info: { hostname: 'fake-agent.local', id: { value: AGENT_ID } },
              container_id: { value: 'container-1' },
            },
          });
          if (this.subscribes.length === 1) for (const event of this.initialEvents) this.send(event);
          break;
        case 'UPDATE': {
          const status = call.update!.status;
          this.updates.push(status);
          res.writeHead(202).end();
          if (this.autoAck && this.stream !== undefined) this.ack(status);
          break;
        }
        case 'MESSAGE':
          this.messages.push(call.message!.data);
          res.writeHead(202).end();
          break;
        default:
          res.writeHead(202).end();
      }
      this.emit('change');
    });
  }
}

export interface ExecutorProcess {
  child: ChildProcess;
  sandbox: string;
  /** Resolves when the process exits. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The executor's own stdout+stderr (log lines). */
  log(): string;
  taskFile(taskId: string, name: string): string;
}

interface Tap {
  teardown(fn: () => void | Promise<void>): void;
}

/** Spawns the real command executor against `slave`; the teardown stops it and removes the sandbox. */
export function startCommandExecutor(t: Tap, slave: FakeSlave, env: Record<string, string> = {}, script = COMMAND_EXECUTOR_JS): ExecutorProcess {
  if (!existsSync(script)) throw new Error(`${script} is missing: run \`npx tsc -p .\` first`);
  const sandbox = mkdtempSync(path.join(os.tmpdir(), 'agora-executor-test-'));
  const logFile = path.join(sandbox, 'executor.log');
  const logFd = openSync(logFile, 'a');
  const child = spawn(process.execPath, [script], {
    cwd: sandbox,
    detached: true,
    stdio: ['ignore', logFd, logFd],
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? sandbox,
      MESOS_FRAMEWORK_ID: FRAMEWORK_ID,
      MESOS_EXECUTOR_ID: EXECUTOR_ID,
      MESOS_AGENT_ID: AGENT_ID,
      MESOS_SLAVE_ID: AGENT_ID,
      MESOS_AGENT_ENDPOINT: slave.endpoint,
      MESOS_DIRECTORY: sandbox,
      MESOS_SANDBOX: sandbox,
      MESOS_CHECKPOINT: '1',
      MESOS_RECOVERY_TIMEOUT: '15mins',
      MESOS_SUBSCRIPTION_BACKOFF_MAX: '200ms',
      MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: '5secs',
      MESOS_HTTP_COMMAND_EXECUTOR: '1',
      AGORA_EXECUTOR_LOG_LEVEL: 'debug',
      ...env,
    },
  });
  closeSync(logFd);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  let done = false;
  void exited.then(() => {
    done = true;
  });
  t.teardown(async () => {
    if (!done) {
      try { process.kill(child.pid!, 'SIGTERM'); } catch { /* gone */ }
      const timer = setTimeout(() => {
        try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ }
      }, 8_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(sandbox, { recursive: true, force: true });
  });
  return {
    child,
    sandbox,
    exited,
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    taskFile: (taskId, name) => path.join(sandbox, 'tasks', taskId, name),
  };
}

/** A command TaskInfo. */
export function commandTask(id: string, command: TaskInfo['command'], extra: Partial<TaskInfo> = {}): TaskInfo {
  return { name: `task ${id}`, task_id: { value: id }, agent_id: { value: AGENT_ID }, command, ...extra };
}

/** Rejects after `ms` unless `promise` settles first. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]);
}

/** Re-checks `probe` every 20 ms (for conditions with no event, like a file appearing); rejects after `timeoutMs`. */
export function pollFor<T>(probe: () => T | undefined | false, what: string, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    const tick = (): void => {
      const value = probe();
      if (value !== undefined && value !== false) return resolve(value);
      if (Date.now() > deadline) return reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      setTimeout(tick, 20);
    };
    tick();
  });
}

/** True while a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
