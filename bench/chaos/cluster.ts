/**
 * The chaos cluster: real processes, supervised. A ZooKeeper server; N masters with `--zk`
 * (each through its own ZooKeeper proxy, so one master's session can be made to expire);
 * M slaves, each reaching the leading master through its own {@link FaultProxy}; K
 * Marathons with `--zk`. Short timeouts so faults resolve fast.
 *
 * Supervision: every exit is recorded (for invariant 5) with whether the harness caused it;
 * a process that exits on its own (a leader that lost its ZooKeeper session, or a crash) is
 * restarted on the same work dir, like an init system would.
 *
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Clock } from '../../sdk/core/clock.js';
import { spawnAgora, type AgoraProcess, type LogRecord } from '../../test/helpers/agora-process.js';
import { startZkProxy, startZooKeeper, type TestZkProxy, type TestZooKeeper } from '../../test/helpers/zookeeper.js';
import { FaultProxy, type ProxyTarget } from './proxy.js';
import { isLeadershipLossLog, type ExitRecord } from './invariants.js';
import type { ClusterTimeouts } from './schedule.js';

export type Role = 'master' | 'slave' | 'marathon';

const LOOPBACK = ['--bind', '127.0.0.1', '--hostname', '127.0.0.1'];
/** Bound on a process coming up (a failure limit). */
export const START_BOUND_MS = 60_000;

/** One supervised process slot (the process changes on every restart). */
export interface Member {
  role: Role;
  index: number;
  name: string;
  workDir: string;
  proc?: AgoraProcess;
  /** HTTP port of the current process, once listening. */
  port?: number;
  /** Set by the harness before it kills/stops the process, so the exit is not a crash. */
  exitExpected: boolean;
  /** SIGSTOPped by the harness. */
  paused: boolean;
  /** How many records of the current process's log were already scanned for invariant 5. */
  logsScanned: number;
  restarts: number;
}

export interface ClusterOptions {
  workDir: string;
  masters: number;
  slaves: number;
  marathons: number;
  /** Per-slave resources, Mesos syntax. */
  slaveResources: string;
  timeouts: ClusterTimeouts & { agentPingTimeoutMs: number; maxAgentPingTimeouts: number; executorRecoveryTimeoutMs: number };
  clock: Clock;
  /** JSON-lines event sink. */
  emit: (event: Record<string, unknown>) => void;
}

const secs = (ms: number): string => `${Math.max(1, Math.round(ms / 1000))}secs`;

export class ChaosCluster {
  zk!: TestZooKeeper;
  readonly members: Member[] = [];
  readonly proxies: FaultProxy[] = [];
  readonly zkProxies: TestZkProxy[] = [];
  readonly exits: ExitRecord[] = [];
  private stopping = false;
  /** Records of replaced processes not yet drained (their last lines matter most). */
  private pendingLogs: Array<{ member: Member; record: LogRecord }> = [];
  private readonly teardowns: Array<() => unknown> = [];

  constructor(readonly o: ClusterOptions) {}

  get zkUrlMasters(): string {
    return this.zk.url('/agora');
  }

  byRole(role: Role): Member[] {
    return this.members.filter((m) => m.role === role);
  }

  /** Starts everything; resolves once every process is up and every slave registered. */
  async start(): Promise<void> {
    fs.mkdirSync(this.o.workDir, { recursive: true });
    this.zk = await startZooKeeper({ teardown: (fn) => { this.teardowns.push(fn); } });
    for (let i = 0; i < this.o.masters; i++) {
      this.zkProxies.push(await startZkProxy({ teardown: (fn) => { this.teardowns.push(fn); } }, this.zk));
      this.members.push(this.member('master', i));
    }
    for (let i = 0; i < this.o.slaves; i++) {
      const proxy = new FaultProxy({ resolveTarget: () => this.leaderTarget(), clock: this.o.clock });
      await proxy.listen();
      this.proxies.push(proxy);
      this.members.push(this.member('slave', i));
    }
    for (let i = 0; i < this.o.marathons; i++) this.members.push(this.member('marathon', i));
    const masters = this.byRole('master');
    masters.forEach((m) => this.spawn(m));
    await Promise.all(masters.map((m) => this.waitUp(m)));
    const others = this.members.filter((m) => m.role !== 'master');
    others.forEach((m) => this.spawn(m));
    await Promise.all(others.map((m) => this.waitUp(m)));
  }

