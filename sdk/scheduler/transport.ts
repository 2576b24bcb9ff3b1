/**
 * The scheduler's transport, behind a small interface (nats.js style): the protocol core in
 * {@link Scheduler} and {@link runEventLoop} has no socket code. {@link HttpSchedulerTransport}
 * speaks HTTP to a master; tests pass an in-memory one.
 *
 * @module
 */
import type { SchedulerCall } from '../protocol/index.js';

/** An open SUBSCRIBE response: the stream id and the raw RecordIO bytes as they arrive. */
export interface SubscriptionStream {
  /** The `Mesos-Stream-Id` response header, to be sent with every later call. */
  readonly streamId: string;
  /** Raw body chunks; ends when the master closes the stream, throws on a broken connection. */
  readonly chunks: AsyncIterable<Uint8Array>;
  /** Closes the connection; `chunks` then ends (or throws). Idempotent. */
  close(): void;
}

/**
 * A call already serialised, handed to {@link SchedulerTransport.enqueue}: the transport
 * queues this very object and settles it through its methods, so a caller that makes many
 * calls (a busy framework acknowledges every update) pays for no promise per call.
 */
export interface OutgoingCall {
  /** The call's type (batching and error messages go by it). */
  readonly type: SchedulerCall['type'];
  /** The call's JSON, `framework_id` included. */
  readonly body: string;
  /** The `Mesos-Stream-Id` to send it with. */
  readonly streamId: string;
  /** Called once, on 202. */
  resolve(): void;
  /** Called once, with what {@link SchedulerTransport.send} would have rejected with. */
  reject(err: unknown): void;
}

/** How the scheduler reaches the master. */
export interface SchedulerTransport {
  /**
   * POSTs SUBSCRIBE (following 307 redirects to the leader) and resolves once the 200
   * response headers are in.
   *
   * @throws SubscribeRejectedError for a non-200 answer, AgoraError `AGORA_MASTER_UNREACHABLE`
   *   when no connection could be made, `AGORA_TOO_MANY_REDIRECTS`.
   */
  subscribe(call: SchedulerCall): Promise<SubscriptionStream>;
  /**
   * POSTs any other call with `Mesos-Stream-Id`; resolves on 202 (following 307s).
   *
   * @throws CallRejectedError for any other status (503 included: the scheduler retries it).
   */
  send(call: SchedulerCall, streamId: string): Promise<void>;
  /**
   * Optional: like {@link send} for a call already serialised, settled through the call's own
   * `resolve`/`reject` (never both, never twice) instead of a promise. Must not throw. The
   * scheduler uses it for acknowledgements when present, else `send`.
   */
  enqueue?(call: OutgoingCall): void;
  /** Releases pooled connections. Open streams are closed by their own `close()`. */
  close(): void;
}
