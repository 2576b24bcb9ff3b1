/**
 * One emulated slave: an agent without processes, HTTP server or checkpoint, light enough
 * that thousands run in one process (`agora slave --emulate N`, sim/emulator.ts) and that
 * the in-process test cluster (sdk/testing) can run it on a virtual clock over an
 * in-memory transport.
 *
 * It is the real slave's protocol half: a {@link MasterLink} (registration, re-registration
 * with its agent id, live tasks and unacknowledged updates, pings, leader changes), a
 * {@link StatusUpdateManager} (uuids, retries, acknowledgements) and a
 * {@link SimTaskRunner} (tasks follow their `agora.sim.*` labels). What it leaves out:
 * executors and sandboxes (nothing runs), `/state` per agent, checkpoint files (its state
 * lives in memory: {@link SimulatedAgent.restart} keeps it, as a slave recovering from its
 * checkpoint would; {@link SimulatedAgent.kill} drops it).
 *
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Clock } from '../../sdk/core/clock.js';
import type { LeaderDetector } from '../../sdk/core/leadership.js';
import type { Logger } from '../../sdk/core/log.js';
import type { AgentMessage, StatusUpdate } from '../../sdk/protocol/agent.js';
import type { AgentInfo, Attribute, MasterInfo, Resource } from '../../sdk/protocol/mesos.js';
import type { AgentDial } from '../agent-socket.js';
import { MasterLink, type MasterCommand, type MasterLinkHandler, type MasterLinkState } from '../master-link.js';
import { packageRoot } from '../paths.js';
import { StatusUpdateManager } from '../status-updates.js';
import { dispatchTaskCommand, registrationMessage } from '../task-host.js';
import { seededRandom } from './prng.js';
import { DEFAULT_SIM, type SimDefaults } from './task-plan.js';
import { SimTaskRunner } from './task-runner.js';

/** Options of {@link createSimulatedAgent}. Durations in milliseconds. */
export interface SimulatedAgentOptions {
  /** Names the master to dial; started by the caller (many agents may share one). */
  detector: LeaderDetector;
  clock: Clock;
  logger: Logger;
  /** Opens the connection to the master; default a real WebSocket. */
  dial?: AgentDial;
  /** Draws for the failure rate and the link's backoff jitter (e.g. `seededRandom(seed)` from sim/prng.ts): seeded, a virtual-clock run is reproducible. */
  random: () => number;
  /** AgentInfo.hostname. */
  hostname: string;
  /** AgentInfo.port (nothing listens on it); default 5051. */
  port?: number;
  resources: Resource[];
  attributes?: Attribute[];
  /** Task defaults the `agora.sim.*` labels override. */
  sim?: Partial<SimDefaults>;
  /** First status update retry interval; default 10000. */
  statusUpdateRetryMs?: number;
  /** Cap of the doubling retry interval; default 600000. */
  statusUpdateMaxRetryMs?: number;
  /** Base of the (re)registration backoff; default 1000. */
  registrationBackoffMs?: number;
  /** Cap of the registration backoff; default 10000. */
  registrationBackoffMaxMs?: number;
  /** Logger of the link's connection events (shared by many agents; default `logger`). */
  linkLogger?: Logger;
  /** Called on every (re)registration (the emulator counts them). */
  onRegistered?(e: { agentId: string; reregistered: boolean }): void;
  /** The version reported at registration; default this package's. */
  version?: string;
}

/** A running emulated agent. */
export interface SimulatedAgent {
  /** Connects (dials the detector's leader) and stays connected until closed. Call once. */
  start(): void;
  /** The id the master gave, once registered. */
  agentId(): string | undefined;
  readonly linkState: MasterLinkState;
  /** Tasks not yet terminal, and tasks with updates not yet acknowledged. */
  taskCounts(): { live: number; unacknowledged: number };
  /** The frameworks, executors and tasks it holds (model.ts shapes). */
  readonly tasks: SimTaskRunner;
  /** Graceful stop: closes the socket with a close handshake, stops every timer. */
  close(): Promise<void>;
  /** Abrupt stop, as SIGKILL with no recovery: socket dropped without a handshake, every timer cancelled, state dropped. */
  kill(): void;
  /**
   * Abrupt drop, then a reconnection with the same agent id, live tasks and unacknowledged
   * updates (`reregister`), as a slave restarting and recovering from its checkpoint.
   */
  restart(): void;
  /** While on, frames are lost both ways and dials fail (the link's ping watchdog and backoff react); off heals it. */
  partition(on: boolean): void;
}

/** FNV-1a hash of a string (32 bits). */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

let cachedVersion: string | undefined;