  private member(role: Role, index: number): Member {
    const name = `${role}-${index}`;
    return { role, index, name, workDir: path.join(this.o.workDir, name), exitExpected: false, paused: false, logsScanned: 0, restarts: 0 };
  }

  private argsFor(m: Member): string[] {
    const t = this.o.timeouts;
    switch (m.role) {
      case 'master':
        return [
          'master', '--port', '0', '--work-dir', m.workDir, '--zk', this.zkProxies[m.index]!.url('/agora'),
          '--zk-session-timeout', secs(t.zkSessionTimeoutMs), '--agent-ping-timeout', secs(t.agentPingTimeoutMs),
          '--max-agent-ping-timeouts', String(t.maxAgentPingTimeouts), '--agent-reregister-timeout', '20secs',
          '--ip', '127.0.0.1', ...LOOPBACK,
        ];
      case 'slave':
        return [
          'slave', '--master', `127.0.0.1:${this.proxies[m.index]!.port}`, '--port', '0', '--work-dir', m.workDir,
          '--resources', this.o.slaveResources, '--recovery-timeout', secs(t.executorRecoveryTimeoutMs),
          '--executor-shutdown-grace', '2secs', '--ip', '127.0.0.1', ...LOOPBACK,
        ];
      case 'marathon':
        return [
          'marathon', '--master', this.zk.url('/agora'), '--zk', this.zk.url('/marathon'), '--zk-session-timeout', secs(t.zkSessionTimeoutMs),
          '--port', '0', '--work-dir', m.workDir, '--reconciliation-interval', '15secs', '--decline-offer-duration', '2secs',
          '--failover-timeout', '3600', ...LOOPBACK,
        ];
    }
  }

  /** Spawns the member's process and supervises it. */
  spawn(m: Member): AgoraProcess {
    if (m.proc) {
      const old = m.proc.logs.events;
      for (; m.logsScanned < old.length; m.logsScanned++) this.pendingLogs.push({ member: m, record: old[m.logsScanned]! });
    }
    const proc = spawnAgora(this.argsFor(m), { name: m.name });
    m.proc = proc;
    m.port = undefined;
    m.exitExpected = false;
    m.paused = false;
    m.logsScanned = 0;
    void proc.waitListening(START_BOUND_MS).then((port) => { if (m.proc === proc) m.port = port; }, () => undefined);
    this.o.emit({ event: 'spawn', member: m.name, pid: proc.pid });
    void proc.exited.then(({ code, signal }) => {
      const record: ExitRecord = { name: m.name, pid: proc.pid, code, signal, byHarness: m.proc !== proc || m.exitExpected || this.stopping, lostLeadership: proc.logs.events.some(isLeadershipLossLog) };
      if (!record.byHarness) record.detail = proc.stderr.split('\n').filter((l) => l.trim() !== '').slice(-5).join(' | ').slice(0, 1500);
      this.exits.push(record);
      this.o.emit({ event: 'exit', member: m.name, pid: proc.pid, code, signal, by_harness: record.byHarness, lost_leadership: record.lostLeadership });
      if (m.proc === proc && !record.byHarness && !this.stopping) {
        // Supervisor: a by-design exit (leadership lost) or a crash; either way, back up.
        m.restarts++;
        this.spawn(m);
      }
    });
    return proc;
  }

  /** Waits until the member's current process listens (and, for a slave, registered). */
  async waitUp(m: Member, timeoutMs = START_BOUND_MS): Promise<void> {
    const proc = m.proc!;
    m.port = await proc.waitListening(timeoutMs);
    if (m.role === 'slave') await proc.waitForLog((l) => l.msg === 'registered', timeoutMs, 'registered');
  }

