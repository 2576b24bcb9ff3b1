/**
 * CPU and memory of a process, read from Linux's /proc: `/proc/<pid>/stat` (utime + stime,
 * in clock ticks) and `/proc/<pid>/status` (VmRSS, VmHWM). Readers return undefined once
 * the process is gone (or off Linux), so a sampler never throws in a bench.
 *
 * @module
 */
import fs from 'node:fs';
import { round } from './stats.js';

/** Linux's USER_HZ: clock ticks per second in /proc/<pid>/stat (100 on every mainstream arch). */
const TICKS_PER_SECOND = 100;

/** The fields of /proc/<pid>/stat after the command name (state first), or undefined. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: the fields start after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) the process has used so far. */
export function cpuSeconds(pid: number): number | undefined {
  const fields = statFields(pid);
  return fields === undefined ? undefined : (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** CPU seconds (user + system) of the children the process has waited for (cutime + cstime). */
export function reapedChildrenCpuSeconds(pid: number): number | undefined {
  const fields = statFields(pid);
  return fields === undefined ? undefined : (Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND;
}

/** The process's command name (/proc/<pid>/comm), or undefined once it is gone. */
export function commandName(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** A `VmXxx:` line of /proc/<pid>/status in MB. */
function statusMb(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Resident memory now, in MB. */
export function rssMb(pid: number): number | undefined {
  return statusMb(pid, 'VmRSS');
}

/** The children of `pid`, from `/proc/<pid>/task/<tid>/children` (every thread's); [] once it is gone. */
export function childPids(pid: number): number[] {
  let threads: string[];
  try {
    threads = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const children: number[] = [];
  for (const tid of threads) {
    try {
      for (const child of fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'latin1').split(' ')) {
        if (child !== '' && child !== '\n') children.push(Number(child));
      }
    } catch {
      // the thread or the process ended
    }
  }
  return children;
}

/**
 * The descendants of `pid` down to `depth` generations (1: its children), parents first,
 * from the `children` files: a few reads per process in the tree. slave/process-tree.ts
 * `descendantPids` reads every process's stat instead (exact for a tree that changes, what
 * signalling needs); a scan of every process on the machine cost the bench process ~10 % of
 * its samples while it measured.
 */
export function descendantsToDepth(pid: number, depth: number): number[] {
  const found: number[] = [];
  let generation = [pid];
  for (let level = 0; level < depth && generation.length > 0; level++) {
    generation = generation.flatMap(childPids);
    found.push(...generation);
  }
  return found;
}

/** Peak resident memory since the process started ("high water mark"), in MB. */
export function peakRssMb(pid: number): number | undefined {
  return statusMb(pid, 'VmHWM');
}

/** CPU use of a process over a window: call {@link CpuWindow.percent} at its end. */
export class CpuWindow {
  private readonly startCpu: number | undefined;
  private readonly startWall = process.hrtime.bigint();

  constructor(private readonly pid: number) {
    this.startCpu = cpuSeconds(pid);
  }

  /** Percent of one core used since the window opened (100 = one core busy); undefined if unreadable. */
  percent(): number | undefined {
    const now = cpuSeconds(this.pid);
    if (now === undefined || this.startCpu === undefined) return undefined;
    const wall = Number(process.hrtime.bigint() - this.startWall) / 1e9;
    return wall > 0 ? round(((now - this.startCpu) / wall) * 100, 1) : undefined;
  }

  /** CPU seconds used since the window opened. */
  seconds(): number | undefined {
    const now = cpuSeconds(this.pid);
    return now === undefined || this.startCpu === undefined ? undefined : round(now - this.startCpu, 2);
  }
}

/**
 * Samples a changing set of processes (e.g. the executors a slave starts and stops) every
 * `intervalMs` until {@link stop}: the CPU seconds each used (last sample before it exited,
 * so a lower bound) and the peak RSS of each. `list()` names the processes to look at. For
 * the processes `countReaped` picks, it also keeps the CPU of the children they waited for
 * ({@link reapedCpuSeconds}): short-lived children (a task lives a few milliseconds) that
 * sampling them directly would miss.
 */
export class ProcessSetSampler {
  private readonly cpu = new Map<number, number>();
  private readonly reaped = new Map<number, number>();
  private readonly peak = new Map<number, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly list: () => number[], intervalMs: number, private readonly countReaped: (pid: number) => boolean = () => false) {
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  private sample(): void {
    for (const pid of this.list()) {
      const c = cpuSeconds(pid);
      if (c !== undefined) this.cpu.set(pid, c);
      const r = peakRssMb(pid);
      if (r !== undefined) this.peak.set(pid, Math.max(this.peak.get(pid) ?? 0, r));
      if (this.countReaped(pid)) {
        const children = reapedChildrenCpuSeconds(pid);
        if (children !== undefined) this.reaped.set(pid, children);
      }
    }
  }

  stop(): { processes: number; cpu_seconds: number; peak_rss_mb_max: number } {
    clearInterval(this.timer);
    this.sample();
    let cpu = 0;
    for (const c of this.cpu.values()) cpu += c;
    return { processes: this.peak.size, cpu_seconds: round(cpu, 2), peak_rss_mb_max: round(Math.max(0, ...this.peak.values()), 1) };
  }

  /** CPU seconds of the children the `countReaped` processes waited for (read after {@link stop}). */
  reapedCpuSeconds(): number {
    let cpu = 0;
    for (const c of this.reaped.values()) cpu += c;
    return round(cpu, 2);
  }
}
