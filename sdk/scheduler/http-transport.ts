/**
 * {@link SchedulerTransport} over node:http(s), as a Mesos HTTP framework talks to the master:
 *
 * - `POST /api/v1/scheduler`, `Content-Type: application/json`, `Accept: application/json`.
 * - SUBSCRIBE on its own keep-alive connection (a fresh agent per subscription), whose
 *   response body is the RecordIO event stream; the `Mesos-Stream-Id` header is kept.
 * - Other calls on one pooled keep-alive connection (`maxSockets: 1`, so calls reach the
 *   master in the order they were made, like the Mesos C++ scheduler library), each with
 *   the `Mesos-Stream-Id` header.
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
import { AgoraError } from '../core/errors.js';
import type { SchedulerCall } from '../protocol/index.js';
import {
  CallRejectedError, MASTER_UNREACHABLE, SCHEDULER_OPTIONS_INVALID, SubscribeRejectedError, TOO_MANY_REDIRECTS,
} from './errors.js';
import type { MasterAddress } from './options.js';
import type { SchedulerTransport, SubscriptionStream } from './transport.js';

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
  private readonly callAgent: http.Agent;

  constructor(opts: HttpSchedulerTransportOptions) {
    if (opts.master === undefined && opts.detectLeader === undefined) {
      throw new AgoraError(SCHEDULER_OPTIONS_INVALID, 'HttpSchedulerTransport needs master or detectLeader');
    }
    this.configured = opts.master === undefined ? undefined : baseUrl(opts.master);
    this.detectLeader = opts.detectLeader;
    this.maxRedirects = opts.maxRedirects ?? 5;
    this.logger = opts.logger;
    this.userAgent = opts.userAgent ?? 'agora-scheduler';
    this.callAgent = this.newAgent(this.configured ?? new URL('http://leader.invalid/'));
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

  async send(call: SchedulerCall, streamId: string): Promise<void> {
    const body = JSON.stringify(call);
    let target = this.leader ?? this.seed();
    if (target === undefined) throw new AgoraError(MASTER_UNREACHABLE, `${call.type}: no leading master is known`);
    for (let hop = 0; ; hop++) {
      const { res } = await this.postRetryingStaleSocket(target, body, { 'Mesos-Stream-Id': streamId });
      const text = await readBody(res);
      const status = res.statusCode ?? 0;
      if (status === 202 || status === 200) return;
      if (status === 307) {
        target = this.redirect(target, res, hop, call.type);
        continue;
      }
      throw new CallRejectedError(call.type, status, text);
    }
  }

  close(): void {
    this.callAgent.destroy();
  }

  /**
   * A keep-alive socket the master closed while idle fails the next request with a reset
   * before the master read it; that request (and only that kind of failure) is sent once
   * more on a fresh socket, so it cannot be applied twice.
   */
  private async postRetryingStaleSocket(target: URL, body: string, headers: Record<string, string>): Promise<{ req: http.ClientRequest; res: http.IncomingMessage }> {
    try {
      return await this.post(target, body, headers, this.callAgent);
    } catch (err) {
      const cause = (err as { cause?: NodeJS.ErrnoException & { reusedSocket?: boolean } }).cause;
      if (cause?.reusedSocket === true && (cause.code === 'ECONNRESET' || cause.message === 'socket hang up')) {
        this.logger.debug({ master: target.host }, 'stale keep-alive connection; resending the call on a new one');
        return this.post(target, body, headers, this.callAgent);
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
