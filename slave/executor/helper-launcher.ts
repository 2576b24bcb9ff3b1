/**
 * {@link HelperTaskLauncher}: starts task processes through a long-lived helper process that
 * forks (or vforks) on the executor's behalf and reports each start and each exit on a pipe
 * (the protocol is in perl-launcher.ts). Two helpers speak it: the native one
 * (native/agora-launcher.c, built by `npm run build` where a C compiler is found) and the
 * perl one; task-launcher.ts picks which.
 *
 * If the helper dies, launches in flight fail, the tasks it had started are watched by
 * polling their pids (their status is then unknown), and the next launch starts a new
 * helper. If it cannot be started at all, every launch goes to the fallback launcher.
 *
 * @module
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import os from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { Clock, TimerHandle } from '../../sdk/core/clock.js';
import { AgoraError } from '../../sdk/core/errors.js';
import type { Logger } from '../../sdk/core/log.js';
import { readProcessIdentity } from '../process-tree.js';
import type { TaskLauncher, TaskProcess, TaskProcessExit, TaskProcessSpec } from './task-launcher.js';

/** How often the tasks of a helper that died are checked (their end is noticed within this). */
export const ORPHAN_POLL_MS = 250;

/** Errno numbers → names (`2` → `ENOENT`). */
const ERRNO_NAMES = new Map(Object.entries(os.constants.errno).map(([name, n]) => [n, name]));
/** Signal numbers → names (`15` → `SIGTERM`). */
const SIGNAL_NAMES = new Map(Object.entries(os.constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]));

/** Most variable names whose last encoding {@link HelperTaskLauncher} keeps. */
const MAX_ENCODED_VARIABLES = 4096;

interface PendingLaunch {
  spec: TaskProcessSpec;
  resolve(p: TaskProcess): void;
  reject(e: Error): void;
}

interface Helper {
  child: ChildProcessByStdio<Writable, Readable, null>;
  ready: boolean;
  gone: boolean;
  /** Launches sent to this helper and not yet answered, by request id. */
  pending: Map<number, PendingLaunch>;
  /** Tasks it started that have not ended, by pid. */
  running: Map<number, (e: TaskProcessExit) => void>;
  /** Whether the helper's process and pipes hold the event loop now. */
  refd: boolean;
}

/**
 * A helper's whole environment: PATH and the C locale. Nothing of the executor's (PERL5OPT,
 * LD_PRELOAD, …) reaches it; the tasks get theirs from each request.
 */
export function helperEnvironment(): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' };
}

/** A helper program speaking the launch protocol (perl-launcher.ts). */
export interface HelperProgram {
  /** For logs: `perl`, `native`. */
  name: string;
  file: string;
  args: readonly string[];
  /** The helper's whole environment (the tasks get theirs from each request). */
  env: Readonly<Record<string, string>>;
}

/** Options of {@link HelperTaskLauncher}. */
export interface HelperTaskLauncherOptions {
  clock: Clock;
  logger: Logger;
  helper: HelperProgram;
  /** Used for every launch once the helper turns out not to start at all. */
  fallback: TaskLauncher;
}

/** Launches task processes through a long-lived helper process (see the module comment). */
export class HelperTaskLauncher implements TaskLauncher {
  private helper: Helper | undefined;
  /** The helper could not be started: everything goes to the fallback. */
  private unavailable = false;
  private nextId = 1;
  /** Tasks of dead helpers, watched by polling: pid → start time (clock ticks) and how to report the end. */
  private readonly orphans = new Map<number, { startTime: number | undefined; resolve(e: TaskProcessExit): void }>();
  private orphanPoll: TimerHandle | undefined;
  private closed = false;
  /** The last `NAME=value` encoded for each variable name (see `encodeVariable`). */
  private readonly encodedEnv = new Map<string, { value: string; encoded: string }>();

  constructor(private readonly o: HelperTaskLauncherOptions) {}

  /** The helper's pid while one runs (tests kill it to check what follows). */
  get helperPid(): number | undefined {
    return this.helper?.gone === false ? this.helper.child.pid : undefined;
  }

