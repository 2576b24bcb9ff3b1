/**
 * The slave: wires the master link, the status update manager, the executor manager and
 * the HTTP server, and dispatches the master's commands (exhaustive switch).
 *
 * @module
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import type { Clock } from '../sdk/core/clock.js';
import type { Logger } from '../sdk/core/log.js';
import type { AgentMessage, StatusUpdate } from '../sdk/protocol/agent.js';
import type { AgentInfo, MasterInfo } from '../sdk/protocol/mesos.js';
import type { Containerizer } from './containerizer.js';
import { ExecutorManager } from './executors.js';
import type { SandboxFiles } from './files.js';
import { createSlaveRequestHandler } from './http.js';
import type { MasterCommand, MasterLink, MasterLinkHandler } from './master-link.js';
import type { SlaveConfig } from './options.js';
import { packageRoot } from './paths.js';
import { renderState } from './state-json.js';
import { StatusUpdateManager } from './status-updates.js';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, type Checkpoint } from './checkpoint.js';
import { moveMetaAside, readBootId, readCheckpoint } from './checkpoint-store.js';
import { Checkpointer } from './checkpointer.js';
import { readProcessIdentity, signalTree } from './process-tree.js';
import { watchRecoveredProcess } from './recovered-process.js';
import { planRecovery, type RecoveryPlan } from './recovery-plan.js';
import { seededRandom } from './sim/prng.js';
import { SimTaskRunner } from './sim/task-runner.js';
import { dispatchTaskCommand, registrationMessage, type TaskHost } from './task-host.js';

export interface SlaveDeps {
  config: SlaveConfig;
  clock: Clock;
  logger: Logger;
  containerizer: Containerizer;
  link: MasterLink;
  files: SandboxFiles;
}

/** Reads the package version once. */
function packageVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** One slave process's worth of state and I/O. */
export class Slave implements MasterLinkHandler {
  readonly statusUpdates: StatusUpdateManager;
  readonly executors: ExecutorManager;
  /** The simulated containerizer's tasks (`containerizer: 'simulated'`), else undefined. */
  readonly sim: SimTaskRunner | undefined;
  /** What runs tasks: the simulated runner, or the executor manager. */
  private readonly tasks: TaskHost;
  private readonly server: http.Server;
  private readonly version = packageVersion();
  private readonly startTimeMs: number;
  private boundPort = 0;
  private closing: Promise<void> | undefined;
  private readonly checkpointer: Checkpointer;
  private bootId = '';
  /** True from a recovery until the first registration after it. */
  private recovering = false;

  constructor(private readonly d: SlaveDeps) {
    this.startTimeMs = d.clock.now();
    this.statusUpdates = new StatusUpdateManager({
      clock: d.clock,
      logger: d.logger,
      retryMs: d.config.statusUpdateRetryMs,
      maxRetryMs: d.config.statusUpdateMaxRetryMs,
      // Mesos checkpoints an update before it forwards it: it leaves once the write that
      // holds it is done — at once for an update written when it arrived (the next one of a
      // stream, after the previous one's acknowledgement) or restored from the checkpoint.
      forward: (update: StatusUpdate, ticket?: number) => {
        this.checkpointer.afterDurable(() => d.link.send({ type: 'status_update', update }), { needs: ticket ?? 0 });
        return true;
      },
      onAcknowledged: (update) => this.tasks.onAcknowledged(update),
      onChange: () => this.checkpointer.changed(),
    });
    this.checkpointer = new Checkpointer({ workDir: d.config.workDir, clock: d.clock, logger: d.logger, build: () => this.checkpoint() });
    this.executors = new ExecutorManager({
      config: d.config,
      clock: d.clock,
      logger: d.logger,
      containerizer: d.containerizer,
      statusUpdates: this.statusUpdates,
      // Through the same group commit as status updates, so the master gets them in order.
      sendToMaster: (msg) => {
        this.checkpointer.afterDurable(() => d.link.send(msg));
        return true;
      },
      agentId: () => d.link.agentId(),
      agentInfo: () => this.agentInfo(),
      endpoint: () => this.endpoint(),
      logLevel: d.logger.level,
      checkpoint: this.checkpointer,
    });
    // Simulated tasks report through the same status update manager and group commit as
    // real ones; they are not checkpointed themselves (they do not outlive the process).
    this.sim = d.config.containerizer === 'simulated'
      ? new SimTaskRunner({
        clock: d.clock,
        logger: d.logger,
        random: d.config.simSeed !== undefined ? seededRandom(d.config.simSeed) : Math.random,
        defaults: d.config.sim,
        statusUpdates: this.statusUpdates,
        sendToMaster: (msg) => {
          this.checkpointer.afterDurable(() => d.link.send(msg));
          return true;
        },
        agentId: () => d.link.agentId(),
        verbose: true,
      })
      : undefined;
    this.tasks = this.sim ?? this.executors;
    const handler = createSlaveRequestHandler({
      logger: d.logger,
      executors: this.executors,
      files: d.files,
      containerizer: d.containerizer,
      state: () => renderState({
        config: d.config,
        agentId: d.link.agentId(),
        port: this.boundPort,
        version: this.version,
        startTimeMs: this.startTimeMs,
        masterInfo: d.link.masterInfo(),
        frameworks: this.tasks.frameworks.values(),
        completedFrameworks: this.tasks.completedFrameworks,
      }),
      now: () => d.clock.now(),
    });
    this.server = http.createServer(handler);
  }

