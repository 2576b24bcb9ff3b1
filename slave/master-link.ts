/**
 * The slave's end of the agent protocol (sdk/protocol/agent.ts): one WebSocket to the
 * master's `/api/v1/agent`.
 *
 * Lifecycle: `disconnected → connecting → registering → registered`, back to
 * `disconnected` when the socket closes, `closed` for good after {@link MasterLink.close}.
 * - On open it sends `register` (no agent id yet) or `reregister` (built by the handler),
 *   and repeats it with backoff until the master answers.
 * - Reconnects with jittered exponential backoff (`backoffMs` doubling to `backoffMaxMs`).
 * - Answers `ping` with `pong`; when no ping arrives for 3 × `ping_interval_seconds` it
 *   drops the socket and reconnects (the master is gone or partitioned).
 * - Every frame is validated with `parseMasterFrame` (one message, or a batch validated
 *   whole); garbage is logged and ignored.
 * - Batch frames: the registration offers `batches: true` when the socket can send them,
 *   and the socket starts batching once the master's answer says it accepts them.
 * - Where to dial comes from a {@link LeaderDetector}: a fixed master in standalone mode,
 *   the elected leader with `--master zk://…`. Every (re)connection dials the leader the
 *   detector names now; with no leader it waits (no dialling) until one is elected. When
 *   the detector names another leader, the link drops its socket and dials the new one
 *   after a short jitter, re-registering with its agent id, live tasks and unacknowledged
 *   updates (see {@link decideOnLeaderChange}). A standby that refuses the socket is
 *   retried with the usual backoff, never faster.
 * - The transport is a seam ({@link AgentDial}): a real WebSocket by default, an in-memory
 *   link in the in-process test cluster.
 *
 * @module
 */
import type { Clock, TimerHandle } from '../sdk/core/clock.js';
import type { Logger } from '../sdk/core/log.js';
import {
  parseMasterFrame, type AgentMessage, type MasterMessage, type MasterMessageOf,
} from '../sdk/protocol/agent.js';
import { wsDial, type AgentDial, type AgentSocket } from './agent-socket.js';
import type { LeaderDetector } from '../sdk/core/leadership.js';
import type { MasterInfo } from '../sdk/protocol/mesos.js';
import { registrationDelay } from './backoff.js';
import { agentUrlFor, decideOnLeaderChange } from './leader.js';

export type MasterLinkState = 'disconnected' | 'connecting' | 'registering' | 'registered' | 'closed';

/** Messages the link hands on to the slave (the link itself handles registration and pings). */
export type MasterCommand = Exclude<MasterMessage, { type: 'registered' | 'reregistered' | 'ping' }>;

export interface MasterLinkHandler {
  /** The registration message to send: `register` when `agentId` is undefined, else `reregister`. */
  registration(agentId: string | undefined): AgentMessage;
  /** The master accepted us; `previousAgentId` is the id we asked for (undefined on a fresh registration). */
  onRegistered(e: { agentId: string; previousAgentId: string | undefined; reregistered: boolean; masterInfo: MasterInfo }): void;
  /** Every other validated message. */
  onCommand(msg: MasterCommand): void;
}

export interface MasterLinkOptions {
  /** Names the master to dial (started by the caller; the link does not stop it). */
  detector: LeaderDetector;
  clock: Clock;
  logger: Logger;
  backoffMs: number;
  backoffMaxMs: number;
  /** Pings missed in a row before the link is considered dead (default 3). */
  maxMissedPings?: number;
  /** Opens the connection; default {@link wsDial} (a real WebSocket). */
  dial?: AgentDial;
  /** Source of the backoff jitter, in [0, 1); default `Math.random` (a seeded one makes a virtual-clock run reproducible). */
  random?: () => number;
}

/** One dialled connection and what the link knows of it. */
interface Connection {
  socket: AgentSocket;
  open: boolean;
  closed: boolean;
  /** Run once when the socket reports its close. */
  onceClosed: (() => void)[];
}

