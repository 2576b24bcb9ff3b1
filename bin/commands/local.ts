/**
 * `agora local`: a whole cluster on this machine in one command — a master, N slaves and
 * Marathon (unless `--no-marathon`), each its own OS process (`agora master …`, `agora
 * slave …`, `agora marathon …`) with its own port and work dir. Marathon starts once the
 * slaves are registered and stops first. Children run in their own process groups with a stdin pipe from this
 * process, so Ctrl-C here stops them in order (slaves first, with --cleanup-on-exit so
 * their tasks die too) and they stop by themselves if this process is killed outright.
 *
 * `--ha` runs what high availability needs, to try failover by hand: a ZooKeeper server
 * (Debian's package), 3 masters electing a leader in it, the slaves and 2 Marathons following
 * the leaders through `zk://`. Here this process is also their supervisor: a master, slave or
 * Marathon that exits (killed by the user, or a leader that lost its ZooKeeper session and
 * exits by design) is started again with the same arguments and work dir.
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
import {
  freeLoopbackPort, waitForZooKeeper, ZOOKEEPER_JAR, ZOOKEEPER_MISSING, zooCfg, zookeeperJavaArgs,
} from '../zookeeper-server.js';

interface LocalFlags {
  slaves: number;
  masterPort: number;
  workDir: string;
  slaveResources?: string;
  /** `--no-marathon` sets this false. */
  marathon: boolean;
  marathonPort?: number;
  ha: boolean;
  zkPort?: number;
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
/** ZooKeeper's default client port. */
const DEFAULT_ZK_PORT = 2181;
/** `--ha`: masters and Marathons (Marathon's own HA needs 2). */
const HA_MASTERS = 3;
const HA_MARATHONS = 2;
/** `--ha`: session timeout of masters and Marathons, short so that a failover is quick to watch. */
const HA_SESSION_TIMEOUT = '4secs';
/** `--ha` supervisor: delay before a restart, and at most this many restarts of one child per minute. */
const RESTART_DELAY_MS = 1000;
const MAX_RESTARTS_PER_MINUTE = 5;

type LogRecord = Record<string, unknown> & { msg?: string };

/** One child process and what it has told us. */
class Child {
  readonly proc: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  port?: number;
  agentId?: string;
  private waiters: Array<{ match: (r: LogRecord) => boolean; resolve: (r: LogRecord) => void }> = [];

