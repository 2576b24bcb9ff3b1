/**
 * The HTTP front of a Marathon in HA mode (Marathon's LeaderProxyFilter): the leader serves
 * the API itself, a standby forwards every request to the leader and relays the answer.
 *
 * - `/ping` is answered locally (`pong`), leader or not.
 * - A standby forwards method, path, query, headers and body to the leader, adding
 *   `X-Marathon-Via: 1.1 <self>`; a request that already went through this instance (its
 *   own Via) is a loop → 508 `{"message":"Detected proxying loop."}`.
 * - `/v2/events` on a standby → 307 to the leader (an event stream is not proxied).
 * - Every answer carries `X-Marathon-Leader: http://<leader host:port>`.
 * - No leader (or the leader unreachable) → waits for one up to `waitMs` (default 2 s, on
 *   the Clock), then 503 `{"message":"Could not determine the current leader"}`.
 *
 * @module
 */
import http, { type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { Clock, TimerHandle } from '../../sdk/core/clock.js';
import type { Logger } from '../../sdk/core/log.js';

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

export const VIA_HEADER = 'x-marathon-via';
export const LEADER_HEADER = 'X-Marathon-Leader';
export const NO_LEADER_MESSAGE = 'Could not determine the current leader';
export const LOOP_MESSAGE = 'Detected proxying loop.';
/** Default wait for a leader before answering 503. */
export const DEFAULT_LEADER_WAIT_MS = 2000;
/** How long a proxied request may wait for the leader's response headers. */
const PROXY_RESPONSE_TIMEOUT_MS = 30_000;
/** Pause before trying an unreachable leader again. */
const RETRY_PAUSE_MS = 100;
/** Largest request body a standby buffers for forwarding. */
const MAX_PROXIED_BODY_BYTES = 16 * 1024 * 1024;

/** Request and response headers that belong to one hop only (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'content-length']);

export interface LeaderProxyOptions {
  /** This instance's `host:port` (what it publishes in the election). */
  self: string;
  /** The current leader's `host:port`, or undefined when there is none. */
  leader(): string | undefined;
  /** The local API when this instance leads and has loaded its state; undefined otherwise. */
  local(): RequestListener | undefined;
  /** Registers a listener for changes of {@link leader} or {@link local}; returns an unsubscribe. */
  onChange(listener: () => void): () => void;
  clock: Clock;
  logger: Logger;
  /** How long a request waits for a leader (default {@link DEFAULT_LEADER_WAIT_MS}). */
  waitMs?: number;
}

/** True when a Via header value names `self` (pure). */
export function viaIncludes(via: string | string[] | undefined, self: string): boolean {
  if (via === undefined) return false;
  const parts = (Array.isArray(via) ? via.join(',') : via).split(',').map((p) => p.trim());
  return parts.some((p) => p === self || p.endsWith(` ${self}`));
}

/** The Via value to send on: the received one plus this hop (pure). */
export function nextVia(via: string | string[] | undefined, self: string): string {
  const prev = via === undefined ? '' : Array.isArray(via) ? via.join(', ') : via;
  return prev === '' ? `1.1 ${self}` : `${prev}, 1.1 ${self}`;
}

/** Headers to forward (hop-by-hop ones dropped) (pure). */
export function forwardHeaders(headers: IncomingMessage['headers']): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  }
  return out;
}

function sendJson(res: ServerResponse, status: number, body: unknown, leader?: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...(leader !== undefined ? { [LEADER_HEADER]: `http://${leader}` } : {}),
  });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_PROXIED_BODY_BYTES) {
        reject(new Error('request body too large to forward'));
        req.destroy();
        return;
      }
      parts.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

