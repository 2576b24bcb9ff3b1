/**
 * The master without HTTP, for an in-process cluster (sdk/testing's TestCluster): the same
 * {@link Master} core with the real allocator and a durable registry, reached through the
 * same parsers and checks as its two network edges:
 *
 * - scheduler calls arrive as JSON text and go through validate.ts in the order the HTTP
 *   edge (scheduler-api/http.ts) applies them, answering the same statuses and bodies; a
 *   SUBSCRIBE gets an event stream that writes RecordIO records, as the HTTP stream does;
 * - agent frames arrive as text and go through `handleAgentFrame`, as on the WebSocket edge
 *   (agent-endpoint.ts); the master's messages leave as JSON text.
 *
 * Delivery (and its asynchrony) is the caller's: this module only turns text into calls and
 * calls into text. No sockets, no timers of its own.
 *
 * @module
 */
import type { Clock } from '../sdk/core/clock.js';
import type { Logger } from '../sdk/core/log.js';
import {
  encodeRecord, type MasterInfo, type MasterMessage, type SchedulerEvent,
} from '../sdk/protocol/index.js';
import { MAX_GARBAGE_FRAMES, handleAgentFrame, type FramedAgentLink } from './agent-endpoint.js';
import { allocate } from './allocator/allocate.js';
import { compileMasterOptions, type MasterConfig, type MasterOptions } from './config.js';
import type { SubscriberStream } from './frameworks.js';
import { Master } from './master.js';
import { buildMasterInfo } from './master-info.js';
import type { MasterState } from './model.js';
import { renderState } from './operator/render-state.js';
import { defaultBuildInfo } from './operator/render-version.js';
import { DocumentRegistry, type RegistrySnapshot } from './registry/types.js';
import { authorizeCall, checkSubscribeHeaders, parseCallBody, validateCall } from './scheduler-api/validate.js';
import { createMasterState } from './state.js';

/**
 * A registry kept in memory: it outlives the {@link Master} instances that use it, so a
 * new master over the same registry recovers like a newly elected leader (failover).
 */
export class MemoryRegistry extends DocumentRegistry {
  private stored?: RegistrySnapshot;

  protected read(): Promise<RegistrySnapshot | undefined> {
    return Promise.resolve(this.stored === undefined ? undefined : structuredClone(this.stored));
  }

  protected write(snapshot: RegistrySnapshot): Promise<void> {
    this.stored = structuredClone(snapshot);
    return Promise.resolve();
  }

  /** The stored document (a copy), for tests. */
  snapshot(): RegistrySnapshot | undefined {
    return this.stored === undefined ? undefined : structuredClone(this.stored);
  }
}

/** The master's flags that make sense without sockets or files. */
export type InMemoryMasterFlags = Omit<MasterOptions, 'port' | 'host' | 'advertiseIp' | 'workDir' | 'zk' | 'zkSessionTimeoutMs' | 'onDemoted' | 'logger' | 'clock'>;

/** Options of {@link startInMemoryMaster}. */
export interface InMemoryMasterOptions {
  /** The master id (MasterInfo.id; agent and framework ids derive from it). */
  id: string;
  clock: Clock;
  logger: Logger;
  /** Shared across master instances to model a failover. */
  registry: MemoryRegistry;
  /** Advertised address (nothing listens there). Default `127.0.0.1:5050`, hostname `agora-master`. */
  ip?: string;
  port?: number;
  hostname?: string;
  flags?: InMemoryMasterFlags;
}

/** What a scheduler request got back: an HTTP status, headers and a text body. */
export interface InMemoryAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The sink a subscription's RecordIO bytes go to (the caller delivers them). */
export interface EventSink {
  /** One RecordIO record. */
  write(record: Uint8Array): void;
  /** The master ended the stream. */
  end(): void;
}

/** A SUBSCRIBE stream without a socket: writes the same RecordIO records as HttpEventStream. */
export class InMemoryEventStream implements SubscriberStream {
  private ended = false;
  private readonly listeners: Array<() => void> = [];

  constructor(readonly streamId: string, private readonly sink: EventSink) {}

  get closed(): boolean {
    return this.ended;
  }

  send(event: SchedulerEvent): boolean {
    if (this.ended) return false;
    this.sink.write(encodeRecord(JSON.stringify(event)));
    return true;
  }

  /** Ends the stream from the master's side (close listeners are not called). */
  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.sink.end();
  }

  onPeerClose(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** The scheduler went away (its connection dropped): the master is told once. */
  peerClosed(): void {
    if (this.ended) return;
    this.ended = true;
    for (const l of this.listeners) l();
  }
}

/** An agent connection without a socket: master messages leave as JSON text through `out`. */
export class InMemoryAgentLink implements FramedAgentLink {
  agentId?: string;
  /** Invalid frames seen (the socket closes at {@link MAX_GARBAGE_FRAMES}). */
  garbage = 0;

  constructor(
    readonly remoteAddress: string,
    private readonly out: (frame: string) => boolean,
    private readonly closer: (code: number, reason: string) => void,
  ) {}

