/**
 * {@link SchedulerTransport} over node:http(s), as a Mesos HTTP framework talks to the master:
 *
 * - `POST /api/v1/scheduler`, `Content-Type: application/json`, `Accept: application/json`.
 * - SUBSCRIBE on its own keep-alive connection (a fresh agent per subscription), whose
 *   response body is the RecordIO event stream; the `Mesos-Stream-Id` header is kept.
 * - Other calls on one pooled keep-alive connection (`maxSockets: 1`, so calls reach the
 *   master in the order they were made, like the Mesos C++ scheduler library), each with
 *   the `Mesos-Stream-Id` header. Acknowledgements have a second connection of their own,
 *   in order among themselves (they commute with the other calls, see isAcknowledgement).
 * - Call batches (an Agora extension): when the SUBSCRIBE response carries
 *   `Agora-Call-Batch: <max>`, calls made while a request is in flight go together in the
 *   next one, as a JSON array, still in order (master/scheduler-api/batch.ts). A Mesos master
 *   never sends the header, so against it every call goes alone.
 * - 307 answers are followed to `Location` (Mesos sends a scheme-relative
 *   `//leader:port/api/v1/scheduler`), at most `maxRedirects` hops; the leader found is
 *   remembered for calls and the next subscription, and the configured master is used
 *   again when the leader cannot be reached.
 * - With leader detection (`detectLeader`, e.g. a `zk://` master), every SUBSCRIBE starts
 *   at the master the detector names now (then follows 307s); with no leader known it
 *   fails with `AGORA_MASTER_UNREACHABLE` (the scheduler waits for one first).
 *
 * @module
 */
import http from 'node:http';
import https from 'node:https';
import type { Logger } from 'pino';
import {
  CALLS_APPLIED_HEADER, FAILED_CALL_HEADER, batchLimitOf, headerNumber, settleRefusedBatch, takeBatch, type QueuedCall,
} from '../core/call-batch.js';
import { AgoraError } from '../core/errors.js';
import type { SchedulerCall } from '../protocol/index.js';
import {
  CallRejectedError, MASTER_UNREACHABLE, SCHEDULER_OPTIONS_INVALID, SubscribeRejectedError, TOO_MANY_REDIRECTS,
} from './errors.js';
import type { MasterAddress } from './options.js';
import type { OutgoingCall, SchedulerTransport, SubscriptionStream } from './transport.js';

/** The scheduler endpoint path on a master. */
export const SCHEDULER_API_PATH = '/api/v1/scheduler';
/** Most bytes of an error body kept for messages. */
const MAX_ERROR_BODY = 64 * 1024;

/** Options of {@link HttpSchedulerTransport}. */
export interface HttpSchedulerTransportOptions {
  /** The configured master. Required unless `detectLeader` is given. */
  master?: MasterAddress;
  /**
   * Leader detection: the leading master now, or undefined when none is known. When given,
   * each subscription starts there instead of at `master`.
   */
  detectLeader?: () => MasterAddress | undefined;
  /** Default 5. */
  maxRedirects?: number;
  logger: Logger;
  /** Default `agora-scheduler`. */
  userAgent?: string;
}

function baseUrl(address: MasterAddress): URL {
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return new URL(`${address.protocol}//${host}:${address.port}${SCHEDULER_API_PATH}`);
}

function readBody(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      if (size < MAX_ERROR_BODY) parts.push(chunk);
      size += chunk.length;
    });
    res.on('end', () => resolve(Buffer.concat(parts).toString('utf8').slice(0, MAX_ERROR_BODY)));
    res.on('error', () => resolve(Buffer.concat(parts).toString('utf8')));
    res.on('aborted', () => resolve(Buffer.concat(parts).toString('utf8')));
  });
}

/** A call waiting in the send queue (the caller's own object when it came through `enqueue`). */
type PendingCall = OutgoingCall & QueuedCall;

/** A non-2xx answer, with what a batch answer says about which calls were applied. */
class BatchAnswer extends Error {
  constructor(readonly status: number, readonly body: string, readonly applied: number | undefined, readonly failed: number | undefined) {
    super(`master answered ${status}`);
  }
}

