/**
 * {@link TestCluster}: a real master and simulated slaves in this process, for testing a
 * framework written with the SDK (or any {@link SchedulerTransport} user) in virtual time.
 * See docs/testing.md.
 *
 * @module
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../core/clock.js';
import { AgoraError } from '../core/errors.js';
import type { MasterInfo, TaskState } from '../protocol/index.js';
import { Scheduler } from '../scheduler/scheduler.js';
import type { SchedulerOptions } from '../scheduler/options.js';
import {
  MemoryRegistry, startInMemoryMaster, type InMemoryEventStream, type InMemoryMaster,
} from '../../master/in-memory.js';
import { startMaster, type RunningMaster } from '../../master/main.js';
import type { MasterState } from '../../master/model.js';
import { renderState } from '../../master/operator/render-state.js';
import { defaultBuildInfo } from '../../master/operator/render-version.js';
import { createSimulatedAgent, type SimulatedAgent } from '../../slave/sim/emulated-slave.js';
import { seededRandom } from '../../slave/sim/prng.js';
import { TESTING_BAD_INPUT, TESTING_CLOSED, TESTING_TIMEOUT } from './errors.js';
import { ClusterDetector, Fabric } from './fabric.js';
import { compileClusterOptions, type CompiledClusterOptions, type CompiledSlave, type TestClusterOptions } from './options.js';
import { nextTurn, VirtualClock } from './virtual-clock.js';

/** What {@link TestCluster.schedulerOptions} gives: everything but `frameworkInfo`. */
export type ClusterSchedulerOptions = Omit<SchedulerOptions, 'frameworkInfo'> & { master: string };

/** Options of {@link TestCluster.waitFor}. */
export interface WaitForOptions {
  /**
   * Default 60000: how much cluster time may pass (virtual ms with the virtual clock, wall
   * ms with the real one) before the wait fails with `AGORA_TESTING_TIMEOUT`.
   */
  timeoutMs?: number;
  /** Names the condition in the timeout error; default the condition's source text. */
  what?: string;
}

/** The master currently leading: in memory, or a real one on a socket. */
type LeadingMaster =
  | { kind: 'memory'; master: InMemoryMaster; address: string }
  | { kind: 'socket'; master: RunningMaster; address: string };