  /** The bound HTTP port (after {@link start}). */
  get port(): number {
    return this.boundPort;
  }

  /** `http://<advertised ip>:<port>`. */
  get url(): string {
    return `http://${this.endpoint()}`;
  }

  /**
   * Recovers the previous run from the checkpoint (or starts afresh, saying why), listens
   * (on the checkpointed port when the configured one is 0, so that re-attached executors
   * find us), then connects to the master.
   */
  async start(): Promise<void> {
    fs.mkdirSync(this.d.config.workDir, { recursive: true });
    this.bootId = readBootId();
    const plan = this.planRecovery();
    const recoveredPort = plan.kind === 'recover' && this.d.config.port === 0 && plan.port > 0 ? plan.port : undefined;
    try {
      await this.listen(recoveredPort ?? this.d.config.port);
    } catch (e) {
      if (recoveredPort === undefined) throw e;
      this.d.logger.warn({ port: recoveredPort, err: (e as Error).message }, 'cannot listen on the port of the previous run; its executors will not find this agent');
      await this.listen(0);
    }
    this.server.on('error', (e) => this.d.logger.error({ err: e.message }, 'HTTP server error'));
    this.boundPort = (this.server.address() as AddressInfo).port;
    if (plan.kind === 'recover') this.recover(plan);
    // The new boot id / port / id are durable before anything else happens.
    this.checkpointer.changed();
    await this.checkpointer.flush();
    this.d.logger.info({ port: this.boundPort, url: this.url }, 'listening');
    this.d.link.start(this);
  }