/**
 * Whether `next` may go in the same request as `first`: consecutive calls on the same
 * stream; calls that answer with a body (and SUBSCRIBE) always go alone.
 */
function joinsBatch(first: PendingCall, next: PendingCall): boolean {
  return isBatchable(first.type) && isBatchable(next.type) && next.streamId === first.streamId;
}

/**
 * One connection's worth of calls: its keep-alive agent (one socket), the calls waiting, and
 * whether a request is in flight.
 */
interface CallLane {
  agent: http.Agent;
  queue: PendingCall[];
  pumping: boolean;
}

function newLane(agent: http.Agent): CallLane {
  return { agent, queue: [], pumping: false };
}

/**
 * Acknowledgements have their own lane. They commute with every other call (one can only be
 * for an update already received), and behind a large ACCEPT they held back the very updates
 * that ACCEPT produced: an agent sends a task's next update once the last one is acknowledged.
 */
function isAcknowledgement(type: SchedulerCall['type']): boolean {
  return type === 'ACKNOWLEDGE' || type === 'ACKNOWLEDGE_OPERATION_STATUS';
}

function isBatchable(type: SchedulerCall['type']): boolean {
  return type !== 'SUBSCRIBE' && type !== 'UPDATE_FRAMEWORK' && type !== 'RECONCILE_OPERATIONS';
}

/**
 * HTTP transport to a master (see the module notes for the wire behaviour).
 *
 * @example
 * const transport = new HttpSchedulerTransport({ master: parseMasterAddress('localhost:5050'), logger });
 * const stream = await transport.subscribe(calls.subscribe({ user: 'me', name: 'demo' }));
 */
export class HttpSchedulerTransport implements SchedulerTransport {
  private readonly configured: URL | undefined;
  private readonly detectLeader: (() => MasterAddress | undefined) | undefined;
  /** The master that last answered 200/202 or that a standby redirected us to. */
  private leader: URL | undefined;
  private readonly maxRedirects: number;
  private readonly logger: Logger;
  private readonly userAgent: string;
  /** Acknowledgements go on their own connection and queue; every other call on this one. */
  private readonly lanes: { calls: CallLane; acks: CallLane };

  constructor(opts: HttpSchedulerTransportOptions) {
    if (opts.master === undefined && opts.detectLeader === undefined) {
      throw new AgoraError(SCHEDULER_OPTIONS_INVALID, 'HttpSchedulerTransport needs master or detectLeader');
    }
    this.configured = opts.master === undefined ? undefined : baseUrl(opts.master);
    this.detectLeader = opts.detectLeader;
    this.maxRedirects = opts.maxRedirects ?? 5;
    this.logger = opts.logger;
    this.userAgent = opts.userAgent ?? 'agora-scheduler';
    const placeholder = this.configured ?? new URL('http://leader.invalid/');
    this.lanes = { calls: newLane(this.newAgent(placeholder)), acks: newLane(this.newAgent(placeholder)) };
  }

  /** The leader's endpoint as last learned (or the configured / detected master; '' when none is known). */
  get endpoint(): string {
    return (this.leader ?? this.seed())?.href ?? '';
  }

  /** Where a subscription starts: the detected leader, else the configured master. */
  private seed(): URL | undefined {
    if (this.detectLeader === undefined) return this.configured;
    const detected = this.detectLeader();
    return detected === undefined ? undefined : baseUrl(detected);
  }

  async subscribe(call: SchedulerCall): Promise<SubscriptionStream> {
    const body = JSON.stringify(call);
    const seed = this.seed();
    if (seed === undefined) throw new AgoraError(MASTER_UNREACHABLE, 'SUBSCRIBE: no leading master is known yet');
    // The detector is the authority on who leads: start there, not at a remembered leader.
    if (this.detectLeader !== undefined) this.leader = undefined;
    const starts = this.leader !== undefined && this.leader.href !== seed.href ? [this.leader, seed] : [seed];
    let lastError: unknown;
    for (const start of starts) {
      try {
        return await this.subscribeFrom(start, body);
      } catch (err) {
        // A dead leader: forget it and ask the configured master who leads now.
        if (err instanceof AgoraError && err.code === MASTER_UNREACHABLE && start === this.leader) {
          this.logger.info({ leader: start.host }, 'leading master unreachable; asking the configured master');
          this.leader = undefined;
          lastError = err;
          continue;
        }
        throw err;
      }
    }
    throw lastError;
  }

