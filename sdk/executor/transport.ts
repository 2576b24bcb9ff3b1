/**
 * How the executor driver reaches its slave. The driver only needs two operations, so the
 * protocol core has no socket code and tests can hand it an in-memory transport.
 *
 * @module
 */
import http from 'node:http';
import {
  CALLS_APPLIED_HEADER, FAILED_CALL_HEADER, batchLimitOf, headerNumber, settleRefusedBatch, takeBatch, type QueuedCall,
} from '../core/call-batch.js';
import { AgoraError } from '../core/errors.js';
import type { ExecutorCall } from '../protocol/executor.js';

/**
 * An open SUBSCRIBE response: the raw RecordIO bytes as they arrive.
 *
 * @example
 * ```ts
 * const stream = await transport.subscribe(call);
 * for await (const chunk of stream) for (const record of decoder.push(chunk)) handle(record);
 * ```
 */
export interface SubscriptionStream extends AsyncIterable<Uint8Array> {
  /** Drops the connection; the iteration ends (possibly with an error). */
  close(): void;
}

/**
 * The two operations of the v1 executor API the driver uses; implement it to run the driver
 * over something other than HTTP (tests use an in-memory one).
 *
 * @example
 * ```ts
 * const transport: ExecutorTransport = {
 *   subscribe: async (call) => openMyStream(call),
 *   send: async (call) => { sent.push(call); },
 * };
 * const driver = new ExecutorDriver({ config, transport });
 * ```
 */
export interface ExecutorTransport {
  /** POSTs a SUBSCRIBE call; resolves once the slave answered 200 with its event stream. */
  subscribe(call: ExecutorCall): Promise<SubscriptionStream>;
  /** POSTs any other call; resolves on 202, rejects with `AgoraError` otherwise. */
  send(call: ExecutorCall): Promise<void>;
  /** Releases idle connections; the driver calls it once it has stopped. Optional. */
  close?(): void;
}

/** Options of {@link HttpExecutorTransport}. */
export interface HttpExecutorTransportOptions {
  /** `host:port` of the slave (MESOS_AGENT_ENDPOINT). */
  agentEndpoint: string;
  /** Path of the executor API; default `/api/v1/executor`. */
  path?: string;
  /**
   * A non-SUBSCRIBE call whose socket stays idle this long fails with `AGORA_EXECUTOR_CONNECT`
   * (so a hung slave cannot block the ordered update queue); default 30 s.
   */
  callTimeoutMs?: number;
}

/**
 * The v1 executor API over HTTP/1.1 with JSON bodies (Mesos `ContentType::JSON`).
 *
 * SUBSCRIBE gets a connection of its own (it stays open as the event stream); the other
 * calls share a pool of keep-alive connections (a fresh TCP connection per status update
 * cost the slave and the executor about as much as the update itself). A call that fails
 * because the slave had just closed an idle pooled connection is sent once more on a new
 * one: the slave never read it, so it cannot be applied twice.
 *
 * Call batches (an Agora extension): when the SUBSCRIBE response carries
 * `Agora-Call-Batch: <max>` (an Agora slave), calls go out one request at a time, and the
 * calls made while a request is in flight go together in the next one as a JSON array, in
 * order (slave/executor-api.ts applies them in order, up to the first failure). Each call
 * still settles on its own: the one the slave refused rejects with its answer, the ones
 * after it are sent again. A Mesos agent never sends the header: every call goes alone,
 * side by side on the pool.
 *
 * Errors: `AGORA_EXECUTOR_HTTP` for a refused call (with the status and the slave's body),
 * `AGORA_EXECUTOR_CONNECT` when the slave cannot be reached.
 *
 * @example
 * ```ts
 * const transport = new HttpExecutorTransport({ agentEndpoint: '127.0.0.1:5051' });
 * ```
 */
export class HttpExecutorTransport implements ExecutorTransport {
  private readonly host: string;
  private readonly port: number;
  private readonly path: string;
  private readonly callTimeoutMs: number;
  /** Keep-alive connections of the non-SUBSCRIBE calls. */
  private readonly callAgent: http.Agent;
  /** Most calls per request: 1 (no batches) until a SUBSCRIBE response announces more. */
  private batchLimit = 1;
  /** Calls waiting for the request in flight (batch mode). */
  private readonly queue: ExecutorQueuedCall[] = [];
  private pumping = false;

  constructor(options: HttpExecutorTransportOptions) {
    const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(options.agentEndpoint);
    if (match === null) {
      throw new AgoraError('AGORA_EXECUTOR_CONFIG', `agent endpoint must be host:port, got ${JSON.stringify(options.agentEndpoint)}`);
    }
    this.host = match[1] ?? match[2]!;
    this.port = Number(match[3]);
    this.path = options.path ?? '/api/v1/executor';
    this.callTimeoutMs = options.callTimeoutMs ?? 30_000;
    this.callAgent = new http.Agent({ keepAlive: true, maxSockets: MAX_CALL_CONNECTIONS });
  }

