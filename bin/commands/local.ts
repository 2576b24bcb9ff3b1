/**
 * `agora local`: a whole cluster on this machine in one command — a master, N slaves and
 * Marathon (unless `--no-marathon`), each its own OS process (`agora master …`, `agora
 * slave …`, `agora marathon …`) with its own port and work dir. Marathon starts once the
 * slaves are registered and stops first. Children run in their own process groups with a stdin pipe from this
 * process, so Ctrl-C here stops them in order (slaves first, with --cleanup-on-exit so
 * their tasks die too) and they stop by themselves if this process is killed outright.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Command, Option } from 'commander';
import { formatResources, parseResources, probeHost } from '../../sdk/resources/index.js';
import { agoraScript, intOption, portOption } from '../cli-support.js';
import { isAlive, killProcessesUnder } from '../process-sweep.js';

interface LocalFlags {
  slaves: number;
  masterPort: number;
  workDir: string;
  slaveResources?: string;
  /** `--no-marathon` sets this false. */
  marathon: boolean;
  marathonPort?: number;
}

/** How long each child may take to print its `listening` line, and the slaves to register. */
const START_TIMEOUT_MS = 60_000;
/** How long slaves get to stop (they kill their tasks, each with its kill grace). */
const SLAVE_STOP_TIMEOUT_MS = 20_000;
const MASTER_STOP_TIMEOUT_MS = 10_000;
/** Marathon only closes its subscription and server (its tasks stay with the slaves). */
const MARATHON_STOP_TIMEOUT_MS = 10_000;
/** Marathon's default port. */
const DEFAULT_MARATHON_PORT = 8080;

type LogRecord = Record<string, unknown> & { msg?: string };

/** One child process and what it has told us. */
class Child {
  readonly proc: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  port?: number;
  agentId?: string;
  private waiters: Array<{ match: (r: LogRecord) => boolean; resolve: (r: LogRecord) => void }> = [];

  constructor(readonly name: string, args: string[], readonly logPath: string) {
    const log = fs.openSync(logPath, 'a');
    this.proc = spawn(process.execPath, [agoraScript(), ...args, '--exit-with-parent'], {
      stdio: ['pipe', 'pipe', log],
      detached: true,
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    fs.closeSync(log);
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve({ code, signal })));
    // Children log JSON lines to stdout: copy them to the log file and watch for the ones we wait on.
    const file = fs.createWriteStream(logPath, { flags: 'a' });
    createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      file.write(line + '\n');
      let record: LogRecord;
      try {
        record = JSON.parse(line) as LogRecord;
      } catch {
        return;
      }
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(record)) return true;
        w.resolve(record);
        return false;
      });
    });
    this.proc.stdin!.on('error', () => undefined); // the child may be gone when we close it
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Resolves with the first log record matching `match`; rejects on timeout or exit. */
  waitForLog(match: (r: LogRecord) => boolean, what: string, timeoutMs: number): Promise<LogRecord> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name} did not report ${what} within ${timeoutMs / 1000}s (log: ${this.logPath})`)), timeoutMs);
      const done = (r: LogRecord): void => {
        clearTimeout(timer);
        resolve(r);
      };
      this.waiters.push({ match, resolve: done });
      void this.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited (${signal ?? `code ${code}`}) before reporting ${what} (log: ${this.logPath})`));
      });
    });
  }

  /** SIGTERM, wait up to `timeoutMs`, then SIGKILL the child's process group. */
  async stop(timeoutMs: number): Promise<void> {
    if (!this.running) return;
    this.signal('SIGTERM');
    const timedOut = await Promise.race([
      this.exited.then(() => false),
      new Promise<boolean>((r) => setTimeout(() => r(true), timeoutMs).unref()),
    ]);
    if (timedOut) {
      process.stderr.write(`agora local: ${this.name} (pid ${this.pid}) did not stop within ${timeoutMs / 1000}s; killing it\n`);
      this.signal('SIGKILL');
      await this.exited;
    }
  }

  /** Signals the child's process group (its own, since it is detached). */
  signal(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, signal);
    } catch {
      try {
        process.kill(this.pid, signal);
      } catch {
        // already gone
      }
    }
  }
}

