/**
 * The scheduler API's HTTP edge, on raw node:http (the hot path bypasses express):
 * `POST /api/v1/scheduler` and `/master/api/v1/scheduler`. Reads the body with a size limit
 * (413), applies the checks of validate.ts in Mesos's order, then hands the call to the
 * {@link SchedulerCallHandler}.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../sdk/core/log.js';
import type { SchedulerCall } from '../../sdk/protocol/index.js';
import type { SubscriberStream } from '../frameworks.js';
import type { FrameworkRecord } from '../model.js';
import { failedAt, isBatchBody, parseBatch } from './batch.js';
import { HttpEventStream } from './stream.js';
import {
  authorizeCall, checkContentType, checkMethod, checkSubscribeHeaders, parseCallBody, validateCall,
  type HttpVerdict,
} from './validate.js';

/** What a handled call answers: 202 (most calls), 200 with a JSON body, or a refusal. */
export type CallResult = { status: 202 } | { status: 200; json?: unknown } | HttpVerdict;

/** The master behind the edge (implemented by master.ts). */
export interface SchedulerCallHandler {
  getFramework(frameworkId: string): FrameworkRecord | undefined;
  /** Takes over the stream: sends SUBSCRIBED (or ERROR and closes). */
  subscribe(call: SchedulerCall, stream: SubscriberStream): void;
  /** Any call but SUBSCRIBE, from an authorised, subscribed framework. */
  handleCall(framework: FrameworkRecord, call: SchedulerCall): CallResult;
}

export const SCHEDULER_PATHS: ReadonlySet<string> = new Set(['/api/v1/scheduler', '/master/api/v1/scheduler']);

function reply(res: ServerResponse, verdict: HttpVerdict, close = false): void {
  if (res.headersSent) return;
  const body = Buffer.from(verdict.message, 'utf8');
  res.writeHead(verdict.status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': body.length,
    ...(close ? { Connection: 'close' } : {}),
    ...verdict.headers,
  });
  res.end(body);
}

type BodyResult = { ok: true; body: Buffer } | { ok: false; tooLarge: boolean };

/** Reads the whole body (chunked or with Content-Length) up to `limit` bytes. */
function readBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length']);
    let tooLarge = Number.isFinite(declared) && declared > limit;
    const chunks: Buffer[] = [];
    let size = 0;
    // Past this much, stop draining an oversize body and drop the connection.
    const drainCap = Math.max(limit * 8, 64 * 1024 * 1024);
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      if (!tooLarge) chunks.push(chunk);
      else if (size > drainCap) {
        req.destroy();
        resolve({ ok: false, tooLarge: false });
      }
    });
    req.on('end', () => resolve(tooLarge ? { ok: false, tooLarge: true } : { ok: true, body: Buffer.concat(chunks, size) }));
    req.on('error', () => resolve({ ok: false, tooLarge: false }));
  });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Longest stretch a batch is applied without letting other work in. A batch of a thousand
 * ACCEPTs can launch tens of thousands of tasks; applied in one go it held the master for
 * a second, and every status update (and heartbeat) waited behind it. Between slices other
 * requests and agent messages may run, as they could between separate requests.
 */
const BATCH_SLICE_MS = 5;

/**
 * A call batch (see batch.ts): validated whole, authorised once, then applied in order up to
 * the first call that fails, in slices of {@link BATCH_SLICE_MS}.
 */
async function handleBatch(
  text: string, streamId: string | undefined, res: ServerResponse,
  deps: { handler: SchedulerCallHandler; onInvalidCall?: () => void },
): Promise<void> {
  const parsed = parseBatch(text);
  if (!parsed.ok) {
    deps.onInvalidCall?.();
    reply(res, parsed.verdict);
    return;
  }
  const refused = authorizeCall(deps.handler.getFramework(parsed.frameworkId), streamId);
  if (refused) {
    reply(res, refused);
    return;
  }
  let sliceStart = performance.now();
  for (let i = 0; i < parsed.calls.length; i++) {
    if (performance.now() - sliceStart > BATCH_SLICE_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
    const call = parsed.calls[i]!;
    // Authorised again before each call, as separate requests would be: a TEARDOWN earlier
    // in the batch ends the framework, and the calls after it must fail as they would alone.
    const framework = deps.handler.getFramework(parsed.frameworkId);
    const gone = i === 0 ? undefined : authorizeCall(framework, streamId);
    if (gone) {
      reply(res, failedAt(i, call, gone));
      return;
    }
    const result = deps.handler.handleCall(framework!, call);
    if ('message' in result) {
      reply(res, failedAt(i, call, result));
      return;
    }
  }
  res.writeHead(202, { 'Content-Length': 0 });
  res.end();
}

/** Builds the request handler of the scheduler endpoint. */
export function createSchedulerHttpHandler(deps: {
  handler: SchedulerCallHandler;
  maxBodyBytes: number;
  logger: Logger;
  onInvalidCall?: () => void;
}): (req: IncomingMessage, res: ServerResponse) => void {
  const { handler, logger } = deps;
  return (req, res) => {
    void (async () => {
      const early = checkMethod(req.method) ?? checkContentType(header(req, 'content-type'));
      if (early) {
        req.resume();
        reply(res, early);
        return;
      }
      const read = await readBody(req, deps.maxBodyBytes);
      if (!read.ok) {
        if (read.tooLarge) {
          reply(res, { status: 413, message: `Request body exceeds the limit of ${deps.maxBodyBytes} bytes` }, true);
        }
        return;
      }
      const text = read.body.toString('utf8');
      if (isBatchBody(text)) {
        await handleBatch(text, header(req, 'mesos-stream-id'), res, deps);
        return;
      }
      const parsed = parseCallBody(text);
      if (!parsed.ok) {
        deps.onInvalidCall?.();
        reply(res, parsed.verdict);
        return;
      }
      const call = parsed.call;
      const invalid = validateCall(call);
      if (invalid !== undefined) {
        deps.onInvalidCall?.();
        reply(res, { status: 400, message: `Failed to validate scheduler::Call: ${invalid}` });
        return;
      }
      const streamId = header(req, 'mesos-stream-id');
      if (call.type === 'SUBSCRIBE') {
        const refused = checkSubscribeHeaders(req.headers.accept, streamId);
        if (refused) {
          reply(res, refused);
          return;
        }
        const stream = new HttpEventStream(res, randomUUID());
        handler.subscribe(call, stream);
        return;
      }
      const framework = handler.getFramework(call.framework_id!.value);
      const refused = authorizeCall(framework, streamId);
      if (refused) {
        reply(res, refused);
        return;
      }
      const result = handler.handleCall(framework!, call);
      if ('message' in result) {
        reply(res, result);
      } else if ('json' in result && result.json !== undefined) {
        const body = Buffer.from(JSON.stringify(result.json), 'utf8');
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
        res.end(body);
      } else {
        res.writeHead(result.status, { 'Content-Length': 0 });
        res.end();
      }
    })().catch((err: unknown) => {
      logger.error({ err }, 'scheduler call failed');
      reply(res, { status: 500, message: 'Internal error' });
    });
  };
}
