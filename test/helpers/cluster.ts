/**
 * A real cluster for integration tests: one `agora master` and N `agora slave` processes on
 * 127.0.0.1 with OS-picked ports and a temp work dir. Teardown stops the slaves (they run
 * with --cleanup-on-exit, so their executors and tasks die), then the master, then SIGKILLs
 * any process still living under the work dir (executors of a slave the test SIGKILLed),
 * then removes the dir.
 *
 * @module
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { killProcessesUnder } from '../../bin/process-sweep.js';
import { AgoraProcess, spawnAgora, type Teardownable } from './agora-process.js';

export interface ClusterOptions {
  /** Number of slaves (default 2). */
  slaves?: number;
  /** `--resources` of every slave, or of slave i (default: cpus:4;mem:4096;disk:10000 and ports [31000+1000·i, +999]). */
  slaveResources?: string | ((i: number) => string);
  masterArgs?: string[];
  /** Extra arguments of every slave, or of slave i (given after the defaults, so they override them: e.g. `--hostname`). */
  slaveArgs?: string[] | ((i: number) => string[]);
  /** Bound on each process's start (default 30 s). */
  startTimeoutMs?: number;
}

export interface ClusterSlave {
  proc: AgoraProcess;
  port: number;
  url: string;
  agentId: string;
  workDir: string;
}

export interface Cluster {
  workDir: string;
  master: AgoraProcess;
  masterPort: number;
  /** `127.0.0.1:<port>`, what `--master` and the SDK take. */
  masterAddress: string;
  masterUrl: string;
  slaves: ClusterSlave[];
  /** Starts one more slave (index = current count). */
  addSlave(): Promise<ClusterSlave>;
  /** Everything teardown does, callable earlier. Idempotent. */
  stop(): Promise<void>;
}

/** Makes a temp dir removed (with any process left in it killed) at teardown. */
export function tempWorkDir(t: Teardownable, prefix = 'agora-test-'): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  t.teardown(() => {
    killProcessesUnder(dir, { byCwd: true });
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

export function defaultSlaveResources(i: number): string {
  const base = 31000 + i * 1000;
  return `cpus:4;mem:4096;disk:10000;ports:[${base}-${base + 999}]`;
}

/** Starts a master and `slaves` slaves, waiting for each slave to be registered. */
export async function cluster(t: Teardownable, opts: ClusterOptions = {}): Promise<Cluster> {
  const workDir = tempWorkDir(t, 'agora-cluster-');
  const timeout = opts.startTimeoutMs ?? 30_000;
  const loopback = ['--bind', '127.0.0.1', '--ip', '127.0.0.1', '--hostname', '127.0.0.1'];
  const procs: AgoraProcess[] = [];
  let stopped = false;

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // A failed test gets the processes' last log lines, to see what the cluster was doing.
    if (t.passing && !t.passing()) for (const p of procs) t.comment?.(p.tail(40));
    const [master, ...slaves] = procs;
    await Promise.all(slaves.map((s) => s.stop(20_000)));
    await master?.stop(10_000);
    killProcessesUnder(workDir, { byCwd: true });
  };
  // tap runs teardowns last-in first-out: this one runs before the temp dir's (registered above).
  t.teardown(stop);

  const master = spawnAgora(['master', '--port', '0', '--work-dir', path.join(workDir, 'master'), ...loopback, ...(opts.masterArgs ?? [])], { name: 'master' });
  procs.push(master);
  const masterPort = await master.waitListening(timeout);
  const masterAddress = `127.0.0.1:${masterPort}`;
  const slaves: ClusterSlave[] = [];
  let started = 0;

  const addSlave = async (): Promise<ClusterSlave> => {
    const i = started++;
    const dir = path.join(workDir, `slave-${i}`);
    const res = typeof opts.slaveResources === 'function' ? opts.slaveResources(i) : opts.slaveResources ?? defaultSlaveResources(i);
    const proc = spawnAgora([
      'slave', '--master', masterAddress, '--port', '0', '--work-dir', dir, '--resources', res,
      '--cleanup-on-exit', ...loopback, ...(typeof opts.slaveArgs === 'function' ? opts.slaveArgs(i) : opts.slaveArgs ?? []),
    ], { name: `slave-${i}` });
    procs.push(proc);
    const port = await proc.waitListening(timeout);
    const registered = await proc.waitForLog((l) => l.msg === 'registered' && typeof l.agent_id === 'string', timeout, 'registered');
    const slave = { proc, port, url: `http://127.0.0.1:${port}`, agentId: registered.agent_id as string, workDir: dir };
    slaves.push(slave);
    return slave;
  };

  await Promise.all(Array.from({ length: opts.slaves ?? 2 }, () => addSlave()));
  return { workDir, master, masterPort, masterAddress, masterUrl: `http://${masterAddress}`, slaves, addSlave, stop };
}
