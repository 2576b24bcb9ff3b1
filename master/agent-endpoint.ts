/**
 * The slaves' WebSocket edge at `/api/v1/agent` (ws, `noServer`, frames capped at
 * MAX_AGENT_FRAME_BYTES). Every text frame is validated with `parseAgentFrame` (one message
 * or a batch of them, validated whole); garbage gets an `error` message back and changes
 * nothing, and a socket that keeps sending garbage is closed (1008). Valid messages go to the
 * {@link AgentMessageHandler} one by one, in order. A slave that registers with
 * `batches: true` gets the messages of one turn as one batch frame too.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import type { Logger } from '../sdk/core/log.js';
import {
  MAX_AGENT_FRAME_BYTES, agentFrameBatcher, parseAgentFrame, type AgentMessage, type MasterMessage,
} from '../sdk/protocol/index.js';
import type { FrameBatcher } from '../sdk/core/frame-batcher.js';
import { WriteCoalescer } from '../sdk/core/write-coalescer.js';
import { wsText } from '../sdk/core/ws-text.js';
import type { AgentLink } from './connections.js';

export const AGENT_PATH = '/api/v1/agent';
/** Invalid frames tolerated on one socket before it is closed. */
export const MAX_GARBAGE_FRAMES = 10;

export interface AgentMessageHandler {
  onAgentMessage(link: AgentLink, message: AgentMessage): void;
  /** The socket closed (either side). */
  onAgentDisconnected(link: AgentLink): void;
}

function normaliseAddress(address: string | undefined): string {
  if (address === undefined) return '0.0.0.0';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/**
 * The JSON of each FrameworkInfo sent in `run_task`, by identity: an ACCEPT launching twenty
 * tasks on an agent sends it twenty times. The master replaces a framework's info on update,
 * never mutates it, so an entry cannot go stale.
 */
const frameworkInfoJson = new WeakMap<object, string>();

/** `JSON.stringify(message)`, reusing the framework's JSON in a `run_task` and what its task shares with the previous one. */
export function serialiseMasterMessage(message: MasterMessage): string {
  if (message.type !== 'run_task') return JSON.stringify(message);
  let framework = frameworkInfoJson.get(message.framework);
  if (framework === undefined) frameworkInfoJson.set(message.framework, (framework = JSON.stringify(message.framework)));
  return `{"type":"run_task","framework":${framework},"task":${taskJson(message.task)}}`;
}

/**
 * The JSON of the last resource list and agent id a `run_task` carried, by identity. Tasks
 * launched alike share one resource list and one agent id object (master/tasks.ts `addTask`
 * interns them) and an ACCEPT sends its tasks in a row: their serialisation was most of a
 * run_task's. One entry each, not a map: nothing to hold or collect per task. The state
 * model never mutates a resource list or an id in place (it assigns new ones), so an entry
 * cannot go stale.
 */
let lastResources: unknown;
let lastResourcesJson = '';
let lastAgentId: unknown;
let lastAgentIdJson = '';

/** Object keys as JSON strings (a TaskInfo has a dozen possible keys). */
const quotedKeys = new Map<string, string>();

/**
 * `JSON.stringify(task)`, byte for byte, with the resource list's and agent id's JSON reused
 * from the previous task when they are the same objects. A task that is not a plain object
 * (or that has a `toJSON`) goes to JSON.stringify as a whole.
 */
export function taskJson(task: object): string {
  if (Object.getPrototypeOf(task) !== Object.prototype || 'toJSON' in task) return JSON.stringify(task);
  let out = '{';
  for (const key in task) {
    if (!Object.prototype.hasOwnProperty.call(task, key)) continue;
    const value: unknown = (task as Record<string, unknown>)[key];
    let json: string | undefined;
    if (key === 'resources' && value === lastResources && value !== undefined) json = lastResourcesJson;
    else if (key === 'agent_id' && value === lastAgentId && value !== undefined) json = lastAgentIdJson;
    else {
      json = JSON.stringify(value) as string | undefined;
      // Only objects can be the same again (a primitive's JSON is cheap to redo).
      if (json !== undefined && typeof value === 'object' && value !== null) {
        if (key === 'resources') {
          lastResources = value;
          lastResourcesJson = json;
        } else if (key === 'agent_id') {
          lastAgentId = value;
          lastAgentIdJson = json;
        }
      }
    }
    // JSON.stringify leaves out keys whose value has no JSON (undefined, functions, symbols).
    if (json === undefined) continue;
    let quoted = quotedKeys.get(key);
    if (quoted === undefined) {
      quoted = JSON.stringify(key);
      if (quotedKeys.size < 64) quotedKeys.set(key, quoted);
    }
    out += out.length === 1 ? `${quoted}:${json}` : `,${quoted}:${json}`;
  }
  return `${out}}`;
}

/** An agent link as the frame handling sees it: counts garbage, may switch to batch frames. */
export interface FramedAgentLink extends AgentLink {
  /** Invalid frames seen (the link closes at {@link MAX_GARBAGE_FRAMES}). */
  garbage: number;
  /** The slave accepts batch frames; a transport that never batches leaves this out. */
  enableBatches?(): void;
}

/** Answers an invalid frame with an `error` (and closes a link that keeps sending them). */
function agentGarbage(link: FramedAgentLink, message: string, logger: Logger): void {
  link.garbage++;
  logger.warn({ agentId: link.agentId, remote: link.remoteAddress, message }, 'garbage from agent');
  link.send({ type: 'error', message });
  if (link.garbage >= MAX_GARBAGE_FRAMES) link.close(1008, 'too many invalid messages');
}

/**
 * One text frame from a slave, on either transport (this WebSocket edge and master/in-memory.ts):
 * oversize frames close the link (1009, as ws does); the frame is validated whole (one
 * message or a batch); garbage is answered with an `error` and changes nothing; each message
 * then goes to the handler in order, a handler failure logged and answered, never thrown.
 */
export function handleAgentFrame(handler: AgentMessageHandler, link: FramedAgentLink, frame: string, logger: Logger): void {
  // ws refuses larger frames itself (maxPayload); other transports rely on this check. The
  // character count is a lower bound of the bytes: only a frame that might be too big is measured.
  if (frame.length * 3 > MAX_AGENT_FRAME_BYTES && Buffer.byteLength(frame, 'utf8') > MAX_AGENT_FRAME_BYTES) {
    link.close(1009, 'Max payload size exceeded');
    return;
  }
  const parsed = parseAgentFrame(frame);
  if (!parsed.ok) {
    agentGarbage(link, `invalid message: ${parsed.error}`, logger);
    return;
  }
  for (const message of parsed.message) {
    if ((message.type === 'register' || message.type === 'reregister') && message.batches === true) link.enableBatches?.();
    try {
      handler.onAgentMessage(link, message);
    } catch (err) {
      logger.error({ err, type: message.type, agentId: link.agentId }, 'agent message handler failed');
      link.send({ type: 'error', message: `internal error handling ${message.type}` });
    }
  }
}

class WsAgentLink implements FramedAgentLink {
  agentId?: string;
  garbage = 0;

  private readonly coalescer: WriteCoalescer;
  /** Set once the slave said it accepts batch frames. */
  private batcher: FrameBatcher | undefined;

  constructor(private readonly ws: WebSocket, socket: Duplex, readonly remoteAddress: string, private readonly logger: Logger) {
    this.coalescer = new WriteCoalescer(socket);
  }

  /** From now on the messages of one turn leave as one batch frame. */
  enableBatches(): void {
    this.batcher ??= agentFrameBatcher((frame) => {
      if (this.ws.readyState === WebSocket.OPEN) this.ws.send(frame, this.onSent);
    });
  }

  send(message: MasterMessage): boolean {
    if (this.ws.readyState !== WebSocket.OPEN) return false;
    const frame = serialiseMasterMessage(message);
    if (this.batcher !== undefined) {
      this.batcher.push(frame);
    } else {
      this.coalescer.beforeWrite();
      this.ws.send(frame, this.onSent);
    }
    return true;
  }

  private readonly onSent = (err?: Error): void => {
    if (err) this.logger.debug({ err, agentId: this.agentId }, 'send to agent failed');
  };

  close(code = 1000, reason = ''): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(code, reason);
  }

  terminate(): void {
    this.ws.terminate();
  }
}