/** WebSocket client to the master with registration, reconnect and ping supervision. */
export class MasterLink {
  private ws: Connection | undefined;
  private linkState: MasterLinkState = 'disconnected';
  private handler: MasterLinkHandler | undefined;
  private currentAgentId: string | undefined;
  private info: MasterInfo | undefined;
  private reconnectAttempt = 0;
  private registrationAttempt = 0;
  private reconnectTimer: TimerHandle | undefined;
  private registrationTimer: TimerHandle | undefined;
  private pingWatchdog: TimerHandle | undefined;
  private pingIntervalMs = 15_000;
  private readonly maxMissedPings: number;
  /** The agent URL of the current (or last) socket. */
  private dialedUrl: string | undefined;
  private waitingForLeader = false;
  private unsubscribeDetector: (() => void) | undefined;
  private readonly dial: AgentDial;
  private readonly random: () => number;
  /** While true the network is cut (simulated partition): frames are dropped, dials fail. */
  private partitioned = false;

  constructor(private readonly o: MasterLinkOptions) {
    this.maxMissedPings = o.maxMissedPings ?? 3;
    this.dial = o.dial ?? wsDial;
    this.random = o.random ?? Math.random;
  }

  get state(): MasterLinkState {
    return this.linkState;
  }

  /** The id the master gave this agent, once registered. */
  agentId(): string | undefined {
    return this.currentAgentId;
  }

  /** The master we are registered with (or were, last). */
  masterInfo(): MasterInfo | undefined {
    return this.info;
  }

  /** Connects and keeps connected until {@link close}. */
  start(handler: MasterLinkHandler): void {
    if (this.handler !== undefined) throw new Error('MasterLink already started');
    this.handler = handler;
    this.connect();
    this.unsubscribeDetector = this.o.detector.onChange((data) => this.onLeader(data));
  }

  /** The agent URL the link dials (or last dialled), if any. */
  get url(): string | undefined {
    return this.dialedUrl;
  }

  /** Sends a message when registered; returns false (and sends nothing) otherwise. */
  send(msg: AgentMessage): boolean {
    if (this.linkState !== 'registered') return false;
    return this.sendRaw(msg);
  }

  /**
   * Sets the agent id recovered from the checkpoint, before {@link start}: the first
   * registration is then a `reregister` with it.
   */
  restoreAgentId(agentId: string): void {
    if (this.handler !== undefined) throw new Error('MasterLink already started');
    this.currentAgentId = agentId;
  }

  /** Forgets the agent id: the next registration is a fresh `register` (after a `shutdown`). */
  forgetAgentId(): void {
    this.currentAgentId = undefined;
  }

  /** Drops the socket and connects again right away. */
  reconnectNow(): void {
    if (this.linkState === 'closed') return;
    const ws = this.ws;
    this.teardownSocket();
    ws?.socket.terminate();
    this.reconnectAttempt = 0;
    this.connect();
  }

  /**
   * Simulates a network partition (emulated agents, the test cluster): while on, frames
   * are dropped both ways and every dial fails as if the master were unreachable, so the
   * link's own supervision (ping watchdog, reconnect backoff) reacts as it would to a real
   * one. Turning it off lets the next (re)connection through.
   */
  setPartitioned(on: boolean): void {
    this.partitioned = on;
  }

  /** Closes the socket and stops reconnecting. */
  async close(): Promise<void> {
    if (this.linkState === 'closed') return;
    const ws = this.ws;
    this.stop();
    if (ws === undefined || ws.closed) return;
    await new Promise<void>((resolve) => {
      const t = this.o.clock.setTimeout(() => { ws.socket.terminate(); resolve(); }, 1000);
      ws.onceClosed.push(() => { t.cancel(); resolve(); });
      ws.socket.close(1000, 'agent closing');
    });
  }

  /** Drops the socket without a close handshake and stops for good (an agent killed with SIGKILL). */
  abort(): void {
    if (this.linkState === 'closed') return;
    const ws = this.ws;
    this.stop();
    ws?.socket.terminate();
  }