  private async subscribeFrom(start: URL, body: string): Promise<SubscriptionStream> {
    let target = start;
    for (let hop = 0; ; hop++) {
      // A fresh agent per subscription: its one keep-alive socket carries only this stream.
      const agent = this.newAgent(target);
      let res: http.IncomingMessage;
      let req: http.ClientRequest;
      try {
        ({ res, req } = await this.post(target, body, {}, agent));
      } catch (err) {
        agent.destroy();
        throw err;
      }
      if (res.statusCode === 200) {
        const streamId = res.headers['mesos-stream-id'];
        if (typeof streamId !== 'string' || streamId === '') {
          res.destroy();
          agent.destroy();
          throw new SubscribeRejectedError(200, 'SUBSCRIBE answered 200 without a Mesos-Stream-Id header');
        }
        this.leader = target;
        this.batchLimit = batchLimitOf(res.headers);
        let closed = false;
        return {
          streamId,
          chunks: res,
          close: () => {
            if (closed) return;
            closed = true;
            res.destroy();
            req.destroy();
            agent.destroy();
          },
        };
      }
      const text = await readBody(res);
      agent.destroy();
      if (res.statusCode === 307) {
        target = this.redirect(target, res, hop, 'SUBSCRIBE');
        continue;
      }
      throw new SubscribeRejectedError(res.statusCode ?? 0, text);
    }
  }

