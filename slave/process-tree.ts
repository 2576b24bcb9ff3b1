/**
 * Reading Linux `/proc`: process trees (to kill an executor with the tasks it started in
 * their own process groups) and CPU/memory usage for `/monitor/statistics`. On systems
 * without `/proc` every function degrades to "only the pid itself" / "no figures".
 *
 * @module
 */
import fs from 'node:fs';

/** Clock ticks per second of `/proc/<pid>/stat` times (USER_HZ, 100 on Linux). */
const USER_HZ = 100;
const PAGE_BYTES = 4096;

export interface ProcStat {
  pid: number;
  ppid: number;
  pgid: number;
  /** User CPU seconds. */
  utimeSecs: number;
  /** System CPU seconds. */
  stimeSecs: number;
  rssBytes: number;
}

/** Parses the text of `/proc/<pid>/stat` (the command may contain spaces and parentheses). */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  const open = text.indexOf('(');
  if (close < 0 || open < 0) return undefined;
  const pid = Number(text.slice(0, open).trim());
  // Fields after the command, starting at field 3 (state).
  const f = text.slice(close + 2).trim().split(/\s+/);
  const num = (i: number): number => Number(f[i - 3]);
  const out = { pid, ppid: num(4), pgid: num(5), utimeSecs: num(14) / USER_HZ, stimeSecs: num(15) / USER_HZ, rssBytes: num(24) * PAGE_BYTES };
  return Object.values(out).every(Number.isFinite) ? out : undefined;
}

/** Reads `/proc/<pid>/stat`; undefined when the process is gone or there is no /proc. */
export function readProcStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * A process's identity from the text of `/proc/<pid>/stat`: its state (field 3) and start
 * time (field 22, clock ticks after boot), which tells a reused pid apart.
 */
export function parseProcIdentity(text: string): { state: string; startTime: number } | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const f = text.slice(close + 2).trim().split(/\s+/);
  const state = f[0];
  const startTime = Number(f[22 - 3]);
  if (state === undefined || state === '' || !Number.isFinite(startTime)) return undefined;
  return { state, startTime };
}

/** {@link parseProcIdentity} of a live pid; undefined when the process is gone or there is no /proc. */
export function readProcessIdentity(pid: number): { state: string; startTime: number } | undefined {
  try {
    return parseProcIdentity(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The pids listed in /proc now, this process's own excepted ([] where there is no /proc). */
export function procPids(): number[] {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid !== process.pid) out.push(pid);
  }
  return out;
}

function allStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const pid of [process.pid, ...procPids()]) {
    const s = readProcStat(pid);
    if (s !== undefined) out.push(s);
  }
  return out;
}

/** The pids of every descendant of `pid` (children, grandchildren, …), parents first. */
export function descendantPids(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const s of allStats()) {
    const list = children.get(s.ppid);
    if (list === undefined) children.set(s.ppid, [s.pid]);
    else list.push(s.pid);
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const c of children.get(queue.shift()!) ?? []) {
      if (out.includes(c) || c === pid) continue;
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/** Summed CPU and RSS of a process and its descendants; undefined when the process is gone. */
export function treeUsage(pid: number): { cpusUserTimeSecs: number; cpusSystemTimeSecs: number; memRssBytes: number; processes: number } | undefined {
  const root = readProcStat(pid);
  if (root === undefined) return undefined;
  let user = root.utimeSecs;
  let system = root.stimeSecs;
  let rss = root.rssBytes;
  let processes = 1;
  for (const d of descendantPids(pid)) {
    const s = readProcStat(d);
    if (s === undefined) continue;
    user += s.utimeSecs;
    system += s.stimeSecs;
    rss += s.rssBytes;
    processes++;
  }
  return { cpusUserTimeSecs: Math.round(user * 100) / 100, cpusSystemTimeSecs: Math.round(system * 100) / 100, memRssBytes: rss, processes };
}

/**
 * Signals a process, its process group and every descendant with their groups (tasks run
 * in their own groups). Descendants are collected before signalling, while they are still
 * children of the tree. Errors (already gone) are ignored.
 */
export function signalTree(pid: number, signal: NodeJS.Signals): void {
  signalPids([pid, ...descendantPids(pid)], signal);
}

/** Signals each pid and its process group; errors (already gone) are ignored. */
export function signalPids(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const p of pids) {
    // Never signal pid 0/1 (or -0: our own group) even if asked to.
    if (!Number.isInteger(p) || p <= 1 || p === process.pid) continue;
    for (const target of [-p, p]) {
      try {
        process.kill(target, signal);
      } catch {
        // gone, or not a group leader
      }
    }
  }
}

/**
 * Pids of processes that belong to a sandbox: their cwd, or their `MESOS_SANDBOX` /
 * `MESOS_DIRECTORY` environment variable, is `dir` or below it. Tasks run in their own
 * process groups and are re-parented to init when their executor dies, so this is how the
 * slave finds what is left of a container (the posix launcher's job in Mesos).
 */
export function sandboxPids(dir: string): number[] {
  const inside = (p: string): boolean => p === dir || p.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
  const out: number[] = [];
  for (const pid of procPids()) {
    try {
      if (inside(fs.readlinkSync(`/proc/${pid}/cwd`))) {
        out.push(pid);
        continue;
      }
    } catch {
      // gone or not ours
    }
    try {
      const env = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (env.some((kv) => (kv.startsWith('MESOS_SANDBOX=') || kv.startsWith('MESOS_DIRECTORY=')) && inside(kv.slice(kv.indexOf('=') + 1)))) out.push(pid);
    } catch {
      // gone or not ours
    }
  }
  return out;
}
