/**
 * Real `agora` processes for integration tests: `node dist/bin/agora.js …` (build first:
 * `npm test` does, or `npx tsc -p .`). Each runs in its own process group so that
 * {@link AgoraProcess.stop} reaches everything it started in that group; every process is
 * also SIGKILLed when the test process exits, whatever happened.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { EventLog, withTimeout } from './wait.js';
import { packageRoot } from '../../slave/paths.js';

/** The repository root. */
export const repoRoot = packageRoot();
/** The compiled CLI. */
export const agoraBin = path.join(repoRoot, 'dist/bin/agora.js');

/** One JSON log line (pino): `msg` plus fields. */
export type LogRecord = Record<string, any> & { msg?: string };

/** Anything with tap's `teardown` (a tap Test). */
export interface Teardownable {
  teardown(fn: () => unknown): void;
  /** tap: false once an assertion of the test failed. */
  passing?(): boolean;
  /** tap: a diagnostic comment. */
  comment?(...args: unknown[]): void;
}

export interface SpawnOptions {
  /** Registers `stop()` as a teardown of this test. */
  t?: Teardownable;
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** A name for messages (default: the subcommand). */
  name?: string;
  /** The program to run instead of the agora CLI (`args` then go to it), e.g. `[process.execPath, 'dist/examples/x.js']`. */
  command?: string[];
}

const running = new Set<AgoraProcess>();
process.on('exit', () => {
  for (const p of running) p.signal('SIGKILL');
});

/** A spawned process, its output and its log records. */
export class AgoraProcess {
  readonly proc: ChildProcess;
  readonly name: string;
  /** JSON records printed on stdout (pino logs). */
  readonly logs = new EventLog<LogRecord>();
  /** stdout and stderr lines, JSON or not. */
  readonly stdoutLines = new EventLog<string>();
  readonly stderrLines = new EventLog<string>();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private stdoutChunks: Buffer[] = [];
  private stderrChunks: Buffer[] = [];
  /** The port from the `listening` log line, once seen. */
  port?: number;

  constructor(args: string[], opts: SpawnOptions = {}) {
    if (!opts.command && !fs.existsSync(agoraBin)) throw new Error(`${agoraBin} is missing: build first (npx tsc -p .)`);
    const [cmd, ...pre] = opts.command ?? [process.execPath, agoraBin];
    this.name = opts.name ?? args[0] ?? 'agora';
    this.proc = spawn(cmd!, [...pre, ...args], {
      cwd: opts.cwd ?? repoRoot,
      env: { ...process.env, FORCE_COLOR: '0', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    running.add(this);
    this.proc.stdin!.on('error', () => undefined);
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => {
        running.delete(this);
        resolve({ code, signal });
      });
    });
    this.proc.stdout!.on('data', (c: Buffer) => this.stdoutChunks.push(c));
    this.proc.stderr!.on('data', (c: Buffer) => this.stderrChunks.push(c));
    const out = createInterface({ input: this.proc.stdout! });
    out.on('line', (line) => {
      this.stdoutLines.push(line);
      if (line.startsWith('{')) {
        try {
          const record = JSON.parse(line) as LogRecord;
          if (record.msg === 'listening' && typeof record.port === 'number' && this.port === undefined) this.port = record.port;
          this.logs.push(record);
        } catch {
          // not a log record
        }
      }
    });
    createInterface({ input: this.proc.stderr! }).on('line', (line) => this.stderrLines.push(line));
    // Close the logs once both the process and its pipes are done, so waits fail fast.
    const closed = new Promise<void>((resolve) => this.proc.once('close', () => resolve()));
    void closed.then(async () => {
      const { code, signal } = await this.exited;
      const err = new Error(`${this.name} exited (${signal ?? `code ${code}`})\n${this.tail()}`);
      this.logs.close(err);
      this.stdoutLines.close(err);
      this.stderrLines.close(err);
    });
    opts.t?.teardown(() => this.stop());
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Everything printed on stdout so far. */
  get stdout(): string {
    return Buffer.concat(this.stdoutChunks).toString('utf8');
  }

  /** Everything printed on stderr so far. */
  get stderr(): string {
    return Buffer.concat(this.stderrChunks).toString('utf8');
  }

  /** The last lines of output, for failure messages. */
  tail(lines = 30): string {
    const pick = (s: string): string => s.split('\n').slice(-lines).join('\n');
    return `--- ${this.name} stdout (tail) ---\n${pick(this.stdout)}\n--- ${this.name} stderr (tail) ---\n${pick(this.stderr)}`;
  }

  /** The first log record (already printed or to come) matching `match`. */
  waitForLog(match: (r: LogRecord) => boolean, timeoutMs: number, what = 'a log line'): Promise<LogRecord> {
    return this.logs.waitFor(match, timeoutMs, `${this.name}: ${what}`);
  }

  /** Waits for the `listening` line; returns the port. */
  async waitListening(timeoutMs = 30_000): Promise<number> {
    const r = await this.waitForLog((l) => l.msg === 'listening' && typeof l.port === 'number', timeoutMs, 'listening');
    return r.port as number;
  }

  /** The first stdout line matching `match`. */
  waitForLine(match: RegExp | ((line: string) => boolean), timeoutMs: number, what?: string): Promise<string> {
    const f = typeof match === 'function' ? match : (l: string): boolean => match.test(l);
    return this.stdoutLines.waitFor(f, timeoutMs, `${this.name}: ${what ?? `a line matching ${String(match)}`}`);
  }

  /** Waits for the process to exit (it is killed if it does not within `timeoutMs`, and the wait fails). */
  async waitForExit(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    try {
      return await withTimeout(this.exited, timeoutMs, `${this.name} (pid ${this.pid}) to exit`);
    } catch (err) {
      this.signal('SIGKILL');
      throw new Error(`${(err as Error).message}\n${this.tail()}`);
    }
  }

  /** Sends `signal` to the process's group (falls back to the process alone). */
  signal(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, signal);
    } catch {
      try {
        this.proc.kill(signal);
      } catch {
        // gone
      }
    }
  }

  /** SIGTERM the group, wait up to `timeoutMs`, then SIGKILL it. */
  async stop(timeoutMs = 20_000): Promise<void> {
    if (!this.running) return;
    this.signal('SIGTERM');
    try {
      await withTimeout(this.exited, timeoutMs, `${this.name} to stop`);
    } catch {
      this.signal('SIGKILL');
      await withTimeout(this.exited, 5_000, `${this.name} to die`).catch(() => undefined);
    }
  }
}

/** Spawns `agora <args…>`. */
export function spawnAgora(args: string[], opts: SpawnOptions = {}): AgoraProcess {
  return new AgoraProcess(args, opts);
}

/** Spawns `agora <args…>` and waits for its `listening` line; `port` is set. */
export async function startAgora(args: string[], opts: SpawnOptions & { timeoutMs?: number } = {}): Promise<AgoraProcess> {
  const p = spawnAgora(args, opts);
  await p.waitListening(opts.timeoutMs ?? 30_000);
  return p;
}