export class AgentEndpoint {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_AGENT_FRAME_BYTES });
  private readonly links = new Set<WsAgentLink>();

  constructor(private readonly handler: AgentMessageHandler, private readonly logger: Logger) {
    this.wss.on('error', (err) => logger.warn({ err }, 'agent websocket server error'));
  }

  /** Completes a WebSocket upgrade for `/api/v1/agent`. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, socket, normaliseAddress(req.socket.remoteAddress)));
  }

  /**
   * Completes the upgrade only to say no: one `error` message (who leads), then a close with
   * 1013 (try again later) and a short reason. Used by standbys: slaves go to the leader.
   */
  refuseUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, message: string): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', () => undefined);
      ws.send(JSON.stringify({ type: 'error', message } satisfies MasterMessage), () => {
        ws.close(1013, message.length > 120 ? message.slice(0, 120) : message);
      });
    });
  }

  private accept(ws: WebSocket, socket: Duplex, remoteAddress: string): void {
    const link = new WsAgentLink(ws, socket, remoteAddress, this.logger);
    this.links.add(link);
    ws.on('error', (err) => this.logger.debug({ err, agentId: link.agentId }, 'agent socket error'));
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) {
        agentGarbage(link, 'binary frames are not accepted; send JSON text frames', this.logger);
        return;
      }
      handleAgentFrame(this.handler, link, wsText(data), this.logger);
    });
    ws.on('close', () => {
      this.links.delete(link);
      try {
        this.handler.onAgentDisconnected(link);
      } catch (err) {
        this.logger.error({ err, agentId: link.agentId }, 'agent disconnect handler failed');
      }
    });
  }

  /** Closes every agent socket with `code`/`reason`, keeping the server (a standby sending slaves away). */
  closeAll(code: number, reason: string): void {
    for (const link of [...this.links]) link.close(code, reason.length > 120 ? reason.slice(0, 120) : reason);
  }

  /** Drops every agent socket and the server. */
  close(): void {
    for (const link of this.links) link.terminate();
    this.links.clear();
    this.wss.close();
  }
}