  private stop(): void {
    this.teardownSocket();
    this.linkState = 'closed';
    this.reconnectTimer?.cancel();
    this.reconnectTimer = undefined;
    this.unsubscribeDetector?.();
  }

  private connect(): void {
    if (this.linkState === 'closed') return;
    const url = agentUrlFor(this.o.detector.current());
    if (url === undefined) {
      this.linkState = 'disconnected';
      if (!this.waitingForLeader) this.o.logger.info('no leading master; waiting for one to be elected');
      this.waitingForLeader = true;
      return;
    }
    this.waitingForLeader = false;
    this.dialedUrl = url;
    this.linkState = 'connecting';
    this.o.logger.debug({ url }, 'connecting to master');
    if (this.partitioned) {
      // The master is unreachable: the dial fails, as a connect timeout would.
      this.linkState = 'disconnected';
      this.scheduleReconnect();
      return;
    }
    const conn: Connection = { socket: undefined as unknown as AgentSocket, open: false, closed: false, onceClosed: [] };
    this.ws = conn;
    try {
      conn.socket = this.openSocket(conn, url);
    } catch (err) {
      // A dial that throws (a bad URL, a custom transport's refusal) is a failed connection, never a crash.
      this.o.logger.warn({ url, err: (err as Error).message }, 'cannot dial the master');
      conn.closed = true;
      this.teardownSocket();
      this.linkState = 'disconnected';
      this.scheduleReconnect();
    }
  }

  private openSocket(conn: Connection, url: string): AgentSocket {
    return this.dial(url, {
      onOpen: () => {
        if (conn.closed) return;
        conn.open = true;
        if (conn !== this.ws) return;
        this.linkState = 'registering';
        this.registrationAttempt = 0;
        this.sendRegistration();
      },
      onMessage: (frame) => {
        if (conn !== this.ws || this.partitioned) return;
        this.onFrame(frame);
      },
      onError: (err) => {
        if (conn === this.ws) this.o.logger.debug({ err: err.message }, 'master connection error');
      },
      onClose: (code) => {
        if (conn.closed) return;
        conn.open = false;
        conn.closed = true;
        for (const fn of conn.onceClosed.splice(0)) fn();
        if (conn !== this.ws) return;
        const wasRegistered = this.linkState === 'registered';
        this.teardownSocket();
        if (this.linkState === 'closed') return;
        this.linkState = 'disconnected';
        if (wasRegistered) this.o.logger.warn({ code }, 'disconnected from master');
        this.scheduleReconnect();
      },
    });
  }

  /** The detector reported a leader (or none): follow it when it is another master. */
  private onLeader(data: string | undefined): void {
    const leaderUrl = agentUrlFor(data);
    const action = decideOnLeaderChange({
      leaderUrl, dialedUrl: this.dialedUrl, state: this.linkState, reconnectPending: this.reconnectTimer !== undefined,
    });
    if (action === 'keep') return;
    this.o.logger.info({ url: leaderUrl, previous: this.dialedUrl }, 'leading master changed; reconnecting');
    const ws = this.ws;
    this.teardownSocket();
    ws?.socket.terminate();
    this.linkState = 'disconnected';
    this.reconnectAttempt = 0;
    // A new leader is up and waiting for its slaves: a short jitter (up to a quarter of the
    // backoff base) still spreads a large cluster's re-registrations, without adding the
    // half-to-full backoff base that a failed connection waits.
    this.scheduleReconnect(Math.round(this.random() * (this.o.backoffMs / 4)));
  }

