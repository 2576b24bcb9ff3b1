/**
 * The processes a bench starts — real `agora master`, `agora slave` and `agora slave
 * --emulate N` processes from dist/ (through the tests' {@link spawnAgora}, so their log
 * lines can be awaited) — in one temp work dir, and their cleanup: {@link BenchProcesses.stop}
 * stops every process (SIGTERM, then SIGKILL), kills anything left under the work dir
 * (executors, tasks) and removes the dir. The runner (./run.ts) calls it on success, on error,
 * on SIGINT/SIGTERM and when the bench's time budget runs out.
 *
 * @module
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { killProcessesUnder } from '../../bin/process-sweep.js';
import { agoraBin, spawnAgora, type AgoraProcess, type LogRecord } from '../../test/helpers/agora-process.js';

/** Binds and advertises loopback only: benches never listen on other interfaces. */
export const LOOPBACK_ARGS = ['--bind', '127.0.0.1', '--ip', '127.0.0.1', '--hostname', '127.0.0.1'];

export interface StartedMaster {
  proc: AgoraProcess;
  port: number;
  /** `127.0.0.1:<port>`, what `--master` and the SDK take. */
  address: string;
  url: string;
}

export interface StartedSlave {
  proc: AgoraProcess;
  port: number;
  agentId: string;
}

/** How long one process may take to start before the bench fails. */
const START_TIMEOUT_MS = 60_000;

/**
 * The command line of an `agora` process: node (with `--cpu-prof` into `profileDir/<name>/`
 * when profiling), the CLI; behind `sh -c 'ulimit -n …; exec …'` when the open-file soft
 * limit must first be raised to the hard limit (an emulator of 15,000 slaves, and the master
 * they connect to, need a descriptor per socket).
 */
function agoraCommand(name: string, opts: { raiseFdLimit?: boolean; profileDir?: string }): string[] {
  const node = [process.execPath, ...(opts.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.join(opts.profileDir, name)}`] : []), agoraBin];
  return opts.raiseFdLimit ? ['sh', '-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"', ...node] : node;
}

/** Resolves once `count` log records of `proc` matched `match` (counting those already printed). */
export function waitForLogCount(proc: AgoraProcess, match: (r: LogRecord) => boolean, count: number, timeoutMs: number, what: string): Promise<LogRecord> {
  let seen = 0;
  return proc.waitForLog((r) => match(r) && ++seen >= count, timeoutMs, `${what} (${count})`);
}

export class BenchProcesses {
  readonly workDir: string;
  private readonly procs: AgoraProcess[] = [];
  private stopping: Promise<void> | undefined;
  private readonly cleanups: Array<() => unknown> = [];

  /**
   * @param profileDir when set, every process runs with `node --cpu-prof` and writes its
   *   profile under `profileDir/<process name>/` when it exits (open it in Chrome DevTools).
   */
  constructor(bench: string, private readonly profileDir?: string) {
    this.workDir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `agora-bench-${bench}-`)));
  }

  /** Runs `fn` at cleanup, after the processes stopped (last registered, first run): e.g. a ZooKeeper server's stop. Same shape as tap's `t.teardown`, so the tests' helpers take this object. */
  teardown(fn: () => unknown): void {
    this.cleanups.push(fn);
  }

  /** Every process started so far (for CPU/RSS sampling and failure messages). */
  get all(): readonly AgoraProcess[] {
    return this.procs;
  }

  /** Spawns `agora <args>` (no wait); it is stopped at cleanup. */
  spawn(args: string[], name: string, opts: { raiseFdLimit?: boolean; env?: Record<string, string | undefined> } = {}): AgoraProcess {
    const command = agoraCommand(name, { ...opts, ...(this.profileDir ? { profileDir: this.profileDir } : {}) });
    const proc = spawnAgora(args, { name, command, env: { AGORA_LOG_LEVEL: 'info', ...opts.env } });
    this.procs.push(proc);
    return proc;
  }

  /** A standalone master on 127.0.0.1, port picked by the OS; resolves once it listens. */
  async master(extraArgs: string[] = [], opts: { raiseFdLimit?: boolean } = {}): Promise<StartedMaster> {
    const proc = this.spawn(['master', '--port', '0', '--work-dir', path.join(this.workDir, 'master'), ...LOOPBACK_ARGS, ...extraArgs], 'master', opts);
    const port = await proc.waitListening(START_TIMEOUT_MS);
    return { proc, port, address: `127.0.0.1:${port}`, url: `http://127.0.0.1:${port}` };
  }

  /** One real slave (tasks are real processes unless `extraArgs` say otherwise); resolves once registered. */
  async slave(master: StartedMaster, resources: string, extraArgs: string[] = [], name = 'slave'): Promise<StartedSlave> {
    const proc = this.spawn([
      'slave', '--master', master.address, '--port', '0', '--work-dir', path.join(this.workDir, name),
      '--resources', resources, '--cleanup-on-exit', ...LOOPBACK_ARGS, ...extraArgs,
    ], name);
    const port = await proc.waitListening(START_TIMEOUT_MS);
    const registered = await proc.waitForLog((l) => l.msg === 'registered' && typeof l.agent_id === 'string', START_TIMEOUT_MS, 'registered');
    return { proc, port, agentId: registered.agent_id as string };
  }

  /**
   * `agora slave --emulate <count>`: one process holding `count` emulated slaves (simulated
   * containerizer) that connect to `master`. Resolves once the process started; wait for the
   * registrations with {@link waitForAgents}.
   */
  emulator(master: StartedMaster, count: number, resources: string, extraArgs: string[] = []): AgoraProcess {
    return this.spawn([
      'slave', '--emulate', String(count), '--master', master.address, '--port', '0',
      '--work-dir', path.join(this.workDir, 'emulator'), '--resources', resources,
      '--bind', '127.0.0.1', '--ip', '127.0.0.1', ...extraArgs,
    ], 'emulator', { raiseFdLimit: true });
  }

  /**
   * Resolves with the master's log record of the `count`-th agent registration (its `time`
   * is when the master admitted the last one).
   */
  waitForAgents(master: StartedMaster, count: number, timeoutMs: number): Promise<LogRecord> {
    return waitForLogCount(master.proc, (l) => l.msg === 'agent registered', count, timeoutMs, 'agents registered at the master');
  }

  /** Stops everything (idempotent): slaves and emulators first, then masters, then strays under the work dir. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const masters = this.procs.filter((p) => p.name === 'master' || p.name.startsWith('master-'));
      const others = this.procs.filter((p) => !masters.includes(p));
      await Promise.all(others.map((p) => p.stop(15_000).catch(() => undefined)));
      await Promise.all(masters.map((p) => p.stop(10_000).catch(() => undefined)));
      for (const fn of this.cleanups.reverse()) await Promise.resolve().then(fn).catch(() => undefined);
      killProcessesUnder(this.workDir, { byCwd: true });
      fs.rmSync(this.workDir, { recursive: true, force: true });
    })();
    return this.stopping;
  }
}