/** This package's version (read once per process). */
function packageVersion(): string {
  if (cachedVersion === undefined) {
    try {
      cachedVersion = (JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0';
    } catch {
      cachedVersion = '0.0.0';
    }
  }
  return cachedVersion;
}

/**
 * Creates one emulated agent (not started: call {@link SimulatedAgent.start}).
 *
 * @example
 * const agent = createSimulatedAgent({ detector, clock: systemClock, logger, random: seededRandom(1),
 *   hostname: 'emu-0', resources: parseResources('cpus:4;mem:4096') });
 * agent.start();
 */
export function createSimulatedAgent(o: SimulatedAgentOptions): SimulatedAgent {
  return new EmulatedSlave(o);
}

/** The agent: link + status updates + simulated tasks. */
class EmulatedSlave implements SimulatedAgent, MasterLinkHandler {
  private readonly link: MasterLink;
  private readonly statusUpdates: StatusUpdateManager;
  readonly tasks: SimTaskRunner;
  private readonly version: string;
  private started = false;
  private dead = false;

  constructor(private readonly o: SimulatedAgentOptions) {
    this.version = o.version ?? packageVersion();
    this.link = new MasterLink({
      detector: o.detector,
      clock: o.clock,
      logger: o.linkLogger ?? o.logger,
      backoffMs: o.registrationBackoffMs ?? 1000,
      backoffMaxMs: Math.max(o.registrationBackoffMs ?? 1000, o.registrationBackoffMaxMs ?? 10_000),
      random: o.random,
      ...(o.dial !== undefined ? { dial: o.dial } : {}),
    });
    const retryMs = o.statusUpdateRetryMs ?? 10_000;
    this.statusUpdates = new StatusUpdateManager({
      clock: o.clock,
      logger: o.logger,
      retryMs,
      maxRetryMs: Math.max(retryMs, o.statusUpdateMaxRetryMs ?? 600_000),
      forward: (update: StatusUpdate) => this.link.send({ type: 'status_update', update }),
      onAcknowledged: (update) => this.tasks.onAcknowledged(update),
    });
    this.tasks = new SimTaskRunner({
      clock: o.clock,
      logger: o.logger,
      random: o.random,
      defaults: { ...DEFAULT_SIM, ...o.sim },
      statusUpdates: this.statusUpdates,
      sendToMaster: (msg) => this.link.send(msg),
      agentId: () => this.link.agentId(),
      keepHistory: false,
      // Ids from their own stream (seeded by one draw and the hostname): reproducible with a
      // seeded `random`, distinct between agents given the same seed, and without shifting
      // the failure draws by the number of updates.
      ids: seededRandom((Math.floor(o.random() * 2 ** 32) ^ fnv1a(o.hostname)) >>> 0),
    });
  }

  start(): void {
    if (this.started) throw new Error('emulated agent already started');
    this.started = true;
    this.link.start(this);
  }

  agentId(): string | undefined {
    return this.link.agentId();
  }

  get linkState(): MasterLinkState {
    return this.link.state;
  }

  taskCounts(): { live: number; unacknowledged: number } {
    return { live: this.tasks.liveTaskCount(), unacknowledged: this.statusUpdates.pendingHeads().length };
  }

  async close(): Promise<void> {
    this.stopTimers();
    await this.link.close();
  }

  kill(): void {
    this.stopTimers();
    this.link.abort();
  }

  restart(): void {
    if (this.dead || !this.started) return;
    this.o.logger.debug({ agent_id: this.link.agentId(), hostname: this.o.hostname }, 'emulated agent restarting');
    this.link.reconnectNow();
  }

  partition(on: boolean): void {
    this.link.setPartitioned(on);
  }

  private stopTimers(): void {
    this.dead = true;
    this.tasks.close();
    this.statusUpdates.close();
  }

  // ---------------------------------------------------------------- MasterLinkHandler

  registration(agentId: string | undefined): AgentMessage {
    return registrationMessage(agentId, this.agentInfo(), this.version, this.tasks, () => this.statusUpdates.pendingHeads());
  }

  onRegistered(e: { agentId: string; previousAgentId: string | undefined; reregistered: boolean; masterInfo: MasterInfo }): void {
    if (e.previousAgentId !== undefined && e.previousAgentId !== e.agentId) {
      this.o.logger.warn({ previous_agent_id: e.previousAgentId, agent_id: e.agentId }, 'master assigned a new agent id to an emulated agent; dropping its tasks');
      this.tasks.shutdownAll();
    }
    this.o.logger.debug({ agent_id: e.agentId, hostname: this.o.hostname, reregistered: e.reregistered }, 'emulated agent registered');
    this.statusUpdates.resume();
    this.o.onRegistered?.({ agentId: e.agentId, reregistered: e.reregistered });
  }

  onCommand(msg: MasterCommand): void {
    if (this.dead) return;
    try {
      const left = dispatchTaskCommand(this.tasks, this.statusUpdates, msg);
      if (left?.type === 'shutdown') {
        this.o.logger.warn({ hostname: this.o.hostname, message: left.message }, 'master asked an emulated agent to shut down; dropping its tasks and registering afresh');
        this.tasks.shutdownAll();
        this.link.forgetAgentId();
        this.link.reconnectNow();
      }
    } catch (err) {
      this.o.logger.error({ err: (err as Error).message, type: msg.type }, 'failed to handle master message');
    }
  }

  private agentInfo(): AgentInfo {
    const id = this.link.agentId();
    return {
      hostname: this.o.hostname,
      port: this.o.port ?? 5051,
      resources: this.o.resources,
      ...(this.o.attributes !== undefined && this.o.attributes.length > 0 ? { attributes: this.o.attributes } : {}),
      ...(id !== undefined ? { id: { value: id } } : {}),
    };
  }
}
