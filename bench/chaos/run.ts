/**
 * One chaos run: start the cluster and the workload, inject the seeded schedule of faults
 * while checking invariants continuously, then stop faulting and check that the cluster
 * converges within a bound. Everything is logged as JSON lines carrying the seed; the run
 * ends with a summary line. Every process is cleaned up, whatever happens.
 *
 * @module
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { systemClock, type Clock } from '../../sdk/core/clock.js';
import { killProcessesUnder } from '../../bin/process-sweep.js';
import { ChaosCluster, httpJson, START_BOUND_MS, type Member } from './cluster.js';
import {
  checkAllocation, checkConvergence, checkExit, checkLogRecord, checkOrphans, checkUpdateOrder, checkUpdatesDelivered,
  dedupeViolations, duplicatesAfterTerminal, type InvariantId, type Violation,
} from './invariants.js';
import { byTask, findTaskProcesses, leaderState, marathonApp, masterAllocation, pollSlaves, runningTasks, SlaveObservations } from './observe.js';
import { mulberry32 } from './prng.js';
import { countByKind, generateSchedule, validateScheduleOptions, type Fault, type FaultKind } from './schedule.js';
import { ChaosWorkload } from './workload.js';
import { CHAOS_TIMEOUTS, type ChaosProfile } from './profiles.js';

export { CHAOS_TIMEOUTS };

export interface ChaosOptions extends ChaosProfile {
  seed: number;
  /** The framework subscribes PARTITION_AWARE (default true; see docs/chaos.md). */
  partitionAware?: boolean;
  /** Where the cluster keeps its work dirs (default: a new temp dir, removed at the end). */
  workDir?: string;
  /** Keep the work dir (logs of the processes are in memory only; the dir has sandboxes and markers). */
  keepWorkDir?: boolean;
  /** One JSON line per event. */
  out: (line: string) => void;
  /** Aborts the run (Ctrl-C): faults stop, the cluster is torn down, the summary says so. */
  signal?: AbortSignal;
  clock?: Clock;
}

export interface ChaosSummary {
  summary: true;
  seed: number;
  duration_s: number;
  faults: Record<FaultKind, number>;
  invariant_checks: number;
  checks_by_invariant: Record<InvariantId, number>;
  tasks_launched: number;
  /** Earlier updates (uuid already received) delivered again after a terminal state (each task with any is a `stale-redelivery` violation). */
  duplicate_updates_after_terminal: number;
  restarts: Record<string, number>;
  converged_after_s: number | null;
  aborted: boolean;
  violations: Violation[];
}