  launch(spec: TaskProcessSpec): Promise<TaskProcess> {
    if (this.unavailable) return this.o.fallback.launch(spec);
    if (this.closed) return Promise.reject(new AgoraError('AGORA_TASK_LAUNCH_FAILED', 'the task launcher is closed'));
    const id = this.nextId;
    const fields = [String(id), spec.file, spec.argv0, spec.cwd, spec.makeCwd === true ? '1' : '0', spec.stdoutPath, spec.stderrPath, String(spec.args.length), ...spec.args];
    let nul = fields.some((f) => f.includes('\0'));
    for (const name in spec.env) {
      const variable = this.encodeVariable(name, spec.env[name]!);
      if (variable === undefined) nul = true;
      else fields.push(variable);
    }
    if (nul) {
      return Promise.reject(new AgoraError('AGORA_TASK_LAUNCH_FAILED', `spawn ${spec.file}: arguments and environment must not contain NUL bytes`));
    }
    const helper = this.helper ?? this.startHelper();
    this.nextId++;
    const payload = fields.join('\0');
    return new Promise<TaskProcess>((resolve, reject) => {
      helper.pending.set(id, { spec, resolve, reject });
      this.updateRef(helper);
      this.cork(helper);
      helper.child.stdin.write(`${Buffer.byteLength(payload)}\n${payload}`);
    });
  }

  /**
   * `NAME=value`, or undefined when either holds a NUL byte. Most of a task's environment is
   * its executor's, the same for every task: the string built for the last value of each
   * name is reused.
   */
  private encodeVariable(name: string, value: string): string | undefined {
    const last = this.encodedEnv.get(name);
    if (last !== undefined && last.value === value) return last.encoded;
    if (name.includes('\0') || value.includes('\0')) return undefined;
    const encoded = `${name}=${value}`;
    // Names come from tasks too: a bound, should each task bring names of its own.
    if (this.encodedEnv.size >= MAX_ENCODED_VARIABLES) this.encodedEnv.clear();
    this.encodedEnv.set(name, { value, encoded });
    return encoded;
  }

  /**
   * Holds the helper's stdin until this tick ends: the launches of one LAUNCH batch leave in
   * one write, and the helper wakes once for them rather than once each.
   */
  private cork(helper: Helper): void {
    const stdin = helper.child.stdin;
    if (stdin.writableCorked > 0) return;
    stdin.cork();
    process.nextTick(() => stdin.uncork());
  }

  close(): void {
    this.closed = true;
    this.orphanPoll?.cancel();
    this.orphanPoll = undefined;
    this.orphans.clear();
    const helper = this.helper;
    this.helper = undefined;
    if (helper !== undefined && !helper.gone) {
      // EOF ends the helper; its tasks are not touched (they lead their own sessions).
      helper.child.stdin.end();
      setRef(helper, false);
    }
    this.o.fallback.close();
  }