/** A random RFC 4122-shaped id from the cluster's seeded source. */
function seededUuid(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * One simulated slave of a {@link TestCluster}. Its tasks go through TASK_STARTING,
 * TASK_RUNNING and a terminal state as their `agora.sim.*` labels say (see docs/slave.md,
 * "Simulated containerizer"); nothing is executed.
 */
export class TestSlave {
  private killed = false;
  private partitioned = false;

  /** @internal built by {@link TestCluster}. */
  constructor(
    /** Position in the cluster (0-based). */
    readonly index: number,
    /** AgentInfo.hostname. */
    readonly hostname: string,
    private readonly agent: SimulatedAgent,
    private readonly live: () => void,
    /** Cuts or heals the slave's network (in memory: the fabric; over sockets: the slave's link). */
    private readonly cutNetwork: (on: boolean) => void,
  ) {}

  /** The agent id the master gave (undefined until registered). */
  get agentId(): string | undefined {
    return this.agent.agentId();
  }

  /** True while connected and registered with a master. */
  get registered(): boolean {
    return this.agent.linkState === 'registered';
  }

  /** False once {@link kill}ed. */
  get alive(): boolean {
    return !this.killed;
  }

  /** Tasks not terminal yet, and status updates not acknowledged yet. */
  taskCounts(): { live: number; unacknowledged: number } {
    return this.agent.taskCounts();
  }

  /**
   * Kills the slave for good, like SIGKILL of a slave without recovery: its connection
   * drops, its tasks stop existing. The master notices through missed pings and marks it
   * unreachable (its tasks become TASK_UNREACHABLE / TASK_LOST for the frameworks).
   */
  kill(): void {
    this.live();
    if (this.killed) return;
    this.killed = true;
    this.agent.kill();
  }

  /**
   * Restarts the slave: the connection drops, then it re-registers with the same agent id,
   * its tasks and its unacknowledged updates (a slave recovering from its checkpoint).
   *
   * @throws AgoraError `AGORA_TESTING_BAD_INPUT` for a killed slave.
   */
  restart(): void {
    this.live();
    if (this.killed) throw new AgoraError(TESTING_BAD_INPUT, `slave ${this.index} (${this.hostname}) was killed; a killed slave cannot restart`);
    this.agent.restart();
  }

  /**
   * Cuts the slave off the network until {@link heal}: frames are lost both ways,
   * reconnections fail, and (in memory) neither end sees the other close its connection —
   * the master notices through unanswered pings, the slave through its ping watchdog.
   */
  partition(): void {
    this.live();
    if (this.killed) throw new AgoraError(TESTING_BAD_INPUT, `slave ${this.index} (${this.hostname}) was killed`);
    this.partitioned = true;
    this.cutNetwork(true);
  }

  /** Ends a {@link partition}: the slave reconnects and re-registers. */
  heal(): void {
    this.live();
    if (this.killed || !this.partitioned) return;
    this.partitioned = false;
    this.cutNetwork(false);
  }

  /** @internal */
  stop(): void {
    if (!this.killed) this.agent.kill();
    this.killed = true;
  }
}

/**
 * A whole Agora cluster in this process: a real master (the real allocator, offers,
 * status-update forwarding, reconciliation, registry and failover) and simulated slaves,
 * on a virtual clock over an in-memory transport (or on the real clock over sockets).
 *
 * @example
 * const cluster = await TestCluster.create({ slaves: 3 });
 * const scheduler = new Scheduler({ ...cluster.schedulerOptions(), frameworkInfo: { user: 'me', name: 'demo' } });
 * scheduler.on('OFFERS', async (offers) => { … });
 * await scheduler.start();
 * await cluster.waitFor(() => Object.values(cluster.taskStates()).includes('TASK_FINISHED'), { timeoutMs: 60_000 });
 * await scheduler.stop();
 * await cluster.close();
 */
export class TestCluster {
  /** The cluster's clock: pass it to anything of yours that should run on cluster time. */
  readonly clock: Clock;
  /** The virtual clock, when the cluster runs on one. */
  readonly virtualClock: VirtualClock | undefined;
  /** The slaves, in creation order. */
  readonly slaves: readonly TestSlave[];
  private readonly detector = new ClusterDetector();
  private readonly fabric: Fabric | undefined;
  private readonly registry = new MemoryRegistry();
  private readonly random: () => number;
  private leading: LeadingMaster | undefined;
  private generation = 0;
  private schedulerCount = 0;
  private closed = false;
  private workDir: string | undefined;
  /** Real clock only: keeps Node alive while the cluster is open (the clock's timers are unref'd). */
  private keepAlive: ReturnType<typeof setInterval> | undefined;

  private constructor(private readonly o: CompiledClusterOptions) {
    this.random = seededRandom(o.seed);
    if (o.clock === 'virtual') {
      this.virtualClock = new VirtualClock({ startMs: o.startMs, autoRunDue: true, stepLimit: o.stepLimit });
      this.clock = this.virtualClock;
    } else {
      this.virtualClock = undefined;
      this.clock = systemClock;
      this.keepAlive = setInterval(() => undefined, 2 ** 30);
    }
    this.fabric = o.transport === 'memory' ? new Fabric(this.clock, o.logger, o.latencyMs) : undefined;
    if (this.fabric !== undefined) this.fabric.leader = () => (this.leading?.kind === 'memory' ? this.leading.master : undefined);
    this.slaves = [];
  }

  /**
   * Starts the master and the slaves and resolves once every slave is registered.
   *
   * @throws AgoraError `AGORA_TESTING_BAD_OPTIONS` for bad options (nothing is started).
   */
  static async create(options?: TestClusterOptions): Promise<TestCluster> {
    const compiled = compileClusterOptions(options);
    const cluster = new TestCluster(compiled);
    try {
      if (compiled.transport === 'socket') cluster.workDir = await mkdtemp(path.join(tmpdir(), 'agora-test-cluster-'));
      await cluster.startMaster();
      (cluster.slaves as TestSlave[]).push(...compiled.slaves.map((spec, i) => cluster.startSlave(spec, i)));
      await cluster.waitForSlaves({ what: 'every slave registered at start' });
    } catch (err) {
      await cluster.close();
      throw err;
    }
    return cluster;
  }

  private async startMaster(): Promise<void> {
    const gen = this.generation++;
    if (this.o.transport === 'memory') {
      const port = 5050 + gen;
      const master = await startInMemoryMaster({
        id: seededUuid(this.random),
        clock: this.clock,
        logger: this.o.logger,
        registry: this.registry,
        port,
        flags: this.o.master,
      });
      const address = `127.0.0.1:${port}`;
      this.fabric!.attach(address, master);
      this.leading = { kind: 'memory', master, address };
      this.detector.set(JSON.stringify(master.info));
      return;
    }
    const master = await startMaster({
      ...this.o.master,
      port: 0,
      host: '127.0.0.1',
      hostname: '127.0.0.1',
      workDir: this.workDir!,
      logger: this.o.logger,
      clock: this.clock,
    });
    this.leading = { kind: 'socket', master, address: `127.0.0.1:${master.port}` };
    this.detector.set(JSON.stringify(master.masterInfo));
  }

  private startSlave(spec: CompiledSlave, index: number): TestSlave {
    const agent = createSimulatedAgent({
      detector: this.detector,
      clock: this.clock,
      logger: this.o.logger,
      ...(this.fabric !== undefined ? { dial: this.fabric.dialFor(`slave-${index}`) } : {}),
      random: seededRandom(this.o.seed * 7919 + index + 1),
      hostname: spec.hostname,
      port: 5051,
      resources: spec.resources,
      attributes: spec.attributes,
      sim: spec.sim,
      version: 'test-cluster',
    });
    agent.start();
    const fabric = this.fabric;
    const cut = fabric !== undefined ? (on: boolean): void => fabric.partition(`slave-${index}`, on) : (on: boolean): void => agent.partition(on);
    return new TestSlave(index, spec.hostname, agent, () => this.live(), cut);
  }

  private live(): void {
    if (this.closed) throw new AgoraError(TESTING_CLOSED, 'this TestCluster is closed');
  }

  /** The i-th slave. @throws AgoraError `AGORA_TESTING_BAD_INPUT` for an index out of range. */
  slave(i: number): TestSlave {
    this.live();
    const s = Number.isInteger(i) ? this.slaves[i] : undefined;
    if (s === undefined) throw new AgoraError(TESTING_BAD_INPUT, `no slave ${String(i)}: the cluster has ${this.slaves.length} (0..${this.slaves.length - 1})`);
    return s;
  }

  /** The leading master's state model (read only; undefined during a failover). */
  private masterState(): MasterState | undefined {
    const l = this.leading;
    if (l === undefined) return undefined;
    return l.master.state;
  }

  /** The leading master's MasterInfo (what its detector publishes). */
  masterInfo(): MasterInfo {
    this.live();
    const state = this.masterState();
    if (state === undefined) throw new AgoraError(TESTING_BAD_INPUT, 'no master is leading right now');
    return state.info;
  }

  /**
   * Options for the SDK's `Scheduler` (spread them and add `frameworkInfo`): the master,
   * the transport, the cluster's clock, a leader detector that follows failovers and a
   * seeded jitter source. Each call gives a fresh transport (one per scheduler).
   */
  schedulerOptions(): ClusterSchedulerOptions {
    this.live();
    const n = ++this.schedulerCount;
    return {
      master: this.leading?.address ?? '127.0.0.1:5050',
      ...(this.fabric !== undefined ? { transport: this.fabric.schedulerTransport() } : {}),
      clock: this.clock,
      leaderDetector: this.detector,
      random: seededRandom(this.o.seed * 104_729 + n),
      logger: this.o.logger,
      keepProcessAlive: false,
    };
  }

  /** A Scheduler connected to this cluster (`schedulerOptions()` merged with `options`); not started. */
  scheduler(options: Omit<SchedulerOptions, 'master'>): Scheduler {
    return new Scheduler({ ...this.schedulerOptions(), ...options });
  }

  /** Cluster time, ms since the epoch. */
  now(): number {
    return this.clock.now();
  }

  /**
   * Moves virtual time forward by `ms`, firing timers in order and letting every reaction
   * settle after each.
   *
   * @throws AgoraError `AGORA_TESTING_BAD_INPUT` on the real clock or for a bad `ms`.
   */
  async advance(ms: number): Promise<void> {
    this.live();
    if (this.virtualClock === undefined) throw new AgoraError(TESTING_BAD_INPUT, 'advance() needs the virtual clock (this cluster runs on the real one)');
    await this.virtualClock.tick(ms);
  }

  /** Lets everything due now (deliveries, zero-delay timers, promise continuations) run. */
  async runUntilIdle(): Promise<void> {
    this.live();
    if (this.virtualClock !== undefined) await this.virtualClock.runUntilIdle();
    else await nextTurn();
  }

  /**
   * Resolves once `condition()` holds. On the virtual clock, time moves to each next timer
   * in turn (and everything due then settles) until it does; on the real clock the
   * condition is re-checked as events happen.
   *
   * @throws AgoraError `AGORA_TESTING_TIMEOUT` naming the condition once `timeoutMs` of
   *   cluster time passed without it; the error of `condition` if it throws.
   */
  async waitFor(condition: () => boolean, options: WaitForOptions = {}): Promise<void> {
    this.live();
    const timeoutMs = options.timeoutMs ?? 60_000;
    if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 0) {
      throw new AgoraError(TESTING_BAD_INPUT, `waitFor timeoutMs must be a finite number >= 0, got ${String(timeoutMs)}`);
    }
    if (typeof condition !== 'function') throw new AgoraError(TESTING_BAD_INPUT, 'waitFor needs a condition function');
    const what = options.what ?? condition.toString().replace(/\s+/g, ' ').slice(0, 200);
    const start = this.clock.now();
    const deadline = start + timeoutMs;
    const clock = this.virtualClock;
    if (clock !== undefined) {
      await clock.runUntilIdle();
      while (!condition()) {
        this.live();
        const next = clock.nextDueAt();
        if (next === undefined || next > deadline) {
          await clock.tick(Math.max(0, deadline - clock.now()));
          if (condition()) return;
          throw new AgoraError(TESTING_TIMEOUT, `waitFor timed out after ${timeoutMs} ms of virtual time (t=${clock.now() - start} ms from the start of the wait): ${what}`);
        }
        await clock.tick(Math.max(0, next - clock.now()));
      }
      return;
    }
    // Real clock: re-check on every event-loop turn, bounded by wall time.
    for (;;) {
      if (condition()) return;
      this.live();
      if (Date.now() >= deadline) throw new AgoraError(TESTING_TIMEOUT, `waitFor timed out after ${timeoutMs} ms: ${what}`);
      await new Promise<void>((resolve) => { this.clock.setTimeout(resolve, 2); });
    }
  }

  /** Resolves once every live, unpartitioned slave is registered with the leading master. */
  async waitForSlaves(options: WaitForOptions = {}): Promise<void> {
    await this.waitFor(() => {
      const state = this.masterState();
      if (state === undefined) return false;
      return this.slaves.every((s) => !s.alive || (s.registered && s.agentId !== undefined && state.agents.get(s.agentId)?.active === true));
    }, { what: 'every live slave registered with the leading master', ...options });
  }

  /**
   * The state of every task the leading master knows (live tasks and completed ones),
   * by task id; only `frameworkId`'s when given.
   */
  taskStates(frameworkId?: string): Record<string, TaskState> {
    this.live();
    const state = this.masterState();
    const out: Record<string, TaskState> = {};
    if (state === undefined) return out;
    for (const t of state.completedTasks) if (frameworkId === undefined || t.frameworkId === frameworkId) out[t.info.task_id.value] = t.state;
    for (const [fid, tasks] of state.tasks) {
      if (frameworkId !== undefined && fid !== frameworkId) continue;
      for (const [id, t] of tasks) out[id] = t.state;
    }
    return out;
  }

  /** The leading master's state JSON, as `GET /master/state` renders it. */
  state(): Record<string, unknown> {
    this.live();
    const l = this.leading;
    if (l === undefined) throw new AgoraError(TESTING_BAD_INPUT, 'no master is leading right now (failover in progress)');
    if (l.kind === 'memory') return l.master.renderState() as Record<string, unknown>;
    return renderState(l.master.state, {
      now: this.clock.now(), isLeader: true, flags: {}, build: defaultBuildInfo(l.master.state.startedAt),
    }) as Record<string, unknown>;
  }

  /**
   * The leading master crashes and a new one (new id, new address) takes over the same
   * registry, like a ZooKeeper failover: slaves re-register with their tasks, frameworks
   * re-subscribe (the SDK does it by itself, within its failover timeout). Resolves once the
   * new master leads; wait for the rest with {@link waitFor} / {@link waitForSlaves}.
   */
  async failoverMaster(): Promise<void> {
    this.live();
    const old = this.leading;
    this.leading = undefined;
    this.detector.set(undefined);
    if (old?.kind === 'memory') this.fabric!.crash(old.address);
    else if (old?.kind === 'socket') await old.master.close();
    await this.startMaster();
  }

  /**
   * Breaks the event stream (SUBSCRIBE connection) of `frameworkId`, or of every
   * framework: the master sees the scheduler disconnect (its failover timeout starts), the
   * scheduler sees a broken connection (the SDK reconnects).
   *
   * @returns how many streams were dropped.
   * @throws AgoraError `AGORA_TESTING_BAD_INPUT` when `frameworkId` has no open stream, or
   *   with the socket transport.
   */
  dropFrameworkStream(frameworkId?: string): number {
    this.live();
    const l = this.leading;
    if (l?.kind !== 'memory') throw new AgoraError(TESTING_BAD_INPUT, 'dropFrameworkStream needs the in-memory transport and a leading master');
    let dropped = 0;
    for (const [fid, stream] of [...l.master.master.ctx.conns.frameworkStreams]) {
      if (frameworkId !== undefined && fid !== frameworkId) continue;
      if (this.fabric!.breakStream(stream as InMemoryEventStream, 'dropped by TestCluster')) dropped++;
    }
    if (frameworkId !== undefined && dropped === 0) throw new AgoraError(TESTING_BAD_INPUT, `framework ${frameworkId} has no open event stream`);
    return dropped;
  }

  /** The logger the cluster's parts log to. */
  get logger(): Logger {
    return this.o.logger;
  }

  /** Stops everything (idempotent). Schedulers you started are yours to stop. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.slaves) s.stop();
    const l = this.leading;
    this.leading = undefined;
    this.detector.set(undefined);
    if (l?.kind === 'memory') this.fabric!.crash(l.address);
    else if (l?.kind === 'socket') await l.master.close();
    this.virtualClock?.stop();
    if (this.keepAlive !== undefined) clearInterval(this.keepAlive);
    if (this.workDir !== undefined) await rm(this.workDir, { recursive: true, force: true });
  }
}