  private scheduleReconnect(delayMs?: number): void {
    const attempt = this.reconnectAttempt++;
    const delay = delayMs ?? registrationDelay(attempt, this.o.backoffMs, this.o.backoffMaxMs, this.random());
    this.o.logger.debug({ delay_ms: delay, attempt: attempt + 1 }, 'reconnecting to master');
    this.reconnectTimer?.cancel();
    this.reconnectTimer = this.o.clock.setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect();
    }, delay);
  }

  /** Sends register/reregister and arms a retry in case the master does not answer. */
  private sendRegistration(): void {
    if (this.linkState !== 'registering' || this.handler === undefined) return;
    const registration = this.handler.registration(this.currentAgentId);
    const batches = this.ws?.socket.enableBatches !== undefined;
    this.sendRaw(batches && (registration.type === 'register' || registration.type === 'reregister') ? { ...registration, batches } : registration);
    this.registrationTimer?.cancel();
    const delay = registrationDelay(this.registrationAttempt++, this.o.backoffMs, this.o.backoffMaxMs, this.random());
    this.registrationTimer = this.o.clock.setTimeout(() => this.sendRegistration(), delay);
  }

  private sendRaw(msg: AgentMessage): boolean {
    const ws = this.ws;
    if (ws === undefined || !ws.open || ws.closed) return false;
    // Partitioned: the frame is lost on the way, as on a cut network (the sender cannot tell).
    if (!this.partitioned) ws.socket.send(JSON.stringify(msg));
    return true;
  }

  private teardownSocket(): void {
    this.registrationTimer?.cancel();
    this.registrationTimer = undefined;
    this.pingWatchdog?.cancel();
    this.pingWatchdog = undefined;
    this.ws = undefined;
  }

  private armPingWatchdog(): void {
    this.pingWatchdog?.cancel();
    this.pingWatchdog = this.o.clock.setTimeout(() => {
      this.o.logger.warn({ missed: this.maxMissedPings, ping_interval_ms: this.pingIntervalMs }, 'no ping from master; reconnecting');
      this.reconnectNow();
    }, this.pingIntervalMs * this.maxMissedPings);
  }

  private onFrame(frame: string): void {
    const parsed = parseMasterFrame(frame);
    if (!parsed.ok) {
      this.o.logger.warn({ error: parsed.error, frame: frame.slice(0, 200) }, 'ignoring invalid message from master');
      return;
    }
    const conn = this.ws;
    for (const msg of parsed.message) {
      // A message handled earlier in the same batch may have closed or replaced the socket.
      if (this.ws !== conn || this.partitioned || this.linkState === 'closed') return;
      this.onMessage(msg);
    }
  }

  private onMessage(msg: MasterMessage): void {
    switch (msg.type) {
      case 'registered':
      case 'reregistered':
        this.onRegistered(msg);
        return;
      case 'ping':
        this.sendRaw({ type: 'pong' });
        if (this.linkState === 'registered') this.armPingWatchdog();
        return;
      case 'error':
        this.o.logger.warn({ message: msg.message }, 'master reported an error');
        this.handler?.onCommand(msg);
        return;
      case 'shutdown':
        // The answer a master gives a re-registering agent it has given up on (forgotten by
        // its registry GC): valid while registering too.
        if (this.linkState === 'registering' || this.linkState === 'registered') this.handler?.onCommand(msg);
        return;
      default:
        if (this.linkState !== 'registered') {
          this.o.logger.warn({ type: msg.type }, 'ignoring master message received before registration');
          return;
        }
        this.handler?.onCommand(msg);
    }
  }

  private onRegistered(msg: MasterMessageOf<'registered'> | MasterMessageOf<'reregistered'>): void {
    const previousAgentId = this.currentAgentId;
    this.registrationTimer?.cancel();
    this.registrationTimer = undefined;
    this.currentAgentId = msg.agent_id.value;
    this.info = msg.master_info;
    if (msg.batches === true) this.ws?.socket.enableBatches?.();
    this.pingIntervalMs = msg.ping_interval_seconds * 1000;
    this.linkState = 'registered';
    this.reconnectAttempt = 0;
    this.armPingWatchdog();
    this.handler?.onRegistered({
      agentId: msg.agent_id.value,
      previousAgentId,
      reregistered: msg.type === 'reregistered',
      masterInfo: msg.master_info,
    });
  }
}
