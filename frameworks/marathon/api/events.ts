/**
 * /v2/events: Marathon's event bus as server-sent events (core/event/impl/stream,
 * served by Jetty's EventSourceServlet):
 * - only for `Accept: text/event-stream`; anything else gets 405, as Jetty's servlet
 *   falls back to HttpServlet.doGet;
 * - `event_type` (repeatable) filters by `eventType`;
 * - each event is `event: <type>` CRLF `data: <one-line JSON>` CRLF CRLF (Jetty writes CRLF);
 * - a CRLF heartbeat every 10 s (Jetty's default heartBeatPeriod) keeps proxies from
 *   closing an idle stream;
 * - attaching publishes `event_stream_attached` on the bus (so this client sees it first),
 *   detaching `event_stream_detached`.
 *
 * @module
 */
import { Router } from 'express';
import type { MarathonEvent } from '../model/types.js';
import { ApiContext, clientIp } from './context.js';
import { queryValues } from './query.js';

/** Jetty EventSourceServlet's heartbeat period. */
export const HEARTBEAT_MS = 10_000;

/** One SSE frame for an event (Jetty's Emitter.event: CRLF line ends). */
export function sseFrame(event: MarathonEvent): string {
  return `event: ${event.eventType}\r\ndata: ${JSON.stringify(event)}\r\n\r\n`;
}

/** The /v2/events router (mount at `/v2/events`). */
export function eventsRouter(ctx: ApiContext): Router {
  const router = Router();
  router.get('/', (req, res) => {
    const accept = String(req.headers.accept ?? '');
    if (!accept.toLowerCase().includes('text/event-stream')) {
      res.status(405).json({ message: 'HTTP method GET is not supported by this URL' });
      return;
    }
    const wanted = new Set(queryValues(req, 'event_type'));
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream;charset=utf-8');
    res.setHeader('Connection', 'close');
    res.flushHeaders();
    req.socket.setNoDelay(true);
    req.socket.setTimeout(0);

    let open = true;
    const send = (event: MarathonEvent): void => {
      if (!open) return;
      if (wanted.size > 0 && !wanted.has(event.eventType)) return;
      res.write(sseFrame(event));
    };
    const unsubscribe = ctx.service.subscribe(send);
    const heartbeat = ctx.clock.setInterval(() => {
      if (open) res.write('\r\n');
    }, HEARTBEAT_MS);
    const remoteAddress = clientIp(req);
    const close = (): void => {
      if (!open) return;
      open = false;
      heartbeat.cancel();
      unsubscribe();
      ctx.service.publish({ remoteAddress, eventType: 'event_stream_detached', timestamp: ctx.now() });
      ctx.logger.debug({ remoteAddress }, 'event stream detached');
    };
    res.on('close', close);
    res.on('error', close);
    ctx.service.publish({ remoteAddress, eventType: 'event_stream_attached', timestamp: ctx.now() });
    ctx.logger.debug({ remoteAddress, eventTypes: [...wanted] }, 'event stream attached');
  });
  return router;
}