/** Builds the request listener of an HA Marathon. */
export function createLeaderProxy(o: LeaderProxyOptions): RequestListener {
  const waitMs = o.waitMs ?? DEFAULT_LEADER_WAIT_MS;

  /** Resolves on the next change or after `ms`, whichever comes first. */
  const changeOrTimeout = (ms: number): Promise<void> => new Promise((resolve) => {
    let timer: TimerHandle | undefined;
    const off = o.onChange(() => {
      timer?.cancel();
      off();
      resolve();
    });
    timer = o.clock.setTimeout(() => {
      off();
      resolve();
    }, Math.max(0, ms));
  });

  /** One forwarding attempt: 'sent' once the leader's answer is being relayed, 'unreachable' when it could not be reached. */
  const forward = (req: IncomingMessage, res: ServerResponse, leader: string, body: Buffer): Promise<'sent' | 'unreachable'> => new Promise((resolve) => {
    const [host, port] = [leader.slice(0, leader.lastIndexOf(':')), Number(leader.slice(leader.lastIndexOf(':') + 1))];
    const headers = forwardHeaders(req.headers);
    headers[VIA_HEADER] = nextVia(req.headers[VIA_HEADER], o.self);
    headers.host = leader;
    if (body.length > 0 || !['GET', 'HEAD', 'DELETE', 'OPTIONS'].includes(req.method ?? 'GET')) headers['content-length'] = body.length;
    let settled = false;
    const out = http.request({ host, port, method: req.method, path: req.url, headers, agent: false }, (upstream) => {
      settled = true;
      timer.cancel();
      const resHeaders = forwardHeaders(upstream.headers);
      resHeaders[LEADER_HEADER.toLowerCase()] = `http://${leader}`;
      res.writeHead(upstream.statusCode ?? 502, upstream.statusMessage, resHeaders);
      upstream.pipe(res);
      upstream.on('error', () => res.destroy());
      resolve('sent');
    });
    const timer = o.clock.setTimeout(() => {
      if (settled) return;
      settled = true;
      out.destroy();
      sendJson(res, 504, { message: `The leader ${leader} did not answer in time` }, leader);
      resolve('sent');
    }, PROXY_RESPONSE_TIMEOUT_MS);
    out.on('error', (err) => {
      if (settled) return;
      settled = true;
      timer.cancel();
      o.logger.warn({ leader, err: err.message }, 'could not forward a request to the leader');
      resolve('unreachable');
    });
    out.end(body);
  });

  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/ping' || path === '/ping/') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache, no-store, must-revalidate' });
      res.end('pong');
      return;
    }
    const deadline = o.clock.now() + waitMs;
    let body: Buffer | undefined;
    let unreachable: string | undefined;
    for (;;) {
      const local = o.local();
      if (local !== undefined) {
        res.setHeader(LEADER_HEADER, `http://${o.self}`);
        local(req, res);
        return;
      }
      const leader = o.leader();
      if (leader !== undefined && leader !== o.self && leader !== unreachable) {
        if (viaIncludes(req.headers[VIA_HEADER], o.self)) {
          sendJson(res, 508, { message: LOOP_MESSAGE }, leader);
          return;
        }
        if (path === '/v2/events' || path === '/v2/events/') {
          res.writeHead(307, { Location: `http://${leader}${req.url ?? '/'}`, [LEADER_HEADER]: `http://${leader}`, 'Content-Length': 0 });
          res.end();
          return;
        }
        body ??= await readBody(req);
        if ((await forward(req, res, leader, body)) === 'sent') return;
        unreachable = leader;
      }
      const left = deadline - o.clock.now();
      if (left <= 0) break;
      // An unreachable leader is retried after a short pause, or as soon as the leader changes.
      await changeOrTimeout(unreachable !== undefined ? Math.min(left, RETRY_PAUSE_MS) : left);
      if (unreachable !== undefined && o.leader() === unreachable && o.clock.now() < deadline) unreachable = undefined;
    }
    sendJson(res, 503, { message: NO_LEADER_MESSAGE });
  };

  return (req, res) => {
    serve(req, res).catch((err: unknown) => {
      o.logger.warn({ err: (err as Error).message, url: req.url }, 'leader proxy failed');
      sendJson(res, 502, { message: (err as Error).message });
    });
  };
}