  private listen(port: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, this.d.config.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  /** Reads the checkpoint and decides; a bad checkpoint is moved aside, `--recover=cleanup` kills the old executors. */
  private planRecovery(): RecoveryPlan {
    const { workDir } = this.d.config;
    const plan = planRecovery(readCheckpoint(workDir), { bootId: this.bootId, identity: readProcessIdentity, mode: this.d.config.recover });
    if (plan.kind === 'recover') return plan;
    if (plan.warn) this.d.logger.warn({ reason: plan.reason }, 'not recovering the previous run; starting as a new agent');
    else this.d.logger.info({ reason: plan.reason }, 'not recovering a previous run; starting as a new agent');
    if (plan.moveAside) {
      const to = moveMetaAside(workDir, this.d.clock.now());
      this.d.logger.warn({ moved_to: to }, 'moved the unusable checkpoint aside');
    }
    for (const k of plan.kill) {
      this.d.logger.info({ framework_id: k.frameworkId, executor_id: k.executorId, pid: k.pid }, 'killing an executor of the previous run');
      signalTree(k.pid, 'SIGKILL');
      this.d.containerizer.destroyLeftovers(k.directory);
    }
    return plan;
  }

  /** Puts back the previous run: agent id, frameworks, executors (watched), tasks and unacknowledged updates. */
  private recover(plan: Extract<RecoveryPlan, { kind: 'recover' }>): void {
    const c = plan.checkpoint;
    this.d.link.restoreAgentId(plan.agentId);
    this.statusUpdates.restore(c.status_updates);
    this.executors.restore({
      frameworks: c.frameworks,
      live: plan.live,
      updates: c.status_updates.flatMap((s) => s.pending),
      watch: (pid, startTime) => watchRecoveredProcess(pid, startTime, this.d.clock),
      reregistrationTimeoutMs: this.d.config.executorReregistrationTimeoutMs,
    });
    this.recovering = true;
    this.d.logger.info({
      agent_id: plan.agentId,
      frameworks: c.frameworks.length,
      live_executors: plan.live.size,
      gone_executors: plan.gone.size,
      unacknowledged_updates: c.status_updates.reduce((n, s) => n + s.pending.length, 0),
    }, 'recovered the previous run from the checkpoint');
  }

  /** The state to checkpoint now. */
  private checkpoint(): Checkpoint {
    const agentId = this.d.link.agentId();
    return {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      boot_id: this.bootId,
      ...(agentId !== undefined ? { agent_id: agentId } : {}),
      port: this.boundPort,
      endpoint: this.endpoint(),
      written_at: this.d.clock.now(),
      frameworks: this.executors.snapshot(),
      status_updates: this.statusUpdates.snapshot(),
    };
  }

  /** Stops everything; with `cleanupOnExit` also kills every executor and task. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.d.link.close();
      this.sim?.close();
      this.statusUpdates.close();
      const grace = Math.min(1500, Math.max(200, this.d.config.executorShutdownGraceMs));
      // Without cleanup the tasks outlive us: the last state is written for the next run.
      if (!this.d.config.cleanupOnExit) await this.checkpointer.close('keep');
      await this.executors.close(this.d.config.cleanupOnExit, grace);
      // With cleanup everything was killed: nothing to recover.
      if (this.d.config.cleanupOnExit) await this.checkpointer.close('remove');
      await new Promise<void>((resolve) => {
        this.server.close(() => resolve());
        this.server.closeAllConnections();
      });
    })();
    return this.closing;
  }

  // ---------------------------------------------------------------- MasterLinkHandler

  registration(agentId: string | undefined): AgentMessage {
    return registrationMessage(agentId, this.agentInfo(), this.version, this.tasks, () => this.statusUpdates.pendingHeads());
  }

  onRegistered(e: { agentId: string; previousAgentId: string | undefined; reregistered: boolean; masterInfo: MasterInfo }): void {
    if (e.previousAgentId !== undefined && e.previousAgentId !== e.agentId) {
      this.d.logger.warn({ previous_agent_id: e.previousAgentId, agent_id: e.agentId }, 'master assigned a new agent id; shutting down the tasks of the old one');
      this.tasks.shutdownAll();
    }
    this.d.logger.info({ agent_id: e.agentId, reregistered: e.reregistered, master: e.masterInfo.hostname ?? e.masterInfo.id }, 'registered');
    if (e.previousAgentId !== e.agentId) {
      this.checkpointer.changed();
      void this.checkpointer.flush();
    }
    if (this.recovering) {
      this.recovering = false;
      this.executors.finishRecovery();
    }
    this.statusUpdates.resume();
  }

  onCommand(msg: MasterCommand): void {
    try {
      this.dispatch(msg);
    } catch (err) {
      this.d.logger.error({ err: (err as Error).message, type: msg.type }, 'failed to handle master message');
    }
  }

  private dispatch(msg: MasterCommand): void {
    const left = dispatchTaskCommand(this.tasks, this.statusUpdates, msg);
    if (left?.type === 'shutdown') {
      this.d.logger.warn({ message: left.message }, 'master asked this agent to shut down; killing all tasks and registering afresh');
      this.tasks.shutdownAll();
      this.d.link.forgetAgentId();
      this.d.link.reconnectNow();
    }
  }

  private endpoint(): string {
    const h = this.d.config.host;
    const host = h === '0.0.0.0' || h === '::' ? this.d.config.advertiseIp : h;
    return `${host}:${this.boundPort}`;
  }

  private agentInfo(): AgentInfo {
    const id = this.d.link.agentId();
    return {
      hostname: this.d.config.hostname,
      port: this.boundPort,
      resources: this.d.config.resources,
      attributes: this.d.config.attributes,
      ...(id !== undefined ? { id: { value: id } } : {}),
    };
  }
}