  private startHelper(): Helper {
    const program = this.o.helper;
    const child = spawn(program.file, [...program.args], { env: { ...program.env }, stdio: ['pipe', 'pipe', 'inherit'] });
    const helper: Helper = { child, ready: false, gone: false, pending: new Map(), running: new Map(), refd: true };
    this.helper = helper;
    const decoder = new StringDecoder('utf8');
    let partial = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const lines = (partial + decoder.write(chunk)).split('\n');
      partial = lines.pop()!;
      for (const line of lines) this.onLine(helper, line);
    });
    child.stdin.on('error', () => undefined); // EPIPE when it died: 'close' below handles it
    child.once('error', (err) => this.helperGone(helper, err.message));
    child.once('close', (code, signal) => this.helperGone(helper, `exited with ${signal ?? `status ${code}`}`));
    return helper;
  }

  private onLine(helper: Helper, line: string): void {
    const [kind, a, b, ...rest] = line.split(' ');
    switch (kind) {
      case 'R':
        helper.ready = true;
        return;
      case 'S': {
        const launch = helper.pending.get(Number(a));
        if (launch === undefined) return;
        helper.pending.delete(Number(a));
        const pid = Number(b);
        const exited = new Promise<TaskProcessExit>((resolve) => helper.running.set(pid, resolve));
        this.updateRef(helper);
        launch.resolve({ pid, exited });
        return;
      }
      case 'F': {
        const launch = helper.pending.get(Number(a));
        if (launch === undefined) return;
        helper.pending.delete(Number(a));
        this.updateRef(helper);
        const errno = ERRNO_NAMES.get(Number(b)) ?? `errno ${b}`;
        launch.reject(new AgoraError('AGORA_TASK_LAUNCH_FAILED', `spawn ${launch.spec.file} ${errno} (${rest.join(' ')})`));
        return;
      }
      case 'X': {
        const pid = Number(a);
        const resolve = helper.running.get(pid);
        if (resolve === undefined) return;
        helper.running.delete(pid);
        this.updateRef(helper);
        const code = Number(b);
        const signal = Number(rest[0]);
        // The helper SIGKILLed the rest of its group as it reaped it (perl-launcher.ts, protocol).
        resolve({ ...(code >= 0 ? { code, signal: null } : { code: null, signal: SIGNAL_NAMES.get(signal) ?? null }), groupKilled: true });
        return;
      }
      default:
        this.o.logger.warn({ line }, 'task launcher: unexpected output ignored');
    }
  }

  private helperGone(helper: Helper, why: string): void {
    if (helper.gone) return;
    helper.gone = true;
    if (this.helper === helper) this.helper = undefined;
    if (!helper.ready) {
      // The helper never came up: nothing was started; the fallback does these and every later launch.
      this.unavailable = true;
      this.o.logger.warn({ reason: why }, `${this.o.helper.name} task launcher unavailable; starting tasks with the fallback launcher`);
      for (const p of helper.pending.values()) this.o.fallback.launch(p.spec).then(p.resolve, p.reject);
      helper.pending.clear();
      return;
    }
    if (this.closed) return;
    this.o.logger.warn({ reason: why, launching: helper.pending.size, running: helper.running.size }, 'task launcher died; a new one starts with the next task');
    for (const p of helper.pending.values()) {
      p.reject(new AgoraError('AGORA_TASK_LAUNCH_FAILED', `spawn ${p.spec.file}: the task launcher died (${why})`));
    }
    helper.pending.clear();
    for (const [pid, resolve] of helper.running) this.orphans.set(pid, { startTime: readProcessIdentity(pid)?.startTime, resolve });
    helper.running.clear();
    this.pollOrphans();
    if (this.orphans.size > 0 && this.orphanPoll === undefined) {
      this.orphanPoll = this.o.clock.setInterval(() => this.pollOrphans(), ORPHAN_POLL_MS);
    }
  }

  /** Orphaned tasks that are gone (pid free, zombie, or reused) end with an unknown status. */
  private pollOrphans(): void {
    for (const [pid, o] of this.orphans) {
      const now = readProcessIdentity(pid);
      if (now !== undefined && now.state !== 'Z' && now.state !== 'X' && (o.startTime === undefined || now.startTime === o.startTime)) continue;
      this.orphans.delete(pid);
      o.resolve({ code: null, signal: null });
    }
    if (this.orphans.size === 0) {
      this.orphanPoll?.cancel();
      this.orphanPoll = undefined;
    }
  }

  /**
   * The helper holds the event loop only while something waits on it. Only a change is
   * applied: this runs for every line, and ref/unref of three handles per line was a few
   * percent of the executor's CPU.
   */
  private updateRef(helper: Helper): void {
    if (helper.gone) return;
    const busy = helper.pending.size + helper.running.size > 0;
    if (busy === helper.refd) return;
    helper.refd = busy;
    setRef(helper, busy);
  }
}

/** Refs or unrefs the helper process and its pipes (net.Sockets under their stream types). */
function setRef(helper: Helper, on: boolean): void {
  const handles = [helper.child, helper.child.stdin, helper.child.stdout] as unknown as Array<{ ref?(): void; unref?(): void }>;
  for (const h of handles) {
    if (on) h.ref?.();
    else h.unref?.();
  }
}
