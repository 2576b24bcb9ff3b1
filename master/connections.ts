/**
 * The master's live connections, keyed by the ids of the state model: one event stream per
 * subscribed framework, one WebSocket link per registered slave. Sending to an id without a
 * connection is a logged no-op (the peer is disconnected; at-least-once delivery is the
 * slave's job, by resending unacknowledged updates).
 *
 * @module
 */
import type { Logger } from '../sdk/core/log.js';
import type { MasterMessage, SchedulerEvent } from '../sdk/protocol/index.js';

/** A framework's SUBSCRIBE stream (see scheduler-api/stream.ts). */
export interface EventStream {
  readonly streamId: string;
  /** Writes one RecordIO record; false when the stream is closed. */
  send(event: SchedulerEvent): boolean;
  /** Ends the stream (idempotent). */
  close(): void;
  readonly closed: boolean;
}

/** A slave's WebSocket (see agent-endpoint.ts). */
export interface AgentLink {
  /** Address the slave connected from (IPv4 when possible). */
  readonly remoteAddress: string;
  send(message: MasterMessage): boolean;
  close(code?: number, reason?: string): void;
  /** The agent id this link registered as, once registered. */
  agentId?: string;
}

export class Connections {
  readonly frameworkStreams = new Map<string, EventStream>();
  readonly agentLinks = new Map<string, AgentLink>();

  constructor(private readonly logger: Logger) {}

  sendEvent(frameworkId: string, event: SchedulerEvent): boolean {
    const stream = this.frameworkStreams.get(frameworkId);
    if (stream === undefined || stream.closed) {
      this.logger.debug({ frameworkId, type: event.type }, 'framework not connected; event dropped');
      return false;
    }
    return stream.send(event);
  }

  sendToAgent(agentId: string, message: MasterMessage): boolean {
    const link = this.agentLinks.get(agentId);
    if (link === undefined) {
      this.logger.warn({ agentId, type: message.type }, 'agent not connected; message dropped');
      return false;
    }
    return link.send(message);
  }
}