  send(message: MasterMessage): boolean {
    return this.out(JSON.stringify(message));
  }

  close(code = 1000, reason = ''): void {
    this.closer(code, reason);
  }
}

/** A master core in this process, with the text edges of {@link module:master/in-memory}. */
export class InMemoryMaster {
  private stopped = false;

  constructor(
    readonly master: Master,
    readonly info: MasterInfo,
    readonly config: MasterConfig,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  get state(): MasterState {
    return this.master.state;
  }

  get closed(): boolean {
    return this.stopped;
  }

  /**
   * One scheduler request, as `POST /api/v1/scheduler` handles it (after the method and
   * Content-Type checks, which an in-memory client always passes): the body is parsed and
   * validated, SUBSCRIBE opens a stream through `openStream`, other calls are authorised by
   * `Mesos-Stream-Id` and handled. Never throws.
   */
  request(
    body: string,
    headers: { streamId?: string; accept?: string },
    openStream: (streamId: string) => InMemoryEventStream,
    newStreamId: () => string,
  ): InMemoryAnswer | { status: 200; stream: InMemoryEventStream } {
    try {
      if (this.stopped) return text(503, 'Master is shutting down');
      const parsed = parseCallBody(body);
      if (!parsed.ok) {
        this.master.countInvalidCall();
        return text(parsed.verdict.status, parsed.verdict.message, parsed.verdict.headers);
      }
      const call = parsed.call;
      const invalid = validateCall(call);
      if (invalid !== undefined) {
        this.master.countInvalidCall();
        return text(400, `Failed to validate scheduler::Call: ${invalid}`);
      }
      if (call.type === 'SUBSCRIBE') {
        const refused = checkSubscribeHeaders(headers.accept, headers.streamId);
        if (refused) return text(refused.status, refused.message, refused.headers);
        const stream = openStream(newStreamId());
        this.master.subscribe(call, stream);
        return { status: 200, stream };
      }
      const framework = this.master.getFramework(call.framework_id!.value);
      const refused = authorizeCall(framework, headers.streamId);
      if (refused) return text(refused.status, refused.message, refused.headers);
      const result = this.master.handleCall(framework!, call);
      if ('message' in result) return text(result.status, result.message, result.headers);
      if ('json' in result && result.json !== undefined) {
        return { status: 200, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(result.json) };
      }
      return { status: result.status, headers: {}, body: '' };
    } catch (err) {
      this.logger.error({ err }, 'scheduler call failed');
      return text(500, 'Internal error');
    }
  }

  /** Accepts an agent connection: the returned link's master messages go to `out`. */
  acceptAgent(remoteAddress: string, out: (frame: string) => boolean, closer: (code: number, reason: string) => void): InMemoryAgentLink {
    return new InMemoryAgentLink(remoteAddress, out, closer);
  }

  /** One text frame from an agent, handled as agent-endpoint.ts handles a WebSocket frame. */
  agentFrame(link: InMemoryAgentLink, frame: string): void {
    handleAgentFrame(this.master, link, frame, this.logger);
  }

  /** The agent's connection closed (either side). */
  agentDisconnected(link: InMemoryAgentLink): void {
    try {
      this.master.onAgentDisconnected(link);
    } catch (err) {
      this.logger.error({ err, agentId: link.agentId }, 'agent disconnect handler failed');
    }
  }

  /** The state JSON as `GET /master/state` renders it. */
  renderState(): unknown {
    return renderState(this.master.state, {
      now: this.clock.now(),
      isLeader: !this.stopped,
      flags: {},
      build: defaultBuildInfo(this.master.state.startedAt),
    });
  }

  /** Stops the master: timers cancelled, framework streams ended (agent links are the caller's). */
  close(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.master.close();
  }
}

function text(status: number, message: string, headers: Record<string, string> = {}): InMemoryAnswer {
  return { status, headers: { 'Content-Type': 'text/plain; charset=utf-8', ...headers }, body: message };
}

/**
 * Builds a master core over `o.registry` and recovers it (as a newly elected leader does).
 *
 * @throws AgoraError `AGORA_MASTER_BAD_OPTION` for bad flags.
 */
export async function startInMemoryMaster(o: InMemoryMasterOptions): Promise<InMemoryMaster> {
  const ip = o.ip ?? '127.0.0.1';
  const port = o.port ?? 5050;
  const hostname = o.hostname ?? 'agora-master';
  const config = compileMasterOptions({ ...o.flags, port, host: ip, hostname, workDir: '(in memory)' });
  const info = buildMasterInfo({ id: o.id, ip, port, hostname });
  const state = createMasterState(info, o.clock.now());
  const master = new Master({ state, config, clock: o.clock, logger: o.logger, allocate, registry: o.registry });
  const running = new InMemoryMaster(master, info, config, o.clock, o.logger);
  try {
    await master.recover();
  } catch (err) {
    running.close();
    throw err;
  }
  return running;
}