  /** SIGKILLs the member's process (an expected exit); resolves once it is gone. */
  async kill(m: Member): Promise<void> {
    const proc = m.proc;
    if (!proc || !proc.running) return;
    m.exitExpected = true;
    proc.signal('SIGKILL');
    await proc.waitForExit(10_000).catch(() => undefined);
  }

  pause(m: Member): void {
    if (!m.proc?.running) return;
    m.paused = true;
    m.proc.signal('SIGSTOP');
  }

  resume(m: Member): void {
    if (!m.proc) return;
    m.paused = false;
    m.proc.signal('SIGCONT');
  }

  /** Asks each live master where the leader is; the answer of the majority of those that answer. */
  async leaderPort(): Promise<number | undefined> {
    const live = this.byRole('master').filter((m) => m.proc?.running && !m.paused && m.port !== undefined);
    const answers = await Promise.all(live.map(async (m) => {
      const res = await httpGet(this.o.clock, `http://127.0.0.1:${m.port}/master/redirect`, 2000, 'manual').catch(() => undefined);
      const loc = res?.status === 307 ? res.location : undefined;
      const port = Number(/:(\d+)$/.exec(loc ?? '')?.[1]);
      return Number.isInteger(port) && port > 0 ? port : undefined;
    }));
    const votes = new Map<number, number>();
    for (const p of answers) if (p !== undefined) votes.set(p, (votes.get(p) ?? 0) + 1);
    let best: number | undefined;
    for (const [p, n] of votes) if (best === undefined || n > votes.get(best)!) best = p;
    return best !== undefined && live.some((m) => m.port === best) ? best : undefined;
  }

  /** The leading master's member, if one is known. */
  async leader(): Promise<Member | undefined> {
    const port = await this.leaderPort();
    return port === undefined ? undefined : this.byRole('master').find((m) => m.port === port);
  }

  private async leaderTarget(): Promise<ProxyTarget | undefined> {
    const port = await this.leaderPort();
    return port === undefined ? undefined : { host: '127.0.0.1', port };
  }

  /** New log records of every live process since the last call (for invariant 5). */
  drainLogs(): Array<{ member: Member; record: LogRecord }> {
    const out = this.pendingLogs;
    this.pendingLogs = [];
    for (const m of this.members) {
      const events = m.proc?.logs.events ?? [];
      for (; m.logsScanned < events.length; m.logsScanned++) out.push({ member: m, record: events[m.logsScanned]! });
    }
    return out;
  }

  /** Stops everything: SIGCONT, SIGTERM (then SIGKILL), proxies, ZooKeeper. Never throws. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const m of this.members) if (m.paused) this.resume(m);
    for (const p of this.proxies) p.restore();
    await Promise.all(this.members.map((m) => m.proc?.stop(15_000).catch(() => undefined)));
    await Promise.all(this.proxies.map((p) => p.close().catch(() => undefined)));
    for (const fn of this.teardowns.reverse()) await Promise.resolve(fn()).catch(() => undefined);
  }
}

/** A GET with a bound (timer through the clock); JSON body when there is one. */
export async function httpGet(clock: Clock, url: string, timeoutMs: number, redirect: 'manual' | 'follow' = 'follow'): Promise<{ status: number; location?: string; body?: any }> {
  const ac = new AbortController();
  const timer = clock.setTimeout(() => ac.abort(), timeoutMs);
  try {
    const res = await fetch(url, { redirect, signal: ac.signal });
    const text = await res.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: res.status, location: res.headers.get('location') ?? undefined, body };
  } finally {
    timer.cancel();
  }
}

/** A JSON request with a bound. */
export async function httpJson(clock: Clock, method: string, url: string, body: unknown, timeoutMs: number): Promise<{ status: number; body?: any }> {
  const ac = new AbortController();
  const timer = clock.setTimeout(() => ac.abort(), timeoutMs);
  try {
    const res = await fetch(url, { method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), signal: ac.signal });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = text;
    }
    return { status: res.status, body: parsed };
  } finally {
    timer.cancel();
  }
}