  /**
   * Spawns `agora <args> --exit-with-parent`, or `program` when given (it must stop by
   * itself when its stdin closes, like `--exit-with-parent`).
   */
  constructor(readonly name: string, readonly args: string[], readonly logPath: string, readonly program?: string[]) {
    const log = fs.openSync(logPath, 'a');
    const [command, ...argv] = program ?? [process.execPath, agoraScript(), ...args, '--exit-with-parent'];
    this.proc = spawn(command!, argv, {
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
    .option('--ha', `high availability: a ZooKeeper server, ${HA_MASTERS} masters (master-port, +1, +2; slave i gets master-port+${HA_MASTERS}+i) and ${HA_MARATHONS} Marathons (marathon-port, +1); children that exit are restarted`, false)
    .addOption(new Option('--zk-port <port>', `with --ha: ZooKeeper's port (default ${DEFAULT_ZK_PORT}; a free one when --master-port is 0)`).argParser(portOption))
    .action(async (flags: LocalFlags) => {
      process.exitCode = await runLocal(flags);
    });
}

/** Spawns the ZooKeeper server of `--ha` under `sh`, which stops it when our pipe closes. */
async function zookeeperProgram(workDir: string, port: number): Promise<string[]> {
  const dir = path.join(workDir, 'zookeeper');
  fs.mkdirSync(dir, { recursive: true });
  const cfg = path.join(dir, 'zoo.cfg');
  fs.writeFileSync(cfg, zooCfg({ dataDir: path.join(dir, 'data'), port, minSessionTimeoutMs: 1000, noSync: true }));
  // `cat` returns when agora local's end of stdin closes (it exited or was killed): then java goes too.
  return ['/bin/sh', '-c', 'java "$@" & z=$!; cat >/dev/null; kill $z 2>/dev/null; wait $z', 'sh', ...zookeeperJavaArgs(cfg)];
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
  if (flags.ha && !fs.existsSync(ZOOKEEPER_JAR)) {
    process.stderr.write(`agora local --ha: ${ZOOKEEPER_MISSING}\n`);
    return 1;
  }

  const children: Child[] = [];
  let stopping = false;
  let failure: string | undefined;
  let wake: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const fail = (why: string): void => {
    failure ??= why;
    stopping = true;
    wake();
  };
  const kind = (c: Child): string => c.name.replace(/-\d+$/, '');

  const stopAll = async (): Promise<void> => {
    // Marathon first (it must not react to tasks dying), then the slaves, then the masters, then ZooKeeper.
    const stopKind = (k: string, timeoutMs: number): Promise<unknown> =>
      Promise.all(children.filter((c) => kind(c) === k).map((c) => c.stop(timeoutMs)));
    await stopKind('marathon', MARATHON_STOP_TIMEOUT_MS);
    await stopKind('slave', SLAVE_STOP_TIMEOUT_MS);
    await stopKind('master', MASTER_STOP_TIMEOUT_MS);
    await stopKind('zookeeper', MASTER_STOP_TIMEOUT_MS);
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

  const restarts = new Map<string, number[]>();
  /** `--ha`: starts `child` again (same name, arguments and work dir), in its place. */
  const restart = (child: Child): void => {
    const now = Date.now();
    const recent = (restarts.get(child.name) ?? []).filter((t) => now - t < 60_000);
    if (recent.length >= MAX_RESTARTS_PER_MINUTE) {
      fail(`${child.name} exited ${recent.length + 1} times within a minute; see ${child.logPath}`);
      return;
    }
    restarts.set(child.name, [...recent, now]);
    setTimeout(() => {
      if (stopping) return;
      const next = spawnChild(child.name, child.args, child.program);
      children.splice(children.indexOf(child), 1, next);
      process.stdout.write(`agora local: restarted ${child.name} (pid ${next.pid})\n`);
    }, RESTART_DELAY_MS).unref();
  };

  const spawnChild = (name: string, args: string[], program?: string[]): Child => {
    const child = new Child(name, args, path.join(logDir, `${name}.log`), program);
    children.push(child);
    void child.exited.then(({ code, signal }) => {
      if (stopping) return;
      const what = `${name} (pid ${child.pid}) exited unexpectedly (${signal ?? `code ${code}`})`;
      if (flags.ha && kind(child) !== 'zookeeper') {
        process.stdout.write(`agora local: ${what}; restarting it\n`);
        restart(child);
        return;
      }
      fail(`${what}; see ${child.logPath}`);
    });
    return child;
  };
  const waitListening = async (c: Child): Promise<boolean> => {
    const l = await Promise.race([
      c.waitForLog((r) => r.msg === 'listening' && typeof r.port === 'number', 'listening', START_TIMEOUT_MS),
      stopped.then(() => undefined),
    ]);
    if (l !== undefined) c.port = l.port as number;
    return l !== undefined;
  };

  const loopback = ['--bind', '127.0.0.1', '--ip', '127.0.0.1', '--hostname', '127.0.0.1'];
  const osPicks = flags.masterPort === 0;
  const masterCount = flags.ha ? HA_MASTERS : 1;
  try {
    let zkUrl: string | undefined;
    let zkPort: number | undefined;
    if (flags.ha) {
      zkPort = flags.zkPort ?? (osPicks ? await freeLoopbackPort() : DEFAULT_ZK_PORT);
      const zk = spawnChild('zookeeper', [], await zookeeperProgram(workDir, zkPort));
      if (!(await waitForZooKeeper(zkPort, START_TIMEOUT_MS, () => stopping || !zk.running))) {
        throw new Error(`ZooKeeper did not start on port ${zkPort}; see ${zk.logPath}`);
      }
      zk.port = zkPort;
      zkUrl = `zk://127.0.0.1:${zkPort}`;
    }
    const masters = Array.from({ length: masterCount }, (_, i) => spawnChild(flags.ha ? `master-${i}` : 'master', [
      'master', '--port', String(osPicks ? 0 : flags.masterPort + i), '--work-dir', path.join(workDir, flags.ha ? `master-${i}` : 'master'),
      ...(zkUrl !== undefined ? ['--zk', `${zkUrl}/agora`, '--zk-session-timeout', HA_SESSION_TIMEOUT] : []),
      ...loopback,
    ]));
    const mastersUp = (await Promise.all(masters.map(waitListening))).every(Boolean);
    if (mastersUp) {
      const masterAddress = zkUrl !== undefined ? `${zkUrl}/agora` : `127.0.0.1:${masters[0]!.port}`;
      const slaves: Child[] = [];
      const slaveResources: string[] = [];
      for (let i = 0; i < flags.slaves; i++) {
        const slaveDir = path.join(workDir, `slave-${i}`);
        fs.mkdirSync(slaveDir, { recursive: true });
        const resources = flags.slaveResources ?? defaultSlaveResources(slaveDir, i, flags.slaves);
        slaveResources.push(resources);
        slaves.push(spawnChild(`slave-${i}`, [
          'slave', '--master', masterAddress, '--port', String(osPicks ? 0 : flags.masterPort + masterCount + i),
          '--work-dir', slaveDir, '--resources', resources, ...loopback, '--cleanup-on-exit',
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
      const marathons: Child[] = [];
      if (ready && flags.marathon) {
        const basePort = flags.marathonPort ?? (osPicks ? 0 : DEFAULT_MARATHON_PORT);
        for (let i = 0; i < (flags.ha ? HA_MARATHONS : 1); i++) {
          marathons.push(spawnChild(flags.ha ? `marathon-${i}` : 'marathon', [
            'marathon', '--master', masterAddress, '--port', String(basePort === 0 ? 0 : basePort + i),
            '--work-dir', path.join(workDir, flags.ha ? `marathon-${i}` : 'marathon'), '--bind', '127.0.0.1', '--hostname', '127.0.0.1',
            ...(zkUrl !== undefined ? ['--zk', `${zkUrl}/marathon`, '--zk-session-timeout', HA_SESSION_TIMEOUT] : []),
          ]));
        }
      }
      const marathonsUp = (await Promise.all(marathons.map(waitListening))).every(Boolean);
      if (ready && marathonsUp) {
        const marathonUrl = marathons.length > 0 ? `http://127.0.0.1:${marathons[0]!.port}` : undefined;
        const lines = [
          `Agora local cluster is up (work dir ${workDir}, logs in ${logDir})`,
          ...(zkPort !== undefined ? [`  ${'zookeeper'.padEnd(10)} 127.0.0.1:${zkPort}  pid ${children.find((c) => c.name === 'zookeeper')!.pid}`] : []),
          ...masters.map((m) => `  ${m.name.padEnd(10)} http://127.0.0.1:${m.port}  pid ${m.pid}`),
          ...slaves.map((s, i) => `  ${s.name.padEnd(10)} http://127.0.0.1:${s.port}  pid ${s.pid}  agent ${s.agentId}  ${formatResources(parseResources(slaveResources[i]!))}`),
          ...marathons.map((m) => `  ${m.name.padEnd(10)} http://127.0.0.1:${m.port}  pid ${m.pid}`),
          '',
          `Run a task:  npx agora run --master ${masterAddress} -- echo hello`,
          `State:       curl -L http://127.0.0.1:${masters[0]!.port}/master/state`,
          ...(marathonUrl !== undefined ? [`Marathon:    curl ${marathonUrl}/v2/apps`] : []),
          ...(flags.ha ? [
            `Leader:      curl http://127.0.0.1:${masters[0]!.port}/master/redirect -i`,
            'Failover:    kill -9 the leading master\'s pid: a standby takes over, and this supervisor restarts the killed one',
          ] : []),
          'Press Ctrl-C to stop.',
          '',
        ];
        process.stdout.write(lines.join('\n'));
      }
    }
  } catch (err) {
    fail((err as Error).message);
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