  subscribe(call: ExecutorCall): Promise<SubscriptionStream> {
    return new Promise((resolve, reject) => {
      const req = this.request(Buffer.from(JSON.stringify(call), 'utf8'), false, (res) => {
        if (res.statusCode !== 200) {
          readBody(res).then(
            (body) => reject(new AgoraError('AGORA_EXECUTOR_HTTP', `SUBSCRIBE refused by the agent: ${res.statusCode} ${body}`.trim())),
            reject,
          );
          return;
        }
        this.batchLimit = batchLimitOf(res.headers);
        resolve({
          [Symbol.asyncIterator]: () => res[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>,
          close: () => {
            res.destroy();
            req.destroy();
          },
        });
      });
      req.on('error', (err) => reject(new AgoraError('AGORA_EXECUTOR_CONNECT', `cannot reach the agent at ${this.host}:${this.port}: ${err.message}`, { cause: err })));
    });
  }

  send(call: ExecutorCall): Promise<void> {
    const body = JSON.stringify(call);
    if (this.batchLimit <= 1 && this.queue.length === 0) return this.sendAlone(call.type, body);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ type: call.type, body, resolve, reject });
      void this.pump();
    });
  }

  close(): void {
    this.callAgent.destroy();
  }

  /** One call in a request of its own (resent once after a stale keep-alive socket). */
  private async sendAlone(type: string, body: string): Promise<void> {
    const answer = await this.postRetryingStaleSocket(Buffer.from(body, 'utf8'));
    if (answer.status !== 202 && answer.status !== 200) {
      throw new AgoraError('AGORA_EXECUTOR_HTTP', `${type} refused by the agent: ${answer.status} ${answer.text}`.trim(), { cause: { status: answer.status } });
    }
  }

  /** Sends the queued calls, one request at a time, batched, until the queue is empty. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0) {
        const batch = takeBatch(this.queue, this.batchLimit);
        if (batch.length === 1) {
          const only = batch[0]!;
          await this.sendAlone(only.type, only.body).then(only.resolve, only.reject);
        } else {
          await this.sendBatch(batch);
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  /**
   * Sends calls as one batch and settles each: the applied ones resolve, the failed one
   * rejects with the slave's answer, the ones after it go back to the front of the queue.
   * An answer about the whole batch, or a connection failure, rejects them all.
   */
  private async sendBatch(batch: ExecutorQueuedCall[]): Promise<void> {
    let answer: Answer;
    try {
      answer = await this.postRetryingStaleSocket(Buffer.from(`[${batch.map((c) => c.body).join(',')}]`, 'utf8'));
    } catch (err) {
      for (const c of batch) c.reject(err);
      return;
    }
    if (answer.status === 202 || answer.status === 200) {
      for (const c of batch) c.resolve();
      return;
    }
    const refused = (c: ExecutorQueuedCall): AgoraError => new AgoraError('AGORA_EXECUTOR_HTTP', `${c.type} refused by the agent: ${answer.status} ${answer.text}`.trim(), { cause: { status: answer.status } });
    const notApplied = settleRefusedBatch(batch, answer.applied, answer.failed, refused);
    this.queue.unshift(...notApplied);
  }

  private async postRetryingStaleSocket(body: Buffer): Promise<Answer> {
    try {
      return await this.post(body);
    } catch (err) {
      if (!isStaleSocketError(err)) throw err;
      return this.post(body);
    }
  }

  private post(body: Buffer): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = this.request(body, this.callAgent, (res) => {
        readBody(res).then((text) => resolve({
          status: res.statusCode ?? 0,
          text,
          applied: headerNumber(res.headers, CALLS_APPLIED_HEADER),
          failed: headerNumber(res.headers, FAILED_CALL_HEADER),
        }), reject);
      });
      // Socket idle timeout (node's own, not a scheduling timer): a hung slave fails the call.
      req.setTimeout(this.callTimeoutMs, () => req.destroy(new Error(`no answer within ${this.callTimeoutMs} ms`)));
      req.on('error', (err) => {
        const reused = req.reusedSocket;
        reject(new AgoraError('AGORA_EXECUTOR_CONNECT', `cannot reach the agent at ${this.host}:${this.port}: ${err.message}`, { cause: Object.assign(err, { reusedSocket: reused }) }));
      });
    });
  }

  private request(body: Buffer, agent: http.Agent | false, onResponse: (res: http.IncomingMessage) => void): http.ClientRequest {
    const req = http.request({
      host: this.host,
      port: this.port,
      path: this.path,
      method: 'POST',
      agent,
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/json',
        'Content-Length': body.length,
      },
    }, onResponse);
    req.end(body);
    return req;
  }
}

/** Connections of the non-SUBSCRIBE calls: one per task update in flight, up to this many. */
const MAX_CALL_CONNECTIONS = 16;

/** A call waiting in the batch queue. */
interface ExecutorQueuedCall extends QueuedCall {
  type: string;
}

/** The slave's answer to a POST. */
interface Answer {
  status: number;
  text: string;
  applied: number | undefined;
  failed: number | undefined;
}

/** A reset on a reused keep-alive socket: the slave closed it while idle, before reading the call. */
function isStaleSocketError(err: unknown): boolean {
  if (!(err instanceof AgoraError) || err.code !== 'AGORA_EXECUTOR_CONNECT') return false;
  const cause = err.cause as (NodeJS.ErrnoException & { reusedSocket?: boolean }) | undefined;
  return cause?.reusedSocket === true && (cause.code === 'ECONNRESET' || cause.message === 'socket hang up');
}

/**
 * HTTP status of a refused call, when the error carries one.
 *
 * @example
 * ```ts
 * try { await transport.send(call); } catch (err) { if (httpStatusOf(err) === 400) drop(call); }
 * ```
 */
export function httpStatusOf(err: unknown): number | undefined {
  if (err instanceof AgoraError && err.code === 'AGORA_EXECUTOR_HTTP') {
    const cause = err.cause as { status?: unknown } | undefined;
    if (cause !== undefined && typeof cause.status === 'number') return cause.status;
  }
  return undefined;
}

async function readBody(res: http.IncomingMessage, limit = 4096): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    const buf = chunk as Buffer;
    if (size < limit) parts.push(buf);
    size += buf.length;
  }
  return Buffer.concat(parts).toString('utf8').slice(0, limit);
}
