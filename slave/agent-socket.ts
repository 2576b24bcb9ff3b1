/**
 * The seam between the slave's {@link MasterLink} and its transport: a minimal client
 * socket (`send`, `close`, `terminate` and four callbacks). The default dials a real `ws`
 * WebSocket; tests and the in-process test cluster (sdk/testing) pass their own
 * {@link AgentDial} to connect a slave to an in-process master without sockets.
 *
 * Frames are text: `JSON.stringify(AgentMessage)` up, `JSON.stringify(MasterMessage)` down.
 *
 * @module
 */
import WebSocket from 'ws';
import type { FrameBatcher } from '../sdk/core/frame-batcher.js';
import { WriteCoalescer } from '../sdk/core/write-coalescer.js';
import { MAX_AGENT_FRAME_BYTES, agentFrameBatcher } from '../sdk/protocol/agent.js';
import { wsText } from '../sdk/core/ws-text.js';

/**
 * Callbacks the link gives a socket it dials. A socket calls them in order: `onOpen`
 * once, then any number of `onMessage`, then `onClose` once (also when the dial fails,
 * after `onError`). Nothing is called after `onClose`.
 */
export interface AgentSocketEvents {
  onOpen(): void;
  /** One text frame (the JSON of a master message). */
  onMessage(frame: string): void;
  /** Informational; `onClose` still follows. */
  onError(err: Error): void;
  onClose(code: number): void;
}

/** The client end of the agent connection, as {@link MasterLink} uses it. */
export interface AgentSocket {
  /** Sends one text frame (the JSON of one message); only called between `onOpen` and `onClose`. */
  send(frame: string): void;
  /**
   * The master accepts batch frames: from now on the messages sent during one turn leave
   * together in one (sdk/protocol/agent.ts `batchFrame`). A transport that never batches
   * leaves this out, and the link then does not offer batches in its registration.
   */
  enableBatches?(): void;
  /** Graceful close (close handshake); `onClose` follows. */
  close(code: number, reason: string): void;
  /** Abrupt drop (no handshake); `onClose` follows, possibly synchronously. */
  terminate(): void;
}

/** Opens a connection to `url` (`ws://host:port/api/v1/agent` of the leading master). */
export type AgentDial = (url: string, events: AgentSocketEvents) => AgentSocket;

/** Dials a real WebSocket (the `ws` package). */
export const wsDial: AgentDial = (url, events) => {
  // No per-message deflate: agent frames are small and a zlib context per socket costs
  // memory that thousands of emulated agents in one process cannot spare.
  const ws = new WebSocket(url, { maxPayload: MAX_AGENT_FRAME_BYTES, handshakeTimeout: 10_000, perMessageDeflate: false });
  // Frames of one event-loop turn leave in one write (see WriteCoalescer); the socket is
  // known once the upgrade completed.
  let coalescer: WriteCoalescer | undefined;
  ws.on('upgrade', (res) => {
    coalescer = new WriteCoalescer(res.socket);
  });
  ws.on('open', () => events.onOpen());
  ws.on('message', (data: WebSocket.RawData) => {
    events.onMessage(wsText(data));
  });
  ws.on('error', (err) => events.onError(err));
  ws.on('close', (code) => {
    batcher?.discard();
    events.onClose(code);
  });
  let batcher: FrameBatcher | undefined;
  return {
    send: (frame) => {
      if (ws.readyState !== WebSocket.OPEN) return;
      if (batcher !== undefined) {
        batcher.push(frame);
        return;
      }
      coalescer?.beforeWrite();
      ws.send(frame);
    },
    enableBatches: () => {
      batcher ??= agentFrameBatcher((frame) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(frame);
      });
    },
    close: (code, reason) => {
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else if (ws.readyState === WebSocket.OPEN) ws.close(code, reason);
    },
    terminate: () => ws.terminate(),
  };
};
