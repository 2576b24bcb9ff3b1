/**
 * `POST /api/v1/executor`: the Mesos v1 executor HTTP API (JSON only), as a raw node:http
 * handler so the SUBSCRIBE response can stay open as a chunked RecordIO stream.
 *
 * Status codes follow Mesos: 405 for other methods, 415 for a non-JSON Content-Type, 406
 * when the client does not accept JSON, 413 for an oversize body, 400 for malformed JSON,
 * an invalid call or an unknown framework/executor, 403 when the executor has not
 * subscribed yet, 200 + stream for SUBSCRIBE, 202 for UPDATE/MESSAGE/HEARTBEAT. Error
 * bodies are plain text.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../sdk/core/log.js';
import { ExecutorCall, type ExecutorEvent } from '../sdk/protocol/executor.js';
import { safeParseJson } from '../sdk/protocol/mesos.js';
import { encodeRecord } from '../sdk/protocol/recordio.js';
import { CALLS_APPLIED_HEADER, CALL_BATCH_HEADER, FAILED_CALL_HEADER, MAX_BATCH_CALLS } from '../sdk/core/call-batch.js';
import { WriteCoalescer } from '../sdk/core/write-coalescer.js';
import { z } from 'zod';
import type { CallResult, ExecutorManager } from './executors.js';
import type { ExecutorStream } from './model.js';

/** Largest call body accepted (Mesos has none; unacknowledged updates can be large). */
export const MAX_EXECUTOR_CALL_BYTES = 16 * 1024 * 1024;

function reply(res: ServerResponse, status: number, message?: string, headers?: Record<string, string>): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  if (message === undefined) {
    // The 202 of every UPDATE: headers and the empty body in one write.
    res.writeHead(status, headers);
    res.end();
    return;
  }
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
  res.end(message);
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too_large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) tooLarge = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(tooLarge ? 'too_large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * A SUBSCRIBE response as an {@link ExecutorStream}: headers go out with the first event.
 * The events of one turn of the event loop (a group commit releases a LAUNCH and several
 * ACKNOWLEDGED at once) leave in one write ({@link WriteCoalescer}).
 */
class HttpExecutorStream implements ExecutorStream {
  private isClosed = false;
  private readonly coalescer: WriteCoalescer;
  constructor(private readonly res: ServerResponse, onClose: (s: HttpExecutorStream) => void) {
    this.coalescer = new WriteCoalescer(res);
    res.on('close', () => {
      if (this.isClosed) return;
      this.isClosed = true;
      onClose(this);
    });
  }
  get closed(): boolean {
    return this.isClosed || this.res.writableEnded || this.res.destroyed;
  }
  send(event: ExecutorEvent): void {
    if (this.closed) return;
    if (!this.res.headersSent) {
      this.res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache', [CALL_BATCH_HEADER]: String(MAX_BATCH_CALLS) });
      this.res.flushHeaders();
    }
    this.coalescer.beforeWrite();
    this.res.write(encodeRecord(JSON.stringify(event)));
  }
  end(): void {
    if (this.res.writableEnded) return;
    this.isClosed = true;
    this.res.end();
  }
}

/** Builds the handler for `/api/v1/executor`. */
export function executorApiHandler(manager: ExecutorManager, logger: Logger): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    void handle(req, res).catch((e: unknown) => {
      logger.warn({ err: (e as Error).message }, 'executor API request failed');
      reply(res, 500, 'Internal error');
    });
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') {
      req.resume();
      reply(res, 405, `Expecting a 'POST' request, received '${req.method ?? ''}'`, { Allow: 'POST' });
      return;
    }
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (contentType !== 'application/json') {
      req.resume();
      reply(res, 415, contentType === '' ? "Expecting 'Content-Type' to be present" : `Expecting 'Content-Type' of application/json, received '${contentType}'`);
      return;
    }
    const accept = req.headers.accept;
    if (accept !== undefined && !/(application\/json|application\/\*|\*\/\*)/i.test(accept)) {
      req.resume();
      reply(res, 406, `Expecting 'Accept' to allow application/json`);
      return;
    }
    const body = await readBody(req, MAX_EXECUTOR_CALL_BYTES);
    if (body === 'too_large') {
      reply(res, 413, `Request body exceeds ${MAX_EXECUTOR_CALL_BYTES} bytes`);
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch (e) {
      reply(res, 400, `Failed to parse body into JSON: ${(e as Error).message}`);
      return;
    }
    if (Array.isArray(json)) {
      handleBatch(json, res);
      return;
    }
    const parsed = safeParseJson(ExecutorCall, json);
    if (!parsed.success) {
      reply(res, 400, `Failed to validate executor::Call: ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}`);
      return;
    }
    const call = parsed.data;
    let result: CallResult;
    switch (call.type) {
      case 'SUBSCRIBE': {
        req.socket.setTimeout(0);
        req.socket.setKeepAlive(true);
        const stream = new HttpExecutorStream(res, (s) => manager.streamClosed(s));
        result = manager.subscribe(call, stream);
        if (result.ok) {
          if (!res.headersSent) stream.send({ type: 'HEARTBEAT' });
          return;
        }
        break;
      }
      default:
        result = apply(call);
    }
    if (result.ok) reply(res, 202);
    else reply(res, result.status, result.message);
  }

  /** Applies one call other than SUBSCRIBE. */
  function apply(call: ExecutorCall): CallResult {
    switch (call.type) {
      case 'UPDATE':
        return manager.update(call);
      case 'MESSAGE':
        return manager.message(call);
      default:
        return manager.executorHeartbeat(call);
    }
  }

  /**
   * A batch: validated whole first (1–{@link MAX_BATCH_CALLS} valid calls, none a
   * SUBSCRIBE; a bad one is 400 and nothing is applied), then applied in order up to the
   * first failure, which answers with its own status. Every answer says how many calls were
   * applied ({@link CALLS_APPLIED_HEADER}); a failure also which one failed.
   */
  function handleBatch(items: unknown[], res: ServerResponse): void {
    const refuse = (index: number, message: string): void => {
      reply(res, 400, message, { [CALLS_APPLIED_HEADER]: '0', [FAILED_CALL_HEADER]: String(index) });
    };
    if (items.length === 0 || items.length > MAX_BATCH_CALLS) {
      reply(res, 400, `A batch holds 1 to ${MAX_BATCH_CALLS} calls, not ${items.length}`, { [CALLS_APPLIED_HEADER]: '0' });
      return;
    }
    const calls: ExecutorCall[] = [];
    for (const [i, item] of items.entries()) {
      const parsed = safeParseJson(ExecutorCall, item);
      if (!parsed.success) return refuse(i, `Call ${i} of the batch: failed to validate executor::Call: ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}`);
      if (parsed.data.type === 'SUBSCRIBE') return refuse(i, `Call ${i} of the batch: SUBSCRIBE cannot be batched`);
      calls.push(parsed.data);
    }
    for (const [i, call] of calls.entries()) {
      const result = apply(call);
      if (!result.ok) {
        reply(res, result.status, `Call ${i} of the batch (${call.type}): ${result.message}`, { [CALLS_APPLIED_HEADER]: String(i), [FAILED_CALL_HEADER]: String(i) });
        return;
      }
    }
    reply(res, 202, undefined, { [CALLS_APPLIED_HEADER]: String(calls.length) });
  }
}
