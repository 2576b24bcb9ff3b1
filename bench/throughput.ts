/**
 * Launch throughput and memory: a real master and 2 slave processes on 127.0.0.1, and a
 * batch framework (examples/batch-framework) running N `true` commands.
 *
 *   node dist/bench/throughput.js [--tasks 200] [--slaves 2] [--rounds 2]
 *
 * Prints one JSON line: tasks/s per round (first round includes starting the executors),
 * CPU seconds used by the master, each slave and all executors over the run (executor
 * figures are a lower bound: the last sample before each executor exited), and peak resident memory (MB) of the master, each slave and each executor process,
 * sampled every 50 ms while the batch runs.
 *
 * @module
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { cluster } from '../test/helpers/cluster.js';
import { runBatch } from '../examples/batch-framework.js';
import { silentLogger } from '../sdk/core/log.js';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '200' },
    slaves: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '2' },
  },
});
const tasks = Number(values.tasks);
const slaves = Number(values.slaves);
const rounds = Number(values.rounds);

/** Resident set size of a process in MB, from /proc (undefined once it is gone). */
function rssMb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc (clock ticks of 10 ms). */
function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** PIDs of the executor processes the given slaves started (their children running the command executor). */
function executorPids(slavePids: readonly number[]): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!slavePids.includes(ppid)) continue;
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('command-executor-main')) pids.push(Number(entry));
    } catch {
      // process gone
    }
  }
  return pids;
}

const teardowns: Array<() => unknown> = [];
const t = { teardown: (fn: () => unknown) => teardowns.push(fn) };
const deadline = setTimeout(() => {
  console.error('bench: gave up after 10 minutes');
  process.exit(1);
}, 600_000);

try {
  const c = await cluster(t, {
    slaves,
    slaveResources: (i) => `cpus:8;mem:16384;disk:10000;ports:[${31000 + i * 1000}-${31999 + i * 1000}]`,
  });
  const peak = new Map<string, number>();
  const sample = (): void => {
    const note = (key: string, pid: number): void => {
      const mb = rssMb(pid);
      if (mb !== undefined) peak.set(key, Math.max(peak.get(key) ?? 0, mb));
    };
    note('master', c.master.pid);
    c.slaves.forEach((s, i) => note(`slave${i}`, s.proc.pid));
    for (const pid of executorPids(c.slaves.map((s) => s.proc.pid))) {
      note(`executor:${pid}`, pid);
      const cpu = cpuSeconds(pid);
      if (cpu !== undefined) executorCpu.set(pid, cpu);
    }
  };
  const executorCpu = new Map<number, number>();
  const cpuBefore = { master: cpuSeconds(c.master.pid) ?? 0, slaves: c.slaves.map((s) => cpuSeconds(s.proc.pid) ?? 0) };
  const idleMaster = rssMb(c.master.pid);
  const idleSlave = rssMb(c.slaves[0]!.proc.pid);
  const sampler = setInterval(sample, 50);
  const perRound: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const started = process.hrtime.bigint();
    const result = await runBatch({
      master: c.masterAddress, tasks, cmd: 'true', cpus: 0.1, mem: 32, executor: 'command',
      name: `bench-${round}`, timeoutMs: 300_000, print: () => undefined, logger: silentLogger(),
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (result.finished !== tasks) throw new Error(`round ${round}: ${result.finished}/${tasks} finished: ${result.error ?? ''} ${JSON.stringify(result.failed.slice(0, 3))}`);
    perRound.push(Math.round((tasks / seconds) * 10) / 10);
  }
  clearInterval(sampler);
  const cpuUsed = {
    master: (cpuSeconds(c.master.pid) ?? 0) - cpuBefore.master,
    slaves: c.slaves.map((s, i) => (cpuSeconds(s.proc.pid) ?? 0) - cpuBefore.slaves[i]!),
    executors: [...executorCpu.values()].reduce((a, b) => a + b, 0),
  };
  const round1 = (x: number | undefined): number | undefined => (x === undefined ? undefined : Math.round(x * 10) / 10);
  const executors = [...peak].filter(([k]) => k.startsWith('executor:')).map(([, v]) => round1(v));
  console.log(JSON.stringify({
    bench: 'throughput',
    tasks,
    slaves,
    command: 'true',
    tasks_per_s: perRound,
    cpu_seconds: {
      master: round1(cpuUsed.master),
      slaves: cpuUsed.slaves.map(round1),
      executors_total: round1(cpuUsed.executors),
    },
    rss_mb: {
      master_idle: round1(idleMaster),
      master_peak: round1(peak.get('master')),
      slave_idle: round1(idleSlave),
      slave_peak: c.slaves.map((_, i) => round1(peak.get(`slave${i}`))),
      executor_peak: executors,
    },
  }));
} finally {
  for (const fn of teardowns.reverse()) await fn();
  clearTimeout(deadline);
}
