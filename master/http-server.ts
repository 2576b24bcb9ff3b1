/**
 * The master's one node:http server. Routing happens before express: the scheduler API
 * (raw node:http, hot path) and the slave WebSocket upgrade are handled directly; everything
 * else goes to the express app with the operator router. Until {@link MasterHttpServer.attach}
 * is called (the master is built after the port is known) requests get 503.
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { SCHEDULER_PATHS } from './scheduler-api/http.js';
import { AGENT_PATH } from './agent-endpoint.js';

export interface MasterHttpHandlers {
  scheduler(req: IncomingMessage, res: ServerResponse): void;
  agentUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  app(req: IncomingMessage, res: ServerResponse): void;
}

function pathOf(url: string | undefined): string {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  return q < 0 ? raw : raw.slice(0, q);
}

export class MasterHttpServer {
  readonly server: Server;
  private handlers?: MasterHttpHandlers;

  constructor() {
    this.server = createServer((req, res) => {
      const h = this.handlers;
      if (h === undefined) {
        res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('Master is starting');
        return;
      }
      if (SCHEDULER_PATHS.has(pathOf(req.url))) h.scheduler(req, res);
      else h.app(req, res);
    });
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => socket.destroy());
      if (this.handlers !== undefined && pathOf(req.url) === AGENT_PATH) {
        this.handlers.agentUpgrade(req, socket, head);
        return;
      }
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
    // A client that never finishes its headers is dropped; streams themselves never time out.
    this.server.headersTimeout = 60_000;
    this.server.requestTimeout = 0;
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  attach(handlers: MasterHttpHandlers): void {
    this.handlers = handlers;
  }

  /** Stops accepting, drops every open connection (streams included). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