/** Default resources of slave `i` of `n`: the host split evenly, at least cpus:2;mem:2048, ports 31000+1000·i…. */
export function defaultSlaveResources(workDir: string, i: number, n: number): string {
  const host = probeHost(workDir);
  const MB = 1024 * 1024;
  const memMb = Math.floor(host.totalMemBytes / MB);
  const usableMem = memMb - Math.min(1024, Math.floor(memMb / 2));
  const diskMb = Math.floor(host.freeDiskBytes / MB);
  const usableDisk = diskMb - Math.min(5120, Math.floor(diskMb / 2));
  const cpus = Math.max(2, Math.floor((host.cpus / n) * 10) / 10);
  const mem = Math.max(2048, Math.floor(usableMem / n));
  const disk = Math.max(1024, Math.floor(usableDisk / n));
  const base = 31000 + i * 1000;
  return `cpus:${cpus};mem:${mem};disk:${disk};ports:[${base}-${base + 999}]`;
}

export function localCommand(): Command {
  return new Command('local')
    .description('run a master and N slaves on this machine, each its own process; Ctrl-C stops them all')
    .addOption(new Option('--slaves <n>', 'number of slaves').default(3).argParser(intOption(1)))
    .addOption(new Option('--master-port <port>', 'master port; slave i gets master-port+1+i (0: the OS picks every port)').default(5050).argParser(portOption))
    .option('--work-dir <dir>', 'work dir: <dir>/master, <dir>/slave-<i>, logs in <dir>/logs', './.agora')
    .addOption(new Option('--marathon-port <port>', 'Marathon\'s port (default 8080; 0 when --master-port is 0)').argParser(portOption))
    .option('--no-marathon', 'do not start Marathon')
    .option('--slave-resources <spec>', 'resources of every slave (default: the host split evenly, at least cpus:2;mem:2048 each, distinct port ranges)')
    .action(async (flags: LocalFlags) => {
      process.exitCode = await runLocal(flags);
    });
}