/** Resolves after `ms` on `clock`, or at once when `signal` aborts. */
function delay(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = (): void => {
      timer.cancel();
      resolve();
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export async function runChaos(o: ChaosOptions): Promise<ChaosSummary> {
  const clock = o.clock ?? systemClock;
  const startedAt = clock.now();
  const emit = (event: Record<string, unknown>): void => {
    o.out(JSON.stringify({ seed: o.seed, t_ms: clock.now() - startedAt, ...event }));
  };
  const timeouts = CHAOS_TIMEOUTS;
  const scheduleOptions = { seed: o.seed, durationMs: o.durationMs, kinds: o.kinds, slaves: o.slaves, masters: o.masters, marathons: o.marathons, timeouts, gapMs: o.gapMs };
  validateScheduleOptions(scheduleOptions);
  const schedule = generateSchedule(scheduleOptions);
  const workDir = o.workDir ?? fs.mkdtempSync(path.join(os.tmpdir(), `agora-chaos-${o.seed}-`));
  const token = `agora-chaos-${o.seed}`;
  const appId = `/chaos-${o.seed}`;
  emit({ event: 'start', options: { ...scheduleOptions, appInstances: o.appInstances, longTasks: o.longTasks, shortTasks: o.shortTasks, convergeBoundMs: o.convergeBoundMs, partitionAware: o.partitionAware !== false }, work_dir: workDir, schedule });

  const cluster = new ChaosCluster({
    workDir, masters: o.masters, slaves: o.slaves, marathons: o.marathons,
    slaveResources: 'cpus:2;mem:512;disk:1000;ports:[31000-31099]', timeouts, clock, emit,
  });
  const violations: Violation[] = [];
  const checks: Record<InvariantId, number> = { 1: 0, 2: 0, 3: 0, 4: 0, 5: 0 };
  const slaveObs = new SlaveObservations();
  const injected: Fault[] = [];
  let exitsJudged = 0;
  let convergedAfter: number | null = null;
  let workloadStarted: ChaosWorkload | undefined;
  const found = (vs: Violation[]): void => {
    for (const v of dedupeViolations(vs)) {
      if (violations.some((x) => x.invariant === v.invariant && x.kind === v.kind && (x.subject ?? x.message) === (v.subject ?? v.message))) continue;
      violations.push(v);
      emit({ event: 'violation', ...v });
    }
  };

  /** Invariant 5 over the exits and log lines recorded since the last pass. */
  const judgeProcesses = (): void => {
    for (; exitsJudged < cluster.exits.length; exitsJudged++) {
      checks[5]++;
      found(checkExit(cluster.exits[exitsJudged]!));
    }
    for (const { member, record } of cluster.drainLogs()) {
      checks[5]++;
      found(checkLogRecord(member.name, record));
    }
  };

  /** The continuous checks: 1 (order, no backwards), 2 (allocation, master and slaves), 5. */
  let checking = false;
  const continuousPass = async (): Promise<void> => {
    if (checking) return;
    checking = true;
    try {
      const slaveAlloc = await pollSlaves(cluster, clock, slaveObs, (id) => workloadStarted?.owns(id) ?? false);
      const leader = await leaderState(cluster, clock);
      const alloc = [...slaveAlloc, ...(leader ? masterAllocation(leader.port, leader.state) : [])];
      checks[2] += alloc.length;
      found(checkAllocation(alloc));
      if (workloadStarted) {
        checks[1] += workloadStarted.updates.size;
        found(checkUpdateOrder(workloadStarted.updates, slaveObs.states));
      }
      judgeProcesses();
    } catch (err) {
      emit({ event: 'check-error', error: (err as Error).message });
    } finally {
      checking = false;
    }
  };

  /** The final checks (1 delivered, 3, 4); returns the violations without recording them. */
  const finalPass = async (): Promise<Violation[]> => {
    const out: Violation[] = [];
    const procs = findTaskProcesses(token, workDir);
    const app = await marathonApp(cluster, clock, appId);
    const appProcs = new Set(procs.filter((p) => p.appId === appId).map((p) => p.taskId)).size;
    checks[3]++;
    out.push(...(app
      ? checkConvergence([{ id: appId, instances: app.instances, tasksRunning: app.tasksRunning, liveProcesses: appProcs }])
      : [{ invariant: 3 as const, kind: 'marathon-unavailable', subject: appId, message: `no Marathon answered for ${appId}` }]));
    const leader = await leaderState(cluster, clock);
    checks[4]++;
    out.push(...(leader
      ? checkOrphans(byTask(procs), runningTasks(leader.state))
      : [{ invariant: 4 as const, kind: 'no-leader', message: 'no leading master answered' }]));
    if (workloadStarted) {
      checks[1] += workloadStarted.updates.size;
      out.push(...checkUpdatesDelivered(workloadStarted.updates, slaveObs.states, workloadStarted.markers()));
    }
    return out;
  };

  const member = async (f: Fault): Promise<Member | undefined> => {
    if ('leader' in f.target) return cluster.leader();
    const { role, index } = f.target;
    return cluster.byRole(role)[index];
  };

  /** Restarts a killed member and waits for it (a process that does not come back is a violation). */
  const restart = async (m: Member): Promise<void> => {
    cluster.spawn(m);
    await cluster.waitUp(m).catch((err: unknown) => found([{ invariant: 5, kind: 'no-restart', subject: m.name, message: `${m.name} did not come back after a restart: ${(err as Error).message.split('\n')[0]}` }]));
  };

  const inject = async (f: Fault): Promise<void> => {
    const m = await member(f);
    const target = f.kind.startsWith('proxy-') ? `proxy-${'index' in f.target ? f.target.index : '?'}` : m?.name;
    emit({ event: 'fault', seq: f.seq, kind: f.kind, target, pid: m?.proc?.pid, duration_ms: f.duration_ms, latency_ms: f.latency_ms });
    if (m === undefined && !f.kind.startsWith('proxy-')) {
      emit({ event: 'fault-skipped', seq: f.seq, why: 'no target (no leader elected right now)' });
      return;
    }
    injected.push(f);
    const proxy = 'index' in f.target ? cluster.proxies[f.target.index] : undefined;
    switch (f.kind) {
      case 'slave-kill':
      case 'master-kill':
      case 'marathon-kill':
        await cluster.kill(m!);
        await delay(clock, f.duration_ms, o.signal);
        await restart(m!);
        break;
      case 'slave-pause':
      case 'master-pause':
        cluster.pause(m!);
        await delay(clock, f.duration_ms, o.signal);
        cluster.resume(m!);
        break;
      case 'proxy-drop':
        proxy!.drop();
        await delay(clock, f.duration_ms, o.signal);
        proxy!.restore();
        break;
      case 'proxy-delay':
        proxy!.delay(f.latency_ms ?? 500);
        await delay(clock, f.duration_ms, o.signal);
        proxy!.restore();
        break;
      case 'proxy-cut':
        proxy!.cut();
        break;
      case 'zk-expire-leader': {
        const zkProxy = cluster.zkProxies[m!.index]!;
        zkProxy.cut();
        await delay(clock, f.duration_ms, o.signal);
        zkProxy.restore();
        break;
      }
    }
    emit({ event: 'healed', seq: f.seq, kind: f.kind });
  };

  let monitor: { cancel(): void } | undefined;
  let aborted = false;
  // If this process ends abruptly (a test runner's timeout), the agora processes die with
  // it (agora-process.ts) but tasks outlive their slaves: sweep them synchronously.
  const sweepOnExit = (): void => { killProcessesUnder(workDir); };
  process.on('exit', sweepOnExit);
  try {
    await cluster.start();
    emit({ event: 'cluster-up', members: cluster.members.map((m) => ({ name: m.name, pid: m.proc?.pid, port: m.port })), proxies: cluster.proxies.map((p) => p.port) });
    const wl = new ChaosWorkload({ master: cluster.zkUrlMasters, seed: o.seed, token, markerDir: path.join(workDir, 'markers'), longTasks: o.longTasks, shortTasks: o.shortTasks, clock, random: mulberry32(o.seed ^ 0x5eed), emit, partitionAware: o.partitionAware !== false });
    workloadStarted = wl;
    await wl.start();
    if (o.marathons > 0) await createApp(cluster, clock, appId, token, o.appInstances, emit, o.signal);
    monitor = clock.setInterval(() => void continuousPass(), o.checkIntervalMs);

    // Fault phase.
    const phaseStart = clock.now();
    for (const f of schedule) {
      if (o.signal?.aborted) break;
      await delay(clock, phaseStart + f.at_ms - clock.now(), o.signal);
      if (o.signal?.aborted) break;
      await inject(f);
    }
    aborted = o.signal?.aborted ?? false;

    // Convergence phase: no more faults, no new tasks; the cluster has convergeBoundMs.
    if (!aborted) {
      wl.launching = false;
      emit({ event: 'converging', bound_ms: o.convergeBoundMs });
      const convergeStart = clock.now();
      let last: Violation[] = [];
      for (let attempt = 0; attempt < 10_000; attempt++) {
        await wl.reconcile();
        await continuousPass();
        last = await finalPass();
        if (last.length === 0) {
          convergedAfter = (clock.now() - convergeStart) / 1000;
          break;
        }
        if (attempt % 5 === 0) emit({ event: 'not-yet-converged', pending: last.map((v) => `${v.kind} ${v.subject ?? ''}`.trim()) });
        if (clock.now() - convergeStart >= o.convergeBoundMs || o.signal?.aborted) break;
        await delay(clock, 2000, o.signal);
      }
      if (convergedAfter === null) found(last);
      emit({ event: 'converged', after_s: convergedAfter, pending: last.length });
      // One last pass of the continuous checks over what happened during convergence.
      await continuousPass();
    }
  } catch (err) {
    if (o.signal?.aborted) emit({ event: 'aborted', error: (err as Error).message.split('\n')[0] });
    else found([{ invariant: 5, kind: 'harness', message: `the run could not proceed: ${(err as Error).message.split('\n').slice(0, 3).join(' ')}` }]);
  } finally {
    monitor?.cancel();
    aborted = aborted || (o.signal?.aborted ?? false);
    await workloadStarted?.stop().catch(() => undefined);
    judgeProcesses();
    await cluster.stop();
    killProcessesUnder(workDir);
    process.off('exit', sweepOnExit);
    if (!o.keepWorkDir && o.workDir === undefined) fs.rmSync(workDir, { recursive: true, force: true });
  }
  const summary: ChaosSummary = {
    summary: true,
    seed: o.seed,
    duration_s: Math.round((clock.now() - startedAt) / 100) / 10,
    faults: countByKind(injected),
    invariant_checks: Object.values(checks).reduce((a, b) => a + b, 0),
    checks_by_invariant: checks,
    tasks_launched: workloadStarted?.taskCount ?? 0,
    duplicate_updates_after_terminal: [...(workloadStarted?.updates.values() ?? [])].reduce((n, u) => n + duplicatesAfterTerminal(u), 0),
    restarts: Object.fromEntries(cluster.members.filter((m) => m.restarts > 0).map((m) => [m.name, m.restarts])),
    converged_after_s: convergedAfter,
    aborted,
    violations,
  };
  o.out(JSON.stringify(summary));
  return summary;
}

/** Creates the Marathon app (retried, bounded: the Marathon leader may still be electing). */
async function createApp(cluster: ChaosCluster, clock: Clock, appId: string, token: string, instances: number, emit: (e: Record<string, unknown>) => void, signal?: AbortSignal): Promise<void> {
  const app = {
    id: appId, cmd: `sleep 100000; true # ${token}`, instances, cpus: 0.1, mem: 16, disk: 0,
    backoffSeconds: 1, backoffFactor: 1.15, maxLaunchDelaySeconds: 5,
  };
  const deadline = clock.now() + START_BOUND_MS;
  let last = '';
  while (clock.now() < deadline && !signal?.aborted) {
    for (const m of cluster.byRole('marathon')) {
      if (m.port === undefined) continue;
      const res = await httpJson(clock, 'POST', `http://127.0.0.1:${m.port}/v2/apps`, app, 5000).catch((err: unknown) => ({ status: 0, body: (err as Error).message }));
      if (res.status === 201 || res.status === 409) {
        emit({ event: 'app-created', app: appId, instances, status: res.status });
        return;
      }
      last = `${res.status} ${JSON.stringify(res.body)}`;
    }
    await delay(clock, 500, signal);
  }
  throw new Error(`could not create the Marathon app ${appId}: ${last}`);
}