  /**
   * Queues the call; calls go out one request at a time, in order. While a request is in
   * flight the calls made meanwhile wait, and when the master takes call batches (it said
   * so in its SUBSCRIBE response, see sdk/core/call-batch.ts) they then go together in one
   * request. An idle scheduler's call leaves at the end of the current turn, with the calls
   * made in the same turn (alone against a master without batches).
   */
  send(call: SchedulerCall, streamId: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.enqueue({ type: call.type, streamId, body: JSON.stringify(call), resolve, reject });
    });
  }

  /** {@link send} for a call already serialised: this object itself waits in the queue. */
  enqueue(call: OutgoingCall): void {
    const lane = isAcknowledgement(call.type) ? this.lanes.acks : this.lanes.calls;
    lane.queue.push(call);
    // While a request is in flight the pump takes this call with the next batch. An idle
    // lane starts its pump at the end of the current turn (a microtask, no timer): the
    // calls made in the same turn (the acknowledgements of every update in one chunk of the
    // event stream) then leave together, rather than the first alone and the rest after it.
    if (!lane.pumping) {
      lane.pumping = true;
      queueMicrotask(() => void this.pump(lane));
    }
  }

  /** Sends what is queued in a lane, one request at a time, until it is empty (`pumping` is set by the caller). */
  private async pump(lane: CallLane): Promise<void> {
    try {
      while (lane.queue.length > 0) {
        const batch = takeBatch(lane.queue, this.batchLimit, joinsBatch);
        if (batch.length === 1) await this.sendOne(lane, batch[0]!);
        else await this.sendBatch(lane, batch);
      }
    } finally {
      lane.pumping = false;
    }
  }

  private async sendOne(lane: CallLane, p: PendingCall): Promise<void> {
    try {
      await this.postFollowingRedirects(lane, p.body, p.streamId, p.type);
    } catch (err) {
      p.reject(err instanceof BatchAnswer ? new CallRejectedError(p.type, err.status, err.body) : err);
      return;
    }
    p.resolve(); // outside the try: a call is settled once, whatever its resolve does
  }

  /** POSTs a body (one call or a batch) with the stream id, following 307s. Resolves on 200/202. */
  private async postFollowingRedirects(lane: CallLane, body: string, streamId: string, what: string): Promise<void> {
    let target = this.leader ?? this.seed();
    if (target === undefined) throw new AgoraError(MASTER_UNREACHABLE, `${what}: no leading master is known`);
    for (let hop = 0; ; hop++) {
      const { res } = await this.postRetryingStaleSocket(lane.agent, target, body, { 'Mesos-Stream-Id': streamId });
      const text = await readBody(res);
      const status = res.statusCode ?? 0;
      if (status === 202 || status === 200) return;
      if (status === 307) {
        target = this.redirect(target, res, hop, what);
        continue;
      }
      throw new BatchAnswer(status, text, headerNumber(res.headers, CALLS_APPLIED_HEADER), headerNumber(res.headers, FAILED_CALL_HEADER));
    }
  }

  /**
   * Sends calls as one batch and settles each: applied ones resolve, the failed one rejects
   * with the master's answer, and the ones the master did not apply go back to the front of
   * the queue. An answer about the whole batch (403, 503, a connection failure…) rejects all.
   */
  private async sendBatch(lane: CallLane, batch: PendingCall[]): Promise<void> {
    const body = `[${batch.map((p) => p.body).join(',')}]`;
    try {
      await this.postFollowingRedirects(lane, body, batch[0]!.streamId, `batch of ${batch.length} calls`);
    } catch (err) {
      if (!(err instanceof BatchAnswer)) {
        for (const p of batch) p.reject(err);
        return;
      }
      const notApplied = settleRefusedBatch(batch, err.applied, err.failed, (p) => new CallRejectedError(p.type, err.status, err.body));
      lane.queue.unshift(...notApplied);
      return;
    }
    for (const p of batch) p.resolve();
  }

  close(): void {
    this.lanes.calls.agent.destroy();
    this.lanes.acks.agent.destroy();
  }

  /** Most calls per batch the current master takes; 1 (no batches) until a SUBSCRIBE response says otherwise. */
  private batchLimit = 1;

  /**
   * A keep-alive socket the master closed while idle fails the next request with a reset
   * before the master read it; that request (and only that kind of failure) is sent once
   * more on a fresh socket, so it cannot be applied twice.
   */
  private async postRetryingStaleSocket(agent: http.Agent, target: URL, body: string, headers: Record<string, string>): Promise<{ req: http.ClientRequest; res: http.IncomingMessage }> {
    try {
      return await this.post(target, body, headers, agent);
    } catch (err) {
      const cause = (err as { cause?: NodeJS.ErrnoException & { reusedSocket?: boolean } }).cause;
      if (cause?.reusedSocket === true && (cause.code === 'ECONNRESET' || cause.message === 'socket hang up')) {
        this.logger.debug({ master: target.host }, 'stale keep-alive connection; resending the call on a new one');
        return this.post(target, body, headers, agent);
      }
      throw err;
    }
  }

  private newAgent(target: URL): http.Agent {
    const options = { keepAlive: true, maxSockets: 1 };
    return target.protocol === 'https:' ? new https.Agent(options) : new http.Agent(options);
  }

  /** Resolves the Location of a 307 against the current target; counts hops. */
  private redirect(from: URL, res: http.IncomingMessage, hop: number, what: string): URL {
    const location = res.headers.location;
    if (typeof location !== 'string' || location === '') {
      throw new AgoraError(MASTER_UNREACHABLE, `${what}: master at ${from.host} answered 307 without a Location header`);
    }
    if (hop + 1 > this.maxRedirects) {
      throw new AgoraError(TOO_MANY_REDIRECTS, `${what}: more than ${this.maxRedirects} redirects looking for the leading master (last: ${location})`);
    }
    const next = new URL(location, from);
    this.logger.info({ from: from.host, to: next.host }, 'redirected to the leading master');
    this.leader = next;
    return next;
  }

  private post(
    target: URL, body: string, extraHeaders: Record<string, string>, agent: http.Agent,
  ): Promise<{ req: http.ClientRequest; res: http.IncomingMessage }> {
    const mod = target.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(target, {
        method: 'POST',
        agent,
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/json',
          'Content-Length': Buffer.byteLength(body),
          'User-Agent': this.userAgent,
          ...extraHeaders,
        },
      });
      req.on('response', (res) => resolve({ req, res }));
      req.on('error', (err) => {
        // Remember whether the failed request went out on a reused keep-alive socket.
        Object.assign(err, { reusedSocket: req.reusedSocket });
        reject(new AgoraError(MASTER_UNREACHABLE, `cannot reach the master at ${target.host}: ${err.message}`, { cause: err }));
      });
      req.end(body);
    });
  }
}