async function runLocal(flags: LocalFlags): Promise<number> {
  const workDir = path.resolve(flags.workDir);
  const logDir = path.join(workDir, 'logs');
  fs.mkdirSync(logDir, { recursive: true });
  if (flags.slaveResources !== undefined) {
    try {
      parseResources(flags.slaveResources);
    } catch (err) {
      process.stderr.write(`agora local: --slave-resources: ${(err as Error).message}\n`);
      return 1;
    }
  }

  const children: Child[] = [];
  let stopping = false;
  let failure: string | undefined;
  let wake: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    wake = resolve;
  });

  const stopAll = async (): Promise<void> => {
    // Marathon first (it must not react to tasks dying), then the slaves, then the master.
    await Promise.all(children.filter((c) => c.name === 'marathon').map((c) => c.stop(MARATHON_STOP_TIMEOUT_MS)));
    const slaves = children.filter((c) => c.name !== 'master' && c.name !== 'marathon');
    await Promise.all(slaves.map((c) => c.stop(SLAVE_STOP_TIMEOUT_MS)));
    await Promise.all(children.filter((c) => c.name === 'master').map((c) => c.stop(MASTER_STOP_TIMEOUT_MS)));
    // Executors and tasks of a slave that could not clean up (killed, timed out).
    const leftovers = killProcessesUnder(workDir);
    if (leftovers.length > 0) process.stderr.write(`agora local: killed ${leftovers.length} leftover executor/task process(es): ${leftovers.join(' ')}\n`);
  };

  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // A second Ctrl-C: do not wait for graceful shutdown.
      for (const c of children) c.signal('SIGKILL');
      return;
    }
    stopping = true;
    process.stdout.write(`\n${signal}: stopping the cluster…\n`);
    wake();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const spawnChild = (name: string, args: string[]): Child => {
    const child = new Child(name, args, path.join(logDir, `${name}.log`));
    children.push(child);
    void child.exited.then(({ code, signal }) => {
      if (stopping) return;
      failure ??= `${name} (pid ${child.pid}) exited unexpectedly (${signal ?? `code ${code}`}); see ${child.logPath}`;
      stopping = true;
      wake();
    });
    return child;
  };

  try {
    const master = spawnChild('master', [
      'master', '--port', String(flags.masterPort), '--work-dir', path.join(workDir, 'master'),
      '--bind', '127.0.0.1', '--ip', '127.0.0.1', '--hostname', '127.0.0.1',
    ]);
    const listening = await Promise.race([
      master.waitForLog((r) => r.msg === 'listening' && typeof r.port === 'number', 'listening', START_TIMEOUT_MS),
      stopped.then(() => undefined),
    ]);
    if (listening) {
      master.port = listening.port as number;
      const masterAddress = `127.0.0.1:${master.port}`;
      const slaves: Child[] = [];
      const slaveResources: string[] = [];
      for (let i = 0; i < flags.slaves; i++) {
        const slaveDir = path.join(workDir, `slave-${i}`);
        fs.mkdirSync(slaveDir, { recursive: true });
        const resources = flags.slaveResources ?? defaultSlaveResources(slaveDir, i, flags.slaves);
        slaveResources.push(resources);
        slaves.push(spawnChild(`slave-${i}`, [
          'slave', '--master', masterAddress, '--port', String(flags.masterPort === 0 ? 0 : flags.masterPort + 1 + i),
          '--work-dir', slaveDir, '--resources', resources, '--bind', '127.0.0.1', '--ip', '127.0.0.1',
          '--hostname', '127.0.0.1', '--cleanup-on-exit',
        ]));
      }
      const ready = await Promise.race([
        Promise.all(slaves.map(async (s) => {
          const l = await s.waitForLog((r) => r.msg === 'listening' && typeof r.port === 'number', 'listening', START_TIMEOUT_MS);
          s.port = l.port as number;
          const reg = await s.waitForLog((r) => r.msg === 'registered' && typeof r.agent_id === 'string', 'registered', START_TIMEOUT_MS);
          s.agentId = reg.agent_id as string;
        })).then(() => true),
        stopped.then(() => false),
      ]);
      let marathon: Child | undefined;
      if (ready && flags.marathon) {
        marathon = spawnChild('marathon', [
          'marathon', '--master', masterAddress,
          '--port', String(flags.marathonPort ?? (flags.masterPort === 0 ? 0 : DEFAULT_MARATHON_PORT)),
          '--work-dir', path.join(workDir, 'marathon'), '--bind', '127.0.0.1', '--hostname', '127.0.0.1',
        ]);
        const up = await Promise.race([
          marathon.waitForLog((r) => r.msg === 'listening' && typeof r.port === 'number', 'listening', START_TIMEOUT_MS),
          stopped.then(() => undefined),
        ]);
        if (up !== undefined) marathon.port = up.port as number;
      }
      if (ready && (marathon === undefined || marathon.port !== undefined)) {
        const marathonUrl = marathon !== undefined ? `http://127.0.0.1:${marathon.port}` : undefined;
        const lines = [
          `Agora local cluster is up (work dir ${workDir}, logs in ${logDir})`,
          `  master   http://127.0.0.1:${master.port}  pid ${master.pid}`,
          ...slaves.map((s, i) => `  ${s.name.padEnd(8)} http://127.0.0.1:${s.port}  pid ${s.pid}  agent ${s.agentId}  ${formatResources(parseResources(slaveResources[i]!))}`),
          ...(marathon !== undefined ? [`  marathon ${marathonUrl}  pid ${marathon.pid}`] : []),
          '',
          `Run a task:  npx agora run --master ${masterAddress} -- echo hello`,
          `State:       curl http://${masterAddress}/master/state`,
          ...(marathonUrl !== undefined ? [`Marathon:    curl ${marathonUrl}/v2/apps`] : []),
          'Press Ctrl-C to stop.',
          '',
        ];
        process.stdout.write(lines.join('\n'));
      }
    }
  } catch (err) {
    failure ??= (err as Error).message;
    stopping = true;
    wake();
  }

  await stopped;
  await stopAll();
  const left = children.filter((c) => isAlive(c.pid));
  if (left.length > 0) process.stderr.write(`agora local: still running: ${left.map((c) => `${c.name} (pid ${c.pid})`).join(', ')}\n`);
  if (failure !== undefined) {
    process.stderr.write(`agora local: ${failure}\n`);
    return 1;
  }
  process.stdout.write('Cluster stopped.\n');
  return 0;
}
